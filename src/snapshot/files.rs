//! Reads snapshots from YAML/JSON files, directories (recursively) or stdin.
//!
//! Invariant: a file that cannot be read or parsed at all is an error naming the file and line;
//! an object that does not parse is a warning naming file, document, kind/name and field, and
//! every other object still loads.
//!
//! Invariant: time and memory are bounded by [`Limits`]. A file's size is checked before it is
//! read, stdin is read up to the limit only, objects are counted as they are added (a JSON array
//! is decoded element by element), YAML aliases may not expand far beyond the text (alias
//! bombs), nesting stops at 128 levels (the recursion limit of both parsers), and at most
//! [`MAX_WARNINGS`] warnings are kept (the rest are counted).
//!
//! Invariant: parsing in parallel changes nothing that loads. A large file is split (`split`)
//! and its parts parsed on every core, but documents are added in input order by this thread,
//! with the same locations, limits and alias budget; a part that does not parse sends the file
//! to the sequential parser, whose error (and line) it is.

use std::cell::Cell;
use std::collections::HashMap;
use std::collections::HashSet;
use std::collections::hash_map::Entry;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeOwned, DeserializeSeed, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::value::{self, Budget, ValueSeed};
use super::{
    ClusterSnapshot, Limits, LoadOptions, LoadWarning, NamespaceDefaulting, OtherObject, UnreadablePolicy, Workload,
    WorkloadKind, split, strict,
};
use crate::snapshot::error::LoadError;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ReplicationController;
use k8s_openapi::api::networking::v1::NetworkPolicy;

/// Values (scalars, lists, mappings) that YAML aliases may add beyond the size of the input in
/// bytes, over a whole load. Without aliases a text of N bytes spells at most about N values;
/// anchors and merge keys in hand-written manifests add a few hundred; an alias bomb adds
/// billions, and stops here after about 100 MB of memory.
pub const MAX_ALIAS_EXPANSION: usize = 1_000_000;

/// Load warnings kept in a snapshot; the ones after are counted in one last warning.
pub const MAX_WARNINGS: usize = 10_000;

/// Loads every path (file, directory or `-` for stdin) into one snapshot, within the default
/// [`Limits`].
pub fn load_paths(paths: &[PathBuf]) -> Result<ClusterSnapshot, LoadError> {
    load_paths_with(paths, &Limits::default())
}

/// Loads every path (file, directory or `-` for stdin) into one snapshot, within `limits`.
pub fn load_paths_with(paths: &[PathBuf], limits: &Limits) -> Result<ClusterSnapshot, LoadError> {
    let options = LoadOptions {
        limits: *limits,
        ..LoadOptions::default()
    };
    load_paths_opts(paths, &options)
}

/// Loads every path (file, directory or `-` for stdin) into one snapshot, as `options` say.
pub fn load_paths_opts(paths: &[PathBuf], options: &LoadOptions) -> Result<ClusterSnapshot, LoadError> {
    if paths.is_empty() {
        return Err(LoadError::NoInput);
    }
    let mut snap = ClusterSnapshot::default();
    let mut loader = Loader::new(options.limits, &snap);
    loader.default_namespace = options.default_namespace.clone();
    for path in paths {
        if path.as_os_str() == "-" {
            let stdin = Path::new("<stdin>");
            let bytes = loader.read_bounded(std::io::stdin().lock(), stdin, 0)?;
            loader.load_bytes(&mut snap, stdin, &bytes)?;
            continue;
        }
        if !path.exists() {
            return Err(LoadError::Missing { path: path.clone() });
        }
        if path.is_dir() {
            let mut files = Vec::new();
            collect_dir(path, &mut files, &mut HashSet::new())?;
            if files.is_empty() {
                return Err(LoadError::EmptyDirectory { path: path.clone() });
            }
            for f in files {
                loader.load_file(&mut snap, &f)?;
            }
        } else {
            loader.load_file(&mut snap, path)?;
        }
    }
    loader.finish(&mut snap);
    Ok(snap)
}

/// Loads one text (YAML or JSON) named `name` in messages, within the default [`Limits`]: for
/// tests and embedders.
pub fn load_str(name: &str, text: &str) -> Result<ClusterSnapshot, LoadError> {
    let mut snap = ClusterSnapshot::default();
    let mut loader = Loader::new(Limits::default(), &snap);
    let path = Path::new(name);
    loader.count_bytes(path, text.len() as u64)?;
    loader.load_text(&mut snap, path, text)?;
    loader.finish(&mut snap);
    Ok(snap)
}

/// A snapshot that a live read exported (`netpol-debug snapshot`) says in its header when it was
/// read (ages are "ago" from then, as they were live) and which namespaces it read whole (only
/// their Services are in it).
fn scoped_export_header(snap: &mut ClusterSnapshot, text: &str) {
    if !text.starts_with("# netpol-debug snapshot of ") {
        return;
    }
    let header = || text.lines().take_while(|l| l.starts_with('#'));
    if let Some(at) = header().find_map(|l| l.strip_prefix("# read at: ")) {
        snap.read_at = at.trim().parse().ok().or(snap.read_at);
    }
    if let Some(list) = header().find_map(|l| l.strip_prefix("# namespaces read whole: ")) {
        let read = snap.services_read_in.get_or_insert_with(Default::default);
        read.extend(list.split(", ").filter(|n| *n != "(none)").map(str::to_string));
    }
}

/// Adds one decoded document (an object or a List of objects). The live source feeds what it
/// lists through here too, so a live read and its exported snapshot load the same way. No
/// [`Limits`] apply here (the caller bounds what it decodes).
pub fn add_value(snap: &mut ClusterSnapshot, location: &str, value: Value) {
    let mut loader = Loader {
        strict: false,
        ..Loader::new(Limits::UNLIMITED, snap)
    };
    if let Err(e) = loader.add(snap, location, value) {
        // Unreachable without limits; kept as a warning rather than a panic.
        snap.warnings.push(LoadWarning {
            location: Some(location.to_string()),
            object: None,
            message: e.to_string(),
        });
    }
    loader.finish(snap);
}

/// The `.yaml`, `.yml` and `.json` files under `dir`, sorted. A directory or file reached again
/// through a symbolic link (a link to a parent is a loop) is read once.
fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>, visited: &mut HashSet<PathBuf>) -> Result<(), LoadError> {
    let io = |source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    };
    if !visited.insert(dir.canonicalize().map_err(io)?) {
        tracing::debug!(dir = %dir.display(), "directory already read through another path");
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_dir(&p, out, visited)?;
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
            // A dangling link (no canonical path) fails to open later, with an error naming it.
            if p.canonicalize().is_ok_and(|c| !visited.insert(c)) {
                tracing::debug!(file = %p.display(), "file already read through another path");
            } else {
                out.push(p);
            }
        }
    }
    Ok(())
}

/// A policy key (`ns`, `name`) seen before, for duplicates.
enum SeenPolicy {
    /// Loaded as `snap.network_policies[index]`.
    Readable { location: String, index: usize },
    /// Copies with different specs: `snap.unreadable_policies[index]` stands for all of them.
    Conflicting { location: String, index: usize },
}

/// The state of one load: what was read against the limits, and the keys seen for duplicates.
struct Loader {
    limits: Limits,
    /// Decode NetworkPolicies as the API server does, naming unknown fields (objects from files;
    /// the live source's objects went through the server and have none).
    strict: bool,
    /// Bytes read so far.
    bytes: u64,
    /// Objects counted so far.
    objects: usize,
    /// Values decoded so far (the alias-expansion guard).
    values: usize,
    /// `Kind/ns/name` of the typed objects loaded -> where the first one is.
    seen: HashMap<String, (String, usize)>,
    seen_policies: HashMap<(String, String), SeenPolicy>,
    /// Indexes in `snap.network_policies` replaced by an unreadable policy (conflicting copies).
    dropped_policies: HashSet<usize>,
    /// `snap.warnings.len()` at which warnings stop being kept, and how many were not kept.
    warnings_cap: usize,
    warnings_hidden: usize,
    /// Where objects without a namespace go, and how many did.
    default_namespace: String,
    defaulted: usize,
    /// Files from this size on are split and parsed on `workers` threads, `batch_bytes` at a
    /// time (see `split`).
    parallel_min_bytes: usize,
    batch_bytes: usize,
    workers: usize,
}

