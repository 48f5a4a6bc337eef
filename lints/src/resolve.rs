//! Name resolution the way rustc does it, for the cases a migration tool meets.
//!
//! Both the lint rules and `cargo asupersync audit` must answer "which real item does
//! this path name?" without a compiler: `mpsc::channel(8)` after
//! `use tokio::sync::mpsc;` is `tokio::sync::mpsc::channel`, `rt::spawn` is
//! `tokio::spawn` when `Cargo.toml` says `rt = { package = "tokio" }`, and
//! `tokio::time::sleep` written inside `select! { .. }` is a use even though `syn`
//! only sees an opaque token stream there. Text search gets all of these wrong, and
//! it also reports comments and string literals, which this module never does.
//!
//! The model:
//! - Every module and every block that declares items or imports is a *scope*; a
//!   scope sees the scopes around it (an inner `mod` or a function body sees the
//!   imports of the file), and its own names win.
//! - A path's first segment is looked up in the scopes (imports, `extern crate`,
//!   local items), then in the extern prelude ([`ExternCrates`], `std`, `core`,
//!   `alloc`), then in glob imports (best effort, see below). A multi-segment path
//!   whose first segment is unknown is taken to name a crate of that name, which
//!   keeps dependency-free fixtures and half-declared workspaces useful.
//! - Glob imports cannot be expanded without the crate's source, so a glob supplies
//!   a name only where the name is neither defined nor imported locally, is not a
//!   prelude name or a local variable, and exactly one external glob is in scope.
//!
//! Known limits: re-exports across files (`pub use` in another module) are not
//! followed, `crate::` paths are not resolved across files, macro-generated items
//! are invisible, and the three namespaces (types, values, macros) share one table.

use std::collections::{HashMap, HashSet};
use std::fmt;

use proc_macro2::{Delimiter, LineColumn, Span, TokenStream, TokenTree};
use syn::visit::{self, Visit};

/// The crate names visible in a package's code, mapped to the real crate names.
///
/// Keys are the names as written in code (`-` replaced by `_`), values the real
/// package's crate name (`-` replaced by `_`): `rt = { package = "tokio" }` maps
/// `rt` to `tokio`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExternCrates {
    names: HashMap<String, String>,
    self_crate: Option<String>,
}

impl ExternCrates {
    /// An empty extern prelude (`std`, `core` and `alloc` are always known).
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `local` in code names the crate `real`.
    pub fn insert(&mut self, local: &str, real: &str) {
        self.names.insert(crate_ident(local), crate_ident(real));
    }

    /// Names the crate being analysed, which `crate::` paths resolve to.
    pub fn set_self_crate(&mut self, name: &str) {
        self.self_crate = Some(crate_ident(name));
    }

    /// The crate `crate::` refers to, when known.
    pub fn self_crate(&self) -> Option<&str> {
        self.self_crate.as_deref()
    }

    /// The real crate behind a name written in code, if it is a declared dependency
    /// or one of the standard crates.
    pub fn real_name(&self, local: &str) -> Option<&str> {
        if let Some(real) = self.names.get(local) {
            return Some(real);
        }
        STANDARD_CRATES.iter().find(|c| **c == local).copied()
    }

    /// Every declared `(local name, real name)` pair, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.names.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The extern prelude of a package: its dependencies (all kinds, with renames)
    /// and its own library, which tests, examples and benches import by name.
    pub fn from_package(package: &cargo_metadata::Package) -> Self {
        let mut crates = Self::new();
        for dep in &package.dependencies {
            let local = dep.rename.as_deref().unwrap_or(&dep.name);
            crates.insert(local, &dep.name);
        }
        let lib = package.targets.iter().find(|t| {
            t.kind.iter().any(|k| {
                matches!(
                    k,
                    cargo_metadata::TargetKind::Lib
                        | cargo_metadata::TargetKind::RLib
                        | cargo_metadata::TargetKind::ProcMacro
                )
            })
        });
        let self_name = lib
            .map(|t| t.name.as_str())
            .unwrap_or(package.name.as_str());
        crates.insert(self_name, self_name);
        crates.set_self_crate(self_name);
        crates
    }
}

const STANDARD_CRATES: [&str; 4] = ["std", "core", "alloc", "proc_macro"];

fn crate_ident(name: &str) -> String {
    name.replace('-', "_")
}

/// How a path is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UseKind {
    /// A `use` declaration or `extern crate`.
    Import,
    /// A path in an expression, type, pattern, trait bound or macro body.
    Path,
    /// A macro invocation's path (`tokio::select!`).
    Macro,
    /// An attribute's path (`#[tokio::main]`).
    Attribute,
}

impl UseKind {
    /// The lower-case name used in reports (`import`, `path`, `macro`, `attribute`).
    pub fn as_str(self) -> &'static str {
        match self {
            UseKind::Import => "import",
            UseKind::Path => "path",
            UseKind::Macro => "macro",
            UseKind::Attribute => "attribute",
        }
    }
}

