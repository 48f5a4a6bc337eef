//! Lines per second of the lint engine on a generated workspace (target: at least
//! 200,000 lines/s on 2 cores). Two measurements: the parallel lint of every file of
//! a loaded workspace, and the whole run including `Workspace::load` (which runs
//! `cargo metadata` and walks the module trees).
//!
//! `cargo bench -p asupersync-lints --bench lint_throughput`

use std::path::Path;
use std::time::Duration;

use asupersync_lints::{lint_workspace, Config, Workspace};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const PACKAGES: usize = 4;
const MODULES_PER_PACKAGE: usize = 60;

/// One module of plausible asupersync/Tokio code, about 120 lines.
fn module_source(package: usize, module: usize) -> String {
    format!(
        r#"//! Module {module} of package {package}.
use std::collections::HashMap;
use std::sync::{{Arc, Mutex}};
use asupersync::{{Cx, Outcome, Region}};
use asupersync::time::{{sleep, timeout}};
use tokio::sync::mpsc;

/// A record kept by the service.
#[derive(Debug, Clone, Default)]
pub struct Record{module} {{
    pub id: u64,
    pub name: String,
    pub tags: Vec<String>,
    pub values: HashMap<String, f64>,
}}

impl Record{module} {{
    pub fn new(id: u64, name: &str) -> Self {{
        Self {{ id, name: name.to_string(), ..Self::default() }}
    }}

    pub fn score(&self) -> f64 {{
        self.values.values().copied().sum::<f64>() / (self.values.len().max(1) as f64)
    }}

    pub fn tag(&mut self, tag: impl Into<String>) {{
        let tag = tag.into();
        if !self.tags.contains(&tag) {{
            self.tags.push(tag);
        }}
    }}
}}

pub async fn load(cx: &Cx, ids: &[u64]) -> Outcome<Vec<Record{module}>, String> {{
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {{
        cx.checkpoint().map_err(|e| e.to_string())?;
        sleep(cx, std::time::Duration::from_millis(1)).await;
        out.push(Record{module}::new(*id, "loaded"));
    }}
    Outcome::Ok(out)
}}

pub async fn pump(cx: &Cx, mut rx: mpsc::Receiver<u64>, state: Arc<Mutex<u64>>) {{
    while let Some(v) = rx.recv().await {{
        let mut guard = state.lock().unwrap();
        *guard += v;
        drop(guard);
        let _ = timeout(cx, std::time::Duration::from_secs(1), async {{ v }}).await;
    }}
}}

pub fn summarize(records: &[Record{module}]) -> String {{
    // Comments mention tokio::spawn and Cx::for_testing() but never count.
    let mut text = String::from("summary: tokio::spawn(async {{}})");
    for (i, r) in records.iter().enumerate() {{
        text.push_str(&format!("{{i}}: {{}} {{:.2}}\n", r.name, r.score()));
        match r.tags.len() {{
            0 => text.push_str("untagged\n"),
            1 => text.push_str("single\n"),
            n if n > 10 => text.push_str("many\n"),
            _ => {{}}
        }}
    }}
    text
}}

pub async fn supervise(cx: &Cx) -> Outcome<(), String> {{
    Region::open(cx, "workers-{module}", |cx| async move {{
        for i in 0..4u64 {{
            cx.spawn(move |cx| async move {{
                sleep(&cx, std::time::Duration::from_millis(i)).await;
            }});
        }}
        Outcome::Ok(())
    }})
    .await
}}

#[cfg(test)]
mod tests {{
    use super::*;

    #[test]
    fn scores_average_values() {{
        let mut r = Record{module}::new(1, "x");
        r.values.insert("a".into(), 1.0);
        r.values.insert("b".into(), 3.0);
        assert_eq!(r.score(), 2.0);
    }}

    #[test]
    fn tags_are_unique() {{
        let mut r = Record{module}::new(1, "x");
        r.tag("a");
        r.tag("a");
        assert_eq!(r.tags.len(), 1);
    }}
}}
"#
    )
}

fn write_workspace(root: &Path) -> usize {
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
    for p in 0..PACKAGES {
        let dir = root.join(format!("pkg{p}"));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            format!("[package]\nname = \"pkg{p}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        )
        .unwrap();
        let mods: String = (0..MODULES_PER_PACKAGE)
            .map(|m| format!("pub mod m{m};\n"))
            .collect();
        std::fs::write(dir.join("src/lib.rs"), &mods).unwrap();
        lines += mods.lines().count();
        for m in 0..MODULES_PER_PACKAGE {
            let source = module_source(p, m);
            lines += source.lines().count();
            std::fs::write(dir.join(format!("src/m{m}.rs")), source).unwrap();
        }
    }
    lines
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let lines = write_workspace(dir.path());
    let workspace = Workspace::load(Some(&dir.path().join("Cargo.toml"))).unwrap();
    let config = Config::default();
    let report = lint_workspace(&workspace, &config);
    assert_eq!(report.lines, lines);
    eprintln!(
        "generated workspace: {} files, {lines} lines, {} findings",
        report.files,
        report.findings.len()
    );

    let mut group = c.benchmark_group("lint");
    group.throughput(Throughput::Elements(lines as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("lint_workspace (lines)", |b| {
        b.iter(|| lint_workspace(&workspace, &config))
    });
    // The floor: parsing alone, in parallel, as the engine does it.
    let sources: Vec<String> = workspace
        .files()
        .map(|(_, f)| std::fs::read_to_string(&f.path).unwrap())
        .collect();
    group.bench_function("syn::parse_file only (lines)", |b| {
        b.iter(|| {
            use rayon::prelude::*;
            sources.par_iter().for_each(|s| {
                let _ = syn::parse_file(s);
                proc_macro2::extra::invalidate_current_thread_spans();
            })
        })
    });
    group.bench_function("load + lint_workspace (lines)", |b| {
        b.iter(|| {
            let workspace = Workspace::load(Some(&dir.path().join("Cargo.toml"))).unwrap();
            lint_workspace(&workspace, &Config::load(&workspace).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