impl Loader {
    fn new(limits: Limits, snap: &ClusterSnapshot) -> Loader {
        Loader {
            limits,
            strict: true,
            bytes: 0,
            objects: 0,
            values: 0,
            seen: HashMap::new(),
            seen_policies: HashMap::new(),
            dropped_policies: HashSet::new(),
            warnings_cap: snap.warnings.len().saturating_add(MAX_WARNINGS),
            warnings_hidden: 0,
            default_namespace: super::DEFAULT_NAMESPACE.to_string(),
            defaulted: 0,
            parallel_min_bytes: split::PARALLEL_MIN_BYTES,
            batch_bytes: split::BATCH_BYTES,
            workers: split::workers(),
        }
    }

    /// Puts a namespaced object that names no namespace in the default one, as
    /// `kubectl apply -n` does, so every later step sees the namespace the cluster would.
    /// Whether it did.
    fn default_namespace(&mut self, group: &str, kind: &str, map: &mut Map<String, Value>) -> bool {
        if super::is_cluster_scoped(group, kind) {
            return false;
        }
        let Some(Value::Object(meta)) = map.get_mut("metadata") else {
            return false;
        };
        let named = meta
            .get("namespace")
            .is_some_and(|n| !n.is_null() && n.as_str() != Some(""));
        if !named {
            meta.insert("namespace".into(), Value::String(self.default_namespace.clone()));
            self.defaulted += 1;
        }
        !named
    }

    /// Accounts for `size` more bytes of input, or fails naming the limit.
    fn count_bytes(&mut self, path: &Path, size: u64) -> Result<(), LoadError> {
        if self.bytes.saturating_add(size) > self.limits.max_bytes {
            return Err(self.too_large(path, size, false));
        }
        self.bytes += size;
        Ok(())
    }

    /// The error for `size` bytes of `path` (`at_least`: more than that) over the limit.
    fn too_large(&self, path: &Path, size: u64, at_least: bool) -> LoadError {
        LoadError::TooLarge {
            path: path.to_path_buf(),
            size,
            at_least,
            before: self.bytes,
            limit: self.limits.max_bytes,
        }
    }

    /// Reads a stream up to what the byte limit leaves, and no further.
    fn read_bounded(&mut self, reader: impl Read, path: &Path, size_hint: u64) -> Result<Vec<u8>, LoadError> {
        let room = self.limits.max_bytes.saturating_sub(self.bytes);
        let capacity = usize::try_from(size_hint.min(room)).unwrap_or(0).saturating_add(1);
        let mut buf = Vec::with_capacity(capacity);
        reader
            .take(room.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|source| LoadError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        let n = buf.len() as u64;
        if n > room {
            return Err(self.too_large(path, n, true));
        }
        self.bytes += n;
        Ok(buf)
    }

    fn load_file(&mut self, snap: &mut ClusterSnapshot, path: &Path) -> Result<(), LoadError> {
        let io = |source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        // From the size alone, before reading a byte. A file that grows meanwhile, or a special
        // file whose size says nothing (a FIFO, /dev/zero), is stopped by the bounded read.
        if self.bytes.saturating_add(size) > self.limits.max_bytes {
            return Err(self.too_large(path, size, false));
        }
        let bytes = self.read_bounded(file, path, size)?;
        self.load_bytes(snap, path, &bytes)
    }

    fn load_bytes(&mut self, snap: &mut ClusterSnapshot, path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
        let text = std::str::from_utf8(bytes).map_err(|e| LoadError::NotUtf8 {
            path: path.to_path_buf(),
            offset: e.valid_up_to(),
        })?;
        self.load_text(snap, path, text)
    }

    /// The values the documents still to decode may hold: the input so far plus the aliases'
    /// allowance.
    fn budget(&self) -> Budget {
        Budget {
            used: Cell::new(self.values),
            max: usize::try_from(self.bytes)
                .unwrap_or(usize::MAX)
                .saturating_add(MAX_ALIAS_EXPANSION),
            exceeded: Cell::new(false),
        }
    }

    fn load_text(&mut self, snap: &mut ClusterSnapshot, path: &Path, text: &str) -> Result<(), LoadError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        scoped_export_header(snap, text);
        let first = text.trim_start().chars().next();
        let file = path.display().to_string();
        let objects_before = self.objects;
        // `{{` is never JSON: a template that begins with an action is read as YAML (and stopped).
        // A `.yaml` file may begin with a flow mapping (`{apiVersion: v1, ...}`): JSON first, and
        // YAML when that is not JSON and nothing was read from it.
        let yaml_name = path
            .extension()
            .is_some_and(|x| x.eq_ignore_ascii_case("yaml") || x.eq_ignore_ascii_case("yml"));
        let json_like = matches!(first, Some('{' | '[')) && !text.trim_start().starts_with("{{");
        let values_before = self.values;
        match json_like.then(|| self.load_json(snap, path, &file, text)) {
            Some(Err(_)) if yaml_name && self.objects == objects_before => {
                self.values = values_before;
                self.load_yaml_text(snap, path, &file, text)?
            }
            Some(r) => r?,
            None => self.load_yaml_text(snap, path, &file, text)?,
        }
        if self.objects == objects_before {
            snap.warnings.push(LoadWarning {
                location: Some(file),
                object: None,
                message: "no objects in this file (empty, comments only, or an empty list)".into(),
            });
        }
        Ok(())
    }

    /// YAML text, stopped first when it is a template.
    fn load_yaml_text(
        &mut self,
        snap: &mut ClusterSnapshot,
        path: &Path,
        file: &str,
        text: &str,
    ) -> Result<(), LoadError> {
        if let Some((line, text)) = super::template::template_action(text) {
            return Err(LoadError::Template {
                path: path.to_path_buf(),
                line,
                text,
            });
        }
        self.load_yaml(snap, path, file, text)
    }

    /// A YAML stream: split into documents parsed on every core when it is large (and the split
    /// is sure), else sequentially. Either way the documents are added in order, and an error is
    /// the sequential parser's.
    fn load_yaml(&mut self, snap: &mut ClusterSnapshot, path: &Path, file: &str, text: &str) -> Result<(), LoadError> {
        let mut done = 0;
        if text.len() >= self.parallel_min_bytes
            && let Some((batches, documents)) = split::yaml_batches(text, self.batch_bytes)
            && batches.len() > 1
        {
            self.reserve_pods(snap, documents);
            match self.resume_point(|l| l.load_yaml_parallel(snap, file, &batches))? {
                None => return Ok(()),
                Some(added) => done = added,
            }
        }
        self.load_yaml_sequential(snap, path, file, text, done)
    }

    /// Makes room for as many Pods as a large file has objects, within the object limit. A Pod
    /// is 2 KiB as stored, so a list of 50,000 grown by doubling copied a hundred megabytes
    /// into fresh memory twice over; the room past the Pods is never touched, so it takes no
    /// memory.
    fn reserve_pods(&self, snap: &mut ClusterSnapshot, objects: usize) {
        let room = self.limits.max_objects.saturating_sub(self.objects);
        // Only a saving: where the system refuses that much address space (strict overcommit,
        // `ulimit -v`, a file of a million small objects of other kinds), the list grows as before.
        let _ = snap.pods.try_reserve(objects.min(room));
    }