impl fmt::Display for UseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A region of a source file. Lines and columns are 1-based, columns count
/// characters; `end_column` is the column just past the last character (as in
/// rustc's JSON); the byte range indexes the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Location {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub byte_start: usize,
    pub byte_end: usize,
}

/// One use of an external path, after resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUse {
    /// The canonical path, e.g. `tokio::sync::mpsc::channel`; a glob import ends
    /// in `::*`.
    pub path: String,
    pub kind: UseKind,
    pub location: Location,
    /// Written through the compat quarantine's re-export of Tokio
    /// (`asupersync_tokio_compat::tokio::..`, what `migrate` leaves in a quarantined
    /// package): `path` is then the Tokio path it names.
    pub via_quarantine: bool,
}

/// The compat crate's re-export of Tokio, as a canonical path prefix.
pub const QUARANTINED_TOKIO: &str = "asupersync_tokio_compat::tokio";

/// Every use of a path rooted in one of `roots` (real crate names such as `tokio`),
/// in source order. See the module documentation for what is resolved. A path through
/// the quarantine's Tokio ([`QUARANTINED_TOKIO`]) counts as Tokio's, marked
/// [`ResolvedUse::via_quarantine`].
pub fn collect_uses(
    source: &str,
    file: &syn::File,
    crates: &ExternCrates,
    roots: &[&str],
) -> Vec<ResolvedUse> {
    let resolution = FileResolution::new(source, file, crates);
    resolution
        .uses
        .into_iter()
        .filter_map(|mut u| {
            if let Some(tail) = u.path.strip_prefix(QUARANTINED_TOKIO) {
                if tail.is_empty() || tail.starts_with("::") {
                    u.path = format!("tokio{tail}");
                    u.via_quarantine = true;
                }
            }
            let root = u.path.split("::").next().unwrap_or("");
            roots.contains(&root).then_some(u)
        })
        .collect()
}

/// Maps 1-based line/column pairs to byte offsets of one source text.
#[derive(Debug, Clone)]
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(source: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(source.match_indices('\n').map(|(i, _)| i + 1));
        Self { line_starts }
    }

    /// The byte offset of `line` (1-based) and `column` (0-based, in characters).
    pub fn byte_offset(&self, source: &str, line: usize, column: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return source.len();
        };
        let rest = source.get(start..).unwrap_or("");
        start
            + rest
                .char_indices()
                .nth(column)
                .map(|(i, _)| i)
                .unwrap_or(rest.len())
    }

    /// The location covering `start`..`end` (proc-macro2 line/columns).
    pub fn location(&self, source: &str, start: LineColumn, end: LineColumn) -> Location {
        Location {
            line: start.line,
            column: start.column + 1,
            end_line: end.line,
            end_column: end.column + 1,
            byte_start: self.byte_offset(source, start.line, start.column),
            byte_end: self.byte_offset(source, end.line, end.column),
        }
    }

    /// The location of a span.
    pub fn span_location(&self, source: &str, span: Span) -> Location {
        self.location(source, span.start(), span.end())
    }

    /// The location from the start of `start` to the end of `end`.
    pub fn span_location_between(&self, source: &str, start: Span, end: Span) -> Location {
        self.location(source, start.start(), end.end())
    }
}

/// Every resolvable path of one file: the shared input of `collect_uses` and of the
/// lint rules, which look paths up by their starting position.
#[derive(Debug, Clone, Default)]
pub struct FileResolution {
    /// Every path that resolved to an external crate or to a crate-local item, in
    /// source order.
    pub uses: Vec<ResolvedUse>,
    by_start: HashMap<(usize, usize), usize>,
}

impl FileResolution {
    /// Resolves every path of `file` (parsed from `source`).
    pub fn new(source: &str, file: &syn::File, crates: &ExternCrates) -> Self {
        let mut visitor = ResolveVisitor {
            source,
            lines: LineIndex::new(source),
            crates,
            scopes: Vec::new(),
            position: Position::Other,
            token_kind: UseKind::Path,
            out: Vec::new(),
        };
        visitor.visit_file(file);
        let mut uses = visitor.out;
        uses.sort_by_key(|u| (u.location.byte_start, u.location.byte_end));
        let by_start = uses
            .iter()
            .enumerate()
            .filter(|(_, u)| u.kind != UseKind::Import)
            .map(|(i, u)| ((u.location.line, u.location.column), i))
            .collect();
        Self { uses, by_start }
    }

    /// The canonical path of a `syn::Path` of this file (an expression, type,
    /// pattern, macro or attribute path), if it resolved.
    pub fn path(&self, path: &syn::Path) -> Option<&str> {
        let start = path_start(path)?.start();
        self.by_start
            .get(&(start.line, start.column + 1))
            .map(|&i| self.uses[i].path.as_str())
    }
}

fn path_start(path: &syn::Path) -> Option<Span> {
    if let Some(colon) = &path.leading_colon {
        return Some(colon.spans[0]);
    }
    path.segments.first().map(|s| s.ident.span())
}

