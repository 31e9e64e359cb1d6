"""The scenario file format: instruments, margin scenarios, members, CCP
resources, trades and price variants (DESIGN §4, §5, §10) -- the frozen
dataclasses, the strict loader (:func:`load_scenario`), the shipped demo
scenario (:func:`builtin_scenario`), the per-contract P&L array
(:func:`scenario_matrix`) and the deposit-grid rounding (:func:`grid_deposit`).
The strict JSON parser, the typed field readers and :class:`ScenarioError`
live in :mod:`clearing.ccp.strict` (re-exported here: ``ScenarioError``,
``parse_json``).

This module is the format only: it imports neither the oracle
(:mod:`clearing.ccp.oracle`) nor the rules (:mod:`clearing.ccp.rules`); the
random scenario generator, which checks what it builds with the oracle,
lives in :mod:`clearing.ccp.generate`.

Units (DESIGN §4)
-----------------
* prices are integers in *price units* (the demo: 0.01 index points);
* a multiplier is minor units per price unit per contract (the demo: US cents
  per 0.01 point, which is numerically the same as US dollars per index
  point -- ESX 50, NQX 20 and RTX 50 are the E-mini S&P, E-mini Nasdaq and
  E-mini Russell multipliers);
* amounts (cash, default fund, liquidity, CCP tranches) are integers in minor
  units (cents); quantities are integer contracts.

So ``price * multiplier * quantity`` is a notional in cents, and a price move
``dP * multiplier * position`` is variation margin in cents.  No floats
anywhere: the loader rejects floats, bools and numeric strings.

File format (JSON object; unknown keys are rejected so typos cannot pass)
-------------------------------------------------------------------------
``name`` (str), optional ``units``/``rules`` (str);
``instruments``: [{id, price0, multiplier, tick, scan_range}];
``margin_scenarios``: {optional description, optional model, and exactly
one of shocks: S x I ints in price units, or pnl: S x I ints in minor units
per contract} -- see "Margin models" below;
``members``: [{id, cash, default_fund, liquidity, target_positions[I]}];
``ccp``: {skin_in_the_game_1, skin_in_the_game_2, assessment_cap_multiple,
deposit_grid, optional insurance_fund (default 0), cooling_off_cycles (default 0),
assessment_total_cap_multiple (default: assessment_cap_multiple), df_sizing {num, den}
and cover2 {tau, stress_scenarios: S' x I ints in minor units per contract, row 0
all zeros} (issue 14 §4: clearing.ccp.oracle_df_sizing states their rules)};
``trades``: [{day, buyer, seller, instrument, quantity, price}];
``variants``: {name: {settlement_prices: (days) x I, close_out_prices[I]}}.
Day 0's settlement row must equal every instrument's ``price0``.

``ccp.deposit_grid`` (DESIGN §2, issue 10) is the public grid of the deposits a
member makes to meet a call: a called member whose call is within its
remaining liquidity deposits the call rounded up to a multiple of the grid,
at most its remaining liquidity (:func:`grid_deposit`); an assessed survivor
that cannot pay from hidden excess cash deposits its due rounded the same
way.  So a public deposit bounds the shortfall to one grid step instead of
pinning it.  The field is optional for compatibility with files written
before it existed: absent, it is 1 (exact deposits, the old behaviour);
``to_dict`` always writes it and generated scenarios carry
``clearing.ccp.generate.GENERATED_DEPOSIT_GRID`` = 10^8 minor units, like the
demo file.

Margin models (issue 13)
------------------------
``margin_scenarios.model`` names how the scenarios become a requirement; it is
part of the operator-signed scenario set (its id hashes the model and k):

* ``{"kind": "scan"}`` -- the default when the field is absent (files written
  before it existed are unchanged): requirement = max(0, worst scenario
  loss); row 0 must be "no move" (all zeros), which is the solvency row.
* ``{"kind": "es", "k": k, "alpha": "0.975"}`` -- expected shortfall over S
  equally weighted scenarios: with L_s = -sum_i A[s][i] * pos_i, topk_sum =
  the sum of the k largest losses (ties: any k of equal values give the same
  sum), requirement R = max(0, ceil(topk_sum / k)) -- rounded *up* to the
  minor unit, so cash >= R iff k * cash >= topk_sum for cash >= 0.  A member
  is margin-sufficient iff cash >= 0 and k * cash >= topk_sum; the IM call is
  R - cash.  No row has to be "no move" (solvency, cash >= 0, is proven
  separately).  1 <= k <= S.  ``alpha`` is optional and informational, a
  decimal string "0.d..." (0 < alpha < 1, at most 18 digits, no float ever);
  when given, k must equal :func:`tail_count` (S, alpha) =
  max(1, floor(S * (1 - alpha) + 1/2)) in exact rational arithmetic (round
  half up), so a set cannot be labelled with a confidence it does not have.

Maintenance margin (issue 14 §2)
--------------------------------
``margin_scenarios.maintenance`` (optional; absent = no maintenance tier, as
before): {"ratio": "0.8", "penalty_bps": 50} -- the maintenance ratio mu, a
decimal string in (0, 1] with at most six decimals read as the exact
fraction num/den in lowest terms (no float ever), and the liquidation
penalty rate in basis points (0..10,000).  Scan model only.  The operator's
signed set carries {num, den, penalty_bps}; its id hashes them.  The rules
(the oracle's: :mod:`clearing.ccp.oracle_liquidation`): with L = max(0, the
worst scenario loss), a member below its requirement whose den * cash >=
num * L (cash + mu * P&L_s >= 0 for every s) is *called* as before; one
with den * cash < num * L is *liquidated at once*: at the variant's
close-out prices c, X = -sum_i (c_i - P_i) * mult_i * pos_i, notional =
sum_i |pos_i| * c_i * mult_i, penalty = floor(penalty_bps * notional /
10,000) -- paid into the insurance fund --, remainder = cash - X - penalty.
remainder >= 0: the positions go to the auction book at c, the member keeps
the remainder as cash, its default fund and its liquidity, and stays active
(not a survivor of a default event of the same day); remainder < 0: it
defaults with cash - penalty (the default event's rules, so the shortfall
-remainder is met from its default fund, tranche 2, on).

Pre-trade limit (issue 14 §1)
-----------------------------
``margin_scenarios.pretrade`` (optional; only ``true`` is accepted, absent =
no limit, files and sets unchanged): the operator's published set carries
``"pretrade": true`` (:func:`scenario_pretrade`).  Scan model only.  A
variant may then carry ``intraday_marks``: [[day, [mark per instrument]]]
with 1 <= day < the variant's days, days strictly increasing (at most one
intraday run per day), marks positive prices on the instrument's tick grid;
not with a maintenance tier (an intraday liquidation is not defined).
The rules (the oracle's: :mod:`clearing.ccp.oracle_pretrade`): headroom H
per member, set at each margin run, debited by every novation by its worst
scenario impact, a refused trade cured by a deposit on the grid; intraday
runs on the marks reset H.

``pnl`` gives the per-contract P&L A[s][i] in minor units directly (historical
sets: :mod:`clearing.ccp.historical`), |A| < 2^64; ``shocks`` gives price
shocks, A[s][i] = shock[s][i] * mult_i (each |shock| within the instrument's
scan range).  Either form may be used with either model.

Bounds (DESIGN §4) and why they prevent wrap-around in the committed engine
--------------------------------------------------------------------------
amounts in [0, 2^63); prices in (0, 2^40) and multiples of the tick; ticks
and scan ranges in (0, 2^40); multipliers in [1, 2^24); quantities
1 <= q < 2^32; |shock| < 2^40 and |shock| <= the instrument's scan range;
|pnl| < 2^64; at most MAX_TRADES = 2^20 trades, MAX_DAYS = 2^16 days,
MAX_MEMBERS = 2^16 members, MAX_INSTRUMENTS = 4,096 = 2^12 instruments and
MAX_SCENARIOS = 2,048 = 2^11 scenarios (the zkp.statements limits, checked
equal by tests/test_scenario_es.py);
deposit_grid in [1, 2^63);
assessment_cap_multiple in [0, 2^8) with cap * default_fund < 2^64 for every
member (a proven charge is < 2^64).  Hence |pos_i| < 2^20 * 2^32 = 2^52,
|A[s][i]| = |shock| * mult < 2^64, one day's VM per instrument
< 2^40 * 2^24 * 2^52 = 2^116, and over 2^16 days and 2^12 instruments every
cash balance stays below 2^(116+16+12+1) = 2^145 in absolute value; a
scenario loss |L_s| < 2^64 * 2^52 * 2^12 = 2^128, an ES tail sum < 2^11 *
2^128 = 2^139 and k * cash < 2^11 * 2^145 = 2^156 -- all far below
r/2 ~ 2^252 on BN254, so mod-r arithmetic on commitments equals integer
arithmetic.  (This module uses Python integers, which never wrap; the bounds
are enforced here so a scenario that the engine could not run is rejected at
load time, with a message naming the offending field.)
"""
from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from typing import Any

