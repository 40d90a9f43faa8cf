//! NetworkPolicy lowered once into target, peer and port matchers.
//!
//! Invariant: lowering never fails and never panics. A malformed construct (a bad CIDR, an
//! `endPort` below `port`, an unknown protocol) becomes an [`Issue`] on the policy plus a
//! matcher that matches nothing, so the engine stays total and the diagnosis can say that
//! its answer depends on something it could not read.

pub mod admin;
pub mod connset;
pub mod extended;
pub mod kind;
pub mod peer;
pub mod port;
pub mod quote;
pub mod selector;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
};

pub use connset::ConnSet;
pub use kind::PolicyKind;
pub use peer::{NamespaceScope, Peer};
pub use port::{PortSpec, PortValue, Protocol};
pub use selector::{Labels, Op, Requirement, Selector};

/// Traffic direction, seen from the pod a policy selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }

    /// The slot of the direction in per-direction pairs: ingress 0, egress 1.
    pub fn index(self) -> usize {
        match self {
            Direction::Ingress => 0,
            Direction::Egress => 1,
        }
    }

    pub fn opposite(self) -> Direction {
        match self {
            Direction::Ingress => Direction::Egress,
            Direction::Egress => Direction::Ingress,
        }
    }

    /// The section of a policy's spec that lists the direction's rules: `spec.ingress` / `spec.egress`.
    pub fn spec_field(self) -> &'static str {
        match self {
            Direction::Ingress => "spec.ingress",
            Direction::Egress => "spec.egress",
        }
    }
}

/// What a prioritised rule does with the connections it matches, whatever the dialect it was
/// lowered from (AdminNetworkPolicy, BaselineAdminNetworkPolicy, ClusterNetworkPolicy, whose Accept
/// is Allow). A NetworkPolicy rule only allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Allow,
    Deny,
    /// Skip the rest of the tier: the next tier decides.
    Pass,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "Allow",
            Action::Deny => "Deny",
            Action::Pass => "Pass",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A construct of a policy that could not be lowered faithfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// JSON-path-like location inside the policy, e.g. `spec.ingress[0].from[1].ipBlock.cidr`.
    pub field: String,
    pub message: String,
    /// The issue touches the target selector: we cannot tell which pods the policy selects.
    pub affects_target: bool,
}

/// The part of a policy an [`Issue`] is in, which decides what it keeps from being evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `spec.ingress…` or `spec.egress…`: that direction's rules.
    Rules(Direction),
    /// `spec.policyTypes…`.
    PolicyTypes,
    /// Anything else (target selector, subject, priority, name): the whole policy.
    Policy,
}

impl Issue {
    /// The section of the policy the issue's field is in.
    pub fn section(&self) -> Section {
        let f = self.field.as_str();
        if f.starts_with(Direction::Ingress.spec_field()) {
            Section::Rules(Direction::Ingress)
        } else if f.starts_with(Direction::Egress.spec_field()) {
            Section::Rules(Direction::Egress)
        } else if f.starts_with("spec.policyTypes") {
            Section::PolicyTypes
        } else {
            Section::Policy
        }
    }
}

/// One rule of an `ingress` or `egress` list.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Index in the policy's `ingress`/`egress` list.
    pub index: usize,
    /// `None`: `from`/`to` absent or empty, every peer matches.
    pub peers: Option<Vec<Peer>>,
    /// `None`: `ports` absent or empty, every port and protocol matches.
    pub ports: Option<Vec<PortSpec>>,
}

/// A NetworkPolicy after lowering.
#[derive(Debug, Clone)]
pub struct Policy {
    pub namespace: String,
    pub name: String,
    /// `spec.podSelector` (absent or `{}` selects every pod of the namespace).
    pub target: Selector,
    /// `Some(rules)` when the policy isolates ingress; an empty list denies all ingress.
    pub ingress: Option<Vec<Rule>>,
    /// `Some(rules)` when the policy isolates egress; an empty list denies all egress.
    pub egress: Option<Vec<Rule>>,
    /// `spec.policyTypes` was set (false: the types were inferred from the sections present).
    pub policy_types_declared: bool,
    /// The policy has an `egress` section (present, even if empty: an empty one does not make
    /// the API server default policyTypes to include Egress, see [`Policy::egress_defaulted_away`]).
    pub has_egress_section: bool,
    /// How many rules the `ingress` / `egress` sections list, whether or not the policy
    /// isolates that direction (rules of a direction missing from policyTypes are ignored).
    pub section_rules: [usize; 2],
    pub issues: Vec<Issue>,
    /// Directions (by [`Direction::index`]) held back: a field the API server does not know may
    /// change them, so the policy does not isolate them here and an unreadable part stands for
    /// it (`UnreadableReason::UnknownField`).
    pub held: [bool; 2],
}