/// Where a path occurs, which decides how far resolution may guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Position {
    /// A value that could be a local variable (`x`, `sleep` as a value).
    Value,
    /// The callee of a call (`sleep(d)`): a glob may supply it.
    Callee,
    /// A type, trait bound, pattern or struct literal path: a glob may supply it.
    TypeLike,
    /// A macro path.
    Macro,
    /// An attribute path.
    Attribute,
    /// Anything else (visibility paths are skipped entirely).
    Other,
}

/// What a name in a scope stands for, after resolution.
#[derive(Debug, Clone)]
enum Target {
    /// A canonical path (external, or `<self crate>::name` for local items).
    Path(Vec<String>),
    /// A name we know exists but cannot name (an import of something unresolvable).
    Opaque,
}

#[derive(Debug, Default)]
struct Scope {
    is_module: bool,
    names: HashMap<String, Target>,
    /// Canonical prefixes of the external glob imports of this scope.
    globs: Vec<Vec<String>>,
    /// How many glob imports of crate-local modules (`use super::*;`) this scope
    /// has: their names are unknown, so they make every glob guess ambiguous.
    local_globs: usize,
    /// Variables and generic parameters: they shadow imports in value position.
    locals: HashSet<String>,
}

/// A scope's declarations before resolution.
#[derive(Debug, Default)]
struct RawScope {
    is_module: bool,
    imports: Vec<RawImport>,
    globs: Vec<(Vec<String>, bool)>,
    items: Vec<String>,
    locals: HashSet<String>,
}

#[derive(Debug, Clone)]
struct RawImport {
    name: String,
    path: Vec<String>,
    absolute: bool,
}

/// Resolution of a scope's own imports may refer to each other; chains are short in
/// real code, and this bound stops cycles (`use a::b as a;`).
const MAX_IMPORT_DEPTH: usize = 8;

struct ResolveVisitor<'a> {
    source: &'a str,
    lines: LineIndex,
    crates: &'a ExternCrates,
    scopes: Vec<Scope>,
    position: Position,
    /// The kind of paths found in token streams (attributes under `cfg_attr`).
    token_kind: UseKind,
    out: Vec<ResolvedUse>,
}

