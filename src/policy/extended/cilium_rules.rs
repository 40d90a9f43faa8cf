//! Cilium rules lowered for evaluation at L3/L4: `CiliumNetworkPolicy` and
//! `CiliumClusterwideNetworkPolicy`, each rule of `spec`/`specs` with its four sections.
//!
//! Sources (cilium/cilium): `Documentation/security/policy/language.rst` (L3 peers, entities,
//! toPorts, default deny, deny policies), `Documentation/security/policy/kubernetes.rst`
//! (namespace confinement of CNP selectors), `pkg/policy/api/rule.go` (`Rule`,
//! `EnableDefaultDeny`), `pkg/policy/api/ingress.go` / `egress.go` (`IngressRule`, `EgressRule`,
//! `*CommonRule`), `pkg/policy/api/l4.go` (`PortRule`, `PortProtocol`, `EndPort`),
//! `pkg/policy/api/entity.go` (entities), `pkg/k8s/apis/cilium.io/utils/utils.go`
//! (`parseToCiliumIngressCommonRule`: peer selectors without a namespace label get the policy's
//! namespace in a CNP, none in a CCNP).
//!
//! Invariant: pure lowering. Anything a rule says that cannot be decided from a snapshot (FQDNs,
//! cloud groups, L7 rules, some entities) is kept as such, never dropped: the engine turns it
//! into `DATAPLANE_DEPENDENT`.

use ipnet::IpNet;
use serde_json::Value;

use super::PodRef;
use super::cilium::{cilium_key, cilium_view};
use super::common::{Tri, eval_requirements, items, label_selector, non_null};
use crate::policy::{Direction, Protocol, Selector};
use crate::snapshot::OtherObject;

/// The namespace label of a Cilium endpoint (`k8s:io.kubernetes.pod.namespace`).
const NS_KEY: &str = "io.kubernetes.pod.namespace";

/// One Cilium policy object, lowered.
#[derive(Debug, Clone)]
pub struct CiliumPolicy {
    /// False for a `CiliumNetworkPolicy`.
    pub clusterwide: bool,
    /// The CNP's namespace (`default` when the manifest names none); empty for a CCNP.
    pub namespace: String,
    pub name: String,
    pub rules: Vec<CiliumRule>,
    /// Why the object (or a part of it) could not be read: it may select any pod.
    pub unreadable: Option<String>,
}

impl CiliumPolicy {
    /// `CiliumNetworkPolicy ns/name` or `CiliumClusterwideNetworkPolicy name`.
    pub fn key(&self) -> String {
        match self.clusterwide {
            true => format!("CiliumClusterwideNetworkPolicy {}", self.name),
            false => format!("CiliumNetworkPolicy {}/{}", self.namespace, self.name),
        }
    }
}

/// A rule's subject.
#[derive(Debug, Clone)]
pub enum CiliumSubject {
    Endpoints(CiliumSelector),
    /// `nodeSelector`: a host policy (out of scope: it applies to nodes, not pods).
    Host,
    /// Neither selector could be read.
    Unreadable(String),
}

/// The four sections of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Ingress,
    IngressDeny,
    Egress,
    EgressDeny,
}

impl Section {
    pub fn of(dir: Direction, deny: bool) -> Section {
        match (dir, deny) {
            (Direction::Ingress, false) => Section::Ingress,
            (Direction::Ingress, true) => Section::IngressDeny,
            (Direction::Egress, false) => Section::Egress,
            (Direction::Egress, true) => Section::EgressDeny,
        }
    }
    pub fn field(self) -> &'static str {
        match self {
            Section::Ingress => "ingress",
            Section::IngressDeny => "ingressDeny",
            Section::Egress => "egress",
            Section::EgressDeny => "egressDeny",
        }
    }
    pub fn is_deny(self) -> bool {
        matches!(self, Section::IngressDeny | Section::EgressDeny)
    }
}

/// One rule of `spec` or `specs[i]`.
#[derive(Debug, Clone)]
pub struct CiliumRule {
    /// `spec` or `specs[i]`.
    pub path: String,
    pub subject: CiliumSubject,
    /// `ingress`, `ingressDeny`, `egress`, `egressDeny` (in [`Section`] order); `None` when absent.
    pub sections: [Option<Vec<PeerRule>>; 4],
    /// `enableDefaultDeny.{ingress, egress}` (default true), by [`Direction::index`].
    pub default_deny: [bool; 2],
}

