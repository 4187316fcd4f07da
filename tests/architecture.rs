//! The import rule of docs/ARCHITECTURE.md, checked on the source: reads every `crate::…` path
//! in `src/**/*.rs` (`newsdesk::…` in the binary's files), builds the graph of top-level modules
//! and refuses
//!
//! - an import cycle;
//! - an import into a higher layer, or between two modules of one layer unless the layer allows
//!   it (the table [`LAYERS`]);
//! - `model` importing anything from the crate;
//! - a stage importing anything but `model`, `encoding`, the store's traits and its own config
//!   section ([`STAGE_CONFIG`]);
//! - a module other than `pipeline` that uses two stages or more (only the pipeline orders them);
//! - anything importing `cli` or the daemon layer (from outside that layer).
//!
//! The tables are data: a new module or a moved one is placed by editing them, not the checks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One layer, bottom up: its modules, and whether they may import each other.
struct Layer {
    name: &'static str,
    modules: &'static [&'static str],
    /// Modules of this layer may import each other (and are one unit for the cycle check).
    one_unit: bool,
}

/// The layers, bottom up. A module imports only modules of lower layers (or of its own, when
/// the layer is `one_unit`).
const LAYERS: &[Layer] = &[
    Layer {
        name: "model",
        modules: &["model"],
        one_unit: false,
    },
    // Leaves every stage may use: the config, the charset decoder, and the bounded HTML parser
    // (a depth and element guard around html5ever; it lives in extract/ but serves the listing
    // parser in source/ too, and imports nothing from the crate).
    Layer {
        name: "config",
        modules: &["config", "encoding", "extract::bounded"],
        one_unit: false,
    },
    // The polling policy: pure functions of the `[schedule]` section, which the pipeline applies;
    // its own unit, below the pipeline (the schedule's loop above runs the pipeline).
    Layer {
        name: "policy",
        modules: &["schedule::policy"],
        one_unit: false,
    },
    Layer {
        name: "stage",
        modules: STAGES,
        one_unit: false,
    },
    Layer {
        name: "store",
        modules: &["store"],
        one_unit: false,
    },
    Layer {
        name: "export",
        modules: &["export"],
        one_unit: false,
    },
    Layer {
        name: "pipeline",
        modules: &["pipeline"],
        one_unit: false,
    },
    Layer {
        name: "schedule",
        modules: &["schedule"],
        one_unit: false,
    },
    // The service around the library: daemon/ holds the admin server, metrics and the systemd
    // protocol; the admin server mounts the desk's routes and the desk uses the admin server's
    // state, so the layer is one unit.
    Layer {
        name: "daemon",
        modules: &["daemon", "desk"],
        one_unit: true,
    },
    Layer {
        name: "cli",
        modules: &["cli"],
        one_unit: false,
    },
];

/// The stages: each takes the previous one's output (a `model` type) and gives the next one's
/// input; only `pipeline` calls them in order.
const STAGES: &[&str] = &["fetch", "source", "extract", "dedup", "topic"];

/// What a stage may import besides `model` and `encoding`: its own config section (the
/// section's struct and the constants and helpers that belong to it), and what every stage
/// shares.
const STAGE_CONFIG: &[(&str, &[&str])] = &[
    ("fetch", &["HttpConfig"]),
    ("source", &[]),
    ("extract", &[]),
    (
        "dedup",
        &[
            "DedupConfig",
            "DEFAULT_NEAR_DUPLICATE_THRESHOLD",
            "DEFAULT_CLUSTER_THRESHOLD",
            "DEFAULT_RECLUSTER_THRESHOLD",
            "DEFAULT_CLUSTER_WINDOW",
        ],
    ),
    ("topic", &["TopicConfig"]),
];

/// Config items every stage may use: how a selector error is worded (the config check and the
/// stages that parse selectors must say it the same way).
const SHARED_CONFIG: &[&str] = &["selector_reason"];

/// The store's traits and error, which a stage may use (never an implementation).
const STORE_TRAITS: &[&str] = &[
    "Store",
    "SourceStore",
    "RunLog",
    "StoryStore",
    "StoreHealth",
    "StoreError",
];

/// Modules a stage may import whole.
const STAGE_MAY_IMPORT: &[&str] = &["model", "encoding", "extract::bounded"];

/// Submodules that are units of their own (a file, or a folder's `mod.rs` and what it holds).
fn units() -> impl Iterator<Item = &'static str> {
    LAYERS
        .iter()
        .flat_map(|l| l.modules.iter().copied())
        .filter(|m| m.contains("::"))
}

/// One `crate::` path found: which module, and the items named right after it (empty for a
/// path naming the module alone, `crate::store::sqlite::X` gives `sqlite`).
#[derive(Debug, Clone)]
struct Import {
    file: PathBuf,
    line: usize,
    target: String,
    items: Vec<String>,
}