impl Policy {
    /// The policy isolates `dir` here: it lists that direction and it is not held back.
    pub fn isolates(&self, dir: Direction) -> bool {
        self.rules(dir).is_some() && !self.held[dir.index()]
    }

    /// `ns/name`, the way reports name a policy.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    pub fn rules(&self, dir: Direction) -> Option<&[Rule]> {
        match dir {
            Direction::Ingress => self.ingress.as_deref(),
            Direction::Egress => self.egress.as_deref(),
        }
    }

    /// Rule `index` of one direction (`spec.ingress[index]` / `spec.egress[index]`).
    pub fn rule(&self, dir: Direction, index: usize) -> Option<&Rule> {
        self.rules(dir)?.get(index)
    }

    /// Issues inside the rules of one direction (not the target).
    pub fn has_rule_issues(&self, dir: Direction) -> bool {
        self.issues.iter().any(|i| i.section() == Section::Rules(dir))
    }

    /// policyTypes is absent and `egress: []` is written but empty: the API server defaults
    /// policyTypes to `[Ingress]`, so the egress the author listed (as "deny all") is not isolated.
    pub fn egress_defaulted_away(&self) -> bool {
        !self.policy_types_declared && self.has_egress_section && self.section_rules[1] == 0
    }

    pub fn target_uncertain(&self) -> bool {
        self.issues.iter().any(|i| i.affects_target)
    }

    /// Lowers a parsed NetworkPolicy. `namespace` is the policy's namespace after defaulting.
    pub fn lower(np: &NetworkPolicy, namespace: &str) -> Policy {
        let name = np.metadata.name.clone().unwrap_or_default();
        let mut issues = Vec::new();
        let spec = np.spec.clone().unwrap_or_default();

        let target = Selector::lower(spec.pod_selector.as_ref());
        if let Some(reason) = &target.invalid {
            issues.push(Issue {
                field: "spec.podSelector".into(),
                message: reason.clone(),
                affects_target: true,
            });
        }

        // policyTypes: listed types are isolated. Omitted or empty: Ingress always, Egress only
        // when the egress list has at least one rule, exactly as the API server's
        // `SetDefaults_NetworkPolicy` (k8s.io/kubernetes pkg/apis/networking/v1/defaults.go:
        // `if len(obj.Spec.Egress) != 0`). `egress: []` is an empty list, so it does NOT isolate
        // egress; our reference text says an egress section isolates egress "even empty", which
        // is wrong against the server, and the server wins.
        let declared = spec.policy_types.as_ref().filter(|t| !t.is_empty());
        let has_egress_section = spec.egress.is_some();
        let (isolates_in, isolates_eg) = match declared {
            Some(types) => {
                for (i, t) in types.iter().enumerate() {
                    if t != "Ingress" && t != "Egress" {
                        issues.push(Issue {
                            field: format!("spec.policyTypes[{i}]"),
                            message: format!("unknown policy type {t:?} (accepted: Ingress, Egress); ignored"),
                            affects_target: false,
                        });
                    }
                }
                (
                    types.iter().any(|t| t == "Ingress"),
                    types.iter().any(|t| t == "Egress"),
                )
            }
            None => (true, spec.egress.as_ref().is_some_and(|e| !e.is_empty())),
        };

        let ingress = isolates_in.then(|| {
            spec.ingress
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, r)| lower_ingress_rule(i, r, namespace, &mut issues))
                .collect()
        });
        let egress = isolates_eg.then(|| {
            spec.egress
                .iter()
                .flatten()
                .enumerate()
                .map(|(i, r)| lower_egress_rule(i, r, namespace, &mut issues))
                .collect()
        });

        Policy {
            namespace: namespace.to_string(),
            name,
            target,
            ingress,
            egress,
            policy_types_declared: declared.is_some(),
            has_egress_section,
            section_rules: [
                spec.ingress.as_ref().map_or(0, Vec::len),
                spec.egress.as_ref().map_or(0, Vec::len),
            ],
            issues,
            held: [false; 2],
        }
    }
}

fn lower_ingress_rule(index: usize, rule: &NetworkPolicyIngressRule, ns: &str, issues: &mut Vec<Issue>) -> Rule {
    let base = format!("spec.ingress[{index}]");
    Rule {
        index,
        peers: lower_peers(rule.from.as_deref(), &format!("{base}.from"), ns, issues),
        ports: lower_ports(rule.ports.as_deref(), &format!("{base}.ports"), issues),
    }
}

