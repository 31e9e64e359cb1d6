"""The clearing node as a gRPC server: ClearingService + AdminService.

The servicers are a thin, checked shell around :class:`clearing.node.engine.Engine`:

* **one engine thread.**  The engine and its SQLite connection live in a
  single dedicated thread (:class:`EngineThread`); every handler submits its
  engine call there and waits.  That serialises all ledger writes (the engine
  is a state machine, not a concurrent object) and respects sqlite3's thread
  affinity.  No lock is held while the node talks to the prover service, so
  the prover can stream the ledger back from this node in the middle of a
  node -> prover call.  The thread runs the calls queued for it as a group
  and writes the durable head marker once per group, before answering any
  of them (group commit, :mod:`clearing.services.engine_thread`; the
  argument is in :mod:`clearing.node.marker`).
* **trade proofs verified in batches, off the engine thread.**  A
  SubmitTrade handler first hands its proof to the
  :class:`~clearing.services.trade_batcher.TradeBatcher` (one
  ``verify_many`` per batch); the engine's trade check then takes a proof
  verified for exactly its statement from the node's cache and verifies any
  other itself (so a bad proof is refused as before, and only it).
* **who may do what.**  The caller is its mTLS certificate
  (:func:`clearing.services.rpc.authenticate`).  A member acts only for itself:
  its trades as initiator, its affirmations, deposits, funding,
  withdrawals, assessment payments, cure requests and the openings relayed
  to it.  Only the operator may use AdminService.  Public reads (accounts'
  commitments, trades' public terms, the ledger stream, status) are open to
  every authenticated party -- they are the public ledger.  On top of that
  the engine verifies every signature and proof, so the certificate check
  is defence in depth, not the only check.
* **the prover service is asked, never trusted.**  The node forwards each
  trade's opening sealed to the prover (PushOpening) and books the returned
  receipt (:meth:`ClearingNode.ensure_receipt`); on the operator's cycle control it asks the prover for the margin
  batch, cure re-proofs and default steps and submits them to the engine,
  which verifies them like any other input.  Node-driven requests use
  request ids derived from the client's (:func:`_derived_id`), and the
  ledger's request table is consulted *before* asking the prover: a retried
  request replays the recorded result instead of producing fresh (random)
  proofs that would clash with the recorded content.
* **no call chain can starve the node (the ledger feed).**  A handler that
  waits on the prover holds one of the node's RPC workers, and the prover,
  before answering anything, follows the ledger from this node
  (StreamLedger, GetAccount, GetLedgerStatus).  Served from the same pool,
  enough concurrent SubmitTrade/AffirmTrade calls would take every worker
  while the prover waits for one: nothing would move until the deadlines
  expired.  So the node serves the prover's reads from a second gRPC server
  in the same process, the *ledger feed* (:class:`FeedServicer`, its own
  port -- ``clearing_feed`` in services.json -- and its own
  :data:`FEED_WORKERS` threads), open only to the prover's certificate.
  Its handlers only read the engine, never call out, and the prover issues
  them one at a time under its lock, so the feed never runs out of workers
  and a main-pool worker waiting on the prover always gets its answer.
* **receipts the node still owes.**  The call that commits a trade or an
  affirmation reports what it committed: if the receipt cannot be obtained
  right away (the prover down, or the race where another call booked it
  first and the prover then finds the trade no longer pending) the call
  still succeeds with the trade's committed status, and
  :class:`clearing.services.receipts.ReceiptRetry` (one background thread, exponential backoff) pushes
  the opening again until the receipt is booked or the trade is no longer
  pending.  On start the node queues every pending trade without a receipt.
  Not a trade the prover refused for lack of pre-trade headroom (issue 14
  §1): it is pushed again only when a side asks (RetryTrade), and a
  RetryTrade whose push fails answers with the failure (UNAVAILABLE when
  the prover is down) instead of queueing it.
* **openings only as sealed ciphertexts.**  Relayed openings sit in the
  engine's relay table (outside the public ledger) until the trade is
  novated or expires; StreamPendingTrades hands a member only the
  ciphertexts sealed to it -- the current set, or, following
  (:mod:`clearing.services.pending_stream`), the current set and then each
  trade as it becomes pending for the member.
* **few hand-offs per trade.**  SubmitTrade and AffirmTrade make two engine
  calls when the node owes the prover's receipt (commit and read the owed
  opening; book the receipt and read the trade) and two otherwise.
* **idempotency.**  Every mutating RPC carries the client's request id.  The
  node looks it up first (:meth:`ClearingNode.once`, :mod:`clearing.services.replay`):
  a retry of a recorded request -- the same kind and key, whatever else
  changed since (a fresh proof, a cycle that moved on) -- gets the recorded
  result; an id used for another request is ALREADY_EXISTS; only an
  unrecorded id reaches the engine's checks.
* **deadlines.**  Handlers that verify proofs first check that the caller's
  deadline leaves time for it (:func:`clearing.services.rpc.require_time`).

:func:`create_server` builds a started server (port 0 = any free port) for
tests; :func:`serve` runs one until SIGTERM.
"""
from __future__ import annotations

