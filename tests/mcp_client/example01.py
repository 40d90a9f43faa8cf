"""Endpoints and one valid call per tool on examples/01-default-deny-ingress, shared by the SDK
conformance client (test_mcp_client.py) and the stress client (stress.py)."""

from __future__ import annotations

from typing import Any

SRC = "shop/frontend-7d9f"
DST = "shop/api-5c6b"
FLOW = {"from": SRC, "to": DST, "port": 8080}

# One valid call per tool (and per output format).
STEP_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("check_cni", {}),
    ("list_policies", {"namespace": "shop"}),
    ("list_policies", {}),
    ("match_selectors", {"pod": DST}),
    ("check_default_deny", {"namespace": "shop", "pod": DST}),
    ("check_policy_types", {"namespace": "shop"}),
    ("check_ingress", FLOW),
    ("check_egress", FLOW),
    ("check_cross_namespace", FLOW),
    ("diagnose", {"from": SRC, "to": DST, "port": "http", "protocol": "TCP"}),
    ("connectivity_map", {"namespaces": ["shop"], "format": "json"}),
    ("connectivity_map", {"namespaces": ["shop"], "format": "mermaid", "limit": 10}),
    ("check_reachability", {"to": DST, "port": 8080}),
    ("check_reachability", {"from": SRC, "limit": 3}),
]