impl CiliumRule {
    pub fn section(&self, s: Section) -> Option<&[PeerRule]> {
        self.sections[s as usize].as_deref()
    }

    /// The rule puts a selected endpoint into default deny for `dir`: it has an allow or deny
    /// section for it and does not disable that (`Documentation/security/policy/intro.rst`,
    /// "Policy Enforcement Modes"; `rule.go` `EnableDefaultDeny`).
    pub fn isolates(&self, dir: Direction) -> bool {
        self.default_deny[dir.index()]
            && (self.section(Section::of(dir, false)).is_some() || self.section(Section::of(dir, true)).is_some())
    }
}

/// One element of a section: L3 peers ORed, ANDed with `toPorts`.
#[derive(Debug, Clone)]
pub struct PeerRule {
    /// e.g. `spec.egressDeny[0]`.
    pub field: String,
    /// The element as written, in compact flow style.
    pub quote: String,
    /// `None`: no L3 field, any peer (when the rule has ports); `Some(empty)`: matches no peer.
    pub peers: Option<Vec<CiliumPeer>>,
    /// `None`: every port; otherwise the union of these.
    pub ports: Option<Vec<CiliumPort>>,
    /// An L7 (or TLS) part under `toPorts` that may still refuse requests: what it is.
    pub l7: Option<String>,
    /// A field that restricts the rule in a way not decided here (e.g. `authentication`).
    pub undecided: Option<String>,
}

/// One L3 peer of a rule.
#[derive(Debug, Clone)]
pub enum CiliumPeer {
    Endpoints(CiliumSelector),
    Entity(String),
    Cidr {
        net: IpNet,
        except: Vec<IpNet>,
    },
    /// A `toServices` element: the Services it names, resolved by the index against the
    /// snapshot's Services and their Endpoints.
    Service(ServicePeer),
    /// A peer whose addresses are known only at run time or to the cloud (`toFQDNs`,
    /// `toGroups`, `toNodes`/`fromNodes`): why.
    Undecided(String),
    /// A peer that could not be read: matches nothing, and says so.
    Invalid(String),
}

/// A `toServices` element (egress). Cilium translates it when a Service it names appears: a
/// selector-less Service becomes its Endpoints' addresses as generated `toCIDRSet` entries; a
/// Service with a selector is ignored before 1.17 and becomes its selector (in its namespace)
/// from 1.17 on (`pkg/policy/k8s/service.go`: `isSelectableService`, `serviceRefMatches`,
/// `serviceSelectorMatches`, `processRule`; cilium/cilium#34208, #37089).
#[derive(Debug, Clone)]
pub struct ServicePeer {
    /// The element as written, in compact flow style.
    pub quote: String,
    pub by: ServiceRef,
    /// Filled by the index; `None` until then.
    pub resolved: Option<ServiceResolution>,
}

/// How a `toServices` element names Services. An empty namespace matches every namespace
/// (`serviceRefMatches`, `serviceSelectorMatches`).
#[derive(Debug, Clone)]
pub enum ServiceRef {
    /// `k8sService: {serviceName, namespace}`.
    Name { name: String, namespace: Option<String> },
    /// `k8sServiceSelector: {selector, namespace}`, on the Service's own labels.
    Selector {
        selector: Selector,
        namespace: Option<String>,
    },
}

