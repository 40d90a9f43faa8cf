//! CNI-specific policy objects that select a pod: Cilium (`CiliumNetworkPolicy`,
//! `CiliumClusterwideNetworkPolicy`), Calico (`NetworkPolicy`, `GlobalNetworkPolicy`), Antrea
//! (`ClusterNetworkPolicy`, `NetworkPolicy`) and `MultiNetworkPolicy`.
//!
//! We do not evaluate their rules; we say which of them select a pod, for which directions, and
//! what in them deserves reading (deny sections, L7 rules, FQDN peers, ordering, ...).
//!
//! Invariants: pure (no I/O); never a confident guess. A selector that does not parse, a field
//! that cannot be read, or a label we cannot know (a service account's labels, the Cilium cluster
//! name) makes the answer "may select" (`certain: false`), never "selects" or "does not select".
//!
//! Calico selector expressions have a real parser and evaluator here ([`parse_calico_selector`]),
//! following Calico's own tokenizer and grammar (libcalico-go `selector/tokenizer`, `parser`).
//! AdminNetworkPolicy / BaselineAdminNetworkPolicy are handled elsewhere and ignored here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::Value;

use crate::policy::selector::{Requirement, Selector};
use crate::snapshot::OtherObject;

type Labels = BTreeMap<String, String>;

/// The pod whose selecting objects we look for.
#[derive(Debug, Clone, Copy)]
pub struct PodRef<'a> {
    pub namespace: &'a str,
    pub labels: &'a BTreeMap<String, String>,
    /// The labels of the pod's namespace.
    pub namespace_labels: &'a BTreeMap<String, String>,
    /// `spec.serviceAccountName`; `None` when unknown (selectors on it are then uncertain).
    pub service_account: Option<&'a str>,
}

/// One CNI-specific policy object, examined for one pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtendedHit {
    /// `apiVersion/kind`, e.g. `cilium.io/v2/CiliumNetworkPolicy`.
    pub kind: String,
    /// `namespace/name` for namespaced objects, `name` for cluster-scoped ones.
    pub name: String,
    /// Whether it selects the pod (`true` also when it only *may* select it: see `certain`).
    pub selects: bool,
    /// False when the answer depends on something we could not read or know: a selector that
    /// does not parse, a label of an object not in the snapshot. Then `selects` is true.
    pub certain: bool,
    /// `ingress` and/or `egress`: the directions it applies to the pod (empty when it does not
    /// select the pod).
    pub directions: Vec<String>,
    /// Which selector decided, e.g. `spec.endpointSelector k8s:app=web matches`.
    pub why: String,
    /// Short hints of what to read in it, each starting with the field path.
    pub read: Vec<String>,
}

/// The objects of `objects` that select (or may select) the pod, sorted by kind and name.
pub fn selecting(objects: &[OtherObject], pod: &PodRef) -> Vec<ExtendedHit> {
    examine(objects, pod).into_iter().filter(|h| h.selects).collect()
}

/// Every recognised CNI policy object with the verdict for the pod, selecting or not (a host
/// policy, a policy of another namespace, a selector that does not match), sorted by kind and name.
pub fn examine(objects: &[OtherObject], pod: &PodRef) -> Vec<ExtendedHit> {
    let mut hits: Vec<ExtendedHit> = objects.iter().filter_map(|o| examine_one(o, pod)).collect();
    hits.sort_by(|a, b| (&a.kind, &a.name).cmp(&(&b.kind, &b.name)));
    hits
}

fn examine_one(o: &OtherObject, pod: &PodRef) -> Option<ExtendedHit> {
    let group = o.api_version.rsplit_once('/').map_or("", |(g, _)| g);
    let namespaced_kind = matches!(
        (group, o.kind.as_str()),
        ("cilium.io", "CiliumNetworkPolicy")
            | ("projectcalico.org" | "crd.projectcalico.org", "NetworkPolicy")
            | ("crd.antrea.io" | "security.antrea.tanzu.vmware.com", "NetworkPolicy")
            | ("k8s.cni.cncf.io", "MultiNetworkPolicy")
    );
    // A namespaced policy never selects a pod of another namespace, readable or not.
    let outcome = if namespaced_kind && object_namespace(o) != pod.namespace {
        Outcome {
            tri: Tri::No,
            partly_uncertain: false,
            ingress: false,
            egress: false,
            why: format!(
                "a namespaced {} selects only pods of its namespace {}; the pod is in {}",
                o.kind,
                object_namespace(o),
                pod.namespace
            ),
            read: Vec::new(),
        }
    } else {
        match (group, o.kind.as_str()) {
            ("cilium.io", "CiliumNetworkPolicy") => cilium(o, pod, true),
            ("cilium.io", "CiliumClusterwideNetworkPolicy") => cilium(o, pod, false),
            ("projectcalico.org" | "crd.projectcalico.org", "NetworkPolicy") => calico(o, pod, true),
            ("projectcalico.org" | "crd.projectcalico.org", "GlobalNetworkPolicy") => calico(o, pod, false),
            ("crd.antrea.io" | "security.antrea.tanzu.vmware.com", "NetworkPolicy") => antrea(o, pod, true),
            ("crd.antrea.io" | "security.antrea.tanzu.vmware.com", "ClusterNetworkPolicy") => antrea(o, pod, false),
            ("k8s.cni.cncf.io", "MultiNetworkPolicy") => multi(o, pod),
            _ => return None,
        }
    };
    let name = display_name(o);
    let selected = outcome.tri != Tri::No;
    let directions: Vec<String> = [("ingress", outcome.ingress), ("egress", outcome.egress)]
        .into_iter()
        .filter(|(_, on)| selected && *on)
        .map(|(d, _)| d.to_string())
        .collect();
    Some(ExtendedHit {
        kind: format!("{}/{}", o.api_version, o.kind),
        name,
        selects: selected,
        certain: outcome.tri != Tri::Maybe && !outcome.partly_uncertain,
        directions,
        why: outcome.why,
        read: if !selected { Vec::new() } else { outcome.read },
    })
}

/// `namespace/name` for the namespaced kinds we examine, `name` for the cluster-scoped ones.
fn display_name(o: &OtherObject) -> String {
    if matches!(
        o.kind.as_str(),
        "CiliumNetworkPolicy" | "NetworkPolicy" | "MultiNetworkPolicy"
    ) {
        format!("{}/{}", object_namespace(o), o.name)
    } else {
        o.name.clone()
    }
}

/// The namespace of a namespaced object; `default` when the manifest leaves it out (as
/// `kubectl apply` would with the default context).
fn object_namespace(o: &OtherObject) -> &str {
    o.namespace.as_deref().filter(|n| !n.is_empty()).unwrap_or("default")
}

// ---------------------------------------------------------------------------------------------
// Three-valued answers and label views with unknown keys
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    Yes,
    No,
    Maybe,
}

impl Tri {
    fn of(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }
    fn and(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Yes, Tri::Yes) => Tri::Yes,
            _ => Tri::Maybe,
        }
    }
    fn or(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::No, Tri::No) => Tri::No,
            _ => Tri::Maybe,
        }
    }
    fn not(self) -> Tri {
        match self {
            Tri::Yes => Tri::No,
            Tri::No => Tri::Yes,
            Tri::Maybe => Tri::Maybe,
        }
    }
}

/// What a label lookup says: the value (or its absence), or that we cannot know.
enum Lookup<'a> {
    Known(Option<&'a str>),
    Unknown,
}

trait LabelSource {
    fn lookup(&self, key: &str) -> Lookup<'_>;
}

impl LabelSource for Labels {
    fn lookup(&self, key: &str) -> Lookup<'_> {
        Lookup::Known(self.get(key).map(String::as_str))
    }
}

/// Labels we know, plus keys (or key prefixes) whose values we cannot know.
#[derive(Debug, Default)]
struct LabelView {
    labels: Labels,
    unknown_keys: BTreeSet<String>,
    unknown_prefixes: Vec<&'static str>,
}

impl LabelView {
    fn is_unknown(&self, key: &str) -> bool {
        !self.labels.contains_key(key)
            && (self.unknown_keys.contains(key) || self.unknown_prefixes.iter().any(|p| key.starts_with(p)))
    }
}

impl LabelSource for LabelView {
    fn lookup(&self, key: &str) -> Lookup<'_> {
        if self.is_unknown(key) {
            Lookup::Unknown
        } else {
            Lookup::Known(self.labels.get(key).map(String::as_str))
        }
    }
}

fn namespace_labels_of(pod: &PodRef) -> Labels {
    let mut l = pod.namespace_labels.clone();
    l.entry("kubernetes.io/metadata.name".into())
        .or_insert_with(|| pod.namespace.to_string());
    l
}

/// Combines the parts of a decision that must all hold: the first failing part(s) explain a
/// `No`; otherwise every part is listed.
fn all_of(parts: Vec<(Tri, String)>) -> (Tri, String) {
    let tri = parts.iter().fold(Tri::Yes, |acc, (t, _)| acc.and(*t));
    let reasons: Vec<&str> = match tri {
        Tri::No => parts
            .iter()
            .filter(|(t, _)| *t == Tri::No)
            .map(|(_, r)| r.as_str())
            .collect(),
        _ => parts.iter().map(|(_, r)| r.as_str()).collect(),
    };
    (tri, reasons.join("; "))
}

/// What one object's examination found.
struct Outcome {
    tri: Tri,
    /// Some part is uncertain even though the whole selects (e.g. one of several Cilium rules).
    partly_uncertain: bool,
    ingress: bool,
    egress: bool,
    why: String,
    read: Vec<String>,
}

impl Outcome {
    fn unreadable(why: String) -> Outcome {
        Outcome {
            tri: Tri::Maybe,
            partly_uncertain: true,
            ingress: true,
            egress: true,
            why,
            read: Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// JSON helpers
// ---------------------------------------------------------------------------------------------

fn items(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// A rule section that is present and not an empty list (a malformed non-list counts as present).
fn present(v: &Value, key: &str) -> bool {
    match v.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::Array(a)) => !a.is_empty(),
        Some(_) => true,
    }
}

fn non_null<'v>(v: &'v Value, key: &str) -> Option<&'v Value> {
    v.get(key).filter(|x| !x.is_null())
}

/// A Kubernetes LabelSelector field, lowered; `Err` when it cannot be read or is invalid.
fn label_selector(v: &Value) -> Result<(LabelSelector, Selector), String> {
    let ls: LabelSelector = serde_json::from_value(v.clone()).map_err(|e| format!("cannot be read: {e}"))?;
    let sel = Selector::lower(Some(&ls));
    match &sel.invalid {
        Some(reason) => Err(format!("is invalid: {reason}")),
        None => Ok((ls, sel)),
    }
}

/// How a selector key is looked up in a view.
enum KeyRef {
    /// Look this key up.
    Key(String),
    /// A label pods never carry.
    Absent,
    /// A label we cannot know.
    Unknown,
}

