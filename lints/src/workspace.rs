//! Finds every Rust source file of a Cargo workspace, the way the compiler would.
//!
//! Globbing `**/*.rs` finds dead files, vendored code and fixtures, and misses
//! modules that live elsewhere through `#[path]`. So the file list starts from each
//! target's root (`cargo metadata --no-deps`: lib, bins, tests, examples, benches,
//! build script) and follows `mod x;` declarations: `x.rs`, `x/mod.rs`, nested
//! inline modules, `#[path = ".."]`, and declarations inside macro invocations
//! (`cfg_feature! { mod x; }`, common in large crates). Declarations are found by lexing (not
//! parsing) each file, so a file with a syntax error still contributes the modules
//! it declares, and the cost stays well below a full parse. Modules declared under
//! any `#[cfg]` are included: a lint gate must see every configuration.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use rayon::prelude::*;

use crate::resolve::ExternCrates;

/// A loaded workspace: its root and its member packages.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// The workspace root directory (where the root Cargo.toml is).
    pub root: PathBuf,
    /// The member packages, in `cargo metadata` order.
    pub packages: Vec<Package>,
    /// `[workspace.metadata]` of the root manifest (`null` when absent).
    pub metadata: serde_json::Value,
}

/// One member package.
#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    pub manifest_path: PathBuf,
    /// The directory of `manifest_path`.
    pub dir: PathBuf,
    /// Every source file of every target, each listed once.
    pub files: Vec<SourceFile>,
    /// The crate names visible in this package's code.
    pub extern_crates: ExternCrates,
    /// `[package.metadata]` of the package (`null` when absent).
    pub metadata: serde_json::Value,
}

/// One Rust source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Absolute path.
    pub path: PathBuf,
    /// Relative to the workspace root, `/`-separated (absolute when outside it).
    pub rel_path: String,
    /// The kind of the target whose module tree first reached this file.
    pub target_kind: TargetKind,
}

/// The kind of a Cargo target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TargetKind {
    Lib,
    Bin,
    Test,
    Example,
    Bench,
    BuildScript,
}

impl TargetKind {
    fn from_cargo(kinds: &[cargo_metadata::TargetKind]) -> Option<Self> {
        use cargo_metadata::TargetKind as K;
        kinds.iter().find_map(|kind| match kind {
            K::Lib | K::RLib | K::DyLib | K::CDyLib | K::StaticLib | K::ProcMacro => {
                Some(TargetKind::Lib)
            }
            K::Bin => Some(TargetKind::Bin),
            K::Test => Some(TargetKind::Test),
            K::Example => Some(TargetKind::Example),
            K::Bench => Some(TargetKind::Bench),
            K::CustomBuild => Some(TargetKind::BuildScript),
            _ => None,
        })
    }
}

/// Why a workspace could not be loaded. Each variant displays as one line.
#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("no Cargo.toml at {}", .0.display())]
    MissingManifest(PathBuf),
    #[error("cannot parse {}: {message}", path.display())]
    InvalidManifest { path: PathBuf, message: String },
    #[error("cargo metadata failed: {0}")]
    Metadata(String),
}

impl Workspace {
    /// Loads the workspace of `manifest_path` (a Cargo.toml or a directory holding
    /// one), or of the current directory.
    pub fn load(manifest_path: Option<&Path>) -> Result<Workspace, WorkspaceError> {
        let mut command = cargo_metadata::MetadataCommand::new();
        command.no_deps();
        if let Some(path) = manifest_path {
            let manifest = if path.is_dir() {
                path.join("Cargo.toml")
            } else {
                path.to_path_buf()
            };
            check_manifest(&manifest)?;
            command.manifest_path(&manifest);
        }
        let metadata = command.exec().map_err(metadata_error)?;
        let root = metadata.workspace_root.clone().into_std_path_buf();
        let packages = metadata
            .workspace_packages()
            .into_par_iter()
            .map(|package| load_package(&root, package))
            .collect();
        Ok(Workspace {
            root,
            packages,
            metadata: metadata.workspace_metadata.clone(),
        })
    }