/// A `toServices` element against the snapshot.
#[derive(Debug, Clone)]
pub enum ServiceResolution {
    /// The snapshot holds no Service at all: which ones it names is unknown.
    ServicesNotRead,
    /// The Services it names (none: it matches nothing, unless some were not read).
    Services {
        named: Vec<ResolvedService>,
        /// Where it may name Services that a scoped read did not list (e.g. `namespace shop`).
        unread: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct ResolvedService {
    /// `ns/name`.
    pub key: String,
    pub backends: ServiceBackends,
}

/// What a named Service stands for in the policy.
#[derive(Debug, Clone)]
pub enum ServiceBackends {
    /// A selector-less Service: the addresses of its Endpoints/EndpointSlices, matched as CIDRs.
    Addresses(Vec<std::net::IpAddr>),
    /// A selector-less Service whose Endpoints are not in the snapshot.
    AddressesUnknown,
    /// A Service with a selector: its pods from Cilium 1.17 on, nothing before.
    /// `since_1_17`: whether the agent is 1.17 or later, when its image tells.
    Selector {
        pods: CiliumSelector,
        since_1_17: Option<bool>,
    },
}

/// One port of `toPorts[].ports`.
#[derive(Debug, Clone)]
pub struct CiliumPort {
    /// TCP, UDP, SCTP; `ANY` (or no protocol) is all three.
    pub protocols: Vec<Protocol>,
    pub port: CiliumPortValue,
}

#[derive(Debug, Clone)]
pub enum CiliumPortValue {
    /// `port` absent or `0`: every port.
    Any,
    Range(u16, u16),
    Named(String),
}

/// A pod's labels as Cilium selectors see them (its own, its namespace's under
/// `io.cilium.k8s.namespace.labels.`, its service account), gathered once.
#[derive(Debug)]
pub struct CiliumIdentity {
    namespace: String,
    view: super::common::LabelView,
}

impl CiliumIdentity {
    /// `namespace_labels_known: false`: the namespace's labels are unknown (its Namespace object
    /// could not be read), so selectors on them may match.
    pub fn of(pod: &PodRef, namespace_labels_known: bool) -> CiliumIdentity {
        let mut view = cilium_view(pod);
        if !namespace_labels_known {
            view.unknown_prefixes.push("io.cilium.k8s.namespace.labels.");
        }
        CiliumIdentity {
            namespace: pod.namespace.to_string(),
            view,
        }
    }
}

/// An endpoint selector with the namespace confinement Cilium adds to it.
#[derive(Debug, Clone)]
pub struct CiliumSelector {
    pub selector: Selector,
    /// The policy's namespace, when Cilium confines the selector to it.
    pub namespace: Option<String>,
    /// As written.
    pub quote: String,
}

impl CiliumSelector {
    /// Whether the selector matches a (Cilium-managed) pod: `None` when it depends on a label we
    /// cannot know (the cluster name, an unknown label source).
    pub fn matches(&self, pod: &PodRef) -> Option<bool> {
        self.matches_in(pod, true)
    }

    /// [`matches`](Self::matches), where `namespace_labels_known: false` makes the namespace's
    /// labels (`io.cilium.k8s.namespace.labels.*`) unknown (its Namespace object could not be read).
    pub fn matches_in(&self, pod: &PodRef, namespace_labels_known: bool) -> Option<bool> {
        self.matches_identity(&CiliumIdentity::of(pod, namespace_labels_known))
    }

    /// [`matches`](Self::matches) on labels gathered once (many selectors, one pod).
    pub fn matches_identity(&self, id: &CiliumIdentity) -> Option<bool> {
        if self.namespace.as_deref().is_some_and(|ns| ns != id.namespace) {
            return Some(false);
        }
        let (tri, _, _) = eval_requirements(&self.selector, &id.view, &cilium_key);
        match tri {
            Tri::Yes => Some(true),
            Tri::No => Some(false),
            Tri::Maybe => None,
        }
    }

    /// As reports show it: the selector, and its namespace when confined.
    pub fn describe(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{} (namespace {ns})", self.quote),
            None => self.quote.clone(),
        }
    }
}

/// Whether a selector names the namespace label, with any source prefix.
fn names_namespace(sel: &Selector) -> bool {
    sel.requirements
        .iter()
        .any(|r| r.key == NS_KEY || r.key.split_once(':').is_some_and(|(_, k)| k == NS_KEY))
}

fn selector(v: &Value, confine_to: Option<&str>) -> Result<CiliumSelector, String> {
    let (_, sel) = label_selector(v)?;
    let namespace = confine_to.filter(|_| !names_namespace(&sel)).map(String::from);
    Ok(CiliumSelector {
        quote: crate::policy::quote::flow_value(v),
        selector: sel,
        namespace,
    })
}

/// Lowers one CNP/CCNP object; `None` for other kinds.
pub fn lower(o: &OtherObject) -> Option<CiliumPolicy> {
    // The same recognition as `extended::examine` (`PolicyKind::of`): one object, one dialect.
    let clusterwide = match crate::policy::PolicyKind::of(&o.api_version, &o.kind)? {
        crate::policy::PolicyKind::CiliumNetworkPolicy => false,
        crate::policy::PolicyKind::CiliumClusterwideNetworkPolicy => true,
        _ => return None,
    };
    let namespace = match clusterwide {
        true => String::new(),
        false => o
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "default".into()),
    };
    let mut pol = CiliumPolicy {
        clusterwide,
        namespace,
        name: o.name.clone(),
        rules: Vec::new(),
        unreadable: None,
    };
    let confine = (!clusterwide).then(|| pol.namespace.clone());
    let mut raw: Vec<(String, &Value)> = Vec::new();
    if let Some(spec) = non_null(&o.value, "spec") {
        raw.push(("spec".into(), spec));
    }
    match non_null(&o.value, "specs").map(Value::as_array) {
        Some(Some(a)) => raw.extend(a.iter().enumerate().map(|(i, r)| (format!("specs[{i}]"), r))),
        Some(None) => pol.unreadable = Some("specs is not a list".into()),
        None => {}
    }
    if raw.is_empty() && pol.unreadable.is_none() {
        pol.unreadable = Some("neither spec nor specs".into());
    }
    for (path, r) in raw {
        match lower_rule(&path, r, confine.as_deref()) {
            Ok(rule) => pol.rules.push(rule),
            Err(e) => pol.unreadable = Some(format!("{path}: {e}")),
        }
    }
    Some(pol)
}

