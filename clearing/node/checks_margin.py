"""Checks of the margin phase's events (margin-batch, margin-cure, withdraw)
against the state before the event; each takes the parsed event
(:mod:`clearing.protocol.events`: fields and types already checked).

The statements are built from the cycle's signed scenario set, whose model
(worst-case scan, or expected shortfall with k tail scenarios -- issue 13,
``scenario_set["model"]``) they carry; the classification is the same under
both: a verified full proof passes (scan: every scenario equity >= 0; ES:
cash >= 0 and k * cash >= the sum of the k largest losses), a verified
solvency-only proof (cash >= 0) is an IM call, no valid proof a payment
default candidate."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from clearing.fold.intraday import margin_basis
from clearing.protocol import events as ev
from clearing.protocol import headroom, signing
from clearing.protocol.encoding import content_hash
from clearing.protocol.errors import (
    FailedPrecondition,
    InvalidArgument,
    shown,
)
from clearing.protocol.fields import (
    STATUS_ACTIVE,
    STATUS_CALL,
    STATUS_DEFAULTED,
    STATUS_PAYMENT,
    _hexbytes,
    _ident,
    _int,
    _point,
)
from clearing.protocol.maintenance import terms_of
from clearing.protocol.messages import (
    _verify_sig,
    margin_batch_message,
    margin_proof_message,
    withdrawal_message,
)
from clearing.protocol.statements import _proof, margin_statement, withdrawal_statement
from verifier.headroom import verify_headroom
from verifier.statements import BatchVerificationError, verify, verify_many
from zkp.errors import DecodeError, VerificationError
from zkp.statements import (
    MAX_PUBLIC_AMOUNT,
    StatementError,
    StatementProof,
)

if TYPE_CHECKING:
    from clearing.node.core import Core


def margin_results(core: Core, cycle: int, entries: Sequence[Mapping], scenario_set: dict | None = None) -> dict:
    """Verify a cycle's margin proofs as one batch; name the culprits.

    Returns {member: "pass" | "call" | "payment"} for every member that is
    not in default: full proof verified -> pass; solvency-only proof
    verified -> call; no (valid) proof -> payment default candidate.
    ``scenario_set``: the set the statements are built over (default: the
    set in force; an intraday run's derived set, issue 14 §1)."""
    ss = core.state.scenario_set if scenario_set is None else scenario_set
    items, owners = [], []
    for e in entries:
        a = core.state.members[e["member"]]
        if e["ctx_seq"] != a.version:
            continue  # stale: treated as no proof
        st = margin_statement(cycle, a.version, e["member"], a.cash, a.pos, ss, e["solvency_only"])
        try:
            pr = StatementProof.from_bytes(bytes.fromhex(e["proof"]), st)
        except (DecodeError, StatementError, ValueError):
            continue
        items.append((st, pr))
        owners.append(e)
    failed: set[int] = set()
    if items:
        try:
            verify_many(items)
        except BatchVerificationError as exc:
            failed = set(exc.failed)
        except VerificationError:
            failed = set(range(len(items)))
    fail = "liquidate" if terms_of(ss or {}) else "payment"  # issue 14 §2
    res = {m: fail for m, a in core.state.members.items() if a.status != STATUS_DEFAULTED}
    for k, e in enumerate(owners):
        if k not in failed and e["member"] in res:
            res[e["member"]] = "call" if e["solvency_only"] else "pass"
    return dict(sorted(res.items()))


def check_entry_shapes(core: Core, entries: Sequence[Mapping]) -> None:
    """A batch's entries (margin or intraday): one per member, none for a
    member in default, a valid ctx_seq and proof hex."""
    seen = set()
    for e in entries:
        a = core._member(e["member"])
        if e["member"] in seen:
            raise InvalidArgument("one margin proof per member")
        seen.add(e["member"])
        if a.status == STATUS_DEFAULTED:
            raise FailedPrecondition(f"member {shown(e['member'])} is in default")
        _int("ctx_seq", e["ctx_seq"], 0, 1 << 64)
        _hexbytes("proof", e["proof"])


def check_margin_batch(core: Core, b: ev.MarginBatch) -> None:
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    if core.state.phase != "margin" or core.state.margin_done:
        raise FailedPrecondition("margin proofs are collected once per cycle, after settlement")
    entries = b.entries
    check_entry_shapes(core, entries)
    _verify_sig(core._cfg()["keys"]["prover"], margin_batch_message(b.cycle, entries), b.sig,
                "the prover service")
    cached = core._batch_cache
    core._batch_cache = None
    if cached is not None and cached[0] == (core.state.seq, content_hash(entries)):
        results = cached[1]  # computed by submit_margin_batch on this very state
    else:
        results = margin_results(core, b.cycle, entries)
    if b.results != results:
        raise InvalidArgument("margin results do not match the verified proofs")
    check_headroom_entries(core, b.cycle, entries, results)


def check_headroom_entries(core: Core, cycle: int, entries: Sequence[Mapping], results: Mapping,
                           scenario_set: dict | None = None) -> None:
    """Issue 14 §1: under a pre-trade set, an entry may carry the member's
    committed headroom H with its proof (0 <= H <= cash + P&L_s for every s),
    only beside a full proof that passed; without the flag no entry may."""
    ss = dict(core.state.scenario_set or {}) if scenario_set is None else dict(scenario_set)
    on = headroom.enabled(ss)
    for e in entries:
        h = e.get("headroom")
        if h is None:
            continue
        if not on:
            raise InvalidArgument("a headroom proof without a pre-trade scenario set")
        if e["solvency_only"] or results.get(e["member"]) != "pass":
            raise InvalidArgument("a headroom proof goes with a full margin proof that passes")
        a = core.state.members[e["member"]]
        H = _point("H", h["H"])
        if H.encode().hex() != h["H"]:
            raise InvalidArgument("H must be the canonical lower-case hex encoding of a point")
        st = headroom.member_statement(cycle, a.version, e["member"], a.cash, a.pos, ss, H)
        try:
            verify_headroom(st, _hexbytes("headroom proof", h["proof"]))
        except VerificationError:
            raise InvalidArgument(f"the headroom proof of {shown(e['member'])} does not verify") from None


def check_margin_cure(core: Core, b: ev.MarginCure) -> None:
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    a = core._member(b.member)
    if a.status not in (STATUS_CALL, STATUS_PAYMENT):
        raise FailedPrecondition(f"member {shown(b.member)} is not called")
    if b.solvency_only and a.status != STATUS_PAYMENT:
        raise FailedPrecondition("a solvency-only proof only turns a payment default into an IM call")
    if core.state.margin.get(b.member) == "liquidate":  # issue 14 §2: liquidated at once, no cure window
        raise FailedPrecondition(f"member {shown(b.member)} failed maintenance and is liquidated, not cured")
    if b.ctx_seq != a.version:
        raise FailedPrecondition("margin proof is for a stale account version")
    proof = _hexbytes("proof", b.proof)
    _verify_sig(core._cfg()["keys"]["prover"],
                margin_proof_message(b.cycle, b.member, b.solvency_only, b.ctx_seq, proof),
                b.sig, "the prover service")
    st = margin_statement(b.cycle, a.version, b.member, a.cash, a.pos, margin_basis(core.state),
                          b.solvency_only)  # issue 14 §1: an intraday call is cured on the intraday basis
    try:
        verify(st, _proof(st, proof))
    except VerificationError:
        raise InvalidArgument("margin proof does not verify") from None


def check_withdraw(core: Core, b: ev.Withdraw) -> None:
    mid = b.member
    a = core._member(mid)
    _int("amount", b.amount, 1, MAX_PUBLIC_AMOUNT)
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    if a.status != STATUS_ACTIVE:
        raise FailedPrecondition(f"member {shown(mid)} is {a.status} and may not withdraw")
    if core.state.scenario_set is None:
        raise FailedPrecondition("no scenario set published yet")
    if a.due is not None:
        raise FailedPrecondition(f"member {shown(mid)} has an unpaid assessment")
    if b.ctx_seq != a.version:
        raise FailedPrecondition("withdrawal proof is for a stale account version")
    msg = withdrawal_message(mid, b.amount, b.cycle, b.request_id)
    _verify_sig(a.key, msg, b.sig, mid)
    st = withdrawal_statement(b.cycle, a.version, mid, a.cash, a.pos, margin_basis(core.state),
                              b.amount, signing.encode_tuple(*msg))  # issue 14 §1: the intraday basis if any
    try:
        verify(st, _proof(st, b.proof))
    except VerificationError:
        raise InvalidArgument("withdrawal proof does not verify") from None


#: event kind -> its check ``(core, event) -> None`` (raises on a refusal)
CHECKS: dict[str, Callable[[Core, Any], None]] = {
    "margin-batch": check_margin_batch,
    "margin-cure": check_margin_cure,
    "withdraw": check_withdraw,
}
