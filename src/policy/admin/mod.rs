//! AdminNetworkPolicy and BaselineAdminNetworkPolicy (`policy.networking.k8s.io/v1alpha1`) and
//! ClusterNetworkPolicy (`policy.networking.k8s.io/v1alpha2`, network-policy-api v0.2.0) lowered
//! once into one shape: subject, peer and port matchers, rules in order, and a tier.
//!
//! Precedence, per direction (egress at the source pod, ingress at the destination pod): the
//! Admin tier (AdminNetworkPolicies and `tier: Admin` ClusterNetworkPolicies by priority, lower
//! number first, then by name; rules in order; the first rule that matches a connection decides
//! it: Allow/Accept, Deny, or Pass to the next tier), then NetworkPolicy (when one isolates the pod
//! it decides whatever the first tier left), then the Baseline tier (`tier: Baseline`
//! ClusterNetworkPolicies by priority, then the BaselineAdminNetworkPolicy; a Pass there hands the
//! connection to the default), then allow. Kubernetes defines no order between an
//! AdminNetworkPolicy and a ClusterNetworkPolicy of the same tier, nor between two policies of one
//! kind and tier sharing a priority: such policies are ordered here (priority, kind, name) with a
//! warning, and the engine makes a verdict their order decides inconclusive. This module only
//! reads the objects (a pure lowering: it imports `snapshot` and `policy`, nothing above); which
//! pods of the cluster a policy selects is `index::admin`, the evaluation is the engine's
//! first-match tiers. `cnp.rs`: what only ClusterNetworkPolicy has; `strict.rs`: the fields each
//! API type defines (an unknown field is an issue, as the API server reads it).
//!
//! Invariant: lowering never fails and never panics. The objects arrive as raw JSON (the snapshot
//! keeps kinds it does not model as `OtherObject`). A field the API server would reject becomes an
//! [`Issue`] plus a load warning naming the object and the field. A policy with an issue is not
//! evaluated in the directions the issue touches (both, when the issue is in its subject, priority
//! or name): a verdict such a policy may change is uncertain, never a guess.

mod cnp;
mod strict;

pub use strict::is_unknown_field;

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use ipnet::IpNet;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::{Map, Value};

use crate::policy::{Direction, Issue, Labels, PolicyKind, Protocol, Section, Selector};
use crate::snapshot::{ClusterSnapshot, LoadWarning};

/// The API group of the three kinds.
pub const API_GROUP: &str = "policy.networking.k8s.io";
/// The highest (least important) priority the API accepts (AdminNetworkPolicy, ClusterNetworkPolicy).
pub const MAX_PRIORITY: i64 = 1000;
/// The only name a BaselineAdminNetworkPolicy may have.
pub const BASELINE_NAME: &str = "default";

/// Which of the three object kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdminKind {
    /// AdminNetworkPolicy (`v1alpha1`): the Admin tier.
    Admin,
    /// BaselineAdminNetworkPolicy (`v1alpha1`): the Baseline tier.
    Baseline,
    /// ClusterNetworkPolicy (`v1alpha2`): the tier its `spec.tier` names.
    Cluster,
}

impl AdminKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminKind::Admin => "AdminNetworkPolicy",
            AdminKind::Baseline => "BaselineAdminNetworkPolicy",
            AdminKind::Cluster => "ClusterNetworkPolicy",
        }
    }

    /// The kind of an object, from the one policy-kind table (version-aware: a
    /// `v1alpha2` AdminNetworkPolicy is none of these).
    fn of(api_version: &str, kind: &str) -> Option<AdminKind> {
        match PolicyKind::of(api_version, kind)? {
            PolicyKind::AdminNetworkPolicy => Some(AdminKind::Admin),
            PolicyKind::BaselineAdminNetworkPolicy => Some(AdminKind::Baseline),
            PolicyKind::ClusterNetworkPolicy => Some(AdminKind::Cluster),
            _ => None,
        }
    }

    /// The word the kind's API uses for an action (ClusterNetworkPolicy says Accept for Allow).
    pub fn action_word(self, a: AdminAction) -> &'static str {
        match (self, a) {
            (AdminKind::Cluster, AdminAction::Allow) => "Accept",
            _ => a.as_str(),
        }
    }

    /// `kubectl get` resource name.
    pub fn resource(self) -> &'static str {
        match self {
            AdminKind::Admin => "adminnetworkpolicy",
            AdminKind::Baseline => "baselineadminnetworkpolicy",
            AdminKind::Cluster => "clusternetworkpolicy.policy.networking.k8s.io",
        }
    }
}

/// The tier a policy's rules are evaluated in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AdminTier {
    /// Before NetworkPolicy: AdminNetworkPolicy, `tier: Admin` ClusterNetworkPolicy.
    Admin,
    /// For pods no NetworkPolicy isolates: BaselineAdminNetworkPolicy, `tier: Baseline`
    /// ClusterNetworkPolicy.
    Baseline,
}

impl AdminTier {
    pub fn as_str(self) -> &'static str {
        match self {
            AdminTier::Admin => "Admin",
            AdminTier::Baseline => "Baseline",
        }
    }
}

impl fmt::Display for AdminKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The action of a rule: Allow (ClusterNetworkPolicy's Accept), Deny, or Pass to the next tier
/// (AdminNetworkPolicy and ClusterNetworkPolicy of either tier; from the Baseline tier the next is
/// the default allow). Lowering never gives a BaselineAdminNetworkPolicy rule `Pass`.
pub use crate::policy::Action as AdminAction;

/// `spec.subject`: the pods a policy applies to (never hostNetwork pods).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminSubject {
    /// Every pod of the namespaces whose labels match.
    Namespaces(Selector),
    /// Pods matching `pods` in namespaces matching `namespaces` (an absent selector selects all).
    Pods { namespaces: Selector, pods: Selector },
}

impl AdminSubject {
    /// Whether the subject selects a pod with `pod_labels` (on the host network or not) whose
    /// namespace has `ns_labels`. A hostNetwork pod is never selected.
    pub fn selects(&self, pod_labels: &Labels, host_network: bool, ns_labels: &Labels) -> bool {
        if host_network {
            return false;
        }
        match self {
            AdminSubject::Namespaces(ns) => ns.matches(ns_labels),
            AdminSubject::Pods { namespaces, pods } => namespaces.matches(ns_labels) && pods.matches(pod_labels),
        }
    }
}

