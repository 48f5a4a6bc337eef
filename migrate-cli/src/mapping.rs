//! The Tokio → asupersync mapping data (DESIGN.md §4), loaded once from the files in
//! `migrate-cli/data/` that are embedded in the binary.
//!
//! Why data and not code: `audit`, `migrate`, `explain`, the docs table and the drift test
//! must agree on every entry, so there is exactly one copy of it. `mapping.toml` holds one
//! entry per Tokio API; `crates.toml` is the dependency knowledge base (one entry per
//! Tokio-ecosystem crate). Both are parsed and validated on first use; the unit tests below
//! keep the embedded files valid, so a broken file fails `cargo test`, not a user's run.
//!
//! Lookup is by longest prefix: a path without an entry of its own is answered by the
//! closest mapped ancestor (`tokio::sync::mpsc::Sender::send` by
//! `tokio::sync::mpsc::Sender`). When that ancestor is a module or a type with a native
//! replacement of class `native-replacement`, the remaining tail is appended to the native path
//! (`tokio::fs::read` → `asupersync::fs::read`), because the shape rule of DESIGN.md §2
//! keeps Tokio's names below a mapped module or type.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

const MAPPING_TOML: &str = include_str!("../data/mapping.toml");
const CRATES_TOML: &str = include_str!("../data/crates.toml");

/// A class of DESIGN.md §4, for dependencies and usages alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Already on asupersync.
    Native,
    /// Has a native equivalent.
    NativeReplacement,
    /// Tokio-bound with no native equivalent yet: runs in the compat quarantine.
    CompatHoldout,
    /// Needs design work a tool must not guess.
    Manual,
    /// Another runtime that cannot share a process cleanly.
    HardBlocker,
}

impl Class {
    /// Every class, in the order reports list them.
    pub const ALL: [Class; 5] = [
        Class::Native,
        Class::NativeReplacement,
        Class::CompatHoldout,
        Class::Manual,
        Class::HardBlocker,
    ];

    /// The kebab-case name used in data files, JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Native => "native",
            Class::NativeReplacement => "native-replacement",
            Class::CompatHoldout => "compat-holdout",
            Class::Manual => "manual",
            Class::HardBlocker => "hard-blocker",
        }
    }

    /// Parses the kebab-case name.
    pub fn parse(name: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|class| class.as_str() == name)
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a mapped Tokio path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ApiKind {
    Fn,
    Macro,
    Attribute,
    Type,
    Method,
    Module,
    Trait,
}

impl ApiKind {
    /// The lowercase name used in the data file.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiKind::Fn => "fn",
            ApiKind::Macro => "macro",
            ApiKind::Attribute => "attribute",
            ApiKind::Type => "type",
            ApiKind::Method => "method",
            ApiKind::Module => "module",
            ApiKind::Trait => "trait",
        }
    }
}

/// One entry of `mapping.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiEntry {
    /// Canonical Tokio path (`tokio::time::sleep`).
    pub tokio: String,
    pub kind: ApiKind,
    /// The native replacement path, if there is one.
    #[serde(default)]
    pub native: Option<String>,
    pub class: Class,
    /// Whether `migrate` rewrites it without a person deciding anything.
    pub auto: bool,
    pub note: String,
}

/// One entry of `crates.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrateEntry {
    /// Package name as on crates.io (filled in from the table key).
    #[serde(skip_deserializing)]
    pub name: String,
    pub class: Class,
    /// The replacement crate or path, if there is one.
    #[serde(default)]
    pub native: Option<String>,
    /// Runtime-neutral crates (`futures`) are known but are not Tokio: the audit neither
    /// reports them as dependencies nor counts their usages.
    #[serde(default)]
    pub runtime_neutral: bool,
    pub note: String,
}

impl CrateEntry {
    /// The name the crate has in Rust paths (`tokio-util` → `tokio_util`).
    pub fn lib_name(&self) -> String {
        self.name.replace('-', "_")
    }

    /// Whether the audit reports this crate as a Tokio-ecosystem dependency and scans
    /// source for its usages.
    pub fn is_audited(&self) -> bool {
        self.class != Class::Native && !self.runtime_neutral
    }
}

