//! Scale benchmark of `cargo asupersync audit`: a generated workspace of about
//! 1,000,000 lines of Tokio code (20 packages × 100 files × ~500 lines), audited end to
//! end. Target: under 10 s on 2 cores (release build).
//!
//! `cargo bench -p cargo-asupersync --bench audit_scale` prints the timings of loading
//! the workspace (cargo metadata and module discovery), the usage scan (parse, resolve,
//! classify every file), of the parse alone (where most of the scan goes) and of the
//! whole audit (all of it, plus the resolved dependency graph).
//! The packages depend on a local stub named `tokio`, outside the workspace, so
//! `cargo metadata` resolves offline and the graph has a Tokio dependency to report.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use asupersync_lints::workspace::Workspace;
use cargo_asupersync::audit::{audit, scan};
use cargo_asupersync::mapping::mapping;
use rayon::prelude::*;

const PACKAGES: usize = 20;
const FILES_PER_PACKAGE: usize = 100;
const FUNCTIONS_PER_FILE: usize = 33;

fn module_source(file: usize) -> String {
    let mut source = String::from(
        "//! Generated module of the audit benchmark.\n\
         use std::sync::Arc;\n\
         use tokio::sync::{mpsc, Mutex};\n\
         use tokio::time::{sleep, Duration};\n\n",
    );
    let _ = writeln!(
        source,
        "pub struct State{file} {{\n    pub counter: Mutex<u64>,\n}}\n"
    );
    for function in 0..FUNCTIONS_PER_FILE {
        let _ = write!(
            source,
            r#"pub async fn worker_{file}_{function}(tx: mpsc::Sender<u64>, state: Arc<State{file}>) -> u64 {{
    // tokio::spawn in a comment is not a usage, and neither is "tokio::spawn" here.
    let mut total = 0u64;
    for k in 0..10u64 {{
        tokio::select! {{
            _ = sleep(Duration::from_millis(k)) => {{ total += k; }}
            sent = tx.send(k) => {{ if sent.is_err() {{ break; }} }}
        }}
        let mut guard = state.counter.lock().await;
        *guard += total;
    }}
    let handle = tokio::spawn(async move {{ total * 2 }});
    handle.await.unwrap_or(0)
}}

"#
        );
    }
    source
}

/// Writes the workspace under `dir` and returns (manifest, lines).
fn generate(dir: &Path) -> (std::path::PathBuf, usize) {
    let stub = dir.join("tokio-stub");
    std::fs::create_dir_all(stub.join("src")).unwrap();
    std::fs::write(
        stub.join("Cargo.toml"),
        "[package]\nname = \"tokio\"\nversion = \"1.0.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(stub.join("src/lib.rs"), "").unwrap();

    let root = dir.join("workspace");
    std::fs::create_dir_all(&root).unwrap();
    let members: Vec<String> = (0..PACKAGES).map(|p| format!("\"pkg{p}\"")).collect();
    std::fs::write(
        root.join("Cargo.toml"),
        format!(
            "[workspace]\nresolver = \"2\"\nmembers = [{}]\n",
            members.join(", ")
        ),
    )
    .unwrap();
    let mut lines = 0;
    for package in 0..PACKAGES {
        let dir = root.join(format!("pkg{package}"));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"pkg{package}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [dependencies]\ntokio = {{ path = \"../../tokio-stub\" }}\n"
            ),
        )
        .unwrap();
        let mut lib = String::new();
        for file in 0..FILES_PER_PACKAGE {
            let _ = writeln!(lib, "pub mod m{file};");
            let source = module_source(file);
            lines += source.lines().count();
            std::fs::write(dir.join(format!("src/m{file}.rs")), source).unwrap();
        }
        lines += lib.lines().count();
        std::fs::write(dir.join("src/lib.rs"), lib).unwrap();
    }
    (root.join("Cargo.toml"), lines)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing else either:
    // run once, quickly, unless benchmarking.
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    let dir = tempfile::tempdir().unwrap();
    if !benchmarking {
        println!("audit_scale: run with `cargo bench` to measure");
        return;
    }
    let started = Instant::now();
    let (manifest, lines) = generate(dir.path());
    println!(
        "generated {lines} lines in {} files in {:.2?}",
        PACKAGES * (FILES_PER_PACKAGE + 1),
        started.elapsed()
    );

    let started = Instant::now();
    let workspace = Workspace::load(Some(&manifest)).unwrap();
    let load = started.elapsed();
    let started = Instant::now();
    let scanned = scan::scan_workspace(&workspace, mapping());
    let scan_time = started.elapsed();
    println!(
        "load (cargo metadata + module discovery): {load:.2?}\n\
         usage scan: {scan_time:.2?} for {} files, {} usages ({:.0} lines/s)",
        scanned.files,
        scanned.usages.len(),
        lines as f64 / scan_time.as_secs_f64()
    );

    // The share of the scan that is syn's parse, to tell parsing from resolution.
    let started = Instant::now();
    let parsed: usize = workspace
        .files()
        .collect::<Vec<_>>()
        .par_iter()
        .map(|(_, file)| {
            let source = std::fs::read_to_string(&file.path).unwrap();
            syn::parse_file(&source).unwrap().items.len()
        })
        .sum();
    println!(
        "syn parse alone, as a separate pass: {:.2?} ({parsed} items)",
        started.elapsed()
    );

    let started = Instant::now();
    let report = audit(Some(&manifest)).unwrap();
    let total = started.elapsed();
    println!(
        "whole audit: {total:.2?} ({} usages, {} packages, {} dependencies)",
        report.summary.usages,
        report.packages.len(),
        report.dependencies.len()
    );
    assert_eq!(report.summary.usages, scanned.usages.len());
    assert!(
        total.as_secs_f64() < 10.0,
        "audit took {total:.2?}, over 10 s"
    );
}