fn src_dir() -> PathBuf {
    std::env::var_os("NEWSDESK_ARCH_SRC")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`None` for lib.rs); the binary's files are `cli`.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).expect("file under src");
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let path: Vec<String> = rel
        .with_extension("")
        .components()
        .filter_map(|c| c.as_os_str().to_str().map(str::to_string))
        .filter(|c| c != "mod")
        .collect();
    let joined = path.join("::");
    if let Some(unit) = units().find(|u| joined == *u || joined.starts_with(&format!("{u}::"))) {
        return Some(unit.to_string());
    }
    match first.as_str() {
        "lib.rs" => None,
        "main.rs" | "bin" | "cli" => Some("cli".into()),
        f => Some(f.trim_end_matches(".rs").to_string()),
    }
}

/// The `crate::…` paths of one file (`newsdesk::…` in the binary), outside comments.
fn imports_of(file: &Path, binary: bool) -> Vec<Import> {
    let text = std::fs::read_to_string(file).expect("readable source file");
    let root = if binary { "newsdesk" } else { "crate" };
    let re = regex::Regex::new(&format!(
        r"\b{root}::([a-z_][a-z0-9_]*)(?:::(\{{[^}}]*\}}|[A-Za-z_][A-Za-z0-9_]*))?"
    ))
    .expect("valid regex");
    // Comments dropped line by line; paths are then matched over the whole text, so a
    // `use crate::x::{…}` list spanning lines is read whole.
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    for c in re.captures_iter(&code) {
        let n = code[..c.get(0).map_or(0, |m| m.start())]
            .matches('\n')
            .count();
        let items = c.get(2).map_or(Vec::new(), |m| {
            m.as_str()
                .trim_matches(|ch| ch == '{' || ch == '}')
                .split(',')
                .map(|s| s.trim().split("::").next().unwrap_or("").to_string())
                .filter(|s| !s.is_empty())
                .collect()
        });
        // `crate::schedule::policy::…` names the unit `schedule::policy`.
        let unit = items
            .first()
            .map(|i| format!("{}::{i}", &c[1]))
            .filter(|u| units().any(|x| x == u));
        let (target, items) = match unit {
            Some(u) => (u, Vec::new()),
            None => (c[1].to_string(), items),
        };
        out.push(Import {
            file: file.to_path_buf(),
            line: n + 1,
            target,
            items,
        });
    }
    out
}

fn layer_of(module: &str) -> Option<(usize, &'static Layer)> {
    LAYERS
        .iter()
        .enumerate()
        .find(|(_, l)| l.modules.contains(&module))
}

/// The node a module is for the cycle check: its layer when the layer is one unit.
fn node_of(module: &str) -> String {
    match layer_of(module) {
        Some((_, l)) if l.one_unit => l.name.to_string(),
        _ => module.to_string(),
    }
}

/// Every violation of the rule in the sources under `src`, one line each.
fn violations(src: &Path) -> (Vec<String>, BTreeMap<String, BTreeSet<String>>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut bad = Vec::new();
    let mut stages_used: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Some(from) = module_of(src, file) else {
            continue;
        };
        let binary = from == "cli";
        graph.entry(from.clone()).or_default();
        let Some((from_layer, layer)) = layer_of(&from) else {
            bad.push(format!(
                "{}: module `{from}` is in no layer of tests/architecture.rs",
                file.display()
            ));
            continue;
        };
        for imp in imports_of(file, binary) {
            let to = imp.target.as_str();
            if to == from {
                continue;
            }
            let at = format!("{}:{}", imp.file.display(), imp.line);
            graph
                .entry(from.clone())
                .or_default()
                .insert(to.to_string());
            if STAGES.contains(&to) {
                stages_used
                    .entry(from.clone())
                    .or_default()
                    .insert(to.to_string());
            }
            let Some((to_layer, to_l)) = layer_of(to) else {
                bad.push(format!(
                    "{at}: `{from}` imports `{to}`, which is in no layer"
                ));
                continue;
            };
            if from == "model" {
                bad.push(format!("{at}: model imports `{to}` (model is a leaf)"));
            }
            // The binary on top starts the daemon; nothing else reaches into it.
            let daemon_ok = matches!(layer.name, "daemon" | "cli");
            if to_l.name == "cli" || (to_l.name == "daemon" && !daemon_ok) {
                bad.push(format!(
                    "{at}: `{from}` imports `{to}` (nothing imports {})",
                    to_l.name
                ));
            } else if to_layer > from_layer || (to_layer == from_layer && !layer.one_unit) {
                bad.push(format!(
                    "{at}: `{from}` ({}) imports `{to}` ({}): imports go down the layers",
                    layer.name, to_l.name
                ));
            }
            if STAGES.contains(&from.as_str()) {
                if let Some(why) = stage_import_refused(&from, &imp) {
                    bad.push(format!("{at}: stage `{from}` {why}"));
                }
            }
        }
    }
    for (from, stages) in &stages_used {
        // The binary calls single stages for single commands (`newsdesk extract`, cleaning
        // remote text for the terminal); it orders none.
        let orders = !matches!(from.as_str(), "pipeline" | "cli");
        if orders && !STAGES.contains(&from.as_str()) && stages.len() > 1 {
            bad.push(format!(
                "`{from}` uses the stages {stages:?}: only pipeline orders the stages"
            ));
        }
    }
    bad.extend(cycles(&graph));
    (bad, graph)
}

