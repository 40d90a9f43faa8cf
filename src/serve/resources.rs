//! The objects an answer cites, kept for the MCP resources: every policy (all dialects), every
//! Namespace and Service, each as read and cleaned as the snapshot export cleans it
//! ([`crate::snapshot::clean`]). Pods and workloads are not kept (their labels are in the
//! answers; keeping them would double a large snapshot's memory).
//!
//! Addresses: `netpol://{namespace}/{kind}/{name}`, and `netpol://_cluster/{kind}/{name}` for
//! cluster-scoped objects. `kind` is the object's `kind` for the core and `networking.k8s.io`
//! groups (`NetworkPolicy`, `Namespace`, `Service`) and `Kind.group` for the others, as kubectl
//! writes a kind of another group (`NetworkPolicy.projectcalico.org`,
//! `AdminNetworkPolicy.policy.networking.k8s.io`); a read also takes the bare `Kind` when one
//! object of that name matches. A name is percent-encoded where it is not URI-safe.
//!
//! Invariant: nothing here knows MCP (`serve/mcp.rs` converts); a URI that names nothing is an
//! error naming the URI.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use crate::index::times::citation_key;
use crate::policy::kind::{api_group, is_policy_object};
use crate::snapshot::{ClusterSnapshot, clean};

/// The resource template.
pub const TEMPLATE: &str = "netpol://{namespace}/{kind}/{name}";
/// The namespace segment of cluster-scoped objects.
pub const CLUSTER: &str = "_cluster";
const SCHEME: &str = "netpol://";
/// How many resources one `resources/list` page holds (the next page by its cursor).
pub const LIST_PAGE: usize = 200;
/// How many resource links one tool result carries.
pub const MAX_LINKS: usize = 10;

/// A kept object.
#[derive(Debug, Clone)]
struct Stored {
    value: Value,
    /// `NetworkPolicy shop/p`, `Namespace shop`: a resource's name.
    label: String,
    policy: bool,
}

/// The kept objects by URI, and the policies by the name reports give them.
#[derive(Debug, Clone, Default)]
pub struct ObjectStore {
    objects: BTreeMap<String, Stored>,
    /// `ns/name`, `Kind ns/name`, `Kind name` -> URIs (several when two API groups share a kind).
    by_citation: HashMap<String, Vec<String>>,
    /// A URI written with the bare `Kind` -> the URIs with `Kind.group`.
    by_bare_kind: HashMap<String, Vec<String>>,
}

/// One listed resource: its URI and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub uri: String,
    pub label: String,
}

impl ObjectStore {
    pub fn build(snap: &ClusterSnapshot) -> ObjectStore {
        let mut store = ObjectStore::default();
        for (key, value) in &snap.network_policy_values {
            let (ns, name) = key.split_once('/').unwrap_or(("", key));
            store.add(Some(ns), "NetworkPolicy", name, value.clone(), Some(key.clone()));
        }
        for o in snap.others.iter().filter(|o| is_policy_object(&o.api_version, &o.kind)) {
            let group = api_group(&o.api_version);
            let kind = if group.is_empty() {
                o.kind.clone()
            } else {
                format!("{}.{group}", o.kind)
            };
            let uri = store.add(o.namespace.as_deref(), &kind, &o.name, o.value.clone(), Some(o.cited()));
            let bare = uri_of(o.namespace.as_deref(), &o.kind, &o.name);
            store.by_bare_kind.entry(bare).or_default().push(uri);
        }
        let typed = |v: Result<Value, serde_json::Error>| v.unwrap_or(Value::Null);
        for n in &snap.namespaces {
            let name = n.metadata.name.clone().unwrap_or_default();
            store.add(None, "Namespace", &name, typed(serde_json::to_value(n)), None);
        }
        for s in &snap.services {
            let (ns, name) = (s.metadata.namespace.as_deref(), s.metadata.name.as_deref());
            store.add(
                ns,
                "Service",
                name.unwrap_or_default(),
                typed(serde_json::to_value(s)),
                None,
            );
        }
        store
    }

