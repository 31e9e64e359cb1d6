"""The prover's side of an intraday margin run (issue 14 §1; the rules are
:mod:`clearing.protocol.intraday`'s): the batch the ledger requires once
the operator's signed marks are booked.

* Only for the run the replayed ledger shows as awaiting its batch (an
  ``intraday`` event of the current cycle, no batch yet): the prover is not
  an oracle and never proves at marks of its own choosing.
* Per member not in default: the full scan proof over the run's derived set
  when it holds, else solvency-only (cash >= 0), else no entry (a payment
  default candidate) -- as the margin batch; under a pre-trade set the
  passing members' headroom H with its proof over the derived set.
* Answered once per (cycle, run, ledger position)
  (:meth:`~prover.custody.witness.WitnessStore._answer`): a repeated request
  returns the recorded batch unchanged, so a retry after the node failed to
  book it proposes the same H commitments.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from clearing.fold import intraday as fold
from clearing.protocol import signing
from clearing.protocol.intraday import batch_message
from prover.custody.errors import Refused

if TYPE_CHECKING:
    from prover.custody.witness import WitnessStore


def intraday_batch(store: WitnessStore, cycle: int, run: int, accounts: dict) -> tuple[list[dict], bytes]:
    """The run's entries and the prover's signature over them
    (:func:`clearing.protocol.intraday.batch_message`); ``accounts`` maps
    member -> the node's public account.  Refused unless the ledger awaits
    this run's batch."""
    s = store.state
    b = fold.basis(s)
    if cycle != s.cycle or s.phase != "trading" or b is None or b["run"] != run or b["results"] is not None:
        raise Refused("an intraday batch is proven only for the run the ledger awaits")
    derived = fold.derived(s, b)

    def make() -> dict:
        entries = store.margin_entries(cycle, accounts, derived, "intraday")
        return {"entries": entries, "sig": signing.sign(store._sk, *batch_message(cycle, run, entries))}

    done = store._answer(("intraday", cycle, run, s.seq), make)
    return [dict(e) for e in done["entries"]], bytes(done["sig"])


__all__ = ["intraday_batch"]
