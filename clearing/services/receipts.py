"""The receipts the clearing node still owes, pushed again in the background.

A trade novates once the counterparty affirmed it and the prover service
signed a receipt for its opening.  SubmitTrade and AffirmTrade push the
opening to the prover and book the receipt at once
(:meth:`clearing.services.clearing_service.ClearingNode.ensure_receipt`); when that
fails -- the prover is down or slow -- the call still reports what it
committed, and hands the trade to :class:`ReceiptRetry`: one daemon thread
that pushes again after :data:`RECEIPT_RETRY_BASE` seconds, then after
twice as long each time it fails (at most :data:`RECEIPT_RETRY_CAP`), until
the receipt is booked or the trade is no longer pending (novated, or
expired at the cycle's close).  On start the node queues every pending
trade without a receipt (a crash between the trade and its receipt) -- not
one the prover refused for lack of pre-trade headroom (issue 14 §1), which
is pushed again only on a side's RetryTrade, never from here.

The thread is no RPC worker: its waiting on the prover holds nothing the
prover needs from the node.  Nothing secret passes through here (the
opening travels sealed to the prover; logs name status codes only).
"""
from __future__ import annotations

import logging
import threading
import time

import grpc

from clearing.protocol.errors import EngineError
from clearing.services import rpc

log = logging.getLogger("zkclear.clearing")

#: Seconds before the first retry of a receipt the node owes, doubling up to RECEIPT_RETRY_CAP.
RECEIPT_RETRY_BASE = 0.5
RECEIPT_RETRY_CAP = 30.0
#: Deadline of one receipt push by the retry thread (seconds).
RECEIPT_PUSH_TIMEOUT = 30.0


class ReceiptRetry:
    """Receipts the node still owes, pushed again by one background thread.

    ``add(trade_id)`` queues a trade; the thread calls
    :meth:`ClearingNode.ensure_receipt` after :data:`RECEIPT_RETRY_BASE`
    seconds, then after twice as long each time it fails (at most
    :data:`RECEIPT_RETRY_CAP`), until the receipt is booked or the trade is
    no longer pending.  It is no RPC worker: waiting on the prover here
    holds nothing the prover needs."""

    def __init__(self, node, base: float = RECEIPT_RETRY_BASE, cap: float = RECEIPT_RETRY_CAP):
        self._node, self.base, self.cap = node, base, cap
        self._cv = threading.Condition()
        self._due: dict[str, tuple[float, float]] = {}  # trade id -> (due time, current delay)
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="receipt-retry", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:
        return f"ReceiptRetry(queued={len(self._due)})"

    def add(self, trade_id: str) -> None:
        self.add_all([trade_id])

    def add_all(self, trade_ids) -> None:
        with self._cv:
            for tid in trade_ids:
                self._due.setdefault(tid, (time.monotonic() + self.base, self.base))
            self._cv.notify()

    def queued(self) -> list[str]:
        with self._cv:
            return sorted(self._due)

    def _next(self) -> tuple[str, float] | None:
        with self._cv:
            while not self._stopped:
                now = time.monotonic()
                if self._due:
                    tid, (due, delay) = min(self._due.items(), key=lambda kv: kv[1][0])
                    if due <= now:
                        return tid, delay
                    self._cv.wait(due - now)
                else:
                    self._cv.wait()
            return None

    def _loop(self) -> None:
        while (item := self._next()) is not None:
            tid, delay = item
            try:
                self._node.ensure_receipt(tid, RECEIPT_PUSH_TIMEOUT)
                done = True
            except (grpc.RpcError, rpc.Abort, EngineError) as exc:
                done = False
                log.info("receipt retry: %s; next in %.1fs", rpc.status_of(exc)[0].name, min(2 * delay, self.cap))
            except Exception as exc:  # noqa: BLE001 - the thread must survive (e.g. a closed channel)
                done = False
                log.warning("receipt retry failed (%s)", type(exc).__name__)
            with self._cv:
                if done:
                    self._due.pop(tid, None)
                else:
                    delay = min(2 * delay, self.cap)
                    self._due[tid] = (time.monotonic() + delay, delay)

    def close(self) -> None:
        """Stop after the push in progress (closing the prover client ends it)."""
        with self._cv:
            self._stopped = True
            self._cv.notify_all()

    def join(self, timeout: float = RECEIPT_PUSH_TIMEOUT) -> None:
        self._thread.join(timeout)


__all__ = ["ReceiptRetry", "RECEIPT_RETRY_BASE", "RECEIPT_RETRY_CAP", "RECEIPT_PUSH_TIMEOUT"]
