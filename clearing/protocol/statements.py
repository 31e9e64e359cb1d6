"""The statements the node and the prover build identically from ledger
state (DESIGN §5-§6): margin, withdrawal, funding, assessment settlement,
trade validity, disclosure, aggregate openings and pro-rata shares, each
bound to its ledger context (cycle, account version or event seq, member).

Margin-family builders read the model from the signed scenario set
(``scenario_set.get("model", {"kind": "scan"})``; ES: {"kind": "es", "k": k})
and share one validated matrix per set (:func:`scenario_matrix`).  Their
proofs decode with ``StatementProof.from_bytes(data, st)`` (a MarginProof:
aux commitments + range proofs) and verify with ``verify(st, proof)``.
"""
from __future__ import annotations

from collections.abc import Sequence

from clearing.protocol import signing
from clearing.protocol.errors import (
    InvalidArgument,
)
from clearing.protocol.fields import _hexbytes
from clearing.protocol.maintenance import tier_statement
from clearing.protocol.messages import default_message
from zkp.errors import DecodeError
from zkp.group import Point
from zkp.statements import (
    AggregateOpening,
    AssessmentFromCash,
    AssessmentSettlement,
    Context,
    DefaultFunding,
    Disclosure,
    Margin,
    MarginModel,
    ProRataShares,
    ScenarioMatrix,
    StatementError,
    StatementProof,
    TradeValidity,
    Withdrawal,
)

_MATRICES: list[tuple[object, ScenarioMatrix]] = []
_MATRIX_CACHE = 2  # a cycle uses one set; large sets are hundreds of MB


def scenario_matrix(scenario_set: dict) -> ScenarioMatrix:
    """The set's validated :class:`ScenarioMatrix`, built once per matrix
    object (the node's state keeps one dict per set): S x I validation, the
    column view the verifier folds with, computed once per cycle -- not once
    per member.  The caller has checked that the set's id is its hash."""
    raw = scenario_set["matrix"]
    if isinstance(raw, ScenarioMatrix):
        return raw
    for obj, m in _MATRICES:
        if obj is raw:
            return m
    m = ScenarioMatrix(raw)
    _MATRICES.insert(0, (raw, m))  # keeps raw alive, so its identity is not reused
    del _MATRICES[_MATRIX_CACHE:]
    return m


def margin_model(scenario_set: dict) -> MarginModel:
    """The set's signed margin model: {"kind": "scan"} when absent, or
    {"kind": "es", "k": k} (strict; StatementError otherwise)."""
    return MarginModel.from_dict(scenario_set.get("model", {"kind": "scan"}))


def margin_statement(cycle: int, version: int, member: str, cash: Point, positions: Sequence[Point],
                     scenario_set: dict, solvency_only: bool = False) -> Margin:
    """The member's margin statement under the set's model (scan or ES).
    For ES the proof carries the prover's T, E_s (MarginProof); verify with
    ``verifier.statements.verify(st, StatementProof.from_bytes(data, st))``
    -- it completes the statement with them."""
    st = Margin(Context(cycle, version, member.encode()), cash, tuple(positions),
                scenario_matrix(scenario_set), bytes.fromhex(scenario_set["id"]), solvency_only,
                model=margin_model(scenario_set))
    return tier_statement(st, scenario_set)  # under maintenance terms: the tier below IM (issue 14 §2)


def withdrawal_statement(cycle: int, version: int, member: str, cash: Point, positions: Sequence[Point],
                         scenario_set: dict, amount: int, request: bytes) -> Withdrawal:
    return Withdrawal(Context(cycle, version, member.encode()), cash, tuple(positions),
                      scenario_matrix(scenario_set), bytes.fromhex(scenario_set["id"]), False, amount, request,
                      model=margin_model(scenario_set))


def funding_statement(cycle: int, version: int, member: str, cash: Point, df: Point, epoch: int,
                      previous: Point) -> DefaultFunding:
    """A funding-window filing: the new contribution ``df`` replaces
    ``previous`` and the account stays solvent (see DefaultFunding)."""
    return DefaultFunding(Context(cycle, version, member.encode()), cash, df, epoch, previous)


