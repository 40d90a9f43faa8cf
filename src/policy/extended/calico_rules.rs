//! Calico policies lowered for evaluation: `Tier`, `NetworkPolicy` and `GlobalNetworkPolicy`
//! (`projectcalico.org/v3` and the `crd.projectcalico.org/v1` storage form), their order, and
//! their rules with the entity rules (`source` / `destination`) read into data the engine's
//! Calico tier walk (`engine::calico`) evaluates.
//!
//! Sources (Calico v3.29–v3.31, `projectcalico/api` `pkg/apis/projectcalico/v3`):
//! - docs "Tier" / felix `calc/policy_sorter.go` (`PolicySorter.Sorted`, `TierInfo`): tiers by
//!   `order` ascending, no order last, ties by name; policies in a tier likewise. The `default`
//!   tier has order 1,000,000 (`DefaultTierOrder`) and `defaultAction: Deny`; the tiers of the
//!   Kubernetes admin kinds (`kube-admin` / `adminnetworkpolicy` 1,000, `kube-baseline` /
//!   `baselineadminnetworkpolicy` 10,000,000) have `defaultAction: Pass`.
//! - docs "Network policy" / "Global network policy": `types` defaults to Ingress, plus Egress
//!   when there are egress rules, Egress alone when there are only egress rules.
//! - docs "Rule" / "Entity rule": every field present must match (AND); `nets`/`notNets`,
//!   `selector`/`notSelector`, `namespaceSelector` (a namespaced policy's selectors without one
//!   stay in its namespace), `ports`/`notPorts` (numbers, `"a:b"`, names), `serviceAccounts`,
//!   `services`.
//!
//! Staged kinds (`StagedNetworkPolicy`, `StagedGlobalNetworkPolicy`,
//! `StagedKubernetesNetworkPolicy`) never filter and are not read here. Host endpoints,
//! `preDNAT`, `applyOnForward` and `doNotTrack` concern host interfaces: a policy with
//! `preDNAT` or `doNotTrack` is kept out (it applies to host endpoints only), which the policy's
//! `problems` say.
//!
//! Invariant: pure; a field that cannot be read makes the rule (or the policy) `problem`-laden,
//! and the engine turns a problem that could matter into an uncertainty, never a guess.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use super::PodRef;
use super::calico_selector::{CalicoSelector, parse_calico_selector};
use super::common::{LabelView, Tri, namespace_labels_of, non_null};
use crate::policy::quote::scalar;
use crate::policy::{Labels, PolicyKind, Protocol};
use crate::snapshot::OtherObject;

/// The order Calico gives the `default` tier (`DefaultTierOrder`).
pub const DEFAULT_TIER_ORDER: f64 = 1_000_000.0;
/// The order of a Kubernetes NetworkPolicy in the `default` tier (libcalico-go
/// `conversion.K8sNetworkPolicyToCalico`: `order: 1000`, name `knp.default.<name>`).
pub const KNP_ORDER: f64 = 1000.0;

/// What a rule does when it matches (docs "Rule": `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalicoAction {
    Allow,
    Deny,
    /// Logs and goes on with the next rule.
    Log,
    /// Skips the rest of the tier: the next tier that applies, or the profile.
    Pass,
}

impl CalicoAction {
    pub fn as_str(self) -> &'static str {
        match self {
            CalicoAction::Allow => "Allow",
            CalicoAction::Deny => "Deny",
            CalicoAction::Log => "Log",
            CalicoAction::Pass => "Pass",
        }
    }
}

/// A selector as written: parsed, or why it does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalicoSel {
    Parsed(CalicoSelector),
    Invalid(String),
}

impl CalicoSel {
    fn read(v: &Value, field: &str) -> Option<CalicoSel> {
        let raw = non_null(v, field)?;
        Some(match raw.as_str() {
            None => CalicoSel::Invalid(format!("{field} is not a string")),
            Some(s) => match parse_calico_selector(s) {
                Ok(sel) => CalicoSel::Parsed(sel),
                Err(e) => CalicoSel::Invalid(format!("{field} {s:?} does not parse at {e}")),
            },
        })
    }

    /// `Some(true/false)`, or `None` when unknown (unparsed, or an unknown label).
    pub fn eval(&self, view: &CalicoLabels) -> Option<bool> {
        match self {
            CalicoSel::Invalid(_) => None,
            CalicoSel::Parsed(sel) => match sel.evaluate(&view.0) {
                Tri::Yes => Some(true),
                Tri::No => Some(false),
                Tri::Maybe => None,
            },
        }
    }
}

