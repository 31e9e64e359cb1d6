"""Default-fund sizing, Cover-2 and the operator's insolvency declaration
(issue 14 §4): the optional CCP parameters, the signed messages and the
statement builders.

Optional genesis ``config.ccp`` keys (absent: the mechanism is off, and a
ledger without them is byte-for-byte what it was):

* ``df_size_num``, ``df_size_den`` -- the sizing fraction f = num/den
  (both or neither; 1 <= num <= den <= 2^20, lowest terms);
* ``cover2_tau`` (0 <= tau < 2^63) and ``stress_scenarios`` (S' x I
  per-contract P&L rows in minor units, row 0 the no-move row, 2 <= S' <=
  2048, |entry| < 2^64) -- both or neither.

With either on, every member not in default files, in each funding window
and after its ``df-fund``, one ``df-size`` (member-signed request
:func:`df_size_message`) carrying C(m), C(q) and the proofs of
:mod:`zkp.df_sizing`; the window closes (``df-epoch``) only when every such
member filed it.  The sizing bound is proven under the cycle's signed margin
scenario set (model and matrix); before the first set, under the no-move row
alone (m >= 0: no positions can have been margined yet).

Replenishment: a default draws survivors' contributions down (tranche 4);
the operator closes the next funding window once the cooling-off period
(``ccp.cooling_off_cycles``) has ended, and because every filing of that
window must be sized, each survivor's contribution is back at f*m_j or more
when it closes.  The window waits for every member not in default: a member
that does not file a sized contribution (or cannot: its cash does not cover
f*m_j) keeps it open -- no D is opened, no adequacy is reported -- until it
files or the operator declares it insolvent (below) and its default event
runs; the window then closes over the others.  The node does not refuse a
window within a cooling-off period (members may top up voluntarily).

Insolvency: ``default-insolvency`` {cycle, member, reason, request_id,
op_sig} -- the operator declares any member not in default insolvent at any
time (not only a called one), signing :func:`insolvency_message`; the reason
is 1..:data:`MAX_REASON` printable characters (no control characters),
shown escaped.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from clearing.protocol.errors import InvalidArgument
from clearing.protocol.fields import _int
from clearing.protocol.messages import df_size_message, insolvency_message
from clearing.protocol.statements import margin_model, scenario_matrix
from zkp.df_sizing import Cover2, DfBound, DfSizing, check_fraction
from zkp.group import Point
from zkp.margin import SCAN, ScenarioMatrix, check_matrix
from zkp.statements import MAX_PUBLIC_AMOUNT, Context, StatementError

SIZING_KEYS = ("df_size_num", "df_size_den")
COVER2_KEYS = ("cover2_tau", "stress_scenarios")
#: the optional ``config.ccp`` keys of this module, in order
OPTIONAL_KEYS = SIZING_KEYS + COVER2_KEYS
#: the longest insolvency reason, in characters
MAX_REASON = 256


def check_parameters(p: Mapping) -> None:
    """Bounds of the optional sizing / Cover-2 keys (InvalidArgument)."""
    for group in (SIZING_KEYS, COVER2_KEYS):
        present = [k for k in group if k in p]
        if present and len(present) != len(group):
            raise InvalidArgument(f"ccp: {' and '.join(group)} go together")
    try:
        if "df_size_num" in p:
            check_fraction(p["df_size_num"], p["df_size_den"])
        if "cover2_tau" in p:
            _int("cover2_tau", p["cover2_tau"], 0, MAX_PUBLIC_AMOUNT)
            stress = check_matrix(p["stress_scenarios"])
            if stress.S < 2 or any(stress.rows[0]):
                raise InvalidArgument("stress_scenarios: row 0 is the no-move row, then at least one scenario")
    except StatementError as exc:
        raise InvalidArgument(f"ccp: {exc}") from None


def sizing_of(ccp: Mapping) -> tuple[int, int] | None:
    return (ccp["df_size_num"], ccp["df_size_den"]) if "df_size_num" in ccp else None


def cover2_of(ccp: Mapping) -> tuple[int, ScenarioMatrix] | None:
    return (ccp["cover2_tau"], ScenarioMatrix.of(ccp["stress_scenarios"])) if "cover2_tau" in ccp else None


def enabled(ccp: Mapping) -> bool:
    return any(k in ccp for k in OPTIONAL_KEYS)


def check_reason(reason: object) -> str:
    if not isinstance(reason, str) or not 1 <= len(reason) <= MAX_REASON:
        raise InvalidArgument(f"reason must be 1..{MAX_REASON} characters")
    if not reason.isprintable():
        raise InvalidArgument("reason must be printable text (no control characters)")
    return reason


def _bound_matrix(scenario_set: Mapping | None, n_instruments: int):
    if scenario_set is None:
        return ScenarioMatrix.of([[0] * n_instruments]), b"", SCAN
    return scenario_matrix(dict(scenario_set)), bytes.fromhex(scenario_set["id"]), margin_model(dict(scenario_set))


def bound_statement(cycle: int, version: int, member: str, m: Point, positions: Sequence[Point],
                    scenario_set: Mapping | None) -> DfBound:
    mat, sid, model = _bound_matrix(scenario_set, len(positions))
    return DfBound(Context(cycle, version, member.encode()), m, tuple(positions), mat, sid, model=model)


def sizing_statement(cycle: int, version: int, member: str, df: Point, m: Point, q: Point, epoch: int,
                     fraction: tuple[int, int]) -> DfSizing:
    return DfSizing(Context(cycle, version, member.encode()), df, m, q, *fraction, epoch=epoch)


def cover2_statement(cycle: int, version: int, member: str, cash: Point, positions: Sequence[Point],
                     cover2: tuple[int, ScenarioMatrix]) -> Cover2:
    tau, stress = cover2
    return Cover2(Context(cycle, version, member.encode()), cash, tuple(positions), stress, b"", tau=tau)


@dataclass(frozen=True)
class SizingFiling:
    """What the member's prover returns for a ``df-size`` filing (public:
    commitments and proofs; empty bytes for a mechanism that is off)."""

    member: str
    epoch: int
    ctx_seq: int
    m: bytes
    q: bytes
    bound_proof: bytes
    sizing_proof: bytes
    cover2_proof: bytes

    def message(self, request_id: str):
        return df_size_message(self.member, self.epoch, request_id)


def adequacy(tau: int, total: int) -> dict:
    """Cover-2 adequacy of one window: {required: 2*tau, total: D, met,
    shortfall: max(0, 2*tau - D)} -- all public."""
    required = 2 * tau
    return {"required": required, "total": total, "met": total >= required,
            "shortfall": max(0, required - total)}


__all__ = ["SIZING_KEYS", "COVER2_KEYS", "OPTIONAL_KEYS", "MAX_REASON", "check_parameters", "sizing_of",
           "cover2_of", "enabled", "df_size_message", "insolvency_message", "check_reason", "bound_statement",
           "sizing_statement", "cover2_statement", "adequacy", "SizingFiling"]