import functools
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import grpc

from clearing.api import (
    admin_pb2_grpc,
    clearing_pb2,
    clearing_pb2_grpc,
    common_pb2,
    convert,
    prover_pb2,
    prover_pb2_grpc,
)
from clearing.node.checks_capture import VerifiedProofs
from clearing.node.engine import Engine
from clearing.protocol.df_sizing import SizingFiling
from clearing.protocol.errors import EngineError, FailedPrecondition, NotFound, PermissionDenied, shown
from clearing.protocol.fields import PROVER
from clearing.services import config as services_config
from clearing.services import pending_stream, replay, rpc
from clearing.services.admin_service import AdminServicer, admit
from clearing.services.engine_thread import EngineThread
from clearing.services.ledger_feed import FEED_WORKERS, FeedServicer, get_account, ledger_status, stream_ledger
from clearing.services.pki import load_config, load_identity
from clearing.services.receipts import ReceiptRetry
from clearing.services.trade_batcher import TradeBatcher

log = logging.getLogger("zkclear.clearing")

#: Seconds of deadline a request that verifies a proof must leave.
VERIFY_TIME = 0.2
#: Seconds of deadline a request that makes the prover prove must leave.
PROVE_TIME = 1.0
CLEARING_SERVICE = "zkclear.v1.ClearingService"
#: Trade ids a node remembers as having their receipt booked (no second push).
BOOKED_KEPT = 4096
ADMIN_SERVICE = "zkclear.v1.AdminService"
#: Environment variable: trade-proof verification processes of a served node.
VERIFY_WORKERS_ENV = "ZKCLEAR_VERIFY_WORKERS"


def open_engine(db_path: str, node_key, genesis: tuple[dict, bytes] | None) -> Engine:
    """Reopen the ledger at ``db_path``; create it from ``genesis`` if empty."""
    eng = Engine.open(str(db_path), node_key)
    if eng.status()["genesis"]:
        return eng
    eng.close()
    if genesis is None:
        raise FailedPrecondition("the database holds no ledger and no genesis was given")
    config, op_sig = genesis
    return Engine.create(str(db_path), config, op_sig, node_key)


