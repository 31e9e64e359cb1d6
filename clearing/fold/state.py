"""The derived state of the ledger and the value algebras the fold runs on.

:class:`PointAlgebra` is the node's (Pedersen commitments); the prover runs
the very same fold on openings (``prover.custody.witness.OpeningAlgebra``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from clearing.protocol.errors import (
    FailedPrecondition,
    LedgerCorrupted,
    NotFound,
    shown,
)
from clearing.protocol.fields import STATUS_ACTIVE
from zkp.field import from_int
from zkp.generators import generators
from zkp.group import Point, msm
from zkp.pedersen import public


class PointAlgebra:
    """Pedersen commitments: the clearing node's values."""

    def zero(self):
        return Point.identity(generators().backend)

    def public(self, amount: int):
        return public(amount)

    def commitment(self, hexstr: str, what: str):
        return Point.decode(bytes.fromhex(hexstr), allow_identity=False)

    def lincomb(self, values, coeffs):
        vs = [v for v, c in zip(values, coeffs) if c]
        cs = [from_int(c) for c in coeffs if c]
        return msm(vs, cs) if vs else self.zero()

    def encode(self, v) -> str:
        return v.encode().hex()


@dataclass
class Account:
    """One member's account; values are commitments (node) or openings (prover)."""

    key: str
    relay_key: str
    cash: Any
    df: Any
    pos: list
    status: str = STATUS_ACTIVE
    version: int = 0
    funded: bool = False
    trades: list = field(default_factory=list)  # novations per instrument (bound MAX_TRADES)
    due: Any = None  # committed assessment payable (DESIGN §6.4), None when there is none

    def copy(self) -> Account:
        return Account(self.key, self.relay_key, self.cash, self.df, list(self.pos), self.status,
                       self.version, self.funded, list(self.trades), self.due)


@dataclass
class State:
    """Everything the fold derives from the events."""

    seq: int = 0
    config: dict | None = None
    cycle: int = 0
    cycle_seq: int = 0
    phase: str = "trading"
    prices: list = field(default_factory=list)
    scenario_set: dict | None = None
    members: dict = field(default_factory=dict)
    trades: dict = field(default_factory=dict)
    seen_T: set = field(default_factory=set)
    vm: dict = field(default_factory=dict)
    flows: dict = field(default_factory=lambda: {"deposits": 0, "withdrawals": 0, "charges": 0})
    margin: dict = field(default_factory=dict)
    margin_done: bool = False
    digests: list = field(default_factory=list)
    #: public books of default management: the auction book (winners of the
    #: close-out auctions, outside the member set), the default account, the
    #: CCP capital used, and the skin-in-the-game tranches left
    books: dict = field(default_factory=dict)
    pending_defaults: list = field(default_factory=list)
    dm: dict | None = None          # the default event in progress (public data)
    dm_snapshot: dict = field(default_factory=dict)  # survivor -> snapshot df value
    reports: list = field(default_factory=list)      # completed default events
    #: sum over pro-rata allocations of (sum_j C_c_j - total*G): each term is
    #: proven to commit to zero (the aggregate opening of the shares), and
    #: carries the shares' blindings out of the member accounts
    residue: Any = None
    #: default-fund funding window (DESIGN §5.1): every member not in default
    #: files one ``df-fund`` in the window; ``df-epoch`` closes it and opens
    #: the group total D once; ``epoch_seq`` is the seq of the event that
    #: opened the current window (genesis or the previous ``df-epoch``)
    epoch: int = 0
    epoch_seq: int = 0
    #: snapshot cache: trade id -> (trade record object, its canonical row)
    _rows: dict = field(default_factory=dict, repr=False, compare=False)

    def copy(self) -> State:
        s = State(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        s.prices = list(self.prices)
        s.members = {k: a.copy() for k, a in self.members.items()}
        s.trades = dict(self.trades)  # trade records are replaced, never mutated in place
        s._rows = dict(self._rows)
        s.seen_T = set(self.seen_T)
        s.vm = dict(self.vm)
        s.flows = dict(self.flows)
        s.margin = dict(self.margin)
        s.digests = list(self.digests)
        s.books = {k: (list(v) if isinstance(v, list) else v) for k, v in self.books.items()}
        s.pending_defaults = list(self.pending_defaults)
        s.dm = None if self.dm is None else _deepcopy_json(self.dm)
        s.dm_snapshot = dict(self.dm_snapshot)
        s.reports = list(self.reports)
        return s

    # -- helpers used by the engine and the prover -------------------------
    def cfg(self) -> dict:
        """The genesis config (FailedPrecondition before the genesis)."""
        if self.config is None:
            raise FailedPrecondition("the ledger has no genesis event")
        return self.config

    def default_event(self) -> dict:
        """The default event in progress (LedgerCorrupted if there is none:
        the fold reaches here only for events the checks accepted)."""
        if self.dm is None:
            raise LedgerCorrupted("no default event in progress")
        return self.dm

    def instrument_ids(self) -> list[str]:
        return [i["id"] for i in self.cfg()["instruments"]]

    def instrument_index(self, inst: str) -> int:
        ids = self.instrument_ids()
        if inst not in ids:
            raise NotFound(f"unknown instrument {shown(inst)}")
        return ids.index(inst)

    def account(self, member: str) -> Account:
        acct = self.members.get(member)
        if acct is None:
            raise NotFound(f"unknown member {shown(member)}")
        return acct


def _deepcopy_json(v):
    if isinstance(v, dict):
        return {k: _deepcopy_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_deepcopy_json(x) for x in v]
    return v
