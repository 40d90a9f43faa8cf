//! Label selectors lowered once into requirements; matching says *which* requirement failed.
//!
//! Invariant: lowering never fails. An invalid selector (unknown operator, `In` without values)
//! becomes a selector that matches nothing and carries the reason, so callers can say
//! `inconclusive` instead of guessing.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Labels of a pod or namespace.
pub type Labels = BTreeMap<String, String>;

/// The operator of one requirement, with its values where it has some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `key in (v1, v2)`; `matchLabels` entries are `In` with one value.
    In(Vec<String>),
    /// `key notin (v1, v2)`: also true when the key is absent.
    NotIn(Vec<String>),
    /// `key`: the key is present, whatever its value.
    Exists,
    /// `!key`: the key is absent.
    DoesNotExist,
}

/// One requirement of a selector: all of a selector's requirements must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    pub key: String,
    pub op: Op,
}

impl Requirement {
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.key);
        match &self.op {
            Op::In(values) => value.is_some_and(|v| values.iter().any(|x| x == v)),
            Op::NotIn(values) => value.is_none_or(|v| !values.iter().any(|x| x == v)),
            Op::Exists => value.is_some(),
            Op::DoesNotExist => value.is_none(),
        }
    }

    /// A label that, added to a set of labels, would satisfy this requirement
    /// (`None` when adding a label cannot help: `NotIn` / `DoesNotExist` need a removal).
    pub fn label_that_satisfies(&self) -> Option<(String, String)> {
        match &self.op {
            Op::In(values) => values.first().map(|v| (self.key.clone(), v.clone())),
            Op::Exists => Some((self.key.clone(), String::new())),
            Op::NotIn(_) | Op::DoesNotExist => None,
        }
    }
}

impl fmt::Display for Requirement {
    /// The kubectl `-l` syntax: `app=web`, `tier in (a,b)`, `env notin (x)`, `team`, `!team`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.op {
            Op::In(v) if v.len() == 1 => write!(f, "{}={}", self.key, v[0]),
            Op::In(v) => write!(f, "{} in ({})", self.key, v.join(",")),
            Op::NotIn(v) => write!(f, "{} notin ({})", self.key, v.join(",")),
            Op::Exists => write!(f, "{}", self.key),
            Op::DoesNotExist => write!(f, "!{}", self.key),
        }
    }
}

/// A lowered `LabelSelector`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selector {
    pub requirements: Vec<Requirement>,
    /// How many of the first requirements were written as `matchLabels` (the rest are
    /// `matchExpressions`): lets a report quote the selector as it was written.
    pub match_labels: usize,
    /// Why the selector is invalid; an invalid selector matches nothing.
    pub invalid: Option<String>,
}

impl Selector {
    /// The selector that matches everything (`{}` or an absent selector).
    pub fn everything() -> Self {
        Self::default()
    }

    /// Lowers a Kubernetes selector. `None` (absent) selects everything, as `{}` does.
    pub fn lower(selector: Option<&LabelSelector>) -> Self {
        let Some(sel) = selector else {
            return Self::everything();
        };
        let mut requirements = Vec::new();
        for (k, v) in sel.match_labels.iter().flatten() {
            requirements.push(Requirement {
                key: k.clone(),
                op: Op::In(vec![v.clone()]),
            });
        }
        for (i, expr) in sel.match_expressions.iter().flatten().enumerate() {
            let values = expr.values.clone().unwrap_or_default();
            let op = match expr.operator.as_str() {
                "In" | "NotIn" if values.is_empty() => {
                    return Self::invalid(format!(
                        "matchExpressions[{i}] (key {:?}): operator {} needs at least one value",
                        expr.key, expr.operator
                    ));
                }
                "In" => Op::In(values),
                "NotIn" => Op::NotIn(values),
                "Exists" | "DoesNotExist" if !values.is_empty() => {
                    return Self::invalid(format!(
                        "matchExpressions[{i}] (key {:?}): operator {} takes no values",
                        expr.key, expr.operator
                    ));
                }
                "Exists" => Op::Exists,
                "DoesNotExist" => Op::DoesNotExist,
                other => {
                    return Self::invalid(format!(
                        "matchExpressions[{i}] (key {:?}): unknown operator {other:?} (accepted: In, NotIn, Exists, DoesNotExist)",
                        expr.key
                    ));
                }
            };
            requirements.push(Requirement {
                key: expr.key.clone(),
                op,
            });
        }
        Self {
            match_labels: sel.match_labels.as_ref().map_or(0, |m| m.len()),
            requirements,
            invalid: None,
        }
    }

    fn invalid(reason: String) -> Self {
        Self {
            requirements: Vec::new(),
            match_labels: 0,
            invalid: Some(reason),
        }
    }

