"""Pre-trade risk limit (issue 14 §1), OPT-IN: the set's flag, the set id
that covers it, the receipt message that covers the headroom proofs and the
statement builders.  Wired at engine level: the fold
(:mod:`clearing.fold.headroom`), the node's checks (margin-batch entries'
``headroom`` {H, proof}, the receipt's ``headroom`` {H_buyer, H_seller,
proof}) and the prover's custody (it commits H at the margin run and proves
the debit with the receipt, or signs a refusal), and the services
(ProverService.PushOpening's Receipt carries the debit or the refusal).

Format.  A scenario set (the ``settle`` event's ``scenario_set``, the
operator's signed set) may carry ``"pretrade": true``.  Absent: no
pre-trade limit and the set, its shape and its id are exactly as before
(:func:`set_id` is then :func:`clearing.protocol.maintenance.set_id`).
Only ``true`` is accepted (a set without the limit omits the key, so one
set has one encoding and one id).  The limit is defined for the scan model
only this session: a set with an ES model and ``pretrade`` is refused.

Set id.  With the flag, the SHA-256 of the canonical tuple
("scenario-set", [version, instruments, matrix, (model, k when not the
scan), (maintenance-num, maintenance-den, penalty-bps when the set has
maintenance terms), "pretrade" 1]) -- so the operator's settlement
signature, which covers the id, covers the flag, and every margin
transcript binds it through the id.

Rules (for the wiring; :mod:`zkp.headroom` has the relations).
* Margin run: each member's prover commits H and proves 0 <= H <= cash +
  P&L_s for every s (:func:`headroom_statement`, Context(cycle, settle seq,
  member) as the margin statement); the node stores C(H) per account.  A
  member without a headroom proof (called, liquidated, in default) has H =
  C(0) (the identity): it cannot trade until it deposits or the next run.
* Deposit d (public): H <- H + d*G.
* Novation of a trade (T = C(q), price p, instrument i, multiplier m,
  settlement price c_i): vm = (c_i - p)*m, w = w_i = max_s |A[s][i]|
  (:func:`worst_impacts`) -- under an intraday basis vm at the mark M_i and
  w = max(w_i, |u_i|), u_i = (M_i - c_i)*m (:mod:`clearing.protocol.intraday`,
  :func:`clearing.fold.headroom.terms`);  H_buyer <- H_buyer + (vm - w)*T,
  H_seller <- H_seller + (-vm - w)*T, only with a :class:`HeadroomDebit`
  proof that both are >= 0 (:func:`debit_statement`, Context(cycle, the
  cycle's opening seq, buyer); the statement binds both sides' current H,
  which the receipt names so that a stale proof is a FailedPrecondition),
  carried by the prover's receipt and covered by its signature
  (:func:`receipt_message`), applied at the receipt -- which novates the
  trade at once (below).  Only a receipt booked while the limit was off,
  for a trade still pending when a pre-trade set comes in force, is a
  reservation: debited at the new basis, carried over each run at the
  terms of the basis it installs, given back if the trade expires
  un-novated.  Without a debit proof (the prover refuses: "pre-trade
  headroom exhausted") the trade is not novated.  The prover's check (debit or
  refusal) comes only after the counterparty's affirmation (the node
  refuses both before it, FailedPrecondition; the prover does not answer):
  otherwise an initiator could lock another member's headroom with a trade
  it never agreed to, or probe it -- the initiator alone knows q, so each
  refusal naming the counterparty would bound its hidden H.  With the
  affirmation first a receipt novates at once.
* Settle under a pre-trade set, and an intraday run's marks: every H = 0
  (plus deposits) until the run's batch, any reservation (above) carried
  at the new terms -- the previous H knows neither the settle's VM nor the
  marks, so no debit is proven against it.
* Refusal: when a side would go negative the prover signs a **refusal**
  (:func:`refusal_message`: the trade tuple's hash, the short sides'
  member ids -- buyer first --, and both sides' current H as the node holds
  them) instead of a receipt; the node checks it against the pending trade
  and both current H and books a ``pretrade-refusal`` event (public: the
  trade id and which side was short, one bit about that member's hidden
  headroom; docs/leakage.md).  The trade stays pending (its opening is not
  kept by the prover): after a deposit a side asks again
  (ClearingService.RetryTrade) and the node pushes it once more; nothing
  else does, and it expires un-novated at the cycle's close otherwise.  A
  refusal against the same H twice is one event (the node's request id is
  derived from the trade id and both H); the books list each short side
  once per trade, however often it is refused again.
* Deposit d by a member not under a call: H <- H + d*G (a cure deposit of
  a called member, whose H is 0 until the next run, does not raise it:
  its excess after the cure is below the deposit).
* Withdrawal w: H <- H - w*G; df-fund filing: H <- H + df - df';
  assessment paid from cash (public due): H <- H - due*G; VM gains haircut
  (committed h_j): H <- H - C(h_j).  Every debit of hidden cash between two
  runs is a debit of H, so H never exceeds the member's excess.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from clearing.protocol import signing
from clearing.protocol.errors import InvalidArgument
from clearing.protocol.fields import sha256
from clearing.protocol.maintenance import KEY as MAINTENANCE_KEY
from clearing.protocol.maintenance import Terms
from clearing.protocol.maintenance import set_id as maintenance_set_id
from clearing.protocol.messages import receipt_message as plain_receipt_message
from clearing.protocol.messages import trade_tuple
from clearing.protocol.statements import margin_model, scenario_matrix
from zkp.group import Point
from zkp.headroom import Headroom, HeadroomDebit, headroom_of
from zkp.headroom import worst_impacts as _worst
from zkp.margin import Margin
from zkp.statements import Context

#: the set's key for the flag
KEY = "pretrade"
#: the refusal of a novation without headroom (FAILED_PRECONDITION)
EXHAUSTED = "pre-trade headroom exhausted"


def enabled(scenario_set: Mapping) -> bool:
    """Whether the set turns the pre-trade limit on; InvalidArgument for a
    malformed flag or a set that is not a scan set."""
    if KEY not in scenario_set:
        return False
    if scenario_set[KEY] is not True:
        raise InvalidArgument("pretrade must be true when present (omit it to turn the limit off)")
    model = scenario_set.get("model")
    if model is not None and model.get("kind", "scan") != "scan":
        raise InvalidArgument("the pre-trade limit is defined for the scan model only")
    return True


def set_id(version: int, instruments: Sequence[str], matrix, model: Mapping | None = None,
           terms: Mapping | None = None, pretrade: bool = False) -> bytes:
    """The scenario set id covering the flag (module docstring)."""
    if not pretrade:
        return maintenance_set_id(version, instruments, matrix, model, terms)
    if model is not None and model.get("kind", "scan") != "scan":
        raise InvalidArgument("the pre-trade limit is defined for the scan model only")
    fields: list[tuple[str, signing.Value]] = [
        ("version", version), ("instruments", list(instruments)), ("matrix", [list(r) for r in matrix])]
    if terms is not None:
        t = Terms.from_dict(terms)
        fields += [("maintenance-num", t.num), ("maintenance-den", t.den), ("penalty-bps", t.penalty_bps)]
    fields.append(("pretrade", 1))
    return sha256(signing.encode_tuple("scenario-set", fields))


def set_id_of(scenario_set: Mapping, instruments: Sequence[str]) -> bytes:
    """:func:`set_id` of a set dict (version, matrix, optional model, terms, flag)."""
    return set_id(scenario_set["version"], instruments, scenario_set["matrix"], scenario_set.get("model"),
                  scenario_set.get(MAINTENANCE_KEY), enabled(scenario_set))


def worst_impacts(scenario_set: Mapping) -> tuple[int, ...]:
    """w_i = max_s |A[s][i]| per instrument of the set (public)."""
    return _worst(scenario_set["matrix"])


def plain_margin(cycle: int, version: int, member: str, cash: Point, positions: Sequence[Point],
                 scenario_set: dict) -> Margin:
    """A member's plain, full scan margin statement (without the maintenance
    tier): what its headroom statement is built over."""
    return Margin(Context(cycle, version, member.encode()), cash, tuple(positions), scenario_matrix(scenario_set),
                  bytes.fromhex(scenario_set["id"]), False, model=margin_model(scenario_set))


def member_statement(cycle: int, version: int, member: str, cash: Point, positions: Sequence[Point],
                     scenario_set: dict, H: Point) -> Headroom:
    """A member's headroom statement at a margin run, for C(H)."""
    return headroom_of(plain_margin(cycle, version, member, cash, positions, scenario_set), H)


