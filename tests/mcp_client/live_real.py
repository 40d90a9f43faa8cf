#!/usr/bin/env python3
"""`serve --live` on a real kube-apiserver through the official Python MCP SDK.

Usage (tests/suite/real_apiserver.rs runs it):
    live_real.py BINARY EXAMPLE_SNAPSHOT KUBECONFIG EXPORT

EXAMPLE_SNAPSHOT is ignored (common::run_mcp_script passes it to every script). KUBECONFIG reaches
the real server holding tests/fixtures/live-cluster.yaml; EXPORT is `netpol-debug snapshot` of it.

It starts `serve --live --kubeconfig KUBECONFIG` and `serve --snapshot EXPORT` over stdio (both
protocol generations for the live server), checks that every live tool carries openWorldHint
true, and that each call below returns the same structuredContent from the live cluster as from
the exported snapshot. Prints one line per check and `N checks passed`; exits 1 if any failed.
"""

from __future__ import annotations

import asyncio
import sys
import traceback
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from checker import Checker  # beside this script

FRONTEND = "shop/frontend-7d9f8b6c5d-x2x2x"
CALLS: list[tuple[str, dict[str, Any]]] = [
    ("diagnose", {"from": FRONTEND, "to": "shop/svc/api", "port": 80}),
    ("diagnose", {"from": "10.0.0.31", "to": "shop/db-0", "port": 5432}),
    ("diagnose", {"from": "monitoring/prometheus-0", "to": "shop/db-0", "port": "pg"}),
    ("diagnose", {"from": "billing/worker-66b8d9c7f-zzzzz", "to": "10.96.10.20", "port": 80}),
    ("check_ingress", {"from": FRONTEND, "to": "shop/api-5c6b9d7f4-aaaaa", "port": 8080}),
    ("check_egress", {"from": FRONTEND, "to": "8.8.8.8", "port": 443}),
    ("check_cross_namespace", {"from": "billing/worker-66b8d9c7f-zzzzz", "to": "shop/db-0", "port": 5432}),
    ("check_cni", {}),
    ("list_policies", {"namespace": "shop"}),
    ("list_policies", {}),
    ("match_selectors", {"pod": "shop/db-0"}),
    ("check_default_deny", {"namespace": "shop"}),
    ("check_policy_types", {"namespace": "shop"}),
    ("connectivity_map", {"namespaces": ["shop", "billing"], "format": "json"}),
]
TIMEOUT = 120.0


def short(x: Any, n: int = 400) -> str:
    s = repr(x)
    return s if len(s) <= n else s[:n] + "..."


async def offline_answers(binary: str, export: str) -> dict[int, Any]:
    server = StdioServerParameters(command=binary, args=["serve", "--snapshot", export])
    out: dict[int, Any] = {}
    async with Client(server, mode="legacy", read_timeout_seconds=60) as client:
        for i, (name, args) in enumerate(CALLS):
            r = await client.call_tool(name, args)
            out[i] = (r.is_error, r.structured_content)
    return out


async def live_session(c: Checker, binary: str, kubeconfig: str, mode: str, offline: dict[int, Any]) -> None:
    p = f"[live/{mode}]"
    server = StdioServerParameters(
        command=binary, args=["serve", "--live", "--kubeconfig", kubeconfig, "--cache-ttl", "30"]
    )
    try:
        with anyio.fail_after(TIMEOUT):
            async with Client(server, mode=mode, read_timeout_seconds=60) as client:
                tools = (await client.list_tools()).tools
                c.ok(f"{p} tools/list has 13 tools", len(tools) == 13, f"got {[t.name for t in tools]}")
                for t in tools:
                    a = t.annotations
                    c.ok(
                        f"{p} {t.name}: openWorldHint true, readOnlyHint true",
                        a is not None and a.open_world_hint is True and a.read_only_hint is True,
                        short(a),
                    )
                for i, (name, args) in enumerate(CALLS):
                    r = await client.call_tool(name, args)
                    label = f"{p} {name} {short(args, 100)}"
                    if not c.ok(f"{label}: not isError", r.is_error is False, short(r.content)):
                        continue
                    want_error, want = offline[i]
                    c.ok(
                        f"{label}: same structuredContent as the exported snapshot",
                        r.structured_content == want and want_error is False,
                        f"live={short(r.structured_content)} offline={short(want)}",
                    )
    except Exception as e:  # noqa: BLE001
        c.ok(f"{p} session", False, f"{type(e).__name__}: {e}\n{traceback.format_exc()}")


async def main_async(binary: str, kubeconfig: str, export: str) -> int:
    c = Checker()
    offline = await offline_answers(binary, export)
    for mode in ("legacy", "2026-07-28"):
        print(f"== stdio, mode={mode}", flush=True)
        await live_session(c, binary, kubeconfig, mode, offline)
    if c.failed:
        print(f"{len(c.failed)} of {c.passed + len(c.failed)} checks FAILED: {c.failed}", flush=True)
        return 1
    print(f"{c.passed} checks passed", flush=True)
    return 0


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    binary, _example, kubeconfig, export = sys.argv[1:]
    return asyncio.run(main_async(binary, kubeconfig, export))


if __name__ == "__main__":
    sys.exit(main())
