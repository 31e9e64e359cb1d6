"""Pending trades pushed to their counterparties: StreamPendingTrades, following.

``StreamPendingTrades`` called with the request metadata
``zkclear-follow: 1`` (:data:`FOLLOW_METADATA`) does not end after the
current set: it then pushes every trade that begins awaiting the member's
affirmation, as it is captured, until the client cancels, its deadline
passes or the node stops.  Without the metadata the call is what it always
was: the current set, then the end of the stream.

The rules:

* **what a stream sends.**  The stream first subscribes (:meth:`PendingHub.subscribe`),
  then reads the current set once from the engine together with the ledger
  seq ``S`` it was read at, sends it, and from then on sends each pushed
  trade whose trade event has a seq above ``S`` (a trade committed before
  the read is in the set, or no longer awaiting; one after it is pushed:
  nothing falls between the two, nothing is sent twice).  Each item is the
  same ``PendingTrade`` as in the finite form: the trade's public record and
  the opening sealed to this member -- never anything sealed to another.
* **where pushes come from.**  The engine calls :attr:`Engine.on_pending`
  (in the engine thread, as it keeps an event -- inside a group of calls,
  before the group's one commit) with the (counterparty, trade id) pairs
  that began awaiting an affirmation; for a member with a stream, the node
  reads the trade and its relayed opening there and hands them to the
  member's subscriptions through :meth:`EngineThread.after_flush` -- i.e.
  only once the group has committed and the durable head marker covers it,
  like any answer (:mod:`clearing.node.marker`); a group whose commit fails
  publishes nothing (its events are rolled back).
* **bounded, never blocking the engine.**  Each subscription queues at most
  :data:`QUEUE_ITEMS` trades.  A subscription whose queue is full drops its
  queue and is marked lagging; its stream then reads the current set again
  (a resync) and goes on from there.  After a resync a trade may be offered
  a second time; clients key what they handle by trade id.
* **limits.**  At most :data:`FOLLOW_PER_MEMBER` streams per member and
  :data:`FOLLOW_MAX` in all; one more is refused at once with
  RESOURCE_EXHAUSTED.  An open stream holds one of the server's RPC
  threads, so the node's pool has :data:`FOLLOW_MAX` threads more than its
  unary calls use (:func:`clearing.services.clearing_service.create_server`).
* **cancellation.**  A client that cancels or disconnects, or whose deadline
  passes, ends its stream: gRPC's termination callback closes the
  subscription, which wakes the stream's thread; the subscription is then
  dropped and the thread returns to the pool.  When the node stops
  (:meth:`PendingHub.close`) every stream ends with UNAVAILABLE ("reopen the
  stream"), and new ones are refused the same way.
"""
from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc

from clearing.api import clearing_pb2, convert
from clearing.services import rpc

#: Request metadata key (and value) asking StreamPendingTrades to follow.
FOLLOW_METADATA = ("zkclear-follow", "1")
#: Open following streams per member, and in all.
FOLLOW_PER_MEMBER = 4
FOLLOW_MAX = 64
#: Trades a subscription queues before it is marked lagging (then resynced).
QUEUE_ITEMS = 1024
#: Seconds a waiting stream sleeps between checks that its call is still active.
WAKE = 1.0


@dataclass(frozen=True)
class Pending:
    """One pushed trade: its trade event's seq, its public record, and the
    opening sealed to the subscribing member."""

    seq: int
    trade: dict
    sealed: bytes

    def __repr__(self) -> str:
        return f"Pending(seq={self.seq}, trade_id={self.trade.get('trade_id')!r})"


class Subscription:
    """One stream's bounded queue of pushed trades."""

    def __init__(self, member: str, capacity: int = QUEUE_ITEMS):
        self.member = member
        self.capacity = capacity
        self._items: deque[Pending] = deque()
        self._cond = threading.Condition()
        self.lagging = False
        self.closed = False
        #: why it was closed by the node ("" while open or closed by the client's side)
        self.reason = ""

    def __repr__(self) -> str:
        return f"Subscription({self.member!r}, queued={len(self._items)}, lagging={self.lagging})"

    def offer(self, item: Pending) -> None:
        """Queue ``item`` (never blocks); a full queue marks the subscription lagging."""
        with self._cond:
            if self.closed or self.lagging:
                return
            if len(self._items) >= self.capacity:
                self._items.clear()
                self.lagging = True
            else:
                self._items.append(item)
            self._cond.notify()

    def close(self, reason: str = "") -> None:
        with self._cond:
            if not self.closed:
                self.closed, self.reason = True, reason
            self._cond.notify_all()

    def take(self, timeout: float) -> tuple[str, list[Pending]]:
        """Wait up to ``timeout`` s; ("closed", []), ("resync", []) after a
        lag, else ("items", everything queued -- possibly nothing)."""
        with self._cond:
            if not (self.closed or self.lagging or self._items):
                self._cond.wait(timeout)
            if self.closed:
                return "closed", []
            if self.lagging:
                self.lagging = False
                self._items.clear()
                return "resync", []
            items = list(self._items)
            self._items.clear()
            return "items", items