def headroom_statement(margin_st: Margin, H: Point) -> Headroom:
    """The member's headroom statement over its (full, scan) margin statement."""
    return headroom_of(margin_st, H)


def novation_vm(price: int, settlement_price: int, multiplier: int) -> int:
    """The buyer's novation VM per contract, (c_i - p)*m (the seller's is its negative)."""
    return (settlement_price - price) * multiplier


def debit_statement(cycle: int, trade_seq: int, trade: Mapping, H_buyer: Point, H_seller: Point,
                    w: int, vm: int) -> HeadroomDebit:
    """Both sides' debit at the trade's novation (module docstring)."""
    return HeadroomDebit(Context(cycle, trade_seq, trade["buyer"].encode()), H_buyer, H_seller,
                         Point.decode(bytes.fromhex(trade["T"])), w, vm, trade_tuple(trade))


def debited(H_buyer: Point, H_seller: Point, T: Point, w: int, vm: int) -> tuple[Point, Point]:
    """The fold's homomorphic update: (H_buyer + (vm - w)*T, H_seller + (-vm - w)*T)."""
    return H_buyer + T * (vm - w), H_seller + T * (-vm - w)


def refusal_message(trade: Mapping, members: Sequence[str], H_buyer: str, H_seller: str):
    """The prover's signed refusal of a trade's debit: the trade, the short
    sides (buyer first) and both sides' H (hex) it was refused against."""
    return "pretrade-refusal", [("trade-id", trade["trade_id"]), ("trade", sha256(trade_tuple(trade))),
                                ("members", list(members)), ("H-buyer", bytes.fromhex(H_buyer)),
                                ("H-seller", bytes.fromhex(H_seller))]


def receipt_message(trade: Mapping, headroom_proof: bytes | None = None):
    """The prover's receipt; with the limit on, it covers the headroom proof."""
    if headroom_proof is None:
        return plain_receipt_message(trade)
    name, fields = plain_receipt_message(trade)
    return name, [*fields, ("headroom-proof", sha256(bytes(headroom_proof)))]


__all__ = ["KEY", "EXHAUSTED", "enabled", "set_id", "set_id_of", "worst_impacts", "plain_margin", "member_statement",
           "headroom_statement", "novation_vm", "debit_statement", "debited", "refusal_message", "receipt_message"]