impl ResolveVisitor<'_> {
    fn self_crate(&self) -> String {
        self.crates.self_crate().unwrap_or("crate").to_string()
    }

    /// Pushes a scope for a module or block with these items.
    fn push_items_scope(&mut self, is_module: bool, items: &[&syn::Item], locals: HashSet<String>) {
        let mut raw = RawScope {
            is_module,
            locals,
            ..RawScope::default()
        };
        for item in items {
            declare_item(&mut raw, item);
        }
        self.push_scope(raw);
    }

    fn push_scope(&mut self, raw: RawScope) {
        let mut scope = Scope {
            is_module: raw.is_module,
            locals: raw.locals.clone(),
            ..Scope::default()
        };
        let self_crate = self.self_crate();
        for item in &raw.items {
            scope.names.insert(
                item.clone(),
                Target::Path(vec![self_crate.clone(), item.clone()]),
            );
        }
        for import in &raw.imports {
            let target = self
                .resolve_import(&raw, import, 0)
                .map(Target::Path)
                .unwrap_or(Target::Opaque);
            scope.names.insert(import.name.clone(), target);
        }
        for (prefix, absolute) in &raw.globs {
            match self.resolve_raw(&raw, prefix, *absolute, None, 0) {
                Some(resolved) if resolved[0] != self_crate => scope.globs.push(resolved),
                // A glob of this crate's modules (`use super::*;`), or one we cannot
                // resolve: its names are unknown.
                _ => scope.local_globs += 1,
            }
        }
        self.scopes.push(scope);
    }

    fn resolve_import(
        &self,
        raw: &RawScope,
        import: &RawImport,
        depth: usize,
    ) -> Option<Vec<String>> {
        self.resolve_raw(
            raw,
            &import.path,
            import.absolute,
            Some(&import.name),
            depth,
        )
    }

    /// Resolves an import path of the scope being built (`raw`), whose own names may
    /// be used by its other imports; `skip` is the name being defined.
    fn resolve_raw(
        &self,
        raw: &RawScope,
        path: &[String],
        absolute: bool,
        skip: Option<&str>,
        depth: usize,
    ) -> Option<Vec<String>> {
        if depth > MAX_IMPORT_DEPTH || path.is_empty() {
            return None;
        }
        let first = path[0].as_str();
        if !absolute && !matches!(first, "crate" | "self" | "super" | "Self") && skip != Some(first)
        {
            if raw.items.iter().any(|i| i == first) {
                return Some(join_rest(
                    vec![self.self_crate(), first.to_string()],
                    &path[1..],
                ));
            }
            if let Some(import) = raw.imports.iter().find(|i| i.name == first) {
                let resolved = self.resolve_import(raw, import, depth + 1)?;
                return Some(join_rest(resolved, &path[1..]));
            }
        }
        if !absolute && raw.is_module {
            match first {
                // `use self::x` names this module's own declarations.
                // (`use self::x;` may name an item `x` of the module.)
                "self" if path.len() > 1 => {
                    return self.resolve_raw(raw, &path[1..], false, None, depth + 1);
                }
                // The module being declared is not on the stack yet, so its `super`
                // is the innermost module that is.
                "super" => {
                    let mut relative = vec!["self".to_string()];
                    relative.extend(path[1..].iter().cloned());
                    return self.resolve_relative(self.scopes.len(), &relative);
                }
                _ => {}
            }
        }
        self.resolve_in_stack(self.scopes.len(), path, absolute, ResolveMode::IMPORT)
    }

    /// Resolves a path against the scopes below `top` (exclusive) and the extern
    /// prelude.
    fn resolve_in_stack(
        &self,
        top: usize,
        path: &[String],
        absolute: bool,
        mode: ResolveMode,
    ) -> Option<Vec<String>> {
        let first = path.first()?.as_str();
        if absolute {
            let real = self.crates.real_name(first).unwrap_or(first);
            return Some(join_rest(vec![real.to_string()], &path[1..]));
        }
        match first {
            "crate" => return Some(join_rest(vec![self.self_crate()], &path[1..])),
            "Self" => return None,
            "self" | "super" => return self.resolve_relative(top, path),
            _ => {}
        }
        for scope in self.scopes[..top].iter().rev() {
            if mode.value && path.len() == 1 && scope.locals.contains(first) {
                return None;
            }
            if let Some(target) = scope.names.get(first) {
                return match target {
                    Target::Path(p) => Some(join_rest(p.clone(), &path[1..])),
                    Target::Opaque => None,
                };
            }
            if !mode.value && path.len() == 1 && scope.locals.contains(first) {
                // A generic parameter named like an import.
                return None;
            }
        }
        if let Some(real) = self.crates.real_name(first) {
            if path.len() > 1 || mode.import {
                return Some(join_rest(vec![real.to_string()], &path[1..]));
            }
        }
        if mode.glob && !is_prelude_name(first) && !WELL_KNOWN_CRATES.contains(&first) {
            if let Some(prefix) = self.single_glob(top) {
                return Some(join_rest(prefix.clone(), path));
            }
        }
        if path.len() > 1 || mode.import {
            // An undeclared crate (or a module we cannot see): take the name as is.
            return Some(path.to_vec());
        }
        None
    }

    /// `self::..` and `super::..`: looked up in the enclosing module scopes.
    fn resolve_relative(&self, top: usize, path: &[String]) -> Option<Vec<String>> {
        let mut module = self.innermost_module(top);
        let mut rest = path;
        if rest.first().map(String::as_str) == Some("self") {
            rest = &rest[1..];
        }
        while rest.first().map(String::as_str) == Some("super") {
            module = module.and_then(|m| self.innermost_module(m));
            rest = &rest[1..];
        }
        let name = rest.first()?;
        match module.and_then(|m| self.scopes[m].names.get(name.as_str())) {
            Some(Target::Path(p)) => Some(join_rest(p.clone(), &rest[1..])),
            Some(Target::Opaque) => None,
            // A module of another file: the path is crate-local.
            None => Some(join_rest(vec![self.self_crate()], rest)),
        }
    }

    /// The index of the innermost module scope below `top`.
    fn innermost_module(&self, top: usize) -> Option<usize> {
        (0..top).rev().find(|&i| self.scopes[i].is_module)
    }

    /// The prefix of the single external glob import visible from `top`, if exactly
    /// one is in the innermost scope that has any glob, and no local glob
    /// (`use super::*;`) could supply the name instead.
    fn single_glob(&self, top: usize) -> Option<&Vec<String>> {
        let scope = self.scopes[..top]
            .iter()
            .rev()
            .find(|s| !s.globs.is_empty() || s.local_globs > 0)?;
        match scope.globs.as_slice() {
            [only] if scope.local_globs == 0 => Some(only),
            _ => None,
        }
    }

    fn resolve_path(&self, path: &syn::Path, mode: ResolveMode) -> Option<Vec<String>> {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.resolve_in_stack(
            self.scopes.len(),
            &segments,
            path.leading_colon.is_some(),
            mode,
        )
    }

    fn record(&mut self, path: Vec<String>, kind: UseKind, start: Span, end: Span) {
        let location = self.lines.span_location_between(self.source, start, end);
        self.out.push(ResolvedUse {
            path: path.join("::"),
            kind,
            location,
            via_quarantine: false,
        });
    }

    fn record_syn_path(&mut self, path: &syn::Path, kind: UseKind, mode: ResolveMode) {
        let (Some(start), Some(last)) = (path_start(path), path.segments.last()) else {
            return;
        };
        if let Some(resolved) = self.resolve_path(path, mode) {
            self.record(resolved, kind, start, last.ident.span());
        }
    }

    /// Records every leaf of a `use` tree.
    fn record_use_tree(
        &mut self,
        tree: &syn::UseTree,
        prefix: &mut Vec<String>,
        absolute: bool,
        start: Option<Span>,
    ) {
        match tree {
            syn::UseTree::Path(p) => {
                let start = start.or(Some(p.ident.span()));
                prefix.push(p.ident.to_string());
                self.record_use_tree(&p.tree, prefix, absolute, start);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                self.record_use_leaf(prefix, &n.ident, absolute, start, n.ident.span())
            }
            syn::UseTree::Rename(r) => {
                self.record_use_leaf(prefix, &r.ident, absolute, start, r.rename.span())
            }
            syn::UseTree::Glob(g) => {
                let star = g.star_token.spans[0];
                if let Some(mut resolved) =
                    self.resolve_in_stack(self.scopes.len(), prefix, absolute, ResolveMode::IMPORT)
                {
                    resolved.push("*".to_string());
                    self.record(resolved, UseKind::Import, start.unwrap_or(star), star);
                }
            }
            syn::UseTree::Group(g) => {
                for tree in &g.items {
                    self.record_use_tree(tree, prefix, absolute, None);
                }
            }
        }
    }

    fn record_use_leaf(
        &mut self,
        prefix: &[String],
        ident: &syn::Ident,
        absolute: bool,
        start: Option<Span>,
        end: Span,
    ) {
        let mut path = prefix.to_vec();
        if ident != "self" {
            path.push(ident.to_string());
        }
        if let Some(resolved) =
            self.resolve_in_stack(self.scopes.len(), &path, absolute, ResolveMode::IMPORT)
        {
            self.record(
                resolved,
                UseKind::Import,
                start.unwrap_or(ident.span()),
                end,
            );
        }
    }

    /// Scans a macro's tokens for `a::b::c` sequences (and explicitly imported
    /// single names called as functions or macros).
    fn scan_tokens(&mut self, tokens: TokenStream) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                TokenTree::Group(g) => {
                    self.scan_tokens(g.stream());
                    i += 1;
                }
                TokenTree::Ident(_) | TokenTree::Punct(_) => {
                    i = self.scan_path_at(&trees, i);
                }
                TokenTree::Literal(_) => i += 1,
            }
        }
    }

    /// Tries to read a path starting at `trees[i]`; returns the index after it.
    fn scan_path_at(&mut self, trees: &[TokenTree], i: usize) -> usize {
        let is_colon2 = |j: usize| {
            matches!((trees.get(j), trees.get(j + 1)),
                (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
                    if a.as_char() == ':' && b.as_char() == ':' && a.spacing() == proc_macro2::Spacing::Joint)
        };
        let prev_blocks = |j: usize| match j.checked_sub(1).and_then(|p| trees.get(p)) {
            Some(TokenTree::Punct(p)) => matches!(p.as_char(), '.' | '$' | ':'),
            Some(TokenTree::Ident(id)) => {
                id == "fn" || id == "macro_rules" || id == "struct" || id == "enum"
            }
            _ => false,
        };
        let mut j = i;
        let absolute = is_colon2(j);
        if absolute {
            j += 2;
        }
        let Some(TokenTree::Ident(first)) = trees.get(j) else {
            return i + 1;
        };
        let blocked = prev_blocks(i);
        let start = if absolute {
            trees[i].span()
        } else {
            first.span()
        };
        let mut segments = vec![first.to_string()];
        let mut end = first.span();
        j += 1;
        while is_colon2(j) {
            match trees.get(j + 2) {
                Some(TokenTree::Ident(next)) => {
                    segments.push(next.to_string());
                    end = next.span();
                    j += 3;
                }
                _ => break,
            }
        }
        if blocked {
            // `$crate::a::b`, `x.a::<T>()`, `fn a`: the whole sequence is skipped.
            return j.max(i + 1);
        }
        let bang = matches!(trees.get(j), Some(TokenTree::Punct(p)) if p.as_char() == '!');
        let call = matches!(trees.get(j), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis);
        let kind = if bang {
            UseKind::Macro
        } else {
            self.token_kind
        };
        let resolved = if segments.len() > 1 || absolute {
            self.resolve_in_stack(self.scopes.len(), &segments, absolute, ResolveMode::VALUE)
        } else if bang || call {
            // A single name only counts when it is explicitly imported.
            self.resolve_explicit_import(&segments[0])
        } else {
            None
        };
        if let Some(path) = resolved {
            self.record(path, kind, start, end);
        }
        j.max(i + 1)
    }

    fn resolve_explicit_import(&self, name: &str) -> Option<Vec<String>> {
        let self_crate = self.self_crate();
        for scope in self.scopes.iter().rev() {
            if scope.locals.contains(name) {
                return None;
            }
            if let Some(target) = scope.names.get(name) {
                return match target {
                    Target::Path(p) if p.first() != Some(&self_crate) => Some(p.clone()),
                    _ => None,
                };
            }
        }
        None
    }

    fn take_position(&mut self) -> Position {
        std::mem::replace(&mut self.position, Position::Other)
    }

    fn visit_fn_like(
        &mut self,
        sig: &syn::Signature,
        block: Option<&syn::Block>,
        attrs: &[syn::Attribute],
    ) {
        for attr in attrs {
            self.visit_attribute(attr);
        }
        let mut locals = HashSet::new();
        collect_generic_names(&sig.generics, &mut locals);
        // Parameters and `let`s join the scope as they are visited.
        self.push_scope(RawScope {
            locals,
            ..RawScope::default()
        });
        self.visit_signature(sig);
        if let Some(block) = block {
            self.visit_block(block);
        }
        self.scopes.pop();
    }
}

