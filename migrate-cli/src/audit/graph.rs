//! The resolved dependency graph: which workspace members pull which Tokio-ecosystem
//! crates, and through which paths.
//!
//! Why the resolved graph and not the manifests: a package that never names Tokio can
//! still pull it (`app → axum → hyper → tokio`), and that decides its verdict. The
//! paths are those `cargo tree -i CRATE` prints, read from a member down to the crate;
//! every dependency kind counts (dev-dependencies run Tokio in tests too). The
//! graph is resolved with all features on: code behind `#[cfg(feature = "..")]` is
//! audited too, so the crates it pulls must be in the graph. The number of
//! paths can grow exponentially in a diamond-shaped graph, so at most
//! [`MAX_PATHS`] are listed per crate and the report says when there were more.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;

use cargo_metadata::{Metadata, MetadataCommand, PackageId};

use super::report::{DependencyReport, MemberFacts};
use crate::mapping::Mapping;

/// Most paths listed for one dependency.
pub const MAX_PATHS: usize = 16;

/// What the graph says about the workspace.
#[derive(Debug)]
pub struct GraphFacts {
    pub members: Vec<MemberFacts>,
    pub dependencies: Vec<DependencyReport>,
}

/// Runs `cargo metadata` with dependencies resolved. Errors are one line.
pub fn load_metadata(manifest: Option<&Path>) -> Result<Metadata, String> {
    let mut command = MetadataCommand::new();
    command.features(cargo_metadata::CargoOpt::AllFeatures);
    if let Some(manifest) = manifest {
        command.manifest_path(manifest);
    }
    command.exec().map_err(|err| match err {
        cargo_metadata::Error::CargoMetadata { stderr } => {
            let lines: Vec<&str> = stderr
                .lines()
                .map(str::trim)
                .filter(|line| !line.is_empty())
                .collect();
            let first = lines
                .iter()
                .find(|line| line.starts_with("error"))
                .or(lines.first())
                .map(|line| line.trim_start_matches("error:").trim())
                .unwrap_or("cargo metadata failed");
            // Cargo's cause chain ends with the most specific reason.
            match lines.last() {
                Some(last) if !last.starts_with("error") && lines.len() > 1 => {
                    format!("cannot resolve dependencies: {first}: {last}")
                }
                _ => format!("cannot resolve dependencies: {first}"),
            }
        }
        other => format!("cannot resolve dependencies: {other}"),
    })
}

