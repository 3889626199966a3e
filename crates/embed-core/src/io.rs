//! File output that never leaves a half-written file behind.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

/// Buffer size for writers handed to [`write_atomically`] callbacks.
const WRITE_BUFFER: usize = 1 << 20;

/// Writes `path` through `f` so that readers see either the old file or the
/// complete new one, never a partial write.
///
/// The content goes to a temporary file in the same directory (so the final
/// rename stays on one file system), is flushed and synced to disk, then
/// renamed over `path`. If `f` or any step fails the temporary file is
/// removed and `path` is left untouched.
///
/// ```
/// use std::io::Write;
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("hello.txt");
/// embed_core::io::write_atomically(&path, |w| {
///     w.write_all(b"hello\n").map_err(embed_core::Error::from)
/// })
/// .unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"hello\n");
/// ```
pub fn write_atomically<F>(path: &Path, f: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<()>,
{
    let (temp_path, file) = create_temp_beside(path)?;
    let result = write_and_sync(file, path, &temp_path, f)
        .and_then(|()| fs::rename(&temp_path, path).map_err(|e| Error::io(path, e)));
    match result {
        Ok(()) => {
            sync_parent_dir(path);
            Ok(())
        }
        Err(e) => {
            // Best effort: the write already failed, report that failure.
            let _ = fs::remove_file(&temp_path);
            Err(e)
        }
    }
}

fn write_and_sync<F>(file: File, path: &Path, temp_path: &Path, f: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<File>) -> Result<()>,
{
    let mut writer = BufWriter::with_capacity(WRITE_BUFFER, file);
    // Stream errors from the callback concern the file being written.
    f(&mut writer).map_err(|e| match e {
        Error::Stream(source) => Error::io(path, source),
        other => other,
    })?;
    writer.flush().map_err(|e| Error::io(temp_path, e))?;
    let file = writer
        .into_inner()
        .map_err(|e| Error::io(temp_path, e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(temp_path, e))
}

/// Creates a fresh, exclusively-owned temporary file next to `path`.
fn create_temp_beside(path: &Path) -> Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::InvalidInput(format!("`{}` does not name a file", path.display())))?;
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(file_name);
        temp_name.push(format!(".{}.{n}.tmp", std::process::id()));
        let temp_path = match dir {
            Some(dir) => dir.join(&temp_name),
            None => PathBuf::from(&temp_name),
        };
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp_path)
        {
            Ok(file) => return Ok((temp_path, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(temp_path, e)),
        }
    }
}

/// Makes the rename itself durable where the platform allows it.
fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let Ok(d) = File::open(dir) {
            // The data is already renamed into place; a failed directory
            // sync only weakens durability after a power loss.
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn failed_write_keeps_old_file_and_removes_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        fs::write(&path, b"old").unwrap();
        let err = write_atomically(&path, |w| {
            w.write_all(b"partial").map_err(Error::from)?;
            Err(Error::InvalidInput("boom".into()))
        })
        .unwrap_err();
        assert!(matches!(err, Error::InvalidInput(_)));
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert_eq!(entries(dir.path()), vec!["out.txt".to_string()]);
    }

    #[test]
    fn successful_write_replaces_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        fs::write(&path, b"old").unwrap();
        write_atomically(&path, |w| w.write_all(b"new").map_err(Error::from)).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(entries(dir.path()), vec!["out.txt".to_string()]);
    }

    #[test]
    fn missing_directory_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no/such/dir/out.txt");
        let err = write_atomically(&path, |_| Ok(())).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
    }
}