    /// Runs a parallel load: `None` when it read the whole file, else how many documents it
    /// added before a part did not parse apart, with the value budget as it was before (the
    /// sequential reader then reads the file from the start, adding what was not added).
    fn resume_point(
        &mut self,
        parallel: impl FnOnce(&mut Self) -> Result<Option<usize>, LoadError>,
    ) -> Result<Option<usize>, LoadError> {
        let values_before = self.values;
        let done = parallel(self)?;
        if done.is_some() {
            self.values = values_before;
        }
        Ok(done)
    }

    /// Parses the batches on the workers and adds their documents in order. `Some(documents
    /// added)` when a batch did not parse (a syntax error, the alias budget): the caller reads
    /// the file sequentially for the exact error.
    fn load_yaml_parallel(
        &mut self,
        snap: &mut ClusterSnapshot,
        file: &str,
        batches: &[&str],
    ) -> Result<Option<usize>, LoadError> {
        let max = self.budget().max;
        let room = max.saturating_sub(self.values);
        let default_namespace = self.default_namespace.clone();
        let parse = |batch: &&str| -> Option<(Vec<Prepared>, usize)> {
            let budget = Budget::new(room);
            let mut docs = Vec::new();
            for doc in yaml_serde::Deserializer::from_str(batch) {
                let value = ValueSeed::object(&budget).deserialize(doc).ok()?;
                docs.push(match value {
                    Value::Null => Prepared::Raw(value),
                    _ => prepare(value, &default_namespace),
                });
            }
            Some((docs, budget.used.get()))
        };
        // An empty document (`---` twice, comments only) is counted, not added.
        let location = |i: usize, item: &Prepared| {
            (!matches!(item, Prepared::Raw(Value::Null))).then(|| format!("{file}#{}", i + 1))
        };
        self.commit_parsed(snap, batches, parse, max, location)
    }

    /// Runs `parse` over the batches on the workers and adds what they give in input order, at
    /// `location(index, item)` (`None`: skip the item). `Some(items seen)` when a batch did not
    /// parse or the parts together exceed the alias budget (`max` values): the caller then reads
    /// the file sequentially from the start, skipping that many.
    fn commit_parsed<B: Sync>(
        &mut self,
        snap: &mut ClusterSnapshot,
        batches: &[B],
        parse: impl Fn(&B) -> Option<(Vec<Prepared>, usize)> + Sync,
        max: usize,
        location: impl Fn(usize, &Prepared) -> Option<String>,
    ) -> Result<Option<usize>, LoadError> {
        let mut done = 0usize;
        let mut fallback = false;
        let mut failure = None;
        split::ordered(batches, self.workers, parse, |parsed| {
            let Some(Some((items, used))) = parsed else {
                fallback = true;
                return false;
            };
            if self.values.saturating_add(used) > max {
                fallback = true;
                return false;
            }
            self.values += used;
            for item in items {
                let at = location(done, &item);
                done += 1;
                let Some(at) = at else { continue };
                if let Err(e) = self.add_prepared(snap, &at, item) {
                    failure = Some(e);
                    return false;
                }
            }
            true
        });
        match failure {
            Some(e) => Err(e),
            None => Ok(fallback.then_some(done)),
        }
    }

    /// The stream parsed document by document; the first `skip` documents were added already
    /// (they are parsed again, for the budget and the error's place, not added).
    fn load_yaml_sequential(
        &mut self,
        snap: &mut ClusterSnapshot,
        path: &Path,
        file: &str,
        text: &str,
        skip: usize,
    ) -> Result<(), LoadError> {
        for (i, doc) in yaml_serde::Deserializer::from_str(text).enumerate() {
            let budget = self.budget();
            let decoded = ValueSeed::object(&budget).deserialize(doc);
            self.values = budget.used.get();
            let value = decoded.map_err(|e| {
                let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
                let message = e.to_string();
                if budget.exceeded.get() {
                    LoadError::AliasBomb {
                        path: path.to_path_buf(),
                        detail: format!(
                            "more than {} values from {} bytes of input, at line {line}",
                            budget.max, self.bytes
                        ),
                    }
                } else if message.contains("repetition limit exceeded") {
                    LoadError::AliasBomb {
                        path: path.to_path_buf(),
                        detail: format!(
                            "document {} expands aliases more than 100 times its own size, the parser's limit",
                            i + 1
                        ),
                    }
                } else if message.contains("recursion limit exceeded") {
                    LoadError::TooDeep {
                        path: path.to_path_buf(),
                        line,
                        column,
                    }
                } else {
                    LoadError::Yaml {
                        path: path.to_path_buf(),
                        line,
                        column,
                        message,
                    }
                }
            })?;
            if value.is_null() || i < skip {
                continue; // an empty document (`---` twice, comments only), or one added already
            }
            self.add(snap, &format!("{file}#{}", i + 1), value)?;
        }
        Ok(())
    }

    /// A JSON object, or an array decoded and added element by element (a huge array never
    /// sits in memory as a whole).
    fn load_json(&mut self, snap: &mut ClusterSnapshot, path: &Path, file: &str, text: &str) -> Result<(), LoadError> {
        let mut done = 0;
        if text.len() >= self.parallel_min_bytes
            && let Some(split) = split::json_split(text, self.batch_bytes)
        {
            match self.resume_point(|l| l.load_json_parallel(snap, file, &split))? {
                None => return Ok(()),
                Some(added) => done = added,
            }
        }
        self.load_json_sequential(snap, path, file, text, done)
    }

    /// A top-level array, or a `List`'s `items`, parsed on the workers a batch of elements at a
    /// time (borrowed from the text) and added in order. `Some(elements added)` when the split
    /// does not hold (not a List, a syntax error, the alias budget): the caller reads the file
    /// sequentially.
    fn load_json_parallel(
        &mut self,
        snap: &mut ClusterSnapshot,
        file: &str,
        split: &split::JsonSplit<'_>,
    ) -> Result<Option<usize>, LoadError> {
        let max = self.budget().max;
        let elements: usize = split.batches.iter().map(Vec::len).sum();
        self.reserve_pods(snap, elements);
        // The text around the elements, each element a `0`: checked and read on its own.
        let counted = Budget::new(usize::MAX);
        let mut json = serde_json::Deserializer::from_str(&split.skeleton);
        let Ok(skeleton) = ValueSeed::object(&counted)
            .deserialize(&mut json)
            .and_then(|v| json.end().map(|()| v))
        else {
            return Ok(Some(0));
        };
        let list = match &skeleton {
            Value::Object(map) if split.items => {
                let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
                match ListOf::new(kind, map) {
                    Some(list) => Some(list),
                    None => return Ok(Some(0)), // an object that is no List is added whole
                }
            }
            Value::Array(_) if !split.items => None,
            _ => return Ok(Some(0)),
        };
        // The values the sequential decoder counts besides the elements (it does not count the
        // top-level array).
        let around = counted
            .used
            .get()
            .saturating_sub(elements + usize::from(list.is_none()));
        if self.values.saturating_add(around) > max {
            return Ok(Some(0));
        }
        self.values += around;
        let room = max.saturating_sub(self.values);
        let default_namespace = self.default_namespace.clone();
        let parse = |batch: &Vec<&str>| -> Option<(Vec<Prepared>, usize)> {
            let budget = Budget::new(room);
            let mut out = Vec::with_capacity(batch.len());
            for element in batch {
                let mut json = serde_json::Deserializer::from_str(element);
                let mut v = ValueSeed::object(&budget).deserialize(&mut json).ok()?;
                json.end().ok()?;
                if let Some(list) = &list {
                    list.fill(&mut v);
                }
                out.push(prepare(v, &default_namespace));
            }
            Some((out, budget.used.get()))
        };
        let items = if list.is_some() { ".items" } else { "" };
        let location = |i: usize, _: &Prepared| Some(format!("{file}{items}[{i}]"));
        self.commit_parsed(snap, &split.batches, parse, max, location)
    }