class ClearingNode:
    """Shared state of the two servicers: engine thread, roster, prover client."""

    def __init__(self, config_dir, db_path, *, prover_target: str | None = None,
                 genesis: tuple[dict, bytes] | None = None, timeout: float = rpc.DEFAULT_TIMEOUT,
                 prove_timeout: float = 300.0, verify_workers: int = 0):
        self.config_dir = Path(config_dir)
        self.roster = load_config(self.config_dir)
        self.identity = load_identity(self.config_dir, "clearing")
        self.engine = EngineThread(lambda: open_engine(db_path, self.identity.ed25519_private, genesis))
        #: trade proofs verified in batches off the engine thread, taken by its trade check
        self.verified = VerifiedProofs()
        self.engine.engine.verified_proofs = self.verified
        self.batcher = TradeBatcher(self.verified, workers=verify_workers)
        #: trades whose opening a call is pushing to the prover now (see :meth:`receipt_and_status`)
        self._pushes: dict[str, threading.Event] = {}
        self._pushes_lock = threading.Lock()
        #: trades whose receipt a call booked lately (their opening is not pushed again)
        self._booked: OrderedDict[str, None] = OrderedDict()
        #: the following StreamPendingTrades calls, fed from the engine's hook
        self.hub = pending_stream.PendingHub()
        self.engine.engine.on_pending = self._on_pending
        self.timeout = timeout
        self.prove_timeout = prove_timeout
        self._prover = rpc.LazyClient(self.identity, prover_pb2_grpc.ProverServiceStub, prover_target,
                                      prove_timeout, "prover service", bulk=True)  # a whole MarginBatch
        #: the ledger feed's (grpc server, health servicer) once started (:meth:`start_feed`), and its port
        self.feed: tuple | None = None
        self.feed_port: int | None = None
        self.receipts = ReceiptRetry(self)
        self.receipts.add_all(self.run(_receiptless))

    def __repr__(self) -> str:
        return f"ClearingNode(config_dir={str(self.config_dir)!r})"

    @property
    def prover(self) -> rpc.Client:
        return self._prover.get()

    def set_prover_target(self, target: str) -> None:
        """Point the node at a (restarted) prover service."""
        self._prover.retarget(target)

    def close(self) -> None:
        """Stop the pending-trade streams, the receipt retries, the ledger
        feed, the prover client, the verifier and the engine."""
        self.hub.close()
        self.receipts.close()
        self._prover.close()
        self.receipts.join()
        self.batcher.close()
        if self.feed is not None:
            server, health = self.feed
            health.enter_graceful_shutdown()
            server.stop(1.0).wait()
        self.engine.close()

    def start_feed(self, host: str, port: int) -> int:
        """Start the ledger feed on ``host:port`` (0 = any free port); returns the port."""
        server, bound, health = rpc.build_server(self.identity, [
            (clearing_pb2_grpc.add_ClearingServiceServicer_to_server, FeedServicer(self), CLEARING_SERVICE),
        ], host=host, port=port, max_workers=FEED_WORKERS, bulk=True)  # margin-batch events
        self.feed, self.feed_port, self._feed_host = (server, health), bound, host
        return bound

    @property
    def feed_target(self) -> str | None:
        """"host:port" of the ledger feed (the prover's ``clearing_target``)."""
        return None if self.feed_port is None else f"{self._feed_host}:{self.feed_port}"

    # -- helpers over the engine thread ---------------------------------------------
    def run(self, fn):
        return self.engine.run(fn)

    def _on_pending(self, fresh: list[tuple[str, str]]) -> None:
        """The engine's hook (engine thread, after a commit): trades newly
        awaiting a member's affirmation go to that member's streams once
        the head marker covers them."""
        e = self.engine.engine
        for member, tid in fresh:
            if not self.hub.wants(member):
                continue
            sealed = e.ledger.relay_get(tid, member)
            if sealed is None:
                continue
            item = pending_stream.Pending(e.state.seq, dict(e.state.trades[tid]), sealed)
            self.engine.after_flush(functools.partial(self.hub.publish, member, item))

    def commit_trade_step(self, apply, trade_id: str) -> tuple[dict, bytes | None]:
        """``apply(engine)`` (a trade or an affirmation, applied once) and the
        opening still owed to the prover for ``trade_id`` (None when none
        is): one engine call."""
        return self.run(lambda e: (apply(e), _owed_opening(e, trade_id)))

    def receipt_and_status(self, trade_id: str, sealed: bytes | None, seq: int,
                           timeout: float | None, *, background: bool = True) -> clearing_pb2.TradeStatus:
        """The trade's status after a committed step, the prover's receipt
        booked first when ``sealed`` (the owed opening) is given: the push,
        then one engine call booking the receipt and reading the trade.  A
        receipt not obtained goes to :attr:`receipts` (the step stands);
        with ``background=False`` (RetryTrade: a refused trade is pushed
        only on request) the failure is the call's instead: the prover's
        status, or UNAVAILABLE for an answer the engine did not book.

        One push per trade at a time: a step whose trade's opening is being
        pushed by another call (the initiator's SubmitTrade and the
        counterparty's AffirmTrade racing) waits for that push, then reads
        the status, instead of pushing the same opening again."""
        if sealed is not None:
            with self._pushes_lock:
                running = self._pushes.get(trade_id)
                booked = trade_id in self._booked
                if running is None and not booked:
                    self._pushes[trade_id] = threading.Event()
            if running is not None or booked:
                if running is not None:
                    running.wait(timeout)
                return self.trade_status(trade_id, seq)
            try:
                return self._push_and_book(trade_id, sealed, seq, timeout, background)
            finally:
                with self._pushes_lock:
                    self._pushes.pop(trade_id).set()
        return self.trade_status(trade_id, seq)

    def _push_and_book(self, trade_id: str, sealed: bytes, seq: int, timeout: float | None,
                       background: bool = True) -> clearing_pb2.TradeStatus:
        """:meth:`receipt_and_status`'s push and booking."""
        try:
            reply = self.prover.PushOpening(prover_pb2.PushOpeningRequest(trade_id=trade_id, sealed=sealed),
                                            timeout=timeout)
            answer = _prover_answer(trade_id, reply)

            def book(e: Engine) -> dict:
                try:
                    answer(e)
                except EngineError:
                    if _owed_opening(e, trade_id, refused=True) is not None:
                        raise
                return e.trade(trade_id)

            t = self.run(book)
            if not reply.refused:  # a refused trade may be pushed again (a side's RetryTrade)
                with self._pushes_lock:
                    self._booked[trade_id] = None
                    if len(self._booked) > BOOKED_KEPT:
                        self._booked.popitem(last=False)
            return convert.trade_status_msg(t, seq)
        except (grpc.RpcError, rpc.Abort, EngineError) as exc:
            if self.receipt_owed(trade_id):
                code, _ = rpc.status_of(exc)
                if not background:  # RetryTrade: nothing pushes a refused trade unasked
                    if not isinstance(exc, EngineError):
                        raise  # the prover's failure, as its status (UNAVAILABLE when it is down)
                    raise rpc.Abort(grpc.StatusCode.UNAVAILABLE,
                                    f"the prover's answer could not be booked ({code.name}: the headroom moved "
                                    "meanwhile); the trade stays pending: ask again") from None
                log.warning("prover receipt for a trade not obtained yet (%s); retrying in the background",
                            code.name)
                self.receipts.add(trade_id)
        return self.trade_status(trade_id, seq)

    def prove_once(self, rid: str, context, ask, submit, precheck=None):
        """A node-driven prover step, applied once: the recorded result of
        request ``rid`` when the ledger holds it; else ``precheck(engine)``
        (refuse early), ``ask(timeout)`` (the prover's answer, within the
        caller's deadline) and ``submit(engine, answer)`` (verified and booked
        by the engine under ``rid``)."""
        done = self.run(lambda e: e.recorded(PROVER, rid))
        if done is None:
            if precheck is not None:
                self.run(precheck)
            rpc.require_time(context, PROVE_TIME)
            answer = ask(_remaining(context))
            done = self.run(lambda e: submit(e, answer))
        return done

    def preverify(self, initiator: str, trade: dict, proof: bytes) -> bool:
        """Verify a trade's proof in the batcher (off the engine thread) for
        the ledger's current cycle; True when the engine will find it
        verified.  Never refuses: a proof not verified here is verified (and
        refused) by the engine's own check."""
        st = self.engine.engine.state  # a racy read: a stale one only misses the cache
        if st.config is None:
            return False
        item = self.batcher.prepare(st.cycle, st.cycle_seq, initiator, trade, proof)
        return item is not None and self.batcher.verify([item])[0]

    def once(self, actor: str, request_id: str, kind: str, key: tuple, apply) -> dict:
        """The recorded result of ``actor``'s request ``request_id`` when it is
        the same request (:func:`clearing.services.replay.recorded`: ``kind``, ``key``),
        else ``apply(engine)`` -- which checks and commits the request.  One
        engine call, so a concurrent duplicate cannot slip in between."""
        return self.run(lambda e: replay.recorded(e, actor, request_id, kind, key) or apply(e))

    def trade_status(self, trade_id: str, seq: int = 0) -> clearing_pb2.TradeStatus:
        t = self.run(lambda e: e.trade(trade_id))
        return convert.trade_status_msg(t, seq)

    def retry_refused(self, member: str, trade_id: str, timeout: float | None) -> clearing_pb2.TradeStatus:
        """Issue 14 §1: push a pending, affirmed trade the prover refused for
        lack of headroom once more (RetryTrade; the caller one of its sides)
        and book the answer: its receipt, or a refusal against the new H."""
        def check(e: Engine) -> bytes | None:
            t = e.state.trades.get(trade_id)
            if t is None:
                raise NotFound(f"unknown trade {shown(trade_id)}")
            if member not in (t["buyer"], t["seller"]):
                raise PermissionDenied(f"{shown(member)} is not a side of trade {shown(trade_id)}")
            if t["status"] != "pending" or not t.get("pretrade_refused"):
                raise FailedPrecondition(f"trade {shown(trade_id)} is {t['status']}, not refused for lack of "
                                         "pre-trade headroom")
            return _owed_opening(e, trade_id, refused=True)
        sealed = self.run(check)
        return self.receipt_and_status(trade_id, sealed, 0, timeout, background=False)

    def receipt_owed(self, trade_id: str) -> bool:
        """The trade is pending without the prover's receipt."""
        t = self.run(lambda e: e.state.trades.get(trade_id))
        return t is not None and t["status"] == "pending" and not t.get("receipt")

    def ensure_receipt(self, trade_id: str, timeout: float | None) -> None:
        """Forward the opening sealed to the prover and book its receipt, once.

        Concurrent calls for one trade are fine: the prover re-signs a held
        opening and the engine replays the receipt's derived request id.  A
        failure after another call booked the receipt (the prover then finds
        the trade no longer pending) is no failure."""
        sealed = self.run(lambda e: _owed_opening(e, trade_id))
        if sealed is None:
            return
        try:
            reply = self.prover.PushOpening(prover_pb2.PushOpeningRequest(trade_id=trade_id, sealed=sealed),
                                            timeout=timeout)
            self.run(_prover_answer(trade_id, reply))
        except (grpc.RpcError, rpc.Abort, EngineError):
            if self.receipt_owed(trade_id):
                raise


