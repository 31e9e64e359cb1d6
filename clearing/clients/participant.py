"""The participant (clearing member) client: ``zkclear participant``.

A member talks to the clearing node (trades, affirmations, deposits,
withdrawals, its account's commitments) and to the prover service (proofs
about its own account and its opened balances), always over mutual TLS with
its own certificate, and signs every action with its Ed25519 identity key:

* **trade** (as initiator): picks a fresh blinding rho from the CSPRNG,
  T = C(q, rho), proves 1 <= q <= 2^32 bound to the signed trade tuple and
  the cycle's context, signs the tuple, seals the opening to the
  counterparty's and to the prover's X25519 keys (from the CA-checked
  roster, whose bindings are signed by their identity keys) with the tuple
  as associated data, and submits.
* **affirm** (as counterparty): fetches the opening sealed to it, decrypts
  it, checks that it opens T, that the terms are the ones it agreed
  (instrument, side, price, quantity when given) and that it never saw this
  T nor its blinding rho before (the seen sets -- commitments, which are
  public, and domain-separated hashes of the blindings -- are kept in a file
  between runs; a reused rho would give the node T1 - T2 = (q1 - q2) G),
  then signs
  the affirmation.  :meth:`Participant.affirm` reads the member's pending
  set to find the trade; a member affirming many trades follows its pending
  trades instead (:meth:`Participant.pending_feed`: one stream, each trade
  pushed once as it is captured, decrypted and checked once) and affirms
  what it gets with :meth:`Participant.affirm_checked` -- no re-read.
* **pipelines** (:meth:`Participant.pipeline`): up to a window of
  SubmitTrade / AffirmTrade calls in flight at once on the member's
  channel, each with its own request id and the same retries as one call
  (:class:`clearing.clients.retry.CallWindow`).
* **deposit / withdraw / fund / pay-assessment / cure**: signs the request
  tuple; for proofs it asks the prover service, which checks the signature
  and the replayed ledger before proving; then submits to the node.
* **status**: the public account (commitments, status) from the node and the
  member's own opened balances from the prover service.

Every call has a deadline, and a call failing with UNAVAILABLE or
RESOURCE_EXHAUSTED is sent again, the same request, with backoff
(:class:`clearing.clients.retry.Retrying`).  Request ids are random unless the
caller passes one; a retry passes the same id -- after DEADLINE_EXCEEDED
too, since the call may have been applied -- and gets the recorded result,
whatever happened since (:mod:`clearing.services.replay` on the node): a retried
trade with a fresh T and proof, a deposit in a later cycle.  Where a retry
cannot get that far because the prover now refuses what the first attempt
already did (a second withdrawal, a paid assessment), the client asks the
node for the recorded result of its request id (:meth:`Participant._with_proof`),
and a retried affirmation of a trade no longer offered sends the same
signed affirmation again (:meth:`Participant._affirm_again`).  Nothing
here prints a blinding.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import grpc

from clearing.api import clearing_pb2, clearing_pb2_grpc, common_pb2, convert, prover_pb2, prover_pb2_grpc
from clearing.clients.pending import PendingFeed
from clearing.clients.retry import CallWindow, Retrying
from clearing.protocol import signing
from clearing.protocol.fields import PROVER
from clearing.protocol.messages import (
    affirmation_message,
    assessment_payment_message,
    assessment_settlement_message,
    deposit_message,
    df_size_message,
    funding_message,
    trade_message,
    trade_tuple,
    withdrawal_message,
)
from clearing.protocol.relay import OpeningError, RelayError, open_opening, seal_opening
from clearing.protocol.statements import trade_statement
from clearing.services import rpc
from prover.statements import prove
from zkp.field import random_scalar
from zkp.generators import generators
from zkp.pedersen import Opening

#: Deadline for calls that make someone prove (seconds).
PROVE_TIMEOUT = 300.0


#: Failures a later retry may cure (the request may not have been processed).
_TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED,
                        grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED})


def _proof_fields(proof) -> dict:
    """The proof fields of a request: a prover's MemberProof, or none (a
    request the node answers only from its record)."""
    return {} if proof is None else {"ctx_seq": proof.ctx_seq, "proof": proof.proof}


class TradeRejected(Exception):
    """The relayed opening or the terms of a trade do not check out."""

    exit_code = 1


def blinding_tag(rho: int) -> str:
    """A domain-separated hash naming a trade blinding, kept to refuse a
    blinding seen before without storing the blinding itself."""
    return hashlib.sha256(b"zkclear.v1/seen-blinding" + int(rho).to_bytes(32, "big")).hexdigest()


def new_request_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(8)}"


@dataclass
class CheckedTrade:
    trade: dict
    quantity: int
    #: :func:`blinding_tag` of the opening's blinding (to refuse reuse)
    rho_tag: str = ""

    def __repr__(self) -> str:
        return f"CheckedTrade({self.trade['trade_id']!r}, status=checked)"


class SigningClient:
    """A party's client of the services: it signs with the party's identity
    key and closes its channels (``_channels``) together."""

    def __init__(self, identity):
        self.identity = identity
        self._channels: list = []

    def close(self) -> None:
        for ch in self._channels:
            ch.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _sign(self, msg) -> bytes:
        return signing.sign(self.identity.ed25519_private, *msg)


class Participant(SigningClient):
    def __init__(self, identity, roster, clearing_target: str, prover_target: str | None = None, *,
                 timeout: float = rpc.DEFAULT_TIMEOUT, prove_timeout: float = PROVE_TIMEOUT,
                 seen_path=None):
        if identity.role != "member":
            raise ValueError("a participant identity must be a member's")
        super().__init__(identity)
        self.name = identity.name
        self.roster = roster
        self._channels.append(rpc.channel(identity, clearing_target))
        #: the plain stub (streams that do not end, pipelined calls); :attr:`clearing` retries
        self.clearing_stub = clearing_pb2_grpc.ClearingServiceStub(self._channels[0])
        self.clearing = Retrying(self.clearing_stub, timeout)
        self.timeout = timeout
        #: guards the seen sets and their file (pipelined affirmations finish in gRPC's threads)
        self._seen_lock = threading.Lock()
        self.prover = None
        if prover_target is not None:
            self._channels.append(rpc.channel(identity, prover_target))
            self.prover = Retrying(prover_pb2_grpc.ProverServiceStub(self._channels[1]), prove_timeout)
        self.prove_timeout = prove_timeout
        self.seen_path = None if seen_path is None else Path(seen_path)
        self.seen_T: set[str] = set()
        #: tags of the blindings of every trade opening this member affirmed
        #: (a domain-separated hash, never the blinding itself)
        self.seen_rho: set[str] = set()
        if self.seen_path is not None and self.seen_path.exists():
            data = json.loads(self.seen_path.read_text(encoding="utf-8"))
            if isinstance(data, list):  # the first format: commitments only
                data = {"T": data, "rho": []}
            self.seen_T, self.seen_rho = set(data["T"]), set(data["rho"])

    def __repr__(self) -> str:
        return f"Participant({self.name!r})"

    def _prover(self):
        if self.prover is None:
            raise ValueError("no prover service endpoint configured")
        return self.prover

    # -- reads ----------------------------------------------------------------------
    def ledger_status(self) -> clearing_pb2.LedgerStatus:
        return self.clearing.GetLedgerStatus(clearing_pb2.LedgerStatusRequest())

    def account(self, member: str | None = None) -> common_pb2.Account:
        return self.clearing.GetAccount(common_pb2.MemberRequest(member=member or self.name))

    def balances(self) -> dict:
        b = self._prover().GetBalances(common_pb2.MemberRequest(member=self.name))
        out = {"cash": int(b.cash), "df": int(b.df), "pos": [int(p) for p in b.positions], "due": int(b.due)}
        if b.headroom:  # issue 14 §1: under a pre-trade set, the member's own headroom H
            out["headroom"] = int(b.headroom)
        return out

    def status(self) -> dict:
        a = self.account()
        out = {"member": self.name, "status": a.status, "version": a.version, "funded": a.funded}
        if self.prover is not None:
            out.update(self.balances())
        return out

    # -- retries ----------------------------------------------------------------------
    def _with_proof(self, request_id: str | None, prove, send):
        """``send(prove())``: the prover's proof, then the node.  When the
        caller gave the request id (a retry, perhaps) and that fails for good
        -- the prover now refuses what the first attempt already did, e.g. a
        second withdrawal of the same cash -- the node is asked for the
        result it recorded under that id: ``send(None)`` is the request
        without a proof, which the node answers only from its record
        (:mod:`clearing.services.replay`; else INVALID_ARGUMENT, nothing applied), and
        then the first failure stands."""
        try:
            return send(prove())
        except grpc.RpcError as exc:
            if request_id is None or exc.code() in _TRANSIENT:
                raise
            try:
                return send(None)
            except grpc.RpcError:
                raise exc from None

    def _affirm_again(self, trade_id: str, request_id: str) -> clearing_pb2.TradeStatus:
        """A retried affirmation of a trade the node no longer offers this
        member (affirmed, novated or expired since): the same signed
        affirmation, under the same request id, which the node answers with
        the result it recorded -- or refuses, applying nothing (a trade not
        offered cannot be affirmed anew; one still offered goes through every
        check of :meth:`affirm`)."""
        t = convert.trade(self.clearing.GetTrade(clearing_pb2.GetTradeRequest(trade_id=trade_id)).trade)
        if (t["seller"] if t["side"] == "buy" else t["buyer"]) != self.name:
            raise TradeRejected(f"trade {trade_id!r}: {self.name} is not its counterparty")
        sig = self._sign(affirmation_message(t, self.name))
        res = self.clearing.AffirmTrade(clearing_pb2.AffirmTradeRequest(
            request_id=request_id, trade_id=trade_id, member=self.name, signature=sig), timeout=self.prove_timeout)
        self.seen_T.add(t["T"])
        return res

    # -- registration ------------------------------------------------------------------
    def register(self, operator_signature: bytes, request_id: str | None = None) -> int:
        """Register this member's keys with the operator's admission signature."""
        me = self.roster.party(self.name)
        res = self.clearing.Register(clearing_pb2.RegisterRequest(
            request_id=request_id or new_request_id("reg"), member=self.name, identity_key=me.ed25519_public,
            relay_key=me.x25519_public, relay_signature=me.x25519_binding, operator_signature=operator_signature))
        return res.seq

    # -- money -----------------------------------------------------------------------
    def retry_trade(self, trade_id: str) -> clearing_pb2.TradeStatus:
        """Issue 14 §1: ask again for a pending trade refused for lack of
        pre-trade headroom (after this member's deposit): novated, or
        pending with the new refusal's short sides."""
        return self.clearing.RetryTrade(clearing_pb2.RetryTradeRequest(trade_id=trade_id, member=self.name))

    def deposit(self, amount: int, request_id: str | None = None, cycle: int | None = None) -> int:
        rid = request_id or new_request_id("dep")
        cycle = self.ledger_status().cycle if cycle is None else cycle
        sig = self._sign(deposit_message(self.name, amount, cycle, rid))
        return self.clearing.Deposit(clearing_pb2.DepositRequest(request_id=rid, member=self.name, amount=amount,
                                                                 cycle=cycle, signature=sig)).seq

    def fund(self, amount: int, epoch: int | None = None, request_id: str | None = None) -> int:
        """Fund the default-fund contribution out of cash (DESIGN §4), in the
        ledger's current epoch unless ``epoch`` is given."""
        rid = request_id or new_request_id("df")
        if epoch is None:
            epoch = self.ledger_status().epoch
        p = self._prover()
        df = p.PrepareFunding(prover_pb2.PrepareFundingRequest(request_id=rid, member=self.name, amount=amount)).df
        sig = self._sign(funding_message(self.name, epoch, df, rid))
        return self._with_proof(request_id, lambda: p.ProveFunding(prover_pb2.ProveFundingRequest(
            request_id=rid, member=self.name, df=df, epoch=epoch, signature=sig)),
            lambda proof: self.clearing.FundDefault(clearing_pb2.FundDefaultRequest(
                request_id=rid, member=self.name, df=df, epoch=epoch, signature=sig, **_proof_fields(proof)),
                timeout=self.prove_timeout)).seq

    def file_sizing(self, epoch: int | None = None, request_id: str | None = None) -> int:
        """The window's sizing / Cover-2 filing (issue 14 §4), after :meth:`fund`
        in the same window: the prover makes it, the node verifies it."""
        rid = request_id or new_request_id("size")
        if epoch is None:
            epoch = self.ledger_status().epoch
        sig = self._sign(df_size_message(self.name, epoch, rid))
        f = self._prover().ProveSizing(prover_pb2.ProveSizingRequest(
            request_id=rid, member=self.name, epoch=epoch, signature=sig), timeout=self.prove_timeout)
        return self.clearing.FileSizing(clearing_pb2.FileSizingRequest(
            request_id=rid, member=self.name, epoch=epoch, ctx_seq=f.ctx_seq, m=f.m, q=f.q,
            bound_proof=f.bound_proof, sizing_proof=f.sizing_proof, cover2_proof=f.cover2_proof, signature=sig),
            timeout=self.prove_timeout).seq

    def cover2_report(self) -> list[dict]:
        """The node's public Cover-2 adequacy report, one dict per closed window."""
        return [{"epoch": w.epoch, "cycle": w.cycle, "required": w.required, "total": w.total, "met": w.met,
                 "shortfall": w.shortfall}
                for w in self.clearing.GetCover2Report(clearing_pb2.Cover2ReportRequest()).windows]

    def withdraw(self, amount: int, request_id: str | None = None) -> int:
        rid = request_id or new_request_id("wd")
        cycle = self.ledger_status().cycle
        sig = self._sign(withdrawal_message(self.name, amount, cycle, rid))
        return self._with_proof(request_id, lambda: self._prover().ProveWithdrawal(prover_pb2.ProveWithdrawalRequest(
            request_id=rid, member=self.name, amount=amount, cycle=cycle, signature=sig)),
            lambda proof: self.clearing.Withdraw(clearing_pb2.WithdrawRequest(
                request_id=rid, member=self.name, amount=amount, cycle=cycle, signature=sig, **_proof_fields(proof)),
                timeout=self.prove_timeout)).seq

    def pay_assessment(self, index: int, amount: int, request_id: str | None = None) -> int:
        rid = request_id or new_request_id("assess")
        cycle = self.ledger_status().cycle
        sig = self._sign(assessment_payment_message(self.name, index, amount, cycle, rid))
        return self._with_proof(request_id, lambda: self._prover().ProveAssessmentPayment(
            prover_pb2.ProveAssessmentRequest(request_id=rid, member=self.name, index=index, amount=amount,
                                              cycle=cycle, signature=sig)),
            lambda proof: self.clearing.PayAssessment(clearing_pb2.PayAssessmentRequest(
                request_id=rid, member=self.name, index=index, amount=amount, cycle=cycle, signature=sig,
                **_proof_fields(proof)), timeout=self.prove_timeout)).seq

    def settle_assessment_from_cash(self, index: int, request_id: str | None = None) -> int:
        """Settle the committed assessment payable from hidden excess cash
        (DESIGN §6.4): nothing public moves.  The prover refuses
        (FAILED_PRECONDITION) when the account's excess does not cover it;
        then pay by a tagged deposit rounded up to the grid
        (:func:`clearing.ccp.scenario.grid_deposit`)."""
        rid = request_id or new_request_id("settle")
        cycle = self.ledger_status().cycle
        sig = self._sign(assessment_settlement_message(self.name, index, cycle, rid))
        return self._with_proof(request_id, lambda: self._prover().ProveAssessmentFromCash(
            prover_pb2.ProveAssessmentFromCashRequest(request_id=rid, member=self.name, index=index, cycle=cycle,
                                                      signature=sig)),
            lambda proof: self.clearing.SettleAssessment(clearing_pb2.SettleAssessmentRequest(
                request_id=rid, member=self.name, index=index, cycle=cycle, signature=sig,
                **_proof_fields(proof)), timeout=self.prove_timeout)).seq

    def cure(self, amount: int, request_id: str | None = None) -> int:
        """Deposit ``amount`` (if any) and ask for the re-proof of a call."""
        rid = request_id or new_request_id("cure")
        if amount:
            self.deposit(amount, request_id=rid + ".dep")
        return self.clearing.RequestCure(clearing_pb2.CureRequest(request_id=rid, member=self.name),
                                         timeout=self.prove_timeout).seq

    # -- trades ----------------------------------------------------------------------
    def make_trade(self, trade_id: str, counterparty: str, instrument: str, side: str, quantity: int,
                   price: int, *, rng=None, request_id: str | None = None,
                   status: clearing_pb2.LedgerStatus | None = None
                   ) -> tuple[clearing_pb2.SubmitTradeRequest, dict]:
        """Build (but do not send) the initiator's trade submission for the
        cycle of ``status`` (default: the ledger's now, one GetLedgerStatus;
        a member submitting many trades passes the status it read once --
        a trade made for a cycle that has closed since is refused, nothing
        applied).  ``rng`` is for tests only (reproducible blindings);
        production uses the CSPRNG."""
        if side not in ("buy", "sell"):
            raise ValueError("side must be 'buy' or 'sell'")
        if not 1 <= quantity <= 1 << 32:
            raise ValueError("quantity must be in [1, 2^32]")
        status = self.ledger_status() if status is None else status
        buyer, seller = (self.name, counterparty) if side == "buy" else (counterparty, self.name)
        rho = random_scalar(rng)
        T = generators().commit(quantity, rho)
        trade = {"trade_id": trade_id, "cycle": status.cycle, "buyer": buyer, "seller": seller,
                 "instrument": instrument, "side": side, "price": price, "T": T.encode().hex()}
        tup = trade_tuple(trade)
        st = trade_statement(status.cycle, status.cycle_seq, self.name, T, tup)
        proof = prove(st, [Opening(quantity, rho)], rng=rng).to_bytes()
        sig = self._sign(trade_message(trade))
        sealed_cp = seal_opening(self.roster.party(counterparty).x25519_public, quantity, rho, tup)
        sealed_pv = seal_opening(self.roster.party(PROVER).x25519_public, quantity, rho, tup)
        req = clearing_pb2.SubmitTradeRequest(request_id=request_id or new_request_id("trade"),
                                              trade=convert.trade_msg(trade), proof=proof, signature=sig,
                                              sealed_counterparty=sealed_cp, sealed_prover=sealed_pv)
        return req, trade

    def trade(self, trade_id: str, counterparty: str, instrument: str, side: str, quantity: int,
              price: int, *, request_id: str | None = None, rng=None) -> clearing_pb2.TradeStatus:
        req, _ = self.make_trade(trade_id, counterparty, instrument, side, quantity, price, rng=rng,
                                 request_id=request_id)
        return self.clearing.SubmitTrade(req, timeout=self.prove_timeout)

    def pending(self) -> list[CheckedTrade]:
        """Trades waiting for this member's affirmation, each decrypted and
        checked against its T (a forged or mismatching relay is skipped)."""
        out = []
        for p in self.clearing.StreamPendingTrades(common_pb2.MemberRequest(member=self.name)):
            try:
                out.append(self._check(p))
            except TradeRejected:
                continue
        return out

    def _check(self, p: clearing_pb2.PendingTrade) -> CheckedTrade:
        trade = convert.trade(p.trade)
        try:
            q, rho = open_opening(self.identity.x25519_private, p.sealed_opening, trade_tuple(trade))
        except (RelayError, OpeningError):
            raise TradeRejected(f"trade {trade['trade_id']!r}: the relayed opening does not decrypt") from None
        if generators().commit(q, rho).encode().hex() != trade["T"]:
            raise TradeRejected(f"trade {trade['trade_id']!r}: the opening does not match T")
        return CheckedTrade(trade, q, blinding_tag(rho))

    def affirm(self, trade_id: str, *, expect: dict | None = None,
               request_id: str | None = None) -> clearing_pb2.TradeStatus:
        """Affirm a pending trade after checking its opening and, if given,
        the expected terms (``instrument``, ``side``, ``price``, ``quantity``,
        ``counterparty``).  With ``request_id``, a trade no longer offered is
        a retry (:meth:`_affirm_again`).  Reads the member's pending set to
        find the trade; to affirm many, follow them (:meth:`pending_feed`)
        and use :meth:`affirm_checked`."""
        offered = [p for p in self.clearing.StreamPendingTrades(common_pb2.MemberRequest(member=self.name))
                   if p.trade.trade_id == trade_id]
        if not offered and request_id is not None:
            return self._affirm_again(trade_id, request_id)
        if not offered:
            raise TradeRejected(f"no checkable pending trade {trade_id!r} for {self.name}")
        return self.affirm_checked(self._check(offered[0]), expect=expect, request_id=request_id)

    def affirmation(self, c: CheckedTrade, *, expect: dict | None = None,
                    request_id: str | None = None) -> clearing_pb2.AffirmTradeRequest:
        """The signed affirmation of a checked trade, after the checks of
        :meth:`affirm` that need no call: T and the blinding never seen
        before, the expected terms.  Not sent (see :meth:`affirm_checked`)."""
        t = c.trade
        with self._seen_lock:
            if t["T"] in self.seen_T:
                raise TradeRejected("this trade commitment was seen before")
            if c.rho_tag in self.seen_rho:
                # DESIGN §5.2: with a reused blinding, T1 - T2 = (q1 - q2) G gives
                # the node the difference of two hidden sizes
                raise TradeRejected("this trade reuses a blinding seen before")
        for k, v in (expect or {}).items():
            got = {"quantity": c.quantity,
                   "counterparty": t["buyer"] if t["seller"] == self.name else t["seller"]}.get(k, t.get(k))
            if got != v:
                raise TradeRejected(f"trade {t['trade_id']!r}: {k} differs from the agreed terms")
        sig = self._sign(affirmation_message(t, self.name))
        return clearing_pb2.AffirmTradeRequest(request_id=request_id or new_request_id("aff"),
                                               trade_id=t["trade_id"], member=self.name, signature=sig)

    def affirm_checked(self, c: CheckedTrade, *, expect: dict | None = None,
                       request_id: str | None = None) -> clearing_pb2.TradeStatus:
        """Affirm a trade already fetched, decrypted and checked (from
        :meth:`pending_feed` or :meth:`pending`): the checks of
        :meth:`affirmation`, then AffirmTrade -- no read of the pending set."""
        res = self.clearing.AffirmTrade(self.affirmation(c, expect=expect, request_id=request_id),
                                        timeout=self.prove_timeout)
        self.remember(c)
        return res

    def remember(self, c: CheckedTrade) -> None:
        """Record an affirmed trade's T and blinding tag (and write the seen
        file when there is one)."""
        with self._seen_lock:
            self.seen_T.add(c.trade["T"])
            self.seen_rho.add(c.rho_tag)
            if self.seen_path is not None:
                tmp = self.seen_path.with_suffix(".tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump({"T": sorted(self.seen_T), "rho": sorted(self.seen_rho)}, f)
                os.replace(tmp, self.seen_path)

    def pending_feed(self, *, timeout: float | None = None) -> PendingFeed:
        """This member's pending trades as they are captured, each decrypted
        and checked once (:class:`clearing.clients.pending.PendingFeed`;
        iterate it, ``cancel()`` it from any thread)."""
        return PendingFeed(self.clearing_stub, self.name, self._check, rejected=TradeRejected, timeout=timeout)

    def pipeline(self, window: int = 8) -> TradePipeline:
        """Up to ``window`` SubmitTrade / AffirmTrade calls in flight at once
        (:class:`TradePipeline`)."""
        return TradePipeline(self, window)


class TradePipeline:
    """A member's pipelined trade calls: :meth:`submit` and :meth:`affirm`
    return futures at once (blocking only while ``window`` calls are in
    flight); each call keeps its request id and is retried like one call
    (:class:`clearing.clients.retry.CallWindow`), so every trade is applied
    once however often its call is sent.  ``drain()`` waits for them all."""

    def __init__(self, participant: Participant, window: int = 8):
        self.p = participant
        self.window = CallWindow(window)

    def __repr__(self) -> str:
        return f"TradePipeline({self.p.name!r}, window={self.window.size})"

    def reserve(self) -> None:
        """Wait until the window has room for one more call, and keep that
        room for the next ``submit(..., reserved=True)`` (a client that
        starts a trade only when it can send it)."""
        self.window.reserve()

    def submit(self, request: clearing_pb2.SubmitTradeRequest, *, reserved: bool = False) -> Future:
        """SubmitTrade (a request from :meth:`Participant.make_trade`); a
        future of its TradeStatus."""
        return self.window.call(self.p.clearing_stub.SubmitTrade, request, self.p.prove_timeout, reserved=reserved)

    def affirm(self, c: CheckedTrade, *, expect: dict | None = None, request_id: str | None = None) -> Future:
        """AffirmTrade of a checked trade (:meth:`Participant.affirmation`'s
        checks first, raising TradeRejected at once); a future of its
        TradeStatus.  The trade is remembered as seen once it is affirmed."""
        req = self.p.affirmation(c, expect=expect, request_id=request_id)
        fut = self.window.call(self.p.clearing_stub.AffirmTrade, req, self.p.prove_timeout)

        def affirmed(f: Future) -> None:
            if f.exception() is None:
                self.p.remember(c)

        fut.add_done_callback(affirmed)
        return fut

    def drain(self) -> None:
        self.window.drain()


__all__ = ["Participant", "SigningClient", "CheckedTrade", "TradePipeline", "TradeRejected", "new_request_id"]