    /// The sequential JSON reader; the first `skip` elements (of the array or of the List's
    /// items) were added already.
    fn load_json_sequential(
        &mut self,
        snap: &mut ClusterSnapshot,
        path: &Path,
        file: &str,
        text: &str,
        skip: usize,
    ) -> Result<(), LoadError> {
        let budget = self.budget();
        let mut failure: Option<LoadError> = None;
        let mut json = serde_json::Deserializer::from_str(text);
        let decoded = if text.trim_start().starts_with('[') {
            de::Deserializer::deserialize_seq(
                &mut json,
                ArrayVisitor {
                    loader: &mut *self,
                    snap: &mut *snap,
                    file,
                    budget: &budget,
                    failure: &mut failure,
                    skip,
                },
            )
            .map(|()| None)
        } else {
            ValueSeed::object(&budget).deserialize(&mut json).map(Some)
        }
        .and_then(|v| json.end().map(|()| v));
        self.values = budget.used.get();
        if let Some(e) = failure {
            return Err(e);
        }
        let value = decoded.map_err(|e| {
            let message = e.to_string();
            if budget.exceeded.get() {
                LoadError::AliasBomb {
                    path: path.to_path_buf(),
                    detail: format!("more than {} values from {} bytes of input", budget.max, self.bytes),
                }
            } else if message.starts_with("recursion limit exceeded") {
                LoadError::TooDeep {
                    path: path.to_path_buf(),
                    line: e.line(),
                    column: e.column(),
                }
            } else {
                LoadError::Json {
                    path: path.to_path_buf(),
                    line: e.line(),
                    column: e.column(),
                    message,
                }
            }
        })?;
        if let Some(v) = value {
            self.add_skipping(snap, file, v, skip)?;
        }
        Ok(())
    }

    /// Adds one document or array element: an object, or a List whose items are added one by
    /// one. Every object counts against the limit, the ones skipped with a warning too.
    fn add(&mut self, snap: &mut ClusterSnapshot, location: &str, value: Value) -> Result<(), LoadError> {
        self.add_skipping(snap, location, value, 0)
    }

    /// [`Loader::add`], but the first `skip` items of a List were added already.
    fn add_skipping(
        &mut self,
        snap: &mut ClusterSnapshot,
        location: &str,
        value: Value,
        skip: usize,
    ) -> Result<(), LoadError> {
        if let Value::Object(mut map) = value {
            let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
            if let Some(list) = ListOf::new(&kind, &map) {
                let Some(Value::Array(items)) = map.remove("items") else {
                    return Ok(());
                };
                for (i, item) in items.into_iter().enumerate().skip(skip) {
                    self.add_item(snap, location, &list, i, item)?;
                }
                return Ok(());
            }
            self.count_object(location)?;
            self.add_object(snap, location, kind, map);
        } else {
            self.count_object(location)?;
            snap.warnings.push(LoadWarning {
                location: Some(location.to_string()),
                object: None,
                message: "not a Kubernetes object (expected a mapping with apiVersion and kind): skipped".into(),
            });
        }
        self.cap_warnings(snap);
        Ok(())
    }

    /// Item `i` of a List at `location`: it takes the kind and apiVersion of a `*List` it lacks.
    fn add_item(
        &mut self,
        snap: &mut ClusterSnapshot,
        location: &str,
        list: &ListOf,
        i: usize,
        mut item: Value,
    ) -> Result<(), LoadError> {
        list.fill(&mut item);
        self.add(snap, &format!("{location}.items[{i}]"), item)
    }

    fn count_object(&mut self, location: &str) -> Result<(), LoadError> {
        if self.objects >= self.limits.max_objects {
            return Err(LoadError::TooManyObjects {
                location: location.to_string(),
                limit: self.limits.max_objects,
            });
        }
        self.objects += 1;
        Ok(())
    }

    fn add_object(&mut self, snap: &mut ClusterSnapshot, location: &str, kind: String, mut map: Map<String, Value>) {
        if kind.is_empty() {
            snap.warnings.push(LoadWarning {
                location: Some(location.to_string()),
                object: None,
                message: "object has no kind: skipped".into(),
            });
            return;
        }
        let api_version = map
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let group = match api_version.rsplit_once('/') {
            Some((g, _)) => g.to_string(),
            None => String::new(), // core group ("v1") or missing apiVersion
        };
        let namespace_defaulted = self.default_namespace(&group, &kind, &mut map);
        let mut value = Value::Object(map);
        value::trim(&mut value);
        let ctx = Ctx {
            location,
            kind: &kind,
            value: &value,
        };
        match (group.as_str(), kind.as_str()) {
            ("", "Namespace") => {
                if <k8s_openapi::api::core::v1::Namespace as serde::Deserialize>::deserialize(ctx.value).is_err()
                    && let Some(name) = meta_str(ctx.value, "name").filter(|n| !n.is_empty())
                {
                    snap.unreadable_namespaces.push(name.to_string());
                }
                self.push(snap, &ctx, |s| &mut s.namespaces)
            }
            ("", "Pod") => self.push(snap, &ctx, |s| &mut s.pods),
            ("", "Service") => self.push(snap, &ctx, |s| &mut s.services),
            ("", "Endpoints") => self.push(snap, &ctx, |s| &mut s.endpoints),
            ("", "Node") => self.push(snap, &ctx, |s| &mut s.nodes),
            ("discovery.k8s.io" | "", "EndpointSlice") => self.push(snap, &ctx, |s| &mut s.endpoint_slices),
            ("networking.k8s.io" | "", "NetworkPolicy") => self.network_policy(snap, &ctx),
            ("apps" | "", "Deployment") => {
                self.workload::<Deployment>(snap, &ctx, WorkloadKind::Deployment, |d| d.spec.map(|s| s.template))
            }
            ("apps" | "", "ReplicaSet") => self.workload::<ReplicaSet>(snap, &ctx, WorkloadKind::ReplicaSet, |d| {
                d.spec.and_then(|s| s.template)
            }),
            ("apps" | "", "StatefulSet") => {
                self.workload::<StatefulSet>(snap, &ctx, WorkloadKind::StatefulSet, |d| d.spec.map(|s| s.template))
            }
            ("apps" | "", "DaemonSet") => {
                self.workload::<DaemonSet>(snap, &ctx, WorkloadKind::DaemonSet, |d| d.spec.map(|s| s.template))
            }
            ("batch" | "", "Job") => {
                self.workload::<Job>(snap, &ctx, WorkloadKind::Job, |d| d.spec.map(|s| s.template))
            }
            ("batch" | "", "CronJob") => self.workload::<CronJob>(snap, &ctx, WorkloadKind::CronJob, |d| {
                d.spec.and_then(|s| s.job_template.spec).map(|s| s.template)
            }),
            ("", "ReplicationController") => {
                self.workload::<ReplicationController>(snap, &ctx, WorkloadKind::ReplicationController, |d| {
                    d.spec.and_then(|s| s.template)
                })
            }
            _ => snap.others.push(OtherObject {
                api_version,
                kind: kind.clone(),
                namespace: meta_str(&value, "namespace").map(str::to_string),
                name: meta_str(&value, "name").unwrap_or_default().to_string(),
                value,
                location: location.to_string(),
                namespace_defaulted,
            }),
        }
    }

    /// Parses and appends a typed object. A second object of the same kind, namespace and name
    /// is a warning naming both places, and the first one is kept.
    fn push<T: DeserializeOwned + PartialEq>(
        &mut self,
        snap: &mut ClusterSnapshot,
        ctx: &Ctx<'_>,
        list: impl Fn(&mut ClusterSnapshot) -> &mut Vec<T>,
    ) {
        let meta = Meta {
            location: ctx.location,
            kind: ctx.kind,
            name: meta_str(ctx.value, "name"),
            namespace: meta_str(ctx.value, "namespace"),
        };
        self.push_decoded(snap, &meta, decode(ctx.value), list);
    }

