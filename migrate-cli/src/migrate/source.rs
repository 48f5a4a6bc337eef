//! Rewrites of one Rust file (tiers 2-6): entry-point attributes, `use` trees, paths,
//! the places of [`super::cx`] and the wraps of [`super::compat`], as byte-range
//! [`Edit`]s on the original text.
//!
//! Usages come from the resolver shared with `audit` and the lints
//! (`asupersync_lints::resolve::collect_uses`), so an alias, a renamed crate or a group
//! import resolves exactly as the audit counted it. This module adds only what a rewrite
//! needs on top: where each `use` leaf and each entry-point function is, and which
//! paths are written from the crate root (edited in place) and which through an import
//! (they follow the import: `Instant::now()` is right once `use tokio::time::Instant`
//! says `asupersync::time::Instant`).
//!
//! Conservative on purpose: a path inside a macro invocation (the tool cannot see what
//! the macro does with it), a path with generic arguments, a grouped import with
//! comments inside (a rewrite would drop them) and anything the [`Shape`] rules leave
//! are reported as manual and not touched.

use std::collections::HashMap;
use std::ops::Range;

use asupersync_lints::resolve::{
    collect_uses, ExternCrates, LineIndex, ResolvedUse, UseKind, QUARANTINED_TOKIO,
};
use asupersync_lints::rules::common::{has_cfg_test, is_test_attribute};
use proc_macro2::Span;
use syn::visit::Visit;

use super::cx::{
    identifier_counts, scan_function, thread, threadable, CxCall, CxForm, CxScope, FileEdit,
    Threading, CX_FUNCTIONS, CX_MACROS, CX_SAME_RESULT, CX_SPAWNS, GUARD_TYPES,
};
use super::edit::{indent_of, Edit, EditSet};
use super::shape::{import_shape, shape, Shape};

/// A usage and what `migrate` can do about it, before the package-level decision.
#[derive(Debug, Clone)]
pub struct Draft {
    pub resolved: ResolvedUse,
    pub shape: Shape,
    /// For a path written through an import: the name it is written through.
    pub through: Option<String>,
    /// For a place that gets a `cx` threaded from an entry point (tiers 4 and 5).
    pub cx_call: Option<CxCall>,
    /// The function wrapped in compat (tier 6) the usage is in, if any.
    pub wrapped_in: Option<String>,
    /// For an import of Tokio's `Mutex` or `RwLock`: the edits of every guard call on a
    /// receiver declared through it (`.lock()` → `.lock(cx).await?`, with their cx
    /// chains): the import moves with them, all or none.
    pub guard_edits: Vec<FileEdit>,
}

/// One parsed file, analysed.
#[derive(Debug)]
pub struct FileAnalysis {
    pub source: String,
    lines: LineIndex,
    pub drafts: Vec<Draft>,
    uses: Vec<UseItem>,
    /// The edits of the functions wrapped in compat (tier 6): made with the entry
    /// points, since a wrap is only right once they are native.
    wrap_edits: Vec<FileEdit>,
    /// The names of the functions wrapped in compat (tier 6).
    pub wrapped: Vec<String>,
    /// The bodies of the entry points, by where their attribute's path starts.
    entry_bodies: Vec<(usize, EntryBody)>,
    /// Items compiled only for tests (see [`FileAnalysis::in_test_code`]).
    test_code: Vec<Range<usize>>,
}

#[derive(Debug)]
struct UseItem {
    /// From the visibility (or `use`) to the `;`, attributes excluded.
    range: Range<usize>,
    /// The tree, from after `use` to before `;`.
    tree_range: Range<usize>,
    has_attrs: bool,
    vis: String,
    leading_colon: bool,
    tree: syn::UseTree,
    leaves: Vec<UseLeaf>,
    grouped: bool,
}

impl UseItem {
    /// Whether it imports the package's own items (`crate::`, `self::`, `super::`, or a
    /// module of the crate root: anything but an extern crate or the standard library).
    fn is_local(&self, crates: &ExternCrates) -> bool {
        let first = match &self.tree {
            syn::UseTree::Path(path) => path.ident.to_string(),
            _ => return false,
        };
        !self.leading_colon
            && (matches!(first.as_str(), "crate" | "self" | "super")
                || crates.real_name(&first).is_none()
                    && !matches!(first.as_str(), "std" | "core" | "alloc"))
    }
}

#[derive(Debug)]
struct UseLeaf {
    /// Byte end of the leaf's last token: the key the resolver's location shares.
    end: usize,
    /// The name the leaf binds (`_` for `as _`, empty for a glob).
    bound: String,
    renamed: bool,
}

/// An entry-point function's attribute: `#[tokio::main]` or `#[tokio::test]`.
#[derive(Debug)]
struct EntryAttr {
    path_start: usize,
    problem: Option<String>,
    /// Where its function's body can be moved into the compat quarantine.
    body: Option<EntryBody>,
}

/// The syntactic facts of an entry point's function that a package quarantine needs
/// ([`super::compat::entry_wrap_edits`]).
#[derive(Debug, Clone)]
pub struct EntryBody {
    pub name: String,
    /// What it needs of Tokio's clock, if it stays a Tokio test for that.
    pub clock: Option<TokioClock>,
    /// For a test: the Tokio runtime it had (`#[tokio::test]` gives each test its own,
    /// current-thread unless `flavor = "multi_thread"`), which its quarantined body gets
    /// again as a host of its own. `None` for a `main`, which runs on the shared host.
    pub test_runtime: Option<TestRuntime>,
    /// The attribute's `(..)` after its path, if any.
    pub attr_args: Option<Range<usize>>,
    /// From `async` to before the body's `{`: the signature the inner function repeats.
    pub signature: Range<usize>,
    /// Just after the parameter list's `(` (entry points have no parameters).
    pub param_at: usize,
    /// Just after the body's `{`.
    pub body_open: usize,
    /// The body's `}`.
    pub body_close: usize,
}

/// One parsed file, before the package-level decisions of tier 4 ([`analyse_package`]).
#[derive(Debug)]
pub struct Prepared {
    source: String,
    resolved: Vec<ResolvedUse>,
    shapes: Vec<(Shape, Option<String>)>,
    /// What the [`Collector`] found (its cx calls matched to what they call).
    found: Found,
    /// How often each identifier occurs, imports of the package's own items aside
    /// (`use crate::store::fetch;` neither calls `fetch` nor stops it taking a cx).
    counts: HashMap<String, usize>,
}

/// Parses one file and finds what the package-level analysis needs. `roots` are the
/// crate names whose usages count; `private_api`: nothing outside the package can call
/// its functions, so a `pub` one may be threaded too.
pub fn prepare(
    source: String,
    crates: &ExternCrates,
    roots: &[&str],
    private_api: bool,
) -> Result<Prepared, syn::Error> {
    let file = syn::parse_file(&source)?;
    let resolved = collect_uses(&source, &file, crates, roots);
    let mut collector = Collector {
        source: &source,
        lines: LineIndex::new(&source),
        found: Found::default(),
        private_api,
    };
    collector.visit_file(&file);
    let mut found = collector.found;
    let leaf_at: HashMap<usize, ()> = found
        .uses
        .iter()
        .flat_map(|item| item.leaves.iter().map(|leaf| (leaf.end, ())))
        .collect();
    let mut counts = identifier_counts(&source);
    for item in found.uses.iter().filter(|item| item.is_local(crates)) {
        for (name, n) in identifier_counts(&source[item.range.clone()]) {
            if let Some(count) = counts.get_mut(&name) {
                *count = count.saturating_sub(n);
            }
        }
    }
    // Receivers declared with Tokio's `Mutex`/`RwLock` (resolved through this file's
    // imports), whose guard calls get a cx.
    found.typed.retain(|(_, start)| {
        resolved.iter().any(|r| {
            r.location.byte_start == *start
                && r.kind == UseKind::Path
                && GUARD_TYPES.iter().any(|ty| {
                    r.path
                        .strip_prefix(ty)
                        .is_some_and(|tail| tail.is_empty() || tail == "::new")
                })
        })
    });
    found.cx_calls = matched_cx_calls(
        std::mem::take(&mut found.cx_calls),
        &resolved,
        &source,
        &found.typed,
    );
    let shapes: Vec<(Shape, Option<String>)> = resolved
        .iter()
        .map(|resolved| {
            draft_shape(
                &source,
                resolved,
                crates,
                &leaf_at,
                &found.macro_bodies,
                &found.entries,
            )
        })
        .collect();
    // Tier 6: a function whose body uses something that stays on Tokio (not a call
    // tier 4 or 5 rewrites) is wrapped in compat, if it can be.
    let cx_calls = &found.cx_calls;
    for scope in found.scopes.iter_mut() {
        let Some(wrap) = &scope.wrap else { continue };
        let body = wrap.body_open..wrap.body_close;
        scope.wrap_why = resolved.iter().zip(&shapes).find_map(|(r, (shape, _))| {
            let at = r.location.byte_start;
            let rewritten = cx_calls.iter().any(|call| call.callee_start == at);
            (body.contains(&at)
                && r.kind != UseKind::Import
                && shape.native().is_none()
                && !rewritten)
                .then(|| match shape {
                    Shape::Compat(_) => format!("`{}` is Tokio-bound", r.path),
                    _ => format!("`{}` is not rewritten by this version", r.path),
                })
        });
    }
    Ok(Prepared {
        source,
        resolved,
        shapes,
        found,
        counts,
    })
}