def _prover_answer(trade_id: str, reply) -> Callable[[Engine], dict]:
    """The engine call booking the prover's answer to a pushed opening: its
    receipt (with the headroom debit under a pre-trade set), or its signed
    refusal of the debit (issue 14 §1), under node-derived request ids."""
    if reply.refused:
        H_buyer = convert.point(reply.h_buyer, "h_buyer", allow_identity=True)
        H_seller = convert.point(reply.h_seller, "h_seller", allow_identity=True)
        sig = convert.signature(reply.refusal_signature)
        rid = replay.derived_id("refusal", trade_id, H_buyer, H_seller)
        members = list(reply.refused)
        return lambda e: e.pretrade_refusal(trade_id, members, H_buyer, H_seller, sig, rid)
    sig = convert.signature(reply.signature)
    debit = convert.receipt_headroom(reply)
    rid = replay.derived_id("rcpt", trade_id)
    return lambda e: e.receipt(trade_id, sig, rid, headroom=debit)


def _owed_opening(e: Engine, trade_id: str, *, refused: bool = False) -> bytes | None:
    """The opening sealed to the prover of a trade still owing its receipt
    (pending, no receipt, the relay holds it), else None: one engine call.
    A trade the prover refused for lack of headroom only with ``refused``
    (RetryTrade's push): a replayed SubmitTrade or AffirmTrade, or the
    background retries, do not push it again (issue 14 §1)."""
    t = e.state.trades.get(trade_id)
    if t is None or t["status"] != "pending" or t.get("receipt"):
        return None
    if t.get("pretrade_refused") and not refused:
        return None
    if not t.get("affirmed") and "pretrade" in (e.state.scenario_set or {}):
        return None  # issue 14 §1: the pre-trade check follows the counterparty's affirmation
    try:
        return e.relayed(trade_id, PROVER)
    except NotFound:
        return None


