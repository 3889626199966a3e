//! The process's peak resident memory.

/// Peak resident set size of this process in bytes (Linux `VmHWM`), or
/// `None` where the operating system does not report it.
///
/// ```
/// if let Some(bytes) = embed_compare::peak_rss_bytes() {
///     assert!(bytes > 0);
/// }
/// ```
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024)
}