/// Analyses the files of one package together: tier 4 threads a cx across them (a
/// function of one file called from another gets it when every call, in every file, is
/// in a function that has one).
pub fn analyse_package(files: Vec<Prepared>) -> Vec<FileAnalysis> {
    let mut scopes: Vec<CxScope> = Vec::new();
    let mut calls: Vec<CxCall> = Vec::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (f, file) in files.iter().enumerate() {
        let base = scopes.len();
        scopes.extend(file.found.scopes.iter().cloned().map(|mut scope| {
            scope.file = f;
            scope.spawned_in = scope
                .spawned_in
                .map(|(parent, start)| (parent + base, start));
            scope
        }));
        calls.extend(file.found.cx_calls.iter().cloned().map(|mut call| {
            call.scope += base;
            call
        }));
        for (name, n) in &file.counts {
            *counts.entry(name.clone()).or_default() += n;
        }
    }
    let sources: Vec<&str> = files.iter().map(|file| file.source.as_str()).collect();
    let threading = thread(
        &scopes,
        calls,
        &|name| counts.get(name).copied().unwrap_or(0),
        &sources,
    );
    files
        .into_iter()
        .enumerate()
        .map(|(f, file)| finish(file, f, &scopes, &threading))
        .collect()
}

/// Analyses one file as a package of its own, where `elsewhere(name)` says whether
/// some other file mentions an identifier (which keeps a function of that name as it
/// was: its calls there are not seen).
#[cfg(test)]
pub fn analyse(
    source: String,
    crates: &ExternCrates,
    roots: &[&str],
    elsewhere: &dyn Fn(&str) -> bool,
    private_api: bool,
) -> Result<FileAnalysis, syn::Error> {
    let file = prepare(source, crates, roots, private_api)?;
    let sources = [file.source.as_str()];
    let threading = thread(
        &file.found.scopes,
        file.found.cx_calls.clone(),
        &|name| file.counts.get(name).copied().unwrap_or(0) + usize::from(elsewhere(name)),
        &sources,
    );
    let scopes = file.found.scopes.clone();
    Ok(finish(file, 0, &scopes, &threading))
}

/// The analysis of file `f` once the package's threading is decided.
fn finish(file: Prepared, f: usize, scopes: &[CxScope], threading: &Threading) -> FileAnalysis {
    let Prepared {
        source,
        resolved,
        shapes,
        found:
            Found {
                uses,
                macro_bodies,
                native_joins,
                quarantined,
                cx_calls: candidates,
                typed,
                entries,
                test_code,
                ..
            },
        ..
    } = file;
    let cx_calls: Vec<&CxCall> = threading
        .calls
        .iter()
        .filter(|call| scopes[call.scope].file == f)
        .collect();
    let wrapped: Vec<&super::cx::WrappedFn> =
        threading.wrapped.iter().filter(|w| w.file == f).collect();
    let drafts = resolved
        .into_iter()
        .zip(shapes)
        .map(|(resolved, (mut shape, through))| {
            let cx_call = cx_calls
                .iter()
                .find(|call| {
                    let kind = if call.is_call() {
                        UseKind::Path
                    } else {
                        UseKind::Macro
                    };
                    call.callee_start == resolved.location.byte_start
                        && resolved.kind == kind
                        && call.rewrites(&resolved.path)
                })
                .map(|call| (*call).clone());
            // `join!` needs no cx: the native macro takes the same comma-separated
            // futures and yields the same tuple, so it is a path change (tier 5)
            // wherever the native macro parses its body.
            if resolved.kind == UseKind::Macro
                && resolved.path == NATIVE_SHAPED_JOIN
                && native_joins.contains(&resolved.location.byte_start)
                && matches!(shape, Shape::Manual(_))
                && !is_inside(&macro_bodies, resolved.location.byte_start)
            {
                if let Some(native) = crate::mapping::mapping()
                    .classify(&resolved.path)
                    .and_then(|c| c.native)
                {
                    shape = Shape::SameShape(native);
                }
            }
            if cx_call.is_some() {
                if let Some(native) = crate::mapping::mapping()
                    .classify(&resolved.path)
                    .and_then(|c| c.native)
                {
                    shape = Shape::CxCall(native);
                }
            }
            // Inside a wrapped function everything stays as written (a re-export of
            // std aside: it is the same item).
            let at = resolved.location.byte_start;
            let wrapped_in = wrapped
                .iter()
                .find(|w| w.body.contains(&at))
                .map(|w| w.name.clone());
            let earlier = quarantined
                .iter()
                .find(|(_, body)| body.contains(&at))
                .map(|(name, _)| name.clone());
            if let (Some(name), false) = (&wrapped_in, matches!(shape, Shape::Identical(_))) {
                shape = Shape::Compat(format!(
                    "runs on Tokio in the compat quarantine: its function `{name}` is wrapped in asupersync_tokio_compat::run (tier 6)"
                ));
            } else if let (Some(name), false) = (&earlier, matches!(shape, Shape::Identical(_))) {
                shape = Shape::Compat(format!(
                    "runs on Tokio in the compat quarantine: `{name}` was wrapped in asupersync_tokio_compat::run by an earlier run (tier 6)"
                ));
            }
            let wrapped_in = wrapped_in.or(earlier);
            Draft {
                resolved,
                shape,
                through,
                cx_call,
                wrapped_in,
                guard_edits: Vec::new(),
            }
        })
        .collect();
    let mut analysis = FileAnalysis {
        lines: LineIndex::new(&source),
        source,
        drafts,
        uses,
        wrapped: wrapped.iter().map(|w| w.name.clone()).collect(),
        wrap_edits: wrapped
            .iter()
            .flat_map(|w| w.edits.iter().cloned())
            .collect(),
        entry_bodies: entries
            .into_iter()
            .filter_map(|entry| Some((entry.path_start, entry.body?)))
            .collect(),
        test_code,
    };
    attach_guard_calls(&mut analysis, f, &candidates, &cx_calls, &typed);
    analysis
}

/// Tier 4 for Tokio's `Mutex` and `RwLock`: the import that names the type of
/// receivers whose guard calls all got a cx (in functions returning a `Result`) moves to
/// the native type, with those calls (`.lock(cx).await?`). If one such call did not get
/// a cx, the import stays as it was, and so do the calls. What the tool cannot see (a
/// guard call on a receiver it cannot type, the error type of the `?`) the compiler
/// checks, and `--apply` backs the import out with its calls.
fn attach_guard_calls(
    analysis: &mut FileAnalysis,
    f: usize,
    candidates: &[CxCall],
    threaded: &[&CxCall],
    typed: &[(String, usize)],
) {
    let bindings = analysis.import_bindings();
    // The import each typed receiver's type is written through.
    let import_of = |receiver: &str| -> Option<usize> {
        typed
            .iter()
            .filter(|(name, _)| name == receiver)
            .find_map(|(_, start)| {
                let draft = analysis
                    .drafts
                    .iter()
                    .find(|d| d.resolved.location.byte_start == *start)?;
                *bindings.get(draft.through.as_deref()?)?
            })
    };
    let mut attached: HashMap<usize, Vec<FileEdit>> = HashMap::new();
    let mut refused: Vec<usize> = Vec::new();
    for call in candidates {
        let CxForm::GuardCall { receiver, .. } = &call.form else {
            continue;
        };
        let Some(import) = import_of(receiver) else {
            continue;
        };
        match threaded
            .iter()
            .find(|t| t.callee_start == call.callee_start)
        {
            Some(with_cx) => {
                let edits = attached.entry(import).or_default();
                edits.extend(with_cx.edits(&analysis.source).into_iter().map(|e| (f, e)));
                edits.extend(with_cx.chain.iter().cloned());
            }
            None => refused.push(import),
        }
    }
    for (import, edits) in attached {
        let draft = &mut analysis.drafts[import];
        let native = crate::mapping::mapping()
            .classify(&draft.resolved.path)
            .and_then(|c| c.native);
        if let (false, Some(native), Shape::Manual(_)) =
            (refused.contains(&import), native, &draft.shape)
        {
            draft.shape = Shape::SameShape(native);
            draft.guard_edits = edits;
        }
    }
}

/// The macro whose native twin takes the same body and needs no cx.
pub const NATIVE_SHAPED_JOIN: &str = "tokio::join";

fn is_inside(bodies: &[Range<usize>], at: usize) -> bool {
    bodies.iter().any(|body| body.start < at && at < body.end)
}

/// The places of [`super::cx`] that hold once the resolver has named what they call:
/// a `select!` only when it is Tokio's and every branch calls a cx function of Tokio
/// (so every loser is cancel-aware once native and drains at once), and a branch call
/// only inside such a `select!`.
/// A guard call (`.lock()`, `.read()`, `.write()`) only on a receiver declared with one
/// of Tokio's lock types (`guarded`, from [`Found::typed`]).
fn matched_cx_calls(
    calls: Vec<CxCall>,
    resolved: &[ResolvedUse],
    source: &str,
    guarded: &[(String, usize)],
) -> Vec<CxCall> {
    let resolves_to = |start: usize, kind: UseKind, apis: &[&str]| {
        resolved.iter().any(|r| {
            r.location.byte_start == start && r.kind == kind && apis.contains(&r.path.as_str())
        })
    };
    let selects: Vec<&Vec<usize>> = calls
        .iter()
        .filter_map(|call| match &call.form {
            CxForm::Select { branches }
                if resolves_to(call.callee_start, UseKind::Macro, &CX_MACROS)
                    && branches
                        .iter()
                        .all(|&branch| resolves_to(branch, UseKind::Path, &CX_FUNCTIONS)) =>
            {
                Some(branches)
            }
            _ => None,
        })
        .collect();
    let kept: Vec<bool> = calls
        .iter()
        .map(|call| match &call.form {
            CxForm::Select { branches } => selects.contains(&branches),
            CxForm::BranchCall { .. } => selects
                .iter()
                .any(|branches| branches.contains(&call.callee_start)),
            CxForm::AwaitedCall { .. } => {
                resolves_to(call.callee_start, UseKind::Path, &CX_FUNCTIONS)
            }
            CxForm::SameResultCall { .. } => {
                resolves_to(call.callee_start, UseKind::Path, &CX_SAME_RESULT)
            }
            CxForm::GuardCall { receiver, .. } => guarded.iter().any(|(name, _)| name == receiver),
            // `tokio::spawn` becomes `cx.spawn`, so it must be written out: an import
            // of it would have to become a method. `spawn_blocking` is a function on
            // both sides and may come through an import.
            CxForm::Spawn {
                callee, blocking, ..
            } => {
                resolves_to(call.callee_start, UseKind::Path, &CX_SPAWNS)
                    && (*blocking
                        || matches!(
                            source[callee.clone()].trim_start_matches("::"),
                            "tokio::spawn" | "tokio::task::spawn"
                        ))
            }
        })
        .collect();
    calls
        .into_iter()
        .zip(kept)
        .filter_map(|(call, kept)| kept.then_some(call))
        .collect()
}

