"""The fold of default-fund sizing, Cover-2 and insolvency declarations
(issue 14 §4; formats in :mod:`clearing.protocol.df_sizing`).

* ``df-size``: the member is recorded in ``books["sized"]`` (this window's
  sized filers); the account is unchanged (the filing only proves facts
  about the commitments the ``df-fund`` set).
* ``df-epoch`` (:func:`on_epoch_close`, called by the epoch fold): when the
  ccp section carries Cover-2, ``books["cover2"]`` gains the window's public
  adequacy {epoch, required = 2*tau, total = D, met = D >= 2*tau,
  shortfall = max(0, 2*tau - D)}; ``books["sized"]`` is emptied.
* ``default-insolvency``: as ``default`` (status defaulted, pending a
  default event) and ``books["insolvencies"]`` gains {cycle, member, reason}.
Books keys appear only once the mechanism is used, so a ledger without it
folds to the very same state as before.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from clearing.protocol import events as ev
from clearing.protocol.df_sizing import adequacy, enabled
from clearing.protocol.fields import STATUS_DEFAULTED

from .state import State


def _df_size(state: State, seq: int, e: ev.DfSize, alg) -> None:
    state.books.setdefault("sized", []).append(e.member)


def on_epoch_close(state: State, e: ev.DfEpoch) -> None:
    ccp = state.cfg()["ccp"]
    if not enabled(ccp):
        return
    state.books["sized"] = []
    if "cover2_tau" in ccp:
        state.books.setdefault("cover2", []).append({"epoch": e.epoch, "cycle": e.cycle,
                                                     **adequacy(ccp["cover2_tau"], e.D)})


def _insolvency(state: State, seq: int, e: ev.DefaultInsolvency, alg) -> None:
    state.members[e.member].status = STATUS_DEFAULTED
    state.pending_defaults.append(e.member)
    state.books.setdefault("insolvencies", []).append({"cycle": e.cycle, "member": e.member, "reason": e.reason})


FOLDS: dict[str, Callable[[State, int, Any, Any], None]] = {
    "df-size": _df_size,
    "default-insolvency": _insolvency,
}
