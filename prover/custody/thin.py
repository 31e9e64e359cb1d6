"""Thin members: the prover service makes a member's trade commitment and
checks a counterparty's opening for it, so the member needs only gRPC, TLS
and Ed25519 (issue 15; ``ProverService.PrepareTrade`` / ``CheckAffirmation``).

**PrepareTrade** (:func:`prepare_trade`), for the initiator ``member``:

* checks the terms against the replayed ledger as the node will check the
  trade (the current cycle, both parties admitted and active, the
  instrument, the price in range and on its tick, 1 <= q < 2^32, the
  trade-count bound, an unused trade id) and refuses a member with
  :data:`MAX_OPEN_PREPARED` trades prepared in the cycle and not yet in the
  ledger (each record is kept for good: without a bound a member could
  fill the prover's store with trades it never submits);
* picks a fresh blinding rho from the CSPRNG (``zkp.field.random_scalar``;
  the store's ``rng`` in tests only), T = C(q, rho), builds the trade tuple
  (:func:`clearing.protocol.messages.trade_tuple`), proves TradeValidity
  bound to Context(cycle, cycle_seq, member) and the tuple, and seals the
  opening to the counterparty's admitted relay key and to the prover's own,
  with the tuple as associated data -- exactly what a thick initiator's
  client does (``clearing.clients.participant.Participant.make_trade``);
* records the answer before returning it, sealed at rest with the
  aggregate steps' answers (``on_answer``: the record holds the quantity),
  under the step ``("thin-trade", trade id)`` and the request id under
  ``("thin-request", member, request id)`` -- at rest first, then in
  memory, so a failed write (a full disk) leaves nothing behind.

A refusal records nothing: the trade id stays free for corrected terms.

One commitment per trade id, ever: a repeat with the same member and terms
(a retry, under any request id; only the first is recorded, so retries
cost no storage) returns the recorded answer -- never a
second T, which with the first would give T1 - T2 = (q1 - q2) G if the
blinding were reused, or two valid submissions for one intent if not.
Other terms under a recorded trade id, a request id reused for another
trade id, or a trade id the ledger holds without a record here are
:class:`~clearing.protocol.errors.AlreadyExists`.  The prover learns the
blinding only through the sealed copy the node pushes with the trade
(``WitnessStore.receive_opening``, which checks it like any other), so the
thin trade is booked exactly like a thick one.

**CheckAffirmation** (:func:`check_affirmation`), for the counterparty: the
prover answers from the opening it already holds for the pending trade --
its own sealed copy, which ``receive_opening`` checked against T, the signed
terms and every blinding it ever saw before signing the receipt -- with the
trade row, the quantity and the affirmation tuple to sign.  It never opens
the copy sealed to the member and holds no key of the member's.  A pending
trade whose opening the node has not pushed yet is :class:`NotYet` (the
service answers UNAVAILABLE, which clients retry).

Trust.  The prover already holds every opening (DESIGN §2), so it learns no
value it would not learn when the trade is booked; what is new is (a) the
quantity of a trade a thin member prepares and never submits, and (b) that a
thin member trusts the prover for the freshness of its blindings and for the
quantity it reports at affirmation (a thick member checks C(q, rho) = T
itself).  The member still signs every tuple itself: the prover cannot trade
or affirm for it.  docs/leakage.md states both.

Nothing here logs a value: the witness log gets (kind, member, cycle,
outcome); error messages name fields, never values.
"""
from __future__ import annotations

from dataclasses import dataclass
from weakref import WeakKeyDictionary

from clearing.protocol import signing
from clearing.protocol.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    shown,
)
from clearing.protocol.fields import MAX_TRADES, STATUS_ACTIVE, _ident, _int
from clearing.protocol.messages import TRADE_FIELDS, affirmation_message, trade_tuple
from clearing.protocol.relay import MAX_QUANTITY, seal_opening
from clearing.protocol.statements import trade_statement
from prover.custody.witness import WitnessStore, encode_answer, step_name
from prover.statements import prove
from zkp.field import random_scalar
from zkp.generators import generators
from zkp.pedersen import Opening
from zkp.statements import MAX_PRICE

#: Trades a member may have prepared in one cycle and not yet submitted
#: (booked trades and retries do not count; see the module docstring).
MAX_OPEN_PREPARED = 1024


class NotYet(FailedPrecondition):
    """The trade is pending but the prover holds no checked opening of it
    yet: the node pushes the opening sealed to the prover with the trade and
    retries in the background until the receipt is booked, so this passes
    (the service answers UNAVAILABLE: retry)."""