impl std::fmt::Display for CalicoSel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CalicoSel::Parsed(s) => write!(f, "{s}"),
            CalicoSel::Invalid(why) => write!(f, "<unreadable: {why}>"),
        }
    }
}

/// The labels a Calico selector sees on an endpoint or a namespace (unknown keys included).
#[derive(Debug, Default)]
pub struct CalicoLabels(LabelView);

impl CalicoLabels {
    /// A pod's workload endpoint (pod labels, `projectcalico.org/namespace`,
    /// `projectcalico.org/orchestrator`, `projectcalico.org/serviceaccount`, `pcns.*`, `pcsa.*`).
    pub fn pod(pod: &PodRef) -> CalicoLabels {
        CalicoLabels(super::calico::calico_pod_view(pod))
    }

    /// A namespace as a `namespaceSelector` sees it (its labels and `projectcalico.org/name`).
    pub fn namespace(namespace: &str, labels: &Labels) -> CalicoLabels {
        let mut l = labels.clone();
        l.entry("kubernetes.io/metadata.name".into())
            .or_insert_with(|| namespace.to_string());
        l.insert("projectcalico.org/name".into(), namespace.to_string());
        CalicoLabels(LabelView {
            labels: l,
            ..LabelView::default()
        })
    }

    /// The same view when the namespace's labels could not be read: `pcns.*` labels (but the
    /// namespace's name) are unknown.
    pub fn namespace_unknown(mut self) -> CalicoLabels {
        self.0.unknown_prefixes.push("pcns.");
        self
    }

    /// A namespace whose labels could not be read: only its name is known.
    pub fn unreadable_namespace(namespace: &str) -> CalicoLabels {
        CalicoLabels(LabelView {
            labels: [
                ("projectcalico.org/name".to_string(), namespace.to_string()),
                ("kubernetes.io/metadata.name".to_string(), namespace.to_string()),
            ]
            .into(),
            unknown_prefixes: vec![""],
            ..LabelView::default()
        })
    }

    /// A service account by name (`projectcalico.org/name`); its other labels are unknown.
    pub fn service_account(name: &str) -> CalicoLabels {
        CalicoLabels(LabelView {
            labels: [("projectcalico.org/name".to_string(), name.to_string())].into(),
            unknown_prefixes: vec![""],
            ..LabelView::default()
        })
    }
}

/// One entry of `ports` / `notPorts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalicoPort {
    /// A number or an `"a:b"` range (inclusive).
    Range(u16, u16),
    /// A named port, resolved on the destination.
    Named(String),
}

/// `serviceAccounts` of an entity rule: names (any of) and a selector on the account's labels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CalicoSaMatch {
    pub names: Vec<String>,
    pub selector: Option<CalicoSel>,
}

/// An entity rule (`source` / `destination`): every field present must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CalicoEntity {
    pub nets: Vec<IpNet>,
    pub not_nets: Vec<IpNet>,
    pub selector: Option<CalicoSel>,
    pub not_selector: Option<CalicoSel>,
    pub namespace_selector: Option<CalicoSel>,
    pub ports: Option<Vec<CalicoPort>>,
    pub not_ports: Vec<CalicoPort>,
    pub service_accounts: Option<CalicoSaMatch>,
    /// `services: {name, namespace}` (namespace defaults to the policy's).
    pub service: Option<(String, String)>,
    /// Fields present we cannot read.
    pub problems: Vec<String>,
}

