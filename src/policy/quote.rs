//! Policy elements quoted back as YAML in compact flow style, the way a reader finds them in the
//! manifest: `{namespaceSelector: {matchLabels: {team: operations}}, podSelector: {matchLabels: {app: frontend}}}`.
//!
//! Invariant: rendered from the lowered policy, keys in the order the API reference lists them;
//! a scalar YAML would read as another type (a number, a boolean) or that breaks flow style is
//! double-quoted. Parts that could not be read are quoted as `<unreadable: reason>`.

use super::{Direction, NamespaceScope, Op, Peer, PortSpec, PortValue, Rule, Selector};

/// A scalar as flow-style YAML reads it back as the same string.
pub fn scalar(s: &str) -> String {
    let special = |c: char| ",[]{}:#&*!|>'\"%@`".contains(c);
    let reads_as_other = s.parse::<f64>().is_ok()
        || matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~"
        );
    if s.is_empty() || s.trim() != s || s.contains(special) || reads_as_other {
        format!("{s:?}")
    } else {
        s.to_string()
    }
}

/// A JSON value (a CNI policy's rule as written) in compact flow style: keys in the object's order.
pub fn flow_value(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => scalar(s),
        Value::Array(a) => list(a.iter().map(flow_value)),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", scalar(k), flow_value(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn list(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(", "))
}

impl Selector {
    /// `{}`, or `{matchLabels: {…}, matchExpressions: [{key: …, operator: …, values: […]}]}`.
    pub fn quote(&self) -> String {
        if let Some(reason) = &self.invalid {
            return format!("<unreadable: {reason}>");
        }
        let (labels, exprs) = self
            .requirements
            .split_at(self.match_labels.min(self.requirements.len()));
        let mut parts = Vec::new();
        if !labels.is_empty() {
            let pairs: Vec<String> = labels
                .iter()
                .map(|r| match &r.op {
                    Op::In(v) => format!("{}: {}", scalar(&r.key), scalar(v.first().map_or("", String::as_str))),
                    _ => scalar(&r.key),
                })
                .collect();
            parts.push(format!("matchLabels: {{{}}}", pairs.join(", ")));
        }
        if !exprs.is_empty() {
            let items = exprs.iter().map(|r| {
                let (op, values) = match &r.op {
                    Op::In(v) => ("In", Some(v)),
                    Op::NotIn(v) => ("NotIn", Some(v)),
                    Op::Exists => ("Exists", None),
                    Op::DoesNotExist => ("DoesNotExist", None),
                };
                let values = values
                    .map(|v| format!(", values: {}", list(v.iter().map(|x| scalar(x)))))
                    .unwrap_or_default();
                format!("{{key: {}, operator: {op}{values}}}", scalar(&r.key))
            });
            parts.push(format!("matchExpressions: {}", list(items)));
        }
        format!("{{{}}}", parts.join(", "))
    }
}

impl Peer {
    /// One `from` / `to` element.
    pub fn quote(&self) -> String {
        match self {
            Peer::Pods {
                namespaces,
                pods,
                pod_selector_set,
            } => {
                let mut parts = Vec::new();
                if let NamespaceScope::Matching(sel) = namespaces {
                    parts.push(format!("namespaceSelector: {}", sel.quote()));
                }
                if *pod_selector_set {
                    parts.push(format!("podSelector: {}", pods.quote()));
                }
                format!("{{{}}}", parts.join(", "))
            }
            Peer::IpBlock { cidr, except } if except.is_empty() => format!("{{ipBlock: {{cidr: {cidr}}}}}"),
            Peer::IpBlock { cidr, except } => format!(
                "{{ipBlock: {{cidr: {cidr}, except: {}}}}}",
                list(except.iter().map(ToString::to_string))
            ),
            Peer::Invalid { reason } => format!("<unreadable: {reason}>"),
        }
    }
}

