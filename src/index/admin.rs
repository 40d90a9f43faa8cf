//! Which admin-tier and baseline-tier policies (AdminNetworkPolicy, BaselineAdminNetworkPolicy,
//! ClusterNetworkPolicy) select a pod of the index, and which address blocks their egress rules
//! name.
//!
//! Invariant: selection only — no rule is evaluated here (that is the engine's admin tiers). A
//! hostNetwork pod is never selected; a policy whose subject could not be read may select any pod.

use ipnet::IpNet;

use crate::index::{ClusterIndex, PodId};
use crate::policy::Direction;
use crate::policy::admin::{AdminPeer, AdminPolicy};

impl ClusterIndex {
    /// Whether an admin policy's subject selects a pod (`None`: the subject could not be read, it may).
    pub fn admin_selects(&self, pol: &AdminPolicy, pod: PodId) -> Option<bool> {
        let p = self.pod(pod);
        let ns = self.pod_namespace_labels(pod);
        pol.subject.as_ref().map(|s| s.selects(&p.labels, p.host_network, ns))
    }

    /// Whether the admin policy `i` is evaluated for `pod` in `dir`: it has readable rules for
    /// the direction and its subject selects the pod.
    fn admin_applies(&self, i: usize, pod: PodId, dir: Direction) -> bool {
        let p = &self.admin.policies[i];
        !p.rules(dir).is_empty() && p.readable(dir) && self.admin_selects(p, pod) == Some(true)
    }

    /// The Admin tier's policies (AdminNetworkPolicies, `tier: Admin` ClusterNetworkPolicies) that
    /// select `pod` and have readable rules for `dir`, in evaluation order (indices into
    /// `admin.policies`). hostNetwork pods are never selected.
    pub fn admin_selecting(&self, pod: PodId, dir: Direction) -> Vec<usize> {
        self.admin
            .admin_order
            .iter()
            .copied()
            .filter(|&i| self.admin_applies(i, pod, dir))
            .collect()
    }

    /// The Baseline tier's policies (`tier: Baseline` ClusterNetworkPolicies, then the
    /// BaselineAdminNetworkPolicy) that select `pod` and have readable rules for `dir`, in
    /// evaluation order.
    pub fn baseline_selecting(&self, pod: PodId, dir: Direction) -> Vec<usize> {
        self.admin
            .baseline_order
            .iter()
            .copied()
            .filter(|&i| self.admin_applies(i, pod, dir))
            .collect()
    }

    /// Admin policies of any kind that are not evaluated for `dir` but may select `pod` and
    /// have rules for `dir`: `(index, why)`, in snapshot order.
    pub fn unreadable_admin_selecting(&self, pod: PodId, dir: Direction) -> Vec<(usize, String)> {
        let p = self.pod(pod);
        if p.host_network {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (i, pol) in self.admin.policies.iter().enumerate() {
            if pol.readable(dir) || !pol.affects(dir) {
                continue;
            }
            let (selects, how) = match self.admin_selects(pol, pod) {
                Some(s) => (
                    s,
                    format!(
                        "its subject ({}) selects {}",
                        pol.subject.as_ref().map_or(String::new(), |s| s.to_string()),
                        p.key()
                    ),
                ),
                None => (
                    true,
                    "its subject could not be read, so it may select any pod".to_string(),
                ),
            };
            if !selects {
                continue;
            }
            let why = pol.unreadable_reason(dir).unwrap_or_default();
            out.push((
                i,
                format!(
                    "{} could not be read ({why}); {how}, so it may change the {} of {}",
                    pol.key(),
                    dir.as_str(),
                    p.key()
                ),
            ));
        }
        out
    }

    /// The address blocks egress rules of readable admin policies name: every `networks` CIDR,
    /// and the addresses of the nodes a `nodes` peer selects (so a connectivity map can cut the
    /// external address space at their bounds).
    pub fn admin_egress_blocks(&self) -> Vec<IpNet> {
        let mut out = Vec::new();
        for p in self.admin.policies.iter().filter(|p| p.readable(Direction::Egress)) {
            for peer in p.egress.iter().flat_map(|r| &r.peers) {
                match peer {
                    AdminPeer::Networks(nets) => out.extend(nets.iter().copied()),
                    AdminPeer::Nodes(sel) => {
                        for n in &self.nodes {
                            if self.admin.node_labels(&n.name).is_some_and(|l| sel.matches(l)) {
                                out.extend(n.ips.iter().map(|&ip| IpNet::from(ip)));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use crate::index::{ClusterIndex, Semantics};
    use crate::policy::Direction;

    const PODS: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {team: x}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: a, labels: {app: web}}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: node-agent, namespace: a, labels: {app: web}}\nspec: {hostNetwork: true}\n";

    fn ix(policies: &str) -> ClusterIndex {
        let snap =
            crate::snapshot::load_str("t.yaml", &format!("{PODS}---\n{policies}")).expect("test snapshot parses");
        ClusterIndex::build(&snap, Semantics::default())
    }

    fn anp(name: &str, priority: &str, subject: &str) -> String {
        format!(
            "apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {{name: {name}}}\nspec:\n  priority: {priority}\n  subject: {subject}\n  ingress: [{{action: Deny, from: [{{namespaces: {{}}}}]}}]\n"
        )
    }

    #[test]
    fn selection_follows_priority_and_never_takes_host_network_pods() {
        let ix = ix(&[
            anp("late", "9", "{namespaces: {matchLabels: {team: x}}}"),
            anp("early", "1", "{pods: {podSelector: {matchLabels: {app: web}}}}"),
            anp("other-team", "2", "{namespaces: {matchLabels: {team: y}}}"),
        ]
        .join("---\n"));
        let (web, host) = (
            ix.pod_by_name("a", "web").unwrap(),
            ix.pod_by_name("a", "node-agent").unwrap(),
        );
        let names =
            |ids: Vec<usize>| -> Vec<String> { ids.iter().map(|&i| ix.admin.policies[i].name.clone()).collect() };
        assert_eq!(names(ix.admin_selecting(web, Direction::Ingress)), ["early", "late"]);
        assert!(ix.admin_selecting(web, Direction::Egress).is_empty(), "no egress rules");
        assert!(ix.admin_selecting(host, Direction::Ingress).is_empty());
    }

    #[test]
    fn an_unreadable_subject_may_select_any_pod_but_no_host_network_pod() {
        let ix = ix(&anp("broken", "1", "{namespaces: {}, pods: {podSelector: {}}}"));
        let web = ix.pod_by_name("a", "web").unwrap();
        assert_eq!(ix.admin_selects(&ix.admin.policies[0], web), None);
        let why = ix.unreadable_admin_selecting(web, Direction::Ingress);
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(why[0].1.contains("may select any pod"), "{why:?}");
        let host = ix.pod_by_name("a", "node-agent").unwrap();
        assert!(ix.unreadable_admin_selecting(host, Direction::Ingress).is_empty());
    }
}
