"""The auditor's replay: every event parsed and re-verified from scratch
(:meth:`clearing.node.core.Core.verify_event`), then folded."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from clearing.fold.apply import apply_event
from clearing.fold.snapshot import cycle_digest, snapshot, state_hash
from clearing.fold.state import Account, PointAlgebra, State
from clearing.node.core import Core
from clearing.node.engine import Engine
from clearing.node.reports import report_chart, report_table
from clearing.protocol.errors import (
    LedgerCorrupted,
    shown,
)
from clearing.protocol.events import EVENTS
from clearing.protocol.fields import (
    AUCTION,
    MAX_CYCLES,
    MAX_TRADES,
    NODE,
    OPERATOR,
    PROVER,
)
from clearing.protocol.messages import (
    admission_message,
    affirmation_message,
    assessment_payment_message,
    assessment_settlement_message,
    book_lots,
    ccp_parameters_message,
    closeout_message,
    default_message,
    deposit_message,
    digest_message,
    dm_open_message,
    epoch_message,
    funding_message,
    genesis_message,
    margin_batch_message,
    margin_proof_message,
    receipt_message,
    scenario_set_id,
    settlement_message,
    shares_message,
    trade_message,
    trade_tuple,
    withdrawal_message,
)
from clearing.protocol.statements import (
    assessment_cash_statement,
    epoch_statement,
    funding_statement,
    margin_statement,
    trade_statement,
    withdrawal_statement,
)
from zkp.errors import ZkclearError


# ---------------------------------------------------------------------------
# The auditor
# ---------------------------------------------------------------------------
@dataclass
class AuditReport:
    """What the auditor established by replaying the public ledger."""

    events: int
    cycles: int
    digests: list
    head: str
    state_hash: str


def audit(events: Iterable[tuple[int, dict]], *, operator_key: bytes | None = None,
          node_key: bytes | None = None) -> AuditReport:
    """Replay a public event list from scratch, re-verifying every signature
    and proof, recomputing every margin decision, the public invariants and
    every cycle digest (checking the node's signature on it) and the hash
    chain.  Raises LedgerCorrupted naming the first event that fails.

    ``operator_key`` / ``node_key`` (raw Ed25519 public keys the auditor
    trusts, e.g. from their certificates) anchor the replay: the genesis must
    name exactly these keys, otherwise a self-consistent ledger made up under
    other keys would pass."""
    from .ledger import GENESIS_HASH, chain_hash

    core = Core()
    core.head = GENESIS_HASH
    n = 0
    for seq, body in events:
        if seq != n + 1:
            raise LedgerCorrupted(f"event {n + 1} missing")
        if seq == 1:
            keys = body.get("config", {}).get("keys", {}) if isinstance(body, dict) else {}
            for name, want in (("operator", operator_key), ("node", node_key)):
                if want is not None and keys.get(name) != bytes(want).hex():
                    raise LedgerCorrupted(f"the ledger's genesis does not name the trusted {name} key")
        try:
            event = core.verify_event(body)
        except ZkclearError as exc:
            kind = body.get("kind") if isinstance(body, dict) else None
            label = kind if isinstance(kind, str) and kind in EVENTS else shown(kind)
            raise LedgerCorrupted(f"event {seq} ({label}) does not verify: {exc}") from None
        core.apply(seq, event)
        core.head = chain_hash(core.head, seq, body)
        n = seq
    return AuditReport(n, len(core.state.digests), list(core.state.digests), core.head.hex(),
                       state_hash(core.state).hex())


__all__ = [
    "Engine", "Core", "State", "Account", "PointAlgebra", "apply_event", "snapshot", "state_hash",
    "cycle_digest", "audit", "AuditReport", "book_lots", "closeout_message", "dm_open_message",
    "shares_message", "assessment_payment_message", "assessment_settlement_message", "assessment_cash_statement",
    "epoch_message", "epoch_statement", "report_table", "report_chart", "AUCTION", "trade_tuple", "trade_message",
    "affirmation_message", "receipt_message", "deposit_message", "funding_message", "withdrawal_message",
    "settlement_message", "margin_batch_message", "margin_proof_message", "default_message", "ccp_parameters_message",
    "digest_message", "genesis_message",
    "admission_message", "scenario_set_id", "margin_statement", "withdrawal_statement", "funding_statement",
    "trade_statement", "MAX_CYCLES", "MAX_TRADES", "PROVER", "OPERATOR", "NODE",
]
