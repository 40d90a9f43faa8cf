//! Reads snapshots from YAML/JSON files, directories (recursively) or stdin.
//!
//! Invariant: a file that cannot be read or parsed at all is an error naming the file and line;
//! an object that does not parse is a warning naming file, document, kind/name and field, and
//! every other object still loads.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{ClusterSnapshot, LoadWarning, OtherObject, UnreadablePolicy, Workload, WorkloadKind};
use crate::error::LoadError;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::ReplicationController;

/// Loads every path (file, directory or `-` for stdin) into one snapshot.
pub fn load_paths(paths: &[PathBuf]) -> Result<ClusterSnapshot, LoadError> {
    if paths.is_empty() {
        return Err(LoadError::NoInput);
    }
    let mut snap = ClusterSnapshot::default();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map_err(|source| LoadError::Io {
                path: path.clone(),
                source,
            })?;
            load_bytes(&mut snap, Path::new("<stdin>"), &buf)?;
            continue;
        }
        if !path.exists() {
            return Err(LoadError::Missing { path: path.clone() });
        }
        if path.is_dir() {
            let mut files = Vec::new();
            collect_dir(path, &mut files)?;
            if files.is_empty() {
                return Err(LoadError::EmptyDirectory { path: path.clone() });
            }
            for f in files {
                load_file(&mut snap, &f)?;
            }
        } else {
            load_file(&mut snap, path)?;
        }
    }
    Ok(snap)
}

/// Loads one text (YAML or JSON) named `name` in messages: for tests and stdin.
pub fn load_str(name: &str, text: &str) -> Result<ClusterSnapshot, LoadError> {
    let mut snap = ClusterSnapshot::default();
    load_text(&mut snap, Path::new(name), text)?;
    Ok(snap)
}

fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), LoadError> {
    let io = |source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect_dir(&p, out)?;
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
            out.push(p);
        }
    }
    Ok(())
}

fn load_file(snap: &mut ClusterSnapshot, path: &Path) -> Result<(), LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_bytes(snap, path, &bytes)
}

fn load_bytes(snap: &mut ClusterSnapshot, path: &Path, bytes: &[u8]) -> Result<(), LoadError> {
    let text = std::str::from_utf8(bytes).map_err(|e| LoadError::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.valid_up_to(),
    })?;
    load_text(snap, path, text)
}