fn lower_rule(path: &str, r: &Value, confine: Option<&str>) -> Result<CiliumRule, String> {
    if !r.is_object() {
        return Err("not an object".into());
    }
    let subject = match (non_null(r, "endpointSelector"), non_null(r, "nodeSelector")) {
        (Some(es), _) => match selector(es, confine) {
            Ok(mut s) => {
                // The subject of a CNP is always in its namespace.
                s.namespace = confine.map(String::from);
                CiliumSubject::Endpoints(s)
            }
            Err(e) => CiliumSubject::Unreadable(format!("{path}.endpointSelector {e}")),
        },
        (None, Some(_)) => CiliumSubject::Host,
        (None, None) => CiliumSubject::Unreadable(format!("{path} has neither endpointSelector nor nodeSelector")),
    };
    services_with_ports(path, r)?;
    let section = |s: Section| -> Option<Vec<PeerRule>> {
        let v = non_null(r, s.field())?;
        let dir = match s {
            Section::Ingress | Section::IngressDeny => Direction::Ingress,
            Section::Egress | Section::EgressDeny => Direction::Egress,
        };
        Some(
            items(Some(v))
                .iter()
                .enumerate()
                .map(|(i, e)| lower_peer_rule(&format!("{path}.{}[{i}]", s.field()), e, dir, confine))
                .collect(),
        )
    };
    let dd = non_null(r, "enableDefaultDeny");
    let dd_of = |d: &str| dd.and_then(|v| v.get(d)).and_then(Value::as_bool).unwrap_or(true);
    let mut default_deny = [true; 2];
    default_deny[Direction::Ingress.index()] = dd_of("ingress");
    default_deny[Direction::Egress.index()] = dd_of("egress");
    Ok(CiliumRule {
        path: path.to_string(),
        subject,
        sections: [
            section(Section::Ingress),
            section(Section::IngressDeny),
            section(Section::Egress),
            section(Section::EgressDeny),
        ],
        default_deny,
    })
}

