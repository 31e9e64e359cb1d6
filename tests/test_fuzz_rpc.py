"""Fuzzing every RPC at the protobuf level (issue 11, "Harnesses that keep it
so"), over real gRPC + mutual TLS, driven by hypothesis.

Targets: every method of ClearingService and AdminService (the clearing
node), ProverService, AuditorService and the node's ledger feed (the
ClearingService reads it serves the prover), plus health and reflection --
called as the party that may call it (a member for itself, the operator,
the clearing node for the node-only prover steps, the prover on the feed)
and, in a third of the inputs, as any party of the roster.  Two kinds:

* **raw bytes** (:func:`test_raw_bytes`, per service): arbitrary bytes, and
  valid encoded requests truncated, bit-flipped, spliced, with overlong
  varints, lengths past the end, field number 0, group tags, invalid UTF-8,
  varints past 64 bits -- through a generic channel, identity serializers;
* **structured requests** (:func:`test_structured_requests`, per RPC): a
  *valid* request (signed by the member or the operator, with real proofs
  and sealed openings) as it is, with one or some fields replaced, or made
  up -- names and ids mixed with empty, oversized, unicode and
  NUL-containing strings; integers at 0, 1, 2^32, 2^63 - 1, 2^63,
  2^64 - 1 and at random; points valid, the identity (0x40||0...), off the
  curve, x >= p, with unknown flags, truncated or overlong; proofs with bits
  flipped, cut, or a 32-byte chunk replaced by a scalar >= r or a bad
  point; signatures random, of another message, of the wrong length -- and
  sometimes unknown fields appended.

Every call must answer OK or a status naming the caller's mistake
(:data:`ACCEPTED`): never INTERNAL, UNKNOWN, UNAVAILABLE (a dependency
failed: every service is up) or DEADLINE_EXCEEDED (10 s for a cheap call,
60 s for one that proves), with a message of at most
:data:`clearing.protocol.errors.MAX_MESSAGE_CHARS` characters and no control
character.  After each test (:meth:`Env.verify`): health SERVING on the
node, the feed, the prover and the auditor; no ERROR record and no
traceback in the log (``zkclear`` at DEBUG, grpc's errors); the prover
without alarm, at the node's seq and agreeing with the node on every
account; every event the ledger gained explained by a call that returned
OK (its returned seq, or the receipt of a trade it submitted or affirmed).

One cluster per module (members onboarded, a trade novated, a cycle
closed); each test first brings the cycle to the phase its RPC acts in
(:data:`PHASES`).  Valid requests that get through move it on (deposits,
withdrawals, the margin run, closing the epoch or the cycle ...); request
and trade ids carry the cycle, and those with proofs are made anew after
any success.  Inputs are derandomized.  The default suite sends
:data:`DEFAULT_INPUTS` (1,550) inputs, about 15 s on two cores; the slow
set (``-m slow``) :data:`SLOW_INPUTS` (24,560).
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from logging.handlers import BufferingHandler

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import FieldDescriptor as F
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearing.api import admin_pb2, auditor_pb2, clearing_pb2, common_pb2, convert, prover_pb2
from clearing.protocol import errors as ce
from clearing.protocol.intraday import intraday_message
from clearing.protocol.messages import (
    admission_message,
    affirmation_message,
    assessment_payment_message,
    assessment_settlement_message,
    ccp_parameters_message,
    closeout_message,
    default_message,
    deposit_message,
    df_size_message,
    funding_message,
    insolvency_message,
    liquidation_message,
    scenario_set_id,
    settlement_message,
    withdrawal_message,
)
from clearing.services import auditor as auditor_service
from clearing.services import rpc
from clearing.services.pki import load_identity
from support.services import MATRIX, P0, Cluster
from zkp.errors import DecodeError
from zkp.field import P, R
from zkp.group import Point, decode_affine

S = grpc.StatusCode
U64_MAX = (1 << 64) - 1
IDENTITIES = ("A", "B", "C", "operator", "clearing", "prover", "auditor")
#: Statuses a fuzzed request may get: success, or the caller's mistake.
ACCEPTED = frozenset({S.OK, S.INVALID_ARGUMENT, S.FAILED_PRECONDITION, S.NOT_FOUND, S.ALREADY_EXISTS,
                      S.PERMISSION_DENIED, S.OUT_OF_RANGE})
CHEAP_DEADLINE, PROVING_DEADLINE = 10.0, 60.0
#: RPCs that may make or verify proofs (the longer deadline), besides the prover's Prove*.
PROVING = frozenset({"SubmitTrade", "AffirmTrade", "FundDefault", "Withdraw", "PayAssessment", "SettleAssessment",
                     "RequestCure", "RunMargin", "OpenEpoch", "OpenDefaultEvent", "CloseOut", "PushOpening", "Audit",
                     "IntradayRun"})
#: Node RPCs that append to the ledger when they succeed.
MUTATING = frozenset({"Register", "SubmitTrade", "AffirmTrade", "Deposit", "FundDefault", "FileSizing", "Withdraw",
                      "PayAssessment", "SettleAssessment", "RequestCure", "Admit", "Settle", "RunMargin",
                      "DeclareDefault", "DeclareInsolvency", "SetCcpParameters", "OpenEpoch", "OpenDefaultEvent", "CloseOut",
                      "CloseCycle", "Liquidate", "IntradayRun"})
NODE_ONLY = frozenset({"PushOpening", "ProveMargin", "ProveCure", "ProveEpochTotal", "ProveDefaultOpen",
                       "ProveDefaultShares", "ProveIntraday"})
FEED_METHODS = ("GetAccount", "GetLedgerStatus", "StreamLedger")
#: Examples per structured test (one per RPC) and per raw-bytes test (one per service) in the default suite,
#: but for an audit (the auditor replays and re-verifies the whole ledger: 0.1 s, 1 s after the slow set).
STRUCTURED_EXAMPLES, RAW_EXAMPLES, AUDIT_EXAMPLES = 30, 60, 10
SLOW_FACTOR = 16


# -- the RPCs ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rpc:
    server: str    # "clearing" | "feed" | "prover" | "auditor"
    service: str   # full service name
    name: str
    kind: str      # "unary" | "stream" | "first" (read one reply, cancel) | "bidi"
    caller: str    # the identity that may call it
    request: type | None = None
    response: type | None = None

    @property
    def path(self) -> str:
        return f"/{self.service}/{self.name}"

    @property
    def id(self) -> str:
        return f"{self.server}:{self.service.rsplit('.', 1)[1]}.{self.name}"

    @property
    def deadline(self) -> float:
        return PROVING_DEADLINE if self.name in PROVING or self.name.startswith("Prove") else CHEAP_DEADLINE

    def accepts(self, code) -> bool:
        return code in ACCEPTED or (code == S.UNIMPLEMENTED and self.server == "feed"
                                    and self.name not in FEED_METHODS)


def _caller(service: str, method: str) -> str:
    return {"AdminService": "operator", "AuditorService": "B"}.get(service) or (
        "clearing" if method in NODE_ONLY else "C" if method in ("AffirmTrade", "StreamPendingTrades", "CheckAffirmation")
        else "A")


def _service_rpcs() -> list[Rpc]:
    out = []
    for mod, server in ((clearing_pb2, "clearing"), (admin_pb2, "clearing"), (prover_pb2, "prover"),
                        (auditor_pb2, "auditor")):
        for sd in mod.DESCRIPTOR.services_by_name.values():
            for m in sd.methods:
                out.append(Rpc(server, sd.full_name, m.name, "stream" if m.server_streaming else "unary",
                               _caller(sd.name, m.name), message_factory.GetMessageClass(m.input_type),
                               message_factory.GetMessageClass(m.output_type)))
    feed = [Rpc("feed", r.service, r.name, r.kind, "prover", r.request, r.response)
            for r in out if r.service == "zkclear.v1.ClearingService"]
    return out + feed


SERVICE_RPCS = _service_rpcs()
#: The phase of the cycle an RPC is fuzzed in (others: whatever the last test left).
PHASES = {**{m: "trading" for m in ("SubmitTrade", "AffirmTrade", "FundDefault", "PrepareFunding", "ProveFunding",
                                    "Settle", "StageScenarioRows", "OpenEpoch", "PushOpening", "ProveEpochTotal",
                                    "IntradayRun", "ProveIntraday")},
          **{m: "margin" for m in ("RequestCure", "RunMargin", "DeclareDefault", "OpenDefaultEvent", "CloseOut",
                                   "CloseCycle", "ProveMargin", "ProveCure", "ProveDefaultOpen",
                                   "ProveDefaultShares")}}
_ORDER = {"trading": 0, "any": 1, "margin": 2}
#: Structured fuzzing: every RPC of our four services, and the feed's three reads (by phase: fewer cycle moves).
STRUCTURED = sorted((r for r in SERVICE_RPCS if r.server != "feed" or r.name in FEED_METHODS),
                    key=lambda r: _ORDER[PHASES.get(r.name, "any")])
_HEALTH, _REFL = "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"
PLUMBING = [Rpc(server, _HEALTH, "Check", "unary", "A") for server in ("clearing", "feed", "prover", "auditor")] + [
    Rpc("clearing", _HEALTH, "Watch", "first", "A"), Rpc("prover", _HEALTH, "Watch", "first", "B"),
    Rpc("clearing", _REFL, "ServerReflectionInfo", "bidi", "A"),
    Rpc("prover", rpc.REFLECTION_V1, "ServerReflectionInfo", "bidi", "clearing"),
    Rpc("clearing", rpc.REFLECTION_V1, "ServerReflectionInfo", "bidi", "operator")]
#: Raw-bytes fuzzing, one test per group (the feed answers UNIMPLEMENTED for all but its three reads).
RAW_GROUPS = {
    "ClearingService": [r for r in SERVICE_RPCS if r.server == "clearing" and r.service.endswith("ClearingService")],
    "AdminService": [r for r in SERVICE_RPCS if r.service.endswith("AdminService")],
    "ProverService": [r for r in SERVICE_RPCS if r.server == "prover"],
    "AuditorService": [r for r in SERVICE_RPCS if r.server == "auditor"],
    "feed": [r for r in SERVICE_RPCS if r.server == "feed"],
    "health+reflection": PLUMBING,
}


def examples(what: str, budget: int = 1) -> int:
    """Examples for an RPC or a raw-bytes group, ``budget`` 1 (the default
    suite) or :data:`SLOW_FACTOR` (audits: at most 4 times as many)."""
    if what in ("Audit", "AuditorService"):
        return AUDIT_EXAMPLES * min(budget, 4)
    return (RAW_EXAMPLES if what in RAW_GROUPS else STRUCTURED_EXAMPLES) * budget


DEFAULT_INPUTS, SLOW_INPUTS = (sum(examples(w, b) for w in [r.name for r in STRUCTURED] + list(RAW_GROUPS))
                               for b in (1, SLOW_FACTOR))


# -- the cluster ------------------------------------------------------------------------------------
@dataclass
class Mark:
    seq: int
    head: bytes
    records: int
    ok: list = field(default_factory=list)   # (method, seq, trade id) of OK mutating calls
    calls: int = 0


class Env:
    """The module's cluster, its auditor, channels per (identity, server),
    the valid requests the structured fuzzing starts from, and the
    after-test checks."""

    def __init__(self, directory):
        self.log = BufferingHandler(1 << 40)  # keeps every record in .buffer
        logging.getLogger().addHandler(self.log)
        self._level = logging.getLogger("zkclear").level
        logging.getLogger("zkclear").setLevel(logging.DEBUG)
        self.cluster = c = Cluster(directory)
        c.onboard()
        c.trade("t1", "A", "B", "ESX", "buy", 3, 500000)
        op = c.operator()
        op.settle(P0, MATRIX)  # a scenario set for withdrawals, then the next cycle
        op.run_margin()
        op.close_cycle()
        self.auditor, port = auditor_service.create_server(c.dir, clearing_target=c.clearing_target)
        self.targets = {"clearing": c.clearing_target, "feed": c.feed_target, "prover": c.prover_target,
                        "auditor": f"127.0.0.1:{port}"}
        self.idents = {n: load_identity(c.dir, n) for n in IDENTITIES}
        self._channels: dict[tuple[str, str], grpc.Channel] = {}
        self.mark: Mark | None = None
        self.seeds: dict[str, object] = {}
        self.cycle, self.seeded_at, self.refreshes, self.stale = 0, None, 0, False
        self.trades: set[str] = set()  # trades submitted or affirmed by OK calls
        self.sync_seeds()
        self.points = _points(self)

    def close(self) -> None:
        for ch in self._channels.values():
            ch.close()
        self.auditor.stop(0)
        self.cluster.stop()
        logging.getLogger().removeHandler(self.log)
        logging.getLogger("zkclear").setLevel(self._level)

    def channel(self, who: str, server: str) -> grpc.Channel:
        if (who, server) not in self._channels:
            self._channels[who, server] = rpc.channel(self.idents[who], self.targets[server])
        return self._channels[who, server]

    def seed(self, name: str):
        """The valid request for RPC ``name`` (None for one without); those
        with proofs made anew once a call succeeded since (the account
        version they are bound to may have moved)."""
        if name in PROOF_SEEDS and self.stale:
            self.refreshes += 1
            self.seeds.update(_proof_seeds(self, self.refreshes))
            self.stale = False
        return self.seeds.get(name)

    def sync_seeds(self) -> None:
        """Make the valid requests anew when the cycle or the epoch moved."""
        st_ = self.status()
        if self.seeded_at != (st_.cycle, st_.epoch):
            self.seeds.update(_seeds(self))
            self.stale, self.seeded_at = True, (st_.cycle, st_.epoch)
            self.seed("Withdraw")

    def status(self) -> clearing_pb2.LedgerStatus:
        return self.cluster.operator().status()

    def prepare(self, phase: str) -> None:
        """Bring the cycle to ``phase`` ("trading", "margin" or "any") for
        the next test, as the operator does (outside the test's accounting)."""
        self.sync_seeds()
        admin = self.cluster.operator().admin
        current = self.status().phase
        if phase == "margin" and current == "trading":
            admin.Settle(self.seeds["Settle"])
        elif phase == "trading" and current == "margin":
            try:
                admin.RunMargin(self.seeds["RunMargin"], timeout=PROVING_DEADLINE)
            except grpc.RpcError:
                pass  # already run (under another request id)
            admin.CloseCycle(self.seeds["CloseCycle"])
        self.sync_seeds()

    # -- one call -----------------------------------------------------------------------------
    def call(self, r: Rpc, who: str, data: bytes, shown: str) -> S:
        """Send ``data`` to ``r`` as ``who``; assert the status is acceptable."""
        ch = self.channel(who, r.server)
        out, code, details = None, S.OK, ""
        self.mark.calls += 1
        try:
            if r.kind == "unary":
                out = ch.unary_unary(r.path)(data, timeout=r.deadline)
            elif r.kind == "stream":
                out = list(ch.unary_stream(r.path)(data, timeout=r.deadline))
            elif r.kind == "first":
                stream = ch.unary_stream(r.path)(data, timeout=r.deadline)
                out = [next(stream)]
                stream.cancel()
            else:
                out = list(ch.stream_stream(r.path)(iter([data]), timeout=r.deadline))
        except grpc.RpcError as exc:
            code, details = exc.code(), exc.details() or ""
        where = f"{r.id} as {who}: {code.name} {details[:300]!r}\n  request: {shown[:800]}"
        assert r.accepts(code), where
        assert len(details) <= ce.MAX_MESSAGE_CHARS, where
        assert not any(ord(ch) < 32 or ch == "\x7f" for ch in details), where
        if code == S.OK and r.server == "clearing" and r.name in MUTATING:
            res = r.response.FromString(out)
            trade = res.trade.trade_id if r.name in ("SubmitTrade", "AffirmTrade") else None
            self.mark.ok.append((r.name, res.seq, trade))
            self.stale = True
        return code

    # -- before and after a test -----------------------------------------------------------------
    def begin(self) -> None:
        st_ = self.status()
        self.mark = Mark(st_.seq, st_.head, len(self.log.buffer))
        self.cycle = st_.cycle

    def verify(self) -> int:
        """The after-test checks (module docstring); returns the test's number of calls."""
        mark = self.mark
        problems = [f"{r.levelname} {r.name}: {r.getMessage()[:300]}"
                    for r in self.log.buffer[mark.records:]
                    if r.levelno >= logging.ERROR or "Traceback" in _text(r)]
        assert problems == [], problems
        for server in self.targets:
            assert rpc.health_check(self.idents["prover" if server == "feed" else "A"],
                                    self.targets[server]) == "SERVING", server
        op = self.cluster.operator()
        events = list(op.clearing.StreamLedger(clearing_pb2.StreamLedgerRequest(since=mark.seq)))
        if not events:  # the chain is as it was
            assert self.status().head == mark.head
        returned = {seq for _, seq, _ in mark.ok}
        self.trades |= {t for _, _, t in mark.ok if t}  # a receipt the node owes may come later
        closeouts = any(name == "CloseOut" for name, _, _ in mark.ok)
        intraday = any(name == "IntradayRun" for name, _, _ in mark.ok)  # books the marks, then the batch
        unexplained = []
        for ev in events:
            body = json.loads(ev.body)
            if ev.seq in returned or (body.get("kind") == "receipt" and body.get("trade_id") in self.trades) \
                    or (body.get("kind") == "dm-shares" and closeouts) \
                    or (body.get("kind") == "intraday" and intraday):
                continue
            unexplained.append((ev.seq, body.get("kind"), body.get("request_id")))
        assert unexplained == [], (unexplained, mark.ok)
        for m in ("A", "B", "C"):  # the prover replays to the node's head and agrees on every account
            self.cluster.member(m).balances()
        with rpc.channel(self.idents["A"], self.targets["prover"]) as ch:
            ps = ch.unary_unary("/zkclear.v1.ProverService/GetProverStatus",
                                response_deserializer=prover_pb2.ProverStatus.FromString)(b"", timeout=10)
        assert not ps.alarm and ps.seq == self.status().seq, ps
        return mark.calls


def _text(record: logging.LogRecord) -> str:
    exc = logging.Formatter().formatException(record.exc_info) if record.exc_info else ""
    return record.getMessage() + exc + (record.exc_text or "") + (record.stack_info or "")


def _seeds(env: Env) -> dict[str, object]:
    """A valid request per RPC (by method name) for the current cycle and
    epoch, made and signed as the real clients do (request and trade ids
    carry the cycle, so the first valid call of a cycle is applied and later
    ones replay it); a trade from A to C is submitted now, for C to affirm.
    Those with proofs: :func:`_proof_seeds`."""
    c = env.cluster
    a, cm, op = c.member("A"), c.member("C"), c.operator()
    status = env.status()
    cyc = status.cycle
    party = c.roster.party("A")
    reg = dict(member="A", identity_key=party.ed25519_public, relay_key=party.x25519_public,
               relay_signature=party.x25519_binding,
               operator_signature=op._sign(admission_message("A", party.ed25519_public, party.x25519_public)))
    s = {"Register": clearing_pb2.RegisterRequest(request_id="fz-reg", **reg),
         "Admit": clearing_pb2.RegisterRequest(request_id="admit-A", **reg)}
    pending, t2 = a.make_trade(f"t2-{cyc}", "C", "RTX", "sell", 2, 200000, request_id=f"fz-t2-{cyc}")
    if status.phase == "trading":
        a.clearing.SubmitTrade(pending)
    s["AffirmTrade"] = clearing_pb2.AffirmTradeRequest(request_id=f"fz-aff-{cyc}", trade_id=t2["trade_id"],
                                                       member="C", signature=cm._sign(affirmation_message(t2, "C")))
    s["PushOpening"] = prover_pb2.PushOpeningRequest(trade_id=t2["trade_id"], sealed=pending.sealed_prover)
    s["CheckAffirmation"] = prover_pb2.CheckAffirmationRequest(member="C", trade_id=t2["trade_id"])
    s["PrepareTrade"] = prover_pb2.PrepareTradeRequest(request_id=f"fz-prep-{cyc}", member="A", trade_id=f"t4-{cyc}",
                                                       cycle=cyc, counterparty="B", instrument="ESX",
                                                       side=common_pb2.SIDE_BUY, price=500000, quantity=3)
    s["GetTrade"] = clearing_pb2.GetTradeRequest(trade_id="t1")
    s["RetryTrade"] = clearing_pb2.RetryTradeRequest(trade_id="t1", member="A")  # novated: FAILED_PRECONDITION
    s["StreamPendingTrades"] = common_pb2.MemberRequest(member="C")
    dep = f"fz-dep-{cyc}"
    s["Deposit"] = clearing_pb2.DepositRequest(request_id=dep, member="A", amount=7, cycle=cyc,
                                               signature=a._sign(deposit_message("A", 7, cyc, dep)))
    s["RequestCure"] = clearing_pb2.CureRequest(request_id="fz-cure", member="A")
    s["GetAccount"] = common_pb2.MemberRequest(member="A")
    s["GetLedgerStatus"] = clearing_pb2.LedgerStatusRequest()
    s["StreamLedger"] = clearing_pb2.StreamLedgerRequest(since=max(status.seq - 3, 0))
    ids = [i.id for i in status.instruments]
    sid = scenario_set_id(0, ids, [list(r) for r in MATRIX])
    s["Settle"] = admin_pb2.SettleRequest(request_id=f"fz-settle-{cyc}", cycle=cyc, prices=P0,
                                          scenario_set=convert.scenario_set_msg(0, MATRIX),
                                          operator_signature=op._sign(settlement_message(cyc, P0, sid)))
    s["StageScenarioRows"] = admin_pb2.StageScenarioRowsRequest(  # issue 13 §2: a staging of the same set
        request_id=f"fz-stage-{cyc}", cycle=cyc, first_row=0, rows=convert.scenario_set_msg(0, MATRIX).rows,
        total_rows=len(MATRIX))
    s["RunMargin"] = common_pb2.CycleRequest(request_id=f"fz-margin-{cyc}", cycle=cyc)
    s["DeclareDefault"] = admin_pb2.DeclareDefaultRequest(request_id="fz-default", cycle=cyc, member="D",
                                                          operator_signature=op._sign(default_message(cyc, "D")))
    s["DeclareInsolvency"] = admin_pb2.DeclareInsolvencyRequest(
        request_id="fz-insolvency", cycle=cyc, member="D", reason="fuzz seed",
        operator_signature=op._sign(insolvency_message(cyc, "D", "fuzz seed")))
    s["Liquidate"] = admin_pb2.LiquidateRequest(  # issue 14 §2: refused without maintenance terms
        request_id="fz-liquidate", cycle=cyc, member="D",
        operator_signature=op._sign(liquidation_message(cyc, "D", "fz-liquidate")))
    ccp = f"fz-ccp-{cyc}"
    s["SetCcpParameters"] = admin_pb2.SetCcpParametersRequest(
        request_id=ccp, cycle=cyc, skin_in_the_game_1=0, skin_in_the_game_2=0, assessment_cap_multiple=2,
        operator_signature=op._sign(ccp_parameters_message(cyc, 0, 0, 2, ccp)))
    s["OpenEpoch"] = common_pb2.CycleRequest(request_id=f"fz-epoch-{status.epoch}", cycle=cyc)
    s["OpenDefaultEvent"] = common_pb2.CycleRequest(request_id=f"fz-dm-open-{cyc}", cycle=cyc)
    s["GetDefaultEvent"] = admin_pb2.DefaultEventRequest()
    lots = [{"winner": "B", "instrument": "ESX", "quantity": 3}]
    s["CloseOut"] = admin_pb2.CloseOutRequest(request_id="fz-closeout", cycle=cyc, index=0, prices=P0,
                                              lots=convert.lots_msg(lots),
                                              operator_signature=op._sign(closeout_message(cyc, 0, P0, lots)))
    s["CloseCycle"] = common_pb2.CycleRequest(request_id=f"fz-close-{cyc}", cycle=cyc)
    s["GetDefaultReports"] = admin_pb2.DefaultReportsRequest()
    s["ProveMargin"] = prover_pb2.ProveMarginRequest(cycle=cyc)
    # issue 14 §1: intraday run 1 on marks at the settlement prices (ProveIntraday: only while a run awaits its batch)
    s["IntradayRun"] = admin_pb2.IntradayRunRequest(request_id=f"fz-intraday-{cyc}", cycle=cyc, run=1, marks=P0,
                                                    operator_signature=op._sign(intraday_message(cyc, 1, P0, sid)))
    s["ProveIntraday"] = prover_pb2.ProveIntradayRequest(cycle=cyc, run=1)
    s["ProveCure"] = common_pb2.MemberRequest(member="A")
    s["ProveEpochTotal"] = prover_pb2.ProveEpochTotalRequest(cycle=cyc)
    s["ProveDefaultOpen"] = prover_pb2.ProveDefaultOpenRequest(cycle=cyc)
    s["ProveDefaultShares"] = prover_pb2.ProveDefaultSharesRequest(purpose="auction")
    s["GetBalances"] = common_pb2.MemberRequest(member="A")
    s["GetProverStatus"] = prover_pb2.ProverStatusRequest()
    s["Audit"] = auditor_pb2.AuditRequest()
    s["Check"] = health_pb2.HealthCheckRequest(service="zkclear.v1.ClearingService")
    s["Watch"] = health_pb2.HealthCheckRequest(service="")
    s["ServerReflectionInfo"] = reflection_pb2.ServerReflectionRequest(
        file_containing_symbol="zkclear.v1.ClearingService")
    return s


#: Requests whose seeds carry a proof (bound to member A's account version, or a new trade).
PROOF_SEEDS = frozenset({"SubmitTrade", "Withdraw", "ProveWithdrawal", "PrepareFunding", "ProveFunding", "FundDefault",
                         "PayAssessment", "ProveAssessmentPayment", "SettleAssessment", "ProveAssessmentFromCash"})


def _proof_seeds(env: Env, n: int) -> dict[str, object]:
    """Fresh valid requests with proofs (request and trade ids suffixed
    ``n``): a new trade of A's with B; for A's current account version a
    withdrawal of 11 and a default fund contribution of 1,000 proved by the
    prover, and assessment payments (none is due: refused after the
    signature and version checks) carrying the withdrawal's proof."""
    a = env.cluster.member("A")
    status = env.status()
    cyc, epoch = status.cycle, status.epoch
    s = {}
    s["SubmitTrade"], _ = a.make_trade(f"t3-{cyc}-{n}", "B", "ESX", "buy", 2, 500025, request_id=f"fz-t3-{cyc}-{n}")
    wd = f"fz-wd{n}"
    wsig = a._sign(withdrawal_message("A", 11, cyc, wd))
    s["ProveWithdrawal"] = prover_pb2.ProveWithdrawalRequest(request_id=wd, member="A", amount=11, cycle=cyc,
                                                             signature=wsig)
    try:
        w = a.prover.ProveWithdrawal(s["ProveWithdrawal"])
    except grpc.RpcError:  # refused (A called, say): the trade proof, at A's account version
        w = prover_pb2.MemberProof(ctx_seq=a.account().version, proof=s["SubmitTrade"].proof)
    s["Withdraw"] = clearing_pb2.WithdrawRequest(request_id=wd, member="A", amount=11, cycle=cyc,
                                                 ctx_seq=w.ctx_seq, proof=w.proof, signature=wsig)
    df_id = f"fz-df{n}"
    s["PrepareFunding"] = prover_pb2.PrepareFundingRequest(request_id=df_id, member="A", amount=1000)
    df = a.prover.PrepareFunding(s["PrepareFunding"]).df
    fsig = a._sign(funding_message("A", epoch, df, df_id))
    s["ProveFunding"] = prover_pb2.ProveFundingRequest(request_id=df_id, member="A", df=df, epoch=epoch,
                                                       signature=fsig)
    try:
        f = a.prover.ProveFunding(s["ProveFunding"])
        fproof = dict(ctx_seq=f.ctx_seq, proof=f.proof)
    except grpc.RpcError:  # outside a funding window: a proof of another statement
        fproof = dict(ctx_seq=w.ctx_seq, proof=w.proof)
    s["FundDefault"] = clearing_pb2.FundDefaultRequest(request_id=df_id, member="A", df=df, epoch=epoch,
                                                       signature=fsig, **fproof)
    # issue 14 §4 (this cluster's ccp asks for no sizing: both are refused, FAILED_PRECONDITION)
    size_id = f"fz-size{n}"
    ssig = a._sign(df_size_message("A", epoch, size_id))
    s["ProveSizing"] = prover_pb2.ProveSizingRequest(request_id=size_id, member="A", epoch=epoch, signature=ssig)
    s["FileSizing"] = clearing_pb2.FileSizingRequest(
        request_id=size_id, member="A", epoch=epoch, ctx_seq=fproof["ctx_seq"], m=df, q=df,
        bound_proof=fproof["proof"], sizing_proof=fproof["proof"], cover2_proof=b"", signature=ssig)
    s["GetCover2Report"] = clearing_pb2.Cover2ReportRequest()
    pay = f"fz-pay{n}"
    psig = a._sign(assessment_payment_message("A", 0, 5, cyc, pay))
    s["ProveAssessmentPayment"] = prover_pb2.ProveAssessmentRequest(request_id=pay, member="A", index=0,
                                                                    amount=5, cycle=cyc, signature=psig)
    s["PayAssessment"] = clearing_pb2.PayAssessmentRequest(request_id=pay, member="A", index=0, amount=5,
                                                           cycle=cyc, ctx_seq=w.ctx_seq, proof=w.proof,
                                                           signature=psig)
    sa = f"fz-sa{n}"
    ssig = a._sign(assessment_settlement_message("A", 0, cyc, sa))
    s["ProveAssessmentFromCash"] = prover_pb2.ProveAssessmentFromCashRequest(request_id=sa, member="A",
                                                                             index=0, cycle=cyc, signature=ssig)
    s["SettleAssessment"] = clearing_pb2.SettleAssessmentRequest(request_id=sa, member="A", index=0, cycle=cyc,
                                                                 ctx_seq=w.ctx_seq, proof=w.proof, signature=ssig)
    return s


def _off_curve(count: int = 2) -> list[bytes]:
    """Encodings (both y flags) of the first ``count`` x below 64 with no point on the curve."""
    xs = []
    for x in range(1, 64):
        try:
            decode_affine(x.to_bytes(32, "big"))
        except DecodeError:
            xs.append(x)
    return [(x | sign << 255).to_bytes(32, "big") for x in xs[:count] for sign in (0, 1)]


IDENTITY_POINT = b"\x40" + bytes(31)
OFF_CURVE = _off_curve()
#: 32-byte values that are not a valid point or scalar.
BAD_32 = [IDENTITY_POINT, *OFF_CURVE, P.to_bytes(32, "big"), R.to_bytes(32, "big"), (R + 1).to_bytes(32, "big"),
          b"\xff" * 32, bytes(32), b"\xc0" + bytes(31), b"\x40" + bytes(30) + b"\x01"]


def _points(env: Env) -> list[bytes]:
    """Valid points: the generator, trade and account commitments."""
    op = env.cluster.operator()
    t1 = op.clearing.GetTrade(clearing_pb2.GetTradeRequest(trade_id="t1")).trade.commitment
    acc = op.clearing.GetAccount(common_pb2.MemberRequest(member="B"))
    return [Point.generator().encode(), t1, acc.cash, acc.df, env.seeds["FundDefault"].df]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = Env(tmp_path_factory.mktemp("fuzz") / "cfg")
    try:
        yield e
    finally:
        e.close()


# -- strategies ---------------------------------------------------------------------------------------
NAMES = ["A", "B", "C", "D", "operator", "clearing", "prover", "auditor", "a", " A", "A\x00", "A\n"]
IDS = ["t1", "t2", "t3", "t4", "fz-t2", "fz-t3", "dep0-A", "df0-A", "settle-1", "admit-A", "fz-dep", "fz-wd",
       "fz-df", "fz-margin", "fz-close", "fz-epoch", "fz-ccp", "rcpt", "x"]
WORDS = ["ESX", "RTX", "esx", "auction", "df", "cash", "default-fund", "sitg1", "buy", "sell", "0", "-1",
         "18446744073709551615"]
WEIRD = ["", "\x00", "\u00e9", "\u202e", "\U0001f600", "x" * 64, "x" * 65, "y" * 5000, "z" * 100_000,
         "../../etc/passwd", "%s%n", "'; DROP TABLE events; --", "\ufeffA", "\r\n"]
U64_EDGES = [0, 1, 2, 7, 11, 255, (1 << 32) - 1, 1 << 32, (1 << 40) - 1, 1 << 40, (1 << 53) + 1, (1 << 63) - 1,
             1 << 63, U64_MAX - 1, U64_MAX]
S64_EDGES = [0, 1, -1, 1 << 32, -(1 << 32), (1 << 62), (1 << 63) - 1, -(1 << 63), -(1 << 63) + 1]


def _strings(name: str):
    pool = NAMES if name in ("member", "buyer", "seller", "winner") else IDS if name.endswith("id") else WORDS
    return st.one_of(st.sampled_from(pool), st.sampled_from(WEIRD), st.text(max_size=40))


@st.composite
def _mutated(draw, value: bytes) -> bytes:
    """``value`` with one edit: a bit flip, a cut, an extension, a 32-byte
    chunk replaced by a bad point or scalar, or a byte run deleted."""
    v = bytearray(value)
    if not v:
        return draw(st.binary(min_size=1, max_size=64))
    how = draw(st.sampled_from(["flip", "chunk", "cut", "extend", "delete"]))
    if how == "flip":
        i = draw(st.integers(0, len(v) * 8 - 1))
        v[i // 8] ^= 1 << (i % 8)
    elif how == "cut":
        del v[draw(st.integers(0, len(v) - 1)):]
    elif how == "extend":
        v += draw(st.binary(min_size=1, max_size=64))
    elif how == "chunk":
        off = draw(st.integers(0, max(len(v) - 32, 0)))
        v[off:off + 32] = draw(st.sampled_from(BAD_32))
    else:
        i = draw(st.integers(0, len(v) - 1))
        del v[i:i + draw(st.integers(1, 40))]
    return bytes(v)


def _bytes(env: Env, name: str, current: bytes):
    """A strategy for a bytes field: the current value edited (first: what a
    shrunk example tries), or a value from the field's pool -- wrong ones
    first, then valid ones for other requests -- edited or not, or random."""
    if "signature" in name:
        pool = [bytes(64), b"\xff" * 64, bytes(63), bytes(65)] + [
            env.seeds[n].signature for n in ("Deposit", "Withdraw", "AffirmTrade")]
    elif name in ("identity_key", "relay_key"):
        pool = [bytes(32), bytes(31), bytes(33), env.points[0]] + [
            env.cluster.roster.party(m).ed25519_public for m in ("A", "B", "C")]
    elif name in ("commitment", "df"):
        pool = BAD_32 + [bytes(31), env.points[1] + b"\x00", env.points[1][:31]] + env.points
    else:  # proofs and sealed openings
        pool = BAD_32 + [b"\x00", bytes(1000), env.seeds["SubmitTrade"].proof, env.seeds["Withdraw"].proof,
                         env.seeds["SubmitTrade"].sealed_counterparty]
    options = [st.sampled_from(pool), st.sampled_from(pool).flatmap(_mutated), st.binary(max_size=300)]
    return st.one_of(_mutated(current), *options) if current else st.one_of(*options)


def _scalar(env: Env, fd, current):
    """A strategy for one value of a scalar field."""
    if fd.type == F.TYPE_STRING:
        return _strings(fd.name)
    if fd.type == F.TYPE_BYTES:
        return _bytes(env, fd.name, current if isinstance(current, bytes) else b"")
    if fd.type == F.TYPE_BOOL:
        return st.booleans()
    if fd.type == F.TYPE_ENUM:
        return st.sampled_from([0, 1, 2, 3, 99, -1, (1 << 31) - 1])
    if fd.type == F.TYPE_UINT32:
        return st.one_of(st.sampled_from([0, 1, 2, 255, 256, (1 << 31), (1 << 32) - 1]), st.integers(0, (1 << 32) - 1))
    if fd.type in (F.TYPE_SINT64, F.TYPE_INT64):
        return st.one_of(st.sampled_from(S64_EDGES), st.integers(-(1 << 63), (1 << 63) - 1))
    cyc, seq = env.cycle, env.mark.seq
    return st.one_of(st.sampled_from(U64_EDGES + [cyc, cyc + 1, seq, seq + 1]), st.integers(0, U64_MAX))


def _replace(draw, env: Env, msg, fd, percent: int, depth: int) -> None:
    """Replace field ``fd`` of ``msg``: a scalar by a value from
    :func:`_scalar`, a list by a new one (0 to 5 values, or 300), a message
    by itself with fields replaced (:func:`_fill`), a list of messages by
    some of its own so edited and up to 3 made up."""
    value = getattr(msg, fd.name)
    if fd.type == F.TYPE_MESSAGE and fd.is_repeated:
        keep = list(value) if draw(st.booleans()) else []
        del value[:]
        for old in keep:
            value.add().CopyFrom(old)
            _fill(draw, env, value[-1], percent, depth + 1)
        for _ in range(draw(st.integers(0, 3)) if depth < 3 else 0):
            _fill(draw, env, value.add(), 70, depth + 1)
    elif fd.type == F.TYPE_MESSAGE:
        if depth < 3:
            if draw(st.booleans()):
                value.Clear()
            _fill(draw, env, value, percent, depth + 1)
            value.SetInParent()
    elif fd.is_repeated:
        elems = _scalar(env, fd, None)
        size = draw(st.sampled_from([0, 1, 2, 3, 5, 300]))
        new = draw(st.lists(elems, min_size=min(size, 5), max_size=size)) if size < 300 else [draw(elems)] * 300
        del value[:]
        value.extend(new)
    else:
        setattr(msg, fd.name, draw(_scalar(env, fd, value)))


def _fill(draw, env: Env, msg, percent: int, depth: int = 0) -> None:
    """Replace each field of ``msg`` with probability ``percent``/100 (none in a shrunk example)."""
    for fd in msg.DESCRIPTOR.fields:
        if draw(st.integers(0, 99)) >= 100 - percent:
            _replace(draw, env, msg, fd, percent, depth)


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


@st.composite
def _unknown_fields(draw) -> bytes:
    """Well-formed fields the message does not define (or a known number with another wire type)."""
    out = b""
    for _ in range(draw(st.integers(1, 3))):
        number = draw(st.sampled_from([1, 2, 3, 15, 16, 100, 2047, (1 << 29) - 1]))
        wire = draw(st.sampled_from([0, 1, 2, 5]))
        tag = _varint(number << 3 | wire)
        if wire == 0:
            out += tag + _varint(draw(st.sampled_from([0, 1, U64_MAX])))
        elif wire == 1:
            out += tag + draw(st.binary(min_size=8, max_size=8))
        elif wire == 5:
            out += tag + draw(st.binary(min_size=4, max_size=4))
        else:
            body = draw(st.binary(max_size=40))
            out += tag + _varint(len(body)) + body
    return out


@st.composite
def structured(draw, env: Env, r: Rpc) -> tuple[bytes, str]:
    """A request for ``r``: its valid seed, the seed with one field
    replaced (half the time) or some, or every field made up; sometimes
    with unknown fields."""
    msg = r.request()
    seed = env.seed(r.name)
    if seed is not None:
        msg.CopyFrom(seed)
    fields = list(msg.DESCRIPTOR.fields)
    mode = draw(st.sampled_from(["one", "valid", "one", "some", "one", "made up"] if fields else ["valid"]))
    if mode == "one":
        _replace(draw, env, msg, draw(st.sampled_from(fields)), 30, 0)
    elif mode != "valid":
        if mode == "made up":
            msg.Clear()
        _fill(draw, env, msg, 30 if mode == "some" else 70)
    data = msg.SerializeToString()
    if draw(st.integers(0, 9)) == 9:
        data += draw(_unknown_fields())
    return data, f"{mode}: {msg}".replace("\n", " ")


@st.composite
def raw(draw, env: Env, r: Rpc) -> bytes:
    """Bytes for ``r``: random, or the valid seed encoding edited."""
    seed = env.seed(r.name)
    valid = seed.SerializeToString() if seed is not None else b""
    how = draw(st.sampled_from(["random", "edit", "edit", "bad length", "bad tag", "overlong varint",
                                "invalid utf-8", "huge varint", "splice"]))
    if how == "random":
        return draw(st.binary(max_size=400))
    if how == "edit":
        return draw(_mutated(valid))
    field_no = draw(st.integers(1, 9))
    pos = draw(st.integers(0, len(valid)))
    if how == "bad length":   # a length-delimited field running past the end
        n = draw(st.sampled_from([5, 127, 128, 1 << 20, 1 << 31, (1 << 32) + 1, U64_MAX]))
        junk = _varint(field_no << 3 | 2) + _varint(n) + draw(st.binary(max_size=4))
    elif how == "bad tag":    # field number 0, wire types 6 and 7, an unmatched group
        junk = draw(st.sampled_from([b"\x00\x01", b"\x06", b"\x0f\x00", b"\x0b", b"\x0c", b"\x13\x14",
                                     _varint(field_no << 3 | 3)]))
    elif how == "overlong varint":
        junk = _varint(field_no << 3) + b"\xff" * draw(st.integers(9, 12)) + b"\x01"
    elif how == "invalid utf-8":
        junk = _varint(field_no << 3 | 2) + b"\x03\xff\xfe\xc0"
    elif how == "huge varint":  # 2^64 - 1 and 2^64 (past 64 bits) in a varint
        junk = _varint(field_no << 3) + draw(st.sampled_from([b"\xff" * 9 + b"\x01", b"\x80" * 9 + b"\x02"]))
    else:
        junk = env.seeds[draw(st.sampled_from(sorted(env.seeds)))].SerializeToString()[:draw(st.integers(0, 80))]
    return valid[:pos] + junk + valid[pos:]


# -- the tests ------------------------------------------------------------------------------------------
def _settings(n: int):
    return settings(max_examples=n, derandomize=True, database=None, deadline=None, print_blob=False,
                    suppress_health_check=list(HealthCheck))


def _run(env: Env, prop, phase: str = "any") -> int:
    """Run the property in ``phase``; the after-test checks; the number of calls."""
    env.prepare(phase)
    env.begin()
    prop()
    return env.verify()


BUDGETS = [pytest.param(1, id="default"), pytest.param(SLOW_FACTOR, id="slow", marks=pytest.mark.slow)]


#: The seeds sent as they are, in three steps (each in one phase, checked
#: like a fuzz test), and the RPCs expected to answer OK in each.
SEED_STEPS = [
    (["GetLedgerStatus", "GetAccount", "GetTrade", "StreamPendingTrades", "StreamLedger", "GetDefaultEvent",
      "GetDefaultReports", "GetBalances", "GetProverStatus", "Audit", "PushOpening", "ProveEpochTotal",
      "PrepareFunding", "ProveWithdrawal", "Deposit", "SubmitTrade", "CheckAffirmation", "PrepareTrade",
      "AffirmTrade", "Withdraw", "SetCcpParameters",
      "Admit", "Register", "PayAssessment", "SettleAssessment", "ProveAssessmentPayment",
      "ProveAssessmentFromCash", "DeclareDefault", "DeclareInsolvency", "OpenEpoch", "Liquidate", "ProveIntraday",
      "IntradayRun", "RetryTrade"],
     {"Register", "PayAssessment", "SettleAssessment", "ProveAssessmentPayment", "ProveAssessmentFromCash",
      "DeclareDefault", "DeclareInsolvency", "Liquidate", "ProveIntraday", "RetryTrade"}),
    (["ProveFunding", "FundDefault", "ProveSizing", "FileSizing", "GetCover2Report", "StageScenarioRows", "Settle"],
     {"ProveSizing", "FileSizing"}),
    (["ProveMargin", "RequestCure", "ProveCure", "OpenDefaultEvent", "ProveDefaultOpen", "ProveDefaultShares",
      "CloseOut", "RunMargin", "CloseCycle"],
     {"RequestCure", "ProveCure", "OpenDefaultEvent", "ProveDefaultOpen", "ProveDefaultShares", "CloseOut"}),
]


def test_seeds_are_valid(tmp_path):
    """The structured fuzzing starts from valid requests: sent as they are
    (each to every server that serves it; on a cluster of its own), in an
    order where each is applicable, they answer OK -- but for those refused
    for the state (no assessment due, no default, an admitted member, an
    unknown one)."""
    assert {n for names, _ in SEED_STEPS for n in names} == {r.name for r in STRUCTURED}
    env = Env(tmp_path / "cfg")
    try:
        for names, refused in SEED_STEPS:
            env.sync_seeds()
            env.begin()
            codes = {r.id: env.call(r, r.caller, env.seed(n).SerializeToString(), f"seed {n}")
                     for n in names for r in STRUCTURED if r.name == n}
            env.verify()
            assert {k for k, code in codes.items() if code != S.OK} \
                == {r.id for r in STRUCTURED if r.name in refused}, codes
    finally:
        env.close()


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("r", STRUCTURED, ids=lambda r: r.id)
def test_structured_requests(env, r, budget):
    callers = st.sampled_from([r.caller] * 12 + list(IDENTITIES))

    @_settings(examples(r.name, budget))
    @given(callers, structured(env, r))
    def prop(who, request):
        data, shown = request
        env.call(r, who, data, shown)

    assert _run(env, prop, PHASES.get(r.name, "any")) >= examples(r.name, budget)


@pytest.mark.parametrize("budget", BUDGETS)
@pytest.mark.parametrize("group", sorted(RAW_GROUPS))
def test_raw_bytes(env, group, budget):
    rpcs = RAW_GROUPS[group]

    @_settings(examples(group, budget))
    @given(st.data())
    def prop(data):
        r = data.draw(st.sampled_from(rpcs), label="rpc")
        who = data.draw(st.sampled_from([r.caller] * 12 + list(IDENTITIES)), label="caller")
        payload = data.draw(raw(env, r), label="bytes")
        env.call(r, who, payload, repr(payload[:400]))

    assert _run(env, prop) >= examples(group, budget)


def test_methods_the_feed_does_not_serve_are_unimplemented_quietly(env):
    """The ledger feed serves three ClearingService reads; the rest used to
    run the generated base methods, whose NotImplementedError grpc logged at
    ERROR with a traceback on every call (found by :func:`test_raw_bytes`)."""
    env.begin()
    unserved = [r for r in SERVICE_RPCS if r.server == "feed" and r.name not in FEED_METHODS]
    codes = [env.call(r, who, env.seed(r.name).SerializeToString(), "seed")
             for r in unserved for who in ("A", "prover")]
    assert len(codes) == 28 and set(codes) == {S.UNIMPLEMENTED}
    env.verify()
