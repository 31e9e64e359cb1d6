"""The ledger's events: one frozen dataclass per kind and the one parse step.

On disk and on the wire an event is a canonical JSON object (see
:mod:`clearing.protocol.encoding`; the chain hash covers its bytes).  In
the code it is an :class:`Event`: :func:`parse` turns a body into one,
:meth:`Event.to_body` gives the very same body back
(``parse(body).to_body() == body``, so the ledger's bytes never depend on
this module).  The node's checks (``clearing.node.checks_*``) and the fold
(``clearing.fold``) take events, never bodies.

Event kinds and fields (every field is required; ``[x]`` is a list of x,
``{k: x}`` an object with string keys; ``hex`` a lower-case hex string):

=================  ==========================================================
kind               fields
=================  ==========================================================
genesis            config {instruments [{id str, multiplier int, tick int,
                   price0 int}], ccp {skin_in_the_game_1 int,
                   skin_in_the_game_2 int, assessment_cap_multiple int,
                   optional insurance_fund int, cooling_off_cycles int,
                   assessment_total_cap_multiple int, df_size_num int,
                   df_size_den int, cover2_tau int, stress_scenarios [[int]]},
                   keys {operator, prover, prover_relay, prover_relay_sig,
                   node: hex}}, op_sig hex
admit              member str, key hex, relay_key hex, relay_sig hex, op_sig hex
deposit            member str, amount int, cycle int, request_id str, sig hex
df-fund            member str, epoch int, df hex, ctx_seq int, proof hex,
                   request_id str, sig hex
trade              trade {trade_id str, cycle int, buyer str, seller str,
                   instrument str, side str, price int, T hex}, proof hex,
                   request_id str, sig hex
affirm             trade_id str, member str, request_id str, sig hex
receipt            trade_id str, request_id str, sig hex, optional headroom
                   {H_buyer hex, H_seller hex, proof hex} (issue 14 §1, only
                   under a scenario set with "pretrade": true)
pretrade-refusal   trade_id str, members [str], H_buyer hex, H_seller hex,
                   request_id str, sig hex (issue 14 §1: the prover's
                   refusal of a debit; clearing.protocol.headroom)
settle             cycle int, prices [int], scenario_set {version int,
                   matrix [[int]], id hex, optional model {kind, k},
                   optional maintenance {num, den, penalty_bps},
                   optional pretrade true}, request_id str, op_sig hex
margin-batch       cycle int, entries [{member str, solvency_only bool,
                   ctx_seq int, proof hex, optional headroom {H hex,
                   proof hex}}], results {member: str},
                   request_id str, sig hex
margin-cure        cycle int, member str, solvency_only bool, ctx_seq int,
                   proof hex, request_id str, sig hex
intraday           cycle int, run int, marks [int], request_id str, op_sig hex
                   (issue 14 §1: an intraday margin run, clearing.protocol.intraday)
intraday-batch     cycle int, run int, entries [margin entries], results
                   {member: str}, request_id str, sig hex
withdraw           member str, amount int, cycle int, ctx_seq int, proof hex,
                   request_id str, sig hex
default            cycle int, member str, request_id str, op_sig hex
ccp-params         cycle int, skin_in_the_game_1 int, skin_in_the_game_2 int,
                   assessment_cap_multiple int, request_id str, op_sig hex
df-epoch           cycle int, epoch int, members [str], D int, proof hex,
                   request_id str, sig hex
df-size            member str, epoch int, ctx_seq int, m hex, q hex,
                   bound_proof hex, sizing_proof hex, cover2_proof hex,
                   request_id str, sig hex (clearing.protocol.df_sizing)
default-insolvency cycle int, member str, reason str, request_id str,
                   op_sig hex
liquidate          cycle int, member str, request_id str, op_sig hex
                   (clearing.protocol.maintenance, clearing.fold.liquidation)
dm-open            cycle int, defaulters [str], survivors [str], D0 int,
                   D0_proof hex, disclosures {member: {values [int],
                   proof hex}}, request_id str, sig hex
dm-closeout        cycle int, index int, prices [int], lots [{winner str,
                   instrument str, quantity int}], request_id str, op_sig hex
dm-shares          cycle int, index int, purpose str, R int, shares [hex],
                   total int, proof hex, total_proof hex, request_id str,
                   sig hex (purposes default-fund, assessment; vm-gains and
                   vm-gains-haircut carry tranche 8, see
                   clearing.protocol.vm_gains)
assessment-pay     member str, index int, amount int, cycle int, ctx_seq int,
                   proof hex, request_id str, sig hex
assessment-settle  member str, index int, cycle int, ctx_seq int, proof hex,
                   request_id str, sig hex
close              cycle int, digest hex, request_id str, node_sig hex
=================  ==========================================================

Parse rules (every violation is :class:`~clearing.protocol.errors.InvalidArgument`
naming the kind and the field, e.g. ``deposit event: amount must be an
integer``):

* a body is a dict whose ``kind`` is one of the kinds above;
* its fields, and the fields of every nested object with named fields, are
  exactly the ones listed: a missing or an unexpected one is refused;
* JSON types: ``int`` is an int and never a bool, ``bool`` a bool, ``str``
  (and hex) a str, a list a list (a tuple is accepted too: it encodes the
  same), an object a dict with string keys.

Parsing checks shapes only.  Ranges, identifiers, hex, points, signatures,
proofs and everything that depends on the ledger's state are the node's
checks (``clearing.node.checks_*``).

An event owns its data: the constructor (which :func:`parse` calls, and the
engine calls directly) validates every field and keeps private copies.  A
top-level list field is a tuple; a nested object is a private dict typed
``Mapping`` (read-only by contract) whose own lists stay lists, so that what
the fold copies into the state compares and encodes exactly as before.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from clearing.protocol.errors import InvalidArgument, shown
from clearing.protocol.messages import CCP_OPTIONAL, CCP_PARAMETERS, TRADE_FIELDS

#: A shape: (path, value) -> the checked value (a private copy); raises
#: InvalidArgument naming ``path`` ("<kind> event: <field>[.<nested>]").
Shape = Callable[[str, Any], Any]

#: unexpected field names shown in an error message, at most
_SHOWN_FIELDS = 5


def _bad(path: str, what: str) -> InvalidArgument:
    return InvalidArgument(f"{path} must be {what}")


def _str(path: str, v: Any) -> str:
    if not isinstance(v, str):
        raise _bad(path, "a string")
    return v


def _int(path: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise _bad(path, "an integer")
    return v


def _bool(path: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise _bad(path, "a boolean")
    return v


def _field_set(path: str, v: Any, names: tuple[str, ...]) -> None:
    """``v`` is a dict whose keys are exactly ``names``."""
    if not isinstance(v, dict):
        raise _bad(path, "an object")
    if set(v) == set(names):
        return
    missing = [n for n in names if n not in v]
    if missing:
        raise InvalidArgument(f"{path}: missing field(s) {', '.join(missing)}")
    extra = sorted((k for k in v if k not in names), key=str)
    more = ", ..." if len(extra) > _SHOWN_FIELDS else ""
    raise InvalidArgument(f"{path}: unexpected field(s) {', '.join(shown(k) for k in extra[:_SHOWN_FIELDS])}{more}")


def list_of(item: Shape, frozen: bool = False) -> Shape:
    """A list (or tuple) of ``item``: a tuple when ``frozen`` (a top-level
    field), else a list (inside a nested object)."""
    def shape(path: str, v: Any):
        if not isinstance(v, (list, tuple)):
            raise _bad(path, "a list")
        out = [item(f"{path}[{k}]", x) for k, x in enumerate(v)]
        return tuple(out) if frozen else out
    return shape


def obj(**fields: Shape) -> Shape:
    """An object with exactly the named fields, in this order."""
    names = tuple(fields)

    def shape(path: str, v: Any) -> dict:
        _field_set(path, v, names)
        return {n: fields[n](f"{path}.{n}", v[n]) for n in names}
    return shape


def map_of(value: Shape) -> Shape:
    """An object with any string keys (member ids) and ``value`` values."""
    def shape(path: str, v: Any) -> dict:
        if not isinstance(v, dict):
            raise _bad(path, "an object")
        out = {}
        for k, x in v.items():
            if not isinstance(k, str):
                raise InvalidArgument(f"{path}: keys must be strings")
            out[k] = value(f"{path}[{shown(k)}]", x)
        return out
    return shape


INSTRUMENT = obj(id=_str, multiplier=_int, tick=_int, price0=_int)


def _ccp_config(path: str, v: Any) -> dict:
    """Genesis ``config.ccp``: the CCP parameters, plus the optional keys
    (:data:`~clearing.protocol.messages.CCP_OPTIONAL`) when present."""
    names = CCP_PARAMETERS + tuple(k for k in CCP_OPTIONAL if isinstance(v, dict) and k in v)
    return obj(**{k: (_MATRIX if k == "stress_scenarios" else _int) for k in names})(path, v)


_MATRIX = list_of(list_of(_int))
CONFIG = obj(instruments=list_of(INSTRUMENT), ccp=_ccp_config,
             keys=obj(operator=_str, prover=_str, prover_relay=_str, prover_relay_sig=_str, node=_str))
#: the signed trade tuple's fields (``clearing.protocol.messages.TRADE_FIELDS``)
TRADE = obj(**{f: (_int if f in ("cycle", "price") else _str) for f in TRADE_FIELDS})
_SCENARIO_SET_SCAN = obj(version=_int, matrix=list_of(list_of(_int)), id=_str)
_SCENARIO_SET_MODEL = obj(version=_int, matrix=list_of(list_of(_int)), id=_str, model=obj(kind=_str, k=_int))


_MAINTENANCE = obj(num=_int, den=_int, penalty_bps=_int)


def SCENARIO_SET(path: str, v: Any) -> dict:
    """The operator's scenario set; a ``model`` {kind, k} only when it is
    not the scan (issue 13: expected shortfall), so scan sets keep their shape;
    ``maintenance`` {num, den, penalty_bps} only when the set has a
    maintenance tier (issue 14 §2, clearing.protocol.maintenance);
    ``pretrade`` (a boolean; the node accepts only ``true``) only when the set
    turns the pre-trade limit on (issue 14 §1, clearing.protocol.headroom)."""
    base = _SCENARIO_SET_MODEL if isinstance(v, dict) and "model" in v else _SCENARIO_SET_SCAN
    if not (isinstance(v, dict) and ("maintenance" in v or "pretrade" in v)):
        return base(path, v)
    out = base(path, {k: x for k, x in v.items() if k not in ("maintenance", "pretrade")})
    if "maintenance" in v:
        out["maintenance"] = _MAINTENANCE(f"{path}.maintenance", v["maintenance"])
    if "pretrade" in v:
        out["pretrade"] = _bool(f"{path}.pretrade", v["pretrade"])
    return out


def _with_optional(key: str, base: Shape, extra: Shape) -> Shape:
    """``base``, plus the field ``key`` of shape ``extra`` when present."""
    def shape(path: str, v: Any) -> dict:
        if not (isinstance(v, dict) and key in v):
            return base(path, v)
        out = base(path, {k: x for k, x in v.items() if k != key})
        out[key] = extra(f"{path}.{key}", v[key])
        return out
    return shape


#: a margin entry; ``headroom`` {H, proof} only under a pre-trade set (issue 14 §1)
MARGIN_ENTRY = _with_optional("headroom", obj(member=_str, solvency_only=_bool, ctx_seq=_int, proof=_str),
                              obj(H=_str, proof=_str))
#: a receipt's headroom debit (issue 14 §1): both sides' H before the debit and the proof
RECEIPT_HEADROOM = obj(H_buyer=_str, H_seller=_str, proof=_str)
DISCLOSURE = obj(values=list_of(_int), proof=_str)
LOT = obj(winner=_str, instrument=_str, quantity=_int)

#: the shape of a field from its annotation (nested fields name theirs)
_BY_ANNOTATION: dict[str, Shape] = {
    "str": _str, "int": _int, "bool": _bool,
    "tuple[int, ...]": list_of(_int, frozen=True), "tuple[str, ...]": list_of(_str, frozen=True),
}


def nested(shape: Shape) -> dict[str, Shape]:
    """The metadata of a dataclass field whose value has the nested
    ``shape``: ``x: T = field(metadata=nested(SHAPE))``."""
    return {"shape": shape}


def _thaw(v: Any) -> Any:
    """The JSON value of a field: tuples back to lists, fresh containers."""
    if isinstance(v, (list, tuple)):
        return [_thaw(x) for x in v]
    if isinstance(v, dict):
        return {k: _thaw(x) for k, x in v.items()}
    return v


@dataclass(frozen=True)
class Event:
    """Base of every event: ``kind`` (a class constant) and the fields."""

    kind: ClassVar[str] = ""
    _shapes: ClassVar[dict[str, Shape]] = {}
    #: fields absent from the body when None (issue 14 §1: opt-in fields)
    _optional: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        for name, shape in self._shapes.items():
            if name in self._optional and getattr(self, name) is None:
                continue
            object.__setattr__(self, name, shape(f"{self.kind} event: {name}", getattr(self, name)))

    def to_body(self) -> dict:
        """The event as the ledger stores it (a fresh dict)."""
        body: dict[str, Any] = {"kind": self.kind}
        for name in self._shapes:
            if name in self._optional and getattr(self, name) is None:
                continue
            body[name] = _thaw(getattr(self, name))
        return body


# -- onboarding ---------------------------------------------------------------------
@dataclass(frozen=True)
class Genesis(Event):
    kind: ClassVar[str] = "genesis"
    config: Mapping[str, Any] = field(metadata=nested(CONFIG))
    op_sig: str


@dataclass(frozen=True)
class Admit(Event):
    kind: ClassVar[str] = "admit"
    member: str
    key: str
    relay_key: str
    relay_sig: str
    op_sig: str


@dataclass(frozen=True)
class Deposit(Event):
    kind: ClassVar[str] = "deposit"
    member: str
    amount: int
    cycle: int
    request_id: str
    sig: str


@dataclass(frozen=True)
class DfFund(Event):
    kind: ClassVar[str] = "df-fund"
    member: str
    epoch: int
    df: str
    ctx_seq: int
    proof: str
    request_id: str
    sig: str


@dataclass(frozen=True)
class DfEpoch(Event):
    kind: ClassVar[str] = "df-epoch"
    cycle: int
    epoch: int
    members: tuple[str, ...]
    D: int
    proof: str
    request_id: str
    sig: str


@dataclass(frozen=True)
class DfSize(Event):
    """Default-fund sizing / Cover-2 filing (clearing.protocol.df_sizing)."""

    kind: ClassVar[str] = "df-size"
    member: str
    epoch: int
    ctx_seq: int
    m: str
    q: str
    bound_proof: str
    sizing_proof: str
    cover2_proof: str
    request_id: str
    sig: str


@dataclass(frozen=True)
class CcpParams(Event):
    kind: ClassVar[str] = "ccp-params"
    cycle: int
    skin_in_the_game_1: int
    skin_in_the_game_2: int
    assessment_cap_multiple: int
    request_id: str
    op_sig: str

    def parameters(self) -> dict[str, int]:
        """The CCP parameters as genesis ``config.ccp`` names them."""
        return {k: getattr(self, k) for k in CCP_PARAMETERS}


# -- trade capture ------------------------------------------------------------------
@dataclass(frozen=True)
class Trade(Event):
    kind: ClassVar[str] = "trade"
    trade: Mapping[str, Any] = field(metadata=nested(TRADE))
    proof: str
    request_id: str
    sig: str


@dataclass(frozen=True)
class Affirm(Event):
    kind: ClassVar[str] = "affirm"
    trade_id: str
    member: str
    request_id: str
    sig: str


@dataclass(frozen=True)
class Receipt(Event):
    kind: ClassVar[str] = "receipt"
    trade_id: str
    request_id: str
    sig: str
    #: issue 14 §1, only under a pre-trade set; absent from the body when None
    headroom: Mapping[str, Any] | None = field(default=None, metadata={**nested(RECEIPT_HEADROOM), "optional": True})


@dataclass(frozen=True)
class PretradeRefusal(Event):
    """The prover's signed refusal of a trade's headroom debit (issue 14 §1)."""

    kind: ClassVar[str] = "pretrade-refusal"
    trade_id: str
    members: tuple[str, ...]
    H_buyer: str
    H_seller: str
    request_id: str
    sig: str


# -- settlement and the cycle -------------------------------------------------------
@dataclass(frozen=True)
class Settle(Event):
    kind: ClassVar[str] = "settle"
    cycle: int
    prices: tuple[int, ...]
    scenario_set: Mapping[str, Any] = field(metadata=nested(SCENARIO_SET))
    request_id: str
    op_sig: str


@dataclass(frozen=True)
class Close(Event):
    kind: ClassVar[str] = "close"
    cycle: int
    digest: str
    request_id: str
    node_sig: str


# -- margin -------------------------------------------------------------------------
@dataclass(frozen=True)
class MarginBatch(Event):
    kind: ClassVar[str] = "margin-batch"
    cycle: int
    entries: tuple[Mapping[str, Any], ...] = field(metadata=nested(list_of(MARGIN_ENTRY, frozen=True)))
    results: Mapping[str, str] = field(metadata=nested(map_of(_str)))
    request_id: str
    sig: str


@dataclass(frozen=True)
class MarginCure(Event):
    kind: ClassVar[str] = "margin-cure"
    cycle: int
    member: str
    solvency_only: bool
    ctx_seq: int
    proof: str
    request_id: str
    sig: str


@dataclass(frozen=True)
class Intraday(Event):
    kind: ClassVar[str] = "intraday"
    cycle: int
    run: int
    marks: tuple[int, ...]
    request_id: str
    op_sig: str


@dataclass(frozen=True)
class IntradayBatch(Event):
    kind: ClassVar[str] = "intraday-batch"
    cycle: int
    run: int
    entries: tuple[Mapping[str, Any], ...] = field(metadata=nested(list_of(MARGIN_ENTRY, frozen=True)))
    results: Mapping[str, str] = field(metadata=nested(map_of(_str)))
    request_id: str
    sig: str


@dataclass(frozen=True)
class Withdraw(Event):
    kind: ClassVar[str] = "withdraw"
    member: str
    amount: int
    cycle: int
    ctx_seq: int
    proof: str
    request_id: str
    sig: str


# -- default management -------------------------------------------------------------
@dataclass(frozen=True)
class Default(Event):
    kind: ClassVar[str] = "default"
    cycle: int
    member: str
    request_id: str
    op_sig: str


@dataclass(frozen=True)
class Liquidate(Event):
    """The operator's liquidation of a member that failed maintenance
    (issue 14 §2; clearing.fold.liquidation)."""

    kind: ClassVar[str] = "liquidate"
    cycle: int
    member: str
    request_id: str
    op_sig: str


@dataclass(frozen=True)
class DefaultInsolvency(Event):
    """The operator's declaration of a member's insolvency, at any time."""

    kind: ClassVar[str] = "default-insolvency"
    cycle: int
    member: str
    reason: str
    request_id: str
    op_sig: str


@dataclass(frozen=True)
class DmOpen(Event):
    kind: ClassVar[str] = "dm-open"
    cycle: int
    defaulters: tuple[str, ...]
    survivors: tuple[str, ...]
    D0: int
    D0_proof: str
    disclosures: Mapping[str, Mapping[str, Any]] = field(metadata=nested(map_of(DISCLOSURE)))
    request_id: str
    sig: str


@dataclass(frozen=True)
class DmCloseout(Event):
    kind: ClassVar[str] = "dm-closeout"
    cycle: int
    index: int
    prices: tuple[int, ...]
    lots: tuple[Mapping[str, Any], ...] = field(metadata=nested(list_of(LOT, frozen=True)))
    request_id: str
    op_sig: str


@dataclass(frozen=True)
class DmShares(Event):
    kind: ClassVar[str] = "dm-shares"
    cycle: int
    index: int
    purpose: str
    R: int
    shares: tuple[str, ...]
    total: int
    proof: str
    total_proof: str
    request_id: str
    sig: str


@dataclass(frozen=True)
class AssessmentPay(Event):
    kind: ClassVar[str] = "assessment-pay"
    member: str
    index: int
    amount: int
    cycle: int
    ctx_seq: int
    proof: str
    request_id: str
    sig: str


@dataclass(frozen=True)
class AssessmentSettle(Event):
    kind: ClassVar[str] = "assessment-settle"
    member: str
    index: int
    cycle: int
    ctx_seq: int
    proof: str
    request_id: str
    sig: str


#: kind -> event class
EVENTS: dict[str, type[Event]] = {cls.kind: cls for cls in (
    Genesis, Admit, Deposit, DfFund, DfEpoch, CcpParams, Trade, Affirm, Receipt, Settle, Close,
    MarginBatch, MarginCure, Withdraw, Default, DmOpen, DmCloseout, DmShares, AssessmentPay, AssessmentSettle,
    DfSize, DefaultInsolvency, Liquidate, PretradeRefusal,
    Intraday, IntradayBatch,  # issue 14 §1: intraday margin runs
)}


def _register_shapes() -> None:
    for cls in EVENTS.values():
        shapes = {}
        for f in dataclasses.fields(cls):
            shape = f.metadata.get("shape") or _BY_ANNOTATION.get(str(f.type))
            if shape is None:  # pragma: no cover - a programming error, caught at import
                raise TypeError(f"{cls.__name__}.{f.name}: no shape for {f.type}")
            shapes[f.name] = shape
        cls._shapes = shapes
        cls._optional = frozenset(f.name for f in dataclasses.fields(cls) if f.metadata.get("optional"))


_register_shapes()


def parse(body: Any) -> Event:
    """The event a ledger body encodes; InvalidArgument (naming the kind and
    the field) unless it has exactly its kind's fields with their JSON
    types.  ``parse(body).to_body() == body`` for every body it accepts
    whose lists are lists."""
    if not isinstance(body, dict) or not isinstance(body.get("kind"), str):
        raise InvalidArgument("an event is a dict with a kind")
    cls = EVENTS.get(body["kind"])
    if cls is None:
        raise InvalidArgument(f"unknown event kind {shown(body['kind'])}")
    _field_set(f"{cls.kind} event", body,
               ("kind", *(n for n in cls._shapes if n not in cls._optional or n in body)))
    if any(body.get(n, 0) is None for n in cls._optional):
        raise InvalidArgument(f"{cls.kind} event: an optional field is omitted, never null")
    return cls(**{k: v for k, v in body.items() if k != "kind"})


__all__ = ["Event", "EVENTS", "parse", *(cls.__name__ for cls in EVENTS.values())]