/// Evaluates a lowered Kubernetes selector over labels with possibly unknown keys; `key_of`
/// maps a written key to the key to look up.
fn eval_requirements(
    sel: &Selector,
    view: &LabelView,
    key_of: &dyn Fn(&str) -> KeyRef,
) -> (Tri, Vec<String>, Vec<String>) {
    let mut tri = Tri::Yes;
    let mut failed = Vec::new();
    let mut unknown = Vec::new();
    for r in &sel.requirements {
        let t = match key_of(&r.key) {
            KeyRef::Absent => Tri::of(r.matches(&Labels::new())),
            KeyRef::Unknown => Tri::Maybe,
            KeyRef::Key(k) if view.is_unknown(&k) => Tri::Maybe,
            KeyRef::Key(k) => Tri::of(
                Requirement {
                    key: k,
                    op: r.op.clone(),
                }
                .matches(&view.labels),
            ),
        };
        match t {
            Tri::No => failed.push(r.to_string()),
            Tri::Maybe => unknown.push(r.key.clone()),
            Tri::Yes => {}
        }
        tri = tri.and(t);
    }
    (tri, failed, unknown)
}

fn selector_verdict(what: &str, sel: &Selector, tri: Tri, failed: &[String], unknown: &[String]) -> String {
    match tri {
        Tri::Yes => format!("{what} {sel} matches"),
        Tri::No => format!("{what} {sel} does not match (fails {})", failed.join(", ")),
        Tri::Maybe => format!(
            "{what} {sel} may match: depends on {}, unknown here",
            unknown.join(", ")
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Cilium
// ---------------------------------------------------------------------------------------------

const CILIUM_NS_KEY: &str = "io.kubernetes.pod.namespace";
const CILIUM_NS_LABELS: &str = "io.cilium.k8s.namespace.labels.";
const CILIUM_SA_KEY: &str = "io.cilium.k8s.policy.serviceaccount";
const CILIUM_CLUSTER_KEY: &str = "io.cilium.k8s.policy.cluster";

/// How a Cilium selector key is looked up in a pod's labels: `k8s:`, `any:` and `container:`
/// sources are stripped (pod labels come from Kubernetes); `reserved:`, `cidr:`, `fqdn:` labels
/// never belong to a pod; any other source is unknown.
fn cilium_key(key: &str) -> KeyRef {
    match key.split_once(':') {
        None => KeyRef::Key(key.to_string()),
        Some(("k8s" | "any" | "container", rest)) => KeyRef::Key(rest.to_string()),
        Some(("reserved" | "cidr" | "fqdn", _)) => KeyRef::Absent,
        Some(_) => KeyRef::Unknown,
    }
}

fn cilium_view(pod: &PodRef) -> LabelView {
    let mut labels = pod.labels.clone();
    labels.insert(CILIUM_NS_KEY.into(), pod.namespace.into());
    for (k, v) in namespace_labels_of(pod) {
        labels.insert(format!("{CILIUM_NS_LABELS}{k}"), v);
    }
    let mut unknown_keys = BTreeSet::from([CILIUM_CLUSTER_KEY.to_string()]);
    match pod.service_account {
        Some(sa) => {
            labels.insert(CILIUM_SA_KEY.into(), sa.into());
        }
        None => {
            unknown_keys.insert(CILIUM_SA_KEY.into());
        }
    }
    LabelView {
        labels,
        unknown_keys,
        unknown_prefixes: Vec::new(),
    }
}

fn cilium(o: &OtherObject, pod: &PodRef, namespaced: bool) -> Outcome {
    let mut rules: Vec<(String, &Value)> = Vec::new();
    if let Some(spec) = non_null(&o.value, "spec") {
        rules.push(("spec".into(), spec));
    }
    if let Some(specs) = non_null(&o.value, "specs") {
        match specs.as_array() {
            Some(a) => rules.extend(a.iter().enumerate().map(|(i, r)| (format!("specs[{i}]"), r))),
            None => return Outcome::unreadable("specs is not a list: could not be read; it may select the pod".into()),
        }
    }
    if rules.is_empty() {
        return Outcome::unreadable("neither spec nor specs: could not be read; it may select the pod".into());
    }
    if namespaced && object_namespace(o) != pod.namespace {
        return Outcome {
            tri: Tri::No,
            partly_uncertain: false,
            ingress: false,
            egress: false,
            why: format!(
                "a CiliumNetworkPolicy selects only pods of its namespace {}; the pod is in {}",
                object_namespace(o),
                pod.namespace
            ),
            read: Vec::new(),
        };
    }
    let view = cilium_view(pod);
    let mut tri = Tri::No;
    let mut any_maybe = false;
    let (mut ingress, mut egress) = (false, false);
    let mut whys_selecting = Vec::new();
    let mut whys_not = Vec::new();
    let mut read = Vec::new();
    for (path, rule) in &rules {
        let (t, why) = cilium_rule_selects(path, rule, &view, if namespaced { Some(pod.namespace) } else { None });
        tri = tri.or(t);
        if t == Tri::No {
            whys_not.push(why);
            continue;
        }
        any_maybe |= t == Tri::Maybe;
        whys_selecting.push(why);
        let (i, e) = (
            present(rule, "ingress") || present(rule, "ingressDeny"),
            present(rule, "egress") || present(rule, "egressDeny"),
        );
        ingress |= i;
        egress |= e;
        cilium_hints(path, rule, &mut read);
        if !i && !e {
            read.push(format!(
                "{path}: no ingress/egress rules: it enforces nothing on the pod"
            ));
        }
    }
    let why = if tri == Tri::No {
        whys_not.join("; ")
    } else {
        whys_selecting.join("; ")
    };
    Outcome {
        tri,
        partly_uncertain: any_maybe,
        ingress,
        egress,
        why,
        read,
    }
}

/// Whether one Cilium rule selects the pod. `namespace`: the CNP's namespace (already checked to
/// be the pod's), `None` for a clusterwide policy.
fn cilium_rule_selects(path: &str, rule: &Value, view: &LabelView, namespace: Option<&str>) -> (Tri, String) {
    if !rule.is_object() {
        return (
            Tri::Maybe,
            format!("{path} is not an object: could not be read; it may select the pod"),
        );
    }
    let Some(es) = non_null(rule, "endpointSelector") else {
        return if non_null(rule, "nodeSelector").is_some() {
            (
                Tri::No,
                format!("{path}.nodeSelector: a host policy (applies to nodes), it never selects a pod"),
            )
        } else {
            (
                Tri::Maybe,
                format!(
                    "{path} has neither endpointSelector nor nodeSelector: could not be read; it may select the pod"
                ),
            )
        };
    };
    let sel = match label_selector(es) {
        Ok((_, sel)) => sel,
        Err(e) => {
            return (
                Tri::Maybe,
                format!("{path}.endpointSelector {e}; it may select the pod"),
            );
        }
    };
    if sel.is_everything() {
        let scope = match namespace {
            Some(ns) => format!("every pod of namespace {ns}"),
            None => "every pod in the cluster".into(),
        };
        return (Tri::Yes, format!("{path}.endpointSelector {{}} selects {scope}"));
    }
    let (tri, failed, unknown) = eval_requirements(&sel, view, &cilium_key);
    (
        tri,
        selector_verdict(&format!("{path}.endpointSelector"), &sel, tri, &failed, &unknown),
    )
}

fn cilium_entity(e: &str) -> &'static str {
    match e {
        "world" | "world-ipv4" | "world-ipv6" => "outside the cluster",
        "cluster" => "every endpoint of the cluster (pods, nodes)",
        "host" => "the local node, and hostNetwork pods on it",
        "remote-node" => "the other nodes",
        "kube-apiserver" => "the Kubernetes API server",
        "health" => "Cilium health endpoints",
        "init" => "endpoints whose identity is not resolved yet",
        "ingress" => "Cilium's ingress/Gateway proxy",
        "unmanaged" => "pods Cilium does not manage",
        "all" => "everything (cluster and world)",
        _ => "an entity Cilium may not know",
    }
}

fn cilium_hints(path: &str, rule: &Value, read: &mut Vec<String>) {
    for section in ["ingressDeny", "egressDeny"] {
        if present(rule, section) {
            read.push(format!("{path}.{section} present: deny rules override allows"));
        }
    }
    for section in ["ingress", "ingressDeny", "egress", "egressDeny"] {
        for (i, r) in items(rule.get(section)).iter().enumerate() {
            let p = format!("{path}.{section}[{i}]");
            if r.as_object().is_some_and(|m| m.is_empty()) && !section.ends_with("Deny") {
                read.push(format!(
                    "{p} is empty: it matches no peer (default deny in that direction)"
                ));
                continue;
            }
            if present(r, "toFQDNs") {
                read.push(format!(
                    "{p}.toFQDNs: DNS-name based egress; needs a DNS proxy rule (toPorts rules.dns on port 53) so Cilium learns the IPs"
                ));
            }
            for key in ["toEntities", "fromEntities"] {
                let ents: Vec<String> = items(r.get(key))
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|e| format!("{e} = {}", cilium_entity(e)))
                    .collect();
                if !ents.is_empty() {
                    read.push(format!("{p}.{key}: {}", ents.join("; ")));
                }
            }
            for key in ["toCIDR", "toCIDRSet", "fromCIDR", "fromCIDRSet"] {
                if present(r, key) {
                    read.push(format!(
                        "{p}.{key}: CIDR peers match addresses outside the cluster; pods are matched by identity, not by IP"
                    ));
                }
            }
            for (key, hint) in [
                ("toServices", "egress to the backends of a Service"),
                ("toNodes", "peers are nodes, by node labels"),
                ("fromNodes", "peers are nodes, by node labels"),
                (
                    "toGroups",
                    "peers from a cloud provider group (e.g. AWS security groups)",
                ),
                ("toRequires", "requirements every peer must also meet (deprecated)"),
                ("fromRequires", "requirements every peer must also meet (deprecated)"),
                ("icmps", "ICMP types only"),
                ("authentication", "mutual authentication required"),
            ] {
                if present(r, key) {
                    read.push(format!("{p}.{key}: {hint}"));
                }
            }
            for (j, tp) in items(r.get("toPorts")).iter().enumerate() {
                let tpp = format!("{p}.toPorts[{j}]");
                if let Some(rules) = non_null(tp, "rules") {
                    for (key, hint) in [
                        ("http", "L7 HTTP rules (Envoy proxy); requests no rule allows get 403"),
                        ("dns", "DNS proxy rules; names no pattern allows are refused"),
                        ("kafka", "L7 Kafka rules"),
                        ("l7proto", "generic L7 parser rules"),
                    ] {
                        if present(rules, key) {
                            read.push(format!("{tpp}.rules.{key}: {hint}"));
                        }
                    }
                }
                if present(tp, "serverNames") {
                    read.push(format!("{tpp}.serverNames: TLS SNI matching"));
                }
            }
        }
    }
    if let Some(dd) = non_null(rule, "enableDefaultDeny") {
        for dir in ["ingress", "egress"] {
            if dd.get(dir).and_then(Value::as_bool) == Some(false) {
                read.push(format!(
                    "{path}.enableDefaultDeny.{dir}: false: this rule does not put the pod into default deny"
                ));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Calico
// ---------------------------------------------------------------------------------------------

/// Labels Calico gives a pod's workload endpoint: the pod's labels, `projectcalico.org/namespace`,
/// `projectcalico.org/orchestrator: k8s`, `projectcalico.org/serviceaccount`, and the profile
/// labels `pcns.<namespace label>` and `pcsa.<service account label>` (the latter unknown here).
fn calico_pod_view(pod: &PodRef) -> LabelView {
    let mut labels = pod.labels.clone();
    labels.insert("projectcalico.org/namespace".into(), pod.namespace.into());
    labels.insert("projectcalico.org/orchestrator".into(), "k8s".into());
    for (k, v) in namespace_labels_of(pod) {
        labels.insert(format!("pcns.{k}"), v);
    }
    labels.insert("pcns.projectcalico.org/name".into(), pod.namespace.into());
    let mut unknown_keys = BTreeSet::new();
    match pod.service_account {
        Some(sa) => {
            labels.insert("projectcalico.org/serviceaccount".into(), sa.into());
            labels.insert("pcsa.projectcalico.org/name".into(), sa.into());
        }
        None => {
            unknown_keys.insert("projectcalico.org/serviceaccount".into());
        }
    }
    LabelView {
        labels,
        unknown_keys,
        unknown_prefixes: vec!["pcsa."],
    }
}

/// A namespace as a GlobalNetworkPolicy's `namespaceSelector` sees it: its labels, plain and
/// `pcns.`-prefixed, and `projectcalico.org/name`.
fn calico_namespace_view(pod: &PodRef) -> LabelView {
    let mut labels = Labels::new();
    for (k, v) in namespace_labels_of(pod) {
        labels.insert(format!("pcns.{k}"), v.clone());
        labels.insert(k, v);
    }
    labels.insert("projectcalico.org/name".into(), pod.namespace.into());
    labels.insert("pcns.projectcalico.org/name".into(), pod.namespace.into());
    LabelView {
        labels,
        ..LabelView::default()
    }
}

/// A service account as `serviceAccountSelector` sees it: `projectcalico.org/name` is known (when
/// the pod's service account is); its other labels are not in the snapshot.
fn calico_sa_view(pod: &PodRef) -> LabelView {
    let mut labels = Labels::new();
    if let Some(sa) = pod.service_account {
        labels.insert("projectcalico.org/name".into(), sa.into());
    }
    LabelView {
        labels,
        unknown_keys: BTreeSet::new(),
        unknown_prefixes: vec![""],
    }
}

fn calico_selector_part(o: &OtherObject, field: &str, spec: &Value, view: &LabelView) -> (Tri, String) {
    let text = match non_null(spec, field) {
        None => return (Tri::Yes, format!("no spec.{field} (all())")),
        Some(Value::String(s)) => s.as_str(),
        Some(_) => {
            return (
                Tri::Maybe,
                format!(
                    "{}/{} {}: spec.{field} is not a string; it may select the pod",
                    o.api_version,
                    o.kind,
                    display_name(o)
                ),
            );
        }
    };
    match parse_calico_selector(text) {
        Err(e) => (
            Tri::Maybe,
            format!(
                "{}/{} {}: spec.{field} {text:?} does not parse at {e}; it may select the pod",
                o.api_version,
                o.kind,
                display_name(o)
            ),
        ),
        Ok(sel) => {
            let tri = sel.evaluate(view);
            let verdict = match tri {
                Tri::Yes => "matches".to_string(),
                Tri::No => "does not match".to_string(),
                Tri::Maybe => {
                    let unknown: Vec<&str> = sel.keys().into_iter().filter(|k| view.is_unknown(k)).collect();
                    format!("may match: depends on {}, unknown here", unknown.join(", "))
                }
            };
            (tri, format!("spec.{field} {sel} {verdict}"))
        }
    }
}

fn calico(o: &OtherObject, pod: &PodRef, namespaced: bool) -> Outcome {
    let Some(spec) = non_null(&o.value, "spec").filter(|s| s.is_object()) else {
        return Outcome::unreadable("no readable spec; it may select the pod".into());
    };
    let mut parts = Vec::new();
    if namespaced && object_namespace(o) != pod.namespace {
        parts.push((
            Tri::No,
            format!(
                "a Calico NetworkPolicy selects only pods of its namespace {}; the pod is in {}",
                object_namespace(o),
                pod.namespace
            ),
        ));
    }
    parts.push(calico_selector_part(o, "selector", spec, &calico_pod_view(pod)));
    if !namespaced && non_null(spec, "namespaceSelector").is_some() {
        parts.push(calico_selector_part(
            o,
            "namespaceSelector",
            spec,
            &calico_namespace_view(pod),
        ));
    }
    if non_null(spec, "serviceAccountSelector").is_some() {
        parts.push(calico_selector_part(
            o,
            "serviceAccountSelector",
            spec,
            &calico_sa_view(pod),
        ));
    }
    let (tri, why) = all_of(parts);

    // Directions: spec.types, else Ingress unless only egress rules exist (Calico's defaulting).
    let has_in = present(spec, "ingress");
    let has_out = present(spec, "egress");
    let mut read = Vec::new();
    let explicit_types = non_null(spec, "types")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty());
    let (ingress, egress) = match explicit_types {
        Some(types) => {
            let has = |t: &str| {
                types
                    .iter()
                    .any(|x| x.as_str().is_some_and(|s| s.eq_ignore_ascii_case(t)))
            };
            (has("Ingress"), has("Egress"))
        }
        _ => (has_in || !has_out, has_out),
    };
    for (dir, applies, rules) in [("ingress", ingress, has_in), ("egress", egress, has_out)] {
        if applies && !rules {
            let types = if explicit_types.is_some() {
                "spec.types includes"
            } else {
                "types default to"
            };
            let t = if dir == "ingress" { "Ingress" } else { "Egress" };
            read.push(format!(
                "{types} {t} and there is no {dir} rule: {dir} traffic reaching the end of the tier is denied"
            ));
        }
    }
    match non_null(spec, "order") {
        Some(order) => read.push(format!("spec.order {order}: lower orders apply first")),
        None => read.push("no spec.order: applied after every policy of its tier that has one".into()),
    }
    if let Some(tier) = non_null(spec, "tier")
        .and_then(Value::as_str)
        .filter(|t| *t != "default")
    {
        read.push(format!(
            "spec.tier {tier}: tiers apply in their order; Pass moves to the next tier"
        ));
    }
    for section in ["ingress", "egress"] {
        for (i, r) in items(spec.get(section)).iter().enumerate() {
            let p = format!("spec.{section}[{i}]");
            match r.get("action").and_then(Value::as_str) {
                Some("Allow") => {}
                Some("Deny") => read.push(format!("{p}.action Deny: the first matching rule decides; Deny is final")),
                Some("Pass") => read.push(format!(
                    "{p}.action Pass: skips the rest of this tier (next tier, or the namespace/service account profiles)"
                )),
                Some("Log") => read.push(format!("{p}.action Log: logs, then continues with the next rule")),
                other => read.push(format!("{p}.action {other:?}: not one of Allow, Deny, Log, Pass")),
            }
            if r.get("destination").is_some_and(|d| present(d, "domains")) {
                read.push(format!("{p}.destination.domains: DNS-name based egress"));
            }
            if present(r, "http") {
                read.push(format!("{p}.http: L7 HTTP match (application layer policy)"));
            }
        }
    }
    if !namespaced {
        for key in ["doNotTrack", "preDNAT", "applyOnForward"] {
            if spec.get(key).and_then(Value::as_bool) == Some(true) {
                read.push(format!("spec.{key}: true: meaningful for host endpoints only"));
            }
        }
    }
    Outcome {
        tri,
        partly_uncertain: false,
        ingress,
        egress,
        why,
        read,
    }
}

// ---------------------------------------------------------------------------------------------
// Antrea
// ---------------------------------------------------------------------------------------------

fn antrea(o: &OtherObject, pod: &PodRef, namespaced: bool) -> Outcome {
    let Some(spec) = non_null(&o.value, "spec").filter(|s| s.is_object()) else {
        return Outcome::unreadable("no readable spec; it may select the pod".into());
    };
    let policy_ns = object_namespace(o);
    if namespaced && policy_ns != pod.namespace {
        return Outcome {
            tri: Tri::No,
            partly_uncertain: false,
            ingress: false,
            egress: false,
            why: format!(
                "an Antrea NetworkPolicy applies only to its namespace {policy_ns}; the pod is in {}",
                pod.namespace
            ),
            read: Vec::new(),
        };
    }
    let ns_labels = namespace_labels_of(pod);
    let applied = |path: &str, entries: &[Value]| -> (Tri, String) {
        let mut tri = Tri::No;
        let mut yes = Vec::new();
        let mut no = Vec::new();
        for (i, a) in entries.iter().enumerate() {
            let (t, why) = antrea_applied_to(&format!("{path}[{i}]"), a, pod, &ns_labels, namespaced);
            tri = tri.or(t);
            if t == Tri::No { no.push(why) } else { yes.push(why) }
        }
        if entries.is_empty() {
            no.push(format!("{path} is empty"));
        }
        (tri, if tri == Tri::No { no.join("; ") } else { yes.join("; ") })
    };
    let mut read = Vec::new();
    let (tri, why, ingress, egress) = if present(spec, "appliedTo") {
        let (tri, why) = applied("spec.appliedTo", items(spec.get("appliedTo")));
        (tri, why, present(spec, "ingress"), present(spec, "egress"))
    } else {
        // Rule-level appliedTo: each rule says which workloads it applies to.
        let (mut tri, mut whys, mut ingress, mut egress) = (Tri::No, Vec::new(), false, false);
        for section in ["ingress", "egress"] {
            for (i, r) in items(spec.get(section)).iter().enumerate() {
                let (t, why) = applied(&format!("spec.{section}[{i}].appliedTo"), items(r.get("appliedTo")));
                tri = tri.or(t);
                if t != Tri::No {
                    ingress |= section == "ingress";
                    egress |= section == "egress";
                }
                whys.push((t, why));
            }
        }
        let why: Vec<String> = whys
            .into_iter()
            .filter(|(t, _)| (*t == Tri::No) == (tri == Tri::No))
            .map(|(_, w)| w)
            .collect();
        let why = if why.is_empty() {
            "no spec.appliedTo and no rule-level appliedTo".to_string()
        } else {
            why.join("; ")
        };
        (tri, why, ingress, egress)
    };
    if let Some(tier) = non_null(spec, "tier").and_then(Value::as_str) {
        let when = if tier.eq_ignore_ascii_case("baseline") {
            "after K8s NetworkPolicy"
        } else {
            "before K8s NetworkPolicy"
        };
        read.push(format!("spec.tier {tier}: evaluated {when}"));
    } else {
        read.push("no spec.tier: application tier, evaluated before K8s NetworkPolicy".into());
    }
    if let Some(p) = non_null(spec, "priority") {
        read.push(format!("spec.priority {p}: lower numbers apply first within the tier"));
    }
    for section in ["ingress", "egress"] {
        for (i, r) in items(spec.get(section)).iter().enumerate() {
            let p = format!("spec.{section}[{i}]");
            match r.get("action").and_then(Value::as_str) {
                Some("Allow") => {}
                Some("Drop") => read.push(format!("{p}.action Drop: matching traffic is dropped")),
                Some("Reject") => read.push(format!("{p}.action Reject: matching traffic is rejected (the client is told)")),
                Some("Pass") => read.push(format!(
                    "{p}.action Pass: skips the remaining Antrea-native rules; K8s NetworkPolicy (then the baseline tier) decides"
                )),
                other => read.push(format!("{p}.action {other:?}: not one of Allow, Drop, Reject, Pass")),
            }
            if items(r.get("to")).iter().any(|peer| present(peer, "fqdn")) {
                read.push(format!("{p}.to[].fqdn: DNS-name based egress"));
            }
            if present(r, "l7Protocols") {
                read.push(format!("{p}.l7Protocols: L7 (HTTP/TLS) rule"));
            }
            if present(r, "toServices") {
                read.push(format!("{p}.toServices: matches traffic to a Service's ClusterIP"));
            }
        }
    }
    read.push(
        "Antrea-native rules have explicit actions and no implicit default deny; unmatched traffic falls through"
            .into(),
    );
    Outcome {
        tri,
        partly_uncertain: false,
        ingress,
        egress,
        why,
        read,
    }
}

fn antrea_applied_to(path: &str, a: &Value, pod: &PodRef, ns_labels: &Labels, namespaced: bool) -> (Tri, String) {
    if let Some(g) = non_null(a, "group") {
        return (
            Tri::Maybe,
            format!("{path}.group {g}: group membership is not evaluated here; it may select the pod"),
        );
    }
    if let Some(sa) = non_null(a, "serviceAccount") {
        let name = sa.get("name").and_then(Value::as_str).unwrap_or("");
        let ns = sa.get("namespace").and_then(Value::as_str).unwrap_or("");
        let sa_ns = format!("{ns}/{name}");
        return if ns != pod.namespace {
            (
                Tri::No,
                format!(
                    "{path}.serviceAccount {sa_ns}: the pod is in namespace {}",
                    pod.namespace
                ),
            )
        } else {
            match pod.service_account {
                None => (
                    Tri::Maybe,
                    format!("{path}.serviceAccount {sa_ns}: the pod's service account is unknown"),
                ),
                Some(s) => (
                    Tri::of(s == name),
                    format!(
                        "{path}.serviceAccount {sa_ns} {}",
                        if s == name { "matches" } else { "does not match" }
                    ),
                ),
            }
        };
    }
    for (key, what) in [
        ("nodeSelector", "applies to nodes"),
        ("service", "applies to a NodePort Service's traffic"),
    ] {
        if non_null(a, key).is_some() {
            return (Tri::No, format!("{path}.{key}: {what}, never to a pod"));
        }
    }
    let pod_sel = non_null(a, "podSelector");
    let ns_sel = non_null(a, "namespaceSelector");
    if pod_sel.is_none() && ns_sel.is_none() {
        return if non_null(a, "externalEntitySelector").is_some() {
            (
                Tri::No,
                format!("{path}.externalEntitySelector: applies to external entities, never to a pod"),
            )
        } else {
            (
                Tri::Maybe,
                format!("{path} names no workload: could not be read; it may select the pod"),
            )
        };
    }
    if namespaced && ns_sel.is_some() {
        return (
            Tri::Maybe,
            format!("{path}.namespaceSelector in a namespaced policy: not evaluated; it may select the pod"),
        );
    }
    let mut parts = Vec::new();
    for (field, sel, labels) in [
        ("podSelector", pod_sel, pod.labels),
        ("namespaceSelector", ns_sel, ns_labels),
    ] {
        let Some(v) = sel else { continue };
        parts.push(match label_selector(v) {
            Err(e) => (Tri::Maybe, format!("{path}.{field} {e}; it may select the pod")),
            Ok((_, s)) => {
                let ok = s.matches(labels);
                let failed: Vec<String> = s.failures(labels).iter().map(|r| r.to_string()).collect();
                (
                    Tri::of(ok),
                    selector_verdict(&format!("{path}.{field}"), &s, Tri::of(ok), &failed, &[]),
                )
            }
        });
    }
    if !namespaced && ns_sel.is_none() {
        parts.push((Tri::Yes, "in every namespace".to_string()));
    }
    all_of(parts)
}

// ---------------------------------------------------------------------------------------------
// MultiNetworkPolicy
// ---------------------------------------------------------------------------------------------

const POLICY_FOR: &str = "k8s.v1.cni.cncf.io/policy-for";

fn multi(o: &OtherObject, pod: &PodRef) -> Outcome {
    let Some(spec) = non_null(&o.value, "spec").filter(|s| s.is_object()) else {
        return Outcome::unreadable("no readable spec; it may select the pod".into());
    };
    let ns = object_namespace(o);
    let (tri, why) = if ns != pod.namespace {
        (
            Tri::No,
            format!(
                "a MultiNetworkPolicy selects only pods of its namespace {ns}; the pod is in {}",
                pod.namespace
            ),
        )
    } else {
        match non_null(spec, "podSelector").map(label_selector) {
            None => (
                Tri::Yes,
                format!("no spec.podSelector: selects every pod of namespace {ns}"),
            ),
            Some(Err(e)) => (Tri::Maybe, format!("spec.podSelector {e}; it may select the pod")),
            Some(Ok((_, s))) if s.is_everything() => (
                Tri::Yes,
                format!("spec.podSelector {{}} selects every pod of namespace {ns}"),
            ),
            Some(Ok((_, s))) => {
                let ok = s.matches(pod.labels);
                let failed: Vec<String> = s.failures(pod.labels).iter().map(|r| r.to_string()).collect();
                (
                    Tri::of(ok),
                    selector_verdict("spec.podSelector", &s, Tri::of(ok), &failed, &[]),
                )
            }
        }
    };
    let has_out = present(spec, "egress");
    let (ingress, egress) = match non_null(spec, "policyTypes").and_then(Value::as_array) {
        Some(types) if !types.is_empty() => {
            let has = |t: &str| types.iter().any(|x| x.as_str() == Some(t));
            (has("Ingress"), has("Egress"))
        }
        _ => (true, has_out),
    };
    let networks = o
        .value
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(POLICY_FOR))
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty());
    let read = vec![match networks {
        Some(n) => format!(
            "metadata.annotations[{POLICY_FOR}] {n}: applies only on these secondary networks (check the pod's k8s.v1.cni.cncf.io/networks annotation), never on the pod's primary network"
        ),
        None => {
            format!("no {POLICY_FOR} annotation: it names no network, so multi-networkpolicy implementations ignore it")
        }
    }];
    Outcome {
        tri,
        partly_uncertain: false,
        ingress,
        egress,
        why,
        read,
    }
}

// ---------------------------------------------------------------------------------------------
// Calico selector expressions
// ---------------------------------------------------------------------------------------------

/// A parsed Calico selector expression. `Display` prints a normalized form that parses back to
/// the same value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalicoSelector {
    /// `all()` (also the empty expression).
    All,
    /// `global()`: non-namespaced resources; never matches a pod.
    Global,
    /// `has(key)`.
    Has(String),
    /// `key == 'v'`.
    Eq(String, String),
    /// `key != 'v'`: also true when the key is absent.
    Ne(String, String),
    /// `key in {'a', 'b'}`.
    In(String, BTreeSet<String>),
    /// `key not in {'a', 'b'}`: also true when the key is absent.
    NotIn(String, BTreeSet<String>),
    /// `key contains 's'`.
    Contains(String, String),
    /// `key starts with 's'`.
    StartsWith(String, String),
    /// `key ends with 's'`.
    EndsWith(String, String),
    Not(Box<CalicoSelector>),
    /// Two or more operands, none of them an `And`.
    And(Vec<CalicoSelector>),
    /// Two or more operands, none of them an `Or`.
    Or(Vec<CalicoSelector>),
}

/// Why a Calico selector does not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    /// 1-based column (in characters) of the offending input.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for SelectorError {}

impl CalicoSelector {
    /// Whether the labels satisfy the expression (`global()` never does: it is for
    /// non-namespaced resources, not pods).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.evaluate(labels) == Tri::Yes
    }

    fn evaluate(&self, labels: &dyn LabelSource) -> Tri {
        use CalicoSelector as S;
        let value_test = |key: &str, f: &dyn Fn(Option<&str>) -> bool| match labels.lookup(key) {
            Lookup::Unknown => Tri::Maybe,
            Lookup::Known(v) => Tri::of(f(v)),
        };
        match self {
            S::All => Tri::Yes,
            S::Global => Tri::No,
            S::Has(k) => value_test(k, &|v| v.is_some()),
            S::Eq(k, x) => value_test(k, &|v| v == Some(x.as_str())),
            S::Ne(k, x) => value_test(k, &|v| v != Some(x.as_str())),
            S::In(k, set) => value_test(k, &|v| v.is_some_and(|v| set.contains(v))),
            S::NotIn(k, set) => value_test(k, &|v| v.is_none_or(|v| !set.contains(v))),
            S::Contains(k, x) => value_test(k, &|v| v.is_some_and(|v| v.contains(x.as_str()))),
            S::StartsWith(k, x) => value_test(k, &|v| v.is_some_and(|v| v.starts_with(x.as_str()))),
            S::EndsWith(k, x) => value_test(k, &|v| v.is_some_and(|v| v.ends_with(x.as_str()))),
            S::Not(x) => x.evaluate(labels).not(),
            S::And(xs) => xs.iter().fold(Tri::Yes, |acc, x| acc.and(x.evaluate(labels))),
            S::Or(xs) => xs.iter().fold(Tri::No, |acc, x| acc.or(x.evaluate(labels))),
        }
    }

    /// The label keys the expression reads.
    fn keys(&self) -> BTreeSet<&str> {
        use CalicoSelector as S;
        let mut out = BTreeSet::new();
        let mut stack = vec![self];
        while let Some(s) = stack.pop() {
            match s {
                S::All | S::Global => {}
                S::Has(k)
                | S::Eq(k, _)
                | S::Ne(k, _)
                | S::In(k, _)
                | S::NotIn(k, _)
                | S::Contains(k, _)
                | S::StartsWith(k, _)
                | S::EndsWith(k, _) => {
                    out.insert(k.as_str());
                }
                S::Not(x) => stack.push(x),
                S::And(xs) | S::Or(xs) => stack.extend(xs.iter()),
            }
        }
        out
    }

    fn negate(self) -> CalicoSelector {
        match self {
            CalicoSelector::Not(x) => *x,
            x => CalicoSelector::Not(Box::new(x)),
        }
    }
}