from clearing.ccp.strict import ScenarioError, parse_json
from clearing.ccp.strict import read_int as _int
from clearing.ccp.strict import read_list as _list
from clearing.ccp.strict import read_obj as _obj
from clearing.ccp.strict import read_str as _str
from clearing.ccp.strict import type_name as _type_name

AMOUNT_BOUND = 1 << 63
PRICE_BOUND = 1 << 40
MULTIPLIER_BOUND = 1 << 24
QUANTITY_BOUND = 1 << 32
SHOCK_BOUND = 1 << 40
PNL_BOUND = 1 << 64
PROVEN_CHARGE_BOUND = 1 << 64
CAP_MULTIPLE_BOUND = 1 << 8
MAX_TRADES = 1 << 20
MAX_DAYS = 1 << 16
MAX_MEMBERS = 1 << 16
MAX_INSTRUMENTS = 4096
MAX_SCENARIOS = 2048
MAX_ID_LENGTH = 64


# ---------------------------------------------------------------------------
# data classes
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Instrument:
    id: str
    price0: int
    multiplier: int
    tick: int
    scan_range: int


@dataclass(frozen=True)
class Member:
    id: str
    cash: int
    default_fund: int
    liquidity: int
    target_positions: tuple[int, ...]


@dataclass(frozen=True)
class Trade:
    day: int
    buyer: str
    seller: str
    instrument: str
    quantity: int
    price: int


