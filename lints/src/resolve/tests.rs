use super::*;

const ROOTS: &[&str] = &["tokio", "tokio_util", "hyper"];

fn uses_with(source: &str, crates: &ExternCrates) -> Vec<ResolvedUse> {
    let file = syn::parse_file(source).expect("test source parses");
    collect_uses(source, &file, crates, ROOTS)
}

fn uses(source: &str) -> Vec<ResolvedUse> {
    uses_with(source, &ExternCrates::new())
}

/// `(path, kind)` pairs in source order.
fn found(source: &str) -> Vec<(String, UseKind)> {
    uses(source).into_iter().map(|u| (u.path, u.kind)).collect()
}

fn pairs(expected: &[(&str, UseKind)]) -> Vec<(String, UseKind)> {
    expected.iter().map(|(p, k)| (p.to_string(), *k)).collect()
}

use UseKind::{Attribute, Import, Macro, Path};

#[test]
fn import_groups_give_one_use_per_leaf() {
    assert_eq!(
        found("use tokio::{net::TcpListener, sync::mpsc};"),
        pairs(&[
            ("tokio::net::TcpListener", Import),
            ("tokio::sync::mpsc", Import)
        ])
    );
}

#[test]
fn nested_groups_self_and_renames() {
    assert_eq!(
        found("use tokio::{self as rt, sync::{mpsc::{self, Sender as Tx}, oneshot}};"),
        pairs(&[
            ("tokio", Import),
            ("tokio::sync::mpsc", Import),
            ("tokio::sync::mpsc::Sender", Import),
            ("tokio::sync::oneshot", Import),
        ])
    );
}

#[test]
fn paths_resolve_through_imports_once_with_the_full_path() {
    let source = "use tokio::sync::mpsc;\nfn f() { let (tx, rx) = mpsc::channel(8); }";
    assert_eq!(
        found(source),
        pairs(&[
            ("tokio::sync::mpsc", Import),
            ("tokio::sync::mpsc::channel", Path)
        ])
    );
}

#[test]
fn aliases_resolve_to_the_real_path() {
    let source = "use tokio::sync::mpsc as chan;\nfn f() { chan::channel::<u8>(8); }";
    assert_eq!(
        found(source)[1],
        ("tokio::sync::mpsc::channel".to_string(), Path)
    );
}

#[test]
fn glob_imports_supply_names_not_defined_locally() {
    let source = "use tokio::time::*;\nasync fn f(d: Duration) { sleep(d).await; helper(); }\nfn helper() {}";
    assert_eq!(
        found(source),
        pairs(&[
            ("tokio::time::*", Import),
            ("tokio::time::Duration", Path),
            ("tokio::time::sleep", Path),
        ])
    );
}

#[test]
fn glob_never_supplies_prelude_names_or_variables() {
    let source =
        "use tokio::time::*;\nfn f(d: u64) -> Option<u64> { let x = Some(d); x.map(|v| v + d) }";
    assert_eq!(found(source), pairs(&[("tokio::time::*", Import)]));
}

#[test]
fn two_external_globs_are_ambiguous_and_resolve_nothing() {
    let source = "use tokio::time::*;\nuse std::thread::*;\nfn f() { sleep(d); }";
    assert_eq!(found(source), pairs(&[("tokio::time::*", Import)]));
}

#[test]
fn renamed_dependencies_map_to_the_real_crate() {
    let mut crates = ExternCrates::new();
    crates.insert("rt", "tokio");
    crates.insert("my-util", "tokio-util");
    let source = "use rt::sync::Mutex;\nfn f() { rt::spawn(async {}); my_util::sync::CancellationToken::new(); }";
    let found: Vec<String> = uses_with(source, &crates)
        .into_iter()
        .map(|u| u.path)
        .collect();
    assert_eq!(
        found,
        [
            "tokio::sync::Mutex",
            "tokio::spawn",
            "tokio_util::sync::CancellationToken::new"
        ]
    );
}

#[test]
fn absolute_paths_and_extern_crate_aliases() {
    let source =
        "extern crate tokio as rt;\nfn f() { ::tokio::spawn(async {}); rt::task::yield_now(); }";
    assert_eq!(
        found(source),
        pairs(&[
            ("tokio", Import),
            ("tokio::spawn", Path),
            ("tokio::task::yield_now", Path)
        ])
    );
}