fn quoted(s: &str) -> String {
    if s.contains('"') {
        format!("'{s}'")
    } else {
        format!("\"{s}\"")
    }
}

impl fmt::Display for CalicoSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CalicoSelector as S;
        let set = |xs: &BTreeSet<String>| xs.iter().map(|x| quoted(x)).collect::<Vec<_>>().join(", ");
        match self {
            S::All => f.write_str("all()"),
            S::Global => f.write_str("global()"),
            S::Has(k) => write!(f, "has({k})"),
            S::Eq(k, v) => write!(f, "{k} == {}", quoted(v)),
            S::Ne(k, v) => write!(f, "{k} != {}", quoted(v)),
            S::In(k, xs) => write!(f, "{k} in {{{}}}", set(xs)),
            S::NotIn(k, xs) => write!(f, "{k} not in {{{}}}", set(xs)),
            S::Contains(k, v) => write!(f, "{k} contains {}", quoted(v)),
            S::StartsWith(k, v) => write!(f, "{k} starts with {}", quoted(v)),
            S::EndsWith(k, v) => write!(f, "{k} ends with {}", quoted(v)),
            S::Not(x) => match **x {
                S::And(_) | S::Or(_) => write!(f, "!({x})"),
                S::Has(_) | S::All | S::Global => write!(f, "!{x}"),
                // `!k == "v"` would read as a comparison of `!k`; parenthesize for the reader.
                _ => write!(f, "!({x})"),
            },
            S::And(xs) => {
                let parts: Vec<String> = xs
                    .iter()
                    .map(|x| {
                        if matches!(x, S::Or(_)) {
                            format!("({x})")
                        } else {
                            x.to_string()
                        }
                    })
                    .collect();
                f.write_str(&parts.join(" && "))
            }
            S::Or(xs) => f.write_str(&xs.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" || ")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Eq,
    Ne,
    Not,
    And,
    Or,
    In,
    NotIn,
    Contains,
    StartsWith,
    EndsWith,
    All,
    Global,
    Has(String),
    Label(String),
    Str(String),
    Eof,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::LParen => f.write_str("'('"),
            Tok::RParen => f.write_str("')'"),
            Tok::LBrace => f.write_str("'{'"),
            Tok::RBrace => f.write_str("'}'"),
            Tok::Comma => f.write_str("','"),
            Tok::Eq => f.write_str("'=='"),
            Tok::Ne => f.write_str("'!='"),
            Tok::Not => f.write_str("'!'"),
            Tok::And => f.write_str("'&&'"),
            Tok::Or => f.write_str("'||'"),
            Tok::In => f.write_str("'in'"),
            Tok::NotIn => f.write_str("'not in'"),
            Tok::Contains => f.write_str("'contains'"),
            Tok::StartsWith => f.write_str("'starts with'"),
            Tok::EndsWith => f.write_str("'ends with'"),
            Tok::All => f.write_str("all()"),
            Tok::Global => f.write_str("global()"),
            Tok::Has(k) => write!(f, "has({k})"),
            Tok::Label(k) => write!(f, "label '{k}'"),
            Tok::Str(s) => write!(f, "string {}", quoted(s)),
            Tok::Eof => f.write_str("end of input"),
        }
    }
}