    /// [`Loader::push`] once decoded (here or by a worker).
    fn push_decoded<T: PartialEq>(
        &mut self,
        snap: &mut ClusterSnapshot,
        meta: &Meta<'_>,
        decoded: Result<T, String>,
        list: impl Fn(&mut ClusterSnapshot) -> &mut Vec<T>,
    ) {
        let v = match decoded {
            Ok(v) => v,
            Err(message) => return meta.warn(snap, message),
        };
        let index = list(snap).len();
        let key = object_key(meta.kind, meta.name, meta.namespace);
        if let Some((first, first_index)) = self.first_copy_of(meta.kind, key, meta.location, index) {
            let same = list(snap).get(first_index) == Some(&v);
            meta.warn_duplicate(snap, &first, same);
            return;
        }
        list(snap).push(v);
    }

    /// Where the first object with this kind, namespace and name was loaded (and its index in
    /// its list), when this one is a duplicate; otherwise records this one at `index`.
    fn first_copy(&mut self, ctx: &Ctx<'_>, index: usize) -> Option<(String, usize)> {
        self.first_copy_of(ctx.kind, ctx.key(), ctx.location, index)
    }

    fn first_copy_of(
        &mut self,
        kind: &str,
        key: Option<(String, String)>,
        location: &str,
        index: usize,
    ) -> Option<(String, usize)> {
        let key = key?;
        match self.seen.entry(format!("{kind}/{}/{}", key.0, key.1)) {
            Entry::Occupied(e) => Some(e.get().clone()),
            Entry::Vacant(e) => {
                e.insert((location.to_string(), index));
                None
            }
        }
    }

    /// Adds an object a worker prepared (see [`prepare`]), as [`Loader::add`] would have.
    fn add_prepared(&mut self, snap: &mut ClusterSnapshot, location: &str, item: Prepared) -> Result<(), LoadError> {
        let p = match item {
            Prepared::Raw(value) => return self.add(snap, location, value),
            Prepared::Typed(p) => p,
        };
        self.count_object(location)?;
        if p.namespace_defaulted {
            self.defaulted += 1;
        }
        let meta = Meta {
            location,
            kind: p.kind,
            name: p.name.as_deref(),
            namespace: p.namespace.as_deref(),
        };
        match p.object {
            Typed::Pod(d) => self.push_decoded(snap, &meta, d.map(|b| *b), |s| &mut s.pods),
            Typed::Service(d) => self.push_decoded(snap, &meta, d.map(|b| *b), |s| &mut s.services),
            Typed::Endpoints(d) => self.push_decoded(snap, &meta, d.map(|b| *b), |s| &mut s.endpoints),
            Typed::Node(d) => self.push_decoded(snap, &meta, d.map(|b| *b), |s| &mut s.nodes),
            Typed::EndpointSlice(d) => self.push_decoded(snap, &meta, d.map(|b| *b), |s| &mut s.endpoint_slices),
        }
        self.cap_warnings(snap);
        Ok(())
    }

    fn cap_warnings(&mut self, snap: &mut ClusterSnapshot) {
        if snap.warnings.len() > self.warnings_cap {
            self.warnings_hidden += snap.warnings.len() - self.warnings_cap;
            snap.warnings.truncate(self.warnings_cap);
        }
    }

    /// A NetworkPolicy. Copies with the same spec load once; copies with different specs leave
    /// an unreadable policy (the cluster holds one of them, we cannot tell which).
    fn network_policy(&mut self, snap: &mut ClusterSnapshot, ctx: &Ctx<'_>) {
        if let Some((ns, name)) = ctx.key() {
            snap.network_policy_values
                .entry(format!("{ns}/{name}"))
                .or_insert_with(|| ctx.value.clone());
        }
        let parsed = if self.strict {
            ctx.parse_strict::<NetworkPolicy>(snap)
        } else {
            ctx.parse::<NetworkPolicy>(snap).map(|np| (np, Vec::new()))
        };
        let Some((np, unknown)) = parsed else {
            snap.unreadable_policies.push(UnreadablePolicy::from_value(ctx.value));
            return;
        };
        unknown_fields(snap, ctx, &unknown);
        let Some(key) = ctx.key() else {
            unknown_policy_types(snap, ctx, &np);
            snap.network_policies.push(np);
            return;
        };
        let seen = self.seen_policies.get(&key).map(|s| match s {
            SeenPolicy::Readable { location, index } => (false, location.clone(), *index),
            SeenPolicy::Conflicting { location, index } => (true, location.clone(), *index),
        });
        match seen {
            None => {
                unknown_policy_types(snap, ctx, &np);
                self.seen_policies.insert(
                    key,
                    SeenPolicy::Readable {
                        location: ctx.location.to_string(),
                        index: snap.network_policies.len(),
                    },
                );
                snap.network_policies.push(np);
            }
            Some((false, location, index)) => {
                let first = &snap.network_policies[index];
                if first.spec == np.spec {
                    ctx.warn_duplicate(snap, &location, true);
                    return;
                }
                let mut merged = serde_json::to_value(first)
                    .map(|v| UnreadablePolicy::from_value(&v))
                    .unwrap_or_else(|_| UnreadablePolicy::from_value(ctx.value));
                merged.merge(&UnreadablePolicy::from_value(ctx.value));
                ctx.warn(
                    snap,
                    format!(
                        "appears again with a different spec (first at {location}); the cluster holds one of them and which one is unknown, so neither is used and the policy counts as unreadable"
                    ),
                );
                self.dropped_policies.insert(index);
                self.seen_policies.insert(
                    key,
                    SeenPolicy::Conflicting {
                        location,
                        index: snap.unreadable_policies.len(),
                    },
                );
                snap.unreadable_policies.push(merged);
            }
            Some((true, location, index)) => {
                let other = UnreadablePolicy::from_value(ctx.value);
                if let Some(u) = snap.unreadable_policies.get_mut(index) {
                    u.merge(&other);
                }
                ctx.warn(
                    snap,
                    format!("appears again (first at {location}; the copies differ): the policy counts as unreadable"),
                );
            }
        }
    }

    fn workload<
        T: DeserializeOwned + k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
    >(
        &mut self,
        snap: &mut ClusterSnapshot,
        ctx: &Ctx<'_>,
        kind: WorkloadKind,
        template: impl FnOnce(T) -> Option<k8s_openapi::api::core::v1::PodTemplateSpec>,
    ) {
        let Some(obj) = ctx.parse::<T>(snap) else {
            return;
        };
        let metadata = obj.metadata().clone();
        let Some(template) = template(obj) else {
            ctx.warn(snap, "workload has no pod template (spec.template): skipped".into());
            return;
        };
        let w = Workload {
            kind,
            metadata,
            template,
        };
        if let Some((first, index)) = self.first_copy(ctx, snap.workloads.len()) {
            let same = snap
                .workloads
                .get(index)
                .is_some_and(|f| f.metadata == w.metadata && f.template == w.template);
            ctx.warn_duplicate(snap, &first, same);
            return;
        }
        snap.workloads.push(w);
    }

    /// Drops the policies replaced by unreadable ones, records where the others were read, and
    /// counts the warnings not kept.
    fn finish(self, snap: &mut ClusterSnapshot) {
        if self.defaulted > 0 {
            let d = snap.defaulted.get_or_insert_with(|| NamespaceDefaulting {
                namespace: self.default_namespace.clone(),
                objects: 0,
            });
            d.objects += self.defaulted;
        }
        for ((ns, name), seen) in self.seen_policies {
            if let SeenPolicy::Readable { location, .. } = seen {
                snap.policy_locations.insert(format!("{ns}/{name}"), location);
            }
        }
        if !self.dropped_policies.is_empty() {
            let mut i = 0;
            snap.network_policies.retain(|_| {
                let keep = !self.dropped_policies.contains(&i);
                i += 1;
                keep
            });
        }
        if self.warnings_hidden > 0 {
            snap.warnings.push(LoadWarning {
                location: None,
                object: None,
                message: format!(
                    "{} more load warnings are not listed (at most {MAX_WARNINGS} are kept)",
                    self.warnings_hidden
                ),
            });
        }
    }
}

