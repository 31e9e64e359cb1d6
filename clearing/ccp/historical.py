"""Historical-simulation scenario sets for the expected-shortfall margin model
(issue 13, section 4): per-contract P&L of every overlapping h-day move in a
window of daily settlement prices, plus a seeded synthetic price history with
fat tails and volatility clustering for tests and the demo when no data is
given.  Used by ``zkclear scenario historical`` (:mod:`clearing.commands.scenario`).

The price file (CSV, UTF-8)
---------------------------
The first line is the header: ``date`` then one column per contract, the
contract ids (unique, 1..64 characters).  A contract column may carry its
multiplier as ``ID*MULT`` (e.g. ``ESX*50``); otherwise the multipliers come
from a JSON file (``--multipliers``: an object {id: multiplier} or a scenario
file, whose ``instruments`` give them).  Every following line is one trading
day: an ISO date ``YYYY-MM-DD`` (strictly increasing) and one settlement
price per contract, a positive decimal integer in the contract's *price
units* (the scenario format's units, e.g. 0.01 index points).  Blank lines
and lines starting with ``#`` are skipped.  Nothing else is accepted: no
decimal points (prices are integers already, so a historical P&L needs no
rounding), no missing values (clean or forward-fill the data first), no
floats anywhere.

The scenario set
----------------
With N price rows P[0..N-1], a window W and a holding period of h days, the
scenarios are the last W overlapping h-day moves, oldest first:
for t = N-h-W, ..., N-h-1,  A[t][i] = (P[t+h][i] - P[t][i]) * mult_i,
in minor units per contract -- exact integers (absolute price moves, not
rescaled to today's price level; so no rounding at all).  N >= W + h is
required.  The set is equally weighted with k = max(1, floor(W * (1 - alpha)
+ 1/2)) tail scenarios (``clearing.ccp.scenario.tail_count``: round half up,
exact rational arithmetic on the decimal string alpha; e.g. W = 1000,
alpha = 0.975 -> k = 25; W = 500 -> 12.5 -> 13).  Bounds: 1 <= W <=
MAX_SCENARIOS (2,048), at most MAX_INSTRUMENTS (4,096) contracts, prices in
(0, 2^40), multipliers in [1, 2^24), so |A| < 2^64 as the format requires.

The synthetic history (:func:`synthetic_history`)
------------------------------------------------
Deterministic for a seed (``random.Random(seed)``; nothing secret).  Daily
log-returns r[t][i] = vol_i * sqrt(h_t) * (rho_i * m_t + sqrt(1 - rho_i^2)
* e[t][i]) with m_t and e[t][i] independent unit-variance Student-t(4)
innovations (fat tails), a market factor with loadings rho_i in [0.5, 0.9],
and a GARCH(1,1) variance h_{t+1} = (1 - a - b) + a * m_t^2 * h_t + b * h_t
(a = 0.08, b = 0.90: volatility clustering, long-run mean 1); vol_i is a
long-run daily volatility drawn from 0.8% - 2% (the demo's set: 0.7% -
1.3%).  Prices follow P[t+1] = P[t] * exp(r) rounded to the nearest
multiple of the tick, at least one tick.  Floats are used only
to simulate; every price, hence every P&L, is an integer.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
import os
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from clearing.ccp.scenario import (
    MAX_ID_LENGTH,
    MAX_INSTRUMENTS,
    MAX_SCENARIOS,
    MODEL_ES,
    MULTIPLIER_BOUND,
    PRICE_BOUND,
    Instrument,
    MarginModel,
    MarginScenarios,
    Scenario,
    ScenarioError,
    load_scenario,
    parse_alpha,
    parse_json,
    tail_count,
)

#: the synthetic model's constants (module docstring)
T_DOF = 4
GARCH_A = 0.08
GARCH_B = 0.90
#: the range of the instruments' long-run daily volatility (module docstring)
DAILY_VOL = (0.008, 0.02)
#: the demo's (``es_demo_scenario``): a calmer history, so that the built-in
#: scenario's member resources tell the same story under ES as under the scan
DEMO_VOL = (0.007, 0.013)
_START = _dt.date(2020, 1, 1)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_PRICE = re.compile(r"[1-9][0-9]*")
_MULTS = (5, 10, 20, 25, 50, 100, 250)
_TICKS = (1, 5, 10, 25, 50)
MAX_HOLDING_DAYS = 250


class HistoricalError(ScenarioError):
    """A price file, a multiplier file or a parameter is malformed; the
    message names the line or the field."""


@dataclass(frozen=True)
class PriceHistory:
    """Daily settlement prices: ``prices[t][i]`` in price units of contract
    ``ids[i]`` on ``dates[t]``; ``multipliers[i]`` minor units per price unit
    (0 when the file did not give it)."""
    ids: tuple[str, ...]
    dates: tuple[str, ...]
    prices: tuple[tuple[int, ...], ...]
    multipliers: tuple[int, ...]

    def to_csv(self) -> str:
        """The price file (with the ``ID*MULT`` header convention when every
        multiplier is known)."""
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        named = all(self.multipliers)
        w.writerow(["date"] + [f"{c}*{m}" if named else c for c, m in zip(self.ids, self.multipliers)])
        for d, row in zip(self.dates, self.prices):
            w.writerow([d, *row])
        return out.getvalue()


@dataclass(frozen=True)
class HistoricalSet:
    """An expected-shortfall scenario set: ``pnl`` S x I per-contract P&L in
    minor units, k tail scenarios, the confidence alpha (a decimal string)."""
    ids: tuple[str, ...]
    pnl: tuple[tuple[int, ...], ...]
    k: int
    alpha: str
    window: int
    holding_days: int
    first_date: str
    last_date: str

    @property
    def description(self) -> str:
        return (f"historical simulation: the {self.window} overlapping {self.holding_days}-day moves of the "
                f"settlement prices from {self.first_date} to {self.last_date}, per-contract P&L "
                f"(P[t+h] - P[t]) * multiplier in minor units, oldest first; expected shortfall at alpha "
                f"{self.alpha} over the k = {self.k} worst scenarios")

    def margin_scenarios(self) -> dict:
        """The ``margin_scenarios`` section of a scenario file."""
        return {"description": self.description,
                "model": {"kind": MODEL_ES, "k": self.k, "alpha": self.alpha},
                "pnl": [list(r) for r in self.pnl]}

    def scenario_set(self, version: int = 0) -> dict:
        """The operator's scenario-set file (``zkclear admin settle
        --scenario-set``): version, instrument ids, the signed model
        {kind, k} and the P&L matrix (alpha and the description are
        informational)."""
        return {"version": version, "instruments": list(self.ids), "model": {"kind": MODEL_ES, "k": self.k},
                "alpha": self.alpha, "description": self.description, "matrix": [list(r) for r in self.pnl]}


# ---------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------
def _count(name: str, v: object, lo: int, hi: int) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise HistoricalError(f"{name} must be an integer in [{lo}, {hi}], got {v!r}")
    return v


def read_prices(source: str | os.PathLike, multipliers: Mapping[str, int] | None = None) -> PriceHistory:
    """Read a price file (module docstring).  ``multipliers`` (id ->
    multiplier) completes the columns whose header has no ``*MULT``."""
    try:
        with open(source, encoding="utf-8", newline="") as f:
            text = f.read()
    except OSError as e:
        raise HistoricalError(f"cannot read price file {os.fspath(source)!r}: {e}") from None
    return parse_prices(text, multipliers)


def parse_prices(text: str, multipliers: Mapping[str, int] | None = None) -> PriceHistory:
    """Parse the text of a price file (see :func:`read_prices`)."""
    lines = [(n, row) for n, row in enumerate(csv.reader(io.StringIO(text)), start=1)
             if row and not (len(row) == 1 and not row[0].strip()) and not row[0].startswith("#")]
    if not lines:
        raise HistoricalError("price file: no header line")
    n0, header = lines[0]
    if header[0].strip() != "date" or len(header) < 2:
        raise HistoricalError(f"price file line {n0}: the header is 'date' then one column per contract")
    if len(header) - 1 > MAX_INSTRUMENTS:
        raise HistoricalError(f"price file line {n0}: at most {MAX_INSTRUMENTS} contracts, got {len(header) - 1}")
    ids, mults = [], []
    for c, cell in enumerate(header[1:], start=2):
        cid, _, m = cell.strip().partition("*")
        if not cid or len(cid) > MAX_ID_LENGTH:
            raise HistoricalError(f"price file line {n0}, column {c}: a contract id of 1..{MAX_ID_LENGTH} characters")
        if cid in ids:
            raise HistoricalError(f"price file line {n0}, column {c}: duplicate contract id {cid[:40]!r}")
        if m:
            if not _PRICE.fullmatch(m) or not int(m) < MULTIPLIER_BOUND:
                raise HistoricalError(f"price file line {n0}, column {c}: multiplier {m[:40]!r} is not an integer "
                                      f"in [1, {MULTIPLIER_BOUND})")
            mult = int(m)
        else:
            mult = (multipliers or {}).get(cid, 0)
            if mult and (isinstance(mult, bool) or not isinstance(mult, int) or not 1 <= mult < MULTIPLIER_BOUND):
                raise HistoricalError(f"multiplier of {cid[:40]!r}: expected an integer in [1, {MULTIPLIER_BOUND})")
        ids.append(cid)
        mults.append(mult)
    dates: list[str] = []
    prices: list[tuple[int, ...]] = []
    for n, row in lines[1:]:
        if len(row) != len(header):
            raise HistoricalError(f"price file line {n}: expected {len(header)} cells, got {len(row)}")
        d = row[0].strip()
        try:
            if not _DATE.fullmatch(d):
                raise ValueError
            _dt.date.fromisoformat(d)
        except ValueError:
            raise HistoricalError(f"price file line {n}: {d[:40]!r} is not a date YYYY-MM-DD") from None
        if dates and d <= dates[-1]:
            raise HistoricalError(f"price file line {n}: dates must increase strictly ({d} after {dates[-1]})")
        row_prices = []
        for c, cell in enumerate(row[1:], start=2):
            v = cell.strip()
            if not _PRICE.fullmatch(v):
                raise HistoricalError(f"price file line {n}, column {c} ({ids[c - 2][:40]}): {v[:40]!r} is not a "
                                      "positive integer price (price units; no decimal point, no missing value)")
            p = int(v)
            if p >= PRICE_BOUND:
                raise HistoricalError(f"price file line {n}, column {c}: price {p} is not below 2^40")
            row_prices.append(p)
        dates.append(d)
        prices.append(tuple(row_prices))
    return PriceHistory(tuple(ids), tuple(dates), tuple(prices), tuple(mults))


def read_multipliers(source: str | os.PathLike) -> dict[str, int]:
    """A multiplier file: a JSON object {contract id: multiplier} or a
    scenario file (its instruments' multipliers)."""
    try:
        with open(source, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise HistoricalError(f"cannot read multiplier file {os.fspath(source)!r}: {e}") from None
    try:
        data = parse_json(text)
        if isinstance(data, Mapping) and "instruments" in data:
            return {i.id: i.multiplier for i in load_scenario(data).instruments}
    except HistoricalError:
        raise
    except ScenarioError as exc:
        raise HistoricalError(f"multiplier file: {exc}") from None
    if not isinstance(data, Mapping):
        raise HistoricalError("multiplier file: expected a JSON object {id: multiplier} or a scenario file")
    out = {}
    for cid, m in data.items():
        if isinstance(m, bool) or not isinstance(m, int) or not 1 <= m < MULTIPLIER_BOUND:
            raise HistoricalError(f"multiplier file: {str(cid)[:40]!r} must map to an integer in "
                                  f"[1, {MULTIPLIER_BOUND}), got {m!r}")
        out[cid] = m
    return out


# ---------------------------------------------------------------------------
# the scenario set
# ---------------------------------------------------------------------------
def historical_set(history: PriceHistory, window: int, holding_days: int, alpha: str) -> HistoricalSet:
    """The ES scenario set of the last ``window`` overlapping
    ``holding_days``-day moves (module docstring)."""
    _count("window", window, 1, MAX_SCENARIOS)
    _count("holding days", holding_days, 1, MAX_HOLDING_DAYS)
    try:
        parse_alpha(alpha, "alpha")
    except ScenarioError as exc:
        raise HistoricalError(str(exc)) from None
    missing = [c for c, m in zip(history.ids, history.multipliers) if not m]
    if missing:
        raise HistoricalError(f"no multiplier for contract(s) {', '.join(c[:40] for c in missing[:5])}: give them "
                              "as ID*MULT in the header or in a multiplier file")
    n = len(history.prices)
    if n < window + holding_days:
        raise HistoricalError(f"{n} price rows cannot give {window} overlapping {holding_days}-day moves "
                              f"(need at least {window + holding_days})")
    P, mults, h = history.prices, history.multipliers, holding_days
    start = n - h - window
    pnl = tuple(tuple((P[t + h][i] - P[t][i]) * mults[i] for i in range(len(mults)))
                for t in range(start, n - h))
    return HistoricalSet(history.ids, pnl, tail_count(window, alpha), alpha, window, h,
                         history.dates[start], history.dates[n - 1])


# ---------------------------------------------------------------------------
# the synthetic history
# ---------------------------------------------------------------------------
def _student_t(rng: random.Random) -> float:
    """A unit-variance Student-t(4) draw."""
    z = rng.gauss(0.0, 1.0)
    chi2 = rng.gammavariate(T_DOF / 2, 2.0)
    return z / math.sqrt(chi2 / T_DOF) * math.sqrt((T_DOF - 2) / T_DOF)


def _business_days(n: int) -> list[str]:
    out: list[str] = []
    d = _START
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d.isoformat())
        d += _dt.timedelta(days=1)
    return out


def synthetic_instruments(count: int, seed: int) -> list[Instrument]:
    """``count`` futures "F0001", ... with a random tick, multiplier and
    starting price (like :mod:`clearing.ccp.generate`); deterministic."""
    _count("instruments", count, 1, MAX_INSTRUMENTS)
    rng = random.Random(f"instruments:{seed}")
    width = max(2, len(str(count)))
    out = []
    for k in range(count):
        tick = rng.choice(_TICKS)
        price0 = tick * rng.randint(100_000 // tick, 2_000_000 // tick)
        scan = max(tick, price0 * rng.randint(40, 90) // 1000 // tick * tick)
        out.append(Instrument(f"F{k + 1:0{width}d}", price0, rng.choice(_MULTS), tick, scan))
    return out


def synthetic_history(instruments: Sequence[Instrument], days: int, seed: int,
                      vol: tuple[float, float] = DAILY_VOL) -> PriceHistory:
    """A fat-tailed, volatility-clustered daily price history of ``days``
    rows for ``instruments``, starting at each price0 (module docstring);
    each instrument's long-run daily volatility is drawn from ``vol``.
    Deterministic for the seed."""
    if not instruments or len(instruments) > MAX_INSTRUMENTS:
        raise HistoricalError(f"synthetic history: 1..{MAX_INSTRUMENTS} instruments")
    _count("days", days, 2, 1 << 16)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise HistoricalError(f"seed must be an integer, got {seed!r}")
    rng = random.Random(seed)
    if not 0 < vol[0] <= vol[1] < 0.5:
        raise HistoricalError(f"synthetic history: daily volatility range {vol!r} is not within (0, 0.5)")
    vols = [rng.uniform(vol[0], vol[1]) for _ in instruments]
    rhos = [rng.uniform(0.5, 0.9) for _ in instruments]
    cur = [float(x.price0) for x in instruments]
    rows = [tuple(x.price0 for x in instruments)]
    h = 1.0
    for _ in range(days - 1):
        m = _student_t(rng)
        sd = math.sqrt(h)
        row = []
        for i, x in enumerate(instruments):
            e = _student_t(rng)
            r = vols[i] * sd * (rhos[i] * m + math.sqrt(1 - rhos[i] ** 2) * e)
            cur[i] = cur[i] * math.exp(r)
            p = max(x.tick, round(cur[i] / x.tick) * x.tick)
            p = min(p, (PRICE_BOUND - 1) // x.tick * x.tick)
            cur[i] = float(p)
            row.append(p)
        rows.append(tuple(row))
        h = (1 - GARCH_A - GARCH_B) + GARCH_A * m * m * h + GARCH_B * h
    return PriceHistory(tuple(x.id for x in instruments), tuple(_business_days(days)), tuple(rows),
                        tuple(x.multiplier for x in instruments))


# ---------------------------------------------------------------------------
# a scenario file under the ES model
# ---------------------------------------------------------------------------
ES_RULES = (
    " Margin model: expected shortfall over the set's S equally weighted historical scenarios with k tail "
    "scenarios: a member's loss in scenario s is L_s = -sum_i A[s][i] * pos_i; the requirement is the sum of "
    "the k largest losses divided by k, rounded up to the minor unit, and at least 0 (ties: any k of equal "
    "losses give the same sum); a member is margin-sufficient iff cash >= 0 and k * cash >= that sum; the IM "
    "call is the requirement minus cash."
)


def with_es_margin(sc: Scenario, hs: HistoricalSet) -> Scenario:
    """``sc`` with its margin scenarios replaced by the ES set ``hs`` (same
    instruments, in order), the name suffixed "-es" and the rules text
    extended by :data:`ES_RULES`; validated by the strict loader."""
    if tuple(hs.ids) != sc.instrument_ids:
        raise HistoricalError(f"the scenario set's contracts {list(hs.ids)[:5]} are not the scenario's "
                              f"instruments {list(sc.instrument_ids)[:5]}")
    ms = MarginScenarios(description=hs.description, model=MarginModel(MODEL_ES, hs.k, hs.alpha), pnl=hs.pnl)
    out = replace(sc, name=f"{sc.name}-es"[:200], margin_scenarios=ms, rules=(sc.rules + ES_RULES).strip())
    return load_scenario(out.to_dict())


def es_demo_scenario(sc: Scenario, window: int = 500, holding_days: int = 2, alpha: str = "0.975",
                     seed: int = 13, vol: tuple[float, float] = DEMO_VOL) -> Scenario:
    """``sc`` under an ES set of ``window`` scenarios built from a synthetic
    history of its own instruments (``window + holding_days`` days, seeded,
    daily volatilities in ``vol``: :data:`DEMO_VOL` by default, with which
    the built-in ccp-demo runs as under the scan -- A's IM call on day 3,
    its payment default on day 4)."""
    hist = synthetic_history(sc.instruments, window + holding_days, seed, vol)
    return with_es_margin(sc, historical_set(hist, window, holding_days, alpha))


def dumps_set(obj: dict) -> str:
    """A scenario set or section as JSON, one scenario row per line."""
    body = {k: v for k, v in obj.items() if k not in ("matrix", "pnl")}
    key = "matrix" if "matrix" in obj else "pnl"
    head = json.dumps(body, indent=1)[:-2]
    rows = ",\n  ".join(json.dumps(r, separators=(",", ":")) for r in obj[key])
    return f'{head},\n "{key}": [\n  {rows}\n ]\n}}\n'


__all__ = ["HistoricalError", "PriceHistory", "HistoricalSet", "read_prices", "parse_prices", "read_multipliers",
           "historical_set", "synthetic_instruments", "synthetic_history", "DAILY_VOL", "DEMO_VOL", "ES_RULES",
           "with_es_margin", "es_demo_scenario", "dumps_set"]
