"""The clearing services' cache of authenticated callers: a peer's TLS
certificate is checked against the roster once (``rpc.check_identity``) and
later calls on any connection presenting the same certificate are answered
from here (issue 16: peer identity checked once per certificate).  A failed
check is never stored; an entry is bound to the roster object it was checked
against, so a new roster checks again."""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clearing.services.pki import Roster
    from clearing.services.rpc import Caller


class IdentityCache:
    """Callers already authenticated: (roster, peer certificate PEM) ->
    :class:`Caller`, at most ``capacity`` entries (least recently used
    dropped first).  Only successful checks are stored; thread-safe."""

    def __init__(self, capacity: int = 1024):
        self.capacity = capacity
        self._entries: OrderedDict[bytes, tuple[Roster, Caller]] = OrderedDict()
        self._lock = threading.Lock()
        #: full checks run (misses) and calls answered from the cache (hits)
        self.checks = 0
        self.hits = 0

    def get(self, roster: Roster, pem: bytes) -> Caller | None:
        with self._lock:
            entry = self._entries.get(pem)
            if entry is None or entry[0] is not roster:
                return None
            self._entries.move_to_end(pem)
            self.hits += 1
            return entry[1]

    def put(self, roster: Roster, pem: bytes, caller: Caller) -> None:
        with self._lock:
            self.checks += 1
            self._entries[pem] = (roster, caller)
            self._entries.move_to_end(pem)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"IdentityCache({len(self)} of {self.capacity})"


__all__ = ["IdentityCache"]