/// A policyTypes value other than Ingress and Egress (the API server rejects it) may stand for
/// a direction the policy does not list: the policy loads as it reads (the value ignored), and
/// an unreadable policy with its podSelector stands for the directions it does not list, so a
/// verdict one of them decides is inconclusive rather than a guess.
fn unknown_policy_types(snap: &mut ClusterSnapshot, ctx: &Ctx<'_>, np: &NetworkPolicy) {
    let Some(spec) = &np.spec else { return };
    let types = spec.policy_types.as_deref().unwrap_or_default();
    let Some((i, t)) = types
        .iter()
        .enumerate()
        .find(|(_, t)| *t != "Ingress" && *t != "Egress")
    else {
        return;
    };
    let ingress = types.iter().any(|t| t == "Ingress");
    let egress = types.iter().any(|t| t == "Egress");
    let unlisted = match (ingress, egress) {
        (true, true) => return, // both listed: the unknown value cannot change anything
        (true, false) => "egress",
        (false, true) => "ingress",
        (false, false) => "ingress or egress",
    };
    ctx.warn(
        snap,
        format!(
            "spec.policyTypes[{i}]: unknown policy type {t:?} (accepted: Ingress, Egress; the API server rejects the policy); it may stand for {unlisted}, so a verdict on {unlisted} of the pods it selects is inconclusive"
        ),
    );
    snap.unreadable_policies.push(UnreadablePolicy {
        pod_selector: Some(spec.pod_selector.clone().unwrap_or_default()),
        may_isolate_ingress: !ingress,
        may_isolate_egress: !egress,
        ..UnreadablePolicy::from_value(ctx.value)
    });
}

/// Fields of a NetworkPolicy the API server does not know: each is a warning naming it, and
/// an unreadable part holds back what it may change (see `strict`).
fn unknown_fields(snap: &mut ClusterSnapshot, ctx: &Ctx<'_>, fields: &[String]) {
    if fields.is_empty() {
        return;
    }
    let read = UnreadablePolicy::from_value(ctx.value);
    for field in fields {
        let held = strict::held_back(&read, field);
        ctx.warn(snap, strict::message(field, &held));
        if held.may_isolate_ingress || held.may_isolate_egress {
            snap.unreadable_policies.push(held);
        }
    }
}

/// A `List` or `*List` object (`kind` ends with `List`, `items` is an array): what its items take
/// from it.
struct ListOf {
    /// `Pod` of `PodList`; empty for `List`.
    item_kind: String,
    api_version: Option<Value>,
}

impl ListOf {
    fn new(kind: &str, map: &Map<String, Value>) -> Option<ListOf> {
        if !(kind.ends_with("List") && map.get("items").is_some_and(Value::is_array)) {
            return None;
        }
        Some(ListOf {
            item_kind: kind.strip_suffix("List").unwrap_or_default().to_string(),
            api_version: map.get("apiVersion").cloned(),
        })
    }

    /// Gives an item of a `*List` the kind and apiVersion it lacks.
    fn fill(&self, item: &mut Value) {
        if let Value::Object(o) = item {
            if !o.contains_key("kind") && !self.item_kind.is_empty() {
                o.insert("kind".into(), Value::String(self.item_kind.clone()));
            }
            if !o.contains_key("apiVersion")
                && let Some(av) = &self.api_version
                && !self.item_kind.is_empty()
            {
                o.insert("apiVersion".into(), av.clone());
            }
        }
    }
}

/// The top-level JSON array: each element is added as soon as it is decoded.
struct ArrayVisitor<'a> {
    loader: &'a mut Loader,
    snap: &'a mut ClusterSnapshot,
    file: &'a str,
    budget: &'a Budget,
    /// Why the load stopped, when it was the loader (the decoder only sees a custom error).
    failure: &'a mut Option<LoadError>,
    /// Elements added already (parsed again, not added).
    skip: usize,
}

impl<'de> Visitor<'de> for ArrayVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while let Some(v) = seq.next_element_seed(ValueSeed::object(self.budget))? {
            // The decoder counted into the budget; keep the loader's count in step for the
            // next file.
            self.loader.values = self.budget.used.get();
            if i < self.skip {
                i += 1;
                continue;
            }
            if let Err(e) = self.loader.add(self.snap, &format!("{}[{i}]", self.file), v) {
                *self.failure = Some(e);
                return Err(de::Error::custom("the load stopped"));
            }
            i += 1;
        }
        Ok(())
    }
}

/// Where an object was read and what it is called, for its warnings and duplicates.
struct Meta<'a> {
    location: &'a str,
    kind: &'a str,
    name: Option<&'a str>,
    namespace: Option<&'a str>,
}

impl Meta<'_> {
    fn warn(&self, snap: &mut ClusterSnapshot, message: String) {
        snap.warnings.push(LoadWarning {
            location: Some(self.location.to_string()),
            object: Some(object_label(self.kind, self.name, self.namespace)),
            message,
        });
    }

    fn warn_duplicate(&self, snap: &mut ClusterSnapshot, first: &str, same: bool) {
        self.warn(snap, duplicate_message(first, same));
    }
}

fn duplicate_message(first: &str, same: bool) -> String {
    let copy = if same {
        "an identical copy"
    } else {
        "a different copy; the first one is used"
    };
    format!("appears again (first at {first}): {copy}, this one is skipped")
}

/// A document or element as a worker hands it over: decoded to its typed object when it is
/// one of the common kinds that need nothing of the loader's state (the worker frees the
/// value it allocated), else the value for [`Loader::add`].
enum Prepared {
    Raw(Value),
    Typed(TypedObject),
}

struct TypedObject {
    kind: &'static str,
    name: Option<String>,
    namespace: Option<String>,
    namespace_defaulted: bool,
    object: Typed,
}

/// Boxed: a `Pod` is large, and it is handed on several times before it is stored.
enum Typed {
    Pod(Result<Box<k8s_openapi::api::core::v1::Pod>, String>),
    Service(Result<Box<k8s_openapi::api::core::v1::Service>, String>),
    Endpoints(Result<Box<k8s_openapi::api::core::v1::Endpoints>, String>),
    Node(Result<Box<k8s_openapi::api::core::v1::Node>, String>),
    EndpointSlice(Result<Box<k8s_openapi::api::discovery::v1::EndpointSlice>, String>),
}

/// What [`Loader::add_object`] does to an object of a common kind before it needs the loader
/// (the namespace defaulted, the typed decode), done by a worker; anything else stays a value.
fn prepare(value: Value, default_namespace: &str) -> Prepared {
    let Value::Object(mut map) = value else {
        return Prepared::Raw(value);
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
    let group = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .and_then(|av| av.rsplit_once('/'))
        .map_or("", |(g, _)| g);
    let kind: &'static str = match (group, kind) {
        ("", "Pod") => "Pod",
        ("", "Service") => "Service",
        ("", "Endpoints") => "Endpoints",
        ("", "Node") => "Node",
        ("discovery.k8s.io" | "", "EndpointSlice") => "EndpointSlice",
        _ => return Prepared::Raw(Value::Object(map)),
    };
    if ListOf::new(kind, &map).is_some() {
        return Prepared::Raw(Value::Object(map));
    }
    let mut namespace_defaulted = false;
    if !super::is_cluster_scoped("", kind)
        && let Some(Value::Object(meta)) = map.get_mut("metadata")
        && !meta
            .get("namespace")
            .is_some_and(|n| !n.is_null() && n.as_str() != Some(""))
    {
        meta.insert("namespace".into(), Value::String(default_namespace.to_string()));
        namespace_defaulted = true;
    }
    let mut value = Value::Object(map);
    value::trim(&mut value);
    let object = match kind {
        "Pod" => Typed::Pod(decode(&value)),
        "Service" => Typed::Service(decode(&value)),
        "Endpoints" => Typed::Endpoints(decode(&value)),
        "Node" => Typed::Node(decode(&value)),
        _ => Typed::EndpointSlice(decode(&value)),
    };
    TypedObject {
        kind,
        name: meta_str(&value, "name").map(str::to_string),
        namespace: meta_str(&value, "namespace").map(str::to_string),
        namespace_defaulted,
        object,
    }
    .into()
}

