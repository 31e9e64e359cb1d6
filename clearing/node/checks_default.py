"""Checks of the default phase's events (default, dm-open, dm-closeout,
dm-shares -- the pro-rata tranches and tranche 8's VM gains --,
assessment-pay, assessment-settle) against the state before the event; each
takes the parsed event (:mod:`clearing.protocol.events`: fields and types
already checked)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from clearing.fold.intraday import margin_basis
from clearing.node.checks_onboarding import _check_deposit_total
from clearing.protocol import events as ev
from clearing.protocol import signing
from clearing.protocol.errors import (
    FailedPrecondition,
    InvalidArgument,
    shown,
)
from clearing.protocol.fields import (
    AUCTION,
    STATUS_ACTIVE,
    STATUS_CALL,
    STATUS_DEFAULTED,
    STATUS_PAYMENT,
    _hexbytes,
    _ident,
    _int,
    _point,
)
from clearing.protocol.messages import (
    _verify_sig,
    assessment_payment_message,
    assessment_settlement_message,
    closeout_message,
    default_message,
    dm_open_message,
    shares_message,
)
from clearing.protocol.statements import (
    _proof,
    assessment_cash_statement,
    assessment_statement,
    disclosure_commitments,
    disclosure_labels,
    disclosure_statement,
    shares_statement,
    shares_total_statement,
    snapshot_statement,
)
from clearing.protocol.vm_gains import (
    GAIN_KEY,
    GAINS,
    VM_KEY,
    VM_PURPOSES,
    gains_statements,
    haircut_statement,
    total_statement,
)
from verifier.statements import verify, verify_reveals
from verifier.vm_gains import verify_vm_gains
from zkp.errors import DecodeError, VerificationError
from zkp.statements import (
    MAX_PRICE,
    MAX_PUBLIC_AMOUNT,
    MAX_REVEAL,
    RevealProofs,
    StatementError,
    StatementProof,
)
from zkp.vm_gains import VmGainsProof

if TYPE_CHECKING:
    from clearing.node.core import Core


def check_default(core: Core, b: ev.Default) -> None:
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    a = core._member(b.member)
    _verify_sig(core._cfg()["keys"]["operator"], default_message(b.cycle, b.member), b.op_sig,
                "the operator")
    if a.status not in (STATUS_CALL, STATUS_PAYMENT) and not (a.status == STATUS_ACTIVE and a.due is not None):
        raise FailedPrecondition("only a called member or one with an unpaid assessment can be declared in default")
    if core.state.dm is not None:
        raise FailedPrecondition("a default event is in progress; finish it first")


def _dm(core: Core, index) -> dict:
    dm = core.state.dm
    if dm is None or index != dm["index"]:
        raise FailedPrecondition("no such default event in progress")
    return dm


# -- dm-open --------------------------------------------------------------------------
def check_dm_open(core: Core, b: ev.DmOpen) -> None:
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    s = core.state
    if s.dm is not None or not s.pending_defaults:
        raise FailedPrecondition("no declared default waiting to be processed")
    open_calls = sorted(m for m, a in s.members.items() if a.status in (STATUS_CALL, STATUS_PAYMENT))
    if open_calls:
        raise FailedPrecondition(f"open margin calls {open_calls}: cure or declare them before the default event")
    if list(b.defaulters) != sorted(s.pending_defaults):
        raise InvalidArgument("the event must cover exactly the declared defaulters")
    survivors = sorted(m for m, a in s.members.items() if a.status != STATUS_DEFAULTED)
    if list(b.survivors) != survivors:
        raise InvalidArgument("the survivors are every member not in default")
    _check_disclosures(core, b)
    proof = _check_snapshot_total(core, b, survivors)
    _verify_sig(core._cfg()["keys"]["prover"],
                dm_open_message(b.cycle, b.defaulters, survivors, b.D0, b.disclosures, proof),
                b.sig, "the prover service")


def _check_disclosures(core: Core, b: ev.DmOpen) -> None:
    """One disclosure per defaulter, revealing every one of its accounts
    (reveal proofs against the node's commitments)."""
    s = core.state
    if sorted(b.disclosures) != list(b.defaulters):
        raise InvalidArgument("one disclosure per defaulter")
    ids = s.instrument_ids()
    for m in b.defaulters:
        a = s.members[m]
        d = b.disclosures[m]
        if len(d["values"]) != len(disclosure_labels(a, ids)):
            raise InvalidArgument("a disclosure reveals every account of the defaulter")
        for v in d["values"]:
            _int("disclosed value", v, -MAX_PUBLIC_AMOUNT + 1, MAX_PUBLIC_AMOUNT)
        try:
            st = disclosure_statement(b.cycle, m, a, disclosure_commitments(a), d["values"], ids)
            verify_reveals(st, RevealProofs.from_bytes(_hexbytes("proof", d["proof"]), len(d["values"])))
        except (VerificationError, DecodeError, StatementError):
            raise InvalidArgument(f"disclosure of {shown(m)} does not verify") from None


def _check_snapshot_total(core: Core, b: ev.DmOpen, survivors: list) -> bytes:
    """The survivors' snapshot total D0 and its aggregate opening (none
    with no survivors).  Returns the proof bytes."""
    s = core.state
    _int("D0", b.D0, 0, MAX_PUBLIC_AMOUNT)
    proof = _hexbytes("D0 proof", b.D0_proof)
    if survivors:
        try:
            st = snapshot_statement(b.cycle, s.seq, survivors, [s.members[m].df for m in survivors], b.D0)
            verify_reveals(st, RevealProofs.from_bytes(proof, 1))
        except (VerificationError, DecodeError, StatementError):
            raise InvalidArgument("the opening of D0 does not verify") from None
    elif b.D0 != 0 or proof:
        raise InvalidArgument("with no survivors D0 is 0 and has no proof")
    return proof


# -- dm-closeout ----------------------------------------------------------------------
#: most lots a close-out may book
MAX_LOTS = 4096


def check_dm_closeout(core: Core, b: ev.DmCloseout) -> None:
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    dm = _dm(core, b.index)
    if dm["stage"] != "disclosed":
        raise FailedPrecondition("this default event is already closed out")
    insts = core._cfg()["instruments"]
    if len(b.prices) != len(insts):
        raise InvalidArgument("one close-out price per instrument")
    for p, inst in zip(b.prices, insts):
        _int("close-out price", p, 1, MAX_PRICE)
        if p % inst["tick"]:
            raise InvalidArgument("close-out price is not a multiple of the tick")
    _check_lots(core, b.lots, dm)
    _verify_sig(core._cfg()["keys"]["operator"], closeout_message(b.cycle, b.index, b.prices, b.lots),
                b.op_sig, "the operator")


def _check_lots(core: Core, lots, dm: dict) -> None:
    """Auction lots to active members (or the public auction book) that take
    over exactly the defaulters' disclosed positions: the house is flat."""
    if len(lots) > MAX_LOTS:
        raise InvalidArgument(f"at most {MAX_LOTS} lots")
    ids = core.state.instrument_ids()
    moved = [0] * len(ids)
    for lot in lots:
        if lot["winner"] != AUCTION:
            w = core._member(lot["winner"])
            if w.status != STATUS_ACTIVE:
                raise FailedPrecondition(f"auction winner {shown(lot['winner'])} is not an active member")
        i = core.state.instrument_index(lot["instrument"])
        _int("lot quantity", lot["quantity"], -(1 << 52) + 1, 1 << 52)
        if lot["quantity"] == 0:
            raise InvalidArgument("a lot has a non-zero quantity")
        moved[i] += lot["quantity"]
    expected = [sum(dm["disclosed"][m]["pos"][i] for m in dm["defaulters"]) for i in range(len(ids))]
    if moved != expected:
        raise InvalidArgument("the lots must take over exactly the defaulters' positions (house left flat)")


# -- dm-shares ------------------------------------------------------------------------
def _shares_head(core: Core, b: ev.DmShares, allow_identity: bool) -> tuple[dict, list]:
    """The checks every allocation shares: a pending purpose, its amount,
    one canonical commitment per survivor.  Returns (event, commitments)."""
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    dm = _dm(core, b.index)
    if b.purpose not in dm.get("need", {}):
        raise FailedPrecondition(f"no {shown(b.purpose)} allocation is pending in this default event")
    if b.R != dm["need"][b.purpose]:
        raise InvalidArgument("the allocated amount differs from the pending tranche")
    if len(b.shares) != len(dm["survivors"]):
        raise InvalidArgument("one share per survivor")
    shares = [_point("share", h, allow_identity=allow_identity) for h in b.shares]
    if [p.encode().hex() for p in shares] != list(b.shares):
        raise InvalidArgument("shares must be canonical lower-case hex")
    return dm, shares


def _check_shares_sig(core: Core, b: ev.DmShares, proof: bytes, total_proof: bytes) -> None:
    _verify_sig(core._cfg()["keys"]["prover"],
                shares_message(b.cycle, b.index, b.purpose, b.R, b.shares, b.total, proof, total_proof),
                b.sig, "the prover service")


def check_dm_shares(core: Core, b: ev.DmShares) -> None:
    if b.purpose in VM_PURPOSES:
        check_vm_gains(core, b)
        return
    dm, shares = _shares_head(core, b, allow_identity=True)
    n = len(shares)
    _int("total", b.total, 0, b.R + 1)
    if b.R - b.total >= n:
        raise InvalidArgument("the rounding residual must be smaller than the number of survivors")
    dfs = [core.state.dm_snapshot[m] for m in dm["survivors"]]
    proof = _hexbytes("proof", b.proof)
    total_proof = _hexbytes("total proof", b.total_proof)
    try:
        st = shares_statement(b.cycle, dm["open_seq"], b.purpose, b.R, dm["D0"], dm["survivors"], dfs, shares)
        verify(st, StatementProof.from_bytes(proof, st))
        tst = shares_total_statement(b.cycle, dm["open_seq"], b.purpose, dm["survivors"], shares, b.total)
        verify_reveals(tst, RevealProofs.from_bytes(total_proof, 1))
    except (VerificationError, DecodeError, StatementError):
        raise InvalidArgument("the pro-rata shares do not verify") from None
    _check_shares_sig(core, b, proof, total_proof)


# -- tranche 8: VM gains haircutting ----------------------------------------------------
def check_vm_gains(core: Core, b: ev.DmShares) -> None:
    """``vm-gains``: the committed gains g_j = max(0, vm_j) against the
    dm-open snapshot of every survivor's VM (ranges and OR-proofs,
    :mod:`zkp.vm_gains`) and their opened total G (any value below 2^64).
    ``vm-gains-haircut``: the pro-rata shares h_j = floor(U*g_j/G) of the
    proven gains, their opened total within #survivors - 1 of U."""
    dm, shares = _shares_head(core, b, allow_identity=False)
    s = core.state
    survivors = dm["survivors"]
    proof = _hexbytes("proof", b.proof)
    total_proof = _hexbytes("total proof", b.total_proof)
    try:
        if b.purpose == GAINS:
            _int("total", b.total, 0, MAX_REVEAL)
            vms = [s.dm_snapshot[VM_KEY + m] for m in survivors]
            sts = gains_statements(b.cycle, dm["open_seq"], b.R, survivors, vms, shares)
            verify_vm_gains(sts, VmGainsProof.from_bytes(proof, sts))
        else:
            _int("total", b.total, 0, b.R + 1)
            if b.R - b.total >= len(survivors):
                raise InvalidArgument("the rounding residual must be smaller than the number of survivors")
            gains = [s.dm_snapshot[GAIN_KEY + m] for m in survivors]
            st = haircut_statement(b.cycle, dm["open_seq"], b.R, dm["G"], survivors, gains, shares)
            verify(st, StatementProof.from_bytes(proof, st))
        tst = total_statement(b.cycle, dm["open_seq"], b.purpose, survivors, shares, b.total)
        verify_reveals(tst, RevealProofs.from_bytes(total_proof, 1))
    except (VerificationError, DecodeError, StatementError):
        raise InvalidArgument(f"the {b.purpose} proofs do not verify") from None
    _check_shares_sig(core, b, proof, total_proof)


# -- assessments ----------------------------------------------------------------------
def check_assessment_pay(core: Core, b: ev.AssessmentPay) -> None:
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    a = core._member(b.member)
    if a.due is None or a.status != STATUS_ACTIVE:
        raise FailedPrecondition(f"member {shown(b.member)} has no assessment to pay")
    _int("event", b.index, 0, len(core.state.reports))
    _int("amount", b.amount, 1, MAX_PUBLIC_AMOUNT)
    _check_deposit_total(core, b.amount)
    if b.ctx_seq != a.version:
        raise FailedPrecondition("assessment proof is for a stale account version")
    msg = assessment_payment_message(b.member, b.index, b.amount, b.cycle, b.request_id)
    _verify_sig(a.key, msg, b.sig, b.member)
    st = assessment_statement(b.cycle, a.version, b.member, a.due, b.amount, signing.encode_tuple(*msg))
    try:
        verify(st, _proof(st, b.proof))
    except VerificationError:
        raise InvalidArgument("the assessment settlement proof does not verify") from None


def check_assessment_settle(core: Core, b: ev.AssessmentSettle) -> None:
    """Settlement of the payable from hidden cash (DESIGN §6.4): a margin
    proof on cash - due; nothing public moves."""
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    a = core._member(b.member)
    if a.due is None or a.status != STATUS_ACTIVE:
        raise FailedPrecondition(f"member {shown(b.member)} has no assessment to pay")
    _int("event", b.index, 0, len(core.state.reports))
    if core.state.scenario_set is None:
        raise FailedPrecondition("no scenario set has been published yet")
    if b.ctx_seq != a.version:
        raise FailedPrecondition("assessment proof is for a stale account version")
    msg = assessment_settlement_message(b.member, b.index, b.cycle, b.request_id)
    _verify_sig(a.key, msg, b.sig, b.member)
    st = assessment_cash_statement(b.cycle, a.version, b.member, a.cash, a.pos, margin_basis(core.state),
                                   a.due, signing.encode_tuple(*msg))  # issue 14 §1: the intraday basis if any
    try:
        verify(st, _proof(st, b.proof))
    except VerificationError:
        raise InvalidArgument("the proof that cash covers the assessment does not verify") from None


#: event kind -> its check ``(core, event) -> None`` (raises on a refusal)
CHECKS: dict[str, Callable[[Core, Any], None]] = {
    "default": check_default,
    "dm-open": check_dm_open,
    "dm-closeout": check_dm_closeout,
    "dm-shares": check_dm_shares,
    "assessment-pay": check_assessment_pay,
    "assessment-settle": check_assessment_settle,
}
