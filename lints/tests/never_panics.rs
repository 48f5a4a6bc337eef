//! The engine never panics: arbitrary text and mutated Rust files go through the
//! whole per-file pipeline (parse, resolve, every rule, suppressions) and every
//! renderer. A file that does not parse must come back as a `parse-error` finding.

use std::path::Path;

use asupersync_lints::config::Config;
use asupersync_lints::engine::{Report, LINT_THREAD_STACK};
use asupersync_lints::render::{human, json, sarif};
use asupersync_lints::resolve::{collect_uses, ExternCrates};
use asupersync_lints::workspace::TargetKind;
use asupersync_lints::{lint_file, FileInput};
use proptest::prelude::*;

/// Runs the pipeline and the renderers; returns whether the source parsed and
/// whether a parse-error finding was reported (exactly one is true).
fn run_pipeline(source: String) -> (bool, bool) {
    // The lint threads of the engine have a large stack; so does this one.
    std::thread::Builder::new()
        .stack_size(LINT_THREAD_STACK)
        .spawn(move || {
            let mut crates = ExternCrates::new();
            crates.insert("rt", "tokio");
            let config = Config::builder().quarantine("compat/**").build().unwrap();
            let input = FileInput {
                source: &source,
                rel_path: "src/lib.rs",
                target_kind: TargetKind::Lib,
                crates: &crates,
                package: None,
            };
            let findings = lint_file(&input, &config);
            let report = Report {
                files: 1,
                lines: source.lines().count(),
                findings,
            };
            let text = human::render_report(&report, &|_| Some(source.clone()), false);
            assert!(text.contains("asupersync lint: 1 file checked"));
            serde_json::from_str::<serde_json::Value>(&json::render(&report)).unwrap();
            serde_json::from_str::<serde_json::Value>(&sarif::render(&report)).unwrap();
            let reported = report.findings.iter().any(|f| f.rule == "parse-error");
            // A file without a parse-error finding must really parse (and is
            // not parsed here otherwise: pathological nesting would overflow).
            let parsed = !reported && {
                let file = syn::parse_file(&source).expect("no parse-error finding, so it parses");
                collect_uses(&source, &file, &crates, &["tokio"]);
                true
            };
            (parsed, reported)
        })
        .unwrap()
        .join()
        .expect("the lint pipeline panicked")
}

/// Valid Rust snippets to mutate: the UI test inputs.
fn seeds() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui");
    let mut seeds: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    seeds.sort();
    seeds
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize),
    Insert(usize, u8),
    Swap(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter to the lexer are over-represented.
    let interesting = prop_oneof![
        Just(b'"'),
        Just(b'\''),
        Just(b'/'),
        Just(b'*'),
        Just(b'#'),
        Just(b'{'),
        Just(b'}'),
        Just(b'('),
        Just(b':'),
        Just(b'\n'),
        Just(b'r'),
        any::<u8>(),
    ];
    prop_oneof![
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), interesting).prop_map(|(at, b)| Mutation::Insert(at, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
    ]
}

fn apply(seed: &str, mutations: &[Mutation]) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for m in mutations {
        let len = bytes.len().max(1);
        match *m {
            Mutation::Delete(at) if !bytes.is_empty() => {
                bytes.remove(at % len);
            }
            Mutation::Insert(at, b) => bytes.insert(at % (bytes.len() + 1), b),
            Mutation::Swap(a, b) if !bytes.is_empty() => bytes.swap(a % len, b % len),
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(source in any::<String>()) {
        let (parsed, reported) = run_pipeline(source);
        prop_assert!(parsed || reported, "an unparsable file must be a parse-error finding");
    }

    #[test]
    fn mutated_rust_never_panics(
        index in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..12),
    ) {
        let seeds = seeds();
        let seed = index.get(&seeds);
        let (parsed, reported) = run_pipeline(apply(seed, &mutations));
        prop_assert!(parsed || reported, "an unparsable file must be a parse-error finding");
    }
}

#[test]
fn pathological_nesting_is_a_parse_error_not_a_crash() {
    let deep = format!(
        "fn f() {{ let x = {}1{}; }}",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    let (_, reported) = run_pipeline(deep);
    assert!(reported);
    let (_, reported) = run_pipeline("fn f() { \"unterminated }".to_string());
    assert!(reported);
}