@dataclass(frozen=True)
class CCPParams:
    skin_in_the_game_1: int
    skin_in_the_game_2: int
    assessment_cap_multiple: int
    #: public deposit grid in minor units (see the module docstring); 1 = exact deposits
    deposit_grid: int = 1
    #: the insurance fund's initial CCP allocation (waterfall tranche 3); optional, default 0
    insurance_fund: int = 0
    #: cooling-off after a default (issue 14): cycles (0: none) and the cap on the assessment
    #: multiples summed over the period (None: the per-event cap); optional
    cooling_off_cycles: int = 0
    assessment_total_cap_multiple: int | None = None
    #: default-fund sizing fraction f = (num, den) and Cover-2 (tau, stress rows) (issue 14 §4); optional
    df_sizing: tuple[int, int] | None = None
    cover2_tau: int | None = None
    stress_scenarios: tuple[tuple[int, ...], ...] | None = None


def grid_deposit(amount: int, liquidity: int, grid: int) -> int:
    """The public deposit a member makes to meet ``amount`` (a call or an
    assessment due) when ``amount <= liquidity``: ``amount`` rounded up to a
    multiple of ``grid``, at most ``liquidity``.  So deposit >= amount, and
    a deposit below ``liquidity`` is a multiple of the grid."""
    for name, v, lo in (("amount", amount, 0), ("liquidity", liquidity, 0), ("grid", grid, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"grid_deposit: {name} must be an integer >= {lo}, got {v!r}")
    if amount > liquidity:
        raise ValueError("grid_deposit: the amount exceeds the liquidity (the member cannot meet it)")
    return min(-(-amount // grid) * grid, liquidity)


MODEL_SCAN = "scan"
MODEL_ES = "es"
_ALPHA = re.compile(r"0\.[0-9]{1,18}")


def tail_count(scenarios: int, alpha: str) -> int:
    """k for S = ``scenarios`` equally weighted scenarios at confidence
    ``alpha`` (a decimal string "0.d...", 0 < alpha < 1): S * (1 - alpha)
    rounded half up to an integer, at least 1, computed exactly (Fraction,
    never a float).  E.g. (1000, "0.975") -> 25, (500, "0.975") -> 13
    (12.5 rounds up), (100, "0.999") -> 1."""
    if isinstance(scenarios, bool) or not isinstance(scenarios, int) or scenarios < 1:
        raise ScenarioError(f"tail_count: the number of scenarios must be a positive integer, got {scenarios!r}")
    a = parse_alpha(alpha, "alpha")
    x = scenarios * (1 - a)
    k = (x + Fraction(1, 2)).numerator // (x + Fraction(1, 2)).denominator
    return max(1, min(scenarios, k))


def parse_alpha(alpha: Any, path: str) -> Fraction:
    """A confidence level given as a decimal string "0.d..." with 1..18
    digits and 0 < alpha < 1, as an exact fraction (floats are rejected)."""
    if not isinstance(alpha, str) or not _ALPHA.fullmatch(alpha):
        raise ScenarioError(f"{path}: expected a decimal string like \"0.975\" (0 < alpha < 1, "
                            f"at most 18 digits), got {_type_name(alpha)} {str(alpha)[:40]!r}")
    a = Fraction(alpha)
    if a == 0:
        raise ScenarioError(f"{path}: alpha must be > 0")
    return a


@dataclass(frozen=True)
class MarginModel:
    """How the scenarios make a requirement (module docstring, "Margin
    models"): ``kind`` "scan" (k = 0, alpha "") or "es" with 1 <= k <= S tail
    scenarios and an informational confidence level ``alpha``."""
    kind: str = MODEL_SCAN
    k: int = 0
    alpha: str = ""

    def signed(self) -> dict:
        """The model as the operator's signed scenario set carries it (and
        its id hashes): {"kind": "scan"} or {"kind": "es", "k": k}."""
        return {"kind": MODEL_ES, "k": self.k} if self.kind == MODEL_ES else {"kind": MODEL_SCAN}

    def to_dict(self) -> dict:
        if self.kind != MODEL_ES:
            return {"kind": MODEL_SCAN}
        return {"kind": MODEL_ES, "k": self.k, **({"alpha": self.alpha} if self.alpha else {})}


@dataclass(frozen=True)
class Maintenance:
    """The maintenance tier (module docstring, "Maintenance margin"): the
    ratio as written (a decimal string) and as the exact fraction num/den in
    lowest terms, and the liquidation penalty rate in basis points."""
    ratio: str
    num: int
    den: int
    penalty_bps: int

    def signed(self) -> dict:
        """The terms as the operator's signed scenario set carries them."""
        return {"num": self.num, "den": self.den, "penalty_bps": self.penalty_bps}


@dataclass(frozen=True)
class MarginScenarios:
    """S x I price shocks (price units; ``pnl`` empty) or S x I per-contract
    P&L in minor units (``pnl``; ``shocks`` empty), and the margin model.
    Under the scan model row 0 is "no move"."""
    shocks: tuple[tuple[int, ...], ...] = ()
    description: str = ""
    model: MarginModel = field(default_factory=MarginModel)
    pnl: tuple[tuple[int, ...], ...] = ()
    #: the maintenance tier (issue 14 §2); None: none
    maintenance: Maintenance | None = None
    #: the pre-trade limit is on (issue 14 §1)
    pretrade: bool = False

    @property
    def count(self) -> int:
        """S, the number of scenarios."""
        return len(self.pnl) if self.pnl else len(self.shocks)


@dataclass(frozen=True)
class Variant:
    """Settlement prices for days 0..len-1 (row 0 = price0) and the close-out
    prices applied to every defaulter's positions."""
    name: str
    settlement_prices: tuple[tuple[int, ...], ...]
    close_out_prices: tuple[int, ...]
    #: intraday runs (issue 14 §1, pre-trade sets only): ((day, marks per instrument), ...), days increasing
    intraday_marks: tuple[tuple[int, tuple[int, ...]], ...] = ()

    @property
    def days(self) -> int:
        return len(self.settlement_prices)


@dataclass(frozen=True)
class Scenario:
    name: str
    instruments: tuple[Instrument, ...]
    margin_scenarios: MarginScenarios
    members: tuple[Member, ...]
    ccp: CCPParams
    trades: tuple[Trade, ...]
    variants: Mapping[str, Variant]
    units: str = ""
    rules: str = ""

    @property
    def instrument_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.instruments)

    @property
    def member_ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.members)

    @property
    def multipliers(self) -> tuple[int, ...]:
        return tuple(i.multiplier for i in self.instruments)

    def instrument_index(self, instrument_id: str) -> int:
        for k, ins in enumerate(self.instruments):
            if ins.id == instrument_id:
                return k
        raise ScenarioError(f"unknown instrument {instrument_id!r}")

    def member(self, member_id: str) -> Member:
        for m in self.members:
            if m.id == member_id:
                return m
        raise ScenarioError(f"unknown member {member_id!r}")

    def variant(self, name: str) -> Variant:
        try:
            return self.variants[name]
        except KeyError:
            raise ScenarioError(f"unknown variant {name!r}; the scenario has {sorted(self.variants)}") from None

    def to_dict(self) -> dict:
        """The file format; ``load_scenario(sc.to_dict()) == sc``."""
        d: dict[str, Any] = {"name": self.name}
        if self.units:
            d["units"] = self.units
        d["instruments"] = [
            {"id": i.id, "price0": i.price0, "multiplier": i.multiplier, "tick": i.tick, "scan_range": i.scan_range}
            for i in self.instruments
        ]
        ms: dict[str, Any] = {}
        if self.margin_scenarios.description:
            ms["description"] = self.margin_scenarios.description
        if self.margin_scenarios.model.kind != MODEL_SCAN:
            ms["model"] = self.margin_scenarios.model.to_dict()
        mm = self.margin_scenarios.maintenance
        if mm is not None:
            ms["maintenance"] = {"ratio": mm.ratio, "penalty_bps": mm.penalty_bps}
        if self.margin_scenarios.pretrade:
            ms["pretrade"] = True
        if self.margin_scenarios.pnl:
            ms["pnl"] = [list(r) for r in self.margin_scenarios.pnl]
        else:
            ms["shocks"] = [list(r) for r in self.margin_scenarios.shocks]
        d["margin_scenarios"] = ms
        d["members"] = [
            {"id": m.id, "cash": m.cash, "default_fund": m.default_fund, "liquidity": m.liquidity,
             "target_positions": list(m.target_positions)}
            for m in self.members
        ]
        d["ccp"] = {"skin_in_the_game_1": self.ccp.skin_in_the_game_1,
                    "skin_in_the_game_2": self.ccp.skin_in_the_game_2,
                    "assessment_cap_multiple": self.ccp.assessment_cap_multiple,
                    "deposit_grid": self.ccp.deposit_grid}
        if self.ccp.insurance_fund:
            d["ccp"]["insurance_fund"] = self.ccp.insurance_fund
        if self.ccp.cooling_off_cycles:
            d["ccp"]["cooling_off_cycles"] = self.ccp.cooling_off_cycles
        if self.ccp.assessment_total_cap_multiple is not None:
            d["ccp"]["assessment_total_cap_multiple"] = self.ccp.assessment_total_cap_multiple
        if self.ccp.df_sizing is not None:
            d["ccp"]["df_sizing"] = {"num": self.ccp.df_sizing[0], "den": self.ccp.df_sizing[1]}
        if self.ccp.cover2_tau is not None:
            d["ccp"]["cover2"] = {"tau": self.ccp.cover2_tau,
                                  "stress_scenarios": [list(r) for r in self.ccp.stress_scenarios or ()]}
        d["trades"] = [
            {"day": t.day, "buyer": t.buyer, "seller": t.seller, "instrument": t.instrument,
             "quantity": t.quantity, "price": t.price}
            for t in self.trades
        ]
        if self.rules:
            d["rules"] = self.rules
        d["variants"] = {
            name: {"settlement_prices": [list(r) for r in v.settlement_prices],
                   "close_out_prices": list(v.close_out_prices),
                   **({"intraday_marks": [[day, list(m)] for day, m in v.intraday_marks]} if v.intraday_marks else {})}
            for name, v in self.variants.items()
        }
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)