class PendingHub:
    """The node's following streams, by member (see the module docstring)."""

    def __init__(self, *, per_member: int = FOLLOW_PER_MEMBER, total: int = FOLLOW_MAX,
                 capacity: int = QUEUE_ITEMS):
        self.per_member, self.total, self.capacity = per_member, total, capacity
        self._subs: dict[str, list[Subscription]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"PendingHub({self.count()} streams)"

    def subscribe(self, member: str) -> Subscription:
        with self._lock:
            if self._closed:
                raise rpc.Abort(grpc.StatusCode.UNAVAILABLE, "the node is shutting down; reopen the stream")
            mine = self._subs.get(member, [])
            if len(mine) >= self.per_member:
                raise rpc.Abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                f"at most {self.per_member} pending-trade streams per member")
            if sum(len(v) for v in self._subs.values()) >= self.total:
                raise rpc.Abort(grpc.StatusCode.RESOURCE_EXHAUSTED,
                                f"the node serves at most {self.total} pending-trade streams")
            sub = Subscription(member, self.capacity)
            self._subs[member] = mine + [sub]
            return sub

    def unsubscribe(self, sub: Subscription) -> None:
        sub.close()
        with self._lock:
            left = [s for s in self._subs.get(sub.member, []) if s is not sub]
            if left:
                self._subs[sub.member] = left
            else:
                self._subs.pop(sub.member, None)

    def wants(self, member: str) -> bool:
        """Some stream follows ``member`` (a racy read: a stream opened
        after it reads the current set later, which holds the trade)."""
        return member in self._subs

    def publish(self, member: str, item: Pending) -> None:
        for sub in self._subs.get(member, ()):
            sub.offer(item)

    def count(self, member: str | None = None) -> int:
        with self._lock:
            if member is not None:
                return len(self._subs.get(member, ()))
            return sum(len(v) for v in self._subs.values())

    def close(self) -> None:
        """End every stream (UNAVAILABLE) and refuse new ones."""
        with self._lock:
            self._closed = True
            subs = [s for v in self._subs.values() for s in v]
        for s in subs:
            s.close("the node is shutting down; reopen the stream")


def follows(context: grpc.ServicerContext) -> bool:
    """The call asked to follow (:data:`FOLLOW_METADATA`)."""
    try:
        md = context.invocation_metadata()
    except Exception:  # noqa: BLE001 - no metadata: the finite form
        return False
    return any(tuple(m) == FOLLOW_METADATA for m in md or ())


def pending_msg(trade: dict, sealed: bytes) -> clearing_pb2.PendingTrade:
    return clearing_pb2.PendingTrade(trade=convert.trade_msg(trade), sealed_opening=sealed)


def follow(hub: PendingHub, run: Callable, member: str, context: grpc.ServicerContext
           ) -> Iterator[clearing_pb2.PendingTrade]:
    """The following form of StreamPendingTrades for ``member`` (module
    docstring); ``run(fn)`` runs ``fn(engine)`` in the engine thread."""
    sub = hub.subscribe(member)
    try:
        context.add_callback(sub.close)
        since, status = 0, "resync"
        while context.is_active():
            if status == "resync":
                since, current = run(lambda e: (e.state.seq, e.pending_for(member)))
                for t, sealed in current:
                    yield pending_msg(t, sealed)
            status, items = sub.take(WAKE)
            if status == "closed":
                if sub.reason:
                    raise rpc.Abort(grpc.StatusCode.UNAVAILABLE, sub.reason)
                return
            for it in items:
                if it.seq > since:
                    yield pending_msg(it.trade, it.sealed)
    finally:
        hub.unsubscribe(sub)


__all__ = ["FOLLOW_METADATA", "FOLLOW_PER_MEMBER", "FOLLOW_MAX", "QUEUE_ITEMS", "Pending", "PendingHub",
           "Subscription", "follow", "follows", "pending_msg"]
