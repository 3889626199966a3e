//! Loads a vector file, reports how long that took, and times a few
//! most-similar queries.
//!
//! ```text
//! cargo run --release -p embed-core --example load_vectors -- vectors.bin [word ...]
//! ```
//!
//! With no query words the first word of the file is used. Each query word
//! is asked `EMBED_REPEAT` times (default 1). Output lines are `key=value`
//! so scripts can read them; `*_cpu_seconds` is this process's CPU time
//! (Linux only), which stays meaningful on a busy machine.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use embed_core::formats::{read_vectors, ReadOptions};
use embed_core::QueryOptions;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next().map(PathBuf::from) else {
        eprintln!("usage: load_vectors FILE [WORD ...]");
        return ExitCode::FAILURE;
    };
    let repeat: usize = std::env::var("EMBED_REPEAT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let vectors = match read_vectors(&path, None, &ReadOptions::default()) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let load = start.elapsed().as_secs_f64();
    println!("rows={} dim={}", vectors.len(), vectors.dim());
    println!("load_seconds={load:.4}");
    print_cpu("load", cpu, 1);

    let start = Instant::now();
    vectors.unit_matrix();
    println!("normalize_seconds={:.4}", start.elapsed().as_secs_f64());

    let mut words: Vec<String> = args.collect();
    if words.is_empty() {
        words.extend(vectors.words().first().cloned());
    }
    let options = QueryOptions::default();
    let (start, cpu) = (Instant::now(), cpu_seconds());
    let mut queries = 0;
    for word in &words {
        for round in 0..repeat {
            match vectors.most_similar(&[word.as_str()], &[], 10, &options) {
                Ok(best) => {
                    queries += 1;
                    if round == 0 {
                        let shown: Vec<String> = best
                            .iter()
                            .take(3)
                            .map(|(w, s)| format!("{w}:{s:.4}"))
                            .collect();
                        println!("neighbours[{word}]={}", shown.join(","));
                    }
                }
                Err(e) => eprintln!("{e}"),
            }
        }
    }
    if queries > 0 {
        let per_query = start.elapsed().as_secs_f64() / queries as f64;
        println!("most_similar_seconds={per_query:.6}");
        print_cpu("most_similar", cpu, queries);
    }
    ExitCode::SUCCESS
}

/// User + system CPU time of this process, from `/proc/self/stat`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 12th and 13th of them, in clock ticks (100 per second on Linux).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn print_cpu(what: &str, start: Option<f64>, count: usize) {
    if let (Some(start), Some(end)) = (start, cpu_seconds()) {
        println!("{what}_cpu_seconds={:.4}", (end - start) / count as f64);
    }
}
