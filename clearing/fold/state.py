"""The derived state of the ledger and the value algebras the fold runs on.

:class:`PointAlgebra` is the node's (Pedersen commitments); the prover runs
the very same fold on openings (``prover.custody.witness.OpeningAlgebra``).

The node folds each event into its live state under an undo journal
(:meth:`State.begin`, then :meth:`State.commit` or :meth:`State.rollback`),
so that a fold costs what the event touches, not the size of the state: the
three containers that grow with the ledger -- the accounts
(:class:`Accounts`), the trades (:class:`TradeBook`) and the seen trade
commitments (:class:`SeenSet`) -- record what the fold touched and how to
undo it; every other field is small (per member or per cycle at most) and is
saved whole.  The recorded member and trade ids are also the rows of the
snapshot the event can have changed (:meth:`State.touched`).  Outside a
journal the three containers behave as a plain dict and set.
"""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
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
    #: committed pre-trade headroom H (issue 14 §1, clearing.protocol.headroom);
    #: None until a scenario set with ``pretrade`` is published
    headroom: Any = None

    def copy(self) -> Account:
        return Account(self.key, self.relay_key, self.cash, self.df, list(self.pos), self.status,
                       self.version, self.funded, list(self.trades), self.due, self.headroom)


_ABSENT: Any = object()  # "no such key before the fold" in an undo log


# the journaled dicts' bulk writes, key by key through their journaled __setitem__ / pop
def _update(self, *args, **kw) -> None:
    for k, v in dict(*args, **kw).items():
        self[k] = v


def _popitem(self):
    if not self:
        raise KeyError("popitem(): dictionary is empty")
    k = next(reversed(dict.keys(self)))
    return k, self.pop(k)


def _clear(self) -> None:
    for k in list(dict.keys(self)):
        self.pop(k)


def _ior(self, other):
    self.update(other)
    return self


def _outside_journal(name: str):
    """A set method the journal cannot undo: refused while a fold runs."""
    base = getattr(set, name)

    def method(self, *args):
        if self._undo is not None:
            raise TypeError(f"set.{name} is not journaled: a fold may only add seen commitments")
        return base(self, *args)
    method.__name__ = name
    return method


class _JournaledDict(dict, metaclass=ABCMeta):
    """A dict whose writes go through ``_note(key)`` (the subclass records
    what the key held, its undo log) while a fold's journal is open."""

    _undo: dict | None = None

    @abstractmethod
    def _note(self, k) -> None:
        """Record what key ``k`` holds before the fold first touches it."""

    def __setitem__(self, k, v) -> None:
        self._note(k)
        dict.__setitem__(self, k, v)

    def __delitem__(self, k) -> None:
        self._note(k)
        dict.__delitem__(self, k)

    def pop(self, k, *default):
        self._note(k)
        return dict.pop(self, k, *default)

    def setdefault(self, k, default=None):
        self._note(k)
        return dict.setdefault(self, k, default)

    update = _update
    popitem = _popitem
    clear = _clear
    __ior__ = _ior


class Accounts(_JournaledDict):
    """member id -> :class:`Account`, journaled while a fold runs.

    While the journal is open every account handed out (``[m]``, ``get``,
    ``values``, ``items``) or written is recorded once, with a copy of itself
    as it was: the fold changes an account only through a reference it was
    handed, so the recorded ids cover every account the event may have
    changed, and the copies undo it (restored into the same objects)."""

    _undo: dict | None = None  # member id -> (the account, its copy before the fold) | _ABSENT

    def _note(self, k) -> None:
        undo = self._undo
        if undo is not None and k not in undo:
            a = dict.get(self, k, _ABSENT)
            undo[k] = _ABSENT if a is _ABSENT else (a, a.copy())

    def _note_all(self) -> None:
        if self._undo is not None:
            for k in dict.keys(self):
                self._note(k)

    def __getitem__(self, k):
        self._note(k)
        return dict.__getitem__(self, k)

    def get(self, k, default=None):
        self._note(k)
        return dict.get(self, k, default)

    def values(self):
        self._note_all()
        return dict.values(self)

    def items(self):
        self._note_all()
        return dict.items(self)

    def _rollback(self) -> None:
        undo, self._undo = self._undo or {}, None
        for k, saved in undo.items():
            if saved is _ABSENT:
                dict.pop(self, k, None)
            else:
                live, before = saved
                vars(live).update(vars(before))
                dict.__setitem__(self, k, live)


class TradeBook(_JournaledDict):
    """trade id -> trade record, journaled while a fold runs.

    Trade records are replaced, never changed in place once stored (the
    fold's convention: an affirmation stores a changed copy).  While the
    journal is open the first write of a key records the record it held
    (the undo log); the written ids are the trades the event changed."""

    _undo: dict | None = None  # trade id -> its record before the fold | _ABSENT

    def _note(self, k) -> None:
        undo = self._undo
        if undo is not None and k not in undo:
            undo[k] = dict.get(self, k, _ABSENT)


    def _rollback(self) -> None:
        undo, self._undo = self._undo or {}, None
        for k, before in undo.items():
            if before is _ABSENT:
                dict.pop(self, k, None)
            else:
                dict.__setitem__(self, k, before)


