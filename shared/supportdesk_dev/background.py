"""Work the local stack does now and then on a thread of its own (saving state, reading the
table's stream), until it is stopped."""

from __future__ import annotations

import logging
import threading
from typing import Callable

log = logging.getLogger("supportdesk_dev")


class Every:
    """Run `work` every `interval` seconds on a daemon thread; `stop()` waits for the round
    in progress. A round that fails is logged, and the next one tries again."""

    def __init__(self, interval: float, work: Callable[[], object], name: str) -> None:
        self._stop = threading.Event()

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    work()
                except Exception:
                    log.exception("%s: a round failed; the next one tries again", name)

        self._thread = threading.Thread(target=run, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