fn is_label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

/// Calico's tokenizer: whitespace is space and tab; labels are `[A-Za-z0-9_./-]+`; after a
/// label the words `contains`, `starts with`, `ends with`, `not in`, `in` are operators.
struct Tokenizer<'s> {
    src: &'s str,
    pos: usize,
}

impl<'s> Tokenizer<'s> {
    fn err(&self, byte: usize, message: impl Into<String>) -> SelectorError {
        SelectorError {
            column: self.src[..byte].chars().count() + 1,
            message: message.into(),
        }
    }

    fn rest(&self) -> &'s str {
        &self.src[self.pos..]
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn label(&mut self) -> Option<String> {
        let rest = self.rest();
        let n = rest.find(|c: char| !is_label_char(c)).unwrap_or(rest.len());
        if n == 0 {
            return None;
        }
        self.pos += n;
        Some(rest[..n].to_string())
    }

    fn tokens(mut self) -> Result<Vec<(Tok, usize)>, SelectorError> {
        let mut out: Vec<(Tok, usize)> = Vec::new();
        loop {
            self.skip_ws();
            let start = self.pos;
            let Some(c) = self.rest().chars().next() else {
                out.push((Tok::Eof, start));
                return Ok(out);
            };
            let after_label = matches!(out.last(), Some((Tok::Label(_), _)));
            let tok = match c {
                '(' | ')' | '{' | '}' | ',' => {
                    self.pos += 1;
                    match c {
                        '(' => Tok::LParen,
                        ')' => Tok::RParen,
                        '{' => Tok::LBrace,
                        '}' => Tok::RBrace,
                        _ => Tok::Comma,
                    }
                }
                '"' | '\'' => {
                    let body = &self.rest()[1..];
                    let Some(end) = body.find(c) else {
                        return Err(self.err(start, "unterminated string"));
                    };
                    self.pos += 1 + end + 1;
                    Tok::Str(body[..end].to_string())
                }
                '=' if self.eat("==") => Tok::Eq,
                '=' => return Err(self.err(start, "expected '=='")),
                '!' if self.eat("!=") => Tok::Ne,
                '!' => {
                    self.pos += 1;
                    Tok::Not
                }
                '&' if self.eat("&&") => Tok::And,
                '&' => return Err(self.err(start, "expected '&&'")),
                '|' if self.eat("||") => Tok::Or,
                '|' => return Err(self.err(start, "expected '||'")),
                _ if after_label => self.operator_word(start, &out)?,
                _ if self.eat("has(") => {
                    self.skip_ws();
                    let Some(key) = self.label() else {
                        return Err(self.err(self.pos, "expected a label name in has(...)"));
                    };
                    self.skip_ws();
                    if !self.eat(")") {
                        return Err(self.err(self.pos, format!("expected ')' after has({key}")));
                    }
                    Tok::Has(key)
                }
                _ if self.eat("all(") || self.eat("global(") => {
                    let tok = if self.src[start..].starts_with("all(") {
                        Tok::All
                    } else {
                        Tok::Global
                    };
                    self.skip_ws();
                    if !self.eat(")") {
                        return Err(self.err(self.pos, format!("expected ')' after {}", &self.src[start..self.pos])));
                    }
                    tok
                }
                _ => match self.label() {
                    Some(l) => Tok::Label(l),
                    None => return Err(self.err(start, format!("unexpected character {c:?}"))),
                },
            };
            out.push((tok, start));
        }
    }