impl CalicoEntity {
    fn read(v: Option<&Value>, policy_ns: Option<&str>) -> CalicoEntity {
        let mut e = CalicoEntity::default();
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return e;
        };
        e.nets = nets(v, "nets", &mut e.problems);
        e.not_nets = nets(v, "notNets", &mut e.problems);
        e.selector = CalicoSel::read(v, "selector");
        e.not_selector = CalicoSel::read(v, "notSelector");
        e.namespace_selector = CalicoSel::read(v, "namespaceSelector");
        e.ports = non_null(v, "ports").map(|_| ports(v, "ports", &mut e.problems));
        e.not_ports = ports(v, "notPorts", &mut e.problems);
        if let Some(sa) = non_null(v, "serviceAccounts") {
            let names = sa.get("names").and_then(Value::as_array);
            e.service_accounts = Some(CalicoSaMatch {
                names: names
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect(),
                selector: CalicoSel::read(sa, "selector"),
            });
        }
        if let Some(s) = non_null(v, "services") {
            match s.get("name").and_then(Value::as_str) {
                Some(name) => {
                    let ns = s.get("namespace").and_then(Value::as_str).or(policy_ns);
                    e.service = Some((name.to_string(), ns.unwrap_or("default").to_string()));
                }
                None => e.problems.push("services has no name".into()),
            }
        }
        for unsupported in ["domains"] {
            if non_null(v, unsupported).is_some() {
                e.problems.push(format!(
                    "{unsupported} (DNS names, resolved at run time) is not evaluated"
                ));
            }
        }
        e
    }

    /// The fields present, quoted in compact flow style.
    fn quote(&self) -> String {
        let mut parts = Vec::new();
        let nets_q = |n: &[IpNet]| format!("[{}]", n.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(", "));
        if !self.nets.is_empty() {
            parts.push(format!("nets: {}", nets_q(&self.nets)));
        }
        if !self.not_nets.is_empty() {
            parts.push(format!("notNets: {}", nets_q(&self.not_nets)));
        }
        for (k, s) in [
            ("selector", &self.selector),
            ("notSelector", &self.not_selector),
            ("namespaceSelector", &self.namespace_selector),
        ] {
            if let Some(s) = s {
                parts.push(format!("{k}: {}", quote_selector(s)));
            }
        }
        if let Some(p) = &self.ports {
            parts.push(format!("ports: {}", quote_ports(p)));
        }
        if !self.not_ports.is_empty() {
            parts.push(format!("notPorts: {}", quote_ports(&self.not_ports)));
        }
        if let Some(sa) = &self.service_accounts {
            let mut f = Vec::new();
            if !sa.names.is_empty() {
                f.push(format!(
                    "names: [{}]",
                    sa.names.iter().map(|n| scalar(n)).collect::<Vec<_>>().join(", ")
                ));
            }
            if let Some(s) = &sa.selector {
                f.push(format!("selector: {}", quote_selector(s)));
            }
            parts.push(format!("serviceAccounts: {{{}}}", f.join(", ")));
        }
        if let Some((n, ns)) = &self.service {
            parts.push(format!("services: {{name: {}, namespace: {}}}", scalar(n), scalar(ns)));
        }
        format!("{{{}}}", parts.join(", "))
    }

    fn is_empty(&self) -> bool {
        *self == CalicoEntity::default()
    }
}

/// A selector as flow-style YAML: single-quoted when it would not read back as a plain scalar
/// (selectors hold quotes, `==`, `&&`), so `team == "finance"` reads as written.
fn quote_selector(s: &CalicoSel) -> String {
    let text = s.to_string();
    let plain = scalar(&text);
    if plain == text {
        plain
    } else {
        format!("'{}'", text.replace('\'', "''"))
    }
}

