//! Documents to `serde_json::Value`s, counted against the alias budget, leaving out on the way
//! the fields no check reads.
//!
//! Invariant: every value is counted against the [`Budget`], the values left out too, so the
//! alias guard and the object limits see the same numbers whatever is kept.
//!
//! Invariant: only fields that no part of netpol-debug reads are left out (see [`At::child`]):
//! `metadata.managedFields` and the last-applied annotation of any object (the export and the
//! MCP resources drop them too, see [`super::clean`]), and for a core `v1` Pod or Node the
//! status and container fields listed there. A field left out is not type-checked either: a
//! malformed `status.conditions` no longer makes its Pod a warning, since nothing reads it. Two
//! copies of an object that differ only there are identical to the duplicate check.
//!
//! While parsing, what is left out of a Pod or Node depends on the `apiVersion` and `kind` read
//! before the field (the order `kubectl` writes); [`trim`] leaves the same fields out of an
//! object once decoded, so the loader keeps the same object whatever the order of its keys.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// How many values the decoders may still produce (see [`super::files::MAX_ALIAS_EXPANSION`]).
pub(super) struct Budget {
    pub(super) used: Cell<usize>,
    pub(super) max: usize,
    pub(super) exceeded: Cell<bool>,
}

impl Budget {
    pub(super) fn new(max: usize) -> Budget {
        Budget {
            used: Cell::new(0),
            max,
            exceeded: Cell::new(false),
        }
    }

    fn take<E: de::Error>(&self) -> Result<(), E> {
        let n = self.used.get() + 1;
        if n > self.max {
            self.exceeded.set(true);
            return Err(E::custom(format_args!("more than {} values decoded", self.max)));
        }
        self.used.set(n);
        Ok(())
    }
}

/// Where a value sits in a document, as far as it decides which fields are left out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum At {
    /// A document, an element of a top-level array, or an item of a List.
    Object,
    /// The `items` of a `…List`.
    Items,
    Metadata,
    Annotations,
    PodSpec,
    Containers,
    Container,
    PodStatus,
    NodeStatus,
    /// Anything else: kept whole.
    Kept,
}

/// The kind of an object as far as its fields were read: `apiVersion` and `kind`.
#[derive(Default)]
struct KindSoFar {
    api_version: Option<String>,
    kind: Option<String>,
}

impl KindSoFar {
    fn is_core(&self, kind: &str) -> bool {
        self.api_version.as_deref() == Some("v1") && self.kind.as_deref() == Some(kind)
    }
}

impl At {
    /// Where the value of `key` sits, in a mapping at `self`; `None`: a field no check reads,
    /// left out.
    fn child(self, key: &str, kind: &KindSoFar) -> Option<At> {
        let at = match (self, key) {
            (At::Object, "metadata") => At::Metadata,
            // kubectl writes a List's `items` before its `kind`: a top-level `items` is a List's.
            (At::Object, "items") => At::Items,
            (At::Object, "spec") if kind.is_core("Pod") => At::PodSpec,
            (At::Object, "status") if kind.is_core("Pod") => At::PodStatus,
            (At::Object, "status") if kind.is_core("Node") => At::NodeStatus,
            (At::Metadata, "managedFields") => return None,
            (At::Metadata, "annotations") => At::Annotations,
            (At::Annotations, "kubectl.kubernetes.io/last-applied-configuration") => return None,
            (At::PodSpec, "containers" | "initContainers" | "ephemeralContainers") => At::Containers,
            (At::PodSpec, "volumes")
            | (
                At::Container,
                "env" | "envFrom" | "resources" | "resizePolicy" | "volumeMounts" | "volumeDevices" | "livenessProbe"
                | "readinessProbe" | "startupProbe" | "lifecycle" | "securityContext",
            )
            | (
                At::PodStatus,
                "conditions" | "containerStatuses" | "initContainerStatuses" | "ephemeralContainerStatuses",
            )
            | (At::NodeStatus, "images" | "conditions" | "volumesAttached" | "volumesInUse") => return None,
            _ => At::Kept,
        };
        Some(at)
    }

    /// Where the elements of a sequence at `self` sit.
    fn element(self) -> At {
        match self {
            At::Items => At::Object,
            At::Containers => At::Container,
            _ => At::Kept,
        }
    }
}

/// Leaves out of an object already decoded what [`ValueSeed`] leaves out while parsing: the same
/// fields whatever the order of its keys (parsing knows the kind only once it has read it), so
/// two copies of an object are the same after either.
pub(super) fn trim(object: &mut Value) {
    let Value::Object(map) = object else { return };
    let text = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
    let kind = KindSoFar {
        api_version: text("apiVersion"),
        kind: text("kind"),
    };
    trim_at(map, At::Object, &kind);
}

