#!/usr/bin/env python3
"""Drives the netpol-debug MCP server with the official Python MCP SDK (`mcp` 2.x).

Usage:
    test_mcp_client.py BINARY SNAPSHOT [RESULT_SCHEMAS]
    (or env NETPOL_DEBUG_BIN and NETPOL_DEBUG_SNAPSHOT)

RESULT_SCHEMAS: a JSON file {tool: schema} with each tool's whole result schema (every nested
field; tools/list carries outlines of them): every structuredContent is checked against both.

SNAPSHOT must be examples/01-default-deny-ingress/cluster.yaml (or a copy): the checks name its
pods (shop/frontend-7d9f, shop/api-5c6b) and its policy (shop/default-deny-ingress). The
completions run on examples/14-service-cross-namespace-podselector, found beside it.

For every transport (stdio, Streamable HTTP) and every connection mode the SDK offers
("legacy": the 2025-11-25 initialize handshake; "2026-07-28": the stateless protocol adopted
directly; "auto": server/discover, falling back to initialize), it lists the tools and prompts,
reads the resources and their links (resources_checks.py), calls every tool, validates each structuredContent against the tool's outputSchema (JSON Schema
Draft 2020-12), and sends malformed arguments. For HTTP it starts the server itself on a free
127.0.0.1 port and stops it at the end.

Prints one line per check and `N checks passed`; exits 1 if any check failed.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Any

import anyio
import jsonschema
from jsonschema import Draft202012Validator
from mcp import Client, StdioServerParameters

TOOLS = {
    "check_cni",
    "list_policies",
    "match_selectors",
    "check_default_deny",
    "check_policy_types",
    "check_ingress",
    "check_egress",
    "check_cross_namespace",
    "diagnose",
    "check_reachability",
    "connectivity_map",
    "what_if",
    "diff_snapshots",
}
PROMPTS = {"networkpolicy-debug", "dns-timeout", "what-changed"}

from checker import Checker  # noqa: E402  (beside this script)
from example01 import DST, FLOW, SRC, STEP_CALLS  # noqa: E402  (beside this script)
from resources_checks import completion_checks, resource_checks  # noqa: E402  (beside this script)

# Malformed arguments: each must come back as a tool result with isError true.
BAD_CALLS: list[tuple[str, str, dict[str, Any], str]] = [
    # (label, tool, arguments, a word the error text must contain: the argument's name)
    ("protocol ICMP", "diagnose", {**FLOW, "protocol": "ICMP"}, "protocol"),
    ("port 0", "diagnose", {**FLOW, "port": 0}, "port"),
    ("port 70000", "diagnose", {**FLOW, "port": 70000}, "port"),
    ("malformed from", "diagnose", {**FLOW, "from": "not a pod//x"}, "from"),
    ("check_ingress port 70000", "check_ingress", {**FLOW, "port": 70000}, "port"),
    ("check_egress protocol ICMP", "check_egress", {**FLOW, "protocol": "ICMP"}, "protocol"),
    ("check_reachability to and from", "check_reachability", {"to": DST, "from": SRC}, "to"),
    ("check_reachability limit 0", "check_reachability", {"to": DST, "limit": 0}, "limit"),
]

CALL_TIMEOUT = 30.0
SESSION_TIMEOUT = 120.0


def text_of(result: Any) -> str:
    """Concatenated text content of a CallToolResult or GetPromptResult message list."""
    parts = []
    for block in getattr(result, "content", None) or []:
        if getattr(block, "type", None) == "text":
            parts.append(block.text)
    return "\n".join(parts)


# Each tool's whole result schema ({tool: schema}), when given: set by main().
RESULT_SCHEMAS: dict[str, Any] = {}


def schema_errors(schema: dict[str, Any], instance: Any) -> list[str]:
    v = Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in v.iter_errors(instance)][:5]


def short(x: Any, n: int = 600) -> str:
    s = repr(x)
    return s if len(s) <= n else s[:n] + "..."


async def run_session(c: Checker, label: str, server: Any, mode: str, expect_version: str | None, body: Any = None) -> None:
    """All checks (or `body`'s) over one connection; a connection failure or an exception fails this session only."""
    p = f"[{label}]"
    entered = False
    try:
        # The deadline covers connect, every check and disconnect: a hung server fails, never hangs.
        with anyio.fail_after(SESSION_TIMEOUT):
            async with Client(server, mode=mode, read_timeout_seconds=CALL_TIMEOUT) as client:
                entered = True
                if body is None:
                    await checks(c, p, client, expect_version)
                else:
                    await body(c, p, client)
    except Exception as e:  # noqa: BLE001 - report and go on with the next configuration
        what = "unexpected exception" if entered else f"connect (mode={mode})"
        c.fail(f"{p} {what}", f"{type(e).__name__}: {e}\n{traceback.format_exc()}")


async def call(client: Client, name: str, args: dict[str, Any]) -> Any:
    return await client.call_tool(name, args)


async def checks(c: Checker, p: str, client: Client, expect_version: str | None) -> None:
    version = client.protocol_version
    if expect_version is None:
        c.ok(f"{p} connected, protocol {version}", bool(version))
    else:
        c.ok(f"{p} negotiated protocol {expect_version}", version == expect_version, f"got {version!r}")
    info = client.server_info
    if info is not None:
        c.ok(f"{p} serverInfo.name is netpol-debug", info.name == "netpol-debug", f"got {info.name!r}")

    # --- tools/list
    listed = await client.list_tools()
    tools = {t.name: t for t in listed.tools}
    c.ok(f"{p} tools/list names exactly the {len(TOOLS)} tools", set(tools) == TOOLS, f"got {sorted(tools)}")
    for name in sorted(TOOLS & set(tools)):
        t = tools[name]
        schema = t.output_schema
        if c.ok(f"{p} {name}: has an outputSchema", isinstance(schema, dict), f"got {short(schema)}"):
            try:
                Draft202012Validator.check_schema(schema)
                c.ok(f"{p} {name}: outputSchema is valid Draft 2020-12", True)
            except jsonschema.SchemaError as e:
                c.fail(f"{p} {name}: outputSchema is valid Draft 2020-12", str(e))
        a = t.annotations
        c.ok(
            f"{p} {name}: readOnlyHint true, destructiveHint false, idempotentHint true",
            a is not None and a.read_only_hint is True and a.destructive_hint is False and a.idempotent_hint is True,
            f"got {short(a)}",
        )
        c.ok(
            f"{p} {name}: inputSchema is an object schema",
            isinstance(t.input_schema, dict) and t.input_schema.get("type") == "object",
            f"got {short(t.input_schema)}",
        )

    def validate(label: str, name: str, result: Any) -> bool:
        """not isError, structuredContent a dict conforming to the tool's outputSchema."""
        sc = result.structured_content
        good = c.ok(
            f"{label}: not isError, structuredContent is an object",
            result.is_error is False and isinstance(sc, dict),
            f"is_error={result.is_error} structured={short(sc)} text={short(text_of(result))}",
        )
        schema = tools[name].output_schema if name in tools else None
        if good and isinstance(schema, dict):
            errs = schema_errors(schema, sc)
            good = c.ok(f"{label}: structuredContent validates against outputSchema", not errs, "; ".join(errs))
        whole = RESULT_SCHEMAS.get(name)
        if good and isinstance(whole, dict):
            errs = schema_errors(whole, sc)
            good = c.ok(f"{label}: structuredContent validates against the whole result schema", not errs, "; ".join(errs))
        return good

    # --- diagnose on example 01
    r = await call(client, "diagnose", FLOW)
    if validate(f"{p} diagnose {SRC} -> {DST}:8080", "diagnose", r):
        sc = r.structured_content
        c.ok(f"{p} diagnose verdict is blocked", sc.get("verdict") == "blocked", f"got {sc.get('verdict')!r}")
        causes = sc.get("root_causes") or []
        code = causes[0].get("code") if causes and isinstance(causes[0], dict) else None
        c.ok(f"{p} diagnose root_causes[0].code is DEFAULT_DENY_INGRESS", code == "DEFAULT_DENY_INGRESS", f"got {code!r}")
        c.ok(f"{p} diagnose has a text content block", bool(text_of(r)), short(r.content))

    # --- every step tool once
    for name, args in STEP_CALLS:
        r = await call(client, name, args)
        if validate(f"{p} {name} {short(args, 120)}", name, r) and name == "diagnose":
            q = r.structured_content.get("query", {})
            c.ok(f"{p} diagnose port 'http' resolves to 8080", q.get("resolved_port") == 8080, f"query={short(q)}")

    await what_if_checks(c, p, client, validate)

    # --- who can reach the api: the frontend is blocked by the default deny, in its own namespace
    r = await call(client, "check_reachability", {"to": DST, "port": 8080})
    if validate(f"{p} check_reachability to {DST}:8080", "check_reachability", r):
        sc = r.structured_content
        blocked = [v for v in sc.get("verdicts", []) if v.get("verdict") == "blocked"]
        groups = blocked[0].get("groups", []) if blocked else []
        first = groups[0] if groups else {}
        c.ok(
            f"{p} check_reachability: the first blocked group is the same namespace's, DEFAULT_DENY_INGRESS, with {SRC}",
            first.get("place") == "same-namespace"
            and first.get("code") == "DEFAULT_DENY_INGRESS"
            and first.get("policies") == ["shop/default-deny-ingress"]
            and f"{SRC}[Pod]" in (first.get("peers") or []),
            f"got {short(sc)}",
        )
        c.ok(f"{p} check_reachability has a text content block", "cannot" in text_of(r), short(text_of(r)))

    # --- prompts
    prompts = await client.list_prompts()
    names = {pr.name for pr in prompts.prompts}
    c.ok(f"{p} prompts/list names the three prompts", names == PROMPTS, f"got {sorted(names)}")
    listed_args = {pr.name: sorted(a.name for a in pr.arguments or []) for pr in prompts.prompts}
    want_args = ["before", "change", "destination", "port", "source"]
    c.ok(f"{p} what-changed takes {want_args}", listed_args.get("what-changed") == want_args, f"got {listed_args}")
    debug_args = {"source": SRC, "destination": DST, "port": "8080", "symptom": "connection timed out after 5s"}
    dns_args = {"pod": SRC}
    changed_args = {"source": SRC, "destination": DST, "port": "8080", "change": "a policy applied this morning", "before": "/tmp/yesterday.yaml"}
    for pname, pargs in (("networkpolicy-debug", debug_args), ("dns-timeout", dns_args), ("what-changed", changed_args)):
        try:
            got = await client.get_prompt(pname, pargs)
        except Exception as e:  # noqa: BLE001
            c.fail(f"{p} prompts/get {pname}", f"{type(e).__name__}: {e}")
            continue
        texts = [m.content.text for m in got.messages if getattr(m.content, "type", None) == "text"]
        body = "\n".join(texts)
        c.ok(f"{p} prompts/get {pname} returns text", bool(body), short(got))
        missing = [v for v in pargs.values() if v not in body]
        c.ok(f"{p} prompts/get {pname} mentions every argument", not missing, f"missing {missing}")
        if pname == "what-changed":
            tools_named = [t for t in ("diff_snapshots", "diagnose", "what_if") if f"`{t}`" in body]
            c.ok(f"{p} what-changed names diff_snapshots, diagnose and what_if", len(tools_named) == 3, f"named {tools_named}")
            c.ok(f"{p} what-changed says nothing is applied", "nothing is applied" in body, short(body))

    # --- resources and resource links
    await resource_checks(c, p, client)

    # --- malformed arguments: isError true, and the connection still serves a valid call
    for label, name, args, argument in BAD_CALLS:
        try:
            r = await call(client, name, args)
        except Exception as e:  # noqa: BLE001 - a protocol error instead of an in-band one
            c.fail(f"{p} bad argument ({label}) gives isError", f"raised {type(e).__name__}: {e}")
        else:
            c.ok(
                f"{p} bad argument ({label}) gives isError, text names `{argument}`",
                r.is_error is True and argument in text_of(r),
                f"is_error={r.is_error} structured={short(r.structured_content)} text={short(text_of(r))}",
            )
        r = await call(client, "diagnose", FLOW)
        ok = r.is_error is False and isinstance(r.structured_content, dict)
        c.ok(
            f"{p} valid call after bad argument ({label}) still works",
            ok and r.structured_content.get("verdict") == "blocked",
            f"is_error={r.is_error} structured={short(r.structured_content)}",
        )

    # --- an unknown pod is an answer with suggestions, not an error
    unknown = {**FLOW, "from": "shop/frontend-7d9"}
    r = await call(client, "diagnose", unknown)
    if validate(f"{p} diagnose with unknown pod shop/frontend-7d9", "diagnose", r):
        sc = r.structured_content
        c.ok(
            f"{p} unknown pod: {{error, argument, suggestions}} with shop/frontend-7d9f",
            "error" in sc and sc.get("argument") == "from" and SRC in (sc.get("suggestions") or []),
            f"got {short(sc)}",
        )
    r = await call(client, "match_selectors", {"pod": "shop/api-5c6"})
    if validate(f"{p} match_selectors with unknown pod shop/api-5c6", "match_selectors", r):
        sugg = r.structured_content.get("suggestions") or []
        c.ok(f"{p} unknown pod: suggestions contain {DST}", DST in sugg, f"got {short(r.structured_content)}")


# The suggested fix of example 01, written as a policy.
FIX = """apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-frontend-to-api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{from: [{podSelector: {matchLabels: {app: frontend}}}], ports: [{port: 8080}]}]
"""


async def what_if_checks(c: Checker, p: str, client: Client, validate: Any) -> None:
    """what_if opens exactly the asked flow; diff_snapshots compares a path with the server's state."""
    r = await call(client, "what_if", {**FLOW, "add": [FIX]})
    if validate(f"{p} what_if with the fix of example 01", "what_if", r):
        sc = r.structured_content
        flow = sc.get("flow") or {}
        c.ok(
            f"{p} what_if: blocked before, allowed after",
            (flow.get("before") or {}).get("verdict") == "blocked" and (flow.get("after") or {}).get("verdict") == "allowed",
            short(flow),
        )
        diff = sc.get("diff") or {}
        c.ok(f"{p} what_if: one pair gained, none lost", diff.get("gained_pairs") == 1 and diff.get("lost_pairs") == 0, short(diff))
        c.ok(f"{p} what_if: the text says nothing was applied", "nothing was applied" in text_of(r), short(text_of(r)))
    r = await call(client, "what_if", {"delete": ["shop/no-such-policy"]})
    c.ok(f"{p} what_if: an unknown policy to delete is an answer naming `delete`", r.structured_content is not None and (r.structured_content or {}).get("argument") == "delete", short(r.structured_content))
    r = await call(client, "what_if", {"label": ["shop/api-5c6b app"]})
    c.ok(f"{p} what_if: a bad label change is isError naming `label`", r.is_error is True and "label" in text_of(r), short(text_of(r)))
    r = await call(client, "diff_snapshots", {"before": "examples/01-default-deny-ingress/cluster.yaml"})
    if validate(f"{p} diff_snapshots of the served snapshot with itself", "diff_snapshots", r):
        sc = r.structured_content
        c.ok(f"{p} diff_snapshots: no change", sc.get("changes") == [] and sc.get("groups") == [], short(sc))
    r = await call(client, "diff_snapshots", {"before": "/etc/hostname"})
    c.ok(f"{p} diff_snapshots: a path outside the working directory is isError", r.is_error is True and "before" in text_of(r), short(text_of(r)))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(proc: subprocess.Popen[bytes], port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def start_http_server(binary: str, snapshot: str, log: Any) -> tuple[subprocess.Popen[bytes], int]:
    last = ""
    for _attempt in range(5):  # the free port may be taken between our probe and the bind
        port = free_port()
        proc = subprocess.Popen(
            [binary, "serve", "--snapshot", snapshot, "--http", f"127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        if wait_listening(proc, port, 30.0):
            return proc, port
        stop(proc)
        last = f"exit code {proc.returncode}"
    raise RuntimeError(f"the HTTP server did not start listening ({last})")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


async def main_async(binary: str, snapshot: str) -> int:
    c = Checker()

    # stdio: a fresh server process per connection (the SDK spawns it).
    stdio = StdioServerParameters(command=binary, args=["serve", "--snapshot", snapshot])
    for mode, expect in (("legacy", "2025-11-25"), ("2026-07-28", "2026-07-28"), ("auto", "2026-07-28")):
        print(f"== stdio, mode={mode}", flush=True)
        await run_session(c, f"stdio/{mode}", stdio, mode, expect)

    # Completions on a snapshot with two namespaces, Deployments' pods and a Service.
    example14 = os.path.join(os.path.dirname(os.path.dirname(snapshot)), "14-service-cross-namespace-podselector", "cluster.yaml")
    print("== stdio, completions on example 14", flush=True)
    ex14 = StdioServerParameters(command=binary, args=["serve", "--snapshot", example14])
    await run_session(c, "stdio/completions", ex14, "auto", "2026-07-28", completion_checks)

    # Streamable HTTP: one server process, every mode against it.
    with tempfile.TemporaryFile() as log:
        try:
            proc, port = start_http_server(binary, snapshot, log)
        except Exception as e:  # noqa: BLE001
            c.fail("start the Streamable HTTP server", str(e))
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace"))
        else:
            url = f"http://127.0.0.1:{port}/mcp"
            c.ok(f"Streamable HTTP server listening at {url}", True)
            try:
                for mode, expect in (("legacy", "2025-11-25"), ("2026-07-28", "2026-07-28"), ("auto", "2026-07-28")):
                    print(f"== streamable-http, mode={mode}", flush=True)
                    await run_session(c, f"http/{mode}", url, mode, expect)
                c.ok("HTTP server still running after all sessions", proc.poll() is None, f"exit {proc.returncode}")
            finally:
                stop(proc)
            if c.failed:
                log.seek(0)
                sys.stderr.write("---- HTTP server log ----\n" + log.read().decode(errors="replace"))

    print()
    if c.failed:
        print(f"{len(c.failed)} checks FAILED, {c.passed} passed:")
        for f in c.failed:
            print(f"  - {f}")
        return 1
    print(f"{c.passed} checks passed")
    return 0


def main() -> int:
    args = sys.argv[1:]
    binary = args[0] if len(args) > 0 else os.environ.get("NETPOL_DEBUG_BIN")
    snapshot = args[1] if len(args) > 1 else os.environ.get("NETPOL_DEBUG_SNAPSHOT")
    if not binary or not snapshot:
        print(__doc__, file=sys.stderr)
        return 2
    if len(args) > 2:
        with open(args[2], encoding="utf-8") as f:
            RESULT_SCHEMAS.update(json.load(f))
    binary = os.path.abspath(binary)
    snapshot = os.path.abspath(snapshot)
    for path in (binary, snapshot):
        if not os.path.exists(path):
            print(f"not found: {path}", file=sys.stderr)
            return 2
    return asyncio.run(main_async(binary, snapshot))


if __name__ == "__main__":
    sys.exit(main())