def _receiptless(e: Engine) -> list[str]:
    """Pending trades without the prover's receipt (the node owes it); not
    those the prover refused for lack of headroom (a party asks again:
    RetryTrade)."""
    return sorted(tid for tid, t in e.state.trades.items()
                  if t["status"] == "pending" and not t.get("receipt") and not t.get("pretrade_refused"))


#: a caller's remaining time beyond this is no deadline at all (gRPC reports
#: an infinite deadline as ~2^63 s; passed downstream it expired at once)
NO_DEADLINE = 10.0**8


def _remaining(context) -> float | None:
    r = context.time_remaining()
    return None if r is None or r > NO_DEADLINE else max(r - 0.05, 0.01)


class ClearingServicer(clearing_pb2_grpc.ClearingServiceServicer):
    def __init__(self, node: ClearingNode):
        self.node = node
        self.roster = node.roster

    # -- admission ---------------------------------------------------------------
    @rpc.unary
    def Register(self, request, context, caller):
        if caller.is_operator:
            pass
        else:
            caller.require_member(request.member)
            if convert.key(request.identity_key, "identity key") != caller.ed25519_public:
                raise rpc.Denied("the identity key must be the one in the caller's certificate")
        return admit(self.node, request)

    # -- trades -----------------------------------------------------------------
    @rpc.unary
    def SubmitTrade(self, request, context, caller):
        trade = convert.trade(request.trade)
        initiator = trade["buyer"] if trade["side"] == "buy" else trade["seller"]
        caller.require_member(initiator)
        if request.proof:
            self.node.preverify(initiator, trade, request.proof)

        def apply(e):
            proof = convert.nonempty(request.proof, "proof")
            sig = convert.signature(request.signature)
            sc = convert.nonempty(request.sealed_counterparty, "sealed counterparty opening")
            sp = convert.nonempty(request.sealed_prover, "sealed prover opening")
            rpc.require_time(context, VERIFY_TIME)
            return e.submit_trade(trade, proof, sig, sc, sp, request.request_id)

        res, owed = self.node.commit_trade_step(
            lambda e: replay.recorded(e, initiator, request.request_id, "trade", replay.trade_key(trade)) or apply(e),
            trade["trade_id"])
        # the trade stands whether or not the receipt is obtained now
        return self.node.receipt_and_status(trade["trade_id"], owed, res["seq"], _remaining(context))

    @rpc.unary
    def AffirmTrade(self, request, context, caller):
        caller.require_member(request.member)
        sig = convert.signature(request.signature)
        res, owed = self.node.commit_trade_step(
            lambda e: e.affirm(request.trade_id, request.member, sig, request.request_id), request.trade_id)
        # the affirmation stands whether or not the receipt is obtained now
        return self.node.receipt_and_status(request.trade_id, owed, res["seq"], _remaining(context))

    @rpc.unary
    def GetTrade(self, request, context, caller):
        return self.node.trade_status(request.trade_id)

    @rpc.unary
    def RetryTrade(self, request, context, caller):
        caller.require_member(request.member)
        return self.node.retry_refused(request.member, request.trade_id, _remaining(context))

    @rpc.server_stream
    def StreamPendingTrades(self, request, context, caller):
        caller.require_member(request.member)
        if pending_stream.follows(context):
            yield from pending_stream.follow(self.node.hub, self.node.run, request.member, context)
            return
        for t, sealed in self.node.run(lambda e: e.pending_for(request.member)):
            yield pending_stream.pending_msg(t, sealed)

    # -- money -------------------------------------------------------------------
    @rpc.unary
    def Deposit(self, request, context, caller):
        caller.require_member(request.member)
        res = self.node.once(request.member, request.request_id, "deposit", (request.member, request.amount),
                             lambda e: e.deposit(request.member, request.amount, request.cycle,
                                                 convert.signature(request.signature), request.request_id))
        return common_pb2.Ack(seq=res["seq"])

    def _proved(self, request, context, caller, kind: str, key: tuple, submit) -> common_pb2.Ack:
        """A member's proof-carrying request, applied once: the recorded
        result of its request id (a retry may come without a proof), else the
        proof and signature decoded and ``submit(engine, proof, sig)``."""
        caller.require_member(request.member)

        def apply(e):
            proof = convert.nonempty(request.proof, "proof")
            sig = convert.signature(request.signature)
            rpc.require_time(context, VERIFY_TIME)
            return submit(e, proof, sig)

        return common_pb2.Ack(seq=self.node.once(request.member, request.request_id, kind, key, apply)["seq"])

    @rpc.unary
    def FundDefault(self, request, context, caller):
        df = convert.point(request.df, "df")
        return self._proved(request, context, caller, "df-fund", (request.member, df),
                            lambda e, proof, sig: e.fund_default(request.member, df, request.epoch, request.ctx_seq,
                                                                 proof, sig, request.request_id))

    @rpc.unary
    def FileSizing(self, request, context, caller):
        caller.require_member(request.member)
        filing = SizingFiling(request.member, request.epoch, request.ctx_seq, bytes(request.m), bytes(request.q),
                              bytes(request.bound_proof), bytes(request.sizing_proof), bytes(request.cover2_proof))

        def apply(e):
            sig = convert.signature(request.signature)
            rpc.require_time(context, VERIFY_TIME)
            return e.size_default_fund(filing, sig, request.request_id)

        res = self.node.once(request.member, request.request_id, "df-size", (request.member, request.epoch), apply)
        return common_pb2.Ack(seq=res["seq"])

    @rpc.unary
    def GetCover2Report(self, request, context, caller):
        return clearing_pb2.Cover2Report(windows=[clearing_pb2.Cover2Window(**w) for w in
                                                  self.node.run(lambda e: e.cover2_report())])

    @rpc.unary
    def Withdraw(self, request, context, caller):
        return self._proved(request, context, caller, "withdraw", (request.member, request.amount),
                            lambda e, proof, sig: e.withdraw(request.member, request.amount, request.cycle,
                                                             request.ctx_seq, proof, sig, request.request_id))

    @rpc.unary
    def PayAssessment(self, request, context, caller):
        return self._proved(request, context, caller, "assessment-pay", (request.member, request.index, request.amount),
                            lambda e, proof, sig: e.pay_assessment(request.member, request.index, request.amount,
                                                                   request.cycle, request.ctx_seq, proof, sig,
                                                                   request.request_id))

    @rpc.unary
    def SettleAssessment(self, request, context, caller):
        return self._proved(request, context, caller, "assessment-settle", (request.member, request.index),
                            lambda e, proof, sig: e.settle_assessment(request.member, request.index, request.cycle,
                                                                      request.ctx_seq, proof, sig,
                                                                      request.request_id))

    @rpc.unary
    def RequestCure(self, request, context, caller):
        caller.require_member(request.member)
        convert.request_id(request.request_id)
        rid = replay.derived_id("cure", request.member, request.request_id)

        def ask(timeout):
            answer = convert.cure(self.node.prover.ProveCure(common_pb2.MemberRequest(member=request.member),
                                                         timeout=timeout))
            if answer.member != request.member:
                raise rpc.Abort(grpc.StatusCode.FAILED_PRECONDITION,
                                "the prover service answered for another member; refused")
            return answer

        done = self.node.prove_once(rid, context, ask, lambda e, answer: e.cure(answer, rid))
        return common_pb2.Ack(seq=done["seq"])

    # -- public reads ----------------------------------------------------------------
    @rpc.unary
    def GetAccount(self, request, context, caller):
        return get_account(self.node, request)

    @rpc.unary
    def GetLedgerStatus(self, request, context, caller):
        return self.node.run(ledger_status)

    @rpc.server_stream
    def StreamLedger(self, request, context, caller):
        yield from stream_ledger(self.node, request)