#[derive(Debug, Clone, Copy)]
struct ResolveMode {
    /// Single-segment paths may be local variables.
    value: bool,
    /// A glob import may supply the name.
    glob: bool,
    /// An import: a single segment names a crate (`use tokio;`).
    import: bool,
}

impl ResolveMode {
    const IMPORT: Self = Self {
        value: false,
        glob: false,
        import: true,
    };
    const VALUE: Self = Self {
        value: true,
        glob: false,
        import: false,
    };

    fn for_position(position: Position) -> Self {
        match position {
            Position::Value => Self::VALUE,
            Position::Callee => Self {
                value: true,
                glob: true,
                import: false,
            },
            Position::TypeLike | Position::Macro => Self {
                value: false,
                glob: true,
                import: false,
            },
            Position::Attribute | Position::Other => Self {
                value: false,
                glob: false,
                import: false,
            },
        }
    }
}

fn join_rest(mut base: Vec<String>, rest: &[String]) -> Vec<String> {
    base.extend(rest.iter().cloned());
    base
}

/// Crates that a glob import never supplies as a name even when they are not
/// declared dependencies (`use tokio::time::*; tokio::spawn(..)` names the crate,
/// not `tokio::time::tokio`).
const WELL_KNOWN_CRATES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "asupersync",
    "tokio",
    "tokio_util",
    "tokio_stream",
    "hyper",
    "axum",
    "tonic",
    "reqwest",
    "async_std",
    "smol",
    "futures",
];

