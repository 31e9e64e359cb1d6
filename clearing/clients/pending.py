"""A member's feed of its pending trades: one following stream, no re-reads.

:class:`PendingFeed` opens StreamPendingTrades with the follow metadata
(:data:`clearing.services.pending_stream.FOLLOW_METADATA`): the node sends
the trades awaiting this member's affirmation now, then each new one as it
is captured (:mod:`clearing.services.pending_stream`).  The feed decrypts
and checks each trade once, with the participant's check (the opening
opens T; else the trade is skipped and its id kept in :attr:`PendingFeed.rejected`),
and yields it once: a trade id already yielded is never yielded again,
also when the node offers it a second time (after a resync, or after the
feed reopened the stream).

Reopening: a stream that fails with UNAVAILABLE (the node restarting or
shutting down: "reopen the stream") is reopened after a backoff
(:func:`clearing.clients.retry.backoff`), at most
:data:`clearing.clients.retry.ATTEMPTS` times in a row; the node then sends
the current set again, and trades already yielded are skipped.  Any other
failure ends the iteration with that error.  :meth:`PendingFeed.cancel`
(from any thread) cancels the call; the iteration then ends normally.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from clearing.api import clearing_pb2, common_pb2
from clearing.clients.retry import ATTEMPTS, backoff
from clearing.services.pending_stream import FOLLOW_METADATA


class PendingFeed:
    """Iterate over the member's pending trades as they are captured.

    ``PendingFeed(stub, member, check)``: ``stub`` a ClearingService stub
    (not a :class:`~clearing.clients.retry.Retrying` one: the stream does
    not end), ``check(PendingTrade)`` returns the checked trade or raises
    ``rejected`` (the exception type the check raises for a trade that does
    not check out).  ``timeout``: deadline of each stream (None: none)."""

    def __init__(self, stub, member: str, check: Callable[[clearing_pb2.PendingTrade], Any], *,
                 rejected: type[Exception] = ValueError, timeout: float | None = None, attempts: int = ATTEMPTS):
        self._stub = stub
        self.member = member
        self._check = check
        self._rejected_type = rejected
        self.timeout = timeout
        self.attempts = attempts
        self._call: Any = None
        self._lock = threading.Lock()
        self._cancelled = False
        #: trade ids yielded so far (each once)
        self.offered: set[str] = set()
        #: trade ids whose relayed opening did not check out (skipped)
        self.rejected: list[str] = []
        #: streams opened (1 unless the feed reopened one)
        self.opened = 0

    def __repr__(self) -> str:
        return f"PendingFeed({self.member!r}, yielded={len(self.offered)}, opened={self.opened})"

    def cancel(self) -> None:
        """End the iteration (from any thread): the call is cancelled."""
        with self._lock:
            self._cancelled = True
            call = self._call
        if call is not None:
            call.cancel()

    def __enter__(self) -> PendingFeed:
        return self

    def __exit__(self, *exc) -> None:
        self.cancel()

    def _open(self):
        with self._lock:
            if self._cancelled:
                return None
            self._call = self._stub.StreamPendingTrades(common_pb2.MemberRequest(member=self.member),
                                                        metadata=(FOLLOW_METADATA,), timeout=self.timeout)
            self.opened += 1
            return self._call

    def __iter__(self) -> Iterator[Any]:
        failures = 0
        while True:
            call = self._open()
            if call is None:
                return
            try:
                for p in call:
                    failures = 0
                    tid = p.trade.trade_id
                    if tid in self.offered:
                        continue
                    self.offered.add(tid)
                    try:
                        checked = self._check(p)
                    except self._rejected_type:
                        self.rejected.append(tid)
                        continue
                    yield checked
                return
            except grpc.RpcError as exc:
                if self._cancelled:
                    return
                if exc.code() != grpc.StatusCode.UNAVAILABLE or failures >= self.attempts - 1:
                    raise
                time.sleep(backoff(failures))
                failures += 1


__all__ = ["PendingFeed"]
