"""Maintenance margin and liquidation (issue 14 §2): the signed terms, the
scenario set id that covers them, the liquidation message and the
statement builder.

Format.  A scenario set (the ``settle`` event's ``scenario_set``, the
operator's signed set) may carry

    "maintenance": {"num": n, "den": d, "penalty_bps": b}

-- the maintenance ratio mu = n/d (1 <= n <= d <= 10^6, lowest terms; a
scenario file writes it as a decimal string, e.g. "0.8" -> 4/5, see
:func:`parse_ratio`) and the liquidation penalty rate b basis points of the
closed-out notional (0 <= b <= 10,000).  Absent: no maintenance tier (the
margin run's tiers are IM pass / IM call / payment default as before) and
the set, its shape and its id are exactly as before.  Maintenance is
defined for the scan model only: a set with both an ES model and
maintenance is refused.

Set id.  :func:`set_id` = :func:`clearing.protocol.messages.scenario_set_id`
when there are no terms; with terms, the SHA-256 of the canonical tuple
("scenario-set", [version, instruments, matrix, (model, k when not the
scan), "maintenance-num" n, "maintenance-den" d, "penalty-bps" b]) -- so the
operator's settlement signature, which covers the id, covers mu and b, and
every margin transcript binds them through the id.

Liquidation message.  ("liquidation", [cycle, member, request-id]) signed by
the operator: the request id is in the signed tuple so a signature is used
once (the node is idempotent by request id).

Penalty.  penalty = floor(b * notional / 10,000), notional = sum_i |q_i| *
c_i * multiplier_i over the liquidated positions q at the close-out prices c.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from clearing.protocol import signing
from clearing.protocol.errors import InvalidArgument
from clearing.protocol.fields import sha256
from clearing.protocol.messages import liquidation_message, scenario_set_id
from zkp.maintenance import MAX_RATIO_DEN, Maintenance, check_ratio, maintenance_of
from zkp.margin import Margin
from zkp.statements import StatementError

#: the largest liquidation penalty rate: 100 % of the notional
MAX_PENALTY_BPS = 10_000
#: basis points per unit
BPS = 10_000
#: the set's key for the terms
KEY = "maintenance"


@dataclass(frozen=True)
class Terms:
    """The signed maintenance terms: mu = num/den, the penalty rate in bps."""

    num: int
    den: int
    penalty_bps: int

    def __post_init__(self) -> None:
        try:
            check_ratio(self.num, self.den)
        except StatementError as exc:
            raise InvalidArgument(str(exc)) from None
        b = self.penalty_bps
        if isinstance(b, bool) or not isinstance(b, int) or not 0 <= b <= MAX_PENALTY_BPS:
            raise InvalidArgument(f"liquidation penalty must be an integer in [0, {MAX_PENALTY_BPS}] bps")

    @property
    def ratio(self) -> tuple[int, int]:
        return self.num, self.den

    def to_dict(self) -> dict[str, int]:
        return {"num": self.num, "den": self.den, "penalty_bps": self.penalty_bps}

    @classmethod
    def from_dict(cls, d: object) -> Terms:
        if not isinstance(d, Mapping) or set(d) != {"num", "den", "penalty_bps"}:
            raise InvalidArgument("maintenance terms are {num, den, penalty_bps}")
        return cls(d["num"], d["den"], d["penalty_bps"])


def parse_ratio(text: object) -> tuple[int, int]:
    """A decimal string (e.g. "0.8", "1", "0.755") as the exact fraction in
    lowest terms, 0 < mu <= 1, at most six fractional digits; InvalidArgument
    otherwise (floats are refused: write the ratio as a string)."""
    if not isinstance(text, str) or not text or len(text) > 32:
        raise InvalidArgument("maintenance ratio must be a decimal string such as \"0.8\"")
    try:
        d = Decimal(text)
    except InvalidOperation:
        raise InvalidArgument("maintenance ratio must be a decimal string such as \"0.8\"") from None
    if not d.is_finite():
        raise InvalidArgument("maintenance ratio must be finite")
    f = Fraction(d)
    if not 0 < f <= 1 or MAX_RATIO_DEN % f.denominator:
        raise InvalidArgument("maintenance ratio must be in (0, 1] with at most six decimals")
    return f.numerator, f.denominator


def terms_of(scenario_set: Mapping) -> Terms | None:
    """The set's maintenance terms, or None (no maintenance tier)."""
    d = scenario_set.get(KEY)
    return None if d is None else Terms.from_dict(d)


def set_id(version: int, instruments: Sequence[str], matrix, model: Mapping | None = None,
           terms: Mapping | None = None) -> bytes:
    """The scenario set id covering the maintenance terms (module docstring)."""
    if terms is None:
        return scenario_set_id(version, instruments, matrix, model)
    t = Terms.from_dict(terms)
    fields: list[tuple[str, signing.Value]] = [
        ("version", version), ("instruments", list(instruments)), ("matrix", [list(r) for r in matrix])]
    if model is not None and model.get("kind", "scan") != "scan":
        fields += [("model", model["kind"]), ("k", model["k"])]
    fields += [("maintenance-num", t.num), ("maintenance-den", t.den), ("penalty-bps", t.penalty_bps)]
    return sha256(signing.encode_tuple("scenario-set", fields))


def set_id_of(scenario_set: Mapping, instruments: Sequence[str]) -> bytes:
    """:func:`set_id` of a set dict (version, matrix, optional model and terms)."""
    return set_id(scenario_set["version"], instruments, scenario_set["matrix"], scenario_set.get("model"),
                  scenario_set.get(KEY))


def penalty(bps: int, notional: int) -> int:
    """floor(bps * notional / 10,000) (notional >= 0)."""
    return bps * notional // BPS


def notional(prices: Sequence[int], multipliers: Sequence[int], positions: Sequence[int]) -> int:
    """sum_i |q_i| * c_i * multiplier_i."""
    return sum(abs(q) * c * m for c, m, q in zip(prices, multipliers, positions))


def tier_statement(st: Margin, scenario_set: Mapping) -> Margin:
    """The statement of the tier below IM for the set: the maintenance
    statement over ``st``'s commitments when the set carries terms, else
    ``st`` itself (the solvency-only statement)."""
    t = terms_of(scenario_set)
    if t is None or not st.solvency_only or isinstance(st, Maintenance):
        return st
    return maintenance_of(Margin(st.context, st.cash, st.positions, st.mat, st.scenario_set_id, False,
                                 model=st.model), t.num, t.den)


__all__ = ["Terms", "KEY", "MAX_PENALTY_BPS", "BPS", "parse_ratio", "terms_of", "set_id", "set_id_of",
           "liquidation_message", "penalty", "notional", "tier_statement"]