def create_server(config_dir, *, port: int = 0, host: str = "127.0.0.1", db_path=None,
                  prover_target: str | None = None, genesis: tuple[dict, bytes] | None = None,
                  max_workers: int = 8, feed_port: int | None = 0,
                  verify_workers: int = 0) -> tuple[rpc.Server, int]:
    """Start the clearing node (ClearingService + AdminService, health,
    reflection) on ``host:port`` (0 = any free port); returns (server, port).

    The ledger feed for the prover listens on ``host:feed_port`` (0 = any
    free port, None = no feed: the prover then follows through the main
    port, where enough concurrent trade calls can starve it); its address
    is ``server.resource.feed_target``.  ``max_workers`` RPC threads serve
    the unary calls, :data:`~clearing.services.pending_stream.FOLLOW_MAX`
    more the following pending-trade streams.  ``verify_workers`` > 0
    verifies trade proofs in that many worker processes
    (:mod:`clearing.services.trade_batcher`; 0: in a thread of this
    process).  ``db_path`` defaults to the
    config's data path; ``genesis`` to ``genesis.json`` (used only when the
    database is empty)."""
    config_dir = Path(config_dir)
    if db_path is None:
        db_path = services_config.data_path(config_dir, "clearing_db")
    if genesis is None and (config_dir / services_config.GENESIS_FILE).exists():
        genesis = services_config.load_genesis(config_dir)
    node = ClearingNode(config_dir, db_path, prover_target=prover_target, genesis=genesis,
                        verify_workers=verify_workers)
    try:
        if feed_port is not None:
            node.start_feed(host, feed_port)
        server, bound, health = rpc.build_server(node.identity, [
            (clearing_pb2_grpc.add_ClearingServiceServicer_to_server, ClearingServicer(node), CLEARING_SERVICE),
            (admin_pb2_grpc.add_AdminServiceServicer_to_server, AdminServicer(node), ADMIN_SERVICE),
        ], host=host, port=port, max_workers=max_workers + pending_stream.FOLLOW_MAX,
            bulk=True)  # StreamLedger's margin-batch events (the auditor)
    except BaseException:
        node.close()
        raise
    return rpc.Server(server, bound, health, node), bound