/// How a usage of a path is classed: the answer of [`Mapping::classify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification<'a> {
    pub class: Class,
    /// The native replacement of this exact path (tail appended, see module docs).
    pub native: Option<String>,
    pub auto: bool,
    /// The mapping entry that answered, if the crate is mapped API by API.
    pub entry: Option<&'a ApiEntry>,
    /// The knowledge-base entry of the crate the path belongs to.
    pub krate: Option<&'a CrateEntry>,
}

/// The loaded, validated mapping and dependency knowledge base.
#[derive(Debug)]
pub struct Mapping {
    apis: Vec<ApiEntry>,
    by_path: HashMap<String, usize>,
    crates: BTreeMap<String, CrateEntry>,
    crates_by_lib: HashMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    api: Vec<ApiEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CratesFile {
    #[serde(rename = "crate")]
    crates: BTreeMap<String, CrateEntry>,
}

/// The embedded mapping, parsed on first use.
///
/// # Panics
/// If the embedded data is invalid; the unit tests of this module rule that out.
pub fn mapping() -> &'static Mapping {
    static MAPPING: OnceLock<Mapping> = OnceLock::new();
    MAPPING.get_or_init(|| {
        Mapping::parse(MAPPING_TOML, CRATES_TOML)
            .unwrap_or_else(|err| panic!("embedded mapping data is invalid: {err}"))
    })
}

