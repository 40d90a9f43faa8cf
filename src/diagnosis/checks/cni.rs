//! Which CNI runs and whether it enforces NetworkPolicy: the record first, and at the end a CNI
//! that enforces nothing outranks every rule.
//!
//! Invariant: reads only the CNI detection made once per snapshot (`index::cni`).

use super::{Ends, Finding, Rank, Record};
use crate::index::ClusterIndex;
use crate::index::cni::Enforcement;
use crate::report::*;

/// The CNI record and the confidence it gives the verdict.
pub fn record(ix: &ClusterIndex, _: &Ends<'_>, _: &Diagnosis) -> Finding {
    let cni = &ix.facts.cni;
    Finding {
        records: vec![Record::Cni(CniCheck {
            enforcement: cni.enforcement.as_str().to_string(),
            cnis: cni
                .cnis
                .iter()
                .map(|c| format!("{} ({})", c.name, c.support.as_str()))
                .collect(),
            summary: cni.summary.clone(),
        })],
        confidence: Some(match cni.enforcement {
            Enforcement::Enforced | Enforcement::NotEnforced => "high",
            Enforcement::Conditional => "low",
            Enforcement::Unknown => "medium",
        }),
        ..Finding::none()
    }
}

/// Nothing enforces NetworkPolicy: the rules are not why traffic fails. Enforcement that
/// depends on configuration is a warning.
pub fn enforcement(ix: &ClusterIndex, _: &Ends<'_>, d: &Diagnosis) -> Finding {
    let cni = &ix.facts.cni;
    match cni.enforcement {
        Enforcement::NotEnforced if d.verdict != Verdict::NotEnforced => Finding {
            causes: vec![(Rank::Lead, RootCause {
                code: RootCauseCode::CniNoNetpolSupport,
                summary: format!(
                    "{} Look elsewhere: Service endpoints, DNS, the application, firewalls.",
                    cni.summary
                ),
                policies: Vec::new(),
                evidence: cni.cnis.iter().flat_map(|c| c.evidence.iter().take(2).cloned()).collect(),
                suggestion: "If the policies are meant to work, the cluster needs a CNI or policy engine that enforces NetworkPolicy (Calico, Cilium, Canal, kube-router...). What the policies would do once enforced is listed below.".into(),
            })],
            effect: super::Effect::NotEnforced,
            ..Finding::none()
        },
        Enforcement::Conditional => Finding {
            warnings: conditional_warning(ix).into_iter().collect(),
            ..Finding::none()
        },
        _ => Finding::none(),
    }
}

/// Enforcement that depends on the CNI's configuration, in one warning (`None`: it does not).
pub(crate) fn conditional_warning(ix: &ClusterIndex) -> Option<String> {
    let cni = &ix.facts.cni;
    (cni.enforcement == Enforcement::Conditional).then(|| {
        format!(
            "NetworkPolicy enforcement is conditional on the CNI's configuration: {}",
            cni.cnis.iter().map(|c| c.note.clone()).collect::<Vec<_>>().join(" ")
        )
    })
}