@dataclass(frozen=True)
class TradeTerms:
    """What a thin initiator asks the prover to commit to (the quantity is
    secret: never in ``repr``)."""

    member: str
    trade_id: str
    cycle: int
    counterparty: str
    instrument: str
    side: str
    price: int
    quantity: int

    def __repr__(self) -> str:
        return f"TradeTerms({self.trade_id!r}, member={self.member!r})"

    def public(self) -> dict:
        """The terms without the quantity (as recorded, compared on a repeat)."""
        return {"member": self.member, "trade_id": self.trade_id, "cycle": self.cycle,
                "counterparty": self.counterparty, "instrument": self.instrument, "side": self.side,
                "price": self.price}


@dataclass(frozen=True)
class PreparedTrade:
    """The prover's answer to PrepareTrade: the public trade row (T in
    ``trade["T"]``), the TradeValidity proof, the two sealed openings and
    the canonical tuple bytes the member signs."""

    trade: dict
    proof: bytes
    sealed_counterparty: bytes
    sealed_prover: bytes
    trade_tuple: bytes

    def __repr__(self) -> str:
        return f"PreparedTrade({self.trade['trade_id']!r})"


@dataclass(frozen=True)
class CheckedAffirmation:
    """The prover's answer to CheckAffirmation (the quantity goes to the
    counterparty only; never in ``repr``)."""

    trade: dict
    quantity: int
    affirmation_tuple: bytes

    def __repr__(self) -> str:
        return f"CheckedAffirmation({self.trade['trade_id']!r})"


def _check_terms(w: WitnessStore, t: TradeTerms) -> None:
    _ident("trade id", t.trade_id)
    _ident("counterparty", t.counterparty)
    _ident("instrument", t.instrument)
    if t.side not in ("buy", "sell"):
        raise InvalidArgument("side must be buy or sell")
    if isinstance(t.quantity, bool) or not isinstance(t.quantity, int) or not 1 <= t.quantity < MAX_QUANTITY:
        raise InvalidArgument("quantity out of range [1, 2^32)")
    _int("price", t.price, 1, MAX_PRICE)
    if t.counterparty == t.member:
        raise InvalidArgument("the counterparty must be another member")
    st = w.state
    if t.cycle != st.cycle:
        raise FailedPrecondition(f"cycle {t.cycle} is not the ledger's current cycle {st.cycle}")
    for who, name in (("member", t.member), ("counterparty", t.counterparty)):
        if name not in st.members:
            raise FailedPrecondition(f"{who} {shown(name)} is not admitted")
        if st.members[name].status != STATUS_ACTIVE:
            raise FailedPrecondition(f"{who} {shown(name)} is not active")
    i = st.instrument_index(t.instrument)  # NotFound for an instrument the ledger lacks
    if t.price % st.cfg()["instruments"][i]["tick"]:
        raise InvalidArgument("price is not a multiple of the instrument's tick")
    for name in (t.member, t.counterparty):
        if st.members[name].trades[i] >= MAX_TRADES:
            raise FailedPrecondition("trade count bound reached for this member and instrument")
    if open_prepared(w, t.member, t.cycle) >= MAX_OPEN_PREPARED:
        raise FailedPrecondition(f"{MAX_OPEN_PREPARED} trades prepared in this cycle are not submitted yet: "
                                 f"submit them (or let the cycle close) first")


#: Per witness store: (member, cycle) -> trade ids prepared and not yet seen
#: in the ledger (built from the recorded answers on first use).
_OPEN: WeakKeyDictionary[WitnessStore, dict[tuple[str, int], set[str]]] = WeakKeyDictionary()
_TRADE_STEP = step_name(("thin-trade", ""))[:-2]  # '["thin-trade","': the records' common prefix


def _open_index(w: WitnessStore) -> dict[tuple[str, int], set[str]]:
    index = _OPEN.get(w)
    if index is None:
        index = {}
        for name, rec in w.answers.items():
            if name.startswith(_TRADE_STEP) and "terms" in rec:
                key = (rec["terms"]["member"], rec["terms"]["cycle"])
                index.setdefault(key, set()).add(rec["terms"]["trade_id"])
        _OPEN[w] = index
    return index


def open_prepared(w: WitnessStore, member: str, cycle: int) -> int:
    """How many trades ``member`` prepared for ``cycle`` that the replayed
    ledger does not hold (yet)."""
    ids = _open_index(w).get((member, cycle), set())
    ids.difference_update([tid for tid in ids if tid in w.state.trades])
    return len(ids)


def _record(w: WitnessStore, step: tuple, answer: dict) -> None:
    """Record ``answer`` under ``step`` (sealed at rest via ``on_answer``,
    then in memory) before it is returned: a write that fails leaves no
    record behind."""
    name = step_name(step)
    if w.on_answer is not None:
        w.on_answer(name, encode_answer(answer))
    w.answers[name] = answer