fn load_text(snap: &mut ClusterSnapshot, path: &Path, text: &str) -> Result<(), LoadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = text.trim_start().chars().next();
    let file = path.display().to_string();
    if matches!(first, Some('{' | '[')) {
        let value: Value = serde_json::from_str(text).map_err(|e| LoadError::Json {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        match value {
            Value::Array(items) => {
                for (i, v) in items.into_iter().enumerate() {
                    add_value(snap, &format!("{file}[{i}]"), v);
                }
            }
            v => add_value(snap, &file, v),
        }
        return Ok(());
    }
    for (i, doc) in yaml_serde::Deserializer::from_str(text).enumerate() {
        let value = <Value as serde::Deserialize>::deserialize(doc).map_err(|e| {
            let (line, column) = e.location().map(|l| (l.line(), l.column())).unwrap_or((0, 0));
            LoadError::Yaml {
                path: path.to_path_buf(),
                line,
                column,
                message: e.to_string(),
            }
        })?;
        if value.is_null() {
            continue; // an empty document (`---` twice, comments only)
        }
        add_value(snap, &format!("{file}#{}", i + 1), value);
    }
    Ok(())
}

/// Adds one decoded document (an object or a List of objects).
fn add_value(snap: &mut ClusterSnapshot, location: &str, value: Value) {
    let Value::Object(mut map) = value else {
        snap.warnings.push(LoadWarning {
            location: Some(location.to_string()),
            object: None,
            message: "not a Kubernetes object (expected a mapping with apiVersion and kind): skipped".into(),
        });
        return;
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
    if kind.ends_with("List") && map.get("items").is_some_and(Value::is_array) {
        let item_kind = kind.strip_suffix("List").unwrap_or_default().to_string();
        let Some(Value::Array(items)) = map.remove("items") else {
            return;
        };
        for (i, mut item) in items.into_iter().enumerate() {
            if let Value::Object(o) = &mut item {
                if !o.contains_key("kind") && !item_kind.is_empty() {
                    o.insert("kind".into(), Value::String(item_kind.clone()));
                }
                if !o.contains_key("apiVersion")
                    && let Some(av) = map.get("apiVersion")
                    && !item_kind.is_empty()
                {
                    o.insert("apiVersion".into(), av.clone());
                }
            }
            add_value(snap, &format!("{location}.items[{i}]"), item);
        }
        return;
    }
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
    let value = Value::Object(map);
    let ctx = Ctx {
        location,
        kind: &kind,
        value: &value,
    };
    match (group.as_str(), kind.as_str()) {
        ("", "Namespace") => {
            push(snap, &ctx, |s| &mut s.namespaces);
        }
        ("", "Pod") => {
            push(snap, &ctx, |s| &mut s.pods);
        }
        ("", "Service") => {
            push(snap, &ctx, |s| &mut s.services);
        }
        ("", "Endpoints") => {
            push(snap, &ctx, |s| &mut s.endpoints);
        }
        ("", "Node") => {
            push(snap, &ctx, |s| &mut s.nodes);
        }
        ("discovery.k8s.io" | "", "EndpointSlice") => {
            push(snap, &ctx, |s| &mut s.endpoint_slices);
        }
        ("networking.k8s.io" | "", "NetworkPolicy") => {
            if !push(snap, &ctx, |s| &mut s.network_policies) {
                snap.unreadable_policies.push(UnreadablePolicy::from_value(&value));
            }
        }
        ("apps" | "", "Deployment") => {
            workload::<Deployment>(snap, &ctx, WorkloadKind::Deployment, |d| d.spec.map(|s| s.template))
        }
        ("apps" | "", "ReplicaSet") => workload::<ReplicaSet>(snap, &ctx, WorkloadKind::ReplicaSet, |d| {
            d.spec.and_then(|s| s.template)
        }),
        ("apps" | "", "StatefulSet") => {
            workload::<StatefulSet>(snap, &ctx, WorkloadKind::StatefulSet, |d| d.spec.map(|s| s.template))
        }
        ("apps" | "", "DaemonSet") => {
            workload::<DaemonSet>(snap, &ctx, WorkloadKind::DaemonSet, |d| d.spec.map(|s| s.template))
        }
        ("batch" | "", "Job") => workload::<Job>(snap, &ctx, WorkloadKind::Job, |d| d.spec.map(|s| s.template)),
        ("batch" | "", "CronJob") => workload::<CronJob>(snap, &ctx, WorkloadKind::CronJob, |d| {
            d.spec.and_then(|s| s.job_template.spec).map(|s| s.template)
        }),
        ("", "ReplicationController") => {
            workload::<ReplicationController>(snap, &ctx, WorkloadKind::ReplicationController, |d| {
                d.spec.and_then(|s| s.template)
            })
        }
        _ => snap.others.push(OtherObject {
            api_version,
            kind: kind.clone(),
            namespace: meta_str(&value, "namespace").map(str::to_string),
            name: meta_str(&value, "name").unwrap_or_default().to_string(),
            value,
        }),
    }
}

struct Ctx<'a> {
    location: &'a str,
    kind: &'a str,
    value: &'a Value,
}

impl Ctx<'_> {
    fn object(&self) -> String {
        let name = meta_str(self.value, "name").unwrap_or("<unnamed>");
        match meta_str(self.value, "namespace") {
            Some(ns) => format!("{} {ns}/{name}", self.kind),
            None => format!("{} {name}", self.kind),
        }
    }

    /// Deserializes the object, turning a failure into a warning that names the field.
    fn parse<T: DeserializeOwned>(&self, snap: &mut ClusterSnapshot) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(self.value.clone()) {
            Ok(v) => Some(v),
            Err(e) => {
                let field = e.path().to_string();
                snap.warnings.push(LoadWarning {
                    location: Some(self.location.to_string()),
                    object: Some(self.object()),
                    message: format!("does not parse at field `{field}`: {}; object skipped", e.inner()),
                });
                None
            }
        }
    }
}

fn meta_str<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    value.get("metadata")?.get(key)?.as_str()
}

/// Parses and appends a typed object; false when it did not parse (a warning was recorded).
fn push<T: DeserializeOwned>(
    snap: &mut ClusterSnapshot,
    ctx: &Ctx<'_>,
    list: impl FnOnce(&mut ClusterSnapshot) -> &mut Vec<T>,
) -> bool {
    match ctx.parse::<T>(snap) {
        Some(v) => {
            list(snap).push(v);
            true
        }
        None => false,
    }
}

fn workload<
    T: DeserializeOwned + k8s_openapi::Metadata<Ty = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta>,
>(
    snap: &mut ClusterSnapshot,
    ctx: &Ctx<'_>,
    kind: WorkloadKind,
    template: impl FnOnce(T) -> Option<k8s_openapi::api::core::v1::PodTemplateSpec>,
) {
    let Some(obj) = ctx.parse::<T>(snap) else {
        return;
    };
    let metadata = obj.metadata().clone();
    match template(obj) {
        Some(template) => snap.workloads.push(Workload {
            kind,
            metadata,
            template,
        }),
        None => snap.warnings.push(LoadWarning {
            location: Some(ctx.location.to_string()),
            object: Some(ctx.object()),
            message: "workload has no pod template (spec.template): skipped".into(),
        }),
    }
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
    fn non_objects_are_warnings() {
        let s = load_str("t.yaml", "just a string\n").unwrap();
        assert_eq!(s.warnings.len(), 1);
    }
}
