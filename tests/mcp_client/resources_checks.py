"""MCP resources, resource links and completions, checked through the Python SDK (shared by
test_mcp_client.py): the template, the listed policies, reads of a good and an unknown URI, the
resource links of a diagnose result (on examples/01-default-deny-ingress), and completions of
every prompt argument kind (on examples/14-service-cross-namespace-podselector, which has two
namespaces, Deployments' pods and a Service)."""

from __future__ import annotations

from typing import Any

from mcp.types import PromptReference

from checker import Checker
from example01 import FLOW

TEMPLATE = "netpol://{namespace}/{kind}/{name}"
POLICY_URI = "netpol://shop/NetworkPolicy/default-deny-ingress"
UNKNOWN_URI = "netpol://shop/NetworkPolicy/no-such-policy"


def short(x: Any, n: int = 400) -> str:
    s = repr(x)
    return s if len(s) <= n else s[:n] + "..."


async def resource_checks(c: Checker, p: str, client: Any) -> None:
    """Resources on example 01."""
    templates = await client.list_resource_templates()
    uris = [t.uri_template for t in templates.resource_templates]
    c.ok(f"{p} resources/templates/list gives {TEMPLATE}", uris == [TEMPLATE], f"got {uris}")

    listed = await client.list_resources()
    got = {r.uri: r for r in listed.resources}
    c.ok(f"{p} resources/list lists {POLICY_URI}", POLICY_URI in got, f"got {sorted(got)}")
    c.ok(
        f"{p} resources/list lists only policies (example 01 has one)",
        list(got) == [POLICY_URI] and listed.next_cursor is None,
        f"got {sorted(got)} next_cursor={listed.next_cursor!r}",
    )
    if POLICY_URI in got:
        c.ok(f"{p} the listed policy is application/yaml", got[POLICY_URI].mime_type == "application/yaml", short(got[POLICY_URI]))

    read = await client.read_resource(POLICY_URI)
    texts = [getattr(x, "text", "") for x in read.contents]
    body = "\n".join(texts)
    c.ok(
        f"{p} resources/read {POLICY_URI} is the policy's YAML",
        "kind: NetworkPolicy" in body and "name: default-deny-ingress" in body and "podSelector: {}" in body,
        short(read),
    )
    c.ok(f"{p} resources/read names its uri", [str(x.uri) for x in read.contents] == [POLICY_URI], short(read))

    try:
        r = await client.read_resource(UNKNOWN_URI)
    except Exception as e:  # noqa: BLE001 - the SDK raises the JSON-RPC error
        c.ok(f"{p} resources/read of an unknown URI is an error naming it", UNKNOWN_URI in str(e), f"{type(e).__name__}: {e}")
    else:
        c.fail(f"{p} resources/read of an unknown URI is an error naming it", f"got a result: {short(r)}")

    r = await client.call_tool("diagnose", FLOW)
    links = [b for b in r.content or [] if getattr(b, "type", None) == "resource_link"]
    link_uris = [str(b.uri) for b in links]
    c.ok(f"{p} diagnose links the responsible policy", link_uris == [POLICY_URI], f"got {link_uris}")
    if links:
        c.ok(f"{p} the link is application/yaml", links[0].mime_type == "application/yaml", short(links[0]))


# (prompt, argument, typed prefix, a value the completion must offer, a value it must not offer)
COMPLETIONS: list[tuple[str, str, str, str, str | None]] = [
    ("networkpolicy-debug", "source", "w", "web/", "inventory/"),  # a namespace
    ("networkpolicy-debug", "source", "web/store", "web/storefront-84c7b6d5f-9gq2l", None),  # a pod
    ("networkpolicy-debug", "destination", "inventory/deployment/", "inventory/deployment/stock-api", None),  # a workload
    ("networkpolicy-debug", "destination", "inventory/svc/", "inventory/svc/stock-api", None),  # a Service
    ("dns-timeout", "pod", "web/", "web/deployment/storefront", "web/svc/"),  # pods and workloads, no Services
    ("what-changed", "source", "inventory/stock", "inventory/stock-api-6f5e4d3c2-j7k8l", "web/storefront-84c7b6d5f-9gq2l"),
    ("what-changed", "destination", "", "inventory/svc/stock-api", None),
]


async def completion_checks(c: Checker, p: str, client: Any) -> None:
    """completion/complete on example 14."""
    for prompt, argument, prefix, want, never in COMPLETIONS:
        label = f"{p} complete {prompt}.{argument} {prefix!r}"
        try:
            r = await client.complete(PromptReference(name=prompt), {"name": argument, "value": prefix})
        except Exception as e:  # noqa: BLE001
            c.fail(label, f"{type(e).__name__}: {e}")
            continue
        comp = r.completion
        values = comp.values
        c.ok(f"{label} offers {want}", want in values, f"got {values}")
        if never is not None:
            c.ok(f"{label} does not offer {never}", never not in values, f"got {values}")
        c.ok(f"{label} every value starts with the prefix", all(v.startswith(prefix) for v in values), f"got {values}")
        c.ok(
            f"{label} total and hasMore agree (at most 100 values)",
            len(values) <= 100 and comp.total == len(values) and comp.has_more is False,
            f"total={comp.total} has_more={comp.has_more} values={len(values)}",
        )
    r = await client.complete(PromptReference(name="networkpolicy-debug"), {"name": "symptom", "value": "time"})
    c.ok(f"{p} complete a free-text argument gives nothing", r.completion.values == [], short(r))
