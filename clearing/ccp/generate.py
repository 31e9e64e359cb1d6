"""A generator of random but realistic scenarios in the scenario file format
(:mod:`clearing.ccp.scenario`), each ending in a default that reaches the
survivors' default fund (tranche 4, partly consumed, pro rata).

Used by ``zkclear demo --generate``, the tests and the benchmarks to get
scenarios of any size (members, instruments, margin scenarios, cycles) that
exercise the interesting path of the waterfall.  Deterministic for a seed
(``random.Random(seed)``): nothing secret is generated here.

Dependencies (one way, see ``clearing/ccp/__init__.py``): this module may
import the format (:mod:`clearing.ccp.scenario`), the rules
(:mod:`clearing.ccp.rules`) and the oracle (:mod:`clearing.ccp.oracle`);
none of them imports it.  The construction sizes the crash and the
resources with the rules' arithmetic, and the finished scenario is then
checked by the plaintext oracle's own, independent, run.
"""
from __future__ import annotations

import random

from clearing.ccp.oracle import OracleResult, run_oracle
from clearing.ccp.rules import closeout_loss, requirement, variation_margin
from clearing.ccp.scenario import (
    MAX_DAYS,
    MAX_INSTRUMENTS,
    MAX_MEMBERS,
    MAX_SCENARIOS,
    CCPParams,
    Instrument,
    MarginScenarios,
    Member,
    Scenario,
    ScenarioError,
    Trade,
    Variant,
    load_scenario,
)

_MULTIPLIERS = (5, 10, 20, 25, 50, 100, 250)
_TICKS = (1, 5, 10, 25, 50)
GENERATED_VARIANT = "normal"
GENERATED_DEPOSIT_GRID = 10 ** 8
GENERATED_RULES = (
    "Day 0: opening trades at price0, settlement = price0. Each later day: settlement prices of the variant; "
    "VM on positions held from the previous day; a trade booked on day d is marked from its trade price to "
    "day d's settlement; after settlement every member's requirement is the worst scenario loss; a member "
    "whose cash is below it is called for the difference; if the call is within its remaining liquidity it "
    "cures by depositing the call rounded up to a multiple of ccp.deposit_grid (at most its remaining "
    "liquidity), otherwise it defaults. Close-out prices of the variant apply to the defaulters' "
    "positions. Generated: the last day is a crash in which the first member defaults and its loss reaches "
    "the survivors' default fund (partly consumed, pro rata)."
)