# ---------------------------------------------------------------------------
# strict field readers (clearing.ccp.strict) and the price reader
# ---------------------------------------------------------------------------
def _price(v: Any, path: str, tick: int) -> int:
    p = _int(v, path, 1, PRICE_BOUND)
    if p % tick:
        raise ScenarioError(f"{path}: price {p} is not a multiple of the tick {tick}")
    return p


# ---------------------------------------------------------------------------
# loading and validation
# ---------------------------------------------------------------------------
def load_scenario(source: str | os.PathLike | Mapping) -> Scenario:
    """Load and validate a scenario from a path or an already-parsed dict.

    Raises :class:`ScenarioError` whose message names the offending field
    (e.g. ``members[2].cash: expected an integer, got float 1.5``)."""
    if isinstance(source, Scenario):
        source = source.to_dict()
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise ScenarioError(f"cannot read scenario file {os.fspath(source)!r}: {e}") from None
        data: Mapping = parse_json(text)
    elif isinstance(source, Mapping):
        data = source
    else:
        raise ScenarioError(f"load_scenario expects a path or a dict, got {_type_name(source)}")
    return _validate(data)


def _validate(d: Any) -> Scenario:
    """Validate a parsed scenario file and build the Scenario. One linear pass over the format,
    section by section, each check next to the field it guards, so the error paths read like the
    format's specification."""
    d = _obj(d, "scenario", {"name", "instruments", "margin_scenarios", "members", "ccp", "trades", "variants"},
             {"units", "rules"})
    name = _str(d["name"], "name", allow_empty=False, max_len=200)
    units = _str(d.get("units", ""), "units")
    rules = _str(d.get("rules", ""), "rules")

    # instruments
    raw_ins = _list(d["instruments"], "instruments", min_len=1, max_len=MAX_INSTRUMENTS)
    instruments: list[Instrument] = []
    seen: set[str] = set()
    for k, ri in enumerate(raw_ins):
        p = f"instruments[{k}]"
        ri = _obj(ri, p, {"id", "price0", "multiplier", "tick", "scan_range"})
        iid = _str(ri["id"], f"{p}.id", allow_empty=False, max_len=MAX_ID_LENGTH)
        if iid in seen:
            raise ScenarioError(f"{p}.id: duplicate instrument id {iid!r}")
        seen.add(iid)
        tick = _int(ri["tick"], f"{p}.tick", 1, PRICE_BOUND)
        instruments.append(Instrument(
            id=iid,
            price0=_price(ri["price0"], f"{p}.price0", tick),
            multiplier=_int(ri["multiplier"], f"{p}.multiplier", 1, MULTIPLIER_BOUND),
            tick=tick,
            scan_range=_int(ri["scan_range"], f"{p}.scan_range", 1, SHOCK_BOUND),
        ))
    n_ins = len(instruments)
    ins_index = {ins.id: k for k, ins in enumerate(instruments)}

    # margin scenarios
    margin_scenarios = _margin_scenarios(d["margin_scenarios"], instruments)

    # members
    raw_mem = _list(d["members"], "members", min_len=2, max_len=MAX_MEMBERS)
    members: list[Member] = []
    seen = set()
    for k, rm in enumerate(raw_mem):
        p = f"members[{k}]"
        rm = _obj(rm, p, {"id", "cash", "default_fund", "liquidity", "target_positions"})
        mid = _str(rm["id"], f"{p}.id", allow_empty=False, max_len=MAX_ID_LENGTH)
        if mid in seen:
            raise ScenarioError(f"{p}.id: duplicate member id {mid!r}")
        seen.add(mid)
        tp = _list(rm["target_positions"], f"{p}.target_positions", exact=n_ins)
        members.append(Member(
            id=mid,
            cash=_int(rm["cash"], f"{p}.cash", 0, AMOUNT_BOUND),
            default_fund=_int(rm["default_fund"], f"{p}.default_fund", 0, AMOUNT_BOUND),
            liquidity=_int(rm["liquidity"], f"{p}.liquidity", 0, AMOUNT_BOUND),
            target_positions=tuple(_int(v, f"{p}.target_positions[{i}]", -(1 << 52) + 1, 1 << 52)
                                   for i, v in enumerate(tp)),
        ))
    mem_ids = {m.id for m in members}

    # ccp
    c = _obj(d["ccp"], "ccp", {"skin_in_the_game_1", "skin_in_the_game_2", "assessment_cap_multiple"},
             {"deposit_grid", "insurance_fund", "cooling_off_cycles", "assessment_total_cap_multiple", "df_sizing",
              "cover2"})
    ccp = CCPParams(
        skin_in_the_game_1=_int(c["skin_in_the_game_1"], "ccp.skin_in_the_game_1", 0, AMOUNT_BOUND),
        skin_in_the_game_2=_int(c["skin_in_the_game_2"], "ccp.skin_in_the_game_2", 0, AMOUNT_BOUND),
        assessment_cap_multiple=_int(c["assessment_cap_multiple"], "ccp.assessment_cap_multiple",
                                     0, CAP_MULTIPLE_BOUND),
        deposit_grid=_int(c.get("deposit_grid", 1), "ccp.deposit_grid", 1, AMOUNT_BOUND),
        insurance_fund=_int(c.get("insurance_fund", 0), "ccp.insurance_fund", 0, AMOUNT_BOUND),
        cooling_off_cycles=_int(c.get("cooling_off_cycles", 0), "ccp.cooling_off_cycles", 0, 1 << 16),
        assessment_total_cap_multiple=None if c.get("assessment_total_cap_multiple") is None else _int(
            c["assessment_total_cap_multiple"], "ccp.assessment_total_cap_multiple", 0, CAP_MULTIPLE_BOUND),
        **_df_sizing_params(c, len(instruments)),
    )
    for k, m in enumerate(members):
        if ccp.assessment_cap_multiple * m.default_fund >= PROVEN_CHARGE_BOUND:
            raise ScenarioError(
                f"members[{k}].default_fund: assessment_cap_multiple * default_fund = "
                f"{ccp.assessment_cap_multiple * m.default_fund} must be < 2^64 (a proven charge)")

    # variants (before trades: trade days are checked against them)
    rv = d["variants"]
    if not isinstance(rv, Mapping):
        raise ScenarioError(f"variants: expected an object, got {_type_name(rv)}")
    if not rv:
        raise ScenarioError("variants: at least one variant is required")
    variants: dict[str, Variant] = {}
    for vname, v in rv.items():
        _str(vname, "variants key", allow_empty=False, max_len=MAX_ID_LENGTH)
        p = f"variants.{vname}"
        v = _obj(v, p, {"settlement_prices", "close_out_prices"}, {"intraday_marks"})
        rows = _list(v["settlement_prices"], f"{p}.settlement_prices", min_len=1, max_len=MAX_DAYS)
        sp = []
        for day, row in enumerate(rows):
            rp = f"{p}.settlement_prices[{day}]"
            row = _list(row, rp, exact=n_ins)
            sp.append(tuple(_price(x, f"{rp}[{i}]", instruments[i].tick) for i, x in enumerate(row)))
        for i, ins in enumerate(instruments):
            if sp[0][i] != ins.price0:
                raise ScenarioError(f"{p}.settlement_prices[0][{i}]: day 0 settles at price0 = {ins.price0} "
                                    f"of {ins.id}, got {sp[0][i]}")
        cp = _list(v["close_out_prices"], f"{p}.close_out_prices", exact=n_ins)
        variants[vname] = Variant(
            name=vname,
            settlement_prices=tuple(sp),
            close_out_prices=tuple(_price(x, f"{p}.close_out_prices[{i}]", instruments[i].tick)
                                   for i, x in enumerate(cp)),
            intraday_marks=_intraday_marks(v, p, instruments, len(sp), margin_scenarios),
        )
    min_days = min(v.days for v in variants.values())

    # trades
    raw_tr = _list(d["trades"], "trades", max_len=MAX_TRADES)
    trades: list[Trade] = []
    net0 = {m.id: [0] * n_ins for m in members}
    for k, rt in enumerate(raw_tr):
        p = f"trades[{k}]"
        rt = _obj(rt, p, {"day", "buyer", "seller", "instrument", "quantity", "price"})
        day = _int(rt["day"], f"{p}.day", 0, MAX_DAYS)
        if day >= min_days:
            short = [n for n, v in variants.items() if v.days <= day]
            raise ScenarioError(f"{p}.day: day {day} is beyond the last day of variant(s) {short}")
        buyer = _str(rt["buyer"], f"{p}.buyer")
        seller = _str(rt["seller"], f"{p}.seller")
        for role, who in (("buyer", buyer), ("seller", seller)):
            if who not in mem_ids:
                raise ScenarioError(f"{p}.{role}: unknown member {who!r}")
        if buyer == seller:
            raise ScenarioError(f"{p}: buyer and seller are the same member {buyer!r}")
        iid = _str(rt["instrument"], f"{p}.instrument")
        if iid not in ins_index:
            raise ScenarioError(f"{p}.instrument: unknown instrument {iid!r}")
        i = ins_index[iid]
        q = _int(rt["quantity"], f"{p}.quantity", 1, QUANTITY_BOUND)
        price = _price(rt["price"], f"{p}.price", instruments[i].tick)
        trades.append(Trade(day=day, buyer=buyer, seller=seller, instrument=iid, quantity=q, price=price))
        if day == 0:
            net0[buyer][i] += q
            net0[seller][i] -= q
    for k, m in enumerate(members):
        if list(m.target_positions) != net0[m.id]:
            raise ScenarioError(f"members[{k}].target_positions: {list(m.target_positions)} of {m.id!r} "
                                f"differ from the net of its day-0 trades {net0[m.id]}")

    return Scenario(name=name, instruments=tuple(instruments),
                    margin_scenarios=margin_scenarios,
                    members=tuple(members), ccp=ccp, trades=tuple(trades), variants=variants,
                    units=units, rules=rules)


