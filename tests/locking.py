"""Holding row locks from another connection, for the lock-policy tests."""

import threading
from collections.abc import Callable

from django.db import connection, transaction


class HeldLock:
    """Run `lock_fn` in a transaction on another connection (a thread) and keep the
    transaction open until `release()`; the constructor returns once the lock is held."""

    def __init__(self, lock_fn: Callable[[], object]) -> None:
        self._release = threading.Event()
        locked = threading.Event()

        def run() -> None:
            try:
                with transaction.atomic():
                    lock_fn()
                    locked.set()
                    self._release.wait(timeout=30)
            finally:
                connection.close()

        self._thread = threading.Thread(target=run)
        self._thread.start()
        assert locked.wait(timeout=10), "the other connection never took its lock"

    def release(self) -> None:
        """End the other transaction (idempotent)."""
        self._release.set()
        self._thread.join()