impl fmt::Display for AdminSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminSubject::Namespaces(ns) => write!(f, "namespaces {}", selector_text(ns)),
            AdminSubject::Pods { namespaces, pods } => {
                write!(
                    f,
                    "pods {} in namespaces {}",
                    selector_text(pods),
                    selector_text(namespaces)
                )
            }
        }
    }
}

fn selector_text(s: &Selector) -> String {
    if s.is_everything() {
        "{} (all)".into()
    } else {
        s.requirements
            .iter()
            .map(|r| r.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// One element of a rule's `from` / `to` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminPeer {
    /// Every pod (not hostNetwork) of the namespaces whose labels match.
    Namespaces(Selector),
    /// Pods (not hostNetwork) matching `pods` in namespaces matching `namespaces`.
    Pods { namespaces: Selector, pods: Selector },
    /// Egress only: the addresses of the Nodes whose labels match.
    Nodes(Selector),
    /// Egress only: addresses inside one of the CIDRs.
    Networks(Vec<IpNet>),
    /// Egress of an AdminNetworkPolicy Allow rule only: not resolved here (no DNS), so it never
    /// matches a pod and its match with an address is unknown.
    DomainNames(Vec<String>),
}

/// One entry of a rule's `ports` list: a destination port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminPort {
    Number {
        protocol: Protocol,
        port: u16,
    },
    Range {
        protocol: Protocol,
        start: u16,
        end: u16,
    },
    /// A container port name of the destination pod, whatever its protocol.
    Named(String),
}

impl fmt::Display for AdminPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminPort::Number { protocol, port } => write!(f, "{protocol} {port}"),
            AdminPort::Range { protocol, start, end } => write!(f, "{protocol} {start}-{end}"),
            AdminPort::Named(n) => write!(f, "{n} (named)"),
        }
    }
}

/// One rule of an `ingress` / `egress` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRule {
    /// Index in the policy's list.
    pub index: usize,
    /// `name` (empty when absent).
    pub name: String,
    pub action: AdminAction,
    /// `from` / `to`: OR of the elements (never empty).
    pub peers: Vec<AdminPeer>,
    /// `None`: every port of every protocol.
    pub ports: Option<Vec<AdminPort>>,
}

/// An AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy after lowering.
#[derive(Debug, Clone)]
pub struct AdminPolicy {
    pub kind: AdminKind,
    /// The tier of its rules (`None`: a ClusterNetworkPolicy's `spec.tier` could not be read).
    pub tier: Option<AdminTier>,
    pub name: String,
    /// `spec.priority` (`None` when missing or invalid, and for a BaselineAdminNetworkPolicy).
    pub priority: Option<i32>,
    /// `None` when the subject could not be read: the policy may select any pod.
    pub subject: Option<AdminSubject>,
    /// The rules that could be read, in order.
    pub ingress: Vec<AdminRule>,
    pub egress: Vec<AdminRule>,
    /// The `ingress` / `egress` section lists rules (or could not be read): the policy may
    /// affect that direction.
    pub has_rules: [bool; 2],
    /// What the API server would reject: the directions these touch are not evaluated.
    pub issues: Vec<Issue>,
    /// Constructs that are read but worth a warning (they do not make anything uncertain).
    pub remarks: Vec<Issue>,
}

impl AdminPolicy {
    /// `AdminNetworkPolicy NAME`, the way reports name the policy.
    pub fn key(&self) -> String {
        format!("{} {}", self.kind, self.name)
    }

    pub fn rules(&self, dir: Direction) -> &[AdminRule] {
        match dir {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        }
    }

    /// Whether the policy has rules for (may affect) a direction.
    pub fn affects(&self, dir: Direction) -> bool {
        self.has_rules[dir.index()]
    }

    /// The issues that keep a direction from being evaluated: those of the direction's section,
    /// and those outside both sections (name, priority, subject).
    pub fn issues_for(&self, dir: Direction) -> impl Iterator<Item = &Issue> {
        let other = Section::Rules(dir.opposite());
        self.issues.iter().filter(move |i| i.section() != other)
    }

    /// The direction can be evaluated: subject, tier and (but for a BaselineAdminNetworkPolicy)
    /// priority read, no issue touches it.
    pub fn readable(&self, dir: Direction) -> bool {
        self.subject.is_some()
            && self.tier.is_some()
            && (self.kind == AdminKind::Baseline || self.priority.is_some())
            && self.issues_for(dir).next().is_none()
    }

    /// A field the API type does not define keeps the direction from being evaluated.
    pub fn field_unknown(&self, dir: Direction) -> bool {
        self.issues_for(dir).any(is_unknown_field)
    }

    /// Why a direction is not evaluated, for a reader: `field: message` of its first issue.
    pub fn unreadable_reason(&self, dir: Direction) -> Option<String> {
        self.issues_for(dir)
            .next()
            .map(|i| format!("{}: {}", i.field, i.message))
    }
}

/// Every AdminNetworkPolicy, BaselineAdminNetworkPolicy and ClusterNetworkPolicy of a snapshot.
#[derive(Debug, Clone, Default)]
pub struct AdminPolicies {
    /// Every object of the three kinds, in snapshot order.
    pub policies: Vec<AdminPolicy>,
    /// The Admin tier's policies that can be ordered (tier, subject and priority read), by
    /// priority, kind, then name. Indices into `policies`.
    pub admin_order: Vec<usize>,
    /// The Baseline tier's policies that can be ordered: `tier: Baseline` ClusterNetworkPolicies
    /// by priority then name, then the BaselineAdminNetworkPolicy in force.
    pub baseline_order: Vec<usize>,
    /// The BaselineAdminNetworkPolicy in force: the first one named `default`.
    pub baseline: Option<usize>,
    /// Node labels by node name, for `nodes` peers.
    node_labels: HashMap<String, Labels>,
}

impl AdminPolicies {
    /// Lowers every object of the three kinds in `snap.others`; every issue, duplicate, and
    /// group of policies whose order is undefined becomes a warning.
    pub fn build(snap: &ClusterSnapshot, warnings: &mut Vec<LoadWarning>) -> AdminPolicies {
        let mut out = AdminPolicies::default();
        for o in &snap.others {
            let Some(kind) = AdminKind::of(&o.api_version, &o.kind) else {
                continue;
            };
            let mut p = lower(kind, &o.value);
            let duplicate = out.policies.iter().any(|q| q.kind == kind && q.name == p.name);
            name_issues(&mut p, duplicate);
            warn_about(&p, warnings);
            if kind == AdminKind::Baseline && out.baseline.is_none() && !duplicate && p.name == BASELINE_NAME {
                out.baseline = Some(out.policies.len());
            }
            out.policies.push(p);
        }
        out.admin_order = tier_order(&out.policies, AdminTier::Admin, warnings);
        out.baseline_order = tier_order(&out.policies, AdminTier::Baseline, warnings);
        for n in &snap.nodes {
            out.node_labels.insert(
                n.metadata.name.clone().unwrap_or_default(),
                n.metadata.labels.clone().unwrap_or_default(),
            );
        }
        out
    }

