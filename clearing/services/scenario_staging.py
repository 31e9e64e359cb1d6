"""Staged scenario rows: the operator's Settle of a set too large for one request (issue 13 §2).

At S = 2,048 scenarios x I = 4,096 instruments the operator-signed scenario
set is ~30 MB on the wire, over the MAX_MESSAGE_BYTES (4 MiB) every server
keeps for requests.  So the operator may send the rows first, in chunks
(``AdminService.StageScenarioRows``), and then ``Settle`` with
``staged_rows`` set and ``scenario_set.rows`` empty: the node rebuilds the
set from the staged rows and the request's other set fields (version,
model, k, maintenance terms), recomputes its id and checks the operator's
signature exactly as for an inline set -- the ledger's settle event is
byte-identical to an inline Settle of the same set.

Rules of a staging (one per node, for one cycle):

* only the operator stages (PERMISSION_DENIED otherwise);
* ``total_rows`` is 1..MAX_SCENARIOS, every row has exactly the ledger's
  instrument count (<= MAX_INSTRUMENTS) of P&L entries, and a chunk has at
  least one row and ends at or before ``total_rows`` (INVALID_ARGUMENT);
* a chunk with ``first_row`` = 0 starts a new staging (replacing any
  previous one, of any cycle); later chunks continue it: same cycle (else
  FAILED_PRECONDITION), same ``total_rows`` (else INVALID_ARGUMENT), in
  order -- ``first_row`` at most the number of rows staged so far (a gap is
  FAILED_PRECONDITION); rows sent again (a retry) must equal the staged
  ones (else FAILED_PRECONDITION), so a chunk is idempotent;
* the cycle is the ledger's current cycle (FAILED_PRECONDITION otherwise);
* a Settle with ``staged_rows`` whose staging is missing, for another cycle
  or incomplete is FAILED_PRECONDITION.

Staging is *not* in the ledger: it lives in the node's memory and is lost
when the node restarts (the operator stages again; the operator client
does so on every settle).  A settle does not consume the staging, so a
retried Settle (same request id) rebuilds the same set and replays the
recorded result; the next first chunk replaces it.  Nothing is public
beyond the scenario set, which the settle event already publishes.
"""
from __future__ import annotations

import threading
from array import array
from dataclasses import dataclass, field

from clearing.api import admin_pb2
from clearing.protocol.errors import FailedPrecondition, InvalidArgument
from zkp.statements import MAX_INSTRUMENTS, MAX_SCENARIOS


@dataclass
class _Staging:
    cycle: int
    total: int
    width: int
    rows: list[array] = field(default_factory=list)  # int64 rows (sint64 on the wire)


class ScenarioStaging:
    """The node's one staging of scenario rows (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: _Staging | None = None

    def stage(self, cycle: int, first_row: int, rows, total_rows: int, ledger_cycle: int, width: int) -> int:
        """Stage one chunk (module rules); returns the number of rows staged so far."""
        if not 1 <= total_rows <= MAX_SCENARIOS:
            raise InvalidArgument(f"total_rows must be 1..{MAX_SCENARIOS}")
        if not rows:
            raise InvalidArgument("a chunk has at least one row")
        if first_row + len(rows) > total_rows:
            raise InvalidArgument("the chunk ends after total_rows")
        if not 1 <= width <= MAX_INSTRUMENTS:
            raise InvalidArgument(f"the ledger's instrument count must be 1..{MAX_INSTRUMENTS}")
        chunk = []
        for r in rows:
            if len(r.pnl) != width:
                raise InvalidArgument(f"every row has one P&L per instrument ({width})")
            chunk.append(array("q", r.pnl))
        if cycle != ledger_cycle:
            raise FailedPrecondition(f"request is for cycle {cycle}, the ledger is in cycle {ledger_cycle}")
        with self._lock:
            cur = self._current
            if first_row == 0:
                cur = self._current = _Staging(cycle, total_rows, width)
            elif cur is None or cur.cycle != cycle or cur.width != width:
                raise FailedPrecondition("no staging of this cycle: stage from first_row 0")
            elif cur.total != total_rows:
                raise InvalidArgument(f"total_rows differs from the staging's ({cur.total})")
            if first_row > len(cur.rows):
                raise FailedPrecondition(f"rows are staged in order: the next first_row is {len(cur.rows)}")
            overlap = cur.rows[first_row:first_row + len(chunk)]
            if overlap != chunk[:len(overlap)]:
                raise FailedPrecondition("rows sent again differ from the staged ones")
            cur.rows.extend(chunk[len(overlap):])
            return len(cur.rows)

    def rows(self, cycle: int, width: int) -> list[admin_pb2.ScenarioSet.Row]:
        """The complete staged rows of ``cycle`` (FAILED_PRECONDITION when missing or incomplete)."""
        with self._lock:
            cur = self._current
            if cur is None or cur.cycle != cycle or cur.width != width:
                raise FailedPrecondition(f"no scenario rows are staged for cycle {cycle}")
            if len(cur.rows) != cur.total:
                raise FailedPrecondition(f"the staged scenario rows are incomplete ({len(cur.rows)} of {cur.total})")
            staged = list(cur.rows)
        return [admin_pb2.ScenarioSet.Row(pnl=r.tolist()) for r in staged]


def staged_set(request: admin_pb2.SettleRequest, staging: ScenarioStaging, width: int) -> admin_pb2.ScenarioSet:
    """The Settle request's scenario set: inline, or with the staged rows when ``staged_rows``."""
    if not request.staged_rows:
        return request.scenario_set
    if request.scenario_set.rows:
        raise InvalidArgument("a settle with staged_rows carries no inline scenario rows")
    ss = admin_pb2.ScenarioSet()
    ss.CopyFrom(request.scenario_set)
    ss.rows.extend(staging.rows(request.cycle, width))
    return ss


__all__ = ["ScenarioStaging", "staged_set"]