/// One element of a section. The L3 fields are ORed; an element with neither L3 fields nor
/// `toPorts`/`icmps` (`{}`) matches nothing (language.rst, "Ingress/Egress Default Deny": it only
/// puts the endpoint into default deny); one with only ports matches any peer (language.rst,
/// "Layer 4 Examples"); an L3 field written as an empty list matches nothing.
fn lower_peer_rule(field: &str, e: &Value, dir: Direction, confine: Option<&str>) -> PeerRule {
    let from_to = match dir {
        Direction::Ingress => "from",
        Direction::Egress => "to",
    };
    let key = |k: &str| format!("{from_to}{k}");
    let mut peers: Option<Vec<CiliumPeer>> = None;
    let mut add = |ps: Vec<CiliumPeer>| peers.get_or_insert_with(Vec::new).extend(ps);
    if let Some(v) = e.get(key("Endpoints")) {
        add(items(Some(v))
            .iter()
            .map(|s| match selector(s, confine) {
                Ok(sel) => CiliumPeer::Endpoints(sel),
                Err(err) => CiliumPeer::Invalid(format!("{}: selector {err}", key("Endpoints"))),
            })
            .collect());
    }
    if let Some(v) = e.get(key("Entities")) {
        add(items(Some(v))
            .iter()
            .map(|x| match x.as_str() {
                Some(s) => CiliumPeer::Entity(s.to_string()),
                None => CiliumPeer::Invalid(format!("{}: not a string", key("Entities"))),
            })
            .collect());
    }
    if let Some(v) = e.get(key("CIDR")) {
        add(items(Some(v)).iter().map(|x| cidr(x.as_str(), &[])).collect());
    }
    if let Some(v) = e.get(key("CIDRSet")) {
        add(items(Some(v)).iter().map(cidr_set).collect());
    }
    for (k, why) in [
        ("FQDNs", "names DNS names, whose addresses Cilium learns at run time"),
        ("Groups", "names a cloud provider group, resolved through the cloud API"),
        (
            "Nodes",
            "names nodes by their labels, which decide with the node identities of the agent's configuration",
        ),
        (
            "Requires",
            "has requirements (deprecated) that apply to the other rules too",
        ),
    ] {
        if let Some(v) = e.get(key(k)) {
            let n = items(Some(v)).len().max(1);
            add(vec![CiliumPeer::Undecided(format!("{} {why}", key(k))); n]);
        }
    }
    if let Some(v) = e.get("toServices").filter(|_| dir == Direction::Egress) {
        add(items(Some(v)).iter().map(service_peer).collect());
    }
    let (ports, l7) = to_ports(e);
    let undecided = e
        .get("authentication")
        .map(|_| "authentication: mutual authentication is required, which the agent decides".to_string());
    // `{}`: no L3 and no L4 field matches nothing.
    if peers.is_none() && ports.is_none() {
        peers = Some(Vec::new());
    }
    PeerRule {
        field: field.to_string(),
        quote: crate::policy::quote::flow_value(e),
        peers,
        ports,
        l7,
        undecided,
    }
}

/// One `toServices` element.
fn service_peer(v: &Value) -> CiliumPeer {
    let namespace = |o: &Value| {
        o.get("namespace")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(String::from)
    };
    let by = if let Some(r) = non_null(v, "k8sService") {
        match r.get("serviceName").and_then(Value::as_str).filter(|n| !n.is_empty()) {
            Some(name) => ServiceRef::Name {
                name: name.to_string(),
                namespace: namespace(r),
            },
            None => return CiliumPeer::Invalid("toServices k8sService without serviceName".into()),
        }
    } else if let Some(r) = non_null(v, "k8sServiceSelector") {
        match label_selector(r.get("selector").unwrap_or(&Value::Null)) {
            Ok((_, selector)) => ServiceRef::Selector {
                selector: without_sources(selector),
                namespace: namespace(r),
            },
            Err(e) => return CiliumPeer::Invalid(format!("toServices k8sServiceSelector.selector {e}")),
        }
    } else {
        return CiliumPeer::Invalid("a toServices element names neither k8sService nor k8sServiceSelector".into());
    };
    CiliumPeer::Service(ServicePeer {
        quote: crate::policy::quote::flow_value(v),
        by,
        resolved: None,
    })
}

/// A Service-label selector with Cilium's `k8s:`/`any:` source prefixes dropped: a Service's
/// labels carry none (`serviceSelectorMatches` matches them as a plain label set).
fn without_sources(mut sel: Selector) -> Selector {
    for r in &mut sel.requirements {
        if let Some(k) = r.key.strip_prefix("k8s:").or_else(|| r.key.strip_prefix("any:")) {
            r.key = k.to_string();
        }
    }
    sel
}

