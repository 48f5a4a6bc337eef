//! The package-level plan: which usages are rewritten, which stay behind compat, which
//! are left for a person, and the new text of every file that changes.
//!
//! Per package, because that is the unit that builds (and is rolled back): a rewrite
//! that is only safe once nothing needs Tokio any more ([`Shape::needs_tokio_free_package`])
//! is made only when every other usage of the package is rewritten too and the package
//! pulls no compat-holdout crate; otherwise it is reported as manual with the usage that
//! holds the package on Tokio.
//!
//! **The package quarantine.** A package that cannot leave Tokio whole (a usage this
//! version does not rewrite, a holdout crate) would otherwise keep its entry points, and
//! so everything under them, on Tokio. Instead, when its manifest lets `tokio` go and it
//! has an entry point, it is quarantined: each entry point becomes native and runs its
//! body on the compat host (a test on a host of its own, like the runtime
//! `#[tokio::test]` gave it; [`super::compat::entry_wrap_edits`]), every
//! `tokio::` path left names the quarantine's re-exported Tokio
//! ([`super::compat::quarantine_path_edits`]), and the manifest trades `tokio` for
//! `asupersync-tokio-compat`. The rewrites that are right on the host's threads stay
//! (a cx threaded into native sleeps, timeouts, fs calls and locks, `join!`/`select!`);
//! the others are behind compat with the reason: a native value handed to a Tokio API,
//! and spawns (the task may need Tokio). A test that needs Tokio's clock
//! (`start_paused`, or calls of `time::pause`/`advance`) runs its body on a
//! current-thread host of its own, its clock paused as Tokio's was. A compiler error in
//! a quarantine edit backs out the quarantine as a whole ([`QUARANTINE_OWNER`]).

use std::collections::HashMap;
use std::path::PathBuf;

use asupersync_lints::resolve::UseKind;
use asupersync_lints::workspace::{Package, TargetKind};
use serde::Serialize;

use super::cx::takes_entry_cx;
use super::manifest::{self, DependencySource, ManifestNeeds};
use super::shape::Shape;
use super::source::{analyse_package, prepare, rewrite_package, FileAnalysis, QUARANTINE_OWNER};

/// What happens to one usage site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Disposition {
    /// Rewritten by this run.
    Automatic,
    /// Stays Tokio-bound: runs behind asupersync-tokio-compat.
    Compat,
    /// Left as written for a person to decide.
    Manual,
}

/// One usage site and what this run does with it.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    pub package: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub api: String,
    pub kind: String,
    pub disposition: Disposition,
    /// The tier that rewrites it (2 entry points, 3 imports and paths, 4 a cx threaded
    /// into a call, 5 `select!`, `join!` and spawns). What tier 6 wraps in compat is
    /// `Compat`, with no tier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub native: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One file that changes.
#[derive(Debug, Clone)]
pub struct FileChange {
    pub path: PathBuf,
    /// Relative to the workspace root.
    pub rel_path: String,
    pub old: String,
    pub new: String,
    /// Byte ranges of `new` and the usage each belongs to (its file, relative to the
    /// workspace root, and its index among the file's usages): every edit made for the
    /// usage (in this file: a usage's cx chain may edit others), and where the usage
    /// itself now is. A compiler error on one of them is blamed on that usage
    /// ([`super::apply`]).
    pub owners: Vec<(std::ops::Range<usize>, (String, usize))>,
}

/// Usages that `--apply` backed out (their edits broke the build), keyed by file
/// (relative to the workspace root) and index of the usage in the file, with the
/// reason: they are planned as manual.
pub type BackedOut = HashMap<(String, usize), String>;