/// The primitive types' names.
pub const PRIMITIVE_TYPES: [&str; 17] = [
    "bool", "char", "str", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64",
    "i128", "isize", "f32", "f64",
];

/// Names every Rust program sees without an import: a glob never supplies them.
fn is_prelude_name(name: &str) -> bool {
    const PRELUDE: &[&str] = &[
        "Option",
        "Some",
        "None",
        "Result",
        "Ok",
        "Err",
        "Vec",
        "String",
        "Box",
        "ToString",
        "ToOwned",
        "Clone",
        "Copy",
        "Send",
        "Sync",
        "Sized",
        "Unpin",
        "Drop",
        "Fn",
        "FnMut",
        "FnOnce",
        "AsyncFn",
        "AsyncFnMut",
        "AsyncFnOnce",
        "Iterator",
        "IntoIterator",
        "Extend",
        "Default",
        "Eq",
        "PartialEq",
        "Ord",
        "PartialOrd",
        "AsRef",
        "AsMut",
        "Into",
        "From",
        "TryFrom",
        "TryInto",
        "FromIterator",
        "DoubleEndedIterator",
        "ExactSizeIterator",
        "drop",
        "Debug",
        "Hash",
        "Self",
        "self",
        "println",
        "print",
        "eprintln",
        "eprint",
        "format",
        "vec",
        "assert",
        "assert_eq",
        "assert_ne",
        "debug_assert",
        "debug_assert_eq",
        "debug_assert_ne",
        "panic",
        "unreachable",
        "todo",
        "unimplemented",
        "write",
        "writeln",
        "matches",
        "dbg",
        "concat",
        "stringify",
        "include",
        "include_str",
        "include_bytes",
        "env",
        "option_env",
        "cfg",
        "line",
        "column",
        "file",
        "module_path",
        "format_args",
        "compile_error",
        "test",
        "derive",
        "inline",
        "allow",
        "warn",
        "deny",
        "forbid",
        "doc",
        "must_use",
        "cfg_attr",
        "path",
        "macro_export",
        "non_exhaustive",
        "repr",
    ];
    PRELUDE.contains(&name) || PRIMITIVE_TYPES.contains(&name)
}

/// Records the names an item declares in a scope.
fn declare_item(raw: &mut RawScope, item: &syn::Item) {
    let ident = match item {
        syn::Item::Use(u) => {
            collect_use_tree(raw, &u.tree, &mut Vec::new(), u.leading_colon.is_some());
            return;
        }
        syn::Item::ExternCrate(e) => {
            let name = e.rename.as_ref().map(|(_, r)| r).unwrap_or(&e.ident);
            raw.imports.push(RawImport {
                name: name.to_string(),
                path: vec![e.ident.to_string()],
                absolute: true,
            });
            return;
        }
        syn::Item::Const(i) => &i.ident,
        syn::Item::Enum(i) => &i.ident,
        syn::Item::Fn(i) => &i.sig.ident,
        syn::Item::Mod(i) => &i.ident,
        syn::Item::Static(i) => &i.ident,
        syn::Item::Struct(i) => &i.ident,
        syn::Item::Trait(i) => &i.ident,
        syn::Item::TraitAlias(i) => &i.ident,
        syn::Item::Type(i) => &i.ident,
        syn::Item::Union(i) => &i.ident,
        syn::Item::Macro(m) => match &m.ident {
            Some(ident) => ident,
            None => return,
        },
        _ => return,
    };
    raw.items.push(ident.to_string());
}

