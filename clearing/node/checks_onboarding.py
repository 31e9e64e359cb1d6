"""Checks of the onboarding phase's events (genesis, admit, deposit, df-fund,
df-epoch, ccp-params) against the state before the event; each takes the
parsed event (:mod:`clearing.protocol.events`: fields and types already
checked) and checks ranges, signatures, proofs and the state."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from clearing.node.checks_df_sizing import check_window_sized
from clearing.protocol import events as ev
from clearing.protocol import signing
from clearing.protocol.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    shown,
)
from clearing.protocol.fields import (
    _RESERVED,
    MAX_MEMBERS,
    PROVER,
    STATUS_ACTIVE,
    STATUS_DEFAULTED,
    _hexbytes,
    _ident,
    _int,
    _point,
)
from clearing.protocol.messages import (
    _check_ccp_parameters,
    _verify_sig,
    admission_message,
    ccp_parameters_message,
    deposit_message,
    epoch_message,
    funding_message,
    genesis_message,
)
from clearing.protocol.statements import _proof, epoch_statement, funding_statement
from verifier.statements import verify, verify_reveals
from zkp.errors import DecodeError, VerificationError
from zkp.statements import (
    MAX_INSTRUMENTS,
    MAX_MULTIPLIER,
    MAX_PRICE,
    MAX_PUBLIC_AMOUNT,
    RevealProofs,
    StatementError,
)

if TYPE_CHECKING:
    from clearing.node.core import Core


def check_genesis(core: Core, b: ev.Genesis) -> None:
    if core.state.config is not None:
        raise FailedPrecondition("genesis already happened")
    cfg = b.config
    _check_instruments(cfg["instruments"])
    _check_ccp_parameters(cfg["ccp"])
    keys = cfg["keys"]
    for k in ("operator", "prover", "prover_relay", "node"):
        _hexbytes(f"{k} key", keys[k], 32)
    try:
        signing.verify_kem_key(bytes.fromhex(keys["prover"]), PROVER, bytes.fromhex(keys["prover_relay"]),
                               _hexbytes("prover relay signature", keys["prover_relay_sig"], 64))
    except (signing.SignatureError, signing.KeyFormatError):
        raise InvalidArgument("the prover's relay key is not signed by its identity") from None
    _verify_sig(keys["operator"], genesis_message(cfg), b.op_sig, "the operator")


def _check_instruments(insts) -> None:
    """1..MAX_INSTRUMENTS (zkp.statements: 4,096) instruments with distinct
    ids, each in its bounds (the fields and their types were checked by the
    parse step)."""
    if not 1 <= len(insts) <= MAX_INSTRUMENTS:
        raise InvalidArgument(f"1..{MAX_INSTRUMENTS} instruments")
    ids = set()
    for inst in insts:
        ids.add(_ident("instrument id", inst["id"]))
        _int("multiplier", inst["multiplier"], 1, MAX_MULTIPLIER)
        _int("tick", inst["tick"], 1, MAX_PRICE)
        _int("price0", inst["price0"], 1, MAX_PRICE)
    if len(ids) != len(insts):
        raise InvalidArgument("duplicate instrument id")


def check_admit(core: Core, b: ev.Admit) -> None:
    mid = _ident("member", b.member)
    if mid in _RESERVED:
        raise InvalidArgument("reserved member id")
    if mid in core.state.members:
        raise AlreadyExists(f"member {shown(mid)} already admitted")
    if len(core.state.members) >= MAX_MEMBERS:
        raise FailedPrecondition("member limit reached")
    key = _hexbytes("key", b.key, 32)
    relay = _hexbytes("relay key", b.relay_key, 32)
    if any(a.key == key.hex() for a in core.state.members.values()):
        raise AlreadyExists("identity key already admitted")
    _verify_sig(core._cfg()["keys"]["operator"], admission_message(mid, key, relay), b.op_sig, "the operator")
    try:
        signing.verify_kem_key(key, mid, relay, _hexbytes("relay signature", b.relay_sig, 64))
    except (signing.SignatureError, signing.KeyFormatError):
        raise InvalidArgument("the member's relay key is not signed by its identity") from None


def _check_deposit_total(core: Core, amount: int) -> None:
    """All public deposits together stay below 2^63, so every balance a
    default may have to disclose stays within the reveal proof's bound
    (|v| < 2^64) whatever VM it earned (see the bounds above)."""
    if core.state.flows["deposits"] + amount >= MAX_PUBLIC_AMOUNT:
        raise FailedPrecondition("the ledger's public deposits would reach 2^63 minor units")


def check_deposit(core: Core, b: ev.Deposit) -> None:
    a = core._member(b.member)
    _int("amount", b.amount, 1, MAX_PUBLIC_AMOUNT)
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    if a.status == STATUS_DEFAULTED:
        raise FailedPrecondition("member is in default")
    _check_deposit_total(core, b.amount)
    _verify_sig(a.key, deposit_message(b.member, b.amount, b.cycle, b.request_id), b.sig, b.member)


def check_df_fund(core: Core, b: ev.DfFund) -> None:
    mid = b.member
    a = core._member(mid)
    _int("epoch", b.epoch, 0, 1 << 64)
    _ident("request id", b.request_id)
    if a.status != STATUS_ACTIVE:
        raise FailedPrecondition("only an active member may fund its default-fund contribution")
    if b.epoch != core.state.epoch:
        raise FailedPrecondition(f"funding is for epoch {b.epoch}, the current epoch is {core.state.epoch}")
    if a.funded:
        raise FailedPrecondition("this member already filed its contribution in this funding window; "
                                 "contributions change only in the next window")
    if core.state.phase != "trading":
        raise FailedPrecondition("default funding is allowed in the trading phase only")
    if core.state.dm is not None or core.state.pending_defaults:
        raise FailedPrecondition("a default event is in progress: contributions are frozen")
    df = _point("df", b.df)
    if df == a.df or df.is_identity():
        raise InvalidArgument("a funding needs a fresh commitment (re-randomised even when unchanged)")
    if b.ctx_seq != a.version:
        raise FailedPrecondition("funding proof is for a stale account version")
    _verify_sig(a.key, funding_message(mid, b.epoch, df.encode(), b.request_id), b.sig, mid)
    st = funding_statement(core.state.cycle, a.version, mid, a.cash, df, b.epoch, a.df)
    try:
        verify(st, _proof(st, b.proof))
    except VerificationError:
        raise InvalidArgument("default-funding proof does not verify") from None


def check_df_epoch(core: Core, b: ev.DfEpoch) -> None:
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    s = core.state
    if b.epoch != s.epoch:
        raise FailedPrecondition(f"the current epoch is {s.epoch}")
    if s.dm is not None or s.pending_defaults:
        raise FailedPrecondition("a default event is in progress")
    members = sorted(m for m, a in s.members.items() if a.status != STATUS_DEFAULTED)
    if not members or list(b.members) != members:
        raise InvalidArgument("the epoch total is opened over every member not in default")
    unfiled = [m for m in members if not s.members[m].funded]
    if unfiled:
        raise FailedPrecondition(f"the funding window is open: {len(unfiled)} member(s) not in default have "
                                 "not filed their contribution yet")
    check_window_sized(core, members)  # issue 14 §4: sized filings, when the ccp asks for them
    _int("D", b.D, 0, MAX_PUBLIC_AMOUNT)
    proof = _hexbytes("proof", b.proof)
    try:
        st = epoch_statement(s.epoch, s.epoch_seq, members, [s.members[m].df for m in members], b.D)
        verify_reveals(st, RevealProofs.from_bytes(proof, 1))
    except (VerificationError, DecodeError, StatementError):
        raise InvalidArgument("the opening of the epoch total does not verify") from None
    _verify_sig(core._cfg()["keys"]["prover"], epoch_message(b.cycle, b.epoch, members, b.D, proof),
                b.sig, "the prover service")


def check_ccp_params(core: Core, b: ev.CcpParams) -> None:
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    _check_ccp_parameters(b.parameters())
    _verify_sig(core._cfg()["keys"]["operator"],
                ccp_parameters_message(b.cycle, b.skin_in_the_game_1, b.skin_in_the_game_2,
                                       b.assessment_cap_multiple, b.request_id),
                b.op_sig, "the operator")
    if core.state.dm is not None or core.state.pending_defaults:
        raise FailedPrecondition("a default event is in progress; finish it first")


#: event kind -> its check ``(core, event) -> None`` (raises on a refusal)
CHECKS: dict[str, Callable[[Core, Any], None]] = {
    "genesis": check_genesis,
    "admit": check_admit,
    "deposit": check_deposit,
    "df-fund": check_df_fund,
    "df-epoch": check_df_epoch,
    "ccp-params": check_ccp_params,
}