def _prepared(rec: dict) -> PreparedTrade:
    return PreparedTrade(dict(rec["trade"]), rec["proof"], rec["sealed_counterparty"], rec["sealed_prover"],
                         rec["tuple"])


def prepare_trade(w: WitnessStore, terms: TradeTerms, request_id: str) -> PreparedTrade:
    """The thin initiator's trade: T, proof, sealed openings, tuple (module
    docstring); recorded, so a repeat returns the same answer."""
    _ident("request id", request_id)
    cycle = w.state.cycle
    by_request = w.answers.get(step_name(("thin-request", terms.member, request_id)))
    if by_request is not None and by_request["trade_id"] != terms.trade_id:
        w.log.append(("thin-trade", terms.member, cycle, "refused: request id reused"))
        raise AlreadyExists(f"request id {shown(request_id)} was used for another trade")
    rec = w.answers.get(step_name(("thin-trade", terms.trade_id)))
    if rec is not None:
        if rec["terms"] != terms.public() or rec["quantity"] != terms.quantity:
            w.log.append(("thin-trade", terms.member, cycle, "refused: other terms"))
            raise AlreadyExists(f"trade id {shown(terms.trade_id)} was prepared with other terms")
        w.log.append(("thin-trade", terms.member, cycle, "recorded answer returned"))
        return _prepared(rec)
    _check_terms(w, terms)
    if terms.trade_id in w.state.trades:
        raise AlreadyExists(f"trade id {shown(terms.trade_id)} already used")
    buyer, seller = ((terms.member, terms.counterparty) if terms.side == "buy"
                     else (terms.counterparty, terms.member))
    gens = generators()
    rho = random_scalar(w._rng)  # the store's rng: tests only; production passes None (CSPRNG)
    T = gens.commit(terms.quantity, rho)
    trade = {"trade_id": terms.trade_id, "cycle": cycle, "buyer": buyer, "seller": seller,
             "instrument": terms.instrument, "side": terms.side, "price": terms.price, "T": T.encode().hex()}
    tup = trade_tuple(trade)
    st = trade_statement(cycle, w.state.cycle_seq, terms.member, T, tup)
    proof = prove(st, [Opening(terms.quantity, rho)], rng=w._rng).to_bytes()
    cp_key = bytes.fromhex(w.state.account(terms.counterparty).relay_key)
    rec = {"terms": terms.public(), "quantity": terms.quantity, "request_id": request_id, "trade": trade,
           "proof": proof, "sealed_counterparty": seal_opening(cp_key, terms.quantity, rho, tup),
           "sealed_prover": seal_opening(w.relay_public, terms.quantity, rho, tup), "tuple": tup}
    # the request id first: recorded alone, it only names a trade id not prepared yet
    _record(w, ("thin-request", terms.member, request_id), {"trade_id": terms.trade_id})
    _record(w, ("thin-trade", terms.trade_id), rec)
    _open_index(w).setdefault((terms.member, cycle), set()).add(terms.trade_id)
    w.log.append(("thin-trade", terms.member, cycle, "prepared"))
    return _prepared(rec)


def check_affirmation(w: WitnessStore, member: str, trade_id: str) -> CheckedAffirmation:
    """The counterparty's check of a pending trade, from the opening the
    prover holds for it (module docstring)."""
    _ident("trade id", trade_id)
    t = w.state.trades.get(trade_id)
    if t is None:
        raise NotFound(f"unknown trade {shown(trade_id)}")
    counterparty = t["seller"] if t["side"] == "buy" else t["buyer"]
    if member != counterparty:
        raise PermissionDenied(f"{shown(member)} is not the counterparty of trade {shown(trade_id)}")
    if t["status"] != "pending":
        raise FailedPrecondition(f"trade {shown(trade_id)} is {t['status']}")
    op = w._known.get(t["T"])  # the opening receive_opening checked when it signed the receipt
    if op is None or generators().commit(op.value, op.blinding).encode().hex() != t["T"]:
        w.log.append(("thin-check", member, w.state.cycle, "no opening yet"))
        raise NotYet(f"the prover holds no checked opening of trade {shown(trade_id)} yet "
                     f"(the node still owes its receipt); retry")
    trade = {k: t[k] for k in TRADE_FIELDS}
    w.log.append(("thin-check", member, w.state.cycle, "checked"))
    return CheckedAffirmation(trade, op.value, signing.encode_tuple(*affirmation_message(trade, member)))


__all__ = ["MAX_OPEN_PREPARED", "NotYet", "TradeTerms", "PreparedTrade", "CheckedAffirmation", "prepare_trade",
           "check_affirmation", "open_prepared"]