def _df_sizing_params(c: Mapping, n_instruments: int) -> dict:
    """The optional ccp.df_sizing {num, den} and ccp.cover2 {tau,
    stress_scenarios} (issue 14 §4) as CCPParams fields."""
    out: dict[str, Any] = {}
    if "df_sizing" in c:
        f = _obj(c["df_sizing"], "ccp.df_sizing", {"num", "den"})
        den = _int(f["den"], "ccp.df_sizing.den", 1, (1 << 20) + 1)
        num = _int(f["num"], "ccp.df_sizing.num", 1, den + 1)
        if math.gcd(num, den) != 1:
            raise ScenarioError("ccp.df_sizing: num/den must be in lowest terms")
        out["df_sizing"] = (num, den)
    if "cover2" in c:
        v = _obj(c["cover2"], "ccp.cover2", {"tau", "stress_scenarios"})
        out["cover2_tau"] = _int(v["tau"], "ccp.cover2.tau", 0, AMOUNT_BOUND)
        rows = _list(v["stress_scenarios"], "ccp.cover2.stress_scenarios", min_len=2, max_len=2048)
        stress = tuple(tuple(_int(x, f"ccp.cover2.stress_scenarios[{s}][{i}]", -(1 << 64) + 1, 1 << 64)
                             for i, x in enumerate(_list(r, f"ccp.cover2.stress_scenarios[{s}]",
                                                         exact=n_instruments)))
                       for s, r in enumerate(rows))
        if any(stress[0]):
            raise ScenarioError("ccp.cover2.stress_scenarios[0] must be the no-move row (all zeros)")
        out["stress_scenarios"] = stress
    return out


