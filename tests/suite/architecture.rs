//! The layers hold: a tidy test in the spirit of rust-analyzer's `xtask/src/tidy.rs`. It reads
//! `src/**/*.rs` as text and fails, naming `file:line`, on
//! - a `crate::…` path (in a `use` or in code) that points to a higher layer, or to another
//!   module of the same layer;
//! - a `Serialize` derive outside `src/report/` (the wire types), and a `JsonSchema` derive
//!   outside `src/report/` and the tool arguments of `src/serve/` (the input schemas);
//! - a circle of imports between files, where a module's own submodules do not count (a
//!   `mod.rs` that names its children, and children that use their parent's items, are one
//!   module).
//!
//! The layers, lowest first (ARCHITECTURE.md draws them):
//! snapshot -> policy -> index -> engine -> report -> diagnosis -> serve | bench -> live -> cli.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module with its rank; a file may use only lower ranks and its own module.
const LAYERS: &[(&str, u8)] = &[
    ("snapshot", 0),
    ("policy", 1),
    ("index", 2),
    ("engine", 3),
    ("report", 4),
    ("diagnosis", 5),
    ("serve", 6),
    ("bench", 6),
    ("live", 7),
    ("cli", 8),
    ("main", 8),
    ("lib", 9),
];

fn rank(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn src_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            src_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under src/: `src/diagnosis/checks/dns.rs` -> [diagnosis, checks, dns].
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap_or_default();
    if last != "mod.rs" {
        parts.push(last.trim_end_matches(".rs").to_string());
    }
    parts
}

/// The file's text up to its unit-test module (tests may use whatever they test).
fn code_of(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod tests").map_or(text, |i| &text[..i])
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(path: &str) -> Vec<String> {
    let Some(open) = path.find('{') else {
        return vec![path.trim().to_string()];
    };
    let prefix = &path[..open];
    let inner = &path[open + 1..path.rfind('}').unwrap_or(path.len())];
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .flat_map(|p| expand(&format!("{prefix}{p}")))
        .collect()
}

/// A line without its `//` comment (a `//` inside a string literal stays).
fn strip_comment(line: &str) -> &str {
    let mut in_string = false;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '"' if prev != '\\' => in_string = !in_string,
            '/' if !in_string && prev == '/' => return &line[..i - 1],
            _ => {}
        }
        prev = c;
    }
    line
}

/// Every `crate::…` and `super::…` path a file names, with its line: `use` items (braces
/// expanded) and paths written in code.
fn paths_of(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut in_use: Option<(usize, String)> = None;
    for (i, line) in code.lines().enumerate() {
        let line = strip_comment(line);
        let trimmed = line.trim();
        if let Some((start, mut text)) = in_use.take() {
            text.push_str(trimmed);
            if trimmed.ends_with(';') {
                out.extend(expand(text.trim_end_matches(';')).into_iter().map(|p| (start, p)));
            } else {
                in_use = Some((start, text));
            }
            continue;
        }
        let use_item = trimmed
            .strip_prefix("pub use ")
            .or_else(|| trimmed.strip_prefix("pub(crate) use "))
            .or_else(|| trimmed.strip_prefix("use "));
        if let Some(rest) = use_item {
            if rest.ends_with(';') {
                out.extend(expand(rest.trim_end_matches(';')).into_iter().map(|p| (i + 1, p)));
            } else {
                in_use = Some((i + 1, rest.to_string()));
            }
            continue;
        }
        for prefix in ["crate::", "super::"] {
            let mut from = 0;
            while let Some(at) = line[from..].find(prefix) {
                let begin = from + at;
                let before = line[..begin].chars().last();
                let end = line[begin..]
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .map_or(line.len(), |e| begin + e);
                if !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                    out.push((i + 1, line[begin..end].trim_end_matches(':').to_string()));
                }
                from = end.max(begin + prefix.len());
            }
        }
    }
    out.retain(|(_, p)| p.starts_with("crate::") || p.starts_with("super::"));
    out
}

/// The absolute module path a `crate::`/`super::` path names, from the file's module.
fn absolute(path: &str, module: &[String], is_mod_rs: bool) -> Vec<String> {
    let mut segs: Vec<&str> = path.split("::").collect();
    let mut base: Vec<String> = Vec::new();
    if segs[0] == "crate" {
        segs.remove(0);
    } else {
        // `super` of a mod.rs is its parent module; of a leaf file, the module that declares it.
        base = module.to_vec();
        if !is_mod_rs {
            base.pop();
        }
        segs.remove(0);
        while segs.first() == Some(&"super") {
            base.pop();
            segs.remove(0);
        }
        if is_mod_rs {
            base.pop();
        }
    }
    base.extend(
        segs.iter()
            .filter(|s| **s != "self" && **s != "*")
            .map(|s| s.to_string()),
    );
    base
}

/// The file that defines the longest prefix of a module path.
fn file_of(files: &BTreeMap<Vec<String>, String>, path: &[String]) -> Option<String> {
    (1..=path.len()).rev().find_map(|n| files.get(&path[..n]).cloned())
}

struct Crate {
    /// module path -> file (relative to the repo).
    files: BTreeMap<Vec<String>, String>,
    /// file -> its text.
    texts: BTreeMap<String, String>,
}

