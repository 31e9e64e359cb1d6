"""Intraday margin runs on operator-signed marks (issue 14 §1, last
sentence): the operator's message, the intraday basis (the derived scenario
set and its id) and the prover's batch message -- shared by the node's
checks (:mod:`clearing.node.checks_intraday`), the fold
(:mod:`clearing.fold.intraday`) and the prover (:mod:`prover.custody.intraday`).

Events.  ``intraday`` {cycle, run, marks [int], request_id, op_sig}: the
operator signs :func:`intraday_message` (cycle, run, marks, the id of the
scenario set in force).  ``intraday-batch`` {cycle, run, entries, results,
request_id, sig}: the prover's signed batch (:func:`batch_message`), entries
shaped as margin-batch entries {member, solvency_only, ctx_seq, proof,
optional headroom {H, proof}}.

Rules.
* An intraday run is allowed in the trading phase of a cycle, after at
  least one settle (a scenario set in force), for a scan set without
  maintenance terms (an ES set or a set with maintenance terms:
  InvalidArgument -- the intraday "liquidate" classification is not
  defined); no default event may be in progress.  Runs are numbered 1, 2,
  .. within the cycle; run n+1 needs run n's batch booked.
* Marks: one per instrument, 1 <= M_i <= MAX_PRICE, a multiple of the
  instrument's tick.  No VM is settled: cash, positions and the settlement
  prices c_i are unchanged.
* The basis.  u_i = (M_i - c_i) * mult_i; the shifted matrix A'[s][i] =
  A[s][i] + u_i (the P&L at scenario s from the settlement prices, i.e.
  scenario s applied at the marks).  The derived matrix is the no-move row
  followed by A' -- the scan statement needs row 0 all zeros, so the
  derived set proves cash >= 0 (row 0, also the solvency-only statement),
  cash + u.pos >= 0 (A'[0] = u: the equity at the marks) and cash + (u +
  A[s]).pos >= 0 for every s: what an end-of-day run at settlement prices
  M would check after booking the VM u.pos into cash, plus cash >= 0 on the
  un-settled cash.  Its id' = SHA-256 of the canonical tuple
  ("intraday-set", [scenario-set id, cycle, run, settlement prices c,
  marks]); the prices are bound too so that id' names the matrix (the
  multipliers are the genesis's).  The derived set dict is {version, matrix,
  id: id', pretrade when the set has it}: the ordinary scan margin statement
  builders take it unchanged (:func:`derived_set`).
* The batch is verified and classified exactly as the margin batch (pass /
  call / payment; a headroom entry only beside a passing full proof, under
  a pre-trade set) against the derived set; the statuses are set as by the
  margin batch; under a pre-trade set H is reset as by the margin batch.
* The basis stays in force until the next settle: meanwhile every
  margin-family statement (the cure of a call, a withdrawal, the headroom
  at the batch) is built over the derived set
  (:func:`clearing.fold.intraday.margin_basis`), and the receipt debit's VM
  uses the mark: vm = (M_i - p) * mult_i, and w = max(w_i, |u_i|) with w_i
  = max_s |A[s][i]| of the signed set.  A novation moves row s >= 1 by
  q*(vm + A[s][i]) >= q*(vm - w) and row 0 (the un-settled cash) by the
  novation VM at c_i, q*(vm - u_i) >= q*(vm - w) (and -q*(vm + u_i) for the
  seller): so H stays at or below every row of the derived set.
  (:func:`clearing.fold.headroom.terms`.)  A settle clears the basis.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from clearing.protocol import headroom, signing
from clearing.protocol.errors import InvalidArgument
from clearing.protocol.fields import sha256
from clearing.protocol.maintenance import terms_of
from clearing.protocol.messages import _margin_entry
from zkp.statements import MAX_PRICE, StatementError, check_matrix

#: the derived set's key naming its origin (public: what the id' covers)
KEY = "intraday"


def intraday_message(cycle: int, run: int, marks: Sequence[int], set_id: bytes) -> tuple[str, list]:
    """The operator's signed intraday run: its cycle, run number, marks and
    the id of the scenario set in force."""
    return "intraday", [("cycle", cycle), ("run", run), ("marks", list(marks)), ("scenario-set", bytes(set_id))]


def batch_message(cycle: int, run: int, entries: Sequence[Mapping]) -> tuple[str, list]:
    """The prover's signed intraday batch (entries as margin-batch entries)."""
    return "intraday-batch", [("cycle", cycle), ("run", run), ("entries", [_margin_entry(e) for e in entries])]