impl From<TypedObject> for Prepared {
    fn from(t: TypedObject) -> Prepared {
        Prepared::Typed(t)
    }
}

struct Ctx<'a> {
    location: &'a str,
    kind: &'a str,
    value: &'a Value,
}

/// `Kind ns/name` in messages.
fn object_label(kind: &str, name: Option<&str>, namespace: Option<&str>) -> String {
    let name = name.unwrap_or("<unnamed>");
    match namespace {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// `(namespace, name)` after defaulting, the way the index keys objects; `None` without a name
/// (nothing to compare).
fn object_key(kind: &str, name: Option<&str>, namespace: Option<&str>) -> Option<(String, String)> {
    let name = name.filter(|n| !n.is_empty())?;
    let ns = match kind {
        "Namespace" | "Node" => "",
        _ => namespace.filter(|n| !n.is_empty()).unwrap_or("default"),
    };
    Some((ns.to_string(), name.to_string()))
}

/// Deserializes a typed object from its value; a failure is the message of the warning that
/// names the field.
fn decode<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    // From the borrowed value: strings are copied out, the tree is not cloned. Without the path
    // first (tracking it cost a fifth of a Pod's decode); a failure is decoded again for it.
    if let Ok(v) = T::deserialize(value) {
        return Ok(v);
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let field = e.path().to_string();
        format!("does not parse at field `{field}`: {}; object skipped", e.inner())
    })
}

impl Ctx<'_> {
    fn object(&self) -> String {
        object_label(
            self.kind,
            meta_str(self.value, "name"),
            meta_str(self.value, "namespace"),
        )
    }

    fn key(&self) -> Option<(String, String)> {
        object_key(
            self.kind,
            meta_str(self.value, "name"),
            meta_str(self.value, "namespace"),
        )
    }

    fn warn(&self, snap: &mut ClusterSnapshot, message: String) {
        snap.warnings.push(LoadWarning {
            location: Some(self.location.to_string()),
            object: Some(self.object()),
            message,
        });
    }

    fn warn_duplicate(&self, snap: &mut ClusterSnapshot, first: &str, same: bool) {
        self.warn(snap, duplicate_message(first, same));
    }

    /// Deserializes the object, turning a failure into a warning that names the field.
    fn parse<T: DeserializeOwned>(&self, snap: &mut ClusterSnapshot) -> Option<T> {
        match decode(self.value) {
            Ok(v) => Some(v),
            Err(message) => {
                self.warn(snap, message);
                None
            }
        }
    }
}

impl Ctx<'_> {
    /// Deserializes the object as the API server would, returning the fields it does not know
    /// with it; a failure is a warning naming the field, as in [`Ctx::parse`].
    fn parse_strict<T: DeserializeOwned>(&self, snap: &mut ClusterSnapshot) -> Option<(T, Vec<String>)> {
        match strict::decode::<T>(self.value) {
            Ok(v) => Some(v),
            Err((field, message)) => {
                self.warn(
                    snap,
                    format!("does not parse at field `{field}`: {message}; object skipped"),
                );
                None
            }
        }
    }
}

fn meta_str<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get("metadata")?.get(key)?.as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_document_yaml_and_lists_load() {
        let text = r#"
apiVersion: v1
kind: Namespace
metadata: {name: a}
---
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: p, namespace: a}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: np, namespace: a}
  spec: {podSelector: {}}
