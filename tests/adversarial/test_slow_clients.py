"""`bookctl serve` against real slow clients on loopback: slow headers and slow bodies are cut at their
deadlines, one address cannot hold more than its share of connections, and the server keeps answering.

Small limits (1 s, 2 s, 10 connections) keep the test short; every wait is bounded.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

import httpx

from tests.conftest import make_workspace
from tests.live import bookctl_serve

LIMITS = {"BOOKCTL_HEADER_TIMEOUT": "1", "BOOKCTL_BODY_TIMEOUT": "2", "BOOKCTL_MAX_CONNECTIONS_PER_IP": "10"}


def _connect(base: str) -> socket.socket:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    return sock


def _closed_within(sock: socket.socket, seconds: float) -> float | None:
    """Seconds until the server closed `sock` (EOF or reset), or None if still open after `seconds`."""
    start = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - start < seconds:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - start
        except socket.timeout:
            continue
        except OSError:
            return time.monotonic() - start
    return None


def _open_now(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def test_slow_headers_slow_bodies_and_per_ip_cap(tmp_path: Path, fixture_book: Path) -> None:
    ws = make_workspace(tmp_path / "ws", fixture_book)
    assert ws.run("sync").code == 0
    with bookctl_serve(ws.subprocess_env() | LIMITS, ws.root) as base:
        # 1. slow headers: a request line, then one header byte at a time (a byte every 0.3 s keeps it "active")
        slow_head = _connect(base)
        slow_head.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        start = time.monotonic()
        closed = None
        while time.monotonic() - start < 6 and closed is None:
            try:
                slow_head.sendall(b"X")
            except OSError:
                closed = time.monotonic() - start
                break
            closed = _closed_within(slow_head, 0.3)
        assert closed is not None, "a client trickling its headers was never cut off"
        slow_head.close()

        # 2. slow body: full headers, then a body that never completes
        slow_body = _connect(base)
        slow_body.sendall(b"POST /api/user/create HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 100\r\n\r\n{")
        waited = _closed_within(slow_body, 6)
        assert waited is not None and 1.5 <= waited <= 6, waited  # the 2 s body deadline, not the 1 s head one
        slow_body.close()

        # 3. a connection that sends nothing is closed after the header deadline
        silent = _connect(base)
        assert _closed_within(silent, 4) is not None
        silent.close()

        # 4. per-IP cap: of 30 idle connections from 127.0.0.1, at most 10 stay open
        held = [_connect(base) for _ in range(30)]
        # poll (the server accepts at its own pace on a loaded machine) but stay inside the 1 s header deadline,
        # which starts at each accept, after the connect: only the cap closes connections this early
        still_open, when = _count_open_until(held, 10, 0.8)
        assert still_open <= 10, (still_open, when)
        assert still_open >= 5  # the cap, not a refusal of everyone
        for s in held:
            s.close()

        # 5. the server still answers once the slow clients are gone
        deadline = time.monotonic() + 10
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the server stopped answering"
            time.sleep(0.2)
        r = httpx.post(base + "/api/user/create", json={}, timeout=5)
        assert r.status_code == 201, r.text


def _count_open_until(held: list[socket.socket], at_most: int, seconds: float) -> tuple[int, float]:
    """Poll until at most `at_most` of `held` are open (or `seconds` pass): (how many are open, when)."""
    start = time.monotonic()
    while True:
        still = sum(1 for s in held if _open_now(s))
        elapsed = time.monotonic() - start
        if still <= at_most or elapsed > seconds:
            return still, elapsed
        time.sleep(0.1)


def test_each_worker_of_serve_workers_enforces_the_limits(tmp_path: Path, fixture_book: Path) -> None:
    """`--workers 2`: every worker reads the limits (the app factory configures the protocol class uvicorn
    imports by name in each worker), and the cap counts per worker, so one address holds at most 2 x cap.

    Without the factory configuring it, workers run with the defaults (10 s, 100 connections): 30 connections
    all stay open, and a silent one lives 10 s."""
    ws = make_workspace(tmp_path / "ws", fixture_book)
    assert ws.run("sync").code == 0
    limits = {"BOOKCTL_HEADER_TIMEOUT": "5", "BOOKCTL_BODY_TIMEOUT": "5", "BOOKCTL_MAX_CONNECTIONS_PER_IP": "5"}
    with bookctl_serve(ws.subprocess_env() | limits, ws.root, workers=2) as base:
        held = [_connect(base) for _ in range(30)]
        opened = time.monotonic()
        # the workers accept at their own pace on a loaded machine: poll, inside the 5 s header deadline (which
        # starts at each accept, after the connect), so only the cap closes connections this early
        still, when = _count_open_until(held, 10, 4.5)
        assert still <= 10, (still, when)  # at most cap (5) per worker, 2 workers
        assert still >= 5, still  # at least one worker's share is served, not everyone refused
        # the header deadline in the workers is the configured 5 s, not the 10 s default
        for s in held:
            left = _closed_within(s, max(0.1, opened + 9.5 - time.monotonic()))
            assert left is not None, "a silent connection outlived the workers' 5 s header deadline"
            s.close()
        assert time.monotonic() - opened < 10
        assert httpx.get(base + "/healthz", timeout=5).status_code == 200