/// The plan of one package.
#[derive(Debug, Clone)]
pub struct PackagePlan {
    pub name: String,
    pub manifest_path: PathBuf,
    pub sites: Vec<Site>,
    /// Changed files, the manifest last.
    pub changes: Vec<FileChange>,
    pub manifest_changes: Vec<String>,
    /// Notes about the package as a whole (files that do not parse, Tokio kept).
    pub notes: Vec<String>,
    /// Whether nothing in the package needs Tokio after this plan: no usage left, no
    /// crate pulling Tokio, no compat-holdout dependency.
    pub tokio_free: bool,
}

struct Analysed<'p> {
    rel_path: &'p str,
    path: &'p std::path::Path,
    target: TargetKind,
    analysis: FileAnalysis,
    /// Per draft: the import draft a path is written through (same file).
    through: Vec<Option<usize>>,
}

/// Plans one package. `roots` are the crate names whose usages count.
///
/// `pulled_through` names a crate through which the package pulls Tokio other than its
/// own `tokio` dependency (from the resolved graph): code in it may need a Tokio runtime,
/// so it holds the package's entry points on Tokio like a usage left in the package.
/// `private_api`: nothing outside the package calls its functions (see
/// [`private_api`]), so its `pub` async functions may be threaded a cx.
#[allow(clippy::too_many_arguments)]
pub fn plan_package(
    package: &Package,
    root: &std::path::Path,
    roots: &[&str],
    source: &DependencySource,
    pulled_through: Option<&str>,
    private_api: bool,
    backed_out: &BackedOut,
) -> anyhow::Result<PackagePlan> {
    let mut notes = Vec::new();
    let mut parsed = Vec::new();
    let mut prepared = Vec::new();
    for file in &package.files {
        let text = std::fs::read_to_string(&file.path)?;
        match prepare(text, &package.extern_crates, roots, private_api) {
            Ok(file_prepared) => {
                parsed.push(file);
                prepared.push(file_prepared);
            }
            // Its mentions of the package's functions are not counted, but nothing is
            // threaded then: the package stays on Tokio (see `demoted_by`).
            Err(err) => notes.push(format!(
                "{} does not parse ({err}): nothing in the package is rewritten that needs it off Tokio",
                file.rel_path
            )),
        }
    }
    let files: Vec<Analysed<'_>> = parsed
        .into_iter()
        .zip(analyse_package(prepared))
        .map(|(file, analysis)| Analysed {
            rel_path: &file.rel_path,
            path: &file.path,
            target: file.target_kind,
            through: link_through(&analysis),
            analysis,
        })
        .collect();
    let manifest_text = std::fs::read_to_string(&package.manifest_path)?;
    let holdout = manifest::holdout_dependency(&manifest_text);

    let base = |refused: &HashMap<(usize, usize), String>, f: usize, index: usize| {
        base_shape(&files, refused, f, index)
    };

    // A usage backed out stays as written, and so does the import a path written
    // through it follows (that import *is* its rewrite).
    let mut refused: HashMap<(usize, usize), String> = HashMap::new();
    for (f, file) in files.iter().enumerate() {
        for i in 0..file.analysis.drafts.len() {
            if let Some(reason) = backed_out.get(&(file.rel_path.to_string(), i)) {
                refused.insert((f, i), reason.clone());
                if let Some(import) = file.through[i] {
                    refused.insert((f, import), reason.clone());
                }
            }
        }
    }
    let all_parse = notes.is_empty();
    if let Some(((file, _), reason)) = backed_out.iter().find(|((_, i), _)| *i == QUARANTINE_OWNER)
    {
        notes.push(format!(
            "the package quarantine was backed out (an edit in {file}): {reason}"
        ));
    }
    let mut demoted_by: Option<String>;
    loop {
        // What holds the package on Tokio, if anything.
        let holder = files.iter().enumerate().find_map(|(f, file)| {
            (0..file.analysis.drafts.len()).find_map(|i| {
                // An entry point left on Tokio holds nothing else back: it calls no
                // Tokio API from other code and no value crosses it.
                let r = &file.analysis.drafts[i].resolved;
                if r.kind == UseKind::Attribute
                    && matches!(r.path.as_str(), "tokio::main" | "tokio::test")
                {
                    return None;
                }
                // What runs in the compat quarantine holds nothing back.
                if file.analysis.drafts[i].wrapped_in.is_some() || only_wrapped(file, i) {
                    return None;
                }
                let stays = base(&refused, f, i).native().is_none();
                stays.then(|| {
                    let r = &file.analysis.drafts[i].resolved;
                    format!("`{}` at {}:{}", r.path, file.rel_path, r.location.line)
                })
            })
        });
        // A holdout crate used only in functions wrapped in compat needs no Tokio
        // runtime around the entry points (its use anywhere else is a holder).
        let wraps = files
            .iter()
            .any(|file| file.analysis.drafts.iter().any(|d| d.wrapped_in.is_some()));
        demoted_by = holder
            .or_else(|| {
                holdout
                    .as_ref()
                    .filter(|_| !wraps)
                    .map(|h| format!("the dependency `{h}`"))
            })
            .or_else(|| pulled_through.map(str::to_string))
            .or_else(|| (!all_parse).then(|| "a file that does not parse".to_string()));
        // What holds the package on Tokio is quarantined rather than left, when it can
        // be: its entry points go native and run their bodies in the Tokio host, and
        // its `tokio::` paths name the quarantine's Tokio.
        let quarantine = demoted_by.as_ref().filter(|_| {
            all_parse
                && !backed_out.keys().any(|(_, i)| *i == QUARANTINE_OWNER)
                && manifest::tokio_can_leave(&manifest_text)
                && files.iter().enumerate().any(|(f, file)| {
                    file.analysis.drafts.iter().enumerate().any(|(i, draft)| {
                        matches!(base(&refused, f, i), Shape::EntryPoint(_))
                            || file
                                .analysis
                                .is_clocked_entry(draft.resolved.location.byte_start)
                    })
                })
        });
        let effective = |refused: &HashMap<(usize, usize), String>, f: usize, i: usize| -> Shape {
            let shape = base(refused, f, i);
            if let Some(holder) = quarantine {
                let draft = &files[f].analysis.drafts[i];
                let path = draft.resolved.path.as_str();
                return match shape {
                    // A test kept on Tokio for its clock gets a host of its own.
                    Shape::Manual(_)
                        if path == "tokio::test"
                            && draft.resolved.kind == UseKind::Attribute
                            && files[f].analysis.is_clocked_entry(draft.resolved.location.byte_start) =>
                    {
                        Shape::EntryPoint("asupersync::test".to_string())
                    }
                    // A native lock works on the host's threads, and `join!`/`select!`
                    // take any futures; any other native value would meet the Tokio
                    // APIs that stay (a native `Instant` passed to Tokio's `sleep_until`).
                    Shape::SameShape(_)
                        if draft.guard_edits.is_empty() && draft.resolved.kind != UseKind::Macro =>
                    {
                        Shape::Compat(format!(
                            "stays on Tokio behind compat: the package is quarantined ({holder} stays on Tokio), and a native value cannot be passed to the Tokio APIs that stay"
                        ))
                    }
                    Shape::CxCall(_) if super::cx::CX_SPAWNS.contains(&path) => Shape::Compat(format!(
                        "stays a Tokio spawn on the compat host: the package is quarantined ({holder} stays on Tokio), and the task may need Tokio"
                    )),
                    Shape::Manual(reason) if path.split("::").next() == Some("tokio") => {
                        Shape::Compat(format!("{reason} (runs behind compat: the package is quarantined)"))
                    }
                    shape => shape,
                };
            }
            match (&demoted_by, &shape) {
                (Some(holder), Shape::EntryPoint(_)) => Shape::Manual(format!(
                    "the package still needs a Tokio runtime ({holder}); switching the entry point now would leave that code without one"
                )),
                (Some(holder), Shape::SameShape(_)) => Shape::Manual(format!(
                    "waits for the rest of the package: {holder} stays on Tokio, and a native value cannot be passed to Tokio APIs"
                )),
                (Some(holder), Shape::CxCall(_)) => Shape::Manual(format!(
                    "its entry point stays on Tokio while {holder} does, so there is no cx to pass"
                )),
                (Some(holder), shape) if shape.needs_tokio_free_package() => Shape::Manual(
                    format!("waits for the rest of the package: {holder} stays on Tokio"),
                ),
                _ => shape,
            }
        };
        let verdict = |f: usize, i: usize| -> Option<String> {
            effective(&refused, f, i).native().map(str::to_string)
        };
        let analyses: Vec<&FileAnalysis> = files.iter().map(|file| &file.analysis).collect();
        let why = quarantine
            .map(|holder| format!("the package is quarantined while {holder} stays on Tokio"));
        let rewrites = rewrite_package(&analyses, &verdict, why.as_deref());
        let new_refusals: Vec<((usize, usize), String)> = rewrites
            .iter()
            .enumerate()
            .flat_map(|(f, rewrite)| {
                rewrite
                    .refused
                    .iter()
                    .map(move |(i, reason)| ((f, *i), reason.clone()))
            })
            .collect();
        let mut refused_more = false;
        for (key, reason) in new_refusals {
            refused_more |= refused.insert(key, reason).is_none();
        }
        if refused_more {
            continue;
        }

        // Sites, file changes and the manifest.
        let mut sites = Vec::new();
        let mut changes = Vec::new();
        let mut needs = ManifestNeeds::default();
        for (f, file) in files.iter().enumerate() {
            for (i, draft) in file.analysis.drafts.iter().enumerate() {
                let shape = effective(&refused, f, i);
                let r = &draft.resolved;
                let root = r.path.split("::").next().unwrap_or("");
                // Test code in a library's or binary's file needs only dev-dependencies.
                let target = if file.analysis.in_test_code(r.location.byte_start) {
                    TargetKind::Test
                } else {
                    file.target
                };
                let (disposition, reason) = match &shape {
                    Shape::Compat(reason) => (Disposition::Compat, Some(reason.clone())),
                    Shape::Manual(reason) => (Disposition::Manual, Some(reason.clone())),
                    _ => (Disposition::Automatic, None),
                };
                if root == "tokio" {
                    if disposition == Disposition::Automatic {
                        needs.tokio_rewritten = true;
                    } else if quarantine.is_some() {
                        needed_in(&mut needs.quarantine_in, target);
                    } else {
                        needs.tokio_left = true;
                    }
                }
                if shape.native().is_some_and(|n| n.starts_with("asupersync"))
                    && (draft.through.is_none() || r.kind == UseKind::Import)
                {
                    needed_in(&mut needs.asupersync_in, target);
                }
                sites.push(Site {
                    package: package.name.clone(),
                    file: file.rel_path.to_string(),
                    line: r.location.line,
                    column: r.location.column,
                    api: r.path.clone(),
                    kind: r.kind.as_str().to_string(),
                    disposition,
                    tier: (disposition == Disposition::Automatic).then_some(match shape {
                        Shape::EntryPoint(_) => 2,
                        _ if r.kind == UseKind::Macro => 5,
                        Shape::CxCall(_) if super::cx::CX_SPAWNS.contains(&r.path.as_str()) => 5,
                        Shape::CxCall(_) => 4,
                        // A lock type's import, which moves with its guard calls.
                        _ if !draft.guard_edits.is_empty() => 4,
                        _ => 3,
                    }),
                    native: shape.native().map(str::to_string),
                    reason,
                });
            }
            let edits = &rewrites[f].edits;
            let new = edits.apply(&file.analysis.source);
            if new != file.analysis.source {
                let key = |(g, i): (usize, usize)| (files[g].rel_path.to_string(), i);
                let mut owners: Vec<(std::ops::Range<usize>, (String, usize))> = rewrites[f]
                    .owners
                    .iter()
                    .map(|(range, owner)| (edits.shifted(range), key(*owner)))
                    .collect();
                owners.extend(
                    file.analysis
                        .drafts
                        .iter()
                        .enumerate()
                        .filter_map(|(i, d)| {
                            let at = d.resolved.location.byte_start..d.resolved.location.byte_end;
                            (sites[sites.len() - file.analysis.drafts.len() + i].disposition
                                == Disposition::Automatic)
                                .then(|| (edits.shifted(&at), key((f, i))))
                        }),
                );
                changes.push(FileChange {
                    path: file.path.to_path_buf(),
                    rel_path: file.rel_path.to_string(),
                    old: file.analysis.source.clone(),
                    new,
                    owners,
                });
            }
        }
        if !all_parse {
            needs.tokio_left = true;
        }
        let wrapped: Vec<String> = files
            .iter()
            .flat_map(|file| {
                file.analysis
                    .wrapped
                    .iter()
                    .map(move |name| format!("`{name}` ({})", file.rel_path))
            })
            .collect();
        if (demoted_by.is_none() || quarantine.is_some()) && !wrapped.is_empty() {
            notes.push(format!(
                "tier 6, wrapped in asupersync_tokio_compat::run: {}",
                wrapped.join(", ")
            ));
        }
        if let Some(holder) = quarantine {
            notes.push(format!(
                "quarantined: {holder} stays on Tokio, so the entry points are native and run their bodies on the compat crate's Tokio host, and the Tokio code left names asupersync_tokio_compat::tokio (the package depends on Tokio only through compat)"
            ));
        }
        let manifest = manifest::plan(&manifest_text, &needs, source)
            .map_err(|err| anyhow::anyhow!("{}: {err}", package.manifest_path.display()))?;
        notes.extend(
            manifest
                .kept_tokio
                .map(|why| format!("tokio stays in the manifest: {why}")),
        );
        if manifest.new_text != manifest_text {
            changes.push(FileChange {
                path: package.manifest_path.clone(),
                rel_path: crate::audit::relative(root, &package.manifest_path),
                old: manifest_text,
                new: manifest.new_text,
                owners: Vec::new(),
            });
        }
        return Ok(PackagePlan {
            name: package.name.clone(),
            manifest_path: package.manifest_path.clone(),
            sites,
            changes,
            manifest_changes: manifest.changes,
            notes,
            tokio_free: demoted_by.is_none() && !needs.tokio_left && needs.quarantine_in.is_none(),
        });
    }
}