def _margin_model(v: Any, scenarios: int) -> MarginModel:
    path = "margin_scenarios.model"
    if not isinstance(v, Mapping):
        raise ScenarioError(f"{path}: expected an object, got {_type_name(v)}")
    kind = v.get("kind")
    if kind == MODEL_SCAN:
        _obj(v, path, {"kind"})
        return MarginModel()
    if kind != MODEL_ES:
        raise ScenarioError(f"{path}.kind: expected \"scan\" or \"es\", got {_type_name(kind)} {str(kind)[:40]!r}")
    v = _obj(v, path, {"kind", "k"}, {"alpha"})
    k = _int(v["k"], f"{path}.k", 1, scenarios + 1)
    alpha = ""
    if "alpha" in v:
        parse_alpha(v["alpha"], f"{path}.alpha")
        alpha = v["alpha"]
        want = tail_count(scenarios, alpha)
        if k != want:
            raise ScenarioError(f"{path}.k: {k} tail scenarios do not match alpha {alpha} over {scenarios} "
                                f"scenarios (round half up of S * (1 - alpha), at least 1: {want})")
    return MarginModel(MODEL_ES, k, alpha)


def _margin_scenarios(v: Any, instruments: list[Instrument]) -> MarginScenarios:
    """``margin_scenarios``: the model, and the shocks or the P&L rows (module docstring)."""
    n_ins = len(instruments)
    ms = _obj(v, "margin_scenarios", set(), {"description", "model", "shocks", "pnl", "maintenance", "pretrade"})
    desc = _str(ms.get("description", ""), "margin_scenarios.description")
    if ("shocks" in ms) == ("pnl" in ms):
        raise ScenarioError("margin_scenarios: exactly one of shocks (price units) or pnl (minor units) is required")
    form = "shocks" if "shocks" in ms else "pnl"
    raw = _list(ms[form], f"margin_scenarios.{form}", min_len=1, max_len=MAX_SCENARIOS)
    model = _margin_model(ms["model"], len(raw)) if "model" in ms else MarginModel()
    rows: list[tuple[int, ...]] = []
    for s, row in enumerate(raw):
        p = f"margin_scenarios.{form}[{s}]"
        row = _list(row, p, exact=n_ins)
        if form == "pnl":
            rows.append(tuple(_int(x, f"{p}[{i}]", -PNL_BOUND + 1, PNL_BOUND) for i, x in enumerate(row)))
            continue
        vals = []
        for i, x in enumerate(row):
            x = _int(x, f"{p}[{i}]", -SHOCK_BOUND + 1, SHOCK_BOUND)
            if abs(x) > instruments[i].scan_range:
                raise ScenarioError(f"{p}[{i}]: |shock| {abs(x)} exceeds the scan range "
                                    f"{instruments[i].scan_range} of {instruments[i].id}")
            vals.append(x)
        rows.append(tuple(vals))
    if model.kind == MODEL_SCAN and any(rows[0]):
        raise ScenarioError(f"margin_scenarios.{form}[0]: scenario 0 must be 'no move' (all zeros) "
                            "under the scan model")
    mm = _maintenance(ms["maintenance"]) if "maintenance" in ms else None
    if mm is not None and model.kind != MODEL_SCAN:
        raise ScenarioError("margin_scenarios.maintenance: maintenance margin is defined for the scan model only")
    pretrade = "pretrade" in ms
    if pretrade and ms["pretrade"] is not True:
        raise ScenarioError("margin_scenarios.pretrade: must be true when present (omit it to turn the limit off), "
                            f"got {_type_name(ms['pretrade'])}")
    if pretrade and model.kind != MODEL_SCAN:
        raise ScenarioError("margin_scenarios.pretrade: the pre-trade limit is defined for the scan model only")
    if form == "pnl":
        return MarginScenarios(description=desc, model=model, pnl=tuple(rows), maintenance=mm, pretrade=pretrade)
    return MarginScenarios(shocks=tuple(rows), description=desc, model=model, maintenance=mm, pretrade=pretrade)