/// Reads the member and dependency facts out of resolved metadata.
pub fn analyze(metadata: &Metadata, mapping: &Mapping) -> GraphFacts {
    let root = metadata.workspace_root.as_std_path();
    let packages: HashMap<&PackageId, &cargo_metadata::Package> =
        metadata.packages.iter().map(|p| (&p.id, p)).collect();
    let member_ids: HashSet<&PackageId> = metadata.workspace_members.iter().collect();
    let mut deps: HashMap<&PackageId, Vec<&PackageId>> = HashMap::new();
    let mut dependents: HashMap<&PackageId, Vec<&PackageId>> = HashMap::new();
    if let Some(resolve) = &metadata.resolve {
        for node in &resolve.nodes {
            for dep in &node.deps {
                deps.entry(&node.id).or_default().push(&dep.pkg);
                dependents.entry(&dep.pkg).or_default().push(&node.id);
            }
        }
    }
    let name_of = |id: &PackageId| packages[id].name.to_string();
    for list in dependents.values_mut().chain(deps.values_mut()) {
        list.sort_by_key(|id| (packages[*id].name.to_string(), &packages[*id].version));
        list.dedup();
    }
    // A Tokio-ecosystem crate: known to the knowledge base, audited, not a member.
    let ecosystem = |id: &PackageId| -> Option<&crate::mapping::CrateEntry> {
        if member_ids.contains(id) {
            return None;
        }
        mapping
            .krate(&packages[id].name)
            .filter(|krate| krate.is_audited())
    };

    let members = metadata
        .workspace_members
        .iter()
        .map(|member| {
            let package = packages[member];
            let mut reachable = BTreeMap::new();
            let mut seen: HashSet<&PackageId> = HashSet::from([member]);
            let mut queue: VecDeque<&PackageId> = VecDeque::from([member]);
            while let Some(id) = queue.pop_front() {
                for &dep in deps.get(id).into_iter().flatten() {
                    if seen.insert(dep) {
                        if let Some(krate) = ecosystem(dep) {
                            reachable.insert(krate.name.clone(), krate.class);
                        }
                        queue.push_back(dep);
                    }
                }
            }
            let direct = deps
                .get(member)
                .into_iter()
                .flatten()
                .filter_map(|&dep| ecosystem(dep))
                .map(|krate| (krate.name.clone(), krate.class))
                .collect();
            MemberFacts {
                name: package.name.to_string(),
                manifest_path: crate::audit::relative(root, package.manifest_path.as_std_path()),
                reachable,
                direct,
            }
        })
        .collect();

    let mut dependencies = Vec::new();
    for package in &metadata.packages {
        let Some(krate) = ecosystem(&package.id) else {
            continue;
        };
        // The shortest path from each member that pulls the crate comes first, then the
        // other paths, as far as MAX_PATHS allows.
        let mut paths = shortest_paths_up(&package.id, &dependents, &member_ids);
        let mut truncated = false;
        let mut all = Vec::new();
        let mut stack = vec![&package.id];
        paths_up(
            &package.id,
            &dependents,
            &member_ids,
            &mut stack,
            &mut all,
            &mut truncated,
        );
        for path in all {
            if paths.len() == MAX_PATHS {
                truncated = true;
                break;
            }
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
        if paths.is_empty() {
            // Not reachable from any member (cannot happen in a resolved workspace).
            continue;
        }
        let paths = paths
            .into_iter()
            .map(|path: Vec<&PackageId>| path.into_iter().rev().map(name_of).collect())
            .collect();
        dependencies.push(DependencyReport {
            name: package.name.to_string(),
            version: package.version.to_string(),
            class: krate.class,
            paths,
            native_replacement: krate.native.clone(),
            paths_truncated: truncated,
        });
    }
    GraphFacts {
        members,
        dependencies,
    }
}

/// For each member that pulls `id`, one shortest path (bottom-up), members nearest to
/// the crate first. Breadth-first over dependents sorted by name, so it is stable.
fn shortest_paths_up<'a>(
    id: &'a PackageId,
    dependents: &HashMap<&'a PackageId, Vec<&'a PackageId>>,
    members: &HashSet<&'a PackageId>,
) -> Vec<Vec<&'a PackageId>> {
    let mut parent: HashMap<&PackageId, &PackageId> = HashMap::new();
    let mut queue = VecDeque::from([id]);
    let mut seen = HashSet::from([id]);
    let mut paths = Vec::new();
    while let Some(node) = queue.pop_front() {
        if members.contains(node) {
            let mut path = vec![node];
            let mut cursor = node;
            while let Some(&next) = parent.get(cursor) {
                path.push(next);
                cursor = next;
            }
            path.reverse();
            paths.push(path);
        }
        for &up in dependents.get(node).into_iter().flatten() {
            if seen.insert(up) {
                parent.insert(up, node);
                queue.push_back(up);
            }
        }
    }
    paths.truncate(MAX_PATHS);
    paths
}

/// Walks from a crate up its dependents; every walk that reaches a member is a path
/// (bottom-up in `stack`). Continues above members, as `cargo tree -i` does.
fn paths_up<'a>(
    id: &'a PackageId,
    dependents: &HashMap<&'a PackageId, Vec<&'a PackageId>>,
    members: &HashSet<&'a PackageId>,
    stack: &mut Vec<&'a PackageId>,
    paths: &mut Vec<Vec<&'a PackageId>>,
    truncated: &mut bool,
) {
    if members.contains(id) {
        if paths.len() == MAX_PATHS {
            *truncated = true;
            return;
        }
        paths.push(stack.clone());
    }
    for &parent in dependents.get(id).into_iter().flatten() {
        if *truncated {
            return;
        }
        if stack.contains(&parent) {
            continue;
        }
        stack.push(parent);
        paths_up(parent, dependents, members, stack, paths, truncated);
        stack.pop();
    }
}
