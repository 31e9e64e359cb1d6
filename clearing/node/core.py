"""The node's state machine: state on commitments plus the checks of every
event kind, by lifecycle phase (``clearing.node.checks_*``).

Events reach the checks and the fold typed: :meth:`Core.verify_event` parses
a body once (:func:`clearing.protocol.events.parse`: exact fields, JSON
types) and hands the :class:`~clearing.protocol.events.Event` to the check
of its kind (the phase registry :data:`CHECKS`), which checks ranges,
signatures, proofs and the state."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from clearing.fold.apply import apply_event
from clearing.fold.snapshot import cycle_digest, state_hash
from clearing.fold.state import Account, PointAlgebra, State
from clearing.protocol.errors import (
    FailedPrecondition,
    InvalidArgument,
    LedgerCorrupted,
    shown,
)
from clearing.protocol.events import Event, parse
from clearing.protocol.fields import _RESERVED, MAX_CYCLES, _ident, _int


class Core:
    """State on commitments plus the verification of every event kind.

    ``verify_event(event)`` checks an event (typed, or a body it parses)
    against the current state and raises an engine error if it is not
    acceptable; ``margin-batch`` results and ``close`` digests are
    recomputed and must equal the event's.  ``apply(seq, event)`` folds it."""

    def __init__(self):
        self.alg = PointAlgebra()
        self.state = State()
        self._batch_cache = None
        self.head = b""  # chain hash of the last event (set by the owner)

    # -- generic -----------------------------------------------------------

    def _cfg(self) -> dict:
        if self.state.config is None:
            raise FailedPrecondition("the ledger has no genesis event")
        return self.state.config

    def _member(self, mid) -> Account:
        _ident("member", mid)
        if mid in _RESERVED:
            raise InvalidArgument("reserved member id")
        return self.state.account(mid)

    def _check_cycle(self, cycle) -> None:
        _int("cycle", cycle, 1, MAX_CYCLES)
        if cycle != self.state.cycle:
            raise FailedPrecondition(f"request is for cycle {cycle}, the ledger is in cycle {self.state.cycle}")

    def verify_event(self, event: Event | dict) -> Event:
        """Check ``event`` (a body is parsed first: the one parse step,
        :func:`clearing.protocol.events.parse`) against the current state;
        returns the typed event for :meth:`apply`."""
        if not isinstance(event, Event):
            event = parse(event)
        fn = CHECKS.get(event.kind)
        if fn is None:
            raise InvalidArgument(f"unknown event kind {shown(event.kind)}")
        if event.kind != "genesis":
            self._cfg()
        fn(self, event)
        return event

    def apply(self, seq: int, event: Event) -> None:
        """Fold a verified (typed) event into the state."""
        apply_event(self.state, seq, event, self.alg)

    def margin_results(self, cycle: int, entries: Sequence[Mapping]) -> dict:
        """The cycle's margin decisions from its proofs (see
        :func:`clearing.node.checks_margin.margin_results`)."""
        return _margin_results(self, cycle, entries)

    def check_invariants(self) -> None:
        """The public invariants of DESIGN §4 on the current state:
        positions (members plus the public auction book) net to zero per
        instrument; the cycle's VM (members plus the auction book's public
        VM) sums to zero; sum_j (cash_j + df_j - due_j) + residue equals
        G*(deposits - withdrawals - charges), where the residue is the sum of
        the pro-rata shares' zero-commitments (see State.residue); the public
        books balance."""
        s = self.state
        zero = self.alg.zero()
        members = [s.members[m] for m in sorted(s.members)]
        for i, inst in enumerate(s.instrument_ids()):
            total = self.alg.public(s.books["auction_pos"][i])
            for a in members:
                total = total + a.pos[i]
            if not total.is_identity():
                raise LedgerCorrupted(f"positions in {inst} do not net to zero")
        vm = zero
        for v in s.vm.values():
            vm = vm + v
        if not vm.is_identity():
            raise LedgerCorrupted("the cycle's VM commitments do not sum to zero")
        total = zero if s.residue is None else s.residue
        for a in members:
            total = total + a.cash + a.df
            if a.due is not None:
                total = total - a.due
        f, b = s.flows, s.books
        if total != self.alg.public(f["deposits"] - f["withdrawals"] - f["charges"]):
            raise LedgerCorrupted("cash and default fund do not match public deposits and withdrawals")
        if b["auction_cash"] + b["default_account"] != f["charges"] + b["ccp_capital"]:
            raise LedgerCorrupted("the public default-management books do not balance")

    def expected_digest(self) -> bytes:
        prev = bytes.fromhex(self.state.digests[-1]) if self.state.digests else bytes(32)
        return cycle_digest(self.state.cycle, prev, self.head, state_hash(self.state))


# The phase registry: event kind -> its check (each phase module lists its own).
from clearing.node import (  # noqa: E402
    checks_capture,
    checks_cycle,
    checks_default,
    checks_df_sizing,
    checks_intraday,
    checks_liquidation,
    checks_margin,
    checks_onboarding,
)
from clearing.node.checks_margin import margin_results as _margin_results  # noqa: E402

#: event kind -> its check ``(core, event) -> None``, over every phase
CHECKS: dict[str, Callable[[Core, Any], None]] = {
    **checks_onboarding.CHECKS, **checks_capture.CHECKS, **checks_cycle.CHECKS, **checks_margin.CHECKS,
    **checks_default.CHECKS, **checks_df_sizing.CHECKS, **checks_liquidation.CHECKS,
    **checks_intraday.CHECKS,  # issue 14 §1: intraday margin runs
}