fn collect_use_tree(
    raw: &mut RawScope,
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    absolute: bool,
) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            collect_use_tree(raw, &p.tree, prefix, absolute);
            prefix.pop();
        }
        syn::UseTree::Name(n) => push_import(raw, prefix, &n.ident, None, absolute),
        syn::UseTree::Rename(r) => push_import(raw, prefix, &r.ident, Some(&r.rename), absolute),
        syn::UseTree::Glob(_) => raw.globs.push((prefix.clone(), absolute)),
        syn::UseTree::Group(g) => {
            for tree in &g.items {
                collect_use_tree(raw, tree, prefix, absolute);
            }
        }
    }
}

fn push_import(
    raw: &mut RawScope,
    prefix: &[String],
    ident: &syn::Ident,
    rename: Option<&syn::Ident>,
    absolute: bool,
) {
    let mut path = prefix.to_vec();
    let name = if ident == "self" {
        prefix.last().cloned()
    } else {
        path.push(ident.to_string());
        Some(ident.to_string())
    };
    let Some(name) = rename.map(|r| r.to_string()).or(name) else {
        return;
    };
    if name == "_" {
        return;
    }
    raw.imports.push(RawImport {
        name,
        path,
        absolute,
    });
}

fn collect_generic_names(generics: &syn::Generics, names: &mut HashSet<String>) {
    for param in &generics.params {
        match param {
            syn::GenericParam::Type(t) => {
                names.insert(t.ident.to_string());
            }
            syn::GenericParam::Const(c) => {
                names.insert(c.ident.to_string());
            }
            syn::GenericParam::Lifetime(_) => {}
        }
    }
}

fn block_items(block: &syn::Block) -> Vec<&syn::Item> {
    block
        .stmts
        .iter()
        .filter_map(|s| match s {
            syn::Stmt::Item(item) => Some(item),
            _ => None,
        })
        .collect()
}

