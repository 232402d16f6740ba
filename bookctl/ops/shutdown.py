"""Graceful shutdown on SIGTERM: stop taking new work, finish what is in flight, then exit.

uvicorn already stops listening on SIGTERM and waits for in-flight requests (and so for the generations they
await) before the app's shutdown hooks run. What it does not do is tell the load balancer first. `Drain`
wraps uvicorn's handler: the first SIGTERM marks the process draining at once (`/readyz` and every new
request then answer 503), and hands the signal to uvicorn after `delay` seconds (BOOKCTL_SHUTDOWN_DELAY),
long enough for the balancer's next readiness probe to take the replica out. A second signal is passed on
immediately.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

log = logging.getLogger("bookctl.shutdown")
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Drain:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self._draining = threading.Event()

    def is_draining(self) -> bool:
        return self._draining.is_set()

    def start(self) -> None:
        self._draining.set()

    async def install(self) -> None:
        """App start-up hook. uvicorn installs its signal handlers before start-up, so they are wrapped here;
        anywhere else (tests calling the app in-process), there is nothing to wrap."""
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for sig in SIGNALS:
            previous = signal.getsignal(sig)
            if not callable(previous):
                continue

            def handler(signum, frame, previous=previous) -> None:
                if self.is_draining() or self.delay <= 0:
                    self.start()
                    previous(signum, frame)
                    return
                self.start()
                log.info("draining for %.1fs before shutdown (signal %s)", self.delay, signum)
                loop.call_soon_threadsafe(loop.call_later, self.delay, previous, signum, frame)

            signal.signal(sig, handler)
