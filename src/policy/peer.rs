//! Peers of a rule (`from` / `to` elements) lowered into pod and IP-block matchers.
//!
//! Invariant: CIDRs are parsed once here into `ipnet` values; an element that the API server
//! would reject becomes [`Peer::Invalid`], which matches nothing.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use k8s_openapi::api::networking::v1::NetworkPolicyPeer;

use super::selector::Selector;

/// Which namespaces a pod peer covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamespaceScope {
    /// No `namespaceSelector`: the policy's own namespace only.
    Same(String),
    /// `namespaceSelector` set: namespaces whose labels match (`{}` = every namespace).
    Matching(Selector),
}

/// One element of a rule's `from` / `to` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// podSelector and/or namespaceSelector; both in one element means AND.
    Pods {
        namespaces: NamespaceScope,
        pods: Selector,
        /// `podSelector` was written in this element (false: all pods of the namespaces).
        pod_selector_set: bool,
    },
    /// `ipBlock`: the CIDR minus the `except` blocks.
    IpBlock { cidr: IpNet, except: Vec<IpNet> },
    /// An element the API server would reject; it matches nothing.
    Invalid { reason: String },
}

impl Peer {
    /// Lowers one peer element of a policy living in namespace `ns`.
    pub fn lower(p: &NetworkPolicyPeer, ns: &str) -> Peer {
        let has_selector = p.pod_selector.is_some() || p.namespace_selector.is_some();
        if let Some(block) = &p.ip_block {
            if has_selector {
                return Peer::Invalid {
                    reason: "ipBlock cannot be combined with podSelector or namespaceSelector in one element".into(),
                };
            }
            let cidr = match parse_cidr(&block.cidr) {
                Ok(c) => c,
                Err(reason) => {
                    return Peer::Invalid {
                        reason: format!("ipBlock.cidr: {reason}"),
                    };
                }
            };
            let mut except = Vec::new();
            for (i, e) in block.except.iter().flatten().enumerate() {
                let ex = match parse_cidr(e) {
                    Ok(x) => x,
                    Err(reason) => {
                        return Peer::Invalid {
                            reason: format!("ipBlock.except[{i}]: {reason}"),
                        };
                    }
                };
                if !cidr.contains(&ex) || ex.prefix_len() == cidr.prefix_len() {
                    return Peer::Invalid {
                        reason: format!(
                            "ipBlock.except[{i}] {e} is not strictly inside ipBlock.cidr {}",
                            block.cidr
                        ),
                    };
                }
                except.push(ex);
            }
            return Peer::IpBlock { cidr, except };
        }
        if !has_selector {
            return Peer::Invalid {
                reason: "peer element sets none of podSelector, namespaceSelector, ipBlock".into(),
            };
        }
        let namespaces = match &p.namespace_selector {
            Some(sel) => NamespaceScope::Matching(Selector::lower(Some(sel))),
            None => NamespaceScope::Same(ns.to_string()),
        };
        let pods = Selector::lower(p.pod_selector.as_ref());
        let invalid = match &namespaces {
            NamespaceScope::Matching(s) => s.invalid.clone().map(|r| format!("namespaceSelector: {r}")),
            NamespaceScope::Same(_) => None,
        }
        .or_else(|| pods.invalid.clone().map(|r| format!("podSelector: {r}")));
        if let Some(reason) = invalid {
            return Peer::Invalid { reason };
        }
        Peer::Pods {
            namespaces,
            pods,
            pod_selector_set: p.pod_selector.is_some(),
        }
    }

    /// Whether an IP block admits `ip`: inside the CIDR and outside every `except`.
    pub fn ip_block_admits(cidr: &IpNet, except: &[IpNet], ip: IpAddr) -> bool {
        cidr.contains(&ip) && !except.iter().any(|e| e.contains(&ip))
    }
}

/// Parses a CIDR as the API server accepts it; host bits are cleared (`10.1.0.1/4` = `0.0.0.0/4`).
pub fn parse_cidr(s: &str) -> Result<IpNet, String> {
    IpNet::from_str(s.trim())
        .map(|n| n.trunc())
        .map_err(|_| format!("{s:?} is not a CIDR (expected e.g. 10.0.0.0/8 or fd00::/64)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(yaml: &str) -> Peer {
        let p: NetworkPolicyPeer = yaml_serde::from_str(yaml).expect("peer parses");
        Peer::lower(&p, "app")
    }

    #[test]
    fn pod_selector_alone_means_the_policys_own_namespace() {
        match peer("podSelector: {matchLabels: {role: fe}}") {
            Peer::Pods {
                namespaces,
                pod_selector_set,
                ..
            } => {
                assert_eq!(namespaces, NamespaceScope::Same("app".into()));
                assert!(pod_selector_set);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn namespace_selector_alone_means_all_pods_of_matching_namespaces() {
        match peer("namespaceSelector: {}") {
            Peer::Pods {
                namespaces: NamespaceScope::Matching(s),
                pods,
                pod_selector_set,
            } => {
                assert!(s.is_everything(), "{{}} selects every namespace");
                assert!(pods.is_everything() && !pod_selector_set);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn ip_block_except_excludes_subnets() {
        let Peer::IpBlock { cidr, except } = peer("ipBlock: {cidr: 10.0.0.0/8, except: [10.244.0.0/16]}") else {
            panic!("ipBlock expected")
        };
        assert!(Peer::ip_block_admits(&cidr, &except, "10.1.2.3".parse().unwrap()));
        assert!(!Peer::ip_block_admits(&cidr, &except, "10.244.1.1".parse().unwrap()));
        assert!(!Peer::ip_block_admits(&cidr, &except, "11.0.0.1".parse().unwrap()));
    }

    #[test]
    fn ip_block_host_bits_are_cleared() {
        let Peer::IpBlock { cidr, .. } = peer("ipBlock: {cidr: 10.1.0.1/4}") else {
            panic!()
        };
        assert_eq!(cidr.to_string(), "0.0.0.0/4");
    }

    #[test]
    fn invalid_elements_match_nothing_and_say_why() {
        for (yaml, needle) in [
            ("ipBlock: {cidr: 300.0.0.0/8}", "not a CIDR"),
            (
                "ipBlock: {cidr: 10.0.0.0/8, except: [11.0.0.0/16]}",
                "not strictly inside",
            ),
            ("ipBlock: {cidr: 10.0.0.0/8}\npodSelector: {}", "cannot be combined"),
            ("{}", "sets none"),
            (
                "podSelector: {matchExpressions: [{key: a, operator: Nope}]}",
                "unknown operator",
            ),
        ] {
            match peer(yaml) {
                Peer::Invalid { reason } => assert!(reason.contains(needle), "{yaml}: {reason}"),
                other => panic!("{yaml}: expected invalid, got {other:?}"),
            }
        }
    }
}