    /// Keeps an object (cleaned); a policy also under the name reports give it. Returns its URI.
    fn add(&mut self, ns: Option<&str>, kind: &str, name: &str, mut value: Value, cited: Option<String>) -> String {
        let uri = uri_of(ns, kind, name);
        clean(&mut value);
        let short_kind = kind.split('.').next().unwrap_or(kind);
        let label = match ns {
            Some(ns) => format!("{short_kind} {ns}/{name}"),
            None => format!("{short_kind} {name}"),
        };
        if let Some(c) = &cited {
            self.by_citation.entry(c.clone()).or_default().push(uri.clone());
        }
        let policy = cited.is_some();
        self.objects
            .entry(uri.clone())
            .or_insert(Stored { value, label, policy });
        uri
    }

    /// The object at `uri` as YAML, or an error naming the URI.
    pub fn read(&self, uri: &str) -> Result<String, String> {
        let (ns, kind, name) = parse_uri(uri)?;
        let canonical = uri_of((ns != CLUSTER).then_some(ns.as_str()), &kind, &name);
        let found = match self.objects.get(&canonical) {
            Some(o) => o,
            None => match self.by_bare_kind.get(&canonical).map(Vec::as_slice) {
                Some([one]) => &self.objects[one],
                Some(several) => {
                    return Err(format!(
                        "{uri} names {} objects of different API groups: read one of {}",
                        several.len(),
                        several.join(", ")
                    ));
                }
                None => {
                    return Err(format!(
                        "no object at {uri}: resources are the policies, Namespaces and Services of the source (resources/list lists the policies)"
                    ));
                }
            },
        };
        yaml_serde::to_string(&found.value).map_err(|e| format!("{uri}: cannot write the object as YAML: {e}"))
    }

    /// The policies (every dialect), by URI.
    pub fn policies(&self) -> impl Iterator<Item = Listed> + '_ {
        self.objects.iter().filter(|(_, o)| o.policy).map(|(uri, o)| Listed {
            uri: uri.clone(),
            label: o.label.clone(),
        })
    }

    /// The kept policies a tool result names (see [`cited_names`]), at most [`MAX_LINKS`].
    pub fn links(&self, result: &Value) -> Vec<Listed> {
        let mut seen = BTreeSet::new();
        cited_names(result)
            .iter()
            .filter_map(|c| self.by_citation.get(citation_key(c).as_ref()))
            .flatten()
            .filter(|uri| seen.insert(uri.as_str()))
            .take(MAX_LINKS)
            .map(|uri| Listed {
                uri: uri.clone(),
                label: self.objects[uri].label.clone(),
            })
            .collect()
    }
}

/// The policy names a result cites, root causes first: the strings under a key `policy` or
/// `...policies` (`ns/name`, `Kind name`), and `{kind: apiVersion/Kind, name}` objects.
pub fn cited_names(result: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(causes) = result.get("root_causes") {
        collect(causes, &mut out);
    }
    collect(result, &mut out);
    out
}