#[test]
fn macros_and_attributes_have_their_own_kinds() {
    let source = "#[tokio::main]\nasync fn main() { tokio::select! { _ = async {} => {} } }\n#[tokio::test(flavor = \"multi_thread\")]\nasync fn t() {}";
    assert_eq!(
        found(source),
        pairs(&[
            ("tokio::main", Attribute),
            ("tokio::select", Macro),
            ("tokio::test", Attribute)
        ])
    );
}

#[test]
fn imported_macros_and_attributes_resolve() {
    let source = "use tokio::{main, select};\n#[main]\nasync fn m() { select! {} }";
    assert_eq!(
        found(source),
        pairs(&[
            ("tokio::main", Import),
            ("tokio::select", Import),
            ("tokio::main", Attribute),
            ("tokio::select", Macro),
        ])
    );
}

#[test]
fn paths_inside_macro_token_streams_are_found() {
    let source = r#"
use tokio::time::sleep;
use tokio::sync::mpsc;
async fn f() {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = sleep(d) => {}
    }
    let v = vec![mpsc::channel::<u8>(1)];
    println!("{:?}", tokio::time::Instant::now());
    assert!(::tokio::task::yield_now().await == ());
    tokio::pin!(fut);
}"#;
    assert_eq!(
        found(source),
        pairs(&[
            ("tokio::time::sleep", Import),
            ("tokio::sync::mpsc", Import),
            ("tokio::select", Macro),
            ("tokio::time::sleep", Path),
            ("tokio::time::sleep", Path),
            ("tokio::sync::mpsc::channel", Path),
            ("tokio::time::Instant::now", Path),
            ("tokio::task::yield_now", Path),
            ("tokio::pin", Macro),
        ])
    );
}

#[test]
fn comments_and_strings_never_produce_uses() {
    let source = r#"
// use tokio::sync::mpsc; tokio::spawn
/* tokio::time::sleep(d) */
/// Calls `tokio::spawn` in docs.
fn f() {
    let s = "tokio::spawn(async {})";
    let r = r"use tokio::net::TcpStream;";
    println!("tokio::time::sleep {}", 'x');
}"#;
    assert_eq!(found(source), Vec::new());
}

#[test]
fn inline_modules_and_function_bodies_have_their_own_scopes() {
    let source = r#"
mod inner {
    use tokio::sync::mpsc as chan;
    fn f() { chan::channel(1); }
}
fn g() { chan::channel(1); }
fn h() {
    use tokio::sync::oneshot;
    oneshot::channel::<u8>();
}
fn k() { oneshot::channel::<u8>(); }
"#;
    let paths: Vec<String> = uses(source).into_iter().map(|u| u.path).collect();
    assert_eq!(
        paths,
        [
            "tokio::sync::mpsc",
            "tokio::sync::mpsc::channel",
            "tokio::sync::oneshot",
            "tokio::sync::oneshot::channel",
        ]
    );
}

#[test]
fn inner_scopes_see_outer_imports_and_super() {
    let source = r#"
use tokio::sync::mpsc;
mod a {
    fn f() { mpsc::channel::<u8>(1); }
    mod b {
        use super::super::mpsc as m;
        fn g() { m::unbounded_channel::<u8>(); }
    }
}
"#;
    let paths: Vec<String> = uses(source).into_iter().map(|u| u.path).collect();
    assert_eq!(
        paths,
        [
            "tokio::sync::mpsc",
            "tokio::sync::mpsc::channel",
            "tokio::sync::mpsc",
            "tokio::sync::mpsc::unbounded_channel",
        ]
    );
}

#[test]
fn local_items_and_variables_shadow_nothing_external() {
    let source = r#"
mod tokio { pub fn spawn() {} }
fn f(hyper: u8) { tokio::spawn(); let x = hyper; }
"#;
    assert_eq!(found(source), Vec::new());
}

#[test]
fn chained_imports_resolve_through_each_other() {
    let source = "use tokio::sync;\nuse sync::mpsc::Sender;\nfn f(tx: Sender<u8>) {}";
    let paths: Vec<String> = uses(source).into_iter().map(|u| u.path).collect();
    assert_eq!(
        paths,
        [
            "tokio::sync",
            "tokio::sync::mpsc::Sender",
            "tokio::sync::mpsc::Sender"
        ]
    );
}

