"""The ledger follower: the one place that reads ClearingService.StreamLedger
and re-checks what it receives.

Every reader of the node's public ledger -- the prover service replaying it
into its openings (:mod:`clearing.services.prover_service`), the auditor
re-verifying it (:mod:`clearing.services.auditor`), the demo counting proofs
and checking invariants (:mod:`clearing.demo.ledger_view`) -- continues from
a position it trusts, a sequence number and the chain head after it
(0 and :data:`~clearing.protocol.encoding.GENESIS_HASH` from the start), and
:func:`follow` yields each new event as a :class:`Followed` (seq, body,
chain hash) only after checking, on the exact bytes received, that

1. its sequence number is the next one (no gap, no repeat, no reordering);
2. its body is JSON, a JSON object, and canonical JSON
   (``canonical(json.loads(body)) == body``: one encoding per event, so the
   hash below is over what was sent);
3. the chain hash recomputed from the previous head
   (:func:`~clearing.protocol.encoding.chain_hash`) equals the event's.

A node that edited, dropped, reordered or re-encoded an event -- or whose
history differs from the one the reader followed up to its head (a fork) --
fails one of these.  Any failure raises :class:`FollowError`, naming the
event's seq and what was wrong (``problem``: one of :data:`PROBLEMS`); the
iteration ends there and nothing after it is yielded.  Each reader maps it
as its duty says: the prover raises its alarm, the auditor fails the audit,
the demo stops with an error.  What the events mean is the reader's concern:
the follower only vouches that they are the node's chain, in order.

The follower holds no state between calls: the reader keeps the (seq, head)
of the last event it *used* and passes them to the next call.  Errors
carry sequence numbers and problem names only -- never event contents.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from clearing.api import clearing_pb2
from clearing.protocol.encoding import GENESIS_HASH, canonical, chain_hash
from clearing.protocol.errors import InvalidArgument, LedgerCorrupted

#: What :class:`FollowError.problem` may say.
PROBLEMS = ("order", "json", "object", "canonical", "chain")


class FollowError(LedgerCorrupted):
    """An event the node streamed failed a check: ``seq`` is the event's
    sequence number as sent, ``problem`` one of :data:`PROBLEMS`
    ("order": not the next seq; "json": the body is not JSON; "object": not
    a JSON object; "canonical": not canonical JSON; "chain": the recomputed
    chain hash differs -- an edited event or a fork), and the message says
    the same in words."""

    def __init__(self, seq: int, problem: str, message: str):
        super().__init__(message)
        self.seq = seq
        self.problem = problem


class Followed(NamedTuple):
    """One checked event: its seq, its body and the chain head after it."""

    seq: int
    body: dict[str, Any]
    chain_hash: bytes


def check_event(prev_seq: int, prev_head: bytes, event: Any) -> Followed:
    """Check one streamed LedgerEvent against the position before it (see
    the module docstring); returns it parsed, or raises FollowError."""
    seq = event.seq
    if seq != prev_seq + 1:
        raise FollowError(seq, "order", f"the ledger stream sent event {seq} after event {prev_seq}")
    raw = event.body
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise FollowError(seq, "json", f"event {seq} is not JSON") from None
    if not isinstance(body, dict):
        raise FollowError(seq, "object", f"event {seq} is not a JSON object")
    try:
        same = canonical(body) == raw
    except InvalidArgument:  # a float, or nested too deeply: never canonical
        same = False
    if not same:
        raise FollowError(seq, "canonical", f"event {seq} is not canonical JSON")
    h = chain_hash(prev_head, seq, body)
    if h != event.chain_hash:
        raise FollowError(seq, "chain", f"hash chain mismatch at event {seq}")
    return Followed(seq, body, h)


def follow(source: Any, since: int = 0, head: bytes = GENESIS_HASH, *,
           timeout: float | None = None) -> Iterator[Followed]:
    """The node's events after ``since``, checked, continuing from the chain
    head ``head`` after event ``since``.

    ``source`` is a ClearingService stub (or :class:`clearing.services.rpc.Client`)
    or any callable taking a StreamLedgerRequest and returning the stream of
    LedgerEvents; ``timeout``, when given, is passed to that call.  The
    stream is requested on the first ``next()``; its gRPC errors pass through."""
    stream: Callable[..., Iterable[Any]] = getattr(source, "StreamLedger", source)
    request = clearing_pb2.StreamLedgerRequest(since=since)
    events = stream(request) if timeout is None else stream(request, timeout=timeout)
    seq = since
    for event in events:
        checked = check_event(seq, head, event)
        seq, head = checked.seq, checked.chain_hash
        yield checked


__all__ = ["PROBLEMS", "FollowError", "Followed", "check_event", "follow"]