/// Records that code of a `target` needs a dependency: in `[dependencies]` for library,
/// binary and build code, else (tests, examples, benches) `[dev-dependencies]` unless
/// the normal table is needed already.
fn needed_in(table: &mut Option<&'static str>, target: TargetKind) {
    let needed = match target {
        TargetKind::Lib | TargetKind::Bin | TargetKind::BuildScript => "dependencies",
        _ => "dev-dependencies",
    };
    if *table != Some("dependencies") {
        *table = Some(needed);
    }
}

/// Whether nothing outside the package can call its functions: it has no library
/// target, or it is not published (`publish = false`), and no other member depends on
/// it. A `pub` function of such a package is called only from the package, where the
/// planner sees every call (and `--apply` backs out a guess the compiler refutes).
pub fn private_api(package: &Package, publish: Option<&[String]>, has_dependents: bool) -> bool {
    let has_lib = package
        .files
        .iter()
        .any(|file| file.target_kind == TargetKind::Lib);
    !has_dependents && (!has_lib || publish.is_some_and(<[String]>::is_empty))
}

/// For each path written through a name, the import draft of the same file that binds
/// that name, when exactly one import leaf binds it.
fn link_through(analysis: &FileAnalysis) -> Vec<Option<usize>> {
    let bound = analysis.import_bindings();
    analysis
        .drafts
        .iter()
        .map(|draft| {
            let name = draft.through.as_ref()?;
            let index = (*bound.get(name.as_str())?)?;
            // The import must be the one the resolver went through: its path is a
            // prefix of the path written through it.
            let import = &analysis.drafts[index].resolved.path;
            let linked = draft.resolved.path == *import
                || draft
                    .resolved
                    .path
                    .strip_prefix(import.as_str())
                    .is_some_and(|tail| tail.starts_with("::"));
            linked.then_some(index)
        })
        .collect()
}