#[test]
fn types_patterns_and_generic_arguments_are_paths() {
    let source = r#"
use tokio::sync::{Mutex, mpsc::error::TrySendError};
struct S { m: std::sync::Arc<Mutex<u8>> }
fn f(e: TrySendError<u8>) -> Vec<tokio::task::JoinHandle<()>> {
    match e { TrySendError::Full(_) => {}, _ => {} }
    Vec::new()
}
"#;
    let paths: Vec<(String, UseKind)> = found(source);
    assert_eq!(
        paths,
        pairs(&[
            ("tokio::sync::Mutex", Import),
            ("tokio::sync::mpsc::error::TrySendError", Import),
            ("tokio::sync::Mutex", Path),
            ("tokio::sync::mpsc::error::TrySendError", Path),
            ("tokio::task::JoinHandle", Path),
            ("tokio::sync::mpsc::error::TrySendError::Full", Path),
        ])
    );
}

#[test]
fn locations_are_one_based_in_characters_with_byte_ranges() {
    let source = "fn f() {\n    let s = \"é\"; mpsc::channel(8);\n}\nuse tokio::sync::mpsc;";
    let all = uses(source);
    let path = all.iter().find(|u| u.kind == Path).unwrap();
    assert_eq!(path.path, "tokio::sync::mpsc::channel");
    let loc = path.location;
    assert_eq!(
        (loc.line, loc.column, loc.end_line, loc.end_column),
        (2, 18, 2, 31)
    );
    assert_eq!(&source[loc.byte_start..loc.byte_end], "mpsc::channel");
    let import = all.iter().find(|u| u.kind == Import).unwrap();
    assert_eq!(
        &source[import.location.byte_start..import.location.byte_end],
        "tokio::sync::mpsc"
    );
}

#[test]
fn grouped_leaves_locate_the_leaf() {
    let source = "use tokio::{net::TcpListener, sync::mpsc as chan};";
    let all = uses(source);
    let texts: Vec<&str> = all
        .iter()
        .map(|u| &source[u.location.byte_start..u.location.byte_end])
        .collect();
    assert_eq!(texts, ["net::TcpListener", "sync::mpsc as chan"]);
}

#[test]
fn file_resolution_answers_for_syn_paths() {
    let source = "use asupersync::Cx as Context;\nfn f(x: u8, cx: &Context) {}";
    let file = syn::parse_file(source).unwrap();
    let resolution = FileResolution::new(source, &file, &ExternCrates::new());
    let syn::Item::Fn(f) = &file.items[1] else {
        panic!()
    };
    let syn::FnArg::Typed(arg) = &f.sig.inputs[1] else {
        panic!()
    };
    let syn::Type::Reference(r) = &*arg.ty else {
        panic!()
    };
    let syn::Type::Path(p) = &*r.elem else {
        panic!()
    };
    assert_eq!(resolution.path(&p.path), Some("asupersync::Cx"));
}

#[test]
fn method_calls_and_fields_are_not_paths() {
    let source = "use tokio::sync::mpsc;\nfn f(s: S) { s.mpsc.send(1); s.channel(); }";
    assert_eq!(found(source), pairs(&[("tokio::sync::mpsc", Import)]));
}

#[test]
fn block_imports_are_visible_in_the_whole_block() {
    // As in rustc, an item declared later in a block is in scope for all of it.
    let source = "fn f() { oneshot::channel::<u8>(); use tokio::sync::oneshot; }";
    let paths: Vec<String> = uses(source).into_iter().map(|u| u.path).collect();
    assert_eq!(
        paths,
        ["tokio::sync::oneshot::channel", "tokio::sync::oneshot"]
    );
}

