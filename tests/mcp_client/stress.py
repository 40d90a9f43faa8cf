#!/usr/bin/env python3
"""Stress test of the netpol-debug MCP server with the official Python MCP SDK (`mcp` 2.x).

Usage:
    stress.py BINARY SNAPSHOT [--transport stdio|http|both] [--calls N] [--clients N]
              [--inflight N] [--warmup N] [--session-calls N] [--seed N]

SNAPSHOT must be examples/01-default-deny-ingress/cluster.yaml (or a copy): the calls name its
pods and namespace. Defaults come from the environment where set: NETPOL_DEBUG_STRESS_CALLS
(calls per transport, default 10000), NETPOL_DEBUG_STRESS_CLIENTS (HTTP clients, default 50).

For each transport it sends a deterministic (seeded) mix of tool calls: valid calls of every
tool, calls naming pods or namespaces the snapshot does not have (a normal result
{error, argument, suggestions}), malformed arguments (an isError result) and unknown tool names
(a JSON-RPC error). Every call must be answered, with the answer its kind expects.

- stdio: the real binary (`serve --snapshot SNAPSHOT`), one session, --inflight concurrent
  requests on it.
- http: the real binary (`serve --http 127.0.0.1:PORT`), --clients concurrent clients, half on
  the 2025-11-25 handshake (a session each), half on the stateless 2026-07-28 protocol; each client
  reconnects after --session-calls calls, so sessions are opened and closed all along.

The server's memory (VmRSS from /proc/PID/status) is read after a warm-up of --warmup calls and
again after the rest; latency percentiles are over the calls after the warm-up. Prints progress
and, per transport, one line `STRESS_RESULT {json}` that the Rust test (tests/suite/mcp_stress.rs)
reads and checks. Exits 1 if a call went unanswered or answered wrongly, or the server died.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

CALL_TIMEOUT = 60.0


def share_output_validators() -> None:
    """Compile each tool's outputSchema validator once per process instead of once per session.

    The SDK validates every structuredContent against the tool's outputSchema (it still does), but
    compiles the validators per connection (~40 ms per tool in CPython); with hundreds of HTTP
    sessions that would be the client's main cost, not the server's. Skipped when the SDK has no
    such method (another version than the one requirements.txt pins).
    """
    from mcp.client.session import ClientSession

    original = getattr(ClientSession, "_output_schema_validator", None)
    if original is None:
        return
    shared: dict[tuple[str, str], Any] = {}

    def cached(self: Any, name: str, output_schema: dict[str, Any]) -> Any:
        key = (name, json.dumps(output_schema, sort_keys=True))
        validator = shared.get(key)
        if validator is None:
            validator = original(self, name, output_schema)
            shared[key] = validator
        return validator

    ClientSession._output_schema_validator = cached  # type: ignore[method-assign]

from example01 import DST, FLOW, SRC, STEP_CALLS  # noqa: E402  (beside this script)

# kind -> (tool, arguments) candidates; the answer each kind expects is in EXPECT.
VALID: list[tuple[str, dict[str, Any]]] = [
    *STEP_CALLS,
    ("diagnose", FLOW),
    ("diagnose", {"from": DST, "to": SRC}),
]
NOT_FOUND: list[tuple[str, dict[str, Any]]] = [
    ("diagnose", {**FLOW, "from": "shop/frontend-7d9"}),
    ("diagnose", {**FLOW, "to": "shop/api-5c6"}),
    ("match_selectors", {"pod": "shop/api-5c6"}),
    ("check_ingress", {**FLOW, "from": "nosuch/x"}),
    ("check_egress", {**FLOW, "to": "shop/nope"}),
    ("check_cross_namespace", {**FLOW, "to": "other/nope"}),
    ("list_policies", {"namespace": "shopp"}),
    ("check_default_deny", {"namespace": "nope"}),
    ("check_policy_types", {"namespace": "nope"}),
    ("connectivity_map", {"namespaces": ["nope"]}),
]
MALFORMED: list[tuple[str, dict[str, Any]]] = [
    ("diagnose", {**FLOW, "protocol": "ICMP"}),
    ("diagnose", {**FLOW, "port": 0}),
    ("diagnose", {**FLOW, "port": 70000}),
    ("diagnose", {**FLOW, "port": [1]}),
    ("diagnose", {**FLOW, "from": "not a pod//x"}),
    ("diagnose", {**FLOW, "from": 5}),
    ("diagnose", {"from": SRC}),
    ("diagnose", {**FLOW, "bogus": 1}),
    ("check_ingress", {**FLOW, "port": 70000}),
    ("check_egress", {**FLOW, "protocol": "ICMP"}),
    ("list_policies", {"namespace": 5}),
    ("match_selectors", {}),
    ("check_default_deny", {"namespace": "shop", "pod": "nope//"}),
    ("connectivity_map", {"namespaces": ["shop"], "format": "png"}),
]
UNKNOWN_TOOL: list[tuple[str, dict[str, Any]]] = [
    ("diagnoze", FLOW),
    ("delete_policy", {"namespace": "shop", "name": "default-deny-ingress"}),
    ("DIAGNOSE", FLOW),
    ("check_ingres", FLOW),
    ("tools/list", {}),
]
KINDS = {
    "valid": (VALID, 0.55),
    "not_found": (NOT_FOUND, 0.15),
    "malformed": (MALFORMED, 0.20),
    "unknown_tool": (UNKNOWN_TOOL, 0.10),
}
EXPECT = {"valid": "ok", "not_found": "not_found", "malformed": "is_error", "unknown_tool": "protocol_error"}


@dataclass
class Call:
    kind: str
    tool: str
    args: dict[str, Any]


def plan(n: int, seed: int) -> list[Call]:
    rng = random.Random(seed)
    names = list(KINDS)
    weights = [KINDS[k][1] for k in names]
    calls = []
    for _ in range(n):
        kind = rng.choices(names, weights)[0]
        tool, args = rng.choice(KINDS[kind][0])
        calls.append(Call(kind, tool, args))
    return calls


@dataclass
class Stats:
    answered: int = 0
    matched: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    mismatches: list[str] = field(default_factory=list)
    mismatch_count: int = 0
    latencies: list[float] = field(default_factory=list)

    def record(self, call: Call, outcome: str, seconds: float, measured: bool, detail: str) -> None:
        self.by_kind[call.kind] = self.by_kind.get(call.kind, 0) + 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if outcome not in ("timeout", "no_answer"):
            self.answered += 1
        if outcome == EXPECT[call.kind]:
            self.matched += 1
        else:
            self.mismatch_count += 1
            if len(self.mismatches) < 10:
                self.mismatches.append(f"{call.kind} {call.tool} {json.dumps(call.args)[:120]}: got {outcome} {detail}")
        if measured:
            self.latencies.append(seconds)


async def one_call(client: Client, call: Call, stats: Stats, measured: bool) -> None:
    detail = ""
    t0 = time.perf_counter()
    try:
        with anyio.fail_after(CALL_TIMEOUT):
            r = await client.call_tool(call.tool, call.args)
    except TimeoutError:
        outcome = "timeout"
    except MCPError as e:
        outcome = "protocol_error"
        detail = f"{e.code} {e}"
    except Exception as e:  # noqa: BLE001 - a transport failure: the call was not answered
        outcome = "no_answer"
        detail = f"{type(e).__name__}: {e}"
    else:
        sc = r.structured_content
        if r.is_error:
            outcome = "is_error"
        elif isinstance(sc, dict) and "error" in sc and "argument" in sc:
            outcome = "not_found"
        elif isinstance(sc, dict):
            outcome = "ok"
        else:
            outcome = "no_structured_content"
        detail = repr(sc)[:200]
    stats.record(call, outcome, time.perf_counter() - t0, measured, detail)


async def unloaded(client: Client, n: int) -> dict[str, Any]:
    """Latency with one request at a time (after the stress): what one call costs the server
    plus one client, without the queueing of the loaded figures. The first call answers
    `server_alive`."""
    lat = []
    ok = True
    for i in range(n):
        tool, args = VALID[i % len(VALID)]
        t0 = time.perf_counter()
        r = await client.call_tool(tool, args)
        lat.append(time.perf_counter() - t0)
        ok = ok and r.is_error is False
    return {
        "unloaded_calls": n,
        "unloaded_p50_ms": round(pct(lat, 50), 2),
        "unloaded_p99_ms": round(pct(lat, 99), 2),
        "unloaded_ok": ok,
    }


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k] * 1000


def rss_kib(pid: int, key: str = "VmRSS") -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def child_pid(binary: str) -> int | None:
    """The server the SDK spawned for stdio: our child running BINARY."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().split(")")[-1].split()[1])
            if ppid == me and os.path.realpath(f"/proc/{entry}/exe") == os.path.realpath(binary):
                return int(entry)
        except (OSError, ValueError, IndexError):
            continue
    return None