/// Why a stage may not make this import (`None`: it may).
fn stage_import_refused(stage: &str, imp: &Import) -> Option<String> {
    let to = imp.target.as_str();
    if STAGE_MAY_IMPORT.contains(&to) {
        return None;
    }
    let allowed: Vec<&str> = match to {
        "config" => STAGE_CONFIG
            .iter()
            .find(|(s, _)| *s == stage)
            .map(|(_, items)| items.to_vec())
            .unwrap_or_default()
            .into_iter()
            .chain(SHARED_CONFIG.iter().copied())
            .collect(),
        "store" => STORE_TRAITS.to_vec(),
        _ => return Some(format!("imports `{to}`: a stage imports no other stage")),
    };
    let refused: Vec<&String> = imp
        .items
        .iter()
        .filter(|i| !allowed.contains(&i.as_str()))
        .collect();
    if imp.items.is_empty() || !refused.is_empty() {
        Some(format!(
            "imports {to}::{:?}; of `{to}` it may use only {allowed:?}",
            imp.items
        ))
    } else {
        None
    }
}

/// The import cycles between nodes (modules; a one-unit layer is one node), one line each.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut nodes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in graph {
        let f = node_of(from);
        let entry = nodes.entry(f.clone()).or_default();
        for t in tos {
            let t = node_of(t);
            if t != f {
                entry.insert(t);
            }
        }
    }
    // Depth-first search; a back edge closes a cycle, reported once per entry node.
    let mut found = BTreeSet::new();
    let mut done = BTreeSet::new();
    for start in nodes.keys() {
        let mut path = vec![start.clone()];
        walk(&nodes, &mut path, &mut done, &mut found);
    }
    found
        .into_iter()
        .map(|c: Vec<String>| format!("import cycle: {}", c.join(" → ")))
        .collect()
}

fn walk(
    nodes: &BTreeMap<String, BTreeSet<String>>,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
    found: &mut BTreeSet<Vec<String>>,
) {
    let here = path.last().cloned().unwrap_or_default();
    if done.contains(&here) {
        return;
    }
    for next in nodes.get(&here).into_iter().flatten() {
        if let Some(pos) = path.iter().position(|p| p == next) {
            let mut cycle = path[pos..].to_vec();
            // Rotated to start at its smallest name, so one cycle is reported once.
            let min = cycle
                .iter()
                .enumerate()
                .min_by_key(|(_, n)| n.as_str())
                .map_or(0, |(i, _)| i);
            cycle.rotate_left(min);
            cycle.push(cycle[0].clone());
            found.insert(cycle);
            continue;
        }
        path.push(next.clone());
        walk(nodes, path, done, found);
        path.pop();
    }
    done.insert(here);
}

#[test]
fn modules_import_down_the_layers_without_cycles() {
    let src = src_dir();
    let (bad, graph) = violations(&src);
    println!("module graph of {}:", src.display());
    for (from, tos) in &graph {
        println!(
            "  {from} -> {}",
            tos.iter().cloned().collect::<Vec<_>>().join(", ")
        );
    }
    assert!(
        bad.is_empty(),
        "{} violation(s) of the import rule (docs/ARCHITECTURE.md):\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// The checks themselves can fail: a made-up tree with a cycle, a stage calling another stage
/// and a config importing the daemon is refused on every count.
#[test]
fn the_rule_refuses_a_tree_that_breaks_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    let write = |name: &str, text: &str| {
        let p = src.join(name);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("dir");
        std::fs::write(p, text).expect("write");
    };
    write(
        "lib.rs",
        "pub mod config; pub mod model; pub mod fetch; pub mod pipeline; pub mod export;",
    );
    write("model.rs", "use crate::config::Config;\n");
    write(
        "config.rs",
        "use crate::daemon::Thing;\nuse crate::pipeline::X;\n",
    );
    write(
        "fetch/mod.rs",
        "use crate::topic::TopicMatcher;\nuse crate::config::TopicConfig;\n",
    );
    write(
        "pipeline.rs",
        "use crate::config::Config;\n// use crate::cli::Nothing;\n",
    );
    write("export.rs", "use crate::fetch::X;\nuse crate::topic::Y;\n");
    let (bad, _) = violations(src);
    let text = bad.join("\n");
    for expected in [
        "model imports `config`",
        "`config` imports `daemon` (nothing imports daemon)",
        "import cycle: config → pipeline → config",
        "stage `fetch` imports `topic`",
        "stage `fetch` imports config::[\"TopicConfig\"]",
        "`export` uses the stages",
    ] {
        assert!(text.contains(expected), "expected `{expected}` in:\n{text}");
    }
    assert!(
        !text.contains("cli"),
        "a commented-out import counts:\n{text}"
    );
}