    /// Every file of every package, with its package.
    pub fn files(&self) -> impl Iterator<Item = (&Package, &SourceFile)> {
        self.packages
            .iter()
            .flat_map(|p| p.files.iter().map(move |f| (p, f)))
    }
}

/// A manifest that does not exist or is not TOML gets a clearer message than the
/// one `cargo metadata` would give.
fn check_manifest(manifest: &Path) -> Result<(), WorkspaceError> {
    let text = std::fs::read_to_string(manifest)
        .map_err(|_| WorkspaceError::MissingManifest(manifest.to_path_buf()))?;
    toml::from_str::<toml::Table>(&text).map_err(|err| WorkspaceError::InvalidManifest {
        path: manifest.to_path_buf(),
        message: one_line(err.message()),
    })?;
    Ok(())
}

fn metadata_error(err: cargo_metadata::Error) -> WorkspaceError {
    let text = match &err {
        cargo_metadata::Error::CargoMetadata { stderr } => stderr
            .lines()
            .find(|l| l.trim_start().starts_with("error"))
            .unwrap_or(stderr.as_str())
            .trim()
            .trim_start_matches("error:")
            .trim()
            .to_string(),
        other => other.to_string(),
    };
    WorkspaceError::Metadata(one_line(&text))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn load_package(root: &Path, package: &cargo_metadata::Package) -> Package {
    let manifest_path = package.manifest_path.clone().into_std_path_buf();
    let dir = manifest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    for target in &package.targets {
        let Some(kind) = TargetKind::from_cargo(&target.kind) else {
            continue;
        };
        let root_file = target.src_path.clone().into_std_path_buf();
        for path in module_tree(&root_file) {
            let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            if seen.insert(key) {
                files.push(SourceFile {
                    rel_path: relative_path(root, &path),
                    path,
                    target_kind: kind,
                });
            }
        }
    }
    Package {
        name: package.name.to_string(),
        manifest_path,
        dir,
        files,
        extern_crates: ExternCrates::from_package(package),
        metadata: package.metadata.clone(),
    }
}

/// `path` relative to `root` with `/` separators, or `path` itself when outside.
pub fn relative_path(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The files of the module tree rooted at `root_file` (which comes first), each
/// once. Missing files are skipped (the compiler reports those); files that are
/// not UTF-8 are listed but not followed.
pub fn module_tree(root_file: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack = vec![(root_file.to_path_buf(), true)];
    while let Some((file, is_mod_rs)) = stack.pop() {
        if !seen.insert(file.clone()) {
            continue;
        }
        let Ok(bytes) = std::fs::read(&file) else {
            continue;
        };
        // A file that is not UTF-8 is still listed: the lint reports it.
        out.push(file.clone());
        let Ok(source) = String::from_utf8(bytes) else {
            continue;
        };
        let file_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        // Where `mod x;` looks: beside a mod-rs file, or in a directory named
        // after a non-mod-rs file (`src/a.rs` declares `src/a/x.rs`).
        let module_dir = if is_mod_rs {
            file_dir.clone()
        } else {
            let stem = file.file_stem().unwrap_or_default();
            file_dir.join(stem)
        };
        let mut found = Vec::new();
        if let Ok(tokens) = TokenStream::from_str(&source) {
            collect_mod_decls(tokens, &file_dir, &module_dir, &mut found);
        }
        // Reverse so that the stack visits declarations in source order.
        stack.extend(found.into_iter().rev());
    }
    out
}

/// Finds `mod x;` declarations (recursing into inline `mod x { .. }` bodies) and
/// pushes the file each one names, with whether that file is a mod-rs file.
fn collect_mod_decls(
    tokens: TokenStream,
    file_dir: &Path,
    module_dir: &Path,
    out: &mut Vec<(PathBuf, bool)>,
) {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    let mut path_attr: Option<String> = None;
    let mut i = 0;
    while i < trees.len() {
        match &trees[i] {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                if let Some(TokenTree::Group(g)) = trees.get(i + 1) {
                    if g.delimiter() == Delimiter::Bracket {
                        if let Some(path) = path_attribute(g.stream()) {
                            path_attr = Some(path);
                        }
                        i += 2;
                        continue;
                    }
                }
                i += 1;
            }
            TokenTree::Ident(id) if id == "mod" => {
                let (Some(TokenTree::Ident(name)), next) = (trees.get(i + 1), trees.get(i + 2))
                else {
                    i += 1;
                    continue;
                };
                let name = name.to_string();
                let name = name.strip_prefix("r#").unwrap_or(&name).to_string();
                match next {
                    Some(TokenTree::Punct(p)) if p.as_char() == ';' => {
                        match path_attr.take() {
                            Some(path) => {
                                let target = file_dir.join(&path);
                                let is_mod_rs = target.file_name().is_some_and(|n| n == "mod.rs");
                                out.push((target, is_mod_rs));
                            }
                            None => {
                                let flat = module_dir.join(format!("{name}.rs"));
                                if flat.is_file() {
                                    out.push((flat, false));
                                } else {
                                    out.push((module_dir.join(&name).join("mod.rs"), true));
                                }
                            }
                        }
                        i += 3;
                    }
                    Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                        let inner_dir = match path_attr.take() {
                            Some(path) => file_dir.join(path),
                            None => module_dir.join(&name),
                        };
                        collect_mod_decls(g.stream(), &inner_dir, &inner_dir, out);
                        i += 3;
                    }
                    _ => i += 1,
                }
            }
            TokenTree::Ident(id) if id == "pub" || id == "unsafe" => i += 1,
            // `pub(crate)`: keeps a pending `#[path]`.
            TokenTree::Group(g) if g.delimiter() == Delimiter::Parenthesis => {
                collect_mod_decls(g.stream(), file_dir, module_dir, out);
                i += 1;
            }
            // Macro bodies (`cfg_rt! { mod x; }`) and blocks declare modules of the
            // enclosing module.
            TokenTree::Group(g) => {
                collect_mod_decls(g.stream(), file_dir, module_dir, out);
                path_attr = None;
                i += 1;
            }
            _ => {
                path_attr = None;
                i += 1;
            }
        }
    }
}