impl Mapping {
    /// The mapping as Markdown: the body of `docs/mapping.md`, grouped by Tokio module,
    /// then the dependency knowledge base. A test keeps the committed file current.
    pub fn render_markdown(&self) -> String {
        use std::fmt::Write as _;
        let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
        let mut out = String::new();
        out.push_str(
            "# Tokio → asupersync mapping\n\n\
             Generated from `migrate-cli/data/mapping.toml` and `migrate-cli/data/crates.toml`, the \
             single source of truth that `cargo asupersync audit`, `migrate` and `explain` read. \
             Do not edit by hand: change the data and run \
             `BLESS=1 cargo test -p cargo-asupersync --test docs`.\n\n\
             **auto** means `cargo asupersync migrate` rewrites the usage itself; everything else \
             is reported for a person, with the note below. The native side takes `&cx` first \
             wherever it can wait (`tokio::time::sleep(d)` → `asupersync::time::sleep(&cx, d)`).\n",
        );
        // Grouped by Tokio module (`tokio::time`, `tokio::sync`, ...), data order within.
        let mut sections: BTreeMap<String, Vec<&ApiEntry>> = BTreeMap::new();
        for entry in &self.apis {
            let module = entry
                .tokio
                .rsplit_once("::")
                .map_or(entry.tokio.as_str(), |(module, _)| module);
            let section = module.split("::").take(2).collect::<Vec<_>>().join("::");
            sections.entry(section).or_default().push(entry);
        }
        for (section, entries) in sections {
            let _ = write!(
                out,
                "\n## `{section}`\n\n| Tokio | kind | asupersync | class | auto | note |\n|---|---|---|---|---|---|\n"
            );
            for entry in entries {
                let _ = writeln!(
                    out,
                    "| `{}` | {} | {} | {} | {} | {} |",
                    entry.tokio,
                    entry.kind.as_str(),
                    entry
                        .native
                        .as_deref()
                        .map_or("—".to_string(), |n| format!("`{n}`")),
                    entry.class.as_str(),
                    if entry.auto { "yes" } else { "no" },
                    cell(&entry.note),
                );
            }
        }
        out.push_str(
            "\n## Crates\n\nHow `audit` classes each Tokio-ecosystem dependency.\n\n\
             | crate | class | replacement | note |\n|---|---|---|---|\n",
        );
        for krate in self.crates.values() {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                krate.name,
                if krate.runtime_neutral {
                    "runtime-neutral"
                } else {
                    krate.class.as_str()
                },
                krate
                    .native
                    .as_deref()
                    .map_or("—".to_string(), |n| format!("`{n}`")),
                cell(&krate.note),
            );
        }
        out
    }

    /// Parses and validates the two data files.
    pub fn parse(mapping_toml: &str, crates_toml: &str) -> Result<Mapping, String> {
        let file: MappingFile =
            toml::from_str(mapping_toml).map_err(|err| format!("mapping.toml: {err}"))?;
        let crates: CratesFile =
            toml::from_str(crates_toml).map_err(|err| format!("crates.toml: {err}"))?;
        let mut by_path = HashMap::new();
        for (index, entry) in file.api.iter().enumerate() {
            validate_api(entry)?;
            if by_path.insert(entry.tokio.clone(), index).is_some() {
                return Err(format!("mapping.toml: `{}` is listed twice", entry.tokio));
            }
        }
        let mut crates_map = BTreeMap::new();
        let mut crates_by_lib = HashMap::new();
        for (name, mut entry) in crates.crates {
            if entry.class == Class::Manual {
                return Err(format!(
                    "crates.toml: `{name}`: `manual` is a usage class, not a crate class"
                ));
            }
            entry.name = name.clone();
            crates_by_lib.insert(entry.lib_name(), name.clone());
            crates_map.insert(name, entry);
        }
        Ok(Mapping {
            apis: file.api,
            by_path,
            crates: crates_map,
            crates_by_lib,
        })
    }

    /// Every API entry, in file order.
    pub fn apis(&self) -> &[ApiEntry] {
        &self.apis
    }

    /// Every knowledge-base crate, by package name.
    pub fn crates(&self) -> impl Iterator<Item = &CrateEntry> {
        self.crates.values()
    }

    /// The entry for exactly this Tokio path.
    pub fn api(&self, path: &str) -> Option<&ApiEntry> {
        self.by_path.get(path).map(|&index| &self.apis[index])
    }

    /// The entry for this path or its closest mapped ancestor, with the tail below it.
    /// Below a crate root (`tokio::unknown`) the answer is the crate's fallback entry
    /// `tokio::*`, not the entry of the crate itself.
    pub fn lookup<'p>(&self, path: &'p str) -> Option<(&ApiEntry, &'p str)> {
        let mut prefix = path;
        loop {
            if let Some(entry) = self.api(prefix) {
                let tail = path[prefix.len()..].trim_start_matches("::");
                if !tail.is_empty() && !prefix.contains("::") {
                    if let Some(fallback) = self.api(&format!("{prefix}::*")) {
                        return Some((fallback, tail));
                    }
                }
                return Some((entry, tail));
            }
            prefix = &prefix[..prefix.rfind("::")?];
        }
    }

    /// The knowledge-base entry of a package, by its package name.
    pub fn krate(&self, package_name: &str) -> Option<&CrateEntry> {
        self.crates.get(package_name)
    }

    /// The knowledge-base entry of a crate, by the name it has in Rust paths.
    pub fn krate_by_lib(&self, lib_name: &str) -> Option<&CrateEntry> {
        self.crates_by_lib
            .get(lib_name)
            .and_then(|name| self.crates.get(name))
    }

    /// The lib names whose usages the audit inventories.
    pub fn audited_roots(&self) -> Vec<String> {
        let mut roots: Vec<String> = self
            .crates
            .values()
            .filter(|krate| krate.is_audited())
            .map(CrateEntry::lib_name)
            .collect();
        roots.sort();
        roots
    }

    /// Classes a usage of a canonical path: through the API mapping when its crate is
    /// mapped API by API (`tokio`, `tokio_util`, `tokio_stream`), else through the class of
    /// its crate (a `hyper::` path is `compat-holdout`). `None` for crates the audit does
    /// not inventory.
    pub fn classify(&self, path: &str) -> Option<Classification<'_>> {
        let root = path.split("::").next().unwrap_or(path);
        let krate = self.krate_by_lib(root);
        if let Some((entry, tail)) = self.lookup(path) {
            let native = entry.native.as_ref().map(|native| {
                // Only a one-to-one replacement keeps Tokio's names below it; a manual
                // entry's native path is a hint, not a place to append to.
                let extends = matches!(entry.kind, ApiKind::Module | ApiKind::Type)
                    && entry.class == Class::NativeReplacement;
                if tail.is_empty() || !extends {
                    native.clone()
                } else {
                    format!("{native}::{tail}")
                }
            });
            return Some(Classification {
                class: entry.class,
                native,
                auto: entry.auto,
                entry: Some(entry),
                krate,
            });
        }
        let krate = krate.filter(|krate| krate.is_audited())?;
        Some(Classification {
            class: krate.class,
            native: None,
            auto: false,
            entry: None,
            krate: Some(krate),
        })
    }
}