def result_line(transport: str, stats: Stats, calls: int, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "transport": transport,
        "calls": calls,
        "answered": stats.answered,
        "matched": stats.matched,
        "mismatches": stats.mismatch_count,
        "mismatch_examples": stats.mismatches,
        "by_kind": stats.by_kind,
        "outcomes": stats.outcomes,
        "measured_calls": len(stats.latencies),
        "p50_ms": round(pct(stats.latencies, 50), 2),
        "p99_ms": round(pct(stats.latencies, 99), 2),
        "max_ms": round(max(stats.latencies, default=0) * 1000, 2),
        **extra,
    }


async def run_stdio(
    binary: str, snapshot: str, calls: list[Call], warmup: int, inflight: int, probe: int
) -> dict[str, Any]:
    stats = Stats()
    with tempfile.TemporaryFile(mode="w+") as log:
        params = StdioServerParameters(
            command=binary, args=["serve", "--snapshot", snapshot], env={"NETPOL_DEBUG_LOG": "error"}
        )
        extra: dict[str, Any] = {"concurrency": inflight, "sessions": 1}
        async with Client(stdio_client(params, errlog=log), mode="auto", read_timeout_seconds=CALL_TIMEOUT) as client:
            pid = child_pid(binary)
            extra["pid_found"] = pid is not None
            extra["rss_start_kib"] = rss_kib(pid) if pid else None

            async def phase(part: list[Call], measured: bool) -> float:
                it = iter(part)

                async def worker() -> None:
                    for call in it:
                        await one_call(client, call, stats, measured)

                t0 = time.monotonic()
                await asyncio.gather(*(worker() for _ in range(inflight)))
                return time.monotonic() - t0

            await phase(calls[:warmup], False)
            extra["rss_before_kib"] = rss_kib(pid) if pid else None
            print(f"stdio: warm-up of {warmup} calls done, RSS {extra['rss_before_kib']} KiB", flush=True)
            elapsed = await phase(calls[warmup:], True)
            extra["rss_after_kib"] = rss_kib(pid) if pid else None
            extra["hwm_kib"] = rss_kib(pid, "VmHWM") if pid else None
            extra["elapsed_s"] = round(elapsed, 2)
            extra["calls_per_s"] = round((len(calls) - warmup) / elapsed, 1) if elapsed > 0 else None
            # Still serving after it all; then latency one call at a time.
            r = await client.call_tool("diagnose", FLOW)
            extra["server_alive"] = bool(pid and alive(pid)) and r.is_error is False
            extra.update(await unloaded(client, probe))
        if stats.mismatch_count or not extra.get("server_alive"):
            log.seek(0)
            sys.stderr.write("---- stdio server log ----\n" + log.read()[-5000:])
    return result_line("stdio", stats, len(calls), extra)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_http_server(binary: str, snapshot: str, log: Any) -> tuple[subprocess.Popen[bytes], int]:
    for _attempt in range(5):  # the free port may be taken between our probe and the bind
        port = free_port()
        proc = subprocess.Popen(
            [binary, "serve", "--snapshot", snapshot, "--http", f"127.0.0.1:{port}"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env={**os.environ, "NETPOL_DEBUG_LOG": "error"},
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return proc, port
            except OSError:
                time.sleep(0.1)
        stop(proc)
    raise RuntimeError("the HTTP server did not start listening")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


async def run_http(
    binary: str, snapshot: str, calls: list[Call], warmup: int, clients: int, session_calls: int, probe: int
) -> dict[str, Any]:
    stats = Stats()
    extra: dict[str, Any] = {"concurrency": clients}
    sessions = 0
    connect_failures: list[str] = []
    with tempfile.TemporaryFile() as log:
        proc, port = start_http_server(binary, snapshot, log)
        url = f"http://127.0.0.1:{port}/mcp"
        try:
            extra["rss_start_kib"] = rss_kib(proc.pid)
            tls = ssl.create_default_context()  # unused (plain http), but loading it costs ~30 ms a client

            async def phase(part: list[Call], measured: bool) -> float:
                it = iter(part)

                async def worker(i: int) -> None:
                    mode = "legacy" if i % 2 == 0 else "2026-07-28"
                    call = next(it, None)
                    if call is None:
                        return
                    # One HTTP client per worker, reused by its successive MCP sessions.
                    async with httpx2.AsyncClient(timeout=httpx2.Timeout(CALL_TIMEOUT), verify=tls) as http:
                        await sessions_of(mode, http, call)

                async def sessions_of(mode: str, http: Any, call: Call | None) -> None:
                    nonlocal sessions
                    while call is not None:
                        try:
                            transport = streamable_http_client(url, http_client=http)
                            async with Client(transport, mode=mode, read_timeout_seconds=CALL_TIMEOUT) as client:
                                sessions += 1
                                n = 0
                                while call is not None and n < session_calls:
                                    await one_call(client, call, stats, measured)
                                    n += 1
                                    call = next(it, None)
                        except Exception as e:  # noqa: BLE001 - the call in hand goes unanswered
                            connect_failures.append(f"{mode}: {type(e).__name__}: {e}")
                            if call is not None:
                                stats.record(call, "no_answer", 0.0, measured, "connection failed")
                                call = next(it, None)

                t0 = time.monotonic()
                await asyncio.gather(*(worker(i) for i in range(clients)))
                return time.monotonic() - t0

            await phase(calls[:warmup], False)
            extra["rss_before_kib"] = rss_kib(proc.pid)
            print(f"http: warm-up of {warmup} calls done, RSS {extra['rss_before_kib']} KiB", flush=True)
            elapsed = await phase(calls[warmup:], True)
            extra["rss_after_kib"] = rss_kib(proc.pid)
            extra["hwm_kib"] = rss_kib(proc.pid, "VmHWM")
            extra["elapsed_s"] = round(elapsed, 2)
            extra["calls_per_s"] = round((len(calls) - warmup) / elapsed, 1) if elapsed > 0 else None
            async with Client(url, mode="legacy", read_timeout_seconds=CALL_TIMEOUT) as client:
                r = await client.call_tool("diagnose", FLOW)
                extra["server_alive"] = proc.poll() is None and r.is_error is False
                extra.update(await unloaded(client, probe))
        except Exception as e:  # noqa: BLE001
            extra["server_alive"] = False
            extra["error"] = f"{type(e).__name__}: {e}"
        finally:
            extra["sessions"] = sessions
            extra["connect_failures"] = connect_failures[:5]
            stop(proc)
        if stats.mismatch_count or not extra.get("server_alive"):
            log.seek(0)
            sys.stderr.write("---- HTTP server log ----\n" + log.read().decode(errors="replace")[-5000:])
    return result_line("http", stats, len(calls), extra)


async def main_async(a: argparse.Namespace) -> int:
    ok = True
    warmup = min(a.warmup, a.calls)
    for transport in ("stdio", "http") if a.transport == "both" else (a.transport,):
        calls = plan(a.calls, a.seed + (0 if transport == "stdio" else 1))
        print(f"== {transport}: {a.calls} calls ({warmup} warm-up)", flush=True)
        if transport == "stdio":
            res = await run_stdio(a.binary, a.snapshot, calls, warmup, a.inflight, a.probe)
        else:
            res = await run_http(a.binary, a.snapshot, calls, warmup, a.clients, a.session_calls, a.probe)
        print("STRESS_RESULT " + json.dumps(res, sort_keys=True), flush=True)
        ok = ok and res["answered"] == res["calls"] and res["mismatches"] == 0 and bool(res.get("server_alive"))
    return 0 if ok else 1


def main() -> int:
    env_int = lambda name, default: int(os.environ.get(name) or default)  # noqa: E731
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("binary")
    p.add_argument("snapshot")
    p.add_argument("--transport", choices=["stdio", "http", "both"], default="both")
    p.add_argument("--calls", type=int, default=env_int("NETPOL_DEBUG_STRESS_CALLS", 10000))
    p.add_argument("--clients", type=int, default=env_int("NETPOL_DEBUG_STRESS_CLIENTS", 50))
    p.add_argument("--inflight", type=int, default=10, help="concurrent requests on the stdio session")
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--session-calls", type=int, default=50, help="HTTP calls per client connection")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--probe", type=int, default=200, help="calls one at a time after the stress (unloaded latency)")
    a = p.parse_args()
    a.binary = os.path.abspath(a.binary)
    a.snapshot = os.path.abspath(a.snapshot)
    for path in (a.binary, a.snapshot):
        if not os.path.exists(path):
            print(f"not found: {path}", file=sys.stderr)
            return 2
    if a.calls < 1 or a.clients < 1 or a.inflight < 1 or a.session_calls < 1:
        print("--calls, --clients, --inflight and --session-calls must be at least 1", file=sys.stderr)
        return 2
    # The SDK warns on every session close because rmcp answers DELETE with 202 (it expects 200
    # or 204); the session is closed all the same. Keep the output to our figures.
    logging.getLogger("mcp.client.streamable_http").setLevel(logging.ERROR)
    share_output_validators()
    return asyncio.run(main_async(a))


if __name__ == "__main__":
    sys.exit(main())