def _intraday_marks(v: Mapping, p: str, instruments: list[Instrument], days: int,
                    ms: MarginScenarios) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """A variant's optional ``intraday_marks`` [[day, [mark per instrument]]] (module docstring)."""
    if "intraday_marks" not in v:
        return ()
    p = f"{p}.intraday_marks"
    if not ms.pretrade:
        raise ScenarioError(f"{p}: intraday runs need the pre-trade limit (margin_scenarios.pretrade)")
    if ms.maintenance is not None:
        raise ScenarioError(f"{p}: intraday runs are not defined with a maintenance tier")
    out: list[tuple[int, tuple[int, ...]]] = []
    for k, entry in enumerate(_list(v["intraday_marks"], p, max_len=MAX_DAYS)):
        day, marks = _list(entry, f"{p}[{k}]", exact=2)
        day = _int(day, f"{p}[{k}][0]", 1, days)
        if out and day <= out[-1][0]:
            raise ScenarioError(f"{p}[{k}][0]: day {day} after day {out[-1][0]}: days must increase, "
                                "at most one intraday run per day")
        row = _list(marks, f"{p}[{k}][1]", exact=len(instruments))
        out.append((day, tuple(_price(x, f"{p}[{k}][1][{i}]", instruments[i].tick) for i, x in enumerate(row))))
    return tuple(out)