    fn operator_word(&mut self, start: usize, out: &[(Tok, usize)]) -> Result<Tok, SelectorError> {
        let label = match out.last() {
            Some((Tok::Label(l), _)) => l.clone(),
            _ => String::new(),
        };
        let expected = || {
            format!("expected an operator (==, !=, in, not in, contains, starts with, ends with) after label '{label}'")
        };
        let mut two = |first: &str, tok: Tok| {
            if self.eat(first) {
                self.skip_ws();
                if self.eat(if first == "not" { "in" } else { "with" }) {
                    return Ok(Some(tok));
                }
                return Err(self.err(start, expected()));
            }
            Ok(None)
        };
        if let Some(t) = two("starts", Tok::StartsWith)? {
            return Ok(t);
        }
        if let Some(t) = two("ends", Tok::EndsWith)? {
            return Ok(t);
        }
        if let Some(t) = two("not", Tok::NotIn)? {
            return Ok(t);
        }
        if self.eat("contains") {
            Ok(Tok::Contains)
        } else if self.eat("in") {
            Ok(Tok::In)
        } else {
            Err(self.err(start, expected()))
        }
    }
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<(Tok, usize)>,
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.i].0
    }

    fn err_here(&self, message: String) -> SelectorError {
        let byte = self.toks[self.i].1;
        SelectorError {
            column: self.src[..byte].chars().count() + 1,
            message,
        }
    }

    fn next(&mut self) -> Tok {
        let t = self.toks[self.i].0.clone();
        if t != Tok::Eof {
            self.i += 1;
        }
        t
    }

    fn or(&mut self) -> Result<CalicoSelector, SelectorError> {
        let mut parts = Vec::new();
        loop {
            match self.and()? {
                CalicoSelector::Or(xs) => parts.extend(xs),
                x => parts.push(x),
            }
            if *self.peek() != Tok::Or {
                break;
            }
            self.next();
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(CalicoSelector::All)
        } else {
            CalicoSelector::Or(parts)
        })
    }

    fn and(&mut self) -> Result<CalicoSelector, SelectorError> {
        let mut parts = Vec::new();
        loop {
            match self.operation()? {
                CalicoSelector::And(xs) => parts.extend(xs),
                x => parts.push(x),
            }
            if *self.peek() != Tok::And {
                break;
            }
            self.next();
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(CalicoSelector::All)
        } else {
            CalicoSelector::And(parts)
        })
    }

    fn string(&mut self, after: &Tok) -> Result<String, SelectorError> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.next();
                Ok(s)
            }
            other => Err(self.err_here(format!("expected a quoted string after {after}, found {other}"))),
        }
    }

    fn set(&mut self, after: &Tok) -> Result<BTreeSet<String>, SelectorError> {
        if *self.peek() != Tok::LBrace {
            return Err(self.err_here(format!("expected '{{' after {after}, found {}", self.peek())));
        }
        self.next();
        let mut values = BTreeSet::new();
        while let Tok::Str(s) = self.peek().clone() {
            self.next();
            values.insert(s);
            if *self.peek() != Tok::Comma {
                break;
            }
            self.next();
        }
        if *self.peek() != Tok::RBrace {
            return Err(self.err_here(format!(
                "expected a quoted string, ',' or '}}' in the set, found {}",
                self.peek()
            )));
        }
        self.next();
        Ok(values)
    }

    fn operation(&mut self) -> Result<CalicoSelector, SelectorError> {
        use CalicoSelector as S;
        let mut negated = false;
        while *self.peek() == Tok::Not {
            self.next();
            negated = !negated;
        }
        let expr = match self.peek().clone() {
            Tok::All => {
                self.next();
                S::All
            }
            Tok::Global => {
                self.next();
                S::Global
            }
            Tok::Has(k) => {
                self.next();
                S::Has(k)
            }
            Tok::LParen => {
                self.next();
                let inner = self.or()?;
                if *self.peek() != Tok::RParen {
                    return Err(self.err_here(format!("expected ')', found {}", self.peek())));
                }
                self.next();
                inner
            }
            Tok::Label(k) => {
                self.next();
                let op = self.peek().clone();
                match op {
                    Tok::Eq | Tok::Ne | Tok::Contains | Tok::StartsWith | Tok::EndsWith => {
                        self.next();
                        let v = self.string(&op)?;
                        match op {
                            Tok::Eq => S::Eq(k, v),
                            Tok::Ne => S::Ne(k, v),
                            Tok::Contains => S::Contains(k, v),
                            Tok::StartsWith => S::StartsWith(k, v),
                            _ => S::EndsWith(k, v),
                        }
                    }
                    Tok::In | Tok::NotIn => {
                        self.next();
                        let set = self.set(&op)?;
                        if op == Tok::In { S::In(k, set) } else { S::NotIn(k, set) }
                    }
                    other => {
                        return Err(self.err_here(format!(
                            "expected an operator (==, !=, in, not in, contains, starts with, ends with) after label '{k}', found {other}"
                        )));
                    }
                }
            }
            other => {
                return Err(self.err_here(format!(
                    "expected a label, has(...), all(), global(), '!' or '(', found {other}"
                )));
            }
        };
        Ok(if negated { expr.negate() } else { expr })
    }
}