fn collect(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let (Some(Value::String(kind)), Some(Value::String(name))) = (o.get("kind"), o.get("name"))
                && let Some((_, k)) = kind.rsplit_once('/')
            {
                out.push(format!("{k} {name}"));
            }
            for (key, child) in o {
                let names_policies = key == "policy" || key.ends_with("policies");
                match child {
                    Value::String(s) if names_policies => out.push(s.clone()),
                    Value::Array(items) if names_policies => {
                        for i in items {
                            match i {
                                Value::String(s) => out.push(s.clone()),
                                other => collect(other, out),
                            }
                        }
                    }
                    other => collect(other, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect(i, out)),
        _ => {}
    }
}

/// `netpol://ns/Kind/name` (`_cluster` for no namespace), the name percent-encoded.
pub fn uri_of(ns: Option<&str>, kind: &str, name: &str) -> String {
    format!("{SCHEME}{}/{kind}/{}", encode(ns.unwrap_or(CLUSTER)), encode(name))
}

/// `(namespace or _cluster, kind, name)` of a `netpol://` URI, decoded.
fn parse_uri(uri: &str) -> Result<(String, String, String), String> {
    let bad = || {
        format!(
            "{uri} is not a resource of this server: expected {TEMPLATE} (namespace {CLUSTER} for cluster-scoped objects)"
        )
    };
    let rest = uri.strip_prefix(SCHEME).ok_or_else(bad)?;
    match rest.split('/').collect::<Vec<_>>().as_slice() {
        [ns, kind, name] if !ns.is_empty() && !kind.is_empty() && !name.is_empty() => Ok((
            decode(ns).ok_or_else(bad)?,
            decode(kind).ok_or_else(bad)?,
            decode(name).ok_or_else(bad)?,
        )),
        _ => Err(bad()),
    }
}

/// Percent-encodes what is not an unreserved URI character (names of placeholders have spaces).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> ObjectStore {
        let yaml = r#"
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny
  namespace: shop
  managedFields: [{manager: kubectl}]
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}", team: a}
spec: {podSelector: {}, egres: []}
---
apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata: {name: guard}
spec: {priority: 1, subject: {namespaces: {}}, ingress: []}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: deny, namespace: shop}
spec: {selector: all()}
"#;
        ObjectStore::build(&crate::snapshot::load_str("test.yaml", yaml).unwrap())
    }

    #[test]
    fn reads_as_read_and_cleaned() {
        let s = store();
        let y = s.read("netpol://shop/NetworkPolicy/deny").unwrap();
        assert!(
            y.contains("egres: []"),
            "a field the API does not know stays visible: {y}"
        );
        assert!(!y.contains("managedFields") && !y.contains("last-applied"), "{y}");
        assert!(y.contains("team: a"), "{y}");
        let calico = s.read("netpol://shop/NetworkPolicy.projectcalico.org/deny").unwrap();
        assert!(calico.contains("selector: all()"), "{calico}");
        let anp = s.read("netpol://_cluster/AdminNetworkPolicy/guard").unwrap();
        assert!(
            anp.contains("priority: 1"),
            "the bare kind reads a unique object: {anp}"
        );
    }

    #[test]
    fn unknown_and_malformed_uris_name_the_uri() {
        let s = store();
        let e = s.read("netpol://shop/NetworkPolicy/nope").unwrap_err();
        assert!(e.contains("netpol://shop/NetworkPolicy/nope"), "{e}");
        let e = s.read("file:///etc/passwd").unwrap_err();
        assert!(e.contains("file:///etc/passwd") && e.contains(TEMPLATE), "{e}");
    }

    #[test]
    fn links_follow_the_names_reports_give() {
        let s = store();
        let result = serde_json::json!({
            "root_causes": [{"policies": ["AdminNetworkPolicy guard"]}],
            "egress": {"isolating_policies": ["shop/deny"]},
            "other_policies": [{"kind": "projectcalico.org/v3/NetworkPolicy", "name": "shop/deny"}],
        });
        let uris: Vec<String> = s.links(&result).into_iter().map(|l| l.uri).collect();
        assert_eq!(
            uris,
            [
                "netpol://_cluster/AdminNetworkPolicy.policy.networking.k8s.io/guard",
                "netpol://shop/NetworkPolicy/deny",
                "netpol://shop/NetworkPolicy.projectcalico.org/deny",
            ]
        );
        assert_eq!(uri_of(Some("a b"), "K", "x/y"), "netpol://a%20b/K/x%2Fy");
        assert_eq!(parse_uri("netpol://a%20b/K/x%2Fy").unwrap().2, "x/y");
    }
}