    /// No object of the three kinds.
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    /// The labels of a node of the snapshot.
    pub fn node_labels(&self, node: &str) -> Option<&Labels> {
        self.node_labels.get(node)
    }
}

/// A second policy of the same kind and name, or a baseline not named `default`: the API
/// server would reject it.
fn name_issues(p: &mut AdminPolicy, duplicate: bool) {
    let kind = p.kind;
    if duplicate {
        p.issues.insert(
            0,
            issue(
                "metadata.name",
                format!(
                    "another {kind} named {:?} comes first (a name is unique in a cluster)",
                    p.name
                ),
            ),
        );
    } else if kind == AdminKind::Baseline && p.name != BASELINE_NAME {
        p.issues.insert(
            0,
            issue(
                "metadata.name",
                format!(
                    "a {kind} must be named {BASELINE_NAME:?} (the API server rejects {:?})",
                    p.name
                ),
            ),
        );
    }
}

/// One load warning per remark and per issue of a policy, saying what is not evaluated.
fn warn_about(p: &AdminPolicy, warnings: &mut Vec<LoadWarning>) {
    for r in &p.remarks {
        warnings.push(LoadWarning {
            location: None,
            object: Some(p.key()),
            message: format!("{}: {}", r.field, r.message),
        });
    }
    for i in &p.issues {
        let apply = if is_unknown_field(i) {
            format!(" ({})", strict::APPLY_NOTE)
        } else {
            String::new()
        };
        warnings.push(LoadWarning {
            location: None,
            object: Some(p.key()),
            message: format!(
                "{}: {}{apply}; {} not evaluated, verdicts it may change are inconclusive",
                i.field,
                i.message,
                match i.section() {
                    Section::Rules(Direction::Ingress) => "its ingress rules are",
                    Section::Rules(Direction::Egress) => "its egress rules are",
                    Section::PolicyTypes | Section::Policy => "the policy is",
                }
            ),
        });
    }
}

/// The policies of a tier that can be ordered (tier, priority and subject read, a name of their
/// own), by priority (a BaselineAdminNetworkPolicy, which has none, last), kind, then name; a
/// warning for each order Kubernetes leaves undefined.
fn tier_order(policies: &[AdminPolicy], tier: AdminTier, warnings: &mut Vec<LoadWarning>) -> Vec<usize> {
    let mut order: Vec<usize> = (0..policies.len())
        .filter(|&i| {
            let p = &policies[i];
            p.tier == Some(tier)
                && (p.priority.is_some() || p.kind == AdminKind::Baseline)
                && p.subject.is_some()
                && !p.issues.iter().any(|x| x.field == "metadata.name")
        })
        .collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&policies[a], &policies[b]);
        let key = |p: &AdminPolicy| (p.priority.unwrap_or(i32::MAX), p.kind);
        (key(a), &a.name).cmp(&(key(b), &b.name))
    });
    warn_same_priority(policies, &order, tier, warnings);
    warn_kinds_mixed(policies, &order, tier, warnings);
    order
}

/// One warning per priority that several policies of one kind share in a tier.
fn warn_same_priority(policies: &[AdminPolicy], order: &[usize], tier: AdminTier, warnings: &mut Vec<LoadWarning>) {
    let mut by_priority: BTreeMap<(AdminKind, i32), Vec<&str>> = BTreeMap::new();
    for &i in order {
        let p = &policies[i];
        if let Some(prio) = p.priority {
            by_priority.entry((p.kind, prio)).or_default().push(&p.name);
        }
    }
    for ((kind, prio), names) in by_priority.iter().filter(|(_, n)| n.len() > 1) {
        let plural = match kind {
            AdminKind::Cluster => format!("ClusterNetworkPolicies of the {} tier", tier.as_str()),
            _ => format!("{kind}s"),
        };
        warnings.push(LoadWarning {
            location: None,
            object: Some(format!("{kind} {}", names[0])),
            message: format!(
                "{plural} {} share priority {prio}: Kubernetes leaves their order undefined when both \
                 match a connection; they are evaluated by name, and a verdict that depends on the order is inconclusive",
                names.join(", ")
            ),
        });
    }
}

/// A warning when a tier holds policies of two kinds: no API orders an AdminNetworkPolicy against
/// an Admin-tier ClusterNetworkPolicy, or the BaselineAdminNetworkPolicy against Baseline-tier ones.
fn warn_kinds_mixed(policies: &[AdminPolicy], order: &[usize], tier: AdminTier, warnings: &mut Vec<LoadWarning>) {
    let first_of = |k: AdminKind| order.iter().map(|&i| &policies[i]).find(|p| p.kind == k);
    let Some(cnp) = first_of(AdminKind::Cluster) else {
        return;
    };
    let Some(old) = first_of(AdminKind::Admin).or_else(|| first_of(AdminKind::Baseline)) else {
        return;
    };
    warnings.push(LoadWarning {
        location: None,
        object: Some(old.key()),
        message: format!(
            "{}s and ClusterNetworkPolicies of the {} tier (e.g. {}) both exist: no API defines their relative \
             order; they are evaluated here by priority{}, and a verdict that depends on the order is inconclusive",
            old.kind,
            tier.as_str(),
            cnp.name,
            if old.kind == AdminKind::Baseline {
                " (the BaselineAdminNetworkPolicy last)"
            } else {
                ", then kind"
            }
        ),
    });
}

fn issue(field: &str, message: String) -> Issue {
    Issue {
        affects_target: field.starts_with("spec.subject") || field == "spec",
        field: field.to_string(),
        message,
    }
}