fn trim_at(map: &mut Map<String, Value>, at: At, kind: &KindSoFar) {
    map.retain(|key, value| {
        let Some(child) = at.child(key, kind) else { return false };
        match value {
            Value::Object(inner) if child != At::Kept => trim_at(inner, child, kind),
            Value::Array(items) if child.element() != At::Kept => {
                for item in items.iter_mut() {
                    match item {
                        // A List's items are objects of their own kind.
                        Value::Object(_) if child == At::Items => trim(item),
                        Value::Object(inner) => trim_at(inner, child.element(), kind),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
        true
    });
}

/// Decodes a `serde_json::Value` as `Value::deserialize` does, counting every value against a
/// [`Budget`] (YAML aliases are expanded by the decoder, so this is where a bomb shows) and
/// leaving out the fields no check reads.
#[derive(Clone, Copy)]
pub(super) struct ValueSeed<'b> {
    budget: &'b Budget,
    at: At,
}

impl<'b> ValueSeed<'b> {
    /// A whole object (a document, an array element, a List).
    pub(super) fn object(budget: &'b Budget) -> ValueSeed<'b> {
        ValueSeed { budget, at: At::Object }
    }

    fn at(self, at: At) -> ValueSeed<'b> {
        ValueSeed { at, ..self }
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML or JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.budget.take()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.budget.take()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.budget.take()?;
        Ok(Value::Number(v.into()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        self.budget.take()?;
        serde::Deserialize::deserialize(de::value::I128Deserializer::<E>::new(v)).map(Value::Number)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        self.budget.take()?;
        serde::Deserialize::deserialize(de::value::U128Deserializer::<E>::new(v)).map(Value::Number)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.budget.take()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.budget.take()?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.budget.take()?;
        Ok(Value::String(v))
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.budget.take()?;
        Ok(Value::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.budget.take()?;
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.budget.take()?;
        let element = self.at(self.at.element());
        let mut items = Vec::new();
        while let Some(v) = seq.next_element_seed(element)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.budget.take()?;
        let mut out = Map::new();
        let mut kind = KindSoFar::default();
        while let Some(k) = map.next_key::<String>()? {
            self.budget.take()?;
            let Some(at) = self.at.child(&k, &kind) else {
                map.next_value_seed(Skip(self.budget))?;
                // A later copy of the key still replaces an earlier one, as `insert` does.
                out.remove(&k);
                continue;
            };
            let v = map.next_value_seed(self.at(at))?;
            if self.at == At::Object {
                match k.as_str() {
                    "apiVersion" => kind.api_version = v.as_str().map(str::to_owned),
                    "kind" => kind.kind = v.as_str().map(str::to_owned),
                    _ => {}
                }
            }
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// Reads a value no check reads without keeping it, counting it as [`ValueSeed`] would.
#[derive(Clone, Copy)]
struct Skip<'b>(&'b Budget);

impl<'de> DeserializeSeed<'de> for Skip<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML or JSON value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.0.take()
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.0.take()
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.0.take()
    }

    // Out of the range of a JSON number, the same error as `ValueSeed`'s.
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<(), E> {
        self.0.take()?;
        serde::Deserialize::deserialize(de::value::I128Deserializer::<E>::new(v)).map(|_: serde_json::Number| ())
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<(), E> {
        self.0.take()?;
        serde::Deserialize::deserialize(de::value::U128Deserializer::<E>::new(v)).map(|_: serde_json::Number| ())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.0.take()
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.0.take()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.0.take()
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.0.take()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.take()?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.take()?;
        while map.next_key_seed(KeySkip)?.is_some() {
            self.0.take()?;
            map.next_value_seed(self)?;
        }
        Ok(())
    }
}

/// A mapping key read and dropped: a string, as [`ValueSeed`] reads keys (a key that is no
/// string fails the same way), counted with its value.
struct KeySkip;

impl<'de> DeserializeSeed<'de> for KeySkip {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        <String as serde::Deserialize>::deserialize(d).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(text: &str) -> (Value, usize) {
        let budget = Budget::new(usize::MAX);
        let doc = yaml_serde::Deserializer::from_str(text).next().unwrap();
        let v = ValueSeed::object(&budget).deserialize(doc).unwrap();
        (v, budget.used.get())
    }

    /// Rule: only fields no check reads are left out, and only where they are those fields.
    #[test]
    fn fields_no_check_reads_are_left_out_while_parsing() {
        let (pod, _) = read(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p, managedFields: [{manager: kubectl}], annotations: {kubectl.kubernetes.io/last-applied-configuration: '{}', keep: '1'}, labels: {app: a}}\nspec: {nodeName: n, volumes: [{name: v}], containers: [{name: c, image: i, args: [-x], ports: [{containerPort: 80}], env: [{name: A, value: b}], resources: {requests: {cpu: 1m}}}]}\nstatus: {podIP: 10.0.0.1, phase: Running, conditions: [{type: Ready}], containerStatuses: [{name: c}]}\n",
        );
        assert_eq!(
            pod,
            json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "p", "annotations": {"keep": "1"}, "labels": {"app": "a"}},
                "spec": {"nodeName": "n", "containers": [{"name": "c", "image": "i", "args": ["-x"], "ports": [{"containerPort": 80}]}]},
                "status": {"podIP": "10.0.0.1", "phase": "Running"}})
        );
        let (node, _) = read(
            "apiVersion: v1\nkind: Node\nmetadata: {name: n}\nstatus: {addresses: [{type: InternalIP, address: 10.0.0.9}], nodeInfo: {kubeletVersion: v1.33.0}, images: [{names: [a]}], conditions: []}\n",
        );
        assert_eq!(
            node["status"],
            json!({"addresses": [{"type": "InternalIP", "address": "10.0.0.9"}], "nodeInfo": {"kubeletVersion": "v1.33.0"}})
        );
        // The same field names elsewhere stay: a workload's template, another API group's
        // `Pod`, a Pod that names its kind after its spec, a nested `metadata`.
        for text in [
            "apiVersion: apps/v1\nkind: Deployment\nspec: {template: {spec: {containers: [{name: c, env: [{name: A}]}]}}}\n",
            "apiVersion: example.com/v1\nkind: Pod\nspec: {containers: [{name: c, env: [{name: A}]}]}\n",
            "spec: {containers: [{name: c, env: [{name: A}]}]}\napiVersion: v1\nkind: Pod\n",
            "apiVersion: v1\nkind: ConfigMap\nstatus: {conditions: [1]}\ndata: {metadata: {managedFields: [1]}}\n",
        ] {
            let (v, _) = read(text);
            let kept = serde_json::to_string(&v).unwrap();
            assert!(
                kept.contains("env") || kept.contains("managedFields"),
                "{text} -> {kept}"
            );
        }
        // The items of a List are objects, also where `items` comes before `kind` (kubectl's order).
        for text in [
            "apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: Pod, metadata: {name: p, managedFields: [1]}, status: {conditions: [1]}}]\n",
            "apiVersion: v1\nitems: [{apiVersion: v1, kind: Pod, metadata: {name: p, managedFields: [1]}, status: {conditions: [1]}}]\nkind: List\n",
        ] {
            let (list, _) = read(text);
            assert_eq!(
                list["items"][0],
                json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "status": {}}),
                "{text}"
            );
        }
    }

    /// Rule: the fields left out do not depend on the order of an object's keys: what parsing
    /// kept because the kind came late, `trim` leaves out.
    #[test]
    fn the_same_fields_are_left_out_in_any_key_order() {
        let kubectl = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, managedFields: [1]}\nspec: {volumes: [1], containers: [{name: c, env: [1], ports: [{containerPort: 80}]}]}\nstatus: {podIP: 10.0.0.1, conditions: [1]}\n";
        let late = "spec: {volumes: [1], containers: [{name: c, env: [1], ports: [{containerPort: 80}]}]}\nstatus: {podIP: 10.0.0.1, conditions: [1]}\nmetadata: {name: p, managedFields: [1]}\nkind: Pod\napiVersion: v1\n";
        let (mut a, _) = read(kubectl);
        let (mut b, _) = read(late);
        assert_ne!(a, b, "parsing alone keeps the fields of the late kind");
        trim(&mut a);
        trim(&mut b);
        assert_eq!(a, b);
        assert_eq!(
            b,
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]},
                "status": {"podIP": "10.0.0.1"}})
        );
    }

    /// Rule: a value left out still fails where a kept one would (a YAML integer beyond a JSON
    /// number), so leaving a field out never turns a file that does not load into one that does.
    #[test]
    fn a_number_out_of_range_fails_left_out_or_kept() {
        for key in ["resources", "rsources"] {
            let text = format!(
                "apiVersion: v1\nkind: Pod\nspec: {{containers: [{{name: c, {key}: {{x: 99999999999999999999}}}}]}}\n"
            );
            let budget = Budget::new(usize::MAX);
            let doc = yaml_serde::Deserializer::from_str(&text).next().unwrap();
            let err = ValueSeed::object(&budget).deserialize(doc).unwrap_err();
            assert!(err.to_string().contains("out of range"), "{key}: {err}");
        }
    }

    /// Rule: a value left out counts against the alias budget as a kept one does.
    #[test]
    fn values_left_out_are_counted() {
        let with = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, managedFields: [{a: 1, b: [1, 2]}]}\n";
        let kept = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, managedField: [{a: 1, b: [1, 2]}]}\n";
        assert_eq!(read(with).1, read(kept).1);
        // An alias bomb inside a field left out still stops at the budget.
        let doc = "apiVersion: v1\nkind: Pod\nmetadata:\n  managedFields:\n    - &a [1, 1, 1, 1, 1, 1, 1, 1]\n    - &b [*a, *a, *a, *a, *a, *a, *a, *a]\n    - [*b, *b, *b, *b, *b, *b, *b, *b]\n";
        let budget = Budget::new(100);
        let d = yaml_serde::Deserializer::from_str(doc).next().unwrap();
        assert!(ValueSeed::object(&budget).deserialize(d).is_err());
        assert!(budget.exceeded.get());
    }
}