fn draft_shape(
    source: &str,
    resolved: &ResolvedUse,
    crates: &ExternCrates,
    leaf_at: &HashMap<usize, ()>,
    macro_bodies: &[Range<usize>],
    entries: &[EntryAttr],
) -> (Shape, Option<String>) {
    let range = resolved.location.byte_start..resolved.location.byte_end;
    if resolved.via_quarantine {
        return (
            Shape::Compat(format!(
                "names the quarantine's Tokio (`{QUARANTINED_TOKIO}`): runs behind compat until it is ported"
            )),
            None,
        );
    }
    if resolved.kind == UseKind::Import {
        if !leaf_at.contains_key(&range.end) {
            return (
                Shape::Manual("`extern crate`: remove it by hand".to_string()),
                None,
            );
        }
        return (import_shape(&resolved.path), None);
    }
    let written = &source[range.clone()];
    let mut segments = written.trim_start_matches("::").split("::").map(str::trim);
    let mut first = segments.next().unwrap_or("");
    let root = resolved.path.split("::").next().unwrap_or("");
    let from_crate_root =
        written.starts_with("::") || crates.real_name(first) == Some(root) && first != "self";
    if !from_crate_root || !written.contains("::") {
        // Written through a name: the import that binds it is what gets rewritten, and
        // the path itself is not touched (so a macro around it does not matter).
        // `self::x`/`super::x` name an import of this file's modules.
        while matches!(first, "self" | "super") {
            first = segments.next().unwrap_or("");
        }
        return (shape(&resolved.path), Some(first.to_string()));
    }
    if macro_bodies
        .iter()
        .any(|body| body.start <= range.start && range.end <= body.end)
    {
        return (
            Shape::Manual(
                "inside a macro invocation: the tool cannot see what the macro does with it"
                    .to_string(),
            ),
            None,
        );
    }
    if written.contains('<') {
        return (
            Shape::Manual("a path with generic arguments: rewrite it by hand".to_string()),
            None,
        );
    }
    let shape = shape(&resolved.path);
    if let Shape::EntryPoint(_) = &shape {
        match entries.iter().find(|entry| entry.path_start == range.start) {
            None => {
                return (
                    Shape::Manual("an entry-point attribute not on a plain `fn`".to_string()),
                    None,
                )
            }
            Some(EntryAttr {
                problem: Some(problem),
                ..
            }) => return (Shape::Manual(problem.clone()), None),
            Some(_) => {}
        }
    }
    (shape, None)
}

/// A per-usage verdict from the package-level plan: rewrite to this path, or stay.
pub type Verdict<'a> = &'a dyn Fn(usize) -> Option<String>;

/// What rewriting one file produced: the edits, and the usages whose rewrite was
/// refused at this stage (with the reason).
#[derive(Debug, Default)]
pub struct FileRewrite {
    pub edits: EditSet,
    /// Indexes into `drafts` of usages not rewritten after all, with why.
    pub refused: Vec<(usize, String)>,
    /// Which usage each accepted edit of this file belongs to (by the edit's range in
    /// the original text; the usage by its file and index there): an edit several
    /// usages need (a cx signature shared by the calls of a function) is listed once
    /// per usage. `--apply` backs out the usages whose edits a compiler error touches.
    pub owners: Vec<(Range<usize>, (usize, usize))>,
}

/// A per-usage verdict across a package: for usage `index` of file `file`, rewrite to
/// this path, or stay.
pub type PackageVerdict<'a> = &'a dyn Fn(usize, usize) -> Option<String>;

/// Adds `edits` (each to its file's set) all or none: `Err` holds the accepted edit one
/// of them overlaps.
fn add_all(
    out: &mut [FileRewrite],
    files: &[&FileAnalysis],
    edits: &[FileEdit],
) -> Result<(), Edit> {
    let mut trial: HashMap<usize, EditSet> = HashMap::new();
    for (file, edit) in edits {
        let set = trial
            .entry(*file)
            .or_insert_with(|| out[*file].edits.clone());
        set.add(edit.clone(), &files[*file].source)
            .map_err(|overlap| overlap.accepted)?;
    }
    for (file, set) in trial {
        out[file].edits = set;
    }
    Ok(())
}

/// The edits of every file of a package for the usages `verdict` rewrites. A usage's
/// edits may lie in other files (the cx chain of a function called from another
/// file): they are made all or none, and each is listed as owned by the usage in the
/// file it edits.
/// The usage index that owns the edits of a package quarantine: a compiler error in
/// one of them backs out the quarantine as a whole ([`super::plan`]).
pub const QUARANTINE_OWNER: usize = usize::MAX;

/// The edits of the usages `verdict` rewrites, across the files of a package. With
/// `quarantine` (why the package stays partly on Tokio), the package is quarantined
/// too: each entry point rewritten runs its body through compat, and every `tokio::`
/// path left becomes the quarantine's ([`super::compat`]).
pub fn rewrite_package(
    files: &[&FileAnalysis],
    verdict: PackageVerdict<'_>,
    quarantine: Option<&str>,
) -> Vec<FileRewrite> {
    let mut out: Vec<FileRewrite> = files.iter().map(|_| FileRewrite::default()).collect();
    let mut imports: Vec<HashMap<usize, (usize, String)>> = vec![HashMap::new(); files.len()];
    for (f, file) in files.iter().enumerate() {
        for (index, draft) in file.drafts.iter().enumerate() {
            let Some(native) = verdict(f, index) else {
                continue;
            };
            let range = draft.resolved.location.byte_start..draft.resolved.location.byte_end;
            if draft.resolved.kind == UseKind::Import {
                // A lock type's import moves with its guard calls, or not at all.
                match add_all(&mut out, files, &draft.guard_edits) {
                    Ok(()) => {
                        for (g, edit) in &draft.guard_edits {
                            out[*g].owners.push((edit.range.clone(), (f, index)));
                        }
                        imports[f].insert(range.end, (index, native));
                    }
                    Err(accepted) => out[f].refused.push((index, overlap_reason(&accepted))),
                }
                continue;
            }
            // A path written through an import follows it: only the import is edited.
            let mut edits: Vec<FileEdit> = Vec::new();
            if draft.through.is_none() && !draft.cx_call.as_ref().is_some_and(CxCall::replaces_path)
            {
                edits.push((f, Edit::new(range, native)));
            }
            if let Some(call) = &draft.cx_call {
                // The chain is shared by every call of a function: `EditSet` keeps
                // one of each.
                edits.extend(call.edits(&file.source).into_iter().map(|edit| (f, edit)));
                edits.extend(call.chain.iter().cloned());
            }
            match add_all(&mut out, files, &edits) {
                Ok(()) => {
                    for (g, edit) in edits {
                        out[g].owners.push((edit.range, (f, index)));
                    }
                }
                Err(accepted) => out[f].refused.push((index, overlap_reason(&accepted))),
            }
        }
    }
    // The wraps of tier 6 are made with the entry points (their chains reach them).
    let entry = files.iter().enumerate().find_map(|(f, file)| {
        file.drafts
            .iter()
            .enumerate()
            .find(|(index, draft)| {
                matches!(draft.shape, Shape::EntryPoint(_)) && verdict(f, *index).is_some()
            })
            .map(|(index, _)| (f, index))
    });
    if let Some((f, index)) = entry {
        for file in files {
            if file.wrap_edits.is_empty() {
                continue;
            }
            match add_all(&mut out, files, &file.wrap_edits) {
                Ok(()) => {
                    for (g, edit) in &file.wrap_edits {
                        out[*g].owners.push((edit.range.clone(), (f, index)));
                    }
                }
                Err(accepted) => out[f].refused.push((index, overlap_reason(&accepted))),
            }
        }
    }
    if let Some(why) = quarantine {
        for (f, file) in files.iter().enumerate() {
            for (index, draft) in file.drafts.iter().enumerate() {
                if draft.resolved.kind != UseKind::Attribute || verdict(f, index).is_none() {
                    continue;
                }
                let at = draft.resolved.location.byte_start;
                let Some((_, body)) = file.entry_bodies.iter().find(|(start, _)| *start == at)
                else {
                    continue;
                };
                let in_body = body.body_open..body.body_close;
                let uses_cx = out[f].edits.iter().any(|edit| {
                    in_body.contains(&edit.range.start) && edit.replacement.contains("cx")
                });
                let mut edits: Vec<FileEdit> =
                    super::compat::entry_wrap_edits(body, uses_cx, why, &file.source)
                        .into_iter()
                        .map(|edit| (f, edit))
                        .collect();
                // A test with a host of its own: its Tokio options go with Tokio.
                if let (Some(_), Some(args)) = (body.clock, &body.attr_args) {
                    edits.push((f, Edit::new(args.clone(), "")));
                }
                match add_all(&mut out, files, &edits) {
                    Ok(()) => {
                        for (g, edit) in edits {
                            out[g].owners.push((edit.range, (f, index)));
                        }
                    }
                    Err(accepted) => out[f].refused.push((index, overlap_reason(&accepted))),
                }
            }
        }
    }
    for (f, file) in files.iter().enumerate() {
        for item in &file.uses {
            file.rewrite_use(item, f, &imports[f], quarantine.is_some(), &mut out[f]);
        }
        if quarantine.is_some() {
            // A path some rewrite already replaces is not Tokio's any more.
            for group in super::compat::quarantine_path_edits(&file.source, &file.lines) {
                let group: Vec<FileEdit> = group.into_iter().map(|edit| (f, edit)).collect();
                if add_all(&mut out, files, &group).is_ok() {
                    for (_, edit) in group {
                        out[f].owners.push((edit.range, (f, QUARANTINE_OWNER)));
                    }
                }
            }
        }
    }
    out
}

