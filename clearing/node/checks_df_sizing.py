"""Checks of default-fund sizing, Cover-2 and insolvency declarations
(issue 14 §4; formats in :mod:`clearing.protocol.df_sizing`, statements in
:mod:`zkp.df_sizing`).

``df-size`` (a member's filing in the current funding window, after its
``df-fund``): the ccp section carries sizing or Cover-2; the member is
active, filed its ``df-fund`` in this window and no ``df-size`` yet; trading
phase, no default event in progress; ``ctx_seq`` is the account version; the
member's signature over (member, epoch, request id); then

* sizing on: C(m), C(q) points (C(m) not the identity) and both proofs
  verify in one batch -- DfBound over C(m) with the account's positions
  under the current margin scenario set (matrix, id, model; the no-move row
  alone before the first set), DfSizing over the account's df (the new
  contribution) with f from the ccp section; sizing off: m, q and both
  proofs empty;
* Cover-2 on: the Cover2 proof verifies over the account's cash (the
  post-funding cash) and positions with the stress set and tau; off: empty.

``df-epoch`` (:func:`check_window_sized`, called by the epoch check): with
either on, every member not in default filed its ``df-size``.

``default-insolvency``: the cycle is current, the member is admitted and not
in default, the reason is 1..256 printable characters, no default event is
in progress, and the operator's signature over (cycle, member, reason)
verifies.  A retry of the same request id returns the recorded result
(the engine's idempotency); another id for a member already in default is
FailedPrecondition.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from clearing.protocol import events as ev
from clearing.protocol.df_sizing import (
    bound_statement,
    check_reason,
    cover2_of,
    cover2_statement,
    df_size_message,
    enabled,
    insolvency_message,
    sizing_of,
    sizing_statement,
)
from clearing.protocol.errors import FailedPrecondition, InvalidArgument
from clearing.protocol.fields import STATUS_ACTIVE, STATUS_DEFAULTED, _hexbytes, _ident, _int, _point
from clearing.protocol.messages import _verify_sig
from verifier.df_sizing import verify_cover2, verify_sizing
from zkp.errors import VerificationError
from zkp.statements import StatementError

if TYPE_CHECKING:
    from clearing.node.core import Core


def check_df_size(core: Core, b: ev.DfSize) -> None:
    s = core.state
    ccp = core._cfg()["ccp"]
    if not enabled(ccp):
        raise FailedPrecondition("the CCP parameters ask for no default-fund sizing or Cover-2 filing")
    a = core._member(b.member)
    _int("epoch", b.epoch, 0, 1 << 64)
    _ident("request id", b.request_id)
    if a.status != STATUS_ACTIVE:
        raise FailedPrecondition("only an active member files a sizing")
    if b.epoch != s.epoch:
        raise FailedPrecondition(f"sizing is for epoch {b.epoch}, the current epoch is {s.epoch}")
    if not a.funded:
        raise FailedPrecondition("file the contribution (df-fund) of this window first")
    if b.member in s.books.get("sized", []):
        raise FailedPrecondition("this member already filed its sizing in this funding window")
    if s.phase != "trading":
        raise FailedPrecondition("sizing is filed in the trading phase only")
    if s.dm is not None or s.pending_defaults:
        raise FailedPrecondition("a default event is in progress: contributions are frozen")
    if b.ctx_seq != a.version:
        raise FailedPrecondition("sizing proof is for a stale account version")
    fraction, cover2 = sizing_of(ccp), cover2_of(ccp)
    if fraction is None:
        if b.m or b.q or b.bound_proof or b.sizing_proof:
            raise InvalidArgument("no sizing fraction: m, q and the sizing proofs must be empty")
    else:
        m = _point("m", b.m)
        q = _point("q", b.q, allow_identity=True)
    if cover2 is None and b.cover2_proof:
        raise InvalidArgument("no Cover-2 stress set: the Cover-2 proof must be empty")
    _verify_sig(a.key, df_size_message(b.member, b.epoch, b.request_id), b.sig, b.member)
    version, cycle = a.version, s.cycle
    try:
        if fraction is not None:
            bound = bound_statement(cycle, version, b.member, m, a.pos, s.scenario_set)
            sizing = sizing_statement(cycle, version, b.member, a.df, m, q, b.epoch, fraction)
            verify_sizing(bound, sizing, _hexbytes("bound proof", b.bound_proof),
                          _hexbytes("sizing proof", b.sizing_proof))
    except (VerificationError, StatementError):
        raise InvalidArgument("default-fund sizing proof does not verify") from None
    try:
        if cover2 is not None:
            verify_cover2(cover2_statement(cycle, version, b.member, a.cash, a.pos, cover2),
                          _hexbytes("Cover-2 proof", b.cover2_proof))
    except (VerificationError, StatementError):
        raise InvalidArgument("Cover-2 proof does not verify") from None


def check_window_sized(core: Core, members: Sequence[str]) -> None:
    """At a window's close: every member not in default filed its sizing."""
    if not enabled(core._cfg()["ccp"]):
        return
    sized = set(core.state.books.get("sized", []))
    missing = [m for m in members if m not in sized]
    if missing:
        raise FailedPrecondition(f"the funding window is open: {len(missing)} member(s) not in default have "
                                 "not filed their sizing yet")


def check_insolvency(core: Core, b: ev.DefaultInsolvency) -> None:
    core._check_cycle(b.cycle)
    _ident("request id", b.request_id)
    a = core._member(b.member)
    reason = check_reason(b.reason)
    _verify_sig(core._cfg()["keys"]["operator"], insolvency_message(b.cycle, b.member, reason), b.op_sig,
                "the operator")
    if a.status == STATUS_DEFAULTED:
        raise FailedPrecondition("the member is already in default")
    if core.state.dm is not None:
        raise FailedPrecondition("a default event is in progress; finish it first")


#: event kind -> its check ``(core, event) -> None`` (raises on a refusal)
CHECKS: dict[str, Callable[[Core, Any], None]] = {
    "df-size": check_df_size,
    "default-insolvency": check_insolvency,
}