fn read_crate() -> Crate {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    src_files(&root.join("src"), &mut paths);
    let mut files = BTreeMap::new();
    let mut texts = BTreeMap::new();
    for p in paths {
        let rel = p.strip_prefix(root.join("src")).expect("under src/");
        let name = format!("src/{}", rel.display());
        files.insert(module_path(rel), name.clone());
        texts.insert(name, std::fs::read_to_string(&p).expect("a source file is readable"));
    }
    Crate { files, texts }
}

fn module_of(c: &Crate, file: &str) -> Vec<String> {
    c.files
        .iter()
        .find(|(_, f)| f.as_str() == file)
        .map(|(m, _)| m.clone())
        .unwrap_or_default()
}

#[test]
fn no_import_points_to_a_higher_layer() {
    let c = read_crate();
    let mut bad = Vec::new();
    for (file, text) in &c.texts {
        let module = module_of(&c, file);
        let own = module.first().cloned().unwrap_or_else(|| "lib".into());
        let Some(own_rank) = rank(&own) else {
            bad.push(format!("{file}: module `{own}` has no layer in LAYERS"));
            continue;
        };
        for (line, path) in paths_of(code_of(text)) {
            if !path.starts_with("crate::") {
                continue;
            }
            let target = absolute(&path, &module, file.ends_with("mod.rs"));
            let Some(top) = target.first() else { continue };
            match rank(top) {
                Some(r) if top == &own || r < own_rank => {}
                Some(r) => bad.push(format!(
                    "{file}:{line}: `{path}` points from layer {own} ({own_rank}) to {top} ({r})"
                )),
                None => bad.push(format!("{file}:{line}: `{path}` names an unknown module")),
            }
        }
    }
    assert!(bad.is_empty(), "imports against the layers:\n{}", bad.join("\n"));
}

#[test]
fn wire_derives_live_in_report() {
    let c = read_crate();
    let mut bad = Vec::new();
    for (file, text) in &c.texts {
        for (i, line) in code_of(text).lines().enumerate() {
            let Some(derive) = line.trim().strip_prefix("#[derive(") else {
                continue;
            };
            let names: Vec<&str> = derive.trim_end_matches(")]").split(',').map(str::trim).collect();
            let has = |n: &str| names.iter().any(|d| *d == n || d.ends_with(&format!("::{n}")));
            let in_report = file.starts_with("src/report/");
            if has("Serialize") && !in_report {
                bad.push(format!("{file}:{}: Serialize outside src/report/", i + 1));
            }
            // Tool arguments are the input's wire shape: JsonSchema with Deserialize, in serve/.
            let tool_args = file.starts_with("src/serve/") && has("Deserialize");
            if has("JsonSchema") && !in_report && !tool_args {
                bad.push(format!(
                    "{file}:{}: JsonSchema outside src/report/ and the tool arguments",
                    i + 1
                ));
            }
        }
    }
    assert!(bad.is_empty(), "wire derives outside src/report/:\n{}", bad.join("\n"));
}

#[test]
fn no_import_circle_between_files() {
    let c = read_crate();
    // file -> files it names (not its own submodules, not its parent modules).
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, text) in &c.texts {
        let module = module_of(&c, file);
        for (_, path) in paths_of(code_of(text)) {
            let target = absolute(&path, &module, file.ends_with("mod.rs"));
            let Some(to) = file_of(&c.files, &target) else { continue };
            let to_module = module_of(&c, &to);
            let nested = to_module.starts_with(&module) || module.starts_with(&to_module);
            if &to != file && !nested {
                edges.entry(file.clone()).or_default().insert(to);
            }
        }
    }
    let circles = circles(&edges);
    assert!(
        circles.is_empty(),
        "import circles between files:\n{}",
        circles.iter().map(|c| c.join(" -> ")).collect::<Vec<_>>().join("\n")
    );
}

/// Every circle found by a depth-first walk (each reported once, from its first file).
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn walk(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        found: &mut Vec<Vec<String>>,
    ) {
        if let Some(at) = stack.iter().position(|s| s == node) {
            let mut circle = stack[at..].to_vec();
            circle.push(node.to_string());
            found.push(circle);
            return;
        }
        if done.contains(node) {
            return;
        }
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            walk(next, edges, stack, done, found);
        }
        stack.pop();
        done.insert(node.to_string());
    }
    let mut found = Vec::new();
    let mut done = BTreeSet::new();
    for node in edges.keys() {
        walk(node, edges, &mut Vec::new(), &mut done, &mut found);
    }
    found
}

/// The checker itself: braces expand, `super` resolves, layers are read from paths.
#[test]
fn the_checker_reads_paths_as_rustc_does() {
    assert_eq!(
        expand("crate::engine::{self, Flow, trace::{A, B}}"),
        [
            "crate::engine::self",
            "crate::engine::Flow",
            "crate::engine::trace::A",
            "crate::engine::trace::B"
        ]
    );
    let m = |s: &str| s.split('/').map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        absolute("super::Ends", &m("diagnosis/checks/dns"), false),
        m("diagnosis/checks/Ends")
    );
    assert_eq!(
        absolute("super::query::X", &m("diagnosis/checks"), true),
        m("diagnosis/query/X")
    );
    assert_eq!(
        absolute("crate::index::ClusterIndex", &m("engine/tiers"), false),
        m("index/ClusterIndex")
    );
    let found = paths_of("use crate::report::{A,\n    B};\nlet x = crate::policy::P::new(); // crate::serve\n");
    assert_eq!(
        found,
        [
            (1, "crate::report::A".to_string()),
            (1, "crate::report::B".to_string()),
            (3, "crate::policy::P::new".to_string()),
        ]
    );
}