impl<'ast> Visit<'ast> for ResolveVisitor<'_> {
    fn visit_file(&mut self, file: &'ast syn::File) {
        let items: Vec<&syn::Item> = file.items.iter().collect();
        self.push_items_scope(true, &items, HashSet::new());
        for attr in &file.attrs {
            self.visit_attribute(attr);
        }
        for item in &file.items {
            self.visit_item(item);
        }
        self.scopes.pop();
    }

    fn visit_item_mod(&mut self, module: &'ast syn::ItemMod) {
        for attr in &module.attrs {
            self.visit_attribute(attr);
        }
        if let Some((_, items)) = &module.content {
            let refs: Vec<&syn::Item> = items.iter().collect();
            self.push_items_scope(true, &refs, HashSet::new());
            for item in items {
                self.visit_item(item);
            }
            self.scopes.pop();
        }
    }

    fn visit_block(&mut self, block: &'ast syn::Block) {
        let items = block_items(block);
        if items.is_empty() {
            visit::visit_block(self, block);
        } else {
            self.push_items_scope(false, &items, HashSet::new());
            visit::visit_block(self, block);
            self.scopes.pop();
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
        self.record_use_tree(
            &item.tree,
            &mut Vec::new(),
            item.leading_colon.is_some(),
            item.leading_colon.map(|c| c.spans[0]),
        );
    }

    fn visit_item_extern_crate(&mut self, item: &'ast syn::ItemExternCrate) {
        for attr in &item.attrs {
            self.visit_attribute(attr);
        }
        let name = item.ident.to_string();
        let real = self.crates.real_name(&name).unwrap_or(&name).to_string();
        self.record(
            vec![real],
            UseKind::Import,
            item.ident.span(),
            item.ident.span(),
        );
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.visit_fn_like(&item.sig, Some(&item.block), &item.attrs);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.visit_fn_like(&item.sig, Some(&item.block), &item.attrs);
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        self.visit_fn_like(&item.sig, item.default.as_ref(), &item.attrs);
    }

    fn visit_item_struct(&mut self, item: &'ast syn::ItemStruct) {
        let mut locals = HashSet::new();
        collect_generic_names(&item.generics, &mut locals);
        self.push_scope(RawScope {
            locals,
            ..RawScope::default()
        });
        visit::visit_item_struct(self, item);
        self.scopes.pop();
    }

    fn visit_item_enum(&mut self, item: &'ast syn::ItemEnum) {
        let mut locals = HashSet::new();
        collect_generic_names(&item.generics, &mut locals);
        self.push_scope(RawScope {
            locals,
            ..RawScope::default()
        });
        visit::visit_item_enum(self, item);
        self.scopes.pop();
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        let mut locals = HashSet::new();
        collect_generic_names(&item.generics, &mut locals);
        self.push_scope(RawScope {
            locals,
            ..RawScope::default()
        });
        visit::visit_item_impl(self, item);
        self.scopes.pop();
    }

    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        let mut locals = HashSet::new();
        collect_generic_names(&item.generics, &mut locals);
        self.push_scope(RawScope {
            locals,
            ..RawScope::default()
        });
        visit::visit_item_trait(self, item);
        self.scopes.pop();
    }

    fn visit_expr_closure(&mut self, closure: &'ast syn::ExprClosure) {
        self.push_scope(RawScope::default());
        visit::visit_expr_closure(self, closure);
        self.scopes.pop();
    }

    /// A variable is in scope from its binding to the end of the enclosing scope
    /// (the innermost block with items, closure or function: a slight
    /// over-approximation, which only ever resolves less).
    fn visit_pat_ident(&mut self, pat: &'ast syn::PatIdent) {
        let name = pat.ident.to_string();
        if name.starts_with(|c: char| c.is_lowercase() || c == '_') {
            if let Some(scope) = self.scopes.last_mut() {
                scope.locals.insert(name);
            }
        }
        visit::visit_pat_ident(self, pat);
    }

    /// `let x = init;` binds `x` after `init` is evaluated (`let sleep = sleep(d);`).
    fn visit_local(&mut self, local: &'ast syn::Local) {
        for attr in &local.attrs {
            self.visit_attribute(attr);
        }
        if let Some(init) = &local.init {
            self.visit_expr(&init.expr);
            if let Some((_, diverge)) = &init.diverge {
                self.visit_expr(diverge);
            }
        }
        self.visit_pat(&local.pat);
    }

    fn visit_visibility(&mut self, _: &'ast syn::Visibility) {}

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        for attr in &call.attrs {
            self.visit_attribute(attr);
        }
        if let syn::Expr::Path(p) = &*call.func {
            if p.qself.is_none() {
                self.position = Position::Callee;
            }
        }
        self.visit_expr(&call.func);
        for arg in &call.args {
            self.visit_expr(arg);
        }
    }

    fn visit_expr_path(&mut self, expr: &'ast syn::ExprPath) {
        let position = self.take_position();
        for attr in &expr.attrs {
            self.visit_attribute(attr);
        }
        if let Some(qself) = &expr.qself {
            self.visit_qself(qself);
        }
        self.position = if position == Position::Callee {
            Position::Callee
        } else {
            Position::Value
        };
        self.visit_path(&expr.path);
    }

    fn visit_type_path(&mut self, ty: &'ast syn::TypePath) {
        if let Some(qself) = &ty.qself {
            self.visit_qself(qself);
        }
        self.position = Position::TypeLike;
        self.visit_path(&ty.path);
    }

    fn visit_trait_bound(&mut self, bound: &'ast syn::TraitBound) {
        if let Some(lifetimes) = &bound.lifetimes {
            self.visit_bound_lifetimes(lifetimes);
        }
        self.position = Position::TypeLike;
        self.visit_path(&bound.path);
    }

    fn visit_expr_struct(&mut self, expr: &'ast syn::ExprStruct) {
        for attr in &expr.attrs {
            self.visit_attribute(attr);
        }
        if let Some(qself) = &expr.qself {
            self.visit_qself(qself);
        }
        self.position = Position::TypeLike;
        self.visit_path(&expr.path);
        for field in &expr.fields {
            self.visit_field_value(field);
        }
        if let Some(rest) = &expr.rest {
            self.visit_expr(rest);
        }
    }

    fn visit_pat_tuple_struct(&mut self, pat: &'ast syn::PatTupleStruct) {
        if let Some(qself) = &pat.qself {
            self.visit_qself(qself);
        }
        self.position = Position::TypeLike;
        self.visit_path(&pat.path);
        for elem in &pat.elems {
            self.visit_pat(elem);
        }
    }

    fn visit_pat_struct(&mut self, pat: &'ast syn::PatStruct) {
        if let Some(qself) = &pat.qself {
            self.visit_qself(qself);
        }
        self.position = Position::TypeLike;
        self.visit_path(&pat.path);
        for field in &pat.fields {
            self.visit_field_pat(field);
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        let position = self.take_position();
        let kind = match position {
            Position::Macro => UseKind::Macro,
            Position::Attribute => UseKind::Attribute,
            _ => UseKind::Path,
        };
        self.record_syn_path(path, kind, ResolveMode::for_position(position));
        for segment in &path.segments {
            self.visit_path_arguments(&segment.arguments);
        }
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.position = Position::Macro;
        self.visit_path(&mac.path);
        self.scan_tokens(mac.tokens.clone());
    }

    fn visit_attribute(&mut self, attr: &'ast syn::Attribute) {
        let path = attr.path();
        if path.is_ident("doc") {
            return;
        }
        self.position = Position::Attribute;
        self.visit_path(path);
        if let syn::Meta::List(list) = &attr.meta {
            // `#[cfg_attr(pred, tokio::test)]` holds attributes.
            if path.is_ident("cfg_attr") {
                self.token_kind = UseKind::Attribute;
            }
            self.scan_tokens(list.tokens.clone());
            self.token_kind = UseKind::Path;
        }
    }
}

#[cfg(test)]
mod tests;