/// Lowers one object; every problem is an issue on it.
fn lower(kind: AdminKind, v: &Value) -> AdminPolicy {
    let mut issues = Vec::new();
    let name = match v.get("metadata").and_then(|m| m.get("name")).and_then(Value::as_str) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => {
            issues.push(issue("metadata.name", "missing".into()));
            "<unnamed>".into()
        }
    };
    let mut p = AdminPolicy {
        kind,
        tier: match kind {
            AdminKind::Admin => Some(AdminTier::Admin),
            AdminKind::Baseline => Some(AdminTier::Baseline),
            AdminKind::Cluster => None,
        },
        name,
        priority: None,
        subject: None,
        ingress: Vec::new(),
        egress: Vec::new(),
        has_rules: [true, true],
        issues,
        remarks: Vec::new(),
    };
    if let Some(top) = v.as_object() {
        strict::unknown_keys(top, strict::OBJECT, "", &mut p.issues);
    }
    let Some(spec) = v.get("spec").and_then(Value::as_object) else {
        p.issues.push(issue("spec", "missing or not an object".into()));
        return p;
    };
    strict::unknown_keys(spec, strict::spec_fields(kind), "spec", &mut p.issues);
    if kind == AdminKind::Cluster {
        p.tier = cnp::lower_tier(spec, &mut p.issues);
    }
    if kind != AdminKind::Baseline {
        p.priority = lower_priority(spec, &mut p.issues);
    }
    p.subject = lower_subject(kind, spec.get("subject"), &mut p.issues);
    lower_sections(&mut p, spec);
    p
}

/// `spec.priority`: required, 0-1000 (`+kubebuilder:validation:Minimum=0`, `Maximum=1000`).
fn lower_priority(spec: &Map<String, Value>, issues: &mut Vec<Issue>) -> Option<i32> {
    match spec.get("priority").filter(|x| !x.is_null()) {
        None => {
            issues.push(issue("spec.priority", "missing (required, 0-1000)".into()));
            None
        }
        Some(x) => match x.as_i64() {
            Some(n) if (0..=MAX_PRIORITY).contains(&n) => Some(n as i32),
            Some(n) => {
                issues.push(issue("spec.priority", format!("{n} is outside 0-{MAX_PRIORITY}")));
                None
            }
            None => {
                issues.push(issue("spec.priority", format!("{x} is not an integer")));
                None
            }
        },
    }
}

/// `spec.ingress` and `spec.egress`: the rules that can be read, in order.
fn lower_sections(p: &mut AdminPolicy, spec: &Map<String, Value>) {
    let kind = p.kind;
    for dir in [Direction::Ingress, Direction::Egress] {
        let field = format!("spec.{}", dir.as_str());
        let rules = match spec.get(dir.as_str()).filter(|x| !x.is_null()) {
            None => {
                p.has_rules[dir.index()] = false;
                Vec::new()
            }
            Some(Value::Array(items)) => {
                p.has_rules[dir.index()] = !items.is_empty();
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| {
                        lower_rule(kind, dir, i, r, &format!("{field}[{i}]"), &mut p.issues, &mut p.remarks)
                    })
                    .collect()
            }
            Some(_) => {
                p.issues.push(issue(&field, "not a list of rules".into()));
                Vec::new()
            }
        };
        match dir {
            Direction::Ingress => p.ingress = rules,
            Direction::Egress => p.egress = rules,
        }
    }
}

fn present<'a>(m: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    m.get(key).filter(|x| !x.is_null())
}

/// A label selector field; `None` (with an issue) when it cannot be read or is invalid.
fn lower_selector(v: Option<&Value>, field: &str, issues: &mut Vec<Issue>) -> Option<Selector> {
    let Some(v) = v.filter(|x| !x.is_null()) else {
        // An absent selector of a `pods` element selects everything, as `{}` does.
        return Some(Selector::everything());
    };
    let before = issues.len();
    selector_unknown_keys(v, field, issues);
    if issues.len() > before {
        return None;
    }
    let ls: LabelSelector = match serde_json::from_value(v.clone()) {
        Ok(s) => s,
        Err(e) => {
            issues.push(issue(field, format!("not a label selector: {e}")));
            return None;
        }
    };
    let s = Selector::lower(Some(&ls));
    if let Some(reason) = &s.invalid {
        issues.push(issue(field, reason.clone()));
        return None;
    }
    Some(s)
}

/// Keys a `metav1.LabelSelector` and its requirements do not define.
fn selector_unknown_keys(v: &Value, field: &str, issues: &mut Vec<Issue>) {
    let Some(m) = v.as_object() else { return };
    strict::unknown_keys(m, strict::SELECTOR, field, issues);
    let exprs = m.get("matchExpressions").and_then(Value::as_array);
    for (i, e) in exprs.into_iter().flatten().enumerate() {
        if let Some(e) = e.as_object() {
            let at = format!("{field}.matchExpressions[{i}]");
            strict::unknown_keys(e, strict::REQUIREMENT, &at, issues);
        }
    }
}

/// `{namespaceSelector, podSelector}` (an absent one selects all). v1alpha2 requires
/// `podSelector` (`+required`, the CRD's `required: [podSelector]`); v1alpha1's CRD requires both,
/// but an ANP/BANP without them is read as before (the absent selector selects all).
fn lower_namespaced_pod(
    kind: AdminKind,
    v: &Value,
    field: &str,
    issues: &mut Vec<Issue>,
) -> Option<(Selector, Selector)> {
    let Some(m) = v.as_object() else {
        issues.push(issue(
            field,
            "not an object with namespaceSelector and podSelector".into(),
        ));
        return None;
    };
    let before = issues.len();
    strict::unknown_keys(m, strict::NAMESPACED_POD, field, issues);
    if kind == AdminKind::Cluster && present(m, "podSelector").is_none() {
        issues.push(issue(
            &format!("{field}.podSelector"),
            "missing (required; {} selects every pod)".into(),
        ));
    }
    if issues.len() > before {
        return None;
    }
    let namespaces = lower_selector(
        m.get("namespaceSelector"),
        &format!("{field}.namespaceSelector"),
        issues,
    );
    let pods = lower_selector(m.get("podSelector"), &format!("{field}.podSelector"), issues);
    Some((namespaces?, pods?))
}

/// The names of the keys of `m` among `known` that are set (not null).
fn set_keys<'a>(m: &Map<String, Value>, known: &[&'a str]) -> Vec<&'a str> {
    known.iter().copied().filter(|k| present(m, k).is_some()).collect()
}

/// The one key of `known` that `m` sets (a union type: `+kubebuilder:validation:MaxProperties=1`
/// and `MinProperties=1`); none or several is an issue naming what was found.
fn exactly_one<'a>(m: &Map<String, Value>, known: &[&'a str], field: &str, issues: &mut Vec<Issue>) -> Option<&'a str> {
    match set_keys(m, known).as_slice() {
        [k] => Some(*k),
        [] => {
            let found: Vec<&String> = m.keys().collect();
            let found = if found.is_empty() {
                String::new()
            } else {
                format!(" (found {found:?})")
            };
            let message = format!("sets none of {}{found}; exactly one is required", known.join(", "));
            issues.push(issue(field, message));
            None
        }
        many => {
            issues.push(issue(
                field,
                format!("sets {} (exactly one is allowed)", many.join(" and ")),
            ));
            None
        }
    }
}