fn quote_ports(p: &[CalicoPort]) -> String {
    let items: Vec<String> = p
        .iter()
        .map(|x| match x {
            CalicoPort::Range(a, b) if a == b => a.to_string(),
            CalicoPort::Range(a, b) => format!("\"{a}:{b}\""),
            CalicoPort::Named(n) => scalar(n),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

fn nets(v: &Value, field: &str, problems: &mut Vec<String>) -> Vec<IpNet> {
    let mut out = Vec::new();
    for x in non_null(v, field).and_then(Value::as_array).into_iter().flatten() {
        let s = x.as_str().unwrap_or_default();
        match s.parse::<IpNet>().or_else(|_| s.parse::<IpAddr>().map(IpNet::from)) {
            Ok(n) => out.push(n),
            Err(_) => problems.push(format!("{field} entry {x} is not a CIDR")),
        }
    }
    out
}

fn ports(v: &Value, field: &str, problems: &mut Vec<String>) -> Vec<CalicoPort> {
    let mut out = Vec::new();
    for x in non_null(v, field).and_then(Value::as_array).into_iter().flatten() {
        let port = match x {
            Value::Number(n) => n
                .as_u64()
                .and_then(|n| u16::try_from(n).ok())
                .map(|n| CalicoPort::Range(n, n)),
            Value::String(s) => match s.split_once(':') {
                Some((a, b)) => a
                    .trim()
                    .parse()
                    .ok()
                    .zip(b.trim().parse().ok())
                    .map(|(a, b)| CalicoPort::Range(a, b)),
                None => Some(match s.parse::<u16>() {
                    Ok(n) => CalicoPort::Range(n, n),
                    Err(_) => CalicoPort::Named(s.clone()),
                }),
            },
            _ => None,
        };
        match port {
            Some(p) => out.push(p),
            None => problems.push(format!("{field} entry {x} is not a port, range or name")),
        }
    }
    out
}

/// The protocol a rule names: one we evaluate, or another (ICMP, a number) no TCP/UDP/SCTP
/// connection has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CalicoProto {
    Known(Protocol),
    Other,
}

fn protocol(v: &Value, field: &str) -> Option<CalicoProto> {
    let p = non_null(v, field)?;
    let s = match p {
        Value::Number(n) => match n.as_u64() {
            Some(6) => "TCP".to_string(),
            Some(17) => "UDP".to_string(),
            Some(132) => "SCTP".to_string(),
            _ => String::new(),
        },
        Value::String(s) => s.to_ascii_uppercase(),
        _ => String::new(),
    };
    Some(match s.as_str() {
        "TCP" => CalicoProto::Known(Protocol::Tcp),
        "UDP" => CalicoProto::Known(Protocol::Udp),
        "SCTP" => CalicoProto::Known(Protocol::Sctp),
        _ => CalicoProto::Other,
    })
}

/// One rule of a Calico policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalicoRule {
    /// Index in the policy's `ingress` / `egress` list.
    pub index: usize,
    pub action: CalicoAction,
    pub protocol: Option<CalicoProto>,
    pub not_protocol: Option<CalicoProto>,
    pub source: CalicoEntity,
    pub destination: CalicoEntity,
    /// What could not be read, or is not evaluated (`http`, `domains`, an unknown action).
    pub problems: Vec<String>,
    /// The rule in compact flow style.
    pub quoted: String,
}

impl CalicoRule {
    fn read(index: usize, v: &Value, policy_ns: Option<&str>) -> CalicoRule {
        let mut problems = Vec::new();
        let action = match v.get("action").and_then(Value::as_str) {
            Some("Allow") => CalicoAction::Allow,
            Some("Deny") => CalicoAction::Deny,
            Some("Log") => CalicoAction::Log,
            Some("Pass") => CalicoAction::Pass,
            other => {
                problems.push(format!("action {other:?} is not one of Allow, Deny, Log, Pass"));
                CalicoAction::Deny
            }
        };
        if non_null(v, "http").is_some() {
            problems.push("http (an L7 match) is not evaluated".into());
        }
        let source = CalicoEntity::read(v.get("source"), policy_ns);
        let destination = CalicoEntity::read(v.get("destination"), policy_ns);
        let mut r = CalicoRule {
            index,
            action,
            protocol: protocol(v, "protocol"),
            not_protocol: protocol(v, "notProtocol"),
            source,
            destination,
            problems,
            quoted: String::new(),
        };
        r.quoted = r.quote(v);
        r
    }

    /// `{action: Deny, protocol: TCP, source: {...}, destination: {...}}`.
    fn quote(&self, v: &Value) -> String {
        let mut parts = vec![format!("action: {}", self.action.as_str())];
        for key in ["protocol", "notProtocol"] {
            if let Some(p) = non_null(v, key) {
                parts.push(format!("{key}: {}", scalar(p.to_string().trim_matches('"'))));
            }
        }
        for (k, e) in [("source", &self.source), ("destination", &self.destination)] {
            if !e.is_empty() || non_null(v, k).is_some_and(|x| x.as_object().is_some_and(|o| !o.is_empty())) {
                parts.push(format!("{k}: {}", e.quote()));
            }
        }
        format!("{{{}}}", parts.join(", "))
    }

    /// Every problem of the rule and its entities.
    pub fn all_problems(&self) -> Vec<String> {
        let mut out = self.problems.clone();
        out.extend(self.source.problems.iter().map(|p| format!("source.{p}")));
        out.extend(self.destination.problems.iter().map(|p| format!("destination.{p}")));
        out
    }
}

/// A Calico policy, lowered.
#[derive(Debug, Clone, PartialEq)]
pub struct CalicoPolicy {
    /// `GlobalNetworkPolicy NAME` / `NetworkPolicy NS/NAME` (kind without group), or
    /// `NetworkPolicy NS/knp.default.NAME` for a Kubernetes NetworkPolicy.
    pub key: String,
    /// `None` for a GlobalNetworkPolicy.
    pub namespace: Option<String>,
    pub name: String,
    pub tier: String,
    pub order: Option<f64>,
    pub selector: Option<CalicoSel>,
    pub namespace_selector: Option<CalicoSel>,
    pub service_account_selector: Option<CalicoSel>,
    /// `None` when `types` leaves the direction out.
    pub ingress: Option<Vec<CalicoRule>>,
    pub egress: Option<Vec<CalicoRule>>,
    /// What makes the whole policy unevaluated here (it may apply): host-endpoint-only fields.
    pub problems: Vec<String>,
}

impl CalicoPolicy {
    /// Reads a Calico `NetworkPolicy` / `GlobalNetworkPolicy`; `None` for other objects.
    pub fn read(o: &OtherObject) -> Option<CalicoPolicy> {
        let global = match PolicyKind::of(&o.api_version, &o.kind)? {
            PolicyKind::CalicoNetworkPolicy => false,
            PolicyKind::CalicoGlobalNetworkPolicy => true,
            _ => return None,
        };
        let namespace = (!global).then(|| {
            o.namespace
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or("default".into())
        });
        // Without a readable spec (e.g. the live source's placeholder for a kind it may not
        // list) the object stays on the named-not-evaluated path (`EXTENDED_POLICY_PRESENT`).
        let spec = non_null(&o.value, "spec").filter(|s| s.is_object())?;
        let mut problems = Vec::new();
        for key in ["preDNAT", "doNotTrack"] {
            if spec.get(key).and_then(Value::as_bool) == Some(true) {
                problems.push(format!(
                    "spec.{key}: true applies to host endpoints only (not evaluated)"
                ));
            }
        }
        let ns = namespace.as_deref();
        let rules = |dir: &str| -> Vec<CalicoRule> {
            non_null(spec, dir)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .map(|(i, r)| CalicoRule::read(i, r, ns))
                .collect()
        };
        let (ingress, egress) = (rules("ingress"), rules("egress"));
        let (has_in, has_out) = types(spec, !ingress.is_empty(), !egress.is_empty());
        let tier = spec
            .get("tier")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .unwrap_or("default")
            .to_string();
        let name = o.name.clone();
        Some(CalicoPolicy {
            key: match &namespace {
                Some(ns) => format!("{} {ns}/{name}", o.kind),
                None => format!("{} {name}", o.kind),
            },
            namespace,
            name,
            tier,
            order: spec.get("order").and_then(Value::as_f64),
            selector: CalicoSel::read(spec, "selector"),
            namespace_selector: if global {
                CalicoSel::read(spec, "namespaceSelector")
            } else {
                None
            },
            service_account_selector: CalicoSel::read(spec, "serviceAccountSelector"),
            ingress: has_in.then_some(ingress),
            egress: has_out.then_some(egress),
            problems,
        })
    }

    pub fn rules(&self, dir: crate::policy::Direction) -> Option<&[CalicoRule]> {
        match dir {
            crate::policy::Direction::Ingress => self.ingress.as_deref(),
            crate::policy::Direction::Egress => self.egress.as_deref(),
        }
    }

    /// Whether the policy applies to the pod (`None`: it may; a selector cannot be read or reads
    /// a label unknown here). A NetworkPolicy of another namespace never applies.
    /// `ns_labels_known`: false when the namespace's labels could not be read.
    pub fn applies(&self, pod: &PodRef, ns_labels_known: bool) -> Option<bool> {
        if self.namespace.as_deref().is_some_and(|ns| ns != pod.namespace) {
            return Some(false);
        }
        let mut out = Some(true);
        let (pod_view, ns_view) = if ns_labels_known {
            (
                CalicoLabels::pod(pod),
                CalicoLabels::namespace(pod.namespace, &namespace_labels_of(pod)),
            )
        } else {
            (
                CalicoLabels::pod(pod).namespace_unknown(),
                CalicoLabels::unreadable_namespace(pod.namespace),
            )
        };
        let parts = [(&self.selector, &pod_view), (&self.namespace_selector, &ns_view)];
        for (sel, view) in parts {
            match sel.as_ref().map_or(Some(true), |s| s.eval(view)) {
                Some(false) => return Some(false),
                None => out = None,
                Some(true) => {}
            }
        }
        if let Some(sel) = &self.service_account_selector {
            let sa = pod.service_account.map(CalicoLabels::service_account);
            match sa.and_then(|v| sel.eval(&v)) {
                Some(false) => return Some(false),
                None => out = None,
                Some(true) => {}
            }
        }
        out
    }

    /// Its place, selectors and rules, one a line, for listings: `tier default, order 100;
    /// selector app == "web"; types Egress`, then `spec.egress[0] {action: Deny, …}`.
    pub fn summary(&self) -> Vec<String> {
        let order = self
            .order
            .map_or("no order (last)".to_string(), |o| format!("order {o}"));
        let mut head = format!("tier {}, {order}", self.tier);
        for (k, sel) in [
            ("selector", &self.selector),
            ("namespaceSelector", &self.namespace_selector),
            ("serviceAccountSelector", &self.service_account_selector),
        ] {
            if let Some(sel) = sel {
                head.push_str(&format!("; {k} {sel}"));
            }
        }
        let types: Vec<&str> = [("Ingress", &self.ingress), ("Egress", &self.egress)]
            .into_iter()
            .filter(|(_, r)| r.is_some())
            .map(|(t, _)| t)
            .collect();
        head.push_str(&format!("; types {}", types.join(", ")));
        let mut out = vec![head];
        out.extend(self.problems.iter().cloned());
        for (dir, rules) in [("ingress", &self.ingress), ("egress", &self.egress)] {
            for r in rules.iter().flatten() {
                out.push(format!("spec.{dir}[{}] {}", r.index, r.quoted));
            }
        }
        out
    }

    /// The sort key within a tier: order ascending (none last), then name
    /// (felix `calc/policy_sorter.go`, `PolKV.Less` / `TierInfo`).
    fn sort_key(&self) -> (bool, f64, &str) {
        (self.order.is_none(), self.order.unwrap_or(0.0), &self.name)
    }
}

/// `types`, else Ingress unless there are only egress rules (docs "Network policy", `types`).
fn types(spec: &Value, has_in: bool, has_out: bool) -> (bool, bool) {
    let explicit = non_null(spec, "types")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty());
    match explicit {
        Some(t) => {
            let has = |w: &str| t.iter().any(|x| x.as_str().is_some_and(|s| s.eq_ignore_ascii_case(w)));
            (has("Ingress"), has("Egress"))
        }
        None => (has_in || !has_out, has_out),
    }
}

