"""The node's public ledger reads, and the ledger feed that serves them to the prover.

:func:`get_account`, :func:`ledger_status` and :func:`stream_ledger` answer
GetAccount, GetLedgerStatus and StreamLedger for
:class:`clearing.services.clearing_service.ClearingServicer` and for the
ledger feed, :class:`FeedServicer`: the same three reads on a gRPC server of
their own (own port, :data:`FEED_WORKERS` threads), open only to the
prover's certificate, so that a call waiting on the prover can never starve
the prover of the node (the argument is in
:mod:`clearing.services.clearing_service`).  StreamLedger reads the recent
ledger from the engine thread's in-memory tail
(:class:`clearing.services.engine_thread.EventTail`), without waiting for
the engine thread; events enter the tail only after their group's commit
and head-marker write, so the feed never sends an event that could still
be rolled back (an engine read is answered after that commit too).
"""
from __future__ import annotations

from typing import Any

from clearing.api import clearing_pb2, clearing_pb2_grpc, common_pb2, convert
from clearing.node.engine import Engine
from clearing.protocol.encoding import canonical
from clearing.services import rpc

#: RPC threads of the ledger feed (the prover calls it one request at a time).
FEED_WORKERS = 4
#: The only party the ledger feed serves.
FEED_CALLER = "node/prover"


class FeedServicer(clearing_pb2_grpc.ClearingServiceServicer):
    """The ledger feed: the public reads the prover follows the ledger with
    (GetAccount, GetLedgerStatus, StreamLedger), for the prover only, on a
    server of their own (see the module docstring).  Every other method of
    the service is UNIMPLEMENTED here."""

    def __init__(self, node: Any):
        self.node = node
        self.roster = node.roster

    @rpc.unary
    def GetAccount(self, request, context, caller):
        caller.require(FEED_CALLER)
        return get_account(self.node, request)

    @rpc.unary
    def GetLedgerStatus(self, request, context, caller):
        caller.require(FEED_CALLER)
        return self.node.run(ledger_status)

    @rpc.server_stream
    def StreamLedger(self, request, context, caller):
        caller.require(FEED_CALLER)
        yield from stream_ledger(self.node, request)


def get_account(node: Any, request) -> common_pb2.Account:
    a = node.run(lambda e: e.account(request.member))
    return convert.account_msg(request.member, a)


def stream_ledger(node: Any, request):
    """The events after ``request.since`` with their chain hashes, read in
    batches: from the engine thread's in-memory tail of the ledger when it
    holds them (:class:`~clearing.services.engine_thread.EventTail`: no wait
    for the engine), else each batch one engine call."""
    since = request.since
    batch = 256
    while True:
        events = node.engine.tail.after(since, batch)
        if events is None:
            events = [(seq, canonical(body), h) for seq, body, h in
                      node.run(lambda e, since=since: e.events_with_hashes(since, batch))]
        for seq, body, h in events:
            yield clearing_pb2.LedgerEvent(seq=seq, body=body, chain_hash=h)
        if len(events) < batch:
            return
        since = events[-1][0]


def ledger_status(e: Engine) -> clearing_pb2.LedgerStatus:
    s = e.status()
    return clearing_pb2.LedgerStatus(
        seq=s["seq"], head=s["head"], cycle=s["cycle"], phase=s["phase"], members=s["members"],
        instruments=[clearing_pb2.Instrument(id=i["id"], multiplier=i["multiplier"], tick=i["tick"],
                                             price0=i["price0"]) for i in s["instruments"]],
        prices=s["prices"], state_hash=bytes.fromhex(e.state_digest()),
        digests=[bytes.fromhex(d) if isinstance(d, str) else bytes(d) for d in s["digests"]],
        cycle_seq=s["cycle_seq"], epoch=s["epoch"], **_set_fields(e))


def _set_fields(e: Engine) -> dict:
    """The set in force and the intraday run of its basis (issue 14 §1), for
    an operator client that restarted."""
    ss = e.state.scenario_set
    b = e.state.books.get("intraday") if e.state.books else None
    return {"scenario_set_id": bytes.fromhex(ss["id"]) if ss else b"", "intraday_run": b["run"] if b else 0}


__all__ = ["FEED_CALLER", "FEED_WORKERS", "FeedServicer", "get_account", "ledger_status", "stream_ledger"]