def _round_up(x: int, unit: int) -> int:
    return -(-x // unit) * unit


def _shock_patterns(n_ins: int) -> list[list[tuple[int, int]]]:
    """SPAN-like scan patterns as per-instrument fractions (num, den) of the
    scan range: uniform -1, +1, -2/3, +2/3, -1/3, +1/3; then "one leads by a
    full range, the others move half" both ways; then rotations (one up half,
    the next down half) both ways."""
    pats: list[list[tuple[int, int]]] = []
    for num in (3, 2, 1):
        pats.append([(-num, 3)] * n_ins)
        pats.append([(num, 3)] * n_ins)
    if n_ins > 1:
        for j in range(n_ins):
            for sign in (-1, 1):
                pats.append([(sign * 2, 2) if i == j else (sign, 2) for i in range(n_ins)])
        for j in range(n_ins - 1):
            for sign in (1, -1):
                pats.append([(sign, 2) if i == j else (-sign, 2) if i == j + 1 else (0, 1) for i in range(n_ins)])
    return pats


def _frac(scan: int, num: int, den: int) -> int:
    v = scan * abs(num) // den
    return -v if num < 0 else v


def generate_scenario(members: int, instruments: int, scenarios: int, cycles: int, seed: int) -> Scenario:
    """A random but realistic scenario in the file format, ending in a default.

    ``members`` >= 3 members ("M01", ...), ``instruments`` >= 1 futures
    ("F01", ...), ``scenarios`` >= 2 margin scenarios (row 0 = no move; then
    SPAN-like uniform, lead and rotation moves; random moves when more are
    asked for), ``cycles`` >= 1 end-of-day cycles after day 0 (so days
    0..cycles; the last day is the crash).  One variant, named "normal".

    Construction (all integer, deterministic for the seed via
    ``random.Random(seed)`` -- nothing secret is generated here):
      * member 0 ("M01") buys every instrument from several others (a large
        directional long); the others also trade among themselves; on day 1
        (when cycles >= 2) one extra trade between two other members;
      * days 1..cycles-1 wiggle around price0 within a quarter of the scan
        range (no drift), so margin holds before the crash;
      * each member's cash = the most it needs on any pre-crash day
        (requirement minus cumulative VM) plus headroom, so nobody is called
        before the crash; default-fund contributions of the first member are
        a share of its scan-range loss;
      * the crash drops every price by k/2 scan ranges (k = 1, 2, ...,
        capped at 60%) until member 0's call exceeds what it can pay and its
        loss passes its own margin and default-fund contribution; close-out
        prices lie a further half scan range lower;
      * skin in the game 1 takes 10-40% of the residual loss, and the
        survivors' fund is sized to 1.3-4x what remains, allocated in
        proportion to their scan-range risk -- so tranche 4 is reached and
        partly consumed, pro rata; the other members' liquidity covers
        their crash-day calls.
    The result is checked with the plaintext oracle; if it did not end in a
    default reaching tranche 4, the crash is deepened and the check repeated.

    Long but linear: it builds the file section by section (instruments, scan ranges, portfolios,
    prices, the crash) and then checks the result with the oracle.
    """
    for name, v, lo, hi in (("members", members, 3, MAX_MEMBERS + 1),
                            ("instruments", instruments, 1, MAX_INSTRUMENTS + 1),
                            ("scenarios", scenarios, 2, MAX_SCENARIOS + 1), ("cycles", cycles, 1, MAX_DAYS)):
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v < hi:
            raise ScenarioError(f"generate_scenario: {name} must be an integer in [{lo}, {hi}), got {v!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ScenarioError(f"generate_scenario: seed must be an integer, got {seed!r}")
    rng = random.Random(seed)
    n, I, T = members, instruments, cycles
    width = max(2, len(str(n)), len(str(I)))
    mids = [f"M{k + 1:0{width}d}" for k in range(n)]
    iids = [f"F{k + 1:0{width}d}" for k in range(I)]

    ins: list[Instrument] = []
    for k in range(I):
        tick = rng.choice(_TICKS)
        mult = rng.choice(_MULTIPLIERS)
        price0 = tick * rng.randint(100_000 // tick, 2_000_000 // tick)
        scan = max(tick, price0 * rng.randint(40, 90) // 1000 // tick * tick)
        ins.append(Instrument(iids[k], price0, mult, tick, scan))
    mults = [x.multiplier for x in ins]
    scans = [x.scan_range for x in ins]

    pats = _shock_patterns(I)
    shocks = [[0] * I]
    for s in range(1, scenarios):
        if s - 1 < len(pats):
            shocks.append([_frac(scans[i], *pats[s - 1][i]) for i in range(I)])
        else:
            shocks.append([_frac(scans[i], rng.randint(-6, 6), 6) for i in range(I)])
    matrix = [[x * mults[i] for i, x in enumerate(row)] for row in shocks]

    # day-0 trades at price0
    trades: list[Trade] = []
    others = list(range(1, n))
    for i in range(I):
        sellers = [j for j in others if rng.random() < 0.7] or [rng.choice(others)]
        for j in sellers:
            trades.append(Trade(0, mids[0], mids[j], iids[i], rng.randint(10, 400), ins[i].price0))
        for _ in range(rng.randint(1, n)):
            b, s_ = rng.sample(others, 2)
            trades.append(Trade(0, mids[b], mids[s_], iids[i], rng.randint(5, 300), ins[i].price0))

    # pre-crash settlement prices: wiggle around price0, no drift
    prices = [[x.price0 for x in ins]]
    for _d in range(1, T):
        row = []
        for x in ins:
            w = max(1, x.scan_range // (4 * x.tick))
            row.append(x.price0 + x.tick * rng.randint(-w, w))
        prices.append(row)
    if T >= 2:
        i = rng.randrange(I)
        b, s_ = rng.sample(others, 2)
        p = max(ins[i].tick, prices[1][i] + ins[i].tick * rng.randint(-3, 3))
        trades.append(Trade(1, mids[b], mids[s_], iids[i], rng.randint(5, 100), p))

    # positions and cumulative VM through the pre-crash days (cash 0 baseline)
    pos = [[0] * I for _ in range(n)]
    cum = [0] * n
    need = [0] * n
    for d in range(T):
        prev = prices[d - 1] if d else prices[0]
        for t in trades:
            if t.day != d:
                continue
            i = iids.index(t.instrument)
            b, s_ = mids.index(t.buyer), mids.index(t.seller)
            pos[b][i] += t.quantity
            pos[s_][i] -= t.quantity
            cum[b] += (prev[i] - t.price) * mults[i] * t.quantity
            cum[s_] -= (prev[i] - t.price) * mults[i] * t.quantity
        for j in range(n):
            if d:
                cum[j] += variation_margin(prev, prices[d], mults, pos[j])
            need[j] = max(need[j], requirement(matrix, pos[j]) - cum[j])
    pos0 = [[0] * I for _ in range(n)]
    for t in trades:
        if t.day == 0:
            i = iids.index(t.instrument)
            pos0[mids.index(t.buyer)][i] += t.quantity
            pos0[mids.index(t.seller)][i] -= t.quantity
    scanloss = [sum(scans[i] * mults[i] * abs(pos[j][i]) for i in range(I)) for j in range(n)]
    cash = []
    for j in range(n):
        pct = rng.randint(5, 25) if j == 0 else rng.randint(20, 60)
        cash.append(_round_up(max(0, need[j]) + scanloss[j] * pct // 100 + rng.randint(10, 100) * 100_000, 100))
    df0 = _round_up(scanloss[0] * rng.randint(10, 30) // 100 + 1_000_000, 100)
    cash_pre = [cash[j] + cum[j] for j in range(n)]

    sitg1_pct = rng.randint(10, 40)
    fund_mult = rng.randint(130, 400)
    liq0_pct = rng.randint(10, 60)
    liq_headroom = [rng.randint(10, 100) * 1_000_000 for _ in range(n)]
    df_floor = max(1, sum(scanloss[1:]) // (10 * (n - 1)))
    weights = [scanloss[j] + df_floor for j in range(n)]
    # a residual worth the name: at least 10% of the defaulter's scan-range risk
    min_residual = max(1000 * n, scanloss[0] // 10)
    last = prices[-1]

    for k in range(1, 10_000):
        crash, close = [], []
        for i, x in enumerate(ins):
            cap = last[i] * 6 // 10 // x.tick * x.tick
            drop = min(cap, max(x.tick, k * x.scan_range // 2 // x.tick * x.tick))
            crash.append(last[i] - drop)
            close.append(max(x.tick, crash[i] - max(x.tick, x.scan_range // 2 // x.tick * x.tick)))
        cash_crash = [cash_pre[j] + variation_margin(last, crash, mults, pos[j]) for j in range(n)]
        req = [requirement(matrix, pos[j]) for j in range(n)]
        call0 = req[0] - cash_crash[0]
        X0 = closeout_loss(close, crash, mults, pos[0])
        R1 = max(0, X0 - cash_crash[0])
        R2 = R1 - df0
        if call0 < 1 or R2 < min_residual:
            continue
        sitg1 = R2 * sitg1_pct // 100
        rem = R2 - sitg1
        D_target = rem * fund_mult // 100
        W = sum(weights[1:])
        dfs = [df0] + [max(1, D_target * weights[j] // W) for j in range(1, n)]
        if sum(dfs[1:]) <= rem:          # rounding on tiny funds: top up the largest
            dfs[1 + max(range(n - 1), key=lambda j: weights[j + 1])] += rem - sum(dfs[1:]) + 1
        liq = [call0 * liq0_pct // 100] + [max(0, req[j] - cash_crash[j]) + liq_headroom[j] for j in range(1, n)]
        sitg2 = _round_up(sitg1 * rng.randint(50, 150) // 100, 100)
        sc = Scenario(
            name=f"generated-m{n}-i{I}-s{scenarios}-c{T}-seed{seed}",
            units="prices in price units; multipliers in minor units per price unit per contract; "
                  "amounts in minor units",
            instruments=tuple(ins),
            margin_scenarios=MarginScenarios(
                shocks=tuple(tuple(r) for r in shocks),
                description="scenario 0: no move; uniform -1, +1, -2/3, +2/3, -1/3, +1/3 of the scan range; "
                            "one leads by a full range, the others half; rotations; then random moves"),
            members=tuple(Member(mids[j], cash[j], dfs[j], liq[j], tuple(pos0[j])) for j in range(n)),
            ccp=CCPParams(sitg1, sitg2, rng.choice((1, 2, 3)), GENERATED_DEPOSIT_GRID),
            trades=tuple(trades),
            variants={GENERATED_VARIANT: Variant(GENERATED_VARIANT, tuple(tuple(r) for r in prices) + (tuple(crash),),
                                                 tuple(close))},
            rules=GENERATED_RULES,
        )
        sc = load_scenario(sc.to_dict())        # every bound of the file format holds
        if _reaches_tranche_4(run_oracle(sc, GENERATED_VARIANT)):
            return sc
    raise ScenarioError(f"generate_scenario: no crash depth produced a default reaching the survivors' "
                        f"default fund (members={n}, instruments={I}, seed={seed})")


def _reaches_tranche_4(result: OracleResult) -> bool:
    """At least one default event in which the survivors' default fund is
    used but not exhausted (pro rata)."""
    for ev in result.default_events:
        used = {w.tranche: w.amount for w in ev.waterfall}["survivors_default_fund"]
        if 0 < used < ev.D0:
            return True
    return False


__all__ = ["GENERATED_DEPOSIT_GRID", "GENERATED_RULES", "GENERATED_VARIANT", "generate_scenario"]