    /// True when the selector selects every set of labels (`{}`).
    pub fn is_everything(&self) -> bool {
        self.invalid.is_none() && self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.invalid.is_none() && self.requirements.iter().all(|r| r.matches(labels))
    }

    /// The requirements that `labels` fail, in declaration order (empty when it matches).
    pub fn failures<'a>(&'a self, labels: &Labels) -> Vec<&'a Requirement> {
        self.requirements.iter().filter(|r| !r.matches(labels)).collect()
    }
}

impl fmt::Display for Selector {
    /// `{}` for everything, otherwise the requirements joined with `,` as kubectl prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(reason) = &self.invalid {
            return write!(f, "<invalid: {reason}>");
        }
        if self.requirements.is_empty() {
            return write!(f, "{{}}");
        }
        let parts: Vec<String> = self.requirements.iter().map(|r| r.to_string()).collect();
        write!(f, "{}", parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: if values.is_empty() {
                None
            } else {
                Some(values.iter().map(|v| v.to_string()).collect())
            },
        }
    }

    fn sel(ml: &[(&str, &str)], exprs: Vec<LabelSelectorRequirement>) -> Selector {
        Selector::lower(Some(&LabelSelector {
            match_labels: if ml.is_empty() { None } else { Some(labels(ml)) },
            match_expressions: if exprs.is_empty() { None } else { Some(exprs) },
        }))
    }

    /// Table: (rule quoted from the API reference, selector, pod labels, expected match).
    #[test]
    fn selector_semantics_table() {
        let pod = labels(&[("app", "web"), ("tier", "front")]);
        let rows: Vec<(&str, Selector, bool)> = vec![
            ("an empty selector {} matches all objects", sel(&[], vec![]), true),
            ("an absent selector matches all objects", Selector::lower(None), true),
            (
                "matchLabels: every pair must be present",
                sel(&[("app", "web")], vec![]),
                true,
            ),
            (
                "matchLabels: a differing value fails",
                sel(&[("app", "db")], vec![]),
                false,
            ),
            ("matchLabels: a missing key fails", sel(&[("team", "a")], vec![]), false),
            (
                "In: the value is one of the set",
                sel(&[], vec![expr("app", "In", &["db", "web"])]),
                true,
            ),
            (
                "In: a missing key fails",
                sel(&[], vec![expr("team", "In", &["a"])]),
                false,
            ),
            (
                "NotIn: the value is not in the set",
                sel(&[], vec![expr("app", "NotIn", &["db"])]),
                true,
            ),
            (
                "NotIn: a missing key satisfies NotIn",
                sel(&[], vec![expr("team", "NotIn", &["a"])]),
                true,
            ),
            (
                "NotIn: a value in the set fails",
                sel(&[], vec![expr("app", "NotIn", &["web"])]),
                false,
            ),
            (
                "Exists: the key is present",
                sel(&[], vec![expr("tier", "Exists", &[])]),
                true,
            ),
            (
                "Exists: the key is absent",
                sel(&[], vec![expr("team", "Exists", &[])]),
                false,
            ),
            (
                "DoesNotExist: the key is absent",
                sel(&[], vec![expr("team", "DoesNotExist", &[])]),
                true,
            ),
            (
                "DoesNotExist: the key is present",
                sel(&[], vec![expr("app", "DoesNotExist", &[])]),
                false,
            ),
            (
                "matchLabels AND matchExpressions must both hold",
                sel(&[("app", "web")], vec![expr("tier", "In", &["back"])]),
                false,
            ),
            (
                "matchLabels AND matchExpressions: both hold",
                sel(&[("app", "web")], vec![expr("tier", "In", &["front"])]),
                true,
            ),
            (
                "an unknown operator makes the selector invalid: matches nothing",
                sel(&[], vec![expr("app", "Equals", &["web"])]),
                false,
            ),
            (
                "In without values is invalid: matches nothing",
                sel(&[], vec![expr("app", "In", &[])]),
                false,
            ),
            (
                "Exists with values is invalid: matches nothing",
                sel(&[], vec![expr("app", "Exists", &["web"])]),
                false,
            ),
        ];
        for (rule, s, want) in rows {
            assert_eq!(s.matches(&pod), want, "{rule}: selector {s}");
        }
    }

    #[test]
    fn failures_name_the_failing_requirement() {
        let s = sel(&[("app", "web")], vec![expr("team", "Exists", &[])]);
        let f = s.failures(&labels(&[("app", "web")]));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].to_string(), "team");
        assert_eq!(s.to_string(), "app=web,team");
        assert!(
            sel(&[], vec![expr("x", "Bogus", &[])])
                .invalid
                .unwrap()
                .contains("unknown operator")
        );
    }
}