fn lower_subject(kind: AdminKind, v: Option<&Value>, issues: &mut Vec<Issue>) -> Option<AdminSubject> {
    const FIELD: &str = "spec.subject";
    let Some(m) = v.and_then(Value::as_object) else {
        issues.push(issue(
            FIELD,
            "missing: the subject must set exactly one of namespaces, pods".into(),
        ));
        return None;
    };
    strict::unknown_keys(m, strict::SUBJECT, FIELD, issues);
    match exactly_one(m, &["namespaces", "pods"], FIELD, issues)? {
        "namespaces" => {
            lower_selector(m.get("namespaces"), "spec.subject.namespaces", issues).map(AdminSubject::Namespaces)
        }
        _ => lower_namespaced_pod(kind, &m["pods"], "spec.subject.pods", issues)
            .map(|(namespaces, pods)| AdminSubject::Pods { namespaces, pods }),
    }
}

fn lower_action(kind: AdminKind, v: Option<&Value>, field: &str, issues: &mut Vec<Issue>) -> Option<AdminAction> {
    let accepted = match kind {
        AdminKind::Admin => "Allow, Deny, Pass",
        AdminKind::Baseline => "Allow, Deny",
        AdminKind::Cluster => "Accept, Deny, Pass",
    };
    let action = match (kind, v.and_then(Value::as_str)) {
        (AdminKind::Cluster, Some("Accept")) => Some(AdminAction::Allow),
        (AdminKind::Admin | AdminKind::Baseline, Some("Allow")) => Some(AdminAction::Allow),
        (_, Some("Deny")) => Some(AdminAction::Deny),
        (AdminKind::Admin | AdminKind::Cluster, Some("Pass")) => Some(AdminAction::Pass),
        _ => None,
    };
    if action.is_none() {
        let what = match v.filter(|x| !x.is_null()) {
            None => "missing".to_string(),
            Some(x) => format!("{x} is not an action"),
        };
        issues.push(issue(field, format!("{what} (accepted: {accepted})")));
    }
    action
}

/// A rule's `from` / `to` list: at least one peer.
fn lower_peers(
    kind: AdminKind,
    dir: Direction,
    action: Option<AdminAction>,
    v: Option<&Value>,
    field: &str,
    issues: &mut Vec<Issue>,
) -> Vec<AdminPeer> {
    let mut peers = Vec::new();
    match v {
        Some(Value::Array(items)) if !items.is_empty() => {
            for (i, p) in items.iter().enumerate() {
                if let Some(peer) = lower_peer(kind, dir, action, p, &format!("{field}[{i}]"), issues) {
                    peers.push(peer);
                }
            }
        }
        Some(Value::Array(_)) => issues.push(issue(field, "empty: at least one peer is required".into())),
        Some(_) => issues.push(issue(field, "not a list of peers".into())),
        None => issues.push(issue(field, "missing: at least one peer is required".into())),
    }
    peers
}

/// A rule's `ports`: absent means every port; an empty list is rejected.
fn lower_ports(v: Option<&Value>, field: &str, issues: &mut Vec<Issue>) -> Option<Vec<AdminPort>> {
    match v {
        None => None,
        Some(Value::Array(items)) if !items.is_empty() => Some(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, p)| lower_port(p, &format!("{field}[{i}]"), issues))
                .collect::<Vec<_>>(),
        ),
        Some(Value::Array(_)) => {
            issues.push(issue(
                field,
                "empty: list at least one port, or leave ports out for every port".into(),
            ));
            None
        }
        Some(_) => {
            issues.push(issue(field, "not a list of ports".into()));
            None
        }
    }
}

/// The experimental CRD rejects a named port beside address peers; an address has no named
/// port, so toward an address the entry matches nothing (toward a pod peer of the same rule it
/// still resolves): a remark, not an issue.
fn named_ports_toward_addresses(peers: &[AdminPeer], ports: Option<&[AdminPort]>, field: &str) -> Option<Issue> {
    let named = ports.into_iter().flatten().any(|p| matches!(p, AdminPort::Named(_)));
    let addresses = peers.iter().any(|p| {
        matches!(
            p,
            AdminPeer::Nodes(_) | AdminPeer::Networks(_) | AdminPeer::DomainNames(_)
        )
    });
    (named && addresses).then(|| {
        issue(
            field,
            "a namedPort with nodes, networks or domainNames peers: an address has no named ports, so toward \
             addresses that entry matches nothing"
                .into(),
        )
    })
}

fn lower_rule(
    kind: AdminKind,
    dir: Direction,
    index: usize,
    v: &Value,
    base: &str,
    issues: &mut Vec<Issue>,
    remarks: &mut Vec<Issue>,
) -> Option<AdminRule> {
    let Some(m) = v.as_object() else {
        issues.push(issue(base, "not an object".into()));
        return None;
    };
    let before = issues.len();
    strict::unknown_keys(m, strict::rule_fields(kind, dir), base, issues);
    let name = m.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
    let action = lower_action(kind, m.get("action"), &format!("{base}.action"), issues);
    let peers_key = match dir {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    };
    let peers_field = format!("{base}.{peers_key}");
    let peers = lower_peers(kind, dir, action, present(m, peers_key), &peers_field, issues);
    let ports_key = if kind == AdminKind::Cluster {
        "protocols"
    } else {
        "ports"
    };
    let ports_field = format!("{base}.{ports_key}");
    let ports = match kind {
        AdminKind::Cluster => cnp::lower_protocols(present(m, ports_key), &ports_field, issues),
        _ => lower_ports(present(m, ports_key), &ports_field, issues),
    };
    if let Some(remark) = named_ports_toward_addresses(&peers, ports.as_deref(), &ports_field) {
        remarks.push(remark);
    }
    if issues.len() > before {
        return None;
    }
    Some(AdminRule {
        index,
        name,
        action: action?,
        peers,
        ports,
    })
}