def derived_set_tuple(set_id: bytes, cycle: int, run: int, prices: Sequence[int],
                      marks: Sequence[int]) -> tuple[str, list]:
    """The canonical tuple id' hashes (hashed, never signed itself)."""
    return "intraday-set", [("scenario-set", bytes(set_id)), ("cycle", cycle), ("run", run),
                            ("prices", list(prices)), ("marks", list(marks))]


def derived_id(set_id: bytes, cycle: int, run: int, prices: Sequence[int], marks: Sequence[int]) -> bytes:
    """id' of the run's derived set (module docstring)."""
    return sha256(signing.encode_tuple(*derived_set_tuple(set_id, cycle, run, prices, marks)))


def shifts(prices: Sequence[int], marks: Sequence[int], multipliers: Sequence[int]) -> list[int]:
    """u_i = (M_i - c_i) * mult_i."""
    return [(m - c) * k for c, m, k in zip(prices, marks, multipliers)]


def derived_matrix(matrix: Sequence[Sequence[int]], u: Sequence[int]) -> list[list[int]]:
    """The no-move row, then A'[s][i] = A[s][i] + u_i for every s."""
    return [[0] * len(u)] + [[a + d for a, d in zip(row, u)] for row in matrix]


def check_set(scenario_set: Mapping | None) -> None:
    """The set in force admits intraday runs (scan, no maintenance terms)."""
    if scenario_set is None:
        raise InvalidArgument("no scenario set in force")
    model = scenario_set.get("model")
    if model is not None and model.get("kind", "scan") != "scan":
        raise InvalidArgument("intraday margin runs are defined for the scan model only")
    if terms_of(scenario_set) is not None:
        raise InvalidArgument("intraday margin runs are not defined under maintenance terms")


def check_marks(marks: Sequence[int], instruments: Sequence[Mapping]) -> list[int]:
    """One positive mark per instrument, at most MAX_PRICE, on the tick."""
    if len(marks) != len(instruments):
        raise InvalidArgument("one intraday mark per instrument")
    for m, inst in zip(marks, instruments):
        if isinstance(m, bool) or not isinstance(m, int) or not 1 <= m <= MAX_PRICE:
            raise InvalidArgument("an intraday mark is a positive integer price")
        if m % inst["tick"]:
            raise InvalidArgument("an intraday mark is not a multiple of the tick")
    return list(marks)


def derived_set(scenario_set: Mapping, instruments: Sequence[Mapping], prices: Sequence[int],
                cycle: int, run: int, marks: Sequence[int]) -> dict:
    """The run's derived scan set {version, matrix, id: id', [pretrade]}."""
    check_set(scenario_set)
    u = shifts(prices, marks, [i["multiplier"] for i in instruments])
    matrix = derived_matrix(scenario_set["matrix"], u)
    try:
        check_matrix(matrix)
    except StatementError:
        raise InvalidArgument("the marks move the scenario P&L out of range") from None
    sid = derived_id(bytes.fromhex(scenario_set["id"]), cycle, run, prices, marks)
    out: dict = {"version": scenario_set["version"], "matrix": matrix, "id": sid.hex()}
    if headroom.KEY in scenario_set:
        out[headroom.KEY] = True
    return out


def mark_vm(price: int, mark: int, multiplier: int) -> int:
    """The buyer's debit VM per contract while a basis is in force, (M_i - p)*m."""
    return (mark - price) * multiplier


__all__ = ["KEY", "intraday_message", "batch_message", "derived_set_tuple", "derived_id", "shifts",
           "derived_matrix", "check_set", "check_marks", "derived_set", "mark_vm"]