fn lower_egress_rule(index: usize, rule: &NetworkPolicyEgressRule, ns: &str, issues: &mut Vec<Issue>) -> Rule {
    let base = format!("spec.egress[{index}]");
    Rule {
        index,
        peers: lower_peers(rule.to.as_deref(), &format!("{base}.to"), ns, issues),
        ports: lower_ports(rule.ports.as_deref(), &format!("{base}.ports"), issues),
    }
}

fn lower_peers(
    peers: Option<&[NetworkPolicyPeer]>,
    field: &str,
    ns: &str,
    issues: &mut Vec<Issue>,
) -> Option<Vec<Peer>> {
    let peers = peers.filter(|p| !p.is_empty())?;
    Some(
        peers
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let peer = Peer::lower(p, ns);
                if let Peer::Invalid { reason } = &peer {
                    issues.push(Issue {
                        field: format!("{field}[{i}]"),
                        message: reason.clone(),
                        affects_target: false,
                    });
                }
                peer
            })
            .collect(),
    )
}

fn lower_ports(ports: Option<&[NetworkPolicyPort]>, field: &str, issues: &mut Vec<Issue>) -> Option<Vec<PortSpec>> {
    let ports = ports.filter(|p| !p.is_empty())?;
    Some(
        ports
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let spec = PortSpec::lower(p);
                if let PortValue::Invalid(reason) = &spec.value {
                    issues.push(Issue {
                        field: format!("{field}[{i}]"),
                        message: reason.clone(),
                        affects_target: false,
                    });
                }
                spec
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(yaml: &str) -> Policy {
        let np: NetworkPolicy = yaml_serde::from_str(yaml).expect("test policy parses");
        Policy::lower(&np, "default")
    }

    #[test]
    fn policy_types_omitted_with_only_ingress_isolates_ingress_only() {
        // The trap: no policyTypes and no egress section -> egress stays open.
        let p = policy("metadata: {name: p}\nspec:\n  podSelector: {}\n  ingress: []\n");
        assert!(p.ingress.is_some());
        assert!(p.egress.is_none());
        assert!(!p.policy_types_declared);
    }

    #[test]
    fn policy_types_omitted_with_egress_rules_isolates_both() {
        let p = policy("metadata: {name: p}\nspec:\n  podSelector: {}\n  egress: [{}]\n");
        assert!(
            p.ingress.is_some(),
            "Ingress is always implied when policyTypes is omitted"
        );
        assert_eq!(p.egress.as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn policy_types_omitted_with_an_empty_egress_list_isolates_ingress_only() {
        // SetDefaults_NetworkPolicy: Egress only when len(spec.egress) != 0.
        let p = policy("metadata: {name: p}\nspec:\n  podSelector: {}\n  egress: []\n");
        assert!(p.ingress.is_some());
        assert!(p.egress.is_none());
        assert!(p.egress_defaulted_away());
    }

    #[test]
    fn policy_types_listed_are_isolated_even_without_sections() {
        let p = policy("metadata: {name: p}\nspec:\n  podSelector: {}\n  policyTypes: [Egress]\n");
        assert!(p.ingress.is_none(), "Ingress not listed: ingress not isolated");
        assert_eq!(
            p.egress.as_ref().map(Vec::len),
            Some(0),
            "Egress listed, no rules: deny all"
        );
    }

    #[test]
    fn policy_types_listed_ignore_sections_of_other_types() {
        let p = policy("metadata: {name: p}\nspec:\n  podSelector: {}\n  policyTypes: [Ingress]\n  egress: [{}]\n");
        assert!(
            p.egress.is_none(),
            "an egress section without Egress in policyTypes isolates nothing"
        );
    }

    #[test]
    fn empty_from_and_ports_mean_all() {
        let p = policy("metadata: {name: p}\nspec:\n  podSelector: {}\n  ingress: [{from: [], ports: []}]\n");
        let r = &p.ingress.unwrap()[0];
        assert!(r.peers.is_none() && r.ports.is_none());
    }

    #[test]
    fn absent_pod_selector_selects_all() {
        let p = policy("metadata: {name: p}\nspec:\n  policyTypes: [Ingress]\n");
        assert!(p.target.is_everything());
    }

    #[test]
    fn malformed_constructs_become_issues_not_panics() {
        let p = policy(
            "metadata: {name: p}\nspec:\n  podSelector: {matchExpressions: [{key: a, operator: Foo}]}\n  ingress:\n  - from: [{ipBlock: {cidr: not-a-cidr}}]\n    ports: [{port: 80, endPort: 10}]\n",
        );
        let fields: Vec<&str> = p.issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "spec.podSelector",
                "spec.ingress[0].from[0]",
                "spec.ingress[0].ports[0]"
            ]
        );
        assert!(p.target_uncertain());
        assert!(p.has_rule_issues(Direction::Ingress));
    }
}