/// The text `cargo asupersync explain PATH` prints for a Tokio path or an
/// ecosystem crate, or `None` when the data says nothing about it.
pub fn explain(topic: &str) -> Option<String> {
    let m = mapping();
    let krate = m.krate(topic).or_else(|| m.krate_by_lib(topic));
    if let Some(krate) = krate.filter(|_| !topic.contains("::")) {
        let mut text = format!("{} (crate)\n  class:   {}\n", krate.name, krate.class);
        if let Some(native) = &krate.native {
            text.push_str(&format!("  native:  {native}\n"));
        }
        text.push_str(&format!("  note:    {}\n", krate.note));
        return Some(text);
    }
    let found = m.classify(topic)?;
    let mut text = match found.entry {
        Some(entry) if entry.tokio == topic => format!("{topic} ({})\n", entry.kind.as_str()),
        Some(entry) => format!(
            "{topic} (through `{}`, {})\n",
            entry.tokio,
            entry.kind.as_str()
        ),
        None => format!("{topic}\n"),
    };
    let native = found.native.as_deref().unwrap_or("none");
    text.push_str(&format!(
        "  native:  {native}\n  class:   {}\n",
        found.class
    ));
    // What this version of `migrate` does with it (its own rules, not just the
    // mapping's `auto` flag: one source for `explain` and the rewrite).
    use crate::migrate::shape::{shape, Shape};
    const WRAPPED: &str = " (in a private async fn it can thread a cx into, it wraps \
                           the function in asupersync_tokio_compat::run: tier 6)";
    let note = found
        .entry
        .map(|entry| entry.note.as_str())
        .or(found.krate.map(|krate| krate.note.as_str()));
    let migrate = match shape(topic) {
        Shape::Identical(_) => {
            "rewrites it automatically (the same item under another path)".to_string()
        }
        Shape::SameShape(_) | Shape::EntryPoint(_) | Shape::CxCall(_) => {
            "rewrites it automatically once nothing else in its package needs Tokio".to_string()
        }
        Shape::Compat(_) => format!("leaves it behind compat{WRAPPED}"),
        Shape::Manual(reason) => {
            // The reason without the note printed below it.
            let reason = note
                .and_then(|note| reason.strip_suffix(note))
                .map_or(reason.as_str(), |r| r.trim_end_matches(": "));
            let sometimes = crate::migrate::cx::takes_entry_cx(topic)
                || topic == crate::migrate::source::NATIVE_SHAPED_JOIN;
            if sometimes {
                format!("rewrites it only where its rules allow (and `--apply` keeps only what builds), else leaves it to a person: {reason}")
            } else if found.auto {
                format!("leaves it to a person for now{WRAPPED}: {reason}")
            } else {
                format!("leaves it to a person{WRAPPED}")
            }
        }
    };
    text.push_str(&format!("  migrate: {migrate}\n"));
    if let Some(note) = note {
        text.push_str(&format!("  note:    {note}\n"));
    }
    Some(text)
}