/// Parses a Calico selector expression. The empty expression is `all()`. Precedence: `!` binds
/// tightest, then `&&`, then `||`; parentheses group.
pub fn parse_calico_selector(s: &str) -> Result<CalicoSelector, SelectorError> {
    let toks = Tokenizer { src: s, pos: 0 }.tokens()?;
    let mut p = Parser { src: s, toks, i: 0 };
    if *p.peek() == Tok::Eof {
        return Ok(CalicoSelector::All);
    }
    let expr = p.or()?;
    if *p.peek() != Tok::Eof {
        return Err(p.err_here(format!("unexpected {} after the end of the expression", p.peek())));
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn obj(api_version: &str, kind: &str, namespace: Option<&str>, name: &str, spec: Value) -> OtherObject {
        let mut value = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}});
        if let Some(ns) = namespace {
            value["metadata"]["namespace"] = json!(ns);
        }
        if let Value::Object(m) = spec {
            for (k, v) in m {
                value[k] = v;
            }
        }
        OtherObject {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: namespace.map(String::from),
            name: name.into(),
            value,
        }
    }

    struct Pod {
        ns: &'static str,
        labels: Labels,
        ns_labels: Labels,
        sa: Option<&'static str>,
    }

    impl Pod {
        /// `shop/web`: app=web, tier=front; namespace team=blue; service account web-sa.
        fn web() -> Pod {
            Pod {
                ns: "shop",
                labels: labels(&[("app", "web"), ("tier", "front")]),
                ns_labels: labels(&[("team", "blue"), ("kubernetes.io/metadata.name", "shop")]),
                sa: Some("web-sa"),
            }
        }
        fn r(&self) -> PodRef<'_> {
            PodRef {
                namespace: self.ns,
                labels: &self.labels,
                namespace_labels: &self.ns_labels,
                service_account: self.sa,
            }
        }
    }

    /// One row per selector rule: (expression, expected match). Every normalized form parses back.
    #[test]
    fn calico_selector_semantics_table() {
        let l = labels(&[
            ("app", "web"),
            ("tier", "front-end"),
            ("projectcalico.org/namespace", "shop"),
            ("k8s-app", "kube-dns"),
            ("a.b/c-d_e", "x"),
        ]);
        #[rustfmt::skip]
        let rows: &[(&str, bool)] = &[
            ("all()", true),
            ("", true),
            ("   ", true),
            ("global()", false),
            ("!all()", false),
            ("has(app)", true),
            ("has(missing)", false),
            ("has( app )", true),
            ("!has(missing)", true),
            ("!has(app)", false),
            ("app == 'web'", true),
            ("app == \"web\"", true),
            ("app=='web'", true),
            ("app == 'db'", false),
            ("missing == ''", false),
            ("app != 'db'", true),
            ("app != 'web'", false),
            ("missing != 'x'", true),                      // != is true when the key is absent
            ("app in {'web', 'db'}", true),
            ("app in {'db'}", false),
            ("app in {}", false),
            ("app in {'web',}", true),                     // Calico accepts a trailing comma
            ("missing in {'x'}", false),
            ("app not in {'db'}", true),
            ("app not in {'web', 'db'}", false),
            ("missing not in {'x'}", true),                // not in is true when the key is absent
            ("app not in {}", true),
            ("app notin {'db'}", true),                    // Calico's tokenizer accepts `notin`
            ("tier contains 'nt-e'", true),
            ("tier contains 'back'", false),
            ("missing contains ''", false),
            ("tier starts with 'front'", true),
            ("tier starts with 'end'", false),
            ("tier ends with '-end'", true),
            ("tier ends with 'front'", false),
            ("missing ends with ''", false),
            ("projectcalico.org/namespace == 'shop'", true),
            ("k8s-app == \"kube-dns\"", true),
            ("a.b/c-d_e == 'x'", true),
            ("app == 'db' && tier == 'x' || has(app)", true),   // && binds tighter than ||
            ("has(app) || app == 'db' && tier == 'x'", true),
            ("(has(app) || app == 'db') && tier == 'x'", false),
            ("app == 'db' && (tier == 'x' || has(app))", false),
            ("!app == 'db' && has(tier)", true),                // ! binds to one operation
            ("!(app == 'web' && has(tier))", false),
            ("!!has(app)", true),
            ("!(!has(app))", true),
            ("has(app) && has(tier) && app == 'web'", true),
            ("has(x) || has(y) || has(app)", true),
            ("\tapp\t==\t'web'\t", true),
            ("app == 'it\"s'", false),
            ("app == \"it's\"", false),
        ];
        for (expr, want) in rows {
            let sel = parse_calico_selector(expr).unwrap_or_else(|e| panic!("{expr:?}: {e}"));
            assert_eq!(sel.matches(&l), *want, "{expr:?} parsed as {sel}");
            let again = parse_calico_selector(&sel.to_string()).unwrap_or_else(|e| panic!("{sel}: {e}"));
            assert_eq!(again, sel, "normalized form {sel} of {expr:?} does not parse back");
        }
    }

    #[test]
    fn calico_selector_normalized_form() {
        #[rustfmt::skip]
        let rows: &[(&str, &str)] = &[
            ("app=='web'", "app == \"web\""),
            ("a == 'x' || b == 'y' && c == 'z'", "a == \"x\" || b == \"y\" && c == \"z\""),
            ("(a == 'x' || b == 'y') && c == 'z'", "(a == \"x\" || b == \"y\") && c == \"z\""),
            ("a == 'x' && (b == 'y' && c == 'z')", "a == \"x\" && b == \"y\" && c == \"z\""),
            ("k in {'b','a','b'}", "k in {\"a\", \"b\"}"),
            ("k not in {}", "k not in {}"),
            ("!has(k)", "!has(k)"),
            ("!k == 'v'", "!(k == \"v\")"),
            ("!!k == 'v'", "k == \"v\""),
            ("!(a == 'x' || has(b))", "!(a == \"x\" || has(b))"),
            ("k == 'say \"hi\"'", "k == 'say \"hi\"'"),
            ("k starts with 'a'", "k starts with \"a\""),
            ("", "all()"),
        ];
        for (expr, want) in rows {
            assert_eq!(parse_calico_selector(expr).unwrap().to_string(), *want, "{expr:?}");
        }
    }

    /// Parse errors carry the 1-based column of the offending input.
    #[test]
    fn calico_selector_parse_errors_table() {
        #[rustfmt::skip]
        let rows: &[(&str, usize, &str)] = &[
            ("app = 'web'", 5, "expected '=='"),
            ("app == web", 8, "expected a quoted string"),
            ("app == 'web", 8, "unterminated string"),
            ("app web", 5, "expected an operator"),
            ("app", 4, "expected an operator"),
            ("has(app", 8, "expected ')'"),
            ("has()", 5, "label name"),
            ("(has(app)", 10, "expected ')'"),
            ("has(app))", 9, "unexpected ')'"),
            ("has(a) & has(b)", 8, "expected '&&'"),
            ("has(a) | has(b)", 8, "expected '||'"),
            ("has(a) &&", 10, "expected a label"),
            ("app in 'web'", 8, "expected '{'"),
            ("app in {'a' 'b'}", 13, "in the set"),
            ("app in {web}", 9, "in the set"),
            ("app starts 'x'", 5, "expected an operator"),
            ("app not with {'x'}", 5, "expected an operator"),
            ("'web' == app", 1, "expected a label"),
            ("app == 'x' has(b)", 12, "unexpected has(b)"),
            ("app == 'x'\n", 11, "unexpected character"),  // Calico's whitespace is space and tab only
            ("app ~= 'x'", 5, "expected an operator"),
            ("all(x)", 5, "expected ')'"),
            ("é == 'x'", 1, "unexpected character"),
            ("app == 'é' x", 12, "unexpected label 'x'"),    // columns count characters, not bytes
        ];
        for (expr, column, msg) in rows {
            let err = parse_calico_selector(expr).expect_err(expr);
            assert_eq!(err.column, *column, "{expr:?}: {err}");
            assert!(err.message.contains(msg), "{expr:?}: {err}");
        }
    }

    #[test]
    fn calico_selector_unknown_keys_are_maybe() {
        let view = LabelView {
            labels: labels(&[("app", "web")]),
            unknown_keys: BTreeSet::new(),
            unknown_prefixes: vec!["pcsa."],
        };
        #[rustfmt::skip]
        let rows: &[(&str, Tri)] = &[
            ("pcsa.team == 'x'", Tri::Maybe),
            ("app == 'db' && pcsa.team == 'x'", Tri::No),
            ("app == 'web' || pcsa.team == 'x'", Tri::Yes),
            ("app == 'web' && pcsa.team == 'x'", Tri::Maybe),
            ("!has(pcsa.team)", Tri::Maybe),
        ];
        for (expr, want) in rows {
            assert_eq!(parse_calico_selector(expr).unwrap().evaluate(&view), *want, "{expr:?}");
        }
    }

    fn one(objects: &[OtherObject], pod: &Pod) -> ExtendedHit {
        let hits = examine(objects, &pod.r());
        assert_eq!(hits.len(), 1, "{hits:#?}");
        hits.into_iter().next().unwrap()
    }

    fn cnp(ns: &str, spec: Value) -> OtherObject {
        obj(
            "cilium.io/v2",
            "CiliumNetworkPolicy",
            Some(ns),
            "p",
            json!({ "spec": spec }),
        )
    }

    fn ccnp(spec: Value) -> OtherObject {
        obj(
            "cilium.io/v2",
            "CiliumClusterwideNetworkPolicy",
            None,
            "p",
            json!({ "spec": spec }),
        )
    }

    fn es(selector: Value) -> Value {
        json!({ "endpointSelector": selector })
    }

    /// Cilium rows: (name, object, selects, certain) for the pod `shop/web`.
    #[test]
    fn cilium_selection_table() {
        let ing = json!([{"fromEndpoints": [{}]}]);
        #[rustfmt::skip]
        let rows: Vec<(&str, OtherObject, bool, bool)> = vec![
            ("plain key", cnp("shop", es(json!({"matchLabels": {"app": "web"}}))), true, true),
            ("k8s: prefix", cnp("shop", es(json!({"matchLabels": {"k8s:app": "web"}}))), true, true),
            ("any: prefix", cnp("shop", es(json!({"matchLabels": {"any:app": "web"}}))), true, true),
            ("container: prefix", cnp("shop", es(json!({"matchLabels": {"container:tier": "front"}}))), true, true),
            ("wrong value", cnp("shop", es(json!({"matchLabels": {"k8s:app": "db"}}))), false, true),
            ("reserved label", cnp("shop", es(json!({"matchLabels": {"reserved:host": ""}}))), false, true),
            ("reserved DoesNotExist", cnp("shop", es(json!({"matchExpressions": [{"key": "reserved:host", "operator": "DoesNotExist"}]}))), true, true),
            ("unknown source", cnp("shop", es(json!({"matchLabels": {"weird:app": "web"}}))), true, false),
            ("expressions", cnp("shop", es(json!({"matchExpressions": [{"key": "k8s:app", "operator": "In", "values": ["web", "api"]}, {"key": "env", "operator": "NotIn", "values": ["prod"]}]}))), true, true),
            ("empty selector, own ns", cnp("shop", es(json!({}))), true, true),
            ("empty selector, other ns", cnp("bank", es(json!({}))), false, true),
            ("CNP other ns, matching labels", cnp("bank", es(json!({"matchLabels": {"app": "web"}}))), false, true),
            ("CNP namespace key", cnp("shop", es(json!({"matchLabels": {"k8s:io.kubernetes.pod.namespace": "shop"}}))), true, true),
            ("CCNP empty selector", ccnp(es(json!({}))), true, true),
            ("CCNP namespace key", ccnp(es(json!({"matchLabels": {"io.kubernetes.pod.namespace": "shop", "app": "web"}}))), true, true),
            ("CCNP other namespace", ccnp(es(json!({"matchLabels": {"k8s:io.kubernetes.pod.namespace": "bank"}}))), false, true),
            ("CCNP namespace labels", ccnp(es(json!({"matchLabels": {"k8s:io.cilium.k8s.namespace.labels.team": "blue"}}))), true, true),
            ("CCNP namespace labels mismatch", ccnp(es(json!({"matchLabels": {"k8s:io.cilium.k8s.namespace.labels.team": "red"}}))), false, true),
            ("service account", ccnp(es(json!({"matchLabels": {"io.cilium.k8s.policy.serviceaccount": "web-sa"}}))), true, true),
            ("service account mismatch", ccnp(es(json!({"matchLabels": {"io.cilium.k8s.policy.serviceaccount": "db-sa"}}))), false, true),
            ("cluster name unknown", ccnp(es(json!({"matchLabels": {"io.cilium.k8s.policy.cluster": "default"}}))), true, false),
            ("cluster unknown, other label fails", ccnp(es(json!({"matchLabels": {"io.cilium.k8s.policy.cluster": "default", "app": "db"}}))), false, true),
            ("host policy", ccnp(json!({"nodeSelector": {}, "ingress": ing})), false, true),
            ("no selector at all", ccnp(json!({"ingress": ing})), true, false),
            ("unreadable selector", ccnp(es(json!({"matchLabels": "app=web"}))), true, false),
            ("invalid operator", ccnp(es(json!({"matchExpressions": [{"key": "app", "operator": "Equals", "values": ["web"]}]}))), true, false),
            ("no spec", obj("cilium.io/v2", "CiliumClusterwideNetworkPolicy", None, "p", json!({})), true, false),
        ];
        let pod = Pod::web();
        for (name, o, selects, certain) in rows {
            let hit = one(&[o], &pod);
            assert_eq!((hit.selects, hit.certain), (selects, certain), "{name}: {hit:#?}");
        }
    }

    #[test]
    fn cilium_unknown_service_account_is_uncertain() {
        let mut pod = Pod::web();
        pod.sa = None;
        let o = ccnp(es(
            json!({"matchLabels": {"io.cilium.k8s.policy.serviceaccount": "web-sa"}}),
        ));
        let hit = one(&[o], &pod);
        assert!(hit.selects && !hit.certain, "{hit:#?}");
        assert!(hit.why.contains("io.cilium.k8s.policy.serviceaccount"), "{}", hit.why);
    }

    #[test]
    fn cilium_host_policy_says_so() {
        let hit = one(
            &[ccnp(
                json!({"nodeSelector": {"matchLabels": {"role": "worker"}}, "ingress": [{}]}),
            )],
            &Pod::web(),
        );
        assert!(!hit.selects && hit.certain);
        assert!(
            hit.why.contains("host policy") && hit.why.contains("never selects a pod"),
            "{}",
            hit.why
        );
        assert!(selecting(&[ccnp(json!({"nodeSelector": {}}))], &Pod::web().r()).is_empty());
    }

    #[test]
    fn cilium_directions_and_hints() {
        let o = cnp(
            "shop",
            json!({
                "endpointSelector": {"matchLabels": {"app": "web"}},
                "ingressDeny": [{"fromEntities": ["world"]}],
                "egress": [
                    {"toFQDNs": [{"matchName": "api.example.com"}]},
                    {"toEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system", "k8s-app": "kube-dns"}}],
                     "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}], "rules": {"dns": [{"matchPattern": "*"}]}}]},
                    {"toEntities": ["world", "kube-apiserver"]},
                    {"toCIDRSet": [{"cidr": "10.0.0.0/8"}]},
                    {"toPorts": [{"ports": [{"port": "80"}], "rules": {"http": [{"method": "GET"}]}}]}
                ],
                "enableDefaultDeny": {"egress": false}
            }),
        );
        let hit = one(&[o], &Pod::web());
        assert!(hit.selects && hit.certain);
        assert_eq!(hit.directions, vec!["ingress", "egress"]);
        assert_eq!(hit.name, "shop/p");
        assert_eq!(hit.kind, "cilium.io/v2/CiliumNetworkPolicy");
        let want = [
            "spec.ingressDeny present: deny rules override allows",
            "spec.ingressDeny[0].fromEntities: world = outside the cluster",
            "spec.egress[0].toFQDNs: DNS-name based egress",
            "spec.egress[1].toPorts[0].rules.dns: DNS proxy rules",
            "spec.egress[2].toEntities: world = outside the cluster; kube-apiserver = the Kubernetes API server",
            "spec.egress[3].toCIDRSet: CIDR peers match addresses outside the cluster",
            "spec.egress[4].toPorts[0].rules.http: L7 HTTP rules",
            "spec.enableDefaultDeny.egress: false",
        ];
        for w in want {
            assert!(
                hit.read.iter().any(|r| r.starts_with(w)),
                "missing {w:?} in {:#?}",
                hit.read
            );
        }
    }

    #[test]
    fn cilium_specs_list() {
        let o = obj(
            "cilium.io/v2",
            "CiliumClusterwideNetworkPolicy",
            None,
            "multi",
            json!({"specs": [
                {"endpointSelector": {"matchLabels": {"app": "db"}}, "ingress": [{}]},
                {"endpointSelector": {"matchLabels": {"app": "web"}}, "egressDeny": [{"toEntities": ["world"]}]},
                {"nodeSelector": {}, "ingress": [{}]}
            ]}),
        );
        let hit = one(&[o], &Pod::web());
        assert!(hit.selects && hit.certain);
        assert_eq!(hit.directions, vec!["egress"], "only the selecting rule's directions");
        assert!(
            hit.why.starts_with("specs[1].endpointSelector app=web matches"),
            "{}",
            hit.why
        );
        assert!(
            hit.read.iter().any(|r| r.starts_with("specs[1].egressDeny present")),
            "{:#?}",
            hit.read
        );
        assert!(!hit.read.iter().any(|r| r.starts_with("specs[0]")), "{:#?}", hit.read);
    }

    #[test]
    fn cilium_empty_sections_enforce_nothing() {
        let hit = one(
            &[cnp(
                "shop",
                json!({"endpointSelector": {}, "ingress": [], "egress": []}),
            )],
            &Pod::web(),
        );
        assert!(hit.directions.is_empty());
        assert!(hit.why.contains("every pod of namespace shop"), "{}", hit.why);
        assert!(
            hit.read.iter().any(|r| r.contains("enforces nothing")),
            "{:#?}",
            hit.read
        );
        let hit = one(&[ccnp(json!({"endpointSelector": {}, "ingress": [{}]}))], &Pod::web());
        assert_eq!(hit.directions, vec!["ingress"]);
        assert!(hit.why.contains("every pod in the cluster"), "{}", hit.why);
        assert!(
            hit.read.iter().any(|r| r.contains("spec.ingress[0] is empty")),
            "{:#?}",
            hit.read
        );
    }

    fn calico_np(group: &str, ns: &str, spec: Value) -> OtherObject {
        obj(group, "NetworkPolicy", Some(ns), "c", json!({ "spec": spec }))
    }

    fn gnp(spec: Value) -> OtherObject {
        obj(
            "projectcalico.org/v3",
            "GlobalNetworkPolicy",
            None,
            "g",
            json!({ "spec": spec }),
        )
    }

    /// Calico rows: (name, object, selects, certain, directions) for the pod `shop/web`.
    #[test]
    fn calico_selection_table() {
        let v3 = "projectcalico.org/v3";
        let crd = "crd.projectcalico.org/v1";
        #[rustfmt::skip]
        let rows: Vec<(&str, OtherObject, bool, bool, &[&str])> = vec![
            ("v3 namespaced match", calico_np(v3, "shop", json!({"selector": "app == 'web'"})), true, true, &["ingress"]),
            ("crd namespaced match", calico_np(crd, "shop", json!({"selector": "app == 'web'"})), true, true, &["ingress"]),
            ("namespaced other ns", calico_np(v3, "bank", json!({"selector": "all()"})), false, true, &[]),
            ("no selector = all()", calico_np(v3, "shop", json!({})), true, true, &["ingress"]),
            ("no match", calico_np(v3, "shop", json!({"selector": "app == 'db'"})), false, true, &[]),
            ("calico namespace label", calico_np(v3, "shop", json!({"selector": "projectcalico.org/namespace == 'shop'"})), true, true, &["ingress"]),
            ("orchestrator label", gnp(json!({"selector": "projectcalico.org/orchestrator == 'k8s' && app == 'web'"})), true, true, &["ingress"]),
            ("pcns label on pod", gnp(json!({"selector": "pcns.team == 'blue'"})), true, true, &["ingress"]),
            ("service account label", gnp(json!({"selector": "projectcalico.org/serviceaccount == 'web-sa'"})), true, true, &["ingress"]),
            ("sa labels unknown", gnp(json!({"selector": "pcsa.role == 'x'"})), true, false, &["ingress"]),
            ("global() never a pod", gnp(json!({"selector": "global()"})), false, true, &[]),
            ("gnp every namespace", gnp(json!({"selector": "app == 'web'", "types": ["Egress"]})), true, true, &["egress"]),
            ("gnp nsSelector plain", gnp(json!({"selector": "all()", "namespaceSelector": "team == 'blue'"})), true, true, &["ingress"]),
            ("gnp nsSelector pcns", gnp(json!({"selector": "all()", "namespaceSelector": "pcns.team == 'blue'"})), true, true, &["ingress"]),
            ("gnp nsSelector name", gnp(json!({"namespaceSelector": "projectcalico.org/name == 'shop'"})), true, true, &["ingress"]),
            ("gnp nsSelector metadata.name", gnp(json!({"namespaceSelector": "kubernetes.io/metadata.name in {'shop', 'bank'}"})), true, true, &["ingress"]),
            ("gnp nsSelector mismatch", gnp(json!({"selector": "all()", "namespaceSelector": "team == 'red'"})), false, true, &[]),
            ("nsSelector mismatch beats bad selector", gnp(json!({"selector": "app ==", "namespaceSelector": "team == 'red'"})), false, true, &[]),
            ("sa selector by name", gnp(json!({"serviceAccountSelector": "projectcalico.org/name == 'web-sa'"})), true, true, &["ingress"]),
            ("sa selector other name", gnp(json!({"serviceAccountSelector": "projectcalico.org/name == 'db-sa'"})), false, true, &[]),
            ("sa selector by label", gnp(json!({"serviceAccountSelector": "role == 'frontend'"})), true, false, &["ingress"]),
            ("unparseable selector", calico_np(v3, "shop", json!({"selector": "app = 'web'"})), true, false, &["ingress"]),
            ("selector not a string", calico_np(v3, "shop", json!({"selector": {"app": "web"}})), true, false, &["ingress"]),
            ("default types: egress only", gnp(json!({"egress": [{"action": "Allow"}]})), true, true, &["egress"]),
            ("default types: both", gnp(json!({"ingress": [{"action": "Allow"}], "egress": [{"action": "Allow"}]})), true, true, &["ingress", "egress"]),
            ("explicit types", gnp(json!({"types": ["Ingress", "Egress"]})), true, true, &["ingress", "egress"]),
        ];
        let pod = Pod::web();
        for (name, o, selects, certain, dirs) in rows {
            let hit = one(&[o], &pod);
            assert_eq!((hit.selects, hit.certain), (selects, certain), "{name}: {hit:#?}");
            assert_eq!(hit.directions, dirs.to_vec(), "{name}: {hit:#?}");
        }
    }

    #[test]
    fn calico_parse_error_names_object_and_position() {
        let o = calico_np("projectcalico.org/v3", "shop", json!({"selector": "app == web"}));
        let hit = one(&[o], &Pod::web());
        assert!(hit.selects && !hit.certain);
        assert!(
            hit.why.contains("projectcalico.org/v3/NetworkPolicy shop/c"),
            "{}",
            hit.why
        );
        assert!(hit.why.contains("column 8"), "{}", hit.why);
        assert!(hit.why.contains("may select"), "{}", hit.why);
    }

    #[test]
    fn calico_hints() {
        let o = gnp(json!({
            "selector": "app == 'web'",
            "order": 100,
            "tier": "security",
            "types": ["Ingress", "Egress"],
            "ingress": [{"action": "Deny"}, {"action": "Pass"}, {"action": "Log"}, {"action": "Allow"}],
            "preDNAT": true
        }));
        let hit = one(&[o], &Pod::web());
        for w in [
            "spec.types includes Egress and there is no egress rule",
            "spec.order 100: lower orders apply first",
            "spec.tier security",
            "spec.ingress[0].action Deny",
            "spec.ingress[1].action Pass",
            "spec.ingress[2].action Log",
            "spec.preDNAT: true",
        ] {
            assert!(
                hit.read.iter().any(|r| r.starts_with(w)),
                "missing {w:?} in {:#?}",
                hit.read
            );
        }
        assert!(
            !hit.read.iter().any(|r| r.starts_with("spec.ingress[3]")),
            "{:#?}",
            hit.read
        );
        assert!(hit.why.contains("spec.selector app == \"web\" matches"), "{}", hit.why);
        let hit = one(&[gnp(json!({}))], &Pod::web());
        let default_types = "types default to Ingress and there is no ingress rule";
        assert!(hit.read.iter().any(|r| r.starts_with(default_types)), "{:#?}", hit.read);
        assert!(
            hit.read.iter().any(|r| r.starts_with("no spec.order")),
            "{:#?}",
            hit.read
        );
    }

    /// MultiNetworkPolicy rows: (name, object, selects, certain, directions).
    #[test]
    fn multi_network_policy() {
        let mk = |ns: &str, spec: Value, annotated: bool| {
            let mut o = obj(
                "k8s.cni.cncf.io/v1beta1",
                "MultiNetworkPolicy",
                Some(ns),
                "m",
                json!({ "spec": spec }),
            );
            if annotated {
                o.value["metadata"]["annotations"] = json!({ POLICY_FOR: "shop/macvlan1" });
            }
            o
        };
        #[rustfmt::skip]
        let rows: Vec<(&str, OtherObject, bool, bool, &[&str])> = vec![
            ("match", mk("shop", json!({"podSelector": {"matchLabels": {"app": "web"}}}), true), true, true, &["ingress"]),
            ("no match", mk("shop", json!({"podSelector": {"matchLabels": {"app": "db"}}}), true), false, true, &[]),
            ("empty", mk("shop", json!({"podSelector": {}, "policyTypes": ["Egress"]}), true), true, true, &["egress"]),
            ("other ns", mk("bank", json!({"podSelector": {}}), true), false, true, &[]),
            ("egress default", mk("shop", json!({"podSelector": {}, "egress": [{}]}), true), true, true, &["ingress", "egress"]),
            ("bad selector", mk("shop", json!({"podSelector": {"matchLabels": 3}}), true), true, false, &["ingress"]),
        ];
        let pod = Pod::web();
        for (name, o, selects, certain, dirs) in rows {
            let hit = one(&[o], &pod);
            assert_eq!((hit.selects, hit.certain), (selects, certain), "{name}: {hit:#?}");
            assert_eq!(hit.directions, dirs.to_vec(), "{name}");
            if selects {
                assert!(hit.read[0].contains("shop/macvlan1"), "{name}: {:#?}", hit.read);
            }
        }
        let hit = one(&[mk("shop", json!({"podSelector": {}}), false)], &pod);
        assert!(hit.read[0].contains("ignore it"), "{:#?}", hit.read);
    }

    /// Antrea rows: (name, object, selects, certain, directions).
    #[test]
    fn antrea_applied_to_table() {
        let acnp = |spec: Value| {
            obj(
                "crd.antrea.io/v1beta1",
                "ClusterNetworkPolicy",
                None,
                "a",
                json!({ "spec": spec }),
            )
        };
        let annp = |ns: &str, spec: Value| {
            obj(
                "crd.antrea.io/v1beta1",
                "NetworkPolicy",
                Some(ns),
                "a",
                json!({ "spec": spec }),
            )
        };
        let ing = json!([{"action": "Drop", "from": [{"namespaceSelector": {}}]}]);
        #[rustfmt::skip]
        let rows: Vec<(&str, OtherObject, bool, bool, &[&str])> = vec![
            ("acnp podSelector, all namespaces", acnp(json!({"appliedTo": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ingress": ing})), true, true, &["ingress"]),
            ("acnp podSelector mismatch", acnp(json!({"appliedTo": [{"podSelector": {"matchLabels": {"app": "db"}}}], "ingress": ing})), false, true, &[]),
            ("acnp namespaceSelector", acnp(json!({"appliedTo": [{"namespaceSelector": {"matchLabels": {"team": "blue"}}}], "ingress": ing})), true, true, &["ingress"]),
            ("acnp both, ns mismatch", acnp(json!({"appliedTo": [{"podSelector": {}, "namespaceSelector": {"matchLabels": {"team": "red"}}}], "ingress": ing})), false, true, &[]),
            ("acnp second entry matches", acnp(json!({"appliedTo": [{"podSelector": {"matchLabels": {"app": "db"}}}, {"podSelector": {"matchLabels": {"tier": "front"}}}], "egress": ing})), true, true, &["egress"]),
            ("acnp group", acnp(json!({"appliedTo": [{"group": "g1"}], "ingress": ing})), true, false, &["ingress"]),
            ("acnp serviceAccount", acnp(json!({"appliedTo": [{"serviceAccount": {"name": "web-sa", "namespace": "shop"}}], "ingress": ing})), true, true, &["ingress"]),
            ("acnp serviceAccount other ns", acnp(json!({"appliedTo": [{"serviceAccount": {"name": "web-sa", "namespace": "bank"}}], "ingress": ing})), false, true, &[]),
            ("acnp nodeSelector", acnp(json!({"appliedTo": [{"nodeSelector": {}}], "ingress": ing})), false, true, &[]),
            ("acnp rule-level appliedTo", acnp(json!({"ingress": [{"action": "Allow", "appliedTo": [{"podSelector": {"matchLabels": {"app": "db"}}}]}], "egress": [{"action": "Drop", "appliedTo": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]})), true, true, &["egress"]),
            ("annp own namespace", annp("shop", json!({"appliedTo": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ingress": ing})), true, true, &["ingress"]),
            ("annp other namespace", annp("bank", json!({"appliedTo": [{"podSelector": {}}], "ingress": ing})), false, true, &[]),
            ("annp bad selector", annp("shop", json!({"appliedTo": [{"podSelector": {"matchExpressions": [{"key": "app", "operator": "In"}]}}], "ingress": ing})), true, false, &["ingress"]),
        ];
        let pod = Pod::web();
        for (name, o, selects, certain, dirs) in rows {
            let hit = one(&[o], &pod);
            assert_eq!((hit.selects, hit.certain), (selects, certain), "{name}: {hit:#?}");
            assert_eq!(hit.directions, dirs.to_vec(), "{name}");
        }
        let o = acnp(json!({"appliedTo": [{"podSelector": {}}], "tier": "baseline", "priority": 5, "ingress": ing}));
        let hit = one(&[o], &pod);
        assert!(
            hit.read
                .iter()
                .any(|r| r == "spec.tier baseline: evaluated after K8s NetworkPolicy"),
            "{:#?}",
            hit.read
        );
        assert!(
            hit.read.iter().any(|r| r.starts_with("spec.ingress[0].action Drop")),
            "{:#?}",
            hit.read
        );
    }

    #[test]
    fn ignores_other_kinds_and_sorts() {
        let objects = vec![
            gnp(json!({})),
            obj(
                "policy.networking.k8s.io/v1alpha1",
                "AdminNetworkPolicy",
                None,
                "anp",
                json!({"spec": {}}),
            ),
            obj(
                "networking.k8s.io/v1",
                "NetworkPolicy",
                Some("shop"),
                "k8s",
                json!({"spec": {}}),
            ),
            obj("v1", "ConfigMap", Some("shop"), "cm", json!({})),
            ccnp(json!({"endpointSelector": {}})),
            obj(
                "cilium.io/v2",
                "CiliumNetworkPolicy",
                Some("shop"),
                "b",
                json!({"spec": {"endpointSelector": {}}}),
            ),
            obj(
                "cilium.io/v2",
                "CiliumNetworkPolicy",
                Some("shop"),
                "a",
                json!({"spec": {"endpointSelector": {}}}),
            ),
            obj(
                "cilium.io/v2",
                "CiliumNetworkPolicy",
                None,
                "nons",
                json!({"spec": {"endpointSelector": {}}}),
            ),
        ];
        let hits = selecting(&objects, &Pod::web().r());
        let names: Vec<(&str, &str)> = hits.iter().map(|h| (h.kind.as_str(), h.name.as_str())).collect();
        assert_eq!(
            names,
            vec![
                ("cilium.io/v2/CiliumClusterwideNetworkPolicy", "p"),
                ("cilium.io/v2/CiliumNetworkPolicy", "shop/a"),
                ("cilium.io/v2/CiliumNetworkPolicy", "shop/b"),
                ("projectcalico.org/v3/GlobalNetworkPolicy", "g"),
            ]
        );
        let all = examine(&objects, &Pod::web().r());
        assert_eq!(all.len(), 5, "{all:#?}");
        assert!(
            all.iter().any(|h| h.name == "default/nons" && !h.selects),
            "a CNP without namespace is in default"
        );
    }
}