impl FileAnalysis {
    /// Whether the byte `at` is in code compiled only for tests (a `#[cfg(test)]`
    /// module or function, a test function, its attributes included): what it needs
    /// goes to `[dev-dependencies]` even in a library's or binary's file.
    pub fn in_test_code(&self, at: usize) -> bool {
        self.test_code.iter().any(|range| range.contains(&at))
    }

    /// Whether the entry-point attribute whose path starts at `at` stays on Tokio only
    /// for Tokio's clock (a package quarantine gives it a host of its own).
    pub fn is_clocked_entry(&self, at: usize) -> bool {
        self.entry_bodies
            .iter()
            .any(|(start, body)| *start == at && body.clock.is_some())
    }

    /// The edits for the usages `verdict` rewrites, in a file analysed on its own.
    #[cfg(test)]
    pub fn rewrite(&self, verdict: Verdict<'_>) -> FileRewrite {
        rewrite_package(&[self], &|_, index| verdict(index), None)
            .pop()
            .unwrap_or_default()
    }

    fn rewrite_use(
        &self,
        item: &UseItem,
        file: usize,
        import_at: &HashMap<usize, (usize, String)>,
        quarantine: bool,
        out: &mut FileRewrite,
    ) {
        let rewritten: Vec<(&UseLeaf, usize, &str)> = item
            .leaves
            .iter()
            .filter_map(|leaf| {
                import_at
                    .get(&leaf.end)
                    .map(|(index, native)| (leaf, *index, native.as_str()))
            })
            .collect();
        if rewritten.is_empty() {
            return;
        }
        let refuse = |out: &mut FileRewrite, reason: &str| {
            for (_, index, _) in &rewritten {
                out.refused.push((*index, reason.to_string()));
            }
        };
        let edit = if !item.grouped {
            let (leaf, _, native) = rewritten[0];
            Edit::new(item.tree_range.clone(), leaf_text(leaf, native))
        } else {
            let text = &self.source[item.range.clone()];
            if text.contains("//") || text.contains("/*") {
                refuse(
                    out,
                    "a grouped import with comments inside: rewriting it would drop them",
                );
                return;
            }
            let keep = |end: usize| !rewritten.iter().any(|(leaf, _, _)| leaf.end == end);
            let kept = print_tree(&item.tree, &keep, &|span| self.byte_end(span))
                .map(|tree| match quarantine {
                    true => super::compat::quarantine_root(&tree),
                    false => tree,
                })
                .map(|tree| format!("{}{tree}", if item.leading_colon { "::" } else { "" }));
            let mut trees: Vec<String> = kept.into_iter().collect();
            trees.extend(group_by_parent(&rewritten));
            if item.has_attrs {
                // One statement keeps the attributes on everything it imported.
                let tree = if trees.len() == 1 {
                    trees.remove(0)
                } else {
                    format!("{{{}}}", trees.join(", "))
                };
                Edit::new(item.tree_range.clone(), tree)
            } else {
                let indent = indent_of(&self.source, item.range.start);
                let statements: Vec<String> = trees
                    .iter()
                    .map(|tree| format!("{}use {tree};", item.vis))
                    .collect();
                Edit::new(item.range.clone(), statements.join(&format!("\n{indent}")))
            }
        };
        let range = edit.range.clone();
        match out.edits.add(edit, &self.source) {
            Ok(()) => out.owners.extend(
                rewritten
                    .iter()
                    .map(|(_, index, _)| (range.clone(), (file, *index))),
            ),
            Err(overlap) => refuse(out, &overlap_reason(&overlap.accepted)),
        }
    }

    /// Every name a `use` leaf of this file binds, with the import draft behind it
    /// (`None` when the name is bound more than once, or not by a counted usage).
    pub fn import_bindings(&self) -> HashMap<&str, Option<usize>> {
        let draft_at: HashMap<usize, usize> = self
            .drafts
            .iter()
            .enumerate()
            .filter(|(_, d)| d.resolved.kind == UseKind::Import)
            .map(|(i, d)| (d.resolved.location.byte_end, i))
            .collect();
        let mut bound: HashMap<&str, Option<usize>> = HashMap::new();
        for leaf in self.uses.iter().flat_map(|item| &item.leaves) {
            if leaf.bound.is_empty() {
                continue;
            }
            let draft = draft_at.get(&leaf.end).copied();
            bound
                .entry(leaf.bound.as_str())
                .and_modify(|slot| *slot = None)
                .or_insert(draft);
        }
        bound
    }

    fn byte_end(&self, span: Span) -> usize {
        self.lines.span_location(&self.source, span).byte_end
    }
}

fn overlap_reason(accepted: &Edit) -> String {
    format!(
        "overlaps another rewrite (bytes {}..{}); left as it was",
        accepted.range.start, accepted.range.end
    )
}

/// `native`, renamed to the name the leaf bound if that differs.
fn leaf_text(leaf: &UseLeaf, native: &str) -> String {
    let last = native.rsplit("::").next().unwrap_or(native);
    if leaf.renamed || last != leaf.bound {
        format!("{native} as {}", leaf.bound)
    } else {
        native.to_string()
    }
}

/// Rewritten leaves as `use` trees, one per native parent module, in source order.
fn group_by_parent(rewritten: &[(&UseLeaf, usize, &str)]) -> Vec<String> {
    let mut parents: Vec<(String, Vec<String>)> = Vec::new();
    for (leaf, _, native) in rewritten {
        let (parent, _) = native.rsplit_once("::").unwrap_or(("", native));
        let name = leaf_text(leaf, native);
        let name = name
            .strip_prefix(&format!("{parent}::"))
            .unwrap_or(&name)
            .to_string();
        match parents.iter_mut().find(|(p, _)| p == parent) {
            Some((_, names)) => names.push(name),
            None => parents.push((parent.to_string(), vec![name])),
        }
    }
    parents
        .into_iter()
        .map(|(parent, names)| {
            if names.len() == 1 {
                format!("{parent}::{}", names[0])
            } else {
                format!("{parent}::{{{}}}", names.join(", "))
            }
        })
        .collect()
}

/// Prints the part of a use tree whose leaves `keep` accepts (by leaf end key).
fn print_tree(
    tree: &syn::UseTree,
    keep: &dyn Fn(usize) -> bool,
    ends: &dyn Fn(Span) -> usize,
) -> Option<String> {
    let leaf_kept = |span: Span| keep(ends(span));
    match tree {
        syn::UseTree::Path(path) => {
            print_tree(&path.tree, keep, ends).map(|rest| format!("{}::{rest}", path.ident))
        }
        syn::UseTree::Name(name) => leaf_kept(name.ident.span()).then(|| name.ident.to_string()),
        syn::UseTree::Rename(rename) => leaf_kept(rename.rename.span())
            .then(|| format!("{} as {}", rename.ident, rename.rename)),
        syn::UseTree::Glob(glob) => leaf_kept(glob.star_token.spans[0]).then(|| "*".to_string()),
        syn::UseTree::Group(group) => {
            let items: Vec<String> = group
                .items
                .iter()
                .filter_map(|item| print_tree(item, keep, ends))
                .collect();
            match items.as_slice() {
                [] => None,
                [one] if !one.starts_with("self") => Some(one.clone()),
                _ => Some(format!("{{{}}}", items.join(", "))),
            }
        }
    }
}

/// Finds `use` items, macro bodies and entry-point functions.
struct Collector<'s> {
    source: &'s str,
    lines: LineIndex,
    found: Found,
    /// Whether `pub` functions may be threaded (see [`prepare`]).
    private_api: bool,
}

/// What a [`Collector`] finds in a file.
#[derive(Debug, Default)]
struct Found {
    uses: Vec<UseItem>,
    macro_bodies: Vec<Range<usize>>,
    /// Where the path of each `join!` whose body the native `join!` parses starts.
    native_joins: Vec<usize>,
    entries: Vec<EntryAttr>,
    /// The functions that may have a cx, and their candidate calls.
    scopes: Vec<CxScope>,
    /// Inner functions of earlier wraps (tier 6): name and body.
    quarantined: Vec<(String, Range<usize>)>,
    /// Items compiled only for tests: `#[cfg(test)]` modules and functions, and test
    /// functions (`#[test]`, `#[tokio::test]`, ..).
    test_code: Vec<Range<usize>>,
    cx_calls: Vec<CxCall>,
    /// Struct fields whose type names a `Mutex` or `RwLock` (`Arc<Mutex<T>>` too) and
    /// `let` bindings initialised with one ([`lock_constructor`]), with where that type's
    /// path starts (kept by [`prepare`] when it is Tokio's).
    typed: Vec<(String, usize)>,
}

impl Collector<'_> {
    /// Adds the scopes and candidate calls of a function that may have the cx.
    fn scan(&mut self, function: &syn::ItemFn, entry: bool, in_impl: bool) {
        let offset = |span: Span| {
            let location = self.lines.span_location(self.source, span);
            location.byte_start..location.byte_end
        };
        let first = self.found.scopes.len();
        for (scope, calls) in scan_function(function, entry, in_impl, first, &offset) {
            self.found.scopes.push(scope);
            self.found.cx_calls.extend(calls);
        }
    }

    fn start(&self, span: Span) -> usize {
        self.lines.span_location(self.source, span).byte_start
    }

    fn end(&self, span: Span) -> usize {
        self.lines.span_location(self.source, span).byte_end
    }

    fn leaves(&self, tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<UseLeaf>) {
        match tree {
            syn::UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                self.leaves(&path.tree, prefix, out);
                prefix.pop();
            }
            syn::UseTree::Name(name) => {
                let bound = if name.ident == "self" {
                    prefix.last().cloned().unwrap_or_default()
                } else {
                    name.ident.to_string()
                };
                out.push(UseLeaf {
                    end: self.end(name.ident.span()),
                    bound,
                    renamed: false,
                });
            }
            syn::UseTree::Rename(rename) => out.push(UseLeaf {
                end: self.end(rename.rename.span()),
                bound: rename.rename.to_string(),
                renamed: true,
            }),
            syn::UseTree::Glob(glob) => out.push(UseLeaf {
                end: self.end(glob.star_token.spans[0]),
                bound: String::new(),
                renamed: false,
            }),
            syn::UseTree::Group(group) => {
                for item in &group.items {
                    self.leaves(item, prefix, out);
                }
            }
        }
    }
}