/// Cilium rejects a rule that combines `toServices` with `toPorts` (language.rst, "Services
/// based", Limitations): the whole policy is then not applied.
fn services_with_ports(path: &str, r: &Value) -> Result<(), String> {
    for s in [Section::Egress, Section::EgressDeny] {
        for (i, e) in items(non_null(r, s.field())).iter().enumerate() {
            let has = |k: &str| e.get(k).is_some_and(|v| !items(Some(v)).is_empty());
            if has("toServices") && has("toPorts") {
                return Err(format!(
                    "{path}.{}[{i}] combines toServices with toPorts, which Cilium rejects, so the policy may not be applied at all",
                    s.field()
                ));
            }
        }
    }
    Ok(())
}

fn cidr(s: Option<&str>, except: &[IpNet]) -> CiliumPeer {
    let Some(s) = s else {
        return CiliumPeer::Invalid("a CIDR that is not a string".into());
    };
    let net = s
        .parse::<IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from));
    match net {
        Ok(net) => CiliumPeer::Cidr {
            net,
            except: except.to_vec(),
        },
        Err(_) => CiliumPeer::Invalid(format!("CIDR {s:?} does not parse")),
    }
}

/// A `CIDRSet` element: `cidr` with `except`; `cidrGroupRef`/`cidrGroupSelector` name objects
/// we do not read.
fn cidr_set(v: &Value) -> CiliumPeer {
    if v.get("cidr").is_none() {
        return CiliumPeer::Undecided("a CIDRSet element names a CiliumCIDRGroup, which is not read here".into());
    }
    let mut except = Vec::new();
    for x in items(v.get("except")) {
        match x.as_str().and_then(|s| s.parse::<IpNet>().ok()) {
            Some(n) => except.push(n),
            None => return CiliumPeer::Invalid(format!("except {x} does not parse")),
        }
    }
    cidr(v.get("cidr").and_then(Value::as_str), &except)
}

/// `toPorts` (and `icmps`): `None` when neither is written; an L7 part when one has `rules`
/// (or TLS SNI / interception).
fn to_ports(e: &Value) -> (Option<Vec<CiliumPort>>, Option<String>) {
    // `toPorts: []` restricts nothing (`mergeL4` skips an empty list, pkg/policy/l4.go).
    let tp = e.get("toPorts").filter(|v| !items(Some(v)).is_empty());
    let icmps = e.get("icmps").is_some();
    if tp.is_none() && !icmps {
        return (None, None);
    }
    let mut out = Vec::new();
    let mut l7 = None;
    for pr in items(tp) {
        let ports = items(pr.get("ports"));
        if ports.is_empty() {
            out.push(CiliumPort {
                protocols: Protocol::ALL.to_vec(),
                port: CiliumPortValue::Any,
            });
        }
        for p in ports {
            out.push(port(p));
        }
        if let Some(rules) = non_null(pr, "rules") {
            let kinds: Vec<&str> = ["http", "kafka", "dns", "l7proto"]
                .into_iter()
                .filter(|k| non_null(rules, k).is_some())
                .collect();
            l7.get_or_insert_with(|| format!("L7 rules ({}) under toPorts", kinds.join(", ")));
        }
        for k in ["serverNames", "terminatingTLS", "originatingTLS"] {
            if pr.get(k).is_some() {
                l7.get_or_insert_with(|| format!("toPorts.{k} (TLS inspection)"));
            }
        }
    }
    (Some(out), l7)
}