/// The string of a `path = ".."` attribute body.
fn path_attribute(tokens: TokenStream) -> Option<String> {
    let trees: Vec<TokenTree> = tokens.into_iter().collect();
    match trees.as_slice() {
        [TokenTree::Ident(name), TokenTree::Punct(eq), TokenTree::Literal(lit)]
            if name == "path" && eq.as_char() == '=' =>
        {
            let lit: syn::LitStr = syn::parse_str(&lit.to_string()).ok()?;
            Some(lit.value())
        }
        _ => None,
    }
}

impl fmt::Display for TargetKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetKind::Lib => "lib",
            TargetKind::Bin => "bin",
            TargetKind::Test => "test",
            TargetKind::Example => "example",
            TargetKind::Bench => "bench",
            TargetKind::BuildScript => "build-script",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn rels(root: &Path, files: &[PathBuf]) -> Vec<String> {
        files.iter().map(|f| relative_path(root, f)).collect()
    }

    #[test]
    fn module_tree_follows_flat_mod_rs_nested_inline_and_path_modules() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "src/lib.rs",
            "mod a;\npub mod b;\n#[path = \"elsewhere/c_impl.rs\"]\nmod c;\nmod inline { mod deep; }\n// mod commented;\nconst S: &str = \"mod in_string;\";\n#[cfg(test)]\nmod tests;\ncfg_net! { pub(crate) mod net; }\n",
        );
        write(root, "src/a.rs", "mod child;\n");
        write(root, "src/a/child.rs", "");
        write(root, "src/b/mod.rs", "mod grand;\n");
        write(root, "src/b/grand.rs", "");
        write(root, "src/elsewhere/c_impl.rs", "");
        write(root, "src/inline/deep.rs", "");
        write(root, "src/tests.rs", "");
        write(root, "src/net.rs", "");
        write(root, "src/commented.rs", "");
        write(root, "src/in_string.rs", "");
        let files = module_tree(&root.join("src/lib.rs"));
        assert_eq!(
            rels(root, &files),
            [
                "src/lib.rs",
                "src/a.rs",
                "src/a/child.rs",
                "src/b/mod.rs",
                "src/b/grand.rs",
                "src/elsewhere/c_impl.rs",
                "src/inline/deep.rs",
                "src/tests.rs",
                "src/net.rs",
            ]
        );
    }

    #[test]
    fn module_tree_survives_cycles_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "src/main.rs",
            "#[path = \"main.rs\"]\nmod again;\nmod missing;\n",
        );
        let files = module_tree(&root.join("src/main.rs"));
        assert_eq!(rels(root, &files), ["src/main.rs"]);
    }

    #[test]
    fn load_reports_missing_and_invalid_manifests_on_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let missing = Workspace::load(Some(&dir.path().join("nope/Cargo.toml"))).unwrap_err();
        assert!(matches!(missing, WorkspaceError::MissingManifest(_)));
        assert!(missing.to_string().starts_with("no Cargo.toml at "));

        write(dir.path(), "Cargo.toml", "[package\nname = ");
        let invalid = Workspace::load(Some(dir.path())).unwrap_err();
        assert!(matches!(invalid, WorkspaceError::InvalidManifest { .. }));
        assert!(!invalid.to_string().contains('\n'), "{invalid}");

        // Valid TOML that cargo rejects (a package without a name).
        write(dir.path(), "Cargo.toml", "[package]\nversion = \"0.1.0\"\n");
        let rejected = Workspace::load(Some(dir.path())).unwrap_err();
        assert!(
            matches!(rejected, WorkspaceError::Metadata(_)),
            "{rejected:?}"
        );
        assert!(rejected.to_string().starts_with("cargo metadata failed: "));
        assert!(!rejected.to_string().contains('\n'), "{rejected}");
    }

    #[test]
    fn load_lists_every_target_and_renamed_dependencies() {
        let dir = tempfile::tempdir().unwrap();
        // The renamed dependency is a path crate outside the workspace directory
        // (inside, it would become a member), so the test stays offline.
        write(
            dir.path(),
            "vendor/tokio/Cargo.toml",
            "[package]\nname = \"tokio\"\nversion = \"1.0.0\"\nedition = \"2021\"\n[lib]\npath = \"lib.rs\"\n",
        );
        write(dir.path(), "vendor/tokio/lib.rs", "");
        let root = &dir.path().join("app");
        write(
            root,
            "Cargo.toml",
            "[package]\nname = \"demo-app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n[dependencies]\nrt = { package = \"tokio\", version = \"1\", path = \"../vendor/tokio\" }\n",
        );
        write(root, "src/lib.rs", "mod util;\n");
        write(root, "src/util.rs", "");
        write(root, "src/main.rs", "");
        write(root, "tests/it.rs", "");
        write(root, "examples/ex.rs", "");
        write(root, "benches/b.rs", "");
        write(root, "build.rs", "fn main() {}");
        let ws = Workspace::load(Some(&root.join("Cargo.toml"))).unwrap();
        assert_eq!(ws.packages.len(), 1);
        let package = &ws.packages[0];
        assert_eq!(package.name, "demo-app");
        let mut files: Vec<(String, TargetKind)> = package
            .files
            .iter()
            .map(|f| (f.rel_path.clone(), f.target_kind))
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                ("benches/b.rs".to_string(), TargetKind::Bench),
                ("build.rs".to_string(), TargetKind::BuildScript),
                ("examples/ex.rs".to_string(), TargetKind::Example),
                ("src/lib.rs".to_string(), TargetKind::Lib),
                ("src/main.rs".to_string(), TargetKind::Bin),
                ("src/util.rs".to_string(), TargetKind::Lib),
                ("tests/it.rs".to_string(), TargetKind::Test),
            ]
        );
        assert_eq!(package.extern_crates.real_name("rt"), Some("tokio"));
        assert_eq!(
            package.extern_crates.real_name("demo_app"),
            Some("demo_app")
        );
        assert_eq!(package.extern_crates.self_crate(), Some("demo_app"));
        assert!(package.files.iter().all(|f| f.path.is_absolute()));
    }
}