_RATIO = re.compile(r"(0\.[0-9]{1,6}|1(\.0{1,6})?)")
MAX_PENALTY_BPS = 10_000


def _maintenance(v: Any) -> Maintenance:
    """``margin_scenarios.maintenance``: {ratio: decimal string in (0, 1], at
    most six decimals; penalty_bps: int in [0, 10,000]}."""
    path = "margin_scenarios.maintenance"
    v = _obj(v, path, {"ratio", "penalty_bps"})
    ratio = v["ratio"]
    if not isinstance(ratio, str) or not _RATIO.fullmatch(ratio):
        raise ScenarioError(f"{path}.ratio: expected a decimal string in (0, 1] with at most six decimals, "
                            f"such as \"0.8\", got {_type_name(ratio)}")
    f = Fraction(ratio)
    if f <= 0:
        raise ScenarioError(f"{path}.ratio: must be above 0")
    bps = _int(v["penalty_bps"], f"{path}.penalty_bps", 0, MAX_PENALTY_BPS + 1)
    return Maintenance(ratio, f.numerator, f.denominator, bps)


def builtin_scenario() -> Scenario:
    """The demo scenario of DESIGN §10, shipped as clearing/data/ccp-demo.json."""
    text = resources.files("clearing.data").joinpath("ccp-demo.json").read_text(encoding="utf-8")
    return load_scenario(parse_json(text))


def scenario_matrix(sc: Scenario) -> list[list[int]]:
    """Per-contract P&L array A[s][i] in minor units per contract (DESIGN
    §5.3): the ``pnl`` rows as given, else shock[s][i] * mult_i.  Under the
    scan model row 0 is all zeros."""
    if sc.margin_scenarios.pnl:
        return [list(row) for row in sc.margin_scenarios.pnl]
    mults = sc.multipliers
    return [[x * mults[i] for i, x in enumerate(row)] for row in sc.margin_scenarios.shocks]


def scenario_maintenance(sc: Scenario) -> dict | None:
    """The maintenance terms as the operator's signed scenario set carries
    them ({num, den, penalty_bps}), or None (no maintenance tier)."""
    mm = sc.margin_scenarios.maintenance
    return None if mm is None else mm.signed()


def scenario_pretrade(sc: Scenario) -> bool:
    """Whether the operator's signed set carries ``"pretrade": true``."""
    return sc.margin_scenarios.pretrade


def scenario_model(sc: Scenario) -> dict:
    """The margin model as the operator's signed scenario set carries it:
    {"kind": "scan"} or {"kind": "es", "k": k} (:meth:`MarginModel.signed`)."""
    return sc.margin_scenarios.model.signed()