fn port(p: &Value) -> CiliumPort {
    let protocols = match p.get("protocol").and_then(Value::as_str).map(str::to_ascii_uppercase) {
        None => Protocol::ALL.to_vec(),
        Some(s) => match s.as_str() {
            "TCP" => vec![Protocol::Tcp],
            "UDP" => vec![Protocol::Udp],
            "SCTP" => vec![Protocol::Sctp],
            "ANY" => Protocol::ALL.to_vec(),
            // ICMP and unknown protocols: none of ours.
            _ => Vec::new(),
        },
    };
    let text = match p.get("port") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let port = match text.parse::<u32>() {
        _ if text.is_empty() => CiliumPortValue::Any,
        Ok(0) => CiliumPortValue::Any,
        Ok(n) => {
            let lo = n.min(65535) as u16;
            let hi = p
                .get("endPort")
                .and_then(Value::as_u64)
                .map_or(lo, |e| (e.min(65535) as u16).max(lo));
            CiliumPortValue::Range(lo, hi)
        }
        Err(_) => CiliumPortValue::Named(text),
    };
    CiliumPort { protocols, port }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::tests::{Pod, obj};
    use super::*;

    fn lowered(kind: &str, ns: Option<&str>, spec: Value) -> CiliumPolicy {
        lower(&obj("cilium.io/v2", kind, ns, "p", json!({ "spec": spec }))).expect("a Cilium kind")
    }

    #[test]
    fn selectors_are_confined_as_cilium_confines_them() {
        let spec = json!({
            "endpointSelector": {},
            "ingress": [{"fromEndpoints": [{"matchLabels": {"app": "web"}}, {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "shop"}}]}]
        });
        let cnp = lowered("CiliumNetworkPolicy", Some("bank"), spec.clone());
        let ccnp = lowered("CiliumClusterwideNetworkPolicy", None, spec);
        let peers = |p: &CiliumPolicy| -> Vec<Option<String>> {
            let pr = &p.rules[0].section(Section::Ingress).unwrap()[0];
            pr.peers
                .iter()
                .flatten()
                .map(|x| match x {
                    CiliumPeer::Endpoints(s) => s.namespace.clone(),
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        assert_eq!(
            peers(&cnp),
            vec![Some("bank".to_string()), None],
            "a namespace label lifts it"
        );
        assert_eq!(peers(&ccnp), vec![None, None]);
        let CiliumSubject::Endpoints(subject) = &cnp.rules[0].subject else {
            panic!()
        };
        assert_eq!(subject.namespace.as_deref(), Some("bank"));
        assert_eq!(subject.matches(&Pod::web().r()), Some(false), "shop/web is not in bank");
        assert_eq!(cnp.key(), "CiliumNetworkPolicy bank/p");
        assert_eq!(ccnp.key(), "CiliumClusterwideNetworkPolicy p");
    }

    #[test]
    fn elements_ports_and_l7_are_lowered() {
        let p = lowered(
            "CiliumNetworkPolicy",
            Some("shop"),
            json!({
                "endpointSelector": {},
                "enableDefaultDeny": {"egress": false},
                "egress": [
                    {},
                    {"toPorts": [{"ports": [{"port": "80", "endPort": 90}, {"port": "http", "protocol": "tcp"}], "rules": {"http": [{}]}}]},
                    {"toFQDNs": [{"matchName": "a.example"}], "toEndpoints": []}
                ]
            }),
        );
        let rule = &p.rules[0];
        assert!(!rule.isolates(Direction::Egress) && !rule.isolates(Direction::Ingress));
        let e = rule.section(Section::Egress).unwrap();
        assert!(e[0].peers.as_ref().is_some_and(Vec::is_empty), "{{}} matches nothing");
        assert!(e[1].peers.is_none(), "only ports: any peer");
        let ports = e[1].ports.as_ref().unwrap();
        assert!(matches!(ports[0].port, CiliumPortValue::Range(80, 90)) && ports[0].protocols.len() == 3);
        assert!(
            matches!(&ports[1].port, CiliumPortValue::Named(n) if n == "http") && ports[1].protocols == [Protocol::Tcp]
        );
        assert!(e[1].l7.as_deref().is_some_and(|l| l.contains("http")));
        assert_eq!(
            e[1].quote,
            r#"{toPorts: [{ports: [{endPort: 90, port: "80"}, {port: http, protocol: tcp}], rules: {http: [{}]}}]}"#
        );
        let peers = e[2].peers.as_ref().unwrap();
        assert!(
            matches!(peers.as_slice(), [CiliumPeer::Undecided(w)] if w.contains("toFQDNs")),
            "{peers:?}"
        );
    }
}