#[test]
fn self_and_crate_paths_resolve_locally() {
    let mut crates = ExternCrates::new();
    crates.set_self_crate("app");
    let source = r#"
mod rt { pub use tokio::task; }
use self::inner::thing;
use self::other;
mod inner { pub fn thing() {} }
fn other() {}
fn f() { crate::helpers::go(); thing(); other(); }
"#;
    let file = syn::parse_file(source).unwrap();
    let resolution = FileResolution::new(source, &file, &crates);
    let imports: Vec<&str> = resolution
        .uses
        .iter()
        .filter(|u| u.kind == Import)
        .map(|u| u.path.as_str())
        .collect();
    assert_eq!(imports, ["tokio::task", "app::inner::thing", "app::other"]);
    let all: Vec<String> = resolution.uses.into_iter().map(|u| u.path).collect();
    assert!(all.contains(&"app::helpers::go".to_string()), "{all:?}");
    assert!(all.contains(&"tokio::task".to_string()), "{all:?}");
    assert!(all.contains(&"app::inner::thing".to_string()), "{all:?}");
}

#[test]
fn a_local_function_shadows_a_glob_import() {
    let source =
        "use tokio::time::*;\nfn sleep(_: u64) {}\nasync fn f() { sleep(1); interval(d); }";
    let paths: Vec<String> = uses(source).into_iter().map(|u| u.path).collect();
    assert_eq!(paths, ["tokio::time::*", "tokio::time::interval"]);
}

#[test]
fn generic_parameters_shadow_imports() {
    let source = "use tokio::sync::Mutex;\nfn f<Mutex: Clone>(m: Mutex) {}\nfn g(m: Mutex<u8>) {}";
    let found = found(source);
    assert_eq!(
        found,
        pairs(&[("tokio::sync::Mutex", Import), ("tokio::sync::Mutex", Path)])
    );
    assert_eq!(uses(source)[1].location.line, 3);
}

#[test]
fn closure_parameters_are_variables_not_imports() {
    let source = "use tokio::time::sleep;\nfn f() { let g = |sleep: u8| sleep + 1; sleep(d); }";
    let found = uses(source);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[1].path, "tokio::time::sleep");
    assert_eq!(found[1].location.column, 41);
}

#[test]
fn token_streams_skip_method_calls_dollar_crate_and_fn_definitions() {
    let source = r#"
use tokio::time::sleep;
macro_rules! m {
    ($x:expr) => { $crate::tokio::spawn($x); x.tokio::spawn(); fn sleep() {} };
}
"#;
    assert_eq!(found(source), pairs(&[("tokio::time::sleep", Import)]));
}

#[test]
fn extern_crate_inside_a_module_is_scoped_to_it() {
    let source =
        "mod a { extern crate tokio as rt; fn f() { rt::spawn(x); } }\nfn g() { rt::spawn(x); }";
    let paths: Vec<(String, usize)> = uses(source)
        .into_iter()
        .map(|u| (u.path, u.location.line))
        .collect();
    assert_eq!(
        paths,
        [
            ("tokio".to_string(), 1),
            ("tokio::spawn".to_string(), 1),
            ("rt::spawn".to_string(), 2)
        ]
        .into_iter()
        .filter(|(p, _)| p.starts_with("tokio"))
        .collect::<Vec<_>>()
    );
}

#[test]
fn attributes_under_cfg_attr_and_paths_in_attribute_arguments() {
    let source = "#[cfg_attr(feature = \"rt\", tokio::test(flavor = \"current_thread\"))]\nasync fn t() {}\n#[derive(hyper::Thing)]\nstruct S;";
    assert_eq!(
        found(source),
        pairs(&[("tokio::test", Attribute), ("hyper::Thing", Path)])
    );
}

#[test]
fn a_local_glob_makes_glob_guesses_ambiguous() {
    let source = "mod t {\n    use super::*;\n    use tokio::time::*;\n    fn f() { helper(); sleep(d); tokio::spawn(x); }\n}";
    let paths: Vec<String> = uses(source).into_iter().map(|u| u.path).collect();
    assert_eq!(paths, ["tokio::time::*", "tokio::spawn"]);
}

#[test]
fn variables_are_in_scope_from_their_binding_on() {
    let source = "use tokio::time::sleep;\nasync fn f() {\n    sleep(a).await;\n    let sleep = sleep(b);\n    sleep(c);\n}";
    let lines: Vec<usize> = uses(source)
        .into_iter()
        .filter(|u| u.kind == Path)
        .map(|u| u.location.line)
        .collect();
    // Before the `let` and in its initializer it is the import; after, the variable.
    assert_eq!(lines, [3, 4]);
}