/// A tier: its order and what happens at its end.
#[derive(Debug, Clone, PartialEq)]
pub struct CalicoTier {
    pub name: String,
    pub order: Option<f64>,
    /// `defaultAction: Pass` (the end of the tier passes instead of denying).
    pub default_pass: bool,
}

/// Every Calico policy of a snapshot in evaluation order, with the tiers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CalicoPolicies {
    /// In evaluation order: tier by tier, policy by policy.
    pub policies: Vec<CalicoPolicy>,
    /// Every tier named by a policy or a `Tier` object, in evaluation order.
    pub tiers: Vec<CalicoTier>,
    /// NetworkSet / GlobalNetworkSet / HostEndpoint objects exist: selectors may match addresses.
    pub network_sets: bool,
    /// Staged policies present (never enforced), by `kind name`.
    pub staged: Vec<String>,
    /// `Tier` objects without a readable spec (the live source could not list them): the order
    /// of every tier but `default` is then unknown.
    pub unreadable_tiers: Vec<String>,
}

impl CalicoPolicies {
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    pub fn build(others: &[OtherObject]) -> CalicoPolicies {
        let calico = |o: &OtherObject| {
            matches!(
                crate::policy::kind::api_group(&o.api_version),
                "projectcalico.org" | "crd.projectcalico.org"
            )
        };
        let mut tiers: BTreeMap<String, CalicoTier> = BTreeMap::new();
        tiers.insert(
            "default".into(),
            CalicoTier {
                name: "default".into(),
                order: Some(DEFAULT_TIER_ORDER),
                default_pass: false,
            },
        );
        let mut out = CalicoPolicies::default();
        for o in others.iter().filter(|o| calico(o)) {
            match o.kind.as_str() {
                "Tier" if non_null(&o.value, "spec").is_none_or(|s| !s.is_object()) && o.name != "default" => {
                    out.unreadable_tiers.push(o.name.clone());
                }
                "Tier" => {
                    let spec = o.value.get("spec");
                    let order = spec.and_then(|s| s.get("order")).and_then(Value::as_f64);
                    let pass = spec.and_then(|s| s.get("defaultAction")).and_then(Value::as_str) == Some("Pass");
                    let order = if o.name == "default" {
                        order.or(Some(DEFAULT_TIER_ORDER))
                    } else {
                        order
                    };
                    tiers.insert(
                        o.name.clone(),
                        CalicoTier {
                            name: o.name.clone(),
                            order,
                            default_pass: pass,
                        },
                    );
                }
                // Labelled endpoints that are not pods: selectors may match addresses.
                "NetworkSet" | "GlobalNetworkSet" | "HostEndpoint" => out.network_sets = true,
                k if k.starts_with("Staged") => out.staged.push(format!("{k} {}", o.name)),
                _ => out.policies.extend(CalicoPolicy::read(o)),
            }
        }
        for p in &out.policies {
            tiers.entry(p.tier.clone()).or_insert_with(|| CalicoTier {
                name: p.tier.clone(),
                order: None,
                default_pass: false,
            });
        }
        let mut tiers: Vec<CalicoTier> = tiers.into_values().collect();
        tiers.sort_by(|a, b| {
            tier_key(a)
                .partial_cmp(&tier_key(b))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let rank = |t: &str| tiers.iter().position(|x| x.name == t).unwrap_or(usize::MAX);
        out.policies.sort_by(|a, b| {
            (rank(&a.tier), a.sort_key())
                .partial_cmp(&(rank(&b.tier), b.sort_key()))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        out.tiers = tiers;
        out
    }

    pub fn tier(&self, name: &str) -> Option<&CalicoTier> {
        self.tiers.iter().find(|t| t.name == name)
    }
}

/// Tiers by order ascending, none last, ties by name (felix `calc/policy_sorter.go`).
fn tier_key(t: &CalicoTier) -> (bool, f64, &str) {
    (t.order.is_none(), t.order.unwrap_or(0.0), &t.name)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::obj;
    use super::*;

    #[test]
    fn reads_rules_ports_and_order() {
        let o = obj(
            "projectcalico.org/v3",
            "GlobalNetworkPolicy",
            None,
            "g",
            json!({"spec": {"order": 10, "egress": [{"action": "Deny", "protocol": "TCP",
                "destination": {"nets": ["10.0.0.0/8"], "ports": [80, "8000:8080", "http"], "notPorts": [9]}}]}}),
        );
        let p = CalicoPolicy::read(&o).unwrap();
        assert_eq!((p.ingress.is_none(), p.egress.as_ref().map(Vec::len)), (true, Some(1)));
        let r = &p.egress.unwrap()[0];
        assert_eq!(
            r.destination.ports,
            Some(vec![
                CalicoPort::Range(80, 80),
                CalicoPort::Range(8000, 8080),
                CalicoPort::Named("http".into())
            ])
        );
        assert_eq!(
            r.quoted,
            "{action: Deny, protocol: TCP, destination: {nets: [10.0.0.0/8], ports: [80, \"8000:8080\", http], notPorts: [9]}}"
        );
    }

    #[test]
    fn tiers_and_policies_sort() {
        let gnp = |name: &str, spec: Value| {
            obj(
                "projectcalico.org/v3",
                "GlobalNetworkPolicy",
                None,
                name,
                json!({ "spec": spec }),
            )
        };
        let tier = |name: &str, spec: Value| obj("projectcalico.org/v3", "Tier", None, name, json!({ "spec": spec }));
        let set = CalicoPolicies::build(&[
            gnp("z", json!({})),
            gnp("b", json!({"order": 5})),
            gnp("a", json!({"order": 5})),
            gnp("s", json!({"tier": "security", "order": 1})),
            gnp("u", json!({"tier": "unordered"})),
            tier("security", json!({"order": 100})),
        ]);
        let names: Vec<&str> = set.policies.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["s", "a", "b", "z", "u"]);
        let tiers: Vec<&str> = set.tiers.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(tiers, ["security", "default", "unordered"]);
    }
}
