"""Slow-client limits for `bookctl serve`: a deadline for a request's headers, one for its body, and a cap
on open connections per client IP (per worker process).

uvicorn closes idle keep-alive connections, but not a client that sends its request a byte at a time:
500 such connections were held for 30 s. uvicorn lets the HTTP protocol class be chosen (`http=`), so this
is its h11 protocol with the three limits added; it reads the request state from the h11 connection
uvicorn keeps, and otherwise leaves the protocol alone. A refused or timed-out connection is closed
without a response: the client is either misbehaving or far over its share.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float = 10.0  # from a request's first byte (or the connection's start) to its last header
    body_timeout: float = 30.0  # from the end of the headers to the end of the body
    max_per_ip: int = 100  # open connections from one client address, per worker


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with header/body read deadlines and a per-IP connection cap."""

    limits = ConnectionLimits()
    _open: Counter = Counter()  # client ip -> open connections, in this process

    @classmethod
    def configure(cls, limits: ConnectionLimits) -> None:
        cls.limits = limits

    @classmethod
    def from_settings(cls, settings: Any) -> type["GuardedH11Protocol"]:
        cls.configure(ConnectionLimits(settings.header_timeout, settings.body_timeout, settings.max_connections_per_ip))
        return cls

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        peer = transport.get_extra_info("peername")
        self._ip = peer[0] if isinstance(peer, (tuple, list)) and peer else "?"
        self._phase: Any = None
        self._deadline: asyncio.TimerHandle | None = None
        self._open[self._ip] += 1
        if self._open[self._ip] > self.limits.max_per_ip:
            transport.close()
            return
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        self._open[self._ip] -= 1
        if self._open[self._ip] <= 0:
            del self._open[self._ip]
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def _watch(self) -> None:
        """Arm the deadline of the phase the client is in; a new phase gets a fresh one, bytes do not."""
        state = self.conn.their_state
        phase = "head" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if phase == self._phase:
            return
        self._cancel()
        self._phase = phase
        if phase is not None:
            timeout = self.limits.header_timeout if phase == "head" else self.limits.body_timeout
            self._deadline = self.loop.call_later(timeout, self._expire, phase)

    def _expire(self, phase: str) -> None:
        self._deadline = None
        if self._phase == phase and not self.transport.is_closing():
            self.transport.close()

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._phase = None  # the next request's head starts with its first byte (see data_received)
        self._cancel()