---
apiVersion: v1
kind: PodList
items:
- metadata: {name: q, namespace: a}
"#;
        let s = load_str("t.yaml", text).unwrap();
        assert_eq!(s.namespaces.len(), 1);
        assert_eq!(s.pods.len(), 2, "kind: List and PodList items both load");
        assert_eq!(s.network_policies.len(), 1);
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn json_objects_and_arrays_load() {
        let s = load_str(
            "t.json",
            r#"[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}]"#,
        )
        .unwrap();
        assert_eq!(s.pods.len(), 1);
    }

    #[test]
    fn yaml_syntax_error_names_file_and_line() {
        let err = load_str("bad.yaml", "kind: Pod\nmetadata: {name: [\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("bad.yaml:"), "{msg}");
        assert!(msg.contains("YAML syntax error"), "{msg}");
    }

    #[test]
    fn a_bad_object_is_a_warning_naming_the_field_and_the_rest_loads() {
        let text = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: broken, namespace: a}
spec: {podSelector: {}, ingress: [{ports: [{port: {x: 1}}]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: a}
"#;
        let s = load_str("t.yaml", text).unwrap();
        assert_eq!(s.pods.len(), 1);
        assert_eq!(s.unreadable_policies.len(), 1);
        let u = &s.unreadable_policies[0];
        assert_eq!(u.key(), "a/broken");
        assert_eq!(
            u.pod_selector,
            Some(Default::default()),
            "the podSelector still reads: {{}}"
        );
        assert!(
            u.may_isolate_ingress && !u.may_isolate_egress,
            "policyTypes omitted, no egress section"
        );
        let w = s.warnings[0].to_string();
        assert!(
            w.contains("t.yaml#1")
                && w.contains("NetworkPolicy a/broken")
                && w.contains("spec.ingress[0].ports[0].port"),
            "{w}"
        );
    }

    #[test]
    fn calico_network_policy_is_not_a_kubernetes_network_policy() {
        let s = load_str(
            "t.yaml",
            "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: c, namespace: a}\nspec: {selector: all()}\n",
        )
        .unwrap();
        assert!(s.network_policies.is_empty());
        assert_eq!(s.others.len(), 1);
        assert_eq!(s.others[0].kind, "NetworkPolicy");
    }

    #[test]
    fn workloads_keep_their_template() {
        let s = load_str(
            "t.yaml",
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n        metadata: {labels: {app: c}}\n        spec: {containers: [{name: x}]}\n",
        )
        .unwrap();
        assert_eq!(s.workloads.len(), 1);
        assert_eq!(s.workloads[0].kind, WorkloadKind::CronJob);
    }

    #[test]
    fn add_value_without_limits_still_resolves_conflicting_copies() {
        let mut snap = ClusterSnapshot::default();
        let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": "p", "namespace": "a"}, "spec": {"podSelector": {}}},
            {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
             "metadata": {"name": "p", "namespace": "a"}, "spec": {"podSelector": {}, "ingress": [{}]}},
        ]});
        add_value(&mut snap, "live", list);
        assert!(snap.network_policies.is_empty());
        assert_eq!(snap.unreadable_policies.len(), 1);
        assert!(
            snap.warnings[0]
                .to_string()
                .contains("different spec (first at live.items[0])")
        );
    }

    #[test]
    fn limits_count_bytes_and_objects() {
        let dir = std::env::temp_dir().join(format!("netpol-debug-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("two.yaml");
        std::fs::write(&p, "kind: Namespace\napiVersion: v1\nmetadata: {name: a}\n---\nkind: Namespace\napiVersion: v1\nmetadata: {name: b}\n").unwrap();
        let load =
            |max_bytes, max_objects| load_paths_with(std::slice::from_ref(&p), &Limits { max_bytes, max_objects });
        assert_eq!(load(1000, 2).unwrap().namespaces.len(), 2);
        assert!(matches!(load(10, 2), Err(LoadError::TooLarge { at_least: false, .. })));
        assert!(matches!(load(1000, 1), Err(LoadError::TooManyObjects { limit: 1, .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Loads `text` as `load_str` does, parsed apart on two workers one document or element at
    /// a time (`parallel`), or sequentially.
    fn load_with(name: &str, text: &str, parallel: bool, limits: Limits) -> Result<ClusterSnapshot, LoadError> {
        let mut snap = ClusterSnapshot::default();
        let mut loader = Loader::new(limits, &snap);
        (loader.parallel_min_bytes, loader.batch_bytes, loader.workers) =
            if parallel { (0, 1, 2) } else { (usize::MAX, 1, 1) };
        let path = Path::new(name);
        loader.count_bytes(path, text.len() as u64)?;
        loader.load_text(&mut snap, path, text)?;
        loader.finish(&mut snap);
        Ok(snap)
    }

    #[test]
    fn parallel_and_sequential_loads_are_the_same() {
        let pod = |n: usize| format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p{n}, namespace: a}}\n");
        let np = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: a}\nspec: {podSelector: {}}\n";
        let np2 = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: np, namespace: a}\nspec: {podSelector: {}, egres: []}\n";
        let yaml = [
            format!("{}---\n{}---\n{}", pod(1), pod(2), pod(1)),
            format!("# head\n---\n{}---\n---\n{}...\n---\n{}", pod(1), pod(2), np),
            format!("%YAML 1.1\n---\n{}--- # c\n{}---\n{np2}---\n{np}", pod(1), pod(2)),
            format!("{}---\n%TAG ! tag:x,2000:\n---\n{}", pod(1), pod(2)),
            format!("{}--- \n{}--- |\n  text\n---\n- 1\n", pod(1), pod(2)),
            format!("{}\r\n---\r\n{}", pod(1).replace('\n', "\r\n"), pod(2)),
            format!(
                "{}---\nkind: List\napiVersion: v1\nitems:\n- {{kind: Pod, apiVersion: v1, metadata: {{name: q}}}}\n---\nkind: PodList\napiVersion: v1\nitems: [{{metadata: {{name: r}}}}]\n",
                pod(1)
            ),
            // Errors: syntax in a later document, a quoted scalar cut by a marker, a flow
            // collection across a marker, an alias bomb, nesting, a missing document start.
            format!("{}---\n{}---\nkind: [\n", pod(1), pod(2)),
            format!("{}---\na: \"x\n---\ny\"\n", pod(1)),
            format!("{}---\na: [1,\n---\n]\n", pod(1)),
            format!("{}...\n{}", pod(1), pod(2)),
            format!(
                "{}---\na: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n---\n{}",
                pod(1),
                pod(2)
            ),
            format!("{}---\n{}{}\n", pod(1), "[".repeat(200), "]".repeat(200)),
            format!("{}---\n{}---\n{}", pod(1), "just text\n", pod(2)),
            format!(
                "{}---\napiVersion: v1\nkind: Service\nmetadata: {{name: s}}\nspec: {{ports: [{{port: x}}]}}\n---\napiVersion: v1\nkind: Node\nmetadata: {{name: n, namespace: x}}\n---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {{name: e}}\naddressType: IPv4\nendpoints: []\n---\napiVersion: v1\nkind: Pod\n---\napiVersion: v1\nkind: Pod\nmetadata: {{name: 7, namespace: ''}}\n---\n{}---\napiVersion: v1\nkind: Endpoints\nmetadata: {{name: s, namespace: default}}\n---\napiVersion: v1\nkind: Endpoints\nmetadata: {{name: s}}\nsubsets: []\n---\napiVersion: v2\nkind: Pod\nmetadata: {{name: p1, namespace: a}}\n",
                pod(1),
                pod(1).replace("{name: p1, namespace: a}", "{name: p1, namespace: a, labels: {x: y}}")
            ),
        ];
        let json = [
            r#"[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}, 1, {"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"}}]"#.to_string(),
            r#"{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"a"}},{"kind":"Namespace","apiVersion":"v1","metadata":{"name":"a"}}],"kind":"List","metadata":{}}"#.to_string(),
            r#"{"apiVersion":"v1","kind":"PodList","items":[{"metadata":{"name":"p"}},{"metadata":{"name":"q"}},{"metadata":{"name":"p"},"spec":{"containers":5}}]}"#.to_string(),
            r#"{"apiVersion":"v1","kind":"ServiceList","items":[{"metadata":{"name":"p"}},{"kind":"Pod","metadata":{"name":"q"}},{"apiVersion":"v2","metadata":{"name":"p"}}]}"#.to_string(),
            r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"},"items":[1,2]}"#.to_string(),
            r#"{"apiVersion":"v1","kind":"List","items":[]}"#.to_string(),
            r#"{"apiVersion":"v1","kind":"List","items":[{"kind":"Pod"}, {"kind": }]}"#.to_string(),
            r#"{"apiVersion":"v1","kind":"List","items":[{"kind":"Pod"}], "metadata": {"x": tru}}"#.to_string(),
            r#"[{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p"}}] x"#.to_string(),
            format!("[{{\"kind\":\"Pod\"}}, {}1{}]", "[".repeat(127), "]".repeat(127)),
        ];
        let limits = [
            Limits::default(),
            Limits {
                max_bytes: 1 << 20,
                max_objects: 2,
            },
        ];
        for (name, text) in yaml
            .iter()
            .map(|t| ("t.yaml", t))
            .chain(json.iter().map(|t| ("t.json", t)))
        {
            for limits in limits {
                // `policy_locations` is a hash map: compared sorted.
                let sorted = |r: Result<ClusterSnapshot, LoadError>| {
                    r.map(|mut s| {
                        let locations: std::collections::BTreeMap<_, _> =
                            std::mem::take(&mut s.policy_locations).into_iter().collect();
                        (s, locations)
                    })
                };
                let a = sorted(load_with(name, text, true, limits));
                let b = sorted(load_with(name, text, false, limits));
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{text}");
            }
        }
    }

    #[test]
    fn a_yaml_error_far_into_a_parallel_load_names_its_line() {
        let mut text = String::new();
        for i in 0..6000 {
            text.push_str(&format!(
                "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: a}}\n"
            ));
        }
        text.push_str("---\nkind: [\n");
        assert!(text.len() > split::PARALLEL_MIN_BYTES);
        let err = load_str("big.yaml", &text).unwrap_err().to_string();
        assert!(err.starts_with("big.yaml:24003:1:"), "{err}");
    }

    /// Rule: copies of an object that differ only in fields no check reads are identical, and
    /// the same object is kept whatever the order of its keys or the List around it (kubectl
    /// writes a List's `items` before its `kind`).
    #[test]
    fn copies_differing_only_in_fields_no_check_reads_are_identical() {
        let pod = "{apiVersion: v1, kind: Pod, metadata: {name: p, namespace: default, managedFields: [{manager: a}]}, spec: {containers: [{name: c, env: [{name: A, value: b}]}]}}";
        let other = "{spec: {containers: [{name: c, env: [{name: B}]}]}, metadata: {name: p, namespace: default}, kind: Pod, apiVersion: v1}";
        let text = format!("{pod}\n---\napiVersion: v1\nitems: [{pod}]\nkind: List\n---\n{other}\n");
        let s = load_str("pods.yaml", &text).unwrap();
        assert_eq!(s.pods.len(), 1);
        let said: Vec<&str> = s.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            said,
            [
                "appears again (first at pods.yaml#1): an identical copy, this one is skipped",
                "appears again (first at pods.yaml#1): an identical copy, this one is skipped",
            ]
        );
        assert!(s.pods[0].spec.as_ref().unwrap().containers[0].env.is_none());
    }

    #[test]
    fn non_objects_are_warnings() {
        let s = load_str("t.yaml", "just a string\n").unwrap();
        assert_eq!(s.warnings.len(), 1);
    }
}