def assessment_cash_statement(cycle: int, version: int, member: str, cash: Point, positions: Sequence[Point],
                              scenario_set: dict, due: Point, request: bytes) -> AssessmentFromCash:
    """Settling an assessment payable from hidden cash: margin on cash - due."""
    return AssessmentFromCash(Context(cycle, version, member.encode()), cash, tuple(positions),
                              scenario_matrix(scenario_set), bytes.fromhex(scenario_set["id"]), False, due, request,
                              model=margin_model(scenario_set))


def trade_statement(cycle: int, cycle_seq: int, initiator: str, T: Point, tuple_bytes: bytes) -> TradeValidity:
    """Trade validity is bound to Context(cycle, seq of the cycle's opening
    event, initiator) and to the full trade tuple (unique trade id)."""
    return TradeValidity(Context(cycle, cycle_seq, initiator.encode()), T, tuple_bytes)


CCP_CONTEXT = b"ccp"


def disclosure_labels(acct, instrument_ids: Sequence[str]) -> list[bytes]:
    """Labels of a defaulter's disclosed accounts, in value order: cash, df,
    the unpaid assessment payable if any, then every position."""
    due = [b"due"] if acct.due is not None else []
    return [b"cash", b"df", *due] + [b"pos:" + i.encode() for i in instrument_ids]


def disclosure_commitments(acct) -> list:
    return [acct.cash, acct.df] + ([acct.due] if acct.due is not None else []) + list(acct.pos)


def disclosed_values(acct, values: Sequence[int]) -> dict:
    """The public account of a defaulter from its disclosed values."""
    k = 3 if acct.due is not None else 2
    out = {"cash": values[0], "df": values[1], "pos": list(values[k:])}
    if acct.due is not None:
        out["due"] = values[2]
    return out


def disclosure_statement(cycle: int, member: str, acct, commitments, values, instrument_ids) -> Disclosure:
    """Bound to Context(cycle, account version, member) and to the operator's
    signed default declaration."""
    decl = signing.encode_tuple(*default_message(cycle, member))
    return Disclosure(Context(cycle, acct.version, member.encode()), decl,
                      tuple(disclosure_labels(acct, instrument_ids)), tuple(commitments), tuple(values))


def snapshot_statement(cycle: int, seq: int, survivors: Sequence[str], dfs, D0: int) -> AggregateOpening:
    """D0 = the survivors' snapshot total, opened over the full survivor set."""
    ms = tuple(m.encode() for m in survivors)
    return AggregateOpening(Context(cycle, seq, CCP_CONTEXT), b"default-fund-snapshot", ms, tuple(dfs), D0, ms)


def epoch_statement(epoch: int, window_seq: int, members: Sequence[str], dfs, D: int) -> AggregateOpening:
    """The group total D of a funding window, opened over every member not in
    default.  Bound to Context(epoch, seq of the event that opened the window,
    ccp) rather than to the cycle and the ledger head: the answer depends
    only on the window and on the (bound) df commitments, so the prover's
    recorded answer stays valid if unrelated events land before the node
    books it."""
    ms = tuple(m.encode() for m in members)
    return AggregateOpening(Context(epoch, window_seq, CCP_CONTEXT), b"default-fund-window", ms, tuple(dfs), D, ms)


def shares_statement(cycle: int, open_seq: int, purpose: str, R: int, D0: int, survivors, dfs, shares) -> ProRataShares:
    return ProRataShares(Context(cycle, open_seq, CCP_CONTEXT), purpose.encode(), R, D0,
                         tuple(m.encode() for m in survivors), tuple(dfs), tuple(shares))


def shares_total_statement(cycle: int, open_seq: int, purpose: str, survivors, shares, total: int) -> AggregateOpening:
    ms = tuple(m.encode() for m in survivors)
    return AggregateOpening(Context(cycle, open_seq, CCP_CONTEXT), purpose.encode() + b"-total", ms,
                            tuple(shares), total, ms)


def assessment_statement(cycle: int, version: int, member: str, due, amount: int, tag: bytes) -> AssessmentSettlement:
    return AssessmentSettlement(Context(cycle, version, member.encode()), due, amount, tag)


def _proof(st, data) -> StatementProof:
    try:
        return StatementProof.from_bytes(_hexbytes("proof", data), st)
    except (DecodeError, StatementError, ValueError) as exc:
        raise InvalidArgument(f"malformed proof: {exc}") from None
