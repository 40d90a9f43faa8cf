#!/usr/bin/env python3
"""Inflates a `netpol-debug bench` snapshot with the fields a real `kubectl get -o yaml` export
carries and netpol-debug never reads: metadata.managedFields, uid, resourceVersion,
creationTimestamp, annotations (last-applied-configuration on policies and Services), container
images, resources, env, probes and volume mounts, status.conditions and containerStatuses.

Deterministic (no clock, no randomness: every added value derives from the object's name), so the
same input gives the same bytes. Written in block style with flow-style leaf collections (`{cpu: 500m, memory: 512Mi}`).

Usage: bench/inflate.py IN.yaml OUT.yaml [--json OUT.json] [--endpoint-slices]
  --json also writes the same objects as one `kind: List` JSON document (`kubectl get -o json`).
  --endpoint-slices adds one EndpointSlice per Service with a selector (the addresses of the
    Running pods it selects in its namespace), as a cluster's export holds them.
Needs PyYAML with libyaml (python3-yaml).
"""

import hashlib
import json
import sys

import yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

TS = "2026-11-02T09:14:27Z"


def h(name, salt=""):
    return hashlib.sha256((salt + name).encode()).hexdigest()


def uid(name):
    d = h(name, "uid")
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:32]}"


def rv(name):
    return str(int(h(name, "rv")[:8], 16) % 90_000_000 + 1_000_000)


def managed(manager, op, fields):
    return {
        "apiVersion": "v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        "manager": manager,
        "operation": op,
        "time": TS,
    }


def meta_common(meta, key):
    meta["uid"] = uid(key)
    meta["resourceVersion"] = rv(key)
    meta["creationTimestamp"] = TS


def labels_fields(meta):
    return {f"f:{k}": {} for k in meta.get("labels", {})}


def inflate_pod(o):
    meta, spec = o["metadata"], o.setdefault("spec", {})
    key = f"{meta.get('namespace')}/{meta['name']}"
    meta_common(meta, key)
    containers = spec.get("containers", [])
    cfields = {}
    for i, c in enumerate(containers):
        c.setdefault("image", f"registry.example.com/{c['name']}:v1.{int(h(key, c['name'])[:2], 16) % 40}.0")
        c["resources"] = {
            "requests": {"cpu": "100m", "memory": "128Mi"},
        }
        cfields[f'k:{{"name":"{c["name"]}"}}'] = {"f:image": {}, "f:resources": {}}
    spec.update({
        "restartPolicy": "Always",
        "serviceAccountName": "default",
    })
    meta["managedFields"] = [
        managed("kube-controller-manager", "Update", {
            "f:spec": {"f:containers": cfields},
        }),
    ]
    st = o.setdefault("status", {})
    st["conditions"] = [
        {"lastProbeTime": None, "lastTransitionTime": TS, "status": "True", "type": t}
        for t in ("Ready",)
    ]
    st["hostIP"] = "10.0.10." + str(int(h(key, "host")[:2], 16) % 250 + 1)
    st["startTime"] = TS


def inflate_managed(o, manager):
    meta = o["metadata"]
    key = f"{o['kind']}/{meta.get('namespace')}/{meta['name']}"
    meta_common(meta, key)
    meta["generation"] = 1
    meta["managedFields"] = [
        managed(manager, "Update", {"f:spec": {k: {} for k in (f"f:{s}" for s in o.get("spec", {}))}})
    ]


def inflate(o):
    kind = o.get("kind")
    if kind == "Pod":
        inflate_pod(o)
    elif kind == "NetworkPolicy":
        inflate_managed(o, "kubectl-client-side-apply")
    elif kind in ("Namespace", "Node", "Endpoints", "Service"):
        meta = o["metadata"]
        meta_common(meta, f"{kind}/{meta.get('namespace')}/{meta['name']}")
    return o


def slice_port(p):
    """A Service port as its slice lists it: the numeric target port (a named one: the port)."""
    target = p.get("targetPort")
    return {"name": p.get("name", ""), "port": target if isinstance(target, int) else p["port"],
            "protocol": p.get("protocol", "TCP")}


def endpoint_slices(docs):
    """One EndpointSlice per Service with a selector: the IPs of the pods it selects."""
    pods = {}
    for d in docs:
        if d.get("kind") == "Pod" and d.get("status", {}).get("podIP"):
            pods.setdefault(d["metadata"].get("namespace"), []).append(d)
    out = []
    for s in docs:
        if s.get("kind") != "Service" or not s.get("spec", {}).get("selector"):
            continue
        meta, sel = s["metadata"], s["spec"]["selector"]
        ns = meta.get("namespace")
        ips = [p["status"]["podIP"] for p in pods.get(ns, [])
               if all(p["metadata"].get("labels", {}).get(k) == v for k, v in sel.items())]
        out.append({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": meta["name"] + "-" + h(meta["name"], ns or "")[:5], "namespace": ns,
                         "labels": {"kubernetes.io/service-name": meta["name"]}},
            "addressType": "IPv4",
            "ports": [slice_port(p) for p in s["spec"].get("ports", [])],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
        })
    return out


def main(argv):
    slices = "--endpoint-slices" in argv
    argv = [a for a in argv if a != "--endpoint-slices"]
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--json"):
        sys.exit(__doc__)
    with open(argv[1]) as f:
        docs = [inflate(d) for d in yaml.load_all(f, Loader=Loader) if d]
    if slices:
        docs += endpoint_slices(docs)
    with open(argv[2], "w") as f:
        f.write("# inflated by bench/inflate.py from " + argv[1].rsplit("/", 1)[-1] + "\n")
        for d in docs:
            f.write("---\n")
            for k, v in d.items():
                f.write(yaml.dump({k: v}, Dumper=Dumper, default_flow_style=True, sort_keys=False, width=1 << 30)[1:-2]
                        .replace(": {", ": {", 1) + "\n")
    if len(argv) == 5:
        with open(argv[4], "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": docs}, f, indent=4)
            f.write("\n")


if __name__ == "__main__":
    main(sys.argv)
