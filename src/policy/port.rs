//! The `ports` of a rule lowered into protocol + port-range matchers.
//!
//! Invariant: every accepted spec has a protocol (default TCP) and a valid range, or is a
//! named port resolved later against the destination pod; anything else is `Invalid`.

use std::fmt;

use k8s_openapi::api::networking::v1::NetworkPolicyPort;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// The L4 protocols NetworkPolicy knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp];

    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }

    /// Parses `TCP`, `UDP`, `SCTP` (case-insensitive, as users type them on a command line).
    pub fn parse(s: &str) -> Option<Protocol> {
        match s.to_ascii_uppercase().as_str() {
            "TCP" => Some(Protocol::Tcp),
            "UDP" => Some(Protocol::Udp),
            "SCTP" => Some(Protocol::Sctp),
            _ => None,
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The port part of one `ports` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortValue {
    /// No `port`: every port of the protocol.
    Any,
    /// `port` alone (`lo == hi`) or `port`..=`endPort`.
    Range(u16, u16),
    /// A named port, resolved against the destination pod's containerPorts.
    Named(String),
    /// Rejected by the API server; matches nothing.
    Invalid(String),
}

/// One entry of a rule's `ports` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub protocol: Protocol,
    pub value: PortValue,
}

impl PortSpec {
    pub fn lower(p: &NetworkPolicyPort) -> PortSpec {
        let protocol = match p.protocol.as_deref() {
            None => Protocol::Tcp,
            Some(s) => match s {
                "TCP" => Protocol::Tcp,
                "UDP" => Protocol::Udp,
                "SCTP" => Protocol::Sctp,
                other => {
                    return PortSpec {
                        protocol: Protocol::Tcp,
                        value: PortValue::Invalid(format!("protocol {other:?} is not one of TCP, UDP, SCTP")),
                    };
                }
            },
        };
        let value = match (&p.port, p.end_port) {
            (None, None) => PortValue::Any,
            (None, Some(_)) => PortValue::Invalid("endPort is set without port".into()),
            (Some(IntOrString::Int(n)), end) => numeric(*n, end),
            (Some(IntOrString::String(s)), end) => match s.parse::<i32>() {
                Ok(n) => numeric(n, end),
                Err(_) if end.is_some() => {
                    PortValue::Invalid(format!("endPort cannot be used with the named port {s:?}"))
                }
                Err(_) if s.is_empty() => PortValue::Invalid("port is an empty string".into()),
                Err(_) => PortValue::Named(s.clone()),
            },
        };
        PortSpec { protocol, value }
    }
}

fn numeric(port: i32, end: Option<i32>) -> PortValue {
    if !(1..=65535).contains(&port) {
        return PortValue::Invalid(format!("port {port} is outside 1-65535"));
    }
    match end {
        None => PortValue::Range(port as u16, port as u16),
        Some(e) if e < port => PortValue::Invalid(format!("endPort {e} is below port {port}")),
        Some(e) if e > 65535 => PortValue::Invalid(format!("endPort {e} is above 65535")),
        Some(e) => PortValue::Range(port as u16, e as u16),
    }
}

impl fmt::Display for PortSpec {
    /// `TCP 80`, `TCP 8000-8100`, `UDP` (all ports), `TCP http` (named).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            PortValue::Any => write!(f, "{} (all ports)", self.protocol),
            PortValue::Range(a, b) if a == b => write!(f, "{} {a}", self.protocol),
            PortValue::Range(a, b) => write!(f, "{} {a}-{b}", self.protocol),
            PortValue::Named(n) => write!(f, "{} {n} (named)", self.protocol),
            PortValue::Invalid(r) => write!(f, "invalid port ({r})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> PortSpec {
        let p: NetworkPolicyPort = yaml_serde::from_str(yaml).expect("port parses");
        PortSpec::lower(&p)
    }

    /// Table: (rule, ports entry, expected lowering).
    #[test]
    fn port_semantics_table() {
        let rows: Vec<(&str, &str, PortSpec)> = vec![
            (
                "protocol defaults to TCP",
                "port: 80",
                PortSpec {
                    protocol: Protocol::Tcp,
                    value: PortValue::Range(80, 80),
                },
            ),
            (
                "UDP is kept",
                "{protocol: UDP, port: 53}",
                PortSpec {
                    protocol: Protocol::Udp,
                    value: PortValue::Range(53, 53),
                },
            ),
            (
                "SCTP is kept",
                "{protocol: SCTP, port: 9000}",
                PortSpec {
                    protocol: Protocol::Sctp,
                    value: PortValue::Range(9000, 9000),
                },
            ),
            (
                "a protocol without port means all its ports",
                "protocol: UDP",
                PortSpec {
                    protocol: Protocol::Udp,
                    value: PortValue::Any,
                },
            ),
            (
                "endPort makes an inclusive range",
                "{port: 8000, endPort: 8100}",
                PortSpec {
                    protocol: Protocol::Tcp,
                    value: PortValue::Range(8000, 8100),
                },
            ),
            (
                "endPort equal to port is one port",
                "{port: 80, endPort: 80}",
                PortSpec {
                    protocol: Protocol::Tcp,
                    value: PortValue::Range(80, 80),
                },
            ),
            (
                "a named port is resolved later",
                "port: http",
                PortSpec {
                    protocol: Protocol::Tcp,
                    value: PortValue::Named("http".into()),
                },
            ),
        ];
        for (rule, yaml, want) in rows {
            assert_eq!(spec(yaml), want, "{rule}");
        }
    }

    #[test]
    fn invalid_ports_match_nothing_and_say_why() {
        for (yaml, needle) in [
            ("{port: 8100, endPort: 8000}", "below port"),
            ("{port: http, endPort: 90}", "named port"),
            ("port: 0", "outside 1-65535"),
            ("port: 70000", "outside 1-65535"),
            ("{protocol: ICMP, port: 1}", "not one of"),
            ("endPort: 90", "without port"),
        ] {
            match spec(yaml).value {
                PortValue::Invalid(r) => assert!(r.contains(needle), "{yaml}: {r}"),
                other => panic!("{yaml}: expected invalid, got {other:?}"),
            }
        }
    }
}