class SeenSet(set):
    """The trade commitments seen, journaled while a fold runs (the fold
    only adds: what it added is removed again on a rollback)."""

    _undo: set | None = None  # elements the fold added

    def add(self, x) -> None:
        if self._undo is not None and x not in self:
            self._undo.add(x)
        set.add(self, x)

    def update(self, *others: Iterable) -> None:
        for it in others:
            for x in it:
                self.add(x)

    discard = _outside_journal("discard")
    remove = _outside_journal("remove")
    pop = _outside_journal("pop")
    clear = _outside_journal("clear")
    difference_update = _outside_journal("difference_update")
    intersection_update = _outside_journal("intersection_update")
    symmetric_difference_update = _outside_journal("symmetric_difference_update")
    __ior__ = _outside_journal("__ior__")
    __iand__ = _outside_journal("__iand__")
    __isub__ = _outside_journal("__isub__")
    __ixor__ = _outside_journal("__ixor__")

    def _rollback(self) -> None:
        undo, self._undo = self._undo or set(), None
        set.difference_update(self, undo)


#: State fields the journal does not save whole: the three journaled
#: containers and the snapshot's caches
_JOURNALED = ("members", "trades", "seen_T", "_rows", "_journal")


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
    members: Accounts = field(default_factory=Accounts)
    trades: TradeBook = field(default_factory=TradeBook)
    seen_T: SeenSet = field(default_factory=SeenSet)
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
    #: the undo journal of the fold in progress (:meth:`begin`), else None
    _journal: dict | None = field(default=None, repr=False, compare=False)

    def copy(self) -> State:
        s = State(**{k: getattr(self, k) for k in self.__dataclass_fields__})
        for name, value in _small_copies(self).items():
            setattr(s, name, value)
        s.members = Accounts((k, a.copy()) for k, a in dict.items(self.members))
        s.trades = TradeBook(self.trades)  # trade records are replaced, never mutated in place
        s._rows = dict(self._rows)
        s.seen_T = SeenSet(self.seen_T)
        s._journal = None
        return s

    # -- the fold's undo journal (the node's) ------------------------------
    def begin(self) -> None:
        """Open the undo journal before folding one event into this state:
        the small fields are saved whole (their values; the containers as
        copies), the accounts, trades and seen commitments record what the
        fold touches.  Close it with :meth:`commit` or :meth:`rollback`."""
        if self._journal is not None:
            raise RuntimeError("a fold is already in progress on this state")
        journal = {name: getattr(self, name) for name in _SAVED}
        journal.update(_small_copies(self))
        self._journal = journal
        self.members._undo, self.trades._undo, self.seen_T._undo = {}, {}, set()

    def touched(self) -> tuple[list[str], list[str]]:
        """(member ids, trade ids) the fold in progress handed out or wrote:
        a superset of the accounts and the trades the event changed."""
        if self._journal is None:
            raise RuntimeError("no fold in progress")
        return list(self.members._undo or ()), list(self.trades._undo or ())

    def commit(self, keep: bool = False) -> tuple | None:
        """Keep the fold: close the journal.  With ``keep`` the closed journal
        is returned, for :meth:`undo` (the node's group commit)."""
        kept = (self._journal, self.members._undo, self.trades._undo, self.seen_T._undo) if keep else None
        self._journal = None
        self.members._undo = self.trades._undo = self.seen_T._undo = None
        return kept

    def undo(self, kept: tuple) -> None:
        """Undo a kept fold (:meth:`commit` with ``keep``); the folds kept
        after it must be undone first, newest first."""
        if self._journal is not None:
            raise RuntimeError("a fold is already in progress on this state")
        self._journal, self.members._undo, self.trades._undo, self.seen_T._undo = kept
        self.rollback()

    def rollback(self) -> None:
        """Undo the fold in progress: the state is again what it was at
        :meth:`begin` (the same account objects, restored)."""
        journal, self._journal = self._journal, None
        if journal is None:
            raise RuntimeError("no fold in progress")
        for name, value in journal.items():
            setattr(self, name, value)
        self.members._rollback()
        self.trades._rollback()
        self.seen_T._rollback()

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


def _small_copies(st: State) -> dict[str, Any]:
    """Copies of ``st``'s small mutable containers (per member or per cycle
    at most), by field name: what a fold may change in place besides the
    journaled accounts, trades and seen commitments."""
    return {
        "prices": list(st.prices), "vm": dict(st.vm), "flows": dict(st.flows), "margin": dict(st.margin),
        "digests": list(st.digests),
        "books": {k: (list(v) if isinstance(v, list) else v) for k, v in st.books.items()},
        "pending_defaults": list(st.pending_defaults), "dm": None if st.dm is None else _deepcopy_json(st.dm),
        "dm_snapshot": dict(st.dm_snapshot), "reports": list(st.reports),
    }


#: the State fields the journal saves whole (every one but the journaled
#: containers and the caches)
_SAVED = tuple(f.name for f in fields(State) if f.name not in _JOURNALED)


def _deepcopy_json(v):
    if isinstance(v, dict):
        return {k: _deepcopy_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_deepcopy_json(x) for x in v]
    return v
