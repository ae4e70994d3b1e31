//! Which sources a set of criterion results was measured on.
//!
//! Each bench binary, when it runs as a benchmark, records a fingerprint of
//! the sources and the time it started in
//! `<target>/criterion/tickwheel-provenance/<bench>`. The bench report
//! (`examples/bench_report.rs`) judges from a criterion result only if the
//! bench that owns it recorded the fingerprint of the current sources and
//! wrote the result after it started: a result left by an older run, or by
//! a run on other sources, is not taken for a measurement of this code.
//!
//! The fingerprint hashes the paths and contents of every file under `src/`
//! and `benches/`, and `Cargo.toml` and `Cargo.lock`, with std's
//! `DefaultHasher`. Its algorithm may change between Rust releases; then
//! results measured before a toolchain change count as stale, which errs on
//! the safe side.

// Each user (two benches, the report) uses a different part.
#![allow(dead_code)]

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What one bench run recorded.
pub struct Record {
    /// The sources' fingerprint at the time.
    pub fingerprint: String,
    /// When the run started.
    pub started: SystemTime,
}

/// The fingerprint of the sources of the package at `manifest`.
pub fn fingerprint(manifest: &Path) -> String {
    let mut files = Vec::new();
    for dir in ["src", "benches"] {
        collect(&manifest.join(dir), &mut files);
    }
    files.push(manifest.join("Cargo.toml"));
    files.push(manifest.join("Cargo.lock"));
    files.sort();
    let mut h = DefaultHasher::new();
    for f in &files {
        f.strip_prefix(manifest).unwrap_or(f).hash(&mut h);
        std::fs::read(f).ok().hash(&mut h);
    }
    format!("{:016x}", h.finish())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The target directory cargo builds into for the package at `manifest`
/// (`CARGO_TARGET_DIR`, else `target/`), where criterion keeps its results.
pub fn target_dir(manifest: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() { d } else { manifest.join(d) }
        }
        None => manifest.join("target"),
    }
}

fn path(target: &Path, bench: &str) -> PathBuf {
    target
        .join("criterion")
        .join("tickwheel-provenance")
        .join(bench)
}

/// Records this run of `bench`, if it is a measuring run: `cargo bench`
/// passes `--bench`; `cargo test --benches` (one quick pass, no results
/// written) and `--list` do not measure.
pub fn record_if_measuring(bench: &str) {
    let args: Vec<String> = std::env::args().collect();
    let measuring = args.iter().any(|a| a == "--bench")
        && !args
            .iter()
            .any(|a| a == "--test" || a == "--list" || a == "--profile-time");
    if !measuring {
        return;
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let file = path(&target_dir(manifest), bench);
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let text = format!(
        "fingerprint {}\nstarted {}.{:09}\n",
        fingerprint(manifest),
        started.as_secs(),
        started.subsec_nanos()
    );
    let written = file
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&file, text));
    if let Err(e) = written {
        // Not fatal: the bench still measures; the report will call its
        // results stale.
        eprintln!(
            "warning: cannot record provenance in {}: {e}",
            file.display()
        );
    }
}

/// What the last measuring run of `bench` recorded, if anything.
pub fn read(target: &Path, bench: &str) -> Option<Record> {
    let text = std::fs::read_to_string(path(target, bench)).ok()?;
    let mut fingerprint = None;
    let mut started = None;
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("fingerprint", v)) => fingerprint = Some(v.to_string()),
            Some(("started", v)) => {
                let (s, ns) = v.split_once('.')?;
                started = Some(UNIX_EPOCH + Duration::new(s.parse().ok()?, ns.parse().ok()?));
            }
            _ => {}
        }
    }
    Some(Record {
        fingerprint: fingerprint?,
        started: started?,
    })
}