def verify_workers() -> int:
    """Trade-proof verification processes of a served node:
    ``$ZKCLEAR_VERIFY_WORKERS`` (0: in a thread) or the machine's cores."""
    env = os.environ.get(VERIFY_WORKERS_ENV)
    if env is None or env == "":
        return os.cpu_count() or 1
    try:
        n = int(env)
    except ValueError:
        raise ValueError(f"{VERIFY_WORKERS_ENV} must be a non-negative integer") from None
    if n < 0:
        raise ValueError(f"{VERIFY_WORKERS_ENV} must be a non-negative integer")
    return n


def serve(config_dir, *, port: int | None = None, host: str = "127.0.0.1",
          grace: float = rpc.SHUTDOWN_GRACE) -> None:
    """Run the clearing node until SIGTERM/SIGINT (the CLI's ``serve clearing``)."""
    config_dir = Path(config_dir)
    if port is None:
        port = int(services_config.endpoint(config_dir, "clearing").rsplit(":", 1)[1])
    prover_target = services_config.endpoint(config_dir, "prover")
    feed = services_config.feed_endpoint(config_dir)
    if feed is None:
        log.warning("services.json names no %r endpoint: the prover follows the ledger through the main port, "
                    "where enough concurrent trade calls can starve it", services_config.FEED)
    srv, bound = create_server(config_dir, port=port, host=host, prover_target=prover_target,
                               feed_port=None if feed is None else int(feed.rsplit(":", 1)[1]),
                               verify_workers=verify_workers())
    log.info("clearing node listening on %s:%d (mutual TLS)", host, bound)
    if feed is not None:
        log.info("ledger feed for the prover on %s:%d", host, srv.resource.feed_port)
    print(f"clearing node listening on {host}:{bound}", flush=True)
    rpc.serve_forever(srv.grpc_server, srv.health, grace=grace, on_stop=srv.resource.close,
                      on_signal=srv.resource.hub.close)


__all__ = ["ClearingNode", "ClearingServicer", "AdminServicer", "FeedServicer", "ReceiptRetry", "EngineThread",
           "create_server",
           "serve", "open_engine", "ledger_status"]