fn lower_peer(
    kind: AdminKind,
    dir: Direction,
    action: Option<AdminAction>,
    v: &Value,
    field: &str,
    issues: &mut Vec<Issue>,
) -> Option<AdminPeer> {
    let Some(m) = v.as_object() else {
        issues.push(issue(field, "not an object".into()));
        return None;
    };
    let known = strict::peer_fields(kind, dir);
    strict::unknown_keys(m, known, field, issues);
    let key = exactly_one(m, known, field, issues)?;
    let sub = format!("{field}.{key}");
    match key {
        "namespaces" => lower_selector(m.get(key), &sub, issues).map(AdminPeer::Namespaces),
        "pods" => lower_namespaced_pod(kind, &m[key], &sub, issues)
            .map(|(namespaces, pods)| AdminPeer::Pods { namespaces, pods }),
        "nodes" => lower_selector(m.get(key), &sub, issues).map(AdminPeer::Nodes),
        "networks" => lower_networks(&m[key], &sub, issues).map(AdminPeer::Networks),
        _ => lower_domain_names(action, &m[key], &sub, issues).map(AdminPeer::DomainNames),
    }
}

/// An egress `networks` peer: a non-empty list of CIDRs.
fn lower_networks(v: &Value, field: &str, issues: &mut Vec<Issue>) -> Option<Vec<IpNet>> {
    let Some(items) = v.as_array().filter(|a| !a.is_empty()) else {
        issues.push(issue(field, "not a non-empty list of CIDRs".into()));
        return None;
    };
    let mut nets = Vec::new();
    for (i, c) in items.iter().enumerate() {
        match c.as_str().map(|s| s.trim().parse::<IpNet>()) {
            Some(Ok(n)) => nets.push(n.trunc()),
            _ => {
                issues.push(issue(
                    &format!("{field}[{i}]"),
                    format!("{c} is not a CIDR (expected e.g. 10.0.0.0/8 or fd00::/8)"),
                ));
                return None;
            }
        }
    }
    Some(nets)
}

/// An egress `domainNames` peer of an Allow rule: a non-empty list of names.
fn lower_domain_names(
    action: Option<AdminAction>,
    v: &Value,
    field: &str,
    issues: &mut Vec<Issue>,
) -> Option<Vec<String>> {
    if action.is_some_and(|a| a != AdminAction::Allow) {
        issues.push(issue(
            field,
            "domainNames are allowed in Allow (Accept) rules only".into(),
        ));
        return None;
    }
    let names: Option<Vec<String>> = v
        .as_array()
        .filter(|a| !a.is_empty())
        .and_then(|a| a.iter().map(|x| x.as_str().map(str::to_string)).collect());
    if names.is_none() {
        issues.push(issue(field, "not a non-empty list of domain names".into()));
    }
    names
}

/// A v1alpha1 port's `protocol`; absent or empty is TCP, as the API server defaults it
/// (`+kubebuilder:default=TCP` on `Port.Protocol` and `PortRange.Protocol`,
/// network-policy-api v0.1.7 `apis/v1alpha1/shared_types.go`).
fn lower_protocol(v: Option<&Value>, field: &str, issues: &mut Vec<Issue>) -> Option<Protocol> {
    match v.filter(|x| !x.is_null()).map(|x| x.as_str()) {
        None | Some(Some("")) => Some(Protocol::Tcp),
        Some(Some("TCP")) => Some(Protocol::Tcp),
        Some(Some("UDP")) => Some(Protocol::Udp),
        Some(Some("SCTP")) => Some(Protocol::Sctp),
        _ => {
            issues.push(issue(
                field,
                format!("{} is not one of TCP, UDP, SCTP", v.map_or(Value::Null, Value::clone)),
            ));
            None
        }
    }
}

fn lower_port_number(v: Option<&Value>, field: &str, issues: &mut Vec<Issue>) -> Option<u16> {
    match v.filter(|x| !x.is_null()).map(|x| (x, x.as_i64())) {
        Some((_, Some(n))) if (1..=65535).contains(&n) => Some(n as u16),
        Some((_, Some(n))) => {
            issues.push(issue(field, format!("{n} is outside 1-65535")));
            None
        }
        Some((x, None)) => {
            issues.push(issue(field, format!("{x} is not a port number")));
            None
        }
        None => {
            issues.push(issue(field, "missing".into()));
            None
        }
    }
}