/// The start of every path segment named `Mutex` or `RwLock` in `ty` (`Arc<Mutex<T>>`
/// included).
fn lock_type_starts(tokens: proc_macro2::TokenStream, out: &mut Vec<Span>) {
    for tree in tokens {
        match tree {
            proc_macro2::TokenTree::Ident(ident) if ident == "Mutex" || ident == "RwLock" => {
                out.push(ident.span());
            }
            proc_macro2::TokenTree::Group(group) => lock_type_starts(group.stream(), out),
            _ => {}
        }
    }
}

/// Where the type path starts in `Mutex::new(..)` / `RwLock::new(..)`, also wrapped in
/// one-argument constructors (`Arc::new(Mutex::new(..))`): the value is that lock.
fn lock_constructor(expr: &syn::Expr) -> Option<Span> {
    let syn::Expr::Call(call) = expr else {
        return None;
    };
    let syn::Expr::Path(callee) = &*call.func else {
        return None;
    };
    let segments: Vec<&syn::PathSegment> = callee.path.segments.iter().collect();
    match segments.as_slice() {
        [.., ty, new] if new.ident == "new" && (ty.ident == "Mutex" || ty.ident == "RwLock") => {
            Some(ty.ident.span())
        }
        [.., new] if new.ident == "new" && call.args.len() == 1 => lock_constructor(&call.args[0]),
        _ => None,
    }
}

impl<'ast> Visit<'ast> for Collector<'_> {
    fn visit_field(&mut self, field: &'ast syn::Field) {
        if let Some(name) = &field.ident {
            let mut spans = Vec::new();
            lock_type_starts(quote::ToTokens::to_token_stream(&field.ty), &mut spans);
            for span in spans {
                let start = self.start(span);
                self.found.typed.push((name.to_string(), start));
            }
        }
        syn::visit::visit_field(self, field);
    }

    fn visit_local(&mut self, local: &'ast syn::Local) {
        if let (syn::Pat::Ident(binding), Some(init)) = (&local.pat, &local.init) {
            if let Some(span) = lock_constructor(&init.expr) {
                let start = self.start(span);
                self.found.typed.push((binding.ident.to_string(), start));
            }
        }
        syn::visit::visit_local(self, local);
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let start = match &item.vis {
            syn::Visibility::Inherited => self.start(item.use_token.span),
            vis => self.start(syn::spanned::Spanned::span(vis)),
        };
        let end = self.end(item.semi_token.span);
        let after_use = self.end(item.use_token.span);
        let semi = self.start(item.semi_token.span);
        let text = &self.source[after_use..semi];
        let tree_start = after_use + (text.len() - text.trim_start().len());
        let tree_end = after_use + text.trim_end().len();
        let mut leaves = Vec::new();
        self.leaves(&item.tree, &mut Vec::new(), &mut leaves);
        let vis = match &item.vis {
            syn::Visibility::Inherited => String::new(),
            _ => {
                let vis_start = start;
                let use_start = self.start(item.use_token.span);
                format!("{} ", self.source[vis_start..use_start].trim_end())
            }
        };
        self.found.uses.push(UseItem {
            range: start..end,
            tree_range: tree_start..tree_end,
            has_attrs: !item.attrs.is_empty(),
            vis,
            leading_colon: item.leading_colon.is_some(),
            grouped: has_group(&item.tree),
            tree: item.tree.clone(),
            leaves,
        });
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if !is_std_expression_macro(&mac.path) {
            let span = mac.delimiter.span().join();
            self.found
                .macro_bodies
                .push(self.start(span)..self.end(span));
        }
        if mac.path.segments.last().is_some_and(|s| s.ident == "join")
            && native_join_accepts(mac.tokens.clone())
        {
            let start = match &mac.path.leading_colon {
                Some(colon) => self.start(colon.spans[0]),
                None => mac
                    .path
                    .segments
                    .first()
                    .map_or(0, |s| self.start(s.ident.span())),
            };
            self.found.native_joins.push(start);
        }
        syn::visit::visit_macro(self, mac);
    }

    fn visit_item_mod(&mut self, module: &'ast syn::ItemMod) {
        if has_cfg_test(&module.attrs) {
            let start = self.start(
                module
                    .attrs
                    .first()
                    .map_or(module.mod_token.span, |attr| attr.pound_token.span),
            );
            let end = module
                .content
                .as_ref()
                .map_or(start, |(brace, _)| self.end(brace.span.close()));
            self.found.test_code.push(start..end);
        }
        syn::visit::visit_item_mod(self, module);
    }

    fn visit_item_fn(&mut self, function: &'ast syn::ItemFn) {
        if has_cfg_test(&function.attrs) || function.attrs.iter().any(is_test_attribute) {
            let start = self.start(
                function
                    .attrs
                    .first()
                    .map_or(function.sig.fn_token.span, |attr| attr.pound_token.span),
            );
            self.found
                .test_code
                .push(start..self.end(function.block.brace_token.span.close()));
        }
        let signature_start = self.start(
            function
                .sig
                .asyncness
                .map_or(function.sig.fn_token.span, |t| t.span),
        );
        if super::compat::wrapped_earlier(function, self.source, signature_start) {
            let body = self.end(function.block.brace_token.span.open())
                ..self.start(function.block.brace_token.span.close());
            self.found
                .quarantined
                .push((function.sig.ident.to_string(), body));
            return;
        }
        let mut entry_attr = false;
        let mut entry = false;
        for attr in &function.attrs {
            let Some(first) = attr.path().segments.first() else {
                continue;
            };
            let path_start = match &attr.path().leading_colon {
                Some(colon) => self.start(colon.spans[0]),
                None => self.start(first.ident.span()),
            };
            let last = attr.path().segments.last().map(|s| s.ident.to_string());
            if !matches!(last.as_deref(), Some("main" | "test")) {
                continue;
            }
            let options = EntryOptions::of(attr);
            let problem = entry_problem(function, options.as_ref(), self.source);
            entry_attr = true;
            entry |= problem.is_none();
            let clock = problem.as_ref().and_then(|p| p.clock);
            let test_runtime = options
                .as_ref()
                .filter(|_| last.as_deref() == Some("test"))
                .map(EntryOptions::test_runtime);
            let body = (problem.is_none() || clock.is_some()).then(|| EntryBody {
                name: function.sig.ident.to_string(),
                clock,
                test_runtime,
                attr_args: match &attr.meta {
                    syn::Meta::List(list) => {
                        let path_end = self.end(
                            list.path
                                .segments
                                .last()
                                .map_or_else(proc_macro2::Span::call_site, |s| s.ident.span()),
                        );
                        Some(path_end..self.end(list.delimiter.span().close()))
                    }
                    _ => None,
                },
                signature: signature_start..self.start(function.block.brace_token.span.open()),
                param_at: self.end(function.sig.paren_token.span.open()),
                body_open: self.end(function.block.brace_token.span.open()),
                body_close: self.start(function.block.brace_token.span.close()),
            });
            self.found.entries.push(EntryAttr {
                path_start,
                problem: problem.map(|p| p.reason),
                body,
            });
        }
        if entry || !entry_attr && threadable(function, self.private_api) {
            self.scan(function, entry, false);
        }
        syn::visit::visit_item_fn(self, function);
    }

    // The functions of an inherent `impl` can be threaded like free ones; those of a
    // trait impl cannot (the trait fixes their signatures).
    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if item.trait_.is_none() {
            for impl_item in &item.items {
                let syn::ImplItem::Fn(method) = impl_item else {
                    continue;
                };
                let function = syn::ItemFn {
                    attrs: method.attrs.clone(),
                    vis: method.vis.clone(),
                    sig: method.sig.clone(),
                    block: Box::new(method.block.clone()),
                };
                if method.defaultness.is_none() && threadable(&function, self.private_api) {
                    self.scan(&function, false, true);
                }
            }
        }
        syn::visit::visit_item_impl(self, item);
    }
}

/// Whether `asupersync::join!` reads this body as Tokio's `join!` did: expressions
/// separated by commas (`macros/src/combinators.rs`). Tokio's `biased;` is not in the
/// native grammar (it fails to parse as an expression), so such a body is refused.
fn native_join_accepts(body: proc_macro2::TokenStream) -> bool {
    use syn::parse::Parser;
    syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated
        .parse2(body)
        .is_ok()
}

/// The standard library's macros whose arguments are plain expressions (and format
/// arguments): a path inside them is rewritten like one outside.
pub(super) fn is_std_expression_macro(path: &syn::Path) -> bool {
    const MACROS: [&str; 16] = [
        "assert",
        "assert_eq",
        "assert_ne",
        "debug_assert",
        "debug_assert_eq",
        "debug_assert_ne",
        "dbg",
        "eprint",
        "eprintln",
        "format",
        "panic",
        "print",
        "println",
        "vec",
        "write",
        "writeln",
    ];
    let std_prefix = path.segments.len() == 1
        || path.segments.len() == 2
            && matches!(
                path.segments[0].ident.to_string().as_str(),
                "std" | "core" | "alloc"
            );
    std_prefix
        && path
            .segments
            .last()
            .is_some_and(|last| MACROS.contains(&last.ident.to_string().as_str()))
}

fn has_group(tree: &syn::UseTree) -> bool {
    match tree {
        syn::UseTree::Path(path) => has_group(&path.tree),
        syn::UseTree::Group(_) => true,
        _ => false,
    }
}

/// What keeps an entry point from becoming native as it is, and whether that is only
/// its need of Tokio's clock (which a package quarantine can give it: a host of its
/// own, see [`super::compat::entry_wrap_edits`]).
#[derive(Debug, Clone)]
struct EntryProblem {
    reason: String,
    clock: Option<TokioClock>,
}