impl PortSpec {
    /// One `ports` entry: `{protocol: TCP, port: 8080}`, with `endPort` for a range.
    pub fn quote(&self) -> String {
        let p = self.protocol;
        match &self.value {
            PortValue::Any => format!("{{protocol: {p}}}"),
            PortValue::Range(lo, hi) if lo == hi => format!("{{protocol: {p}, port: {lo}}}"),
            PortValue::Range(lo, hi) => format!("{{protocol: {p}, port: {lo}, endPort: {hi}}}"),
            PortValue::Named(n) => format!("{{protocol: {p}, port: {}}}", scalar(n)),
            PortValue::Invalid(reason) => format!("<unreadable: {reason}>"),
        }
    }
}

impl Rule {
    /// The rule's peers (`from` / `to`) and ports, absent parts left out: `{}` admits everything.
    pub fn quote(&self, dir: Direction) -> String {
        let mut parts = Vec::new();
        if let Some(peers) = &self.peers {
            let word = match dir {
                Direction::Ingress => "from",
                Direction::Egress => "to",
            };
            parts.push(format!("{word}: {}", list(peers.iter().map(Peer::quote))));
        }
        if let Some(ports) = &self.ports {
            parts.push(format!("ports: {}", list(ports.iter().map(PortSpec::quote))));
        }
        format!("{{{}}}", parts.join(", "))
    }

    /// The `ports` list alone: `[{protocol: TCP, port: 8084}]`, or `(absent: every port)`.
    pub fn quote_ports(&self) -> String {
        match &self.ports {
            Some(ports) => list(ports.iter().map(PortSpec::quote)),
            None => "(absent: every port)".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::networking::v1::{NetworkPolicyPeer, NetworkPolicyPort};

    fn peer(yaml: &str) -> String {
        let p: NetworkPolicyPeer = yaml_serde::from_str(yaml).expect("peer parses");
        Peer::lower(&p, "shop").quote()
    }

    #[test]
    fn elements_are_quoted_as_written() {
        let rows = [
            (
                "{namespaceSelector: {matchLabels: {team: operations}}, podSelector: {matchLabels: {app: frontend}}}",
                "{namespaceSelector: {matchLabels: {team: operations}}, podSelector: {matchLabels: {app: frontend}}}",
            ),
            ("{namespaceSelector: {}}", "{namespaceSelector: {}}"),
            ("{podSelector: {}}", "{podSelector: {}}"),
            (
                "{podSelector: {matchExpressions: [{key: tier, operator: In, values: [a, b]}, {key: x, operator: Exists}]}}",
                "{podSelector: {matchExpressions: [{key: tier, operator: In, values: [a, b]}, {key: x, operator: Exists}]}}",
            ),
            (
                "{podSelector: {matchLabels: {app.kubernetes.io/name: web, v: \"1\"}, matchExpressions: [{key: t, operator: NotIn, values: [x]}]}}",
                "{podSelector: {matchLabels: {app.kubernetes.io/name: web, v: \"1\"}, matchExpressions: [{key: t, operator: NotIn, values: [x]}]}}",
            ),
            (
                "{ipBlock: {cidr: 10.0.0.0/8, except: [10.96.0.0/12]}}",
                "{ipBlock: {cidr: 10.0.0.0/8, except: [10.96.0.0/12]}}",
            ),
            ("{ipBlock: {cidr: 0.0.0.0/0}}", "{ipBlock: {cidr: 0.0.0.0/0}}"),
        ];
        for (yaml, want) in rows {
            assert_eq!(peer(yaml), want, "{yaml}");
        }
    }

    #[test]
    fn ports_are_quoted_as_written() {
        let port = |yaml: &str| {
            let p: NetworkPolicyPort = yaml_serde::from_str(yaml).expect("port parses");
            PortSpec::lower(&p).quote()
        };
        assert_eq!(port("{protocol: UDP, port: 53}"), "{protocol: UDP, port: 53}");
        assert_eq!(port("{port: http}"), "{protocol: TCP, port: http}");
        assert_eq!(
            port("{port: 8000, endPort: 8100}"),
            "{protocol: TCP, port: 8000, endPort: 8100}"
        );
        assert_eq!(scalar("true"), "\"true\"");
        assert_eq!(scalar("a:b"), "\"a:b\"");
    }
}