fn validate_api(entry: &ApiEntry) -> Result<(), String> {
    let name = &entry.tokio;
    if !matches!(
        entry.class,
        Class::NativeReplacement | Class::CompatHoldout | Class::Manual
    ) {
        return Err(format!(
            "mapping.toml: `{name}`: class `{}` is a crate class, not an API class",
            entry.class
        ));
    }
    if entry.auto && entry.native.is_none() {
        return Err(format!(
            "mapping.toml: `{name}`: `auto = true` needs a `native` path to rewrite to"
        ));
    }
    if entry.auto && entry.class != Class::NativeReplacement {
        return Err(format!(
            "mapping.toml: `{name}`: only native-replacement entries can be automatic"
        ));
    }
    if entry.note.trim().is_empty() {
        return Err(format!("mapping.toml: `{name}`: the note is empty"));
    }
    let valid_path = |path: &str| {
        path.split("::").all(|segment| {
            !segment.is_empty() && segment.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
    };
    // `CRATE::*` is the fallback entry of a crate (see `Mapping::lookup`).
    let fallback_root = name.strip_suffix("::*");
    if let Some(root) = fallback_root {
        if root.contains("::") || entry.auto {
            return Err(format!(
                "mapping.toml: `{name}`: a fallback is `CRATE::*` and cannot be automatic"
            ));
        }
    }
    if !valid_path(fallback_root.unwrap_or(name)) {
        return Err(format!("mapping.toml: `{name}` is not a Rust path"));
    }
    if let Some(native) = &entry.native {
        if !valid_path(native) {
            return Err(format!(
                "mapping.toml: `{name}`: native `{native}` is not a Rust path"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_parses_and_validates() {
        let mapping = Mapping::parse(MAPPING_TOML, CRATES_TOML).unwrap();
        assert!(mapping.apis().len() > 200);
        let audited = mapping.crates().filter(|krate| krate.is_audited()).count();
        assert!(audited >= 60, "only {audited} Tokio-ecosystem crates");
    }

    #[test]
    fn every_api_the_issue_names_has_its_own_entry() {
        let required = [
            "tokio::main",
            "tokio::test",
            "tokio::select",
            "tokio::join",
            "tokio::try_join",
            "tokio::pin",
            "tokio::task_local",
            "tokio::spawn",
            "tokio::time::sleep",
            "tokio::time::timeout",
            "tokio::time::interval",
            "tokio::time::Instant",
            "tokio::sync::Mutex",
            "tokio::sync::RwLock",
            "tokio::sync::Semaphore",
            "tokio::sync::Notify",
            "tokio::sync::Barrier",
            "tokio::sync::OnceCell",
            "tokio::sync::mpsc::channel",
            "tokio::sync::mpsc::unbounded_channel",
            "tokio::sync::oneshot::channel",
            "tokio::sync::broadcast::channel",
            "tokio::sync::watch::channel",
            "tokio::net::TcpListener",
            "tokio::net::TcpStream",
            "tokio::net::UdpSocket",
            "tokio::net::UnixListener",
            "tokio::net::UnixStream",
            "tokio::io::AsyncReadExt",
            "tokio::io::AsyncWriteExt",
            "tokio::io::AsyncBufReadExt",
            "tokio::io::BufReader",
            "tokio::io::copy",
            "tokio::io::split",
            "tokio::io::duplex",
            "tokio::task::spawn",
            "tokio::task::spawn_blocking",
            "tokio::task::yield_now",
            "tokio::task::JoinHandle",
            "tokio::task::JoinSet",
            "tokio::task::LocalSet",
            "tokio::task::spawn_local",
            "tokio::task::block_in_place",
            "tokio::fs::File",
            "tokio::fs::read_to_string",
            "tokio::process::Command",
            "tokio::signal::ctrl_c",
            "tokio::runtime::Runtime",
            "tokio::runtime::Builder",
            "tokio::runtime::Handle",
            "tokio_util::sync::CancellationToken",
            "tokio_util::codec::Framed",
            "tokio_util::io::ReaderStream",
            "tokio_util::io::StreamReader",
            "tokio_util::sync::PollSender",
            "tokio_util::task::TaskTracker",
            "tokio_stream::StreamExt",
            "tokio_stream::wrappers::ReceiverStream",
        ];
        let m = mapping();
        let missing: Vec<&str> = required
            .into_iter()
            .filter(|p| m.api(p).is_none())
            .collect();
        assert!(missing.is_empty(), "not mapped: {missing:?}");
        let crates = [
            "hyper",
            "axum",
            "tonic",
            "reqwest",
            "sqlx",
            "tokio-postgres",
            "redis",
            "rdkafka",
            "tokio-tungstenite",
            "tower",
            "tower-http",
            "warp",
            "actix-rt",
            "actix-web",
            "async-std",
            "smol",
            "glommio",
            "deadpool",
            "bb8",
            "lapin",
            "mongodb",
            "tokio-rustls",
            "tokio-native-tls",
            "h2",
            "hyper-util",
            "quinn",
            "tracing-futures",
        ];
        let missing: Vec<&str> = crates
            .into_iter()
            .filter(|c| m.krate(c).is_none())
            .collect();
        assert!(missing.is_empty(), "not in the knowledge base: {missing:?}");
        for blocker in ["async-std", "smol", "glommio", "actix-rt"] {
            assert_eq!(
                m.krate(blocker).unwrap().class,
                Class::HardBlocker,
                "{blocker}"
            );
        }
    }

    #[test]
    fn design_examples_map_as_the_contract_says() {
        let m = mapping();
        let native = |path: &str| m.classify(path).unwrap().native;
        assert_eq!(
            native("tokio::time::sleep").as_deref(),
            Some("asupersync::time::sleep")
        );
        assert_eq!(
            native("tokio::sync::mpsc::channel").as_deref(),
            Some("asupersync::channel::mpsc::channel")
        );
        assert_eq!(
            native("tokio::spawn").as_deref(),
            Some("asupersync::Cx::spawn")
        );
        assert_eq!(native("tokio::main").as_deref(), Some("asupersync::main"));
        assert_eq!(
            native("tokio::select").as_deref(),
            Some("asupersync::select")
        );
        assert_eq!(
            native("tokio::task::JoinHandle").as_deref(),
            Some("asupersync::TaskHandle")
        );
        let token = m.classify("tokio_util::sync::CancellationToken").unwrap();
        assert_eq!(token.class, Class::Manual);
        assert!(!token.auto);
    }

    #[test]
    fn longest_prefix_keeps_the_tail_below_types_and_modules() {
        let m = mapping();
        let send = m.classify("tokio::sync::mpsc::Sender::send").unwrap();
        assert_eq!(send.entry.unwrap().tokio, "tokio::sync::mpsc::Sender");
        assert_eq!(
            send.native.as_deref(),
            Some("asupersync::channel::mpsc::Sender::send")
        );
        let read = m.classify("tokio::fs::read_link").unwrap();
        assert_eq!(read.native.as_deref(), Some("asupersync::fs::read_link"));
        // A method entry is more specific than its type.
        let blocking = m
            .classify("tokio::sync::mpsc::Sender::blocking_send")
            .unwrap();
        assert_eq!(blocking.class, Class::Manual);
        // A manual entry's native path is a hint: nothing is appended to it.
        let join_set = m.classify("tokio::task::JoinSet::new").unwrap();
        assert_eq!(join_set.native.as_deref(), Some("asupersync::Region"));
        // A fn's tail is not a path below it.
        let spawn = m.classify("tokio::spawn::foo").unwrap();
        assert_eq!(spawn.native.as_deref(), Some("asupersync::Cx::spawn"));
    }

    #[test]
    fn unknown_tokio_paths_fall_back_to_the_crate_fallback_entry() {
        let unknown = mapping().classify("tokio::doesnt_exist").unwrap();
        assert_eq!(unknown.class, Class::Manual);
        assert_eq!(unknown.native, None);
        assert_eq!(unknown.entry.unwrap().tokio, "tokio::*");
        // The crate itself (`use tokio as rt;`) is renamed, not unknown.
        let krate = mapping().classify("tokio").unwrap();
        assert_eq!(krate.native.as_deref(), Some("asupersync"));
        assert!(krate.auto);
    }

    #[test]
    fn holdout_and_blocker_crates_class_their_usages_by_crate() {
        let m = mapping();
        let hyper = m.classify("hyper::server::conn::http1::Builder").unwrap();
        assert_eq!(hyper.class, Class::CompatHoldout);
        assert!(hyper.entry.is_none() && !hyper.auto);
        assert_eq!(
            m.classify("async_std::task::spawn").unwrap().class,
            Class::HardBlocker
        );
        assert!(m.classify("futures::future::join").is_none());
        assert!(m.classify("serde::Serialize").is_none());
        assert!(m.classify("asupersync::time::sleep").is_none());
    }

    #[test]
    fn explain_prints_the_entry_that_answers() {
        let sleep = explain("tokio::time::sleep").unwrap();
        assert!(sleep.starts_with("tokio::time::sleep (fn)\n"), "{sleep}");
        assert!(
            sleep.contains("native:  asupersync::time::sleep"),
            "{sleep}"
        );
        assert!(
            sleep.contains("migrate: rewrites it only where its rules allow (and `--apply` keeps only what builds)")
                && sleep.contains("a private free `async fn`"),
            "{sleep}"
        );
        let send = explain("tokio::sync::mpsc::Sender::send").unwrap();
        assert!(
            send.contains("through `tokio::sync::mpsc::Sender`"),
            "{send}"
        );
        let hyper = explain("hyper").unwrap();
        assert!(hyper.contains("class:   compat-holdout"), "{hyper}");
        assert!(explain("serde::Serialize").is_none());
    }

    #[test]
    fn invalid_entries_are_rejected_with_their_path() {
        let auto_without_native = r#"
            [[api]]
            tokio = "tokio::x"
            kind = "fn"
            class = "native-replacement"
            auto = true
            note = "n"
        "#;
        let err = Mapping::parse(auto_without_native, "[crate]").unwrap_err();
        assert!(err.contains("tokio::x") && err.contains("native"), "{err}");
        let duplicate = format!("{0}{0}", auto_without_native.replace("true", "false"));
        let err = Mapping::parse(&duplicate, "[crate]").unwrap_err();
        assert!(err.contains("twice"), "{err}");
    }
}