/// The runtime `#[tokio::test]` gave a test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestRuntime {
    CurrentThread,
    /// `flavor = "multi_thread"`, with `worker_threads` as written (Tokio's default:
    /// one per core).
    MultiThread(Option<String>),
}

/// What a test needs of Tokio's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokioClock {
    /// `start_paused = true`: a current-thread runtime whose clock starts paused.
    Paused,
    /// It calls `tokio::time::pause`, `advance` or `resume`: a current-thread runtime.
    Controlled,
}

/// The options of `#[tokio::main(..)]` / `#[tokio::test(..)]`.
#[derive(Debug, Default)]
struct EntryOptions {
    multi_thread: bool,
    /// `worker_threads` as written.
    workers: Option<String>,
    start_paused: bool,
    /// The first option asupersync has no equivalent of.
    unknown: Option<String>,
}

impl EntryOptions {
    /// `None` if the options do not parse.
    fn of(attr: &syn::Attribute) -> Option<EntryOptions> {
        let mut options = EntryOptions::default();
        let syn::Meta::List(list) = &attr.meta else {
            return Some(options);
        };
        let parsed = list
            .parse_args_with(
                syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
            )
            .ok()?;
        for option in parsed {
            let value = match &option {
                syn::Meta::NameValue(pair) => {
                    quote::ToTokens::to_token_stream(&pair.value).to_string()
                }
                _ => String::new(),
            };
            match option
                .path()
                .get_ident()
                .map(ToString::to_string)
                .as_deref()
            {
                Some("flavor") => options.multi_thread = value.contains("multi_thread"),
                Some("worker_threads") => options.workers = Some(value),
                Some("start_paused") => options.start_paused = true,
                other => {
                    options
                        .unknown
                        .get_or_insert_with(|| other.unwrap_or_default().to_string());
                }
            }
        }
        Some(options)
    }

    /// The runtime `#[tokio::test]` gave a test with these options.
    fn test_runtime(&self) -> TestRuntime {
        if self.multi_thread {
            TestRuntime::MultiThread(self.workers.clone())
        } else {
            TestRuntime::CurrentThread
        }
    }
}

/// Why `#[tokio::main]`/`#[tokio::test]` on `function` cannot become the asupersync one.
fn entry_problem(
    function: &syn::ItemFn,
    options: Option<&EntryOptions>,
    source: &str,
) -> Option<EntryProblem> {
    let problem = |reason: &str, clock| {
        Some(EntryProblem {
            reason: reason.to_string(),
            clock,
        })
    };
    if function.sig.asyncness.is_none() || !function.sig.inputs.is_empty() {
        return problem(
            "an entry point that is not a parameterless `async fn`",
            None,
        );
    }
    // Options that do not parse do not build with Tokio either: nothing to keep.
    let options = options?;
    if let Some(other) = &options.unknown {
        return problem(
            &format!("option `{other}` has no asupersync equivalent; decide by hand"),
            None,
        );
    }
    if options.start_paused {
        return problem(
            "`start_paused` needs virtual time: it will map to a lab test; \
             migrate this test by hand for now",
            Some(TokioClock::Paused),
        );
    }
    if controls_tokio_clock(quote::ToTokens::to_token_stream(&function.block), source) {
        return problem(
            "controls Tokio's clock (`time::pause`, `advance` or `resume`), which needs \
             Tokio's current-thread test runtime: it stays a Tokio test until it moves to \
             a lab test with virtual time",
            Some(TokioClock::Controlled),
        );
    }
    None
}