fn lower_port(v: &Value, field: &str, issues: &mut Vec<Issue>) -> Option<AdminPort> {
    let Some(m) = v.as_object() else {
        issues.push(issue(field, "not an object".into()));
        return None;
    };
    strict::unknown_keys(m, strict::V1ALPHA1_PORT, field, issues);
    let key = exactly_one(m, strict::V1ALPHA1_PORT, field, issues)?;
    let sub = format!("{field}.{key}");
    match key {
        "namedPort" => match m[key].as_str() {
            Some(n) if !n.is_empty() => Some(AdminPort::Named(n.to_string())),
            _ => {
                issues.push(issue(&sub, "not a port name".into()));
                None
            }
        },
        _ => {
            let Some(inner) = m[key].as_object() else {
                issues.push(issue(&sub, "not an object".into()));
                return None;
            };
            let fields = if key == "portNumber" {
                strict::V1ALPHA1_PORT_NUMBER
            } else {
                strict::V1ALPHA1_PORT_RANGE
            };
            strict::unknown_keys(inner, fields, &sub, issues);
            let protocol = lower_protocol(inner.get("protocol"), &format!("{sub}.protocol"), issues);
            if key == "portNumber" {
                let port = lower_port_number(inner.get("port"), &format!("{sub}.port"), issues);
                return Some(AdminPort::Number {
                    protocol: protocol?,
                    port: port?,
                });
            }
            let start = lower_port_number(inner.get("start"), &format!("{sub}.start"), issues);
            let end = lower_port_number(inner.get("end"), &format!("{sub}.end"), issues);
            let (start, end) = (start?, end?);
            if end < start {
                issues.push(issue(&sub, format!("end {end} is below start {start}")));
                return None;
            }
            Some(AdminPort::Range {
                protocol: protocol?,
                start,
                end,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policies(yaml: &str) -> (AdminPolicies, Vec<LoadWarning>) {
        let snap = crate::snapshot::load_str("t.yaml", yaml).expect("test snapshot parses");
        let mut warnings = Vec::new();
        (AdminPolicies::build(&snap, &mut warnings), warnings)
    }

    fn anp(spec: &str) -> String {
        format!(
            "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {{name: p}}\nspec:\n{spec}"
        )
    }

    #[test]
    fn a_readable_policy_is_lowered_in_rule_order() {
        let (a, w) = policies(&anp(
            "  priority: 3\n  subject: {pods: {podSelector: {matchLabels: {app: web}}}}\n  egress:\n  - {name: dns, action: Allow, to: [{namespaces: {}}], ports: [{portNumber: {port: 53, protocol: UDP}}, {namedPort: http}, {portRange: {start: 80, end: 90}}]}\n  - {action: Deny, to: [{networks: [10.1.2.3/8]}]}\n",
        ));
        assert!(w.is_empty(), "{w:?}");
        let p = &a.policies[0];
        assert_eq!(p.priority, Some(3));
        assert!(p.readable(Direction::Egress) && p.readable(Direction::Ingress));
        assert!(p.affects(Direction::Egress) && !p.affects(Direction::Ingress));
        assert_eq!(a.admin_order, vec![0]);
        let r = &p.egress;
        assert_eq!((r[0].name.as_str(), r[0].action), ("dns", AdminAction::Allow));
        assert_eq!(
            r[0].ports,
            Some(vec![
                AdminPort::Number {
                    protocol: Protocol::Udp,
                    port: 53
                },
                AdminPort::Named("http".into()),
                AdminPort::Range {
                    protocol: Protocol::Tcp,
                    start: 80,
                    end: 90
                },
            ])
        );
        assert_eq!(
            r[1].peers,
            vec![AdminPeer::Networks(vec!["10.0.0.0/8".parse().unwrap()])]
        );
        assert_eq!(r[1].ports, None, "no ports: every port of every protocol");
    }

    /// Table: (what is wrong, spec, the field the issue names).
    #[test]
    fn malformed_constructs_become_issues_naming_the_field() {
        let base = "  priority: 1\n  subject: {namespaces: {}}\n";
        let rows: Vec<(&str, String, &str)> = vec![
            (
                "no priority",
                "  subject: {namespaces: {}}\n  ingress: []\n".into(),
                "spec.priority",
            ),
            (
                "priority above 1000",
                "  priority: 1001\n  subject: {namespaces: {}}\n".into(),
                "spec.priority",
            ),
            ("no subject", "  priority: 1\n".into(), "spec.subject"),
            (
                "two subject kinds",
                "  priority: 1\n  subject: {namespaces: {}, pods: {podSelector: {}}}\n".into(),
                "spec.subject",
            ),
            (
                "bad subject selector",
                "  priority: 1\n  subject: {namespaces: {matchExpressions: [{key: a, operator: Is}]}}\n".into(),
                "spec.subject.namespaces",
            ),
            (
                "unknown action",
                format!("{base}  ingress: [{{action: Ok, from: [{{namespaces: {{}}}}]}}]\n"),
                "spec.ingress[0].action",
            ),
            (
                "no from",
                format!("{base}  ingress: [{{action: Deny}}]\n"),
                "spec.ingress[0].from",
            ),
            (
                "peer with two kinds",
                format!(
                    "{base}  ingress: [{{action: Deny, from: [{{namespaces: {{}}, pods: {{podSelector: {{}}}}}}]}}]\n"
                ),
                "spec.ingress[0].from[0]",
            ),
            (
                "networks in an ingress peer",
                format!("{base}  ingress: [{{action: Deny, from: [{{networks: [10.0.0.0/8]}}]}}]\n"),
                "spec.ingress[0].from[0]",
            ),
            (
                "bad CIDR",
                format!("{base}  egress: [{{action: Deny, to: [{{networks: [zc00::/8]}}]}}]\n"),
                "spec.egress[0].to[0].networks[0]",
            ),
            (
                "port out of range",
                format!(
                    "{base}  egress: [{{action: Deny, to: [{{namespaces: {{}}}}], ports: [{{portNumber: {{port: 0}}}}]}}]\n"
                ),
                "spec.egress[0].ports[0].portNumber.port",
            ),
            (
                "empty port range",
                format!(
                    "{base}  egress: [{{action: Deny, to: [{{namespaces: {{}}}}], ports: [{{portRange: {{start: 10, end: 1}}}}]}}]\n"
                ),
                "spec.egress[0].ports[0].portRange",
            ),
            (
                "port with two kinds",
                format!(
                    "{base}  egress: [{{action: Deny, to: [{{namespaces: {{}}}}], ports: [{{namedPort: a, portNumber: {{port: 1}}}}]}}]\n"
                ),
                "spec.egress[0].ports[0]",
            ),
            (
                "unknown protocol",
                format!(
                    "{base}  egress: [{{action: Deny, to: [{{namespaces: {{}}}}], ports: [{{portNumber: {{port: 1, protocol: ICMP}}}}]}}]\n"
                ),
                "spec.egress[0].ports[0].portNumber.protocol",
            ),
            (
                "domainNames in a Deny rule",
                format!("{base}  egress: [{{action: Deny, to: [{{domainNames: [a.example]}}]}}]\n"),
                "spec.egress[0].to[0].domainNames",
            ),
        ];
        for (what, spec, field) in rows {
            let (a, w) = policies(&anp(&spec));
            let p = &a.policies[0];
            assert!(
                p.issues.iter().any(|i| i.field == field),
                "{what}: no issue at {field}: {:?}",
                p.issues
            );
            assert!(
                w.iter()
                    .any(|w| w.to_string().contains(field) && w.to_string().contains("AdminNetworkPolicy p")),
                "{what}: no warning naming the object and {field}: {w:?}"
            );
            let dir_ok = |d: Direction| p.readable(d);
            if field.starts_with("spec.ingress") {
                assert!(!dir_ok(Direction::Ingress) && dir_ok(Direction::Egress), "{what}");
            } else if field.starts_with("spec.egress") {
                assert!(dir_ok(Direction::Ingress) && !dir_ok(Direction::Egress), "{what}");
            } else {
                assert!(!dir_ok(Direction::Ingress) && !dir_ok(Direction::Egress), "{what}");
            }
        }
    }

    #[test]
    fn the_baseline_is_the_first_one_named_default() {
        let banp = |name: &str| {
            format!(
                "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n  subject: {{namespaces: {{}}}}\n"
            )
        };
        let (a, w) = policies(&[banp("other"), banp("default"), banp("default")].join("---\n"));
        assert_eq!(a.baseline, Some(1));
        assert!(!a.policies[0].readable(Direction::Ingress) && !a.policies[2].readable(Direction::Ingress));
        assert_eq!(w.len(), 2, "{w:?}");
    }

    #[test]
    fn same_priority_is_one_warning_and_order_is_by_name() {
        let two = format!(
            "{}---\n{}",
            anp("  priority: 4\n  subject: {namespaces: {}}\n").replace("name: p", "name: zeta"),
            anp("  priority: 4\n  subject: {namespaces: {}}\n").replace("name: p", "name: alpha"),
        );
        let (a, w) = policies(&two);
        let names: Vec<&str> = a.admin_order.iter().map(|&i| a.policies[i].name.as_str()).collect();
        assert_eq!(names, ["alpha", "zeta"]);
        assert_eq!(w.len(), 1);
        assert!(w[0].to_string().contains("share priority 4"), "{w:?}");
    }

    fn cnp(name: &str, spec: &str) -> String {
        format!(
            "apiVersion: policy.networking.k8s.io/v1alpha2\nkind: ClusterNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n{spec}"
        )
    }

    #[test]
    fn a_cluster_network_policy_is_lowered_with_tier_priority_and_protocols() {
        let (a, w) = policies(&cnp(
            "c",
            "  tier: Baseline\n  priority: 7\n  subject: {namespaces: {}}\n  egress:\n  - {name: web, action: Accept, to: [{pods: {namespaceSelector: {}, podSelector: {}}}], protocols: [{tcp: {destinationPort: {number: 80}}}, {udp: {destinationPort: {range: {start: 50, end: 60}}}}, {destinationNamedPort: http}]}\n  - {action: Pass, to: [{networks: [10.0.0.0/8]}]}\n",
        ));
        assert!(w.is_empty(), "{w:?}");
        let p = &a.policies[0];
        assert_eq!(
            (p.kind, p.tier, p.priority),
            (AdminKind::Cluster, Some(AdminTier::Baseline), Some(7))
        );
        assert_eq!(p.key(), "ClusterNetworkPolicy c");
        assert!(a.admin_order.is_empty() && a.baseline_order == vec![0]);
        assert_eq!(p.egress[0].action, AdminAction::Allow, "Accept");
        assert_eq!(p.kind.action_word(p.egress[0].action), "Accept");
        assert_eq!(
            p.egress[1].action,
            AdminAction::Pass,
            "Pass is allowed in the Baseline tier"
        );
        assert_eq!(
            p.egress[0].ports,
            Some(vec![
                AdminPort::Number {
                    protocol: Protocol::Tcp,
                    port: 80
                },
                AdminPort::Range {
                    protocol: Protocol::Udp,
                    start: 50,
                    end: 60
                },
                AdminPort::Named("http".into()),
            ])
        );
    }

    /// Table: (what, object, the field path the unknown-field issue names).
    #[test]
    fn unknown_fields_are_issues_naming_the_path_and_what_kubectl_does() {
        let base = "  tier: Admin\n  priority: 1\n  subject: {namespaces: {}}\n";
        let rows: Vec<(&str, String, &str)> = vec![
            (
                "the pre-v0.1 peer shape in an ANP",
                anp(
                    "  priority: 1\n  subject: {namespaces: {}}\n  ingress: [{action: Deny, from: [{namespaces: {namespaceSelector: {}}}]}]\n",
                ),
                "spec.ingress[0].from[0].namespaces.namespaceSelector",
            ),
            (
                "v1alpha1 ports in a CNP rule",
                cnp(
                    "p",
                    &format!(
                        "{base}  ingress: [{{action: Deny, from: [{{namespaces: {{}}}}], ports: [{{portNumber: {{port: 80}}}}]}}]\n"
                    ),
                ),
                "spec.ingress[0].ports",
            ),
            (
                "a typo in spec",
                cnp("p", &format!("{base}  egres: []\n")),
                "spec.egres",
            ),
            ("a top-level typo", format!("{}specs: {{}}\n", cnp("p", base)), "specs"),
            (
                "matchLabel (singular) in a subject selector",
                cnp(
                    "p",
                    "  tier: Admin\n  priority: 1\n  subject: {namespaces: {matchLabel: {a: b}}}\n",
                ),
                "spec.subject.namespaces.matchLabel",
            ),
            (
                "an unknown key in a protocols entry",
                cnp(
                    "p",
                    &format!(
                        "{base}  egress: [{{action: Deny, to: [{{namespaces: {{}}}}], protocols: [{{tcp: {{destinationPort: {{number: 80}}, sourcePort: 1}}}}]}}]\n"
                    ),
                ),
                "spec.egress[0].protocols[0].tcp.sourcePort",
            ),
        ];
        for (what, yaml, field) in rows {
            let (a, w) = policies(&yaml);
            let p = &a.policies[0];
            let i = p.issues.iter().find(|i| i.field == field);
            assert!(
                i.is_some_and(is_unknown_field),
                "{what}: no unknown-field issue at {field}: {:?}",
                p.issues
            );
            assert!(
                w.iter().any(|w| {
                    let t = w.to_string();
                    t.contains(field) && t.contains(&p.key()) && t.contains("kubectl apply rejects")
                }),
                "{what}: no warning naming the object, {field} and kubectl: {w:?}"
            );
            let dirs = [Direction::Ingress, Direction::Egress];
            let touched: Vec<bool> = dirs.iter().map(|&d| p.field_unknown(d)).collect();
            let want = match field {
                f if f.starts_with("spec.ingress") => vec![true, false],
                f if f.starts_with("spec.egress") => vec![false, true],
                _ => vec![true, true],
            };
            assert_eq!(touched, want, "{what}");
        }
    }

    #[test]
    fn undefined_orders_are_warned_and_the_banp_comes_last() {
        let yaml = [
            anp("  priority: 5\n  subject: {namespaces: {}}\n"),
            cnp("admin-cnp", "  tier: Admin\n  priority: 5\n  subject: {namespaces: {}}\n"),
            cnp("b2", "  tier: Baseline\n  priority: 2\n  subject: {namespaces: {}}\n"),
            cnp("b1", "  tier: Baseline\n  priority: 2\n  subject: {namespaces: {}}\n"),
            "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: BaselineAdminNetworkPolicy\nmetadata: {name: default}\nspec:\n  subject: {namespaces: {}}\n".to_string(),
        ]
        .join("---\n");
        let (a, w) = policies(&yaml);
        let names = |v: &[usize]| v.iter().map(|&i| a.policies[i].key()).collect::<Vec<_>>();
        assert_eq!(
            names(&a.admin_order),
            ["AdminNetworkPolicy p", "ClusterNetworkPolicy admin-cnp"]
        );
        assert_eq!(
            names(&a.baseline_order),
            [
                "ClusterNetworkPolicy b1",
                "ClusterNetworkPolicy b2",
                "BaselineAdminNetworkPolicy default"
            ]
        );
        let text: Vec<String> = w.iter().map(|w| w.to_string()).collect();
        assert_eq!(text.iter().filter(|t| t.contains("both exist")).count(), 2, "{text:?}");
        assert!(text.iter().any(|t| t.contains("b1, b2 share priority 2")), "{text:?}");
    }
}