/// Whether draft `index` is an import whose every path is in a function wrapped in
/// compat (it stays as written, for that code).
fn only_wrapped(file: &Analysed<'_>, index: usize) -> bool {
    let mut through = (0..file.through.len()).filter(|&j| file.through[j] == Some(index));
    let first = through.next();
    file.analysis.drafts[index].resolved.kind == UseKind::Import
        && first.is_some()
        && first
            .into_iter()
            .chain(through)
            .all(|j| file.analysis.drafts[j].wrapped_in.is_some())
}

// Base shapes: a path written through an import shares the import's fate (its
// refusal included); `refused` holds the rewrites refused at the edit stage.
fn base_shape(
    files: &[Analysed<'_>],
    refused: &HashMap<(usize, usize), String>,
    f: usize,
    index: usize,
) -> Shape {
    let file = &files[f];
    if let Some(reason) = refused.get(&(f, index)) {
        return Shape::Manual(reason.clone());
    }
    let draft = &file.analysis.drafts[index];
    if only_wrapped(file, index) {
        return Shape::Compat(
            "used only in functions wrapped in compat: stays as written for them (tier 6)"
                .to_string(),
        );
    }
    if file.target == TargetKind::BuildScript {
        return Shape::Manual("in a build script: migrate it by hand".to_string());
    }
    match (&draft.through, file.through[index]) {
        (None, _) if draft.resolved.kind == UseKind::Import
            && (takes_entry_cx(&draft.resolved.path)
                || draft.resolved.path == super::source::NATIVE_SHAPED_JOIN) =>
        {
            // Tier 4: the import of a cx-taking function moves when every path
            // written through it is a call that gets the entry point's cx.
            let mut through = (0..file.through.len()).filter(|&j| file.through[j] == Some(index));
            let first = through.next();
            let all_calls = first.is_some()
                && first.into_iter().chain(through).all(|j| {
                    !refused.contains_key(&(f, j))
                        && matches!(
                            file.analysis.drafts[j].shape,
                            Shape::CxCall(_) | Shape::SameShape(_)
                        )
                });
            match (&draft.shape, all_calls) {
                (Shape::Manual(_), true) => crate::mapping::mapping()
                    .classify(&draft.resolved.path)
                    .and_then(|c| c.native)
                    .map_or_else(|| draft.shape.clone(), Shape::SameShape),
                _ => draft.shape.clone(),
            }
        }
        (None, _) => draft.shape.clone(),
        (Some(_), Some(import)) => {
            let import_shape = &base_shape(files, refused, f, import);
            let stays = refused.contains_key(&(f, import)) || import_shape.native().is_none();
            if let (false, Shape::Compat(reason)) = (refused.contains_key(&(f, import)), import_shape) {
                Shape::Compat(reason.clone())
            } else if stays {
                Shape::Manual(format!(
                    "written through `{}` (`use {}`), which stays (see that import)",
                    draft.through.as_deref().unwrap_or_default(),
                    file.analysis.drafts[import].resolved.path
                ))
            } else if draft.shape.native().is_some() {
                draft.shape.clone()
            } else {
                import_shape.clone()
            }
        }
        (Some(name), None) => Shape::Manual(format!(
            "written through `{name}`, which is not a `use` of it by name (a glob, a crate alias or a local item)"
        )),
    }
}