/// Whether a body calls Tokio's `time::pause`, `time::advance` or `time::resume`: as a
/// path (`time::pause()`, `tokio::time::advance(..)`), or by the bare name where the
/// file imports it from a `time` module. Matched by name, so a same-named function
/// of the test's own may keep the test on Tokio, which is safe.
fn controls_tokio_clock(tokens: proc_macro2::TokenStream, source: &str) -> bool {
    use proc_macro2::{Delimiter, TokenTree};
    let imported = |name: &str| {
        source.lines().any(|line| {
            let line = line.trim_start();
            line.starts_with("use ") && line.contains("time::") && line.contains(name)
        })
    };
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let punct_at = |i: Option<usize>, c: char| matches!(i.and_then(|i| tokens.get(i)), Some(TokenTree::Punct(p)) if p.as_char() == c);
    tokens.iter().enumerate().any(|(i, token)| match token {
        TokenTree::Group(group) => controls_tokio_clock(group.stream(), source),
        TokenTree::Ident(ident) => {
            let name = ident.to_string();
            ["pause", "advance", "resume"].contains(&name.as_str())
                && matches!(tokens.get(i + 1), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis)
                && if punct_at(i.checked_sub(1), ':') {
                    matches!(i.checked_sub(3).and_then(|j| tokens.get(j)), Some(TokenTree::Ident(m)) if m == "time")
                } else {
                    !punct_at(i.checked_sub(1), '.') && imported(&name)
                }
        }
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rewrites `source` with every usage whose own shape is a rewrite (no package rule).
    fn rewrite_all(source: &str) -> (String, Vec<String>) {
        rewrite_all_with(source, false)
    }

    /// As [`rewrite_all`], for a package whose API nothing outside calls or not.
    fn rewrite_all_with(source: &str, private_api: bool) -> (String, Vec<String>) {
        let mut crates = ExternCrates::new();
        crates.insert("tokio", "tokio");
        let analysis = analyse(
            source.to_string(),
            &crates,
            &["tokio"],
            &|_| false,
            private_api,
        )
        .unwrap();
        let verdict = |i: usize| {
            let draft = &analysis.drafts[i];
            if draft.through.is_some() {
                return None;
            }
            draft.shape.native().map(str::to_string)
        };
        let rewrite = analysis.rewrite(&verdict);
        let refused = rewrite.refused.iter().map(|(_, why)| why.clone()).collect();
        (rewrite.edits.apply(source), refused)
    }

    #[test]
    fn a_mixed_nested_group_is_split_and_self_keeps_its_braces() {
        let (out, refused) = rewrite_all(
            "fn f() {\n    pub(crate) use ::tokio::{time::{self, Duration}, io::Error as E};\n}\n",
        );
        assert_eq!(
            out,
            "fn f() {\n    pub(crate) use ::tokio::time::{self};\n    pub(crate) use std::time::Duration;\n    pub(crate) use std::io::Error as E;\n}\n"
        );
        assert!(refused.is_empty());
    }

    #[test]
    fn a_simple_import_keeps_its_attributes_visibility_and_trailing_comment() {
        let source = "#[cfg(unix)]\npub use tokio::io::Result; // re-exported\n";
        let (out, _) = rewrite_all(source);
        assert_eq!(
            out,
            "#[cfg(unix)]\npub use std::io::Result; // re-exported\n"
        );
    }

    #[test]
    fn a_renamed_leaf_keeps_its_name_and_a_group_under_attributes_stays_one_statement() {
        let source = "#[cfg(test)]\nuse tokio::{io::ErrorKind as K, time::sleep};\n";
        let (out, _) = rewrite_all(source);
        assert_eq!(
            out,
            "#[cfg(test)]\nuse {tokio::time::sleep, std::io::ErrorKind as K};\n"
        );
    }

    #[test]
    fn a_test_that_controls_tokios_clock_stays_a_tokio_test() {
        for body in [
            "tokio::time::pause();",
            "time::advance(D).await;",
            "{ advance(D).await; }\nuse tokio::time::{advance, Duration};",
        ] {
            let source = format!("#[tokio::test]\nasync fn t() {{ {body} }}\n");
            let (out, _) = rewrite_all(&source);
            assert!(out.starts_with("#[tokio::test]"), "{body}: {out}");
        }
        for body in ["player.pause();", "pause().await;", "game::advance();"] {
            let source = format!("#[tokio::test]\nasync fn t() {{ {body} }}\n");
            let (out, _) = rewrite_all(&source);
            assert!(out.starts_with("#[asupersync::test]"), "{body}: {out}");
        }
    }

    #[test]
    fn entry_points_carry_their_options_or_say_why_not() {
        let source =
            "#[tokio::main(flavor = \"multi_thread\", worker_threads = 2)]\nasync fn main() {}\n\
                      #[tokio::test(start_paused = true)]\nasync fn t() {}\n\
                      #[tokio::test]\nfn not_async() {}\n";
        let (out, _) = rewrite_all(source);
        assert!(out.starts_with(
            "#[asupersync::main(flavor = \"multi_thread\", worker_threads = 2)]\nasync fn main() {}\n#[tokio::test(start_paused = true)]"
        ), "{out}");
        assert!(out.contains("#[tokio::test]\nfn not_async"), "{out}");
    }

    #[test]
    fn paths_in_unknown_macros_and_with_generics_are_left_alone() {
        let source = concat!(
            "fn f() { m!(tokio::time::Duration::ZERO); let _ = tokio::time::Duration::ZERO; ",
            "println!(\"{:?}\", tokio::time::Duration::ZERO); ",
            "let _ = tokio::io::Result::<()>::Ok(()); }\n",
        );
        let (out, _) = rewrite_all(source);
        assert_eq!(
            out,
            concat!(
                "fn f() { m!(tokio::time::Duration::ZERO); let _ = std::time::Duration::ZERO; ",
                "println!(\"{:?}\", std::time::Duration::ZERO); ",
                "let _ = tokio::io::Result::<()>::Ok(()); }\n",
            )
        );
        let mut crates = ExternCrates::new();
        crates.insert("tokio", "tokio");
        let analysis = analyse(source.to_string(), &crates, &["tokio"], &|_| false, false).unwrap();
        let reasons: Vec<String> = analysis
            .drafts
            .iter()
            .filter_map(|d| match &d.shape {
                Shape::Manual(reason) => Some(reason.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(reasons.len(), 2, "{reasons:?}");
        assert!(reasons[0].contains("inside a macro invocation"));
        assert!(reasons[1].contains("generic arguments"));
    }

    #[test]
    fn cx_is_threaded_only_into_plain_statements_of_a_unit_entry_point() {
        let threaded = "#[tokio::main]\nasync fn main() {\n    tokio::time::sleep(D).await;\n}\n";
        let (out, _) = rewrite_all(threaded);
        assert_eq!(
            out,
            "#[asupersync::main]\nasync fn main(cx: &asupersync::Cx) {\n    if asupersync::time::sleep(cx, D).await.is_err() {\n        return;\n    }\n}\n"
        );
        for (case, body) in [
            (
                "a closure",
                "let f = || async { tokio::time::sleep(D).await; };",
            ),
            (
                "an async block",
                "let f = async { tokio::time::sleep(D).await; };",
            ),
            ("a value", "let v = tokio::time::sleep(D).await;"),
            ("the name cx", "let cx = 1; tokio::time::sleep(D).await;"),
            ("a macro", "m!(tokio::time::sleep(D).await);"),
        ] {
            let source = format!("#[tokio::main]\nasync fn main() {{ {body} }}\n");
            let (out, _) = rewrite_all(&source);
            assert!(out.contains("tokio::time::sleep(D)"), "{case}: {out}");
            assert!(!out.contains("cx: &asupersync::Cx"), "{case}: {out}");
        }
        // A function returning something else than `()` or a `Result` has no way to
        // return the cancel.
        let returns = "#[tokio::main]\nasync fn main() -> u8 { tokio::time::sleep(D).await; 0 }\n";
        let (out, _) = rewrite_all(returns);
        assert!(out.contains("tokio::time::sleep(D)"), "{out}");
        let not_entry = "async fn f() { tokio::time::sleep(D).await; }\n";
        assert_eq!(rewrite_all(not_entry).0, not_entry);
    }

    #[test]
    fn a_sleep_statement_in_a_function_returning_a_result_returns_the_cancel_with_a_question_mark()
    {
        let source = "#[tokio::main]\nasync fn main() -> io::Result<()> {\n    tokio::time::sleep(D).await;\n    Ok(())\n}\n";
        let (out, _) = rewrite_all(source);
        assert_eq!(
            out,
            "#[asupersync::main]\nasync fn main(cx: &asupersync::Cx) -> io::Result<()> {\n    asupersync::time::sleep(cx, D).await?;\n    Ok(())\n}\n"
        );
    }

    #[test]
    fn cx_is_threaded_through_private_async_fns_called_only_from_functions_with_one() {
        let entry = "#[tokio::main]\nasync fn main() {\n    let n = twice(1).await;\n    assert_eq!(twice(n).await, 4);\n}\n";
        let helper = "async fn twice(n: u32) -> u32 {\n    pause().await;\n    n * 2\n}\nasync fn pause() {\n    tokio::time::sleep(D).await;\n}\n";
        let (out, _) = rewrite_all(&format!("{entry}{helper}"));
        assert_eq!(
            out,
            "#[asupersync::main]\nasync fn main(cx: &asupersync::Cx) {\n    let n = twice(cx, 1).await;\n    assert_eq!(twice(cx, n).await, 4);\n}\n\
             async fn twice(cx: &asupersync::Cx, n: u32) -> u32 {\n    pause(cx).await;\n    n * 2\n}\n\
             async fn pause(cx: &asupersync::Cx) {\n    if asupersync::time::sleep(cx, D).await.is_err() {\n        return;\n    }\n}\n"
        );
        // Every other use of the name keeps the chain unthreaded: the sleep stays.
        for (case, extra) in [
            ("a function pointer", "fn pointer() { let _f = pause; }\n"),
            (
                "a spawned future",
                "async fn g() { tokio::spawn(pause()); }\n",
            ),
            ("an unknown macro", "async fn g() { m!(pause().await); }\n"),
            (
                "a closure",
                "async fn g() { let _f = || async { pause().await }; }\n",
            ),
            (
                "a caller without a cx",
                "async fn g() -> u8 { let cx = 1; pause().await; cx }\n",
            ),
            (
                "a second item of the name",
                "mod inner { pub async fn pause() {} }\n",
            ),
        ] {
            let source = format!("{entry}{helper}{extra}");
            let (out, _) = rewrite_all(&source);
            assert!(out.contains("tokio::time::sleep(D)"), "{case}: {out}");
            assert!(!out.contains("pause(cx"), "{case}: {out}");
        }
        for (case, helper) in [
            (
                "public",
                "pub async fn pause() { tokio::time::sleep(D).await; }\n",
            ),
            ("not async", "fn pause() { tokio::time::sleep(D).await; }\n"),
            (
                "an attribute macro",
                "#[instrument]\nasync fn pause() { tokio::time::sleep(D).await; }\n",
            ),
            (
                "non-unit (a statement needs `return;`)",
                "async fn pause() -> u8 { tokio::time::sleep(D).await; 1 }\n",
            ),
        ] {
            let source = format!("#[tokio::main]\nasync fn main() {{ pause().await; }}\n{helper}");
            let (out, _) = rewrite_all(&source);
            assert!(out.contains("tokio::time::sleep(D)"), "{case}: {out}");
        }
        // `-> &str` borrows from the one reference parameter; a `&Cx` would make two.
        let source = "#[tokio::main]\nasync fn main() { first(\"x\").await; }\n\
                      async fn first(s: &str) -> &str { pause().await; s }\n\
                      async fn pause() { tokio::time::sleep(D).await; }\n";
        let (out, _) = rewrite_all(source);
        assert!(out.contains("tokio::time::sleep(D)"), "{out}");
        assert!(!out.contains("first(cx"), "{out}");
        // A name another file of the package mentions is not threaded.
        let mut crates = ExternCrates::new();
        crates.insert("tokio", "tokio");
        let source = format!("{entry}{helper}");
        let analysis =
            analyse(source, &crates, &["tokio"], &|name| name == "twice", false).unwrap();
        assert!(analysis.drafts.iter().all(|d| d.cx_call.is_none()));
    }

    #[test]
    fn cx_is_threaded_through_inherent_methods_called_in_their_own_form() {
        let entry =
            "#[tokio::main]\nasync fn main() { let w = W; w.run().await; W::idle().await; }\n";
        let body = "async fn run(&self) { tokio::time::sleep(D).await; }\n\
                    async fn idle() { tokio::task::yield_now().await; }";
        let (out, _) = rewrite_all(&format!("{entry}impl W {{\n{body}\n}}\n"));
        assert!(
            out.contains("async fn run(&self, cx: &asupersync::Cx)"),
            "{out}"
        );
        assert!(out.contains("w.run(cx).await"), "{out}");
        assert!(out.contains("async fn idle(cx: &asupersync::Cx)"), "{out}");
        assert!(out.contains("W::idle(cx).await"), "{out}");
        for (case, source) in [
            (
                "a trait impl (the trait fixes the signature)",
                format!("{entry}impl T for W {{\n{body}\n}}\n"),
            ),
            (
                "a method called as a path (`W::run(&w)`)",
                "#[tokio::main]\nasync fn main() { W::run(&W).await; }\n\
                 impl W { async fn run(&self) { tokio::time::sleep(D).await; } }\n"
                    .to_string(),
            ),
            (
                "a free function called as a method",
                "#[tokio::main]\nasync fn main() { W.run().await; }\n\
                 async fn run() { tokio::time::sleep(D).await; }\n"
                    .to_string(),
            ),
        ] {
            let (out, _) = rewrite_all(&source);
            assert!(out.contains("tokio::time::sleep(D)"), "{case}: {out}");
            assert!(
                !out.contains("run(cx") && !out.contains("&self, cx"),
                "{case}: {out}"
            );
        }
    }

    /// Rewrites a package of `files` whose API nothing outside calls, as a planner
    /// that rewrites every usage it can would.
    fn rewrite_package_all(files: &[&str]) -> Vec<String> {
        let mut crates = ExternCrates::new();
        crates.insert("tokio", "tokio");
        let prepared = files
            .iter()
            .map(|source| prepare(source.to_string(), &crates, &["tokio"], true).unwrap())
            .collect();
        let analyses = analyse_package(prepared);
        let refs: Vec<&FileAnalysis> = analyses.iter().collect();
        let verdict = |f: usize, i: usize| {
            let draft = &analyses[f].drafts[i];
            draft.through.is_none().then_some(())?;
            draft.shape.native().map(str::to_string)
        };
        rewrite_package(&refs, &verdict, None)
            .iter()
            .zip(files)
            .map(|(rewrite, source)| rewrite.edits.apply(source))
            .collect()
    }

    #[test]
    fn cx_is_threaded_across_files_when_every_mention_is_a_call_with_one() {
        let worker = "pub async fn fill() { tokio::time::sleep(D).await; }\n";
        let out = rewrite_package_all(&[
            "use crate::w::fill;\n#[tokio::main]\nasync fn main() { w::fill().await; fill().await; }\n",
            worker,
        ]);
        assert!(
            out[0].contains("w::fill(cx).await; fill(cx).await;"),
            "{}",
            out[0]
        );
        assert!(
            out[1].contains("pub async fn fill(cx: &asupersync::Cx)"),
            "{}",
            out[1]
        );
        for (case, main) in [
            (
                "a mention that is not a call",
                "#[tokio::main]\nasync fn main() { w::fill().await; let f = w::fill; }\n",
            ),
            (
                "a call through another crate's path",
                "#[tokio::main]\nasync fn main() { w::fill().await; other::w::fill().await; }\n",
            ),
            (
                "a call from a function without a cx",
                "#[tokio::main]\nasync fn main() { w::fill().await; }\nfn f() { w::fill(); }\n",
            ),
        ] {
            let out = rewrite_package_all(&[main, worker]);
            assert!(
                out[1].contains("pub async fn fill() {"),
                "{case}: {}",
                out[1]
            );
            assert!(!out[0].contains("fill(cx"), "{case}: {}", out[0]);
        }
    }

    #[test]
    fn a_lock_import_moves_only_with_every_guard_call_given_a_cx() {
        let lock = "use tokio::sync::Mutex;\nstruct S { m: Mutex<u8> }\n";
        let entry = "#[tokio::main]\nasync fn main() -> io::Result<()> { let s = S { m: Mutex::new(0) }; s.get().await?; Ok(()) }\n";
        let getter =
            "impl S { async fn get(&self) -> io::Result<u8> { Ok(*self.m.lock().await) } }\n";
        let (out, _) = rewrite_all(&format!("{lock}{entry}{getter}"));
        assert!(out.contains("use asupersync::sync::Mutex;"), "{out}");
        assert!(out.contains("Ok(*self.m.lock(cx).await?)"), "{out}");
        assert!(out.contains("s.get(cx).await?"), "{out}");
        // A local is a lock when it is built as one (`Arc::new(Mutex::new(..))`), not
        // when its initialiser merely mentions one (`S { m: Mutex::new(0) }` is an `S`).
        let entry = "#[tokio::main]\nasync fn main() -> io::Result<()> {\n\
                     let a = Arc::new(Mutex::new(1)); *a.lock().await += 1;\n\
                     let s = S { m: Mutex::new(0) }; s.read().await?; Ok(()) }\n";
        let reader = "impl S { async fn read(&self) -> io::Result<u8> { Ok(0) } }\n";
        let (out, _) = rewrite_all(&format!("{lock}{entry}{reader}"));
        assert!(out.contains("*a.lock(cx).await? += 1;"), "{out}");
        assert!(out.contains("s.read().await?;"), "{out}");
        // A guard call where `?` cannot carry the cancellation (the function returns
        // `()`) keeps the import, and every call, as they were.
        let unit = "impl S { async fn bump(&self) { *self.m.lock().await += 1; } }\n";
        let entry = "#[tokio::main]\nasync fn main() -> io::Result<()> { let s = S { m: Mutex::new(0) }; s.get().await?; s.bump().await; Ok(()) }\n";
        let (out, _) = rewrite_all(&format!("{lock}{entry}{getter}{unit}"));
        assert!(out.contains("use tokio::sync::Mutex;"), "{out}");
        assert!(!out.contains("lock(cx)"), "{out}");
    }

    #[test]
    fn a_pub_fn_is_threaded_only_when_nothing_outside_the_package_calls_it() {
        let source = "#[tokio::main]\nasync fn main() { pause().await; }\n\
                      pub async fn pause() { tokio::time::sleep(D).await; }\n";
        let (out, _) = rewrite_all_with(source, false);
        assert!(out.contains("pub async fn pause() {"), "{out}");
        let (out, _) = rewrite_all_with(source, true);
        assert!(
            out.contains("pub async fn pause(cx: &asupersync::Cx)"),
            "{out}"
        );
        assert!(out.contains("pause(cx).await"), "{out}");
    }

    #[test]
    fn spawns_are_rewritten_only_when_their_handle_is_awaited_and_mapped_back() {
        let rewritten = |body: &str| {
            let source = format!("#[tokio::main]\nasync fn main() {{\n{body}\n}}\n");
            rewrite_all(&source).0
        };
        assert_eq!(
            rewritten("let h = tokio::spawn(async move { 1 });\nlet _ = h.await;"),
            "#[asupersync::main]\nasync fn main(cx: &asupersync::Cx) {\nlet h = cx.spawn(move |_| async move { 1 });\nlet _ = h.join(cx).await.into_result();\n}\n"
        );
        for (case, body) in [
            // Tokio detaches it; natively the region would wait for it.
            ("a detached spawn", "tokio::spawn(async move { 1 });"),
            (
                "a handle dropped",
                "let h = tokio::spawn(async move { 1 }); drop(h);",
            ),
            (
                "a handle awaited into another error type",
                "let h = tokio::spawn(async move { 1 }); let _ = h.await.map_err(E::from);",
            ),
            (
                "a handle stored",
                "let h = tokio::spawn(async move { 1 }); let v = vec![h];",
            ),
            (
                "a spawn through an import of it",
                "use tokio::spawn; let h = spawn(async move { 1 }); h.await.unwrap();",
            ),
            (
                "a spawn in a closure",
                "let f = || async { tokio::spawn(async move { 1 }).await.unwrap() };",
            ),
        ] {
            let out = rewritten(body);
            assert!(!out.contains("cx.spawn"), "{case}: {out}");
            assert!(!out.contains(".join("), "{case}: {out}");
        }
        // A `select!` in a spawned body stays (the native macro reads a `&Cx`), and
        // a body with a value keeps its sleeps (their rewrite returns `()`).
        for body in [
            "let h = tokio::spawn(async move { tokio::select! { _ = tokio::time::sleep(D) => {} } });\nh.await.unwrap();",
            "let h = tokio::spawn(async move { tokio::time::sleep(D).await; 1 });\nh.await.unwrap();",
        ] {
            let out = rewritten(body);
            assert!(out.contains("tokio::time::sleep(D)"), "{out}");
        }
    }

    #[test]
    fn a_function_using_what_stays_on_tokio_is_wrapped_only_where_it_can_be_threaded() {
        let helper = "async fn child() -> std::io::Result<u8> {\n    tokio::process::Command::new(\"true\").status().await?;\n    Ok(1)\n}\n";
        let entry = "#[tokio::main]\nasync fn main() {\n    let _ = child().await;\n}\n";
        let (out, refused) = rewrite_all(&format!("{helper}{entry}"));
        assert!(refused.is_empty(), "{refused:?}");
        assert!(out.starts_with("async fn child(cx: &asupersync::Cx) -> std::io::Result<u8> {\n    // asupersync: allow(tokio-outside-quarantine) -- runs on Tokio in the compat quarantine: `tokio::process::Command::new` is not rewritten by this version\n    async fn child() -> std::io::Result<u8> {\n    tokio::process::Command::new(\"true\")"), "{out}");
        assert!(
            out.contains("asupersync_tokio_compat::run(cx, child()).await"),
            "{out}"
        );
        assert!(out.contains("let _ = child(cx).await;"), "{out}");
        for (case, source) in [
            ("public", format!("pub {helper}{entry}")),
            (
                "borrowed parameter",
                format!(
                    "{}{}",
                    helper.replace("child()", "child(s: &str)"),
                    entry.replace("child()", "child(\"x\")")
                ),
            ),
            (
                "called from a closure",
                format!("{helper}#[tokio::main]\nasync fn main() {{ let f = || child(); }}\n"),
            ),
        ] {
            let (out, _) = rewrite_all(&source);
            assert!(!out.contains("asupersync_tokio_compat"), "{case}: {out}");
        }
    }

    #[test]
    fn calls_with_the_same_result_get_the_cx_wherever_they_are_awaited() {
        let (out, _) = rewrite_all(
            "#[tokio::main]\nasync fn main() -> std::io::Result<()> {\n    let s = tokio::fs::read_to_string(P).await?;\n    let _ = tokio::time::timeout(D, f(&s)).await;\n    Ok(())\n}\n",
        );
        assert!(
            out.contains("asupersync::fs::read_to_string(cx, P).await?"),
            "{out}"
        );
        assert!(
            out.contains("asupersync::time::timeout(cx, D, f(&s)).await"),
            "{out}"
        );
        for body in [
            // Not awaited where it is written: the future may outlive the borrow.
            "let t = tokio::time::timeout(D, f()); t.await;",
            "let g = || async { tokio::fs::read(P).await };",
        ] {
            let (out, _) = rewrite_all(&format!("#[tokio::main]\nasync fn main() {{ {body} }}\n"));
            assert!(!out.contains("(cx"), "{out}");
        }
    }

    #[test]
    fn join_is_a_path_change_where_the_native_macro_parses_its_body() {
        let (out, _) = rewrite_all("async fn f() { let (a, b) = tokio::join!(x(), y()); }\n");
        assert_eq!(
            out,
            "async fn f() { let (a, b) = asupersync::join!(x(), y()); }\n"
        );
        for source in [
            "async fn f() { tokio::join!(biased; x(), y()); }\n",
            "async fn f() { m!(tokio::join!(x(), y())); }\n",
        ] {
            assert_eq!(rewrite_all(source).0, source);
        }
    }

    #[test]
    fn select_is_rewritten_only_in_an_entry_point_with_tokio_sleeps_in_every_branch() {
        let ok = "#[tokio::main]\nasync fn main() {\n    tokio::select! {\n        _ = tokio::time::sleep(A) => 1,\n        _ = tokio::time::sleep_until(B) => 2,\n    };\n}\n";
        assert_eq!(
            rewrite_all(ok).0,
            "#[asupersync::main]\nasync fn main(cx: &asupersync::Cx) {\n    asupersync::select! {\n        _ = asupersync::time::sleep(cx, A) => 1,\n        _ = asupersync::time::sleep_until(cx, B) => 2,\n    };\n}\n"
        );
        for (case, body) in [
            // A loser that is not a native cx function may ignore the cancel and hold
            // the select for the whole drain budget.
            (
                "a branch that is not a cx function",
                "_ = tokio::time::sleep(A) => 1, _ = rx.recv() => 2,",
            ),
            (
                "a binding pattern (the native sleep yields a Result)",
                "v = tokio::time::sleep(A) => v,",
            ),
            ("a local function named sleep", "_ = sleep(A) => 1,"),
            (
                "a body the native macro reads differently",
                "_ = tokio::time::sleep(A) => {} () = tokio::time::sleep(B) => {}",
            ),
        ] {
            let source =
                format!("#[tokio::main]\nasync fn main() {{ tokio::select! {{ {body} }} }}\n");
            let (out, _) = rewrite_all(&source);
            assert!(out.contains("tokio::select!"), "{case}: {out}");
            assert!(!out.contains("cx"), "{case}: {out}");
        }
        for source in [
            "async fn f() { tokio::select! { _ = tokio::time::sleep(A) => 1, } }\n",
            "#[tokio::main]\nasync fn main() { futures::select! { _ = tokio::time::sleep(A) => 1, } }\n",
        ] {
            let (out, _) = rewrite_all(source);
            assert!(!out.contains("cx"), "{out}");
            assert!(!out.contains("asupersync::select"), "{out}");
        }
    }
}
