"""Glass-box cross-check of the pre-trade risk limit (issue 14 §1): the
plaintext oracle (clearing.ccp.oracle_pretrade, the rules text of
clearing/data/ccp-pretrade.json) against the engine harness (the node engine
and the prover's witness store, driven as the demo's members and node do:
support.pretrade_sim), on

* the packaged scenario ccp-pretrade (a refusal cured by a grid-rounded
  deposit, an intraday call cured at the marks, a trade debited at a mark);
* hand-made small scenarios covering each path: a refusal cured, a cure
  capped by the liquidity that is not enough (the trade expires), both sides
  short, one side curing while the other cannot, an intraday call,
  a default with assessments and a VM gains haircut moving H, a trade
  debited at an intraday mark;
* hypothesis: generated scenarios (3-4 members, 1-2 instruments, 2-3 days,
  trades on days >= 1 sized around the members' headroom, optional intraday
  marks) -- a few in the default suite, more under ``-m slow``.

Equal: the refusals (and the ledger's public ``books["pretrade_refusals"]``),
the cure deposits, the intraday runs' results and cures, per day the booked
and expired trades, VM, cash, positions, calls, cures, defaults and every
active member's H at the day's end (the prover's opening of the node's
commitment vs the oracle's ``headroom_end``), every default report, the
final balances and liquidity, and the auditor's replay of the digests.

Disagreements with the rules text this found, all mended: the ledger listed
a trade's short side again when the prover refused it once more after a cure
that was not enough (the fold now lists each short side once per trade);
the demo member deposited nothing for a shortfall above its liquidity (it
now deposits what it has); the demo captured a day's trades before curing
any refusal (it now captures them one at a time in the listed order); the
clearing service pushed refused trades again after a margin run and after
any deposit of a side (only a side's RetryTrade does now).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from clearing.ccp.oracle import OracleError, run_oracle
from clearing.ccp.scenario import load_scenario
from clearing.demo.scenarios import load_named_scenario
from clearing.fold import headroom as headroom_fold
from support.pretrade_sim import compare_pretrade, run_pretrade

#: X: price0 1,000, multiplier 10, scan +-100 (w = 1,000); Y: price0 500, multiplier 20, scan +-50 (w = 1,000)
INSTRUMENTS = [{"id": "X", "price0": 1000, "multiplier": 10, "tick": 1, "scan_range": 100},
               {"id": "Y", "price0": 500, "multiplier": 20, "tick": 1, "scan_range": 50}]
SHOCKS = {1: [[0], [-100], [100]],
          2: [[0, 0], [-100, 0], [100, 0], [0, -50], [0, 50], [-100, -50], [100, 50]]}


def scenario(members: dict[str, tuple[int, int, int]], trades: list[tuple], prices: list[list[int]], *,
             instruments: int = 1, grid: int = 1, marks: list | None = None, close_out: list[int] | None = None,
             sitg: int = 0, maintenance: dict | None = None) -> dict:
    """A pre-trade scenario file: ``members`` {id: (cash, df, liquidity)};
    ``trades`` (day, buyer, seller, instrument index, quantity, price) with
    day-0 trades at price0; ``prices`` the settlement rows from day 0."""
    ins = INSTRUMENTS[:instruments]
    pos = {m: [0] * instruments for m in members}
    rows = []
    for day, b, s, i, q, p in trades:
        rows.append({"day": day, "buyer": b, "seller": s, "instrument": ins[i]["id"], "quantity": q, "price": p})
        if day == 0:
            pos[b][i] += q
            pos[s][i] -= q
    variant: dict = {"settlement_prices": prices, "close_out_prices": close_out or prices[-1]}
    if marks:
        variant["intraday_marks"] = marks
    margin: dict = {"shocks": SHOCKS[instruments], "pretrade": True}
    if maintenance:
        margin["maintenance"] = maintenance
    return {"name": "pretrade-x", "instruments": ins, "margin_scenarios": margin,
            "members": [{"id": m, "cash": c, "default_fund": df, "liquidity": liq, "target_positions": pos[m]}
                        for m, (c, df, liq) in members.items()],
            "ccp": {"skin_in_the_game_1": sitg, "skin_in_the_game_2": 0, "assessment_cap_multiple": 1,
                    "deposit_grid": grid},
            "trades": rows, "variants": {"v": variant}}


def cross_check(d: dict, variant: str = "v", seed: bytes = b"pretrade-x"):
    """Run the oracle and the engine harness on scenario ``d``; assert equal.
    Returns the oracle's result (None when the oracle refuses the scenario:
    an intraday call beyond the liquidity, outside the rules)."""
    sc = load_scenario(d) if isinstance(d, dict) else d
    try:
        oracle = run_oracle(sc, variant)
    except OracleError as e:
        assert "intraday call" in str(e)
        return None
    assert all(oracle.invariants.values())
    with tempfile.TemporaryDirectory() as tmp:
        sim, days, rec = run_pretrade(Path(tmp), sc, variant, seed=seed)
        compare_pretrade(sim, days, rec, oracle, sc)
    return oracle


# ---------------------------------------------------------------------------
# the packaged scenario
# ---------------------------------------------------------------------------
def test_packaged_pretrade_scenario_through_the_engine():
    oracle = cross_check(load_named_scenario("pretrade"), "normal", seed=b"packaged")
    assert oracle.pretrade_refusals == [{"member": "E", "trade_id": "d1-3"}]
    assert oracle.intraday[0]["cures"] == [["A", 100_000]]


# ---------------------------------------------------------------------------
# each path, by hand (one instrument X: A = [0, -1,000, 1,000] per contract, w = 1,000)
# ---------------------------------------------------------------------------
#: A +2 from B on day 0: requirement 2,000 each; H_A = 2,500 - 2,000 = 500, H_B = 8,000; C flat, H_C = 800
BASE = {"A": (2_500, 0, 0), "B": (10_000, 0, 0), "C": (800, 0, 0)}
OPEN = [(0, "A", "B", 0, 2, 1000)]
FLAT = [[1000], [1000]]


def _members(**liq) -> dict:
    return {m: (c, df, liq.get(m, lq)) for m, (c, df, lq) in BASE.items()}


def test_refusal_cured_on_the_grid_then_novated():
    # A buys 1: 500 - 1,000 < 0; it deposits 500 rounded up to 300 -> 600; H_A 1,100 - 1,000 = 100
    o = cross_check(scenario(_members(A=10_000), OPEN + [(1, "A", "B", 0, 1, 1000)], FLAT, grid=300))
    assert o.pretrade_cures == [{"member": "A", "trade_id": "d1-1", "deposit": 600}]
    assert len(o.days[1].trades) == 1


def test_cure_capped_by_the_liquidity_expires():
    # liquidity 400 < the shortfall 500: A deposits its 400, the retry is still short, the trade expires
    o = cross_check(scenario(_members(A=400), OPEN + [(1, "A", "B", 0, 1, 1000)], FLAT, grid=300))
    assert o.pretrade_cures == [{"member": "A", "trade_id": "d1-1", "deposit": 400}]
    assert o.days[1].trades == [] and o.days[1].rejected_trades[0]["trade_id"] == "d1-1"


def test_no_liquidity_no_cure_expires_and_the_other_side_is_not_debited():
    # A short with no liquidity (nothing moves, no retry); B then sells 8 to C against its undebited 8,000
    o = cross_check(scenario({**_members(), "C": (100_000, 0, 0)},
                             OPEN + [(1, "A", "B", 0, 1, 1000), (1, "C", "B", 0, 8, 1000)], FLAT))
    assert o.pretrade_refusals == [{"member": "A", "trade_id": "d1-1"}] and o.pretrade_cures == []
    assert len(o.days[1].trades) == 1


def test_both_sides_short_both_cure():
    # A buys 1 from C: both short (A by 500, C by 200); both deposit and the trade novates
    o = cross_check(scenario(_members(A=1_000, C=1_000), OPEN + [(1, "A", "C", 0, 1, 1000)], FLAT))
    assert o.pretrade_refusals == [{"member": "A", "trade_id": "d1-1"}, {"member": "C", "trade_id": "d1-1"}]
    assert [c["deposit"] for c in o.pretrade_cures] == [500, 200] and len(o.days[1].trades) == 1


#: A buys 1 from C: both short (A by 500, C by 200); A can cure, C has no liquidity
ONE_CURES = scenario(_members(A=1_000), OPEN + [(1, "A", "C", 0, 1, 1000)], FLAT)


def test_both_sides_short_one_cures_the_other_cannot():
    # A deposits 500; the node pushes the trade again, the prover refuses it once more (C still short) and it
    # expires; nobody's H is debited (H_A = 500 + 500 = 1,000 at the day's end, H_C = 800)
    o = cross_check(ONE_CURES)
    assert o.pretrade_cures == [{"member": "A", "trade_id": "d1-1", "deposit": 500}]
    assert o.days[1].trades == [] and o.days[1].headroom_end == {"A": 1_000, "B": 8_000, "C": 800}


def _books(d: dict, **kw) -> tuple[list[dict], list[dict]]:
    """(the ledger's books["pretrade_refusals"], the oracle's pretrade_refusals) of scenario ``d``."""
    sc = load_scenario(d)
    with tempfile.TemporaryDirectory() as tmp:
        sim, _, _ = run_pretrade(Path(tmp), sc, "v", **kw)
        return headroom_fold.refusals(sim.engine.state), run_oracle(sc, "v").pretrade_refusals


def test_the_second_refusal_is_what_the_books_repeat():
    # the node books every prover-signed refusal (the retry's too); the books list each short side once
    books, want = _books(ONE_CURES, book_second_refusal=False)
    assert books == want == [{"member": "A", "trade_id": "d1-1"}, {"member": "C", "trade_id": "d1-1"}]
    books, want = _books(ONE_CURES)
    assert books == want  # the second refusal names C again: listed once per trade


@pytest.mark.parametrize("d", [ONE_CURES, scenario(_members(A=400), OPEN + [(1, "A", "B", 0, 1, 1000)], FLAT,
                                                   grid=300)], ids=["other-side-cannot", "capped-by-liquidity"])
def test_ledger_lists_each_refused_side_once(d):
    books, want = _books(d)
    assert books == want


def test_demo_member_cure_capped_by_its_liquidity():
    from types import SimpleNamespace

    from clearing.demo.participant import Agent

    sc = load_scenario(scenario(_members(A=400), OPEN + [(1, "A", "B", 0, 1, 1000)], FLAT, grid=300))
    deposits: list[int] = []
    p = SimpleNamespace(name="A", balances=lambda: {"headroom": 500},
                        deposit=lambda amount, request_id=None: deposits.append(amount))
    agent = Agent(p, sc, "v")
    reply = agent.op_pretrade_cure({"trade_id": "d1-1", "w": 1000, "vm": 0})  # H' = 500 - 1,000: short 500
    assert (deposits, agent.liquidity) == ([400], 0)
    assert run_oracle(sc, "v").pretrade_cures == [{"member": "A", "trade_id": "d1-1", "deposit": 400}]
    assert reply["deposit"] == 400


#: A (H 500) buys 1 from B at 1,000 (short 500), then sells 1 to B at 1,150 (its vm (1,150 - 1,000) * 10 =
#: 1,500 > w: H_A + 500)
ORDER = scenario(_members(A=10_000), OPEN + [(1, "A", "B", 0, 1, 1000), (1, "B", "A", 0, 1, 1150)], FLAT)


def test_the_rules_cure_each_refusal_before_the_next_trade():
    # d1-1 refused, A deposits 500 at once, novates (H_A 0); d1-2 then raises H_A to 500.  The run: cash
    # 2,500 + 500 + (1,150 - 1,000) * 10 = 4,500, position still +2 (requirement 2,000): H_A = 2,500
    o = cross_check(ORDER)
    assert o.pretrade_cures == [{"member": "A", "trade_id": "d1-1", "deposit": 500}]
    assert len(o.days[1].trades) == 2 and o.days[1].headroom_end["A"] == 2_500


#: A (H 500, no liquidity) buys 1 from B at 1,000: refused, not cured; day 1 settles at 1,050 (A gains 1,000:
#: H_A = 3,500 - 2,000 = 1,500 at the run, enough for the trade at the new price)
AFTER_RUN = scenario(_members(), OPEN + [(1, "A", "B", 0, 1, 1000)], [[1000], [1050]])


def test_a_refused_trade_not_cured_expires_at_the_close():
    o = cross_check(AFTER_RUN)
    assert o.days[1].rejected_trades[0]["reason"] == "pre-trade headroom exhausted"
    assert o.days[1].headroom_end["A"] == 1_500 and o.final["A"]["positions"] == {"X": 2}


#: day 1: d1-1 A buys 1 from C: both short (A by 500, C by 200), A deposits, C has no liquidity: expires;
#: d1-2 C sells 1 to D at 1,150 (C's vm 1,500 > w: H_C 800 -> 1,300); d1-3 A buys 2 from D at 1,000 (H_A
#: 1,000 - 2,000: A deposits 1,000 -> novated, H_A 0)
PUSH = scenario({**_members(A=10_000), "D": (5_000, 0, 0)},
                OPEN + [(1, "A", "C", 0, 1, 1000), (1, "D", "C", 0, 1, 1150), (1, "A", "D", 0, 2, 1000)], FLAT)


def test_a_refused_trade_stays_refused_when_a_later_deposit_would_cover_it():
    o = cross_check(PUSH)
    assert o.pretrade_cures == [{"member": "A", "trade_id": "d1-1", "deposit": 500},
                                {"member": "A", "trade_id": "d1-3", "deposit": 1000}]
    assert [t["trade_id"] for t in o.days[1].rejected_trades] == ["d1-1"] and len(o.days[1].trades) == 2


def test_intraday_call_then_trades_at_the_mark():
    # A +2 (cash 2,000, no excess), B -2; marks 880 on day 1: A's worst E' = 2,000 + 2 * (-1,200 - 1,000)
    # = -2,400 -> "call", deposits 3,000 on the grid 1,000 (H_A = 0); under the marks w = max(1,000, |u| =
    # 1,200) = 1,200: A buys 1 at 780 (vm at the mark (880 - 780) * 10 = 1,000: short 200 -> deposits 1,000
    # -> novated, H_A 800), then 1 at 781 (vm 990: H_A 800 - 210 = 590, novated)
    d = scenario({"A": (2_000, 0, 5_000), "B": (100_000, 0, 0), "C": (5_000, 0, 0)},
                 [(0, "A", "B", 0, 2, 1000), (1, "A", "B", 0, 1, 780), (1, "A", "B", 0, 1, 781),
                  (1, "C", "B", 0, 4, 900)], [[1000], [900]], grid=1000, marks=[[1, [880]]])
    o = cross_check(d)
    assert o.intraday == [{"day": 1, "marks": [880], "results": {"A": "call", "B": "pass", "C": "pass"},
                           "cures": [["A", 3000]]}]
    assert o.pretrade_cures == [{"member": "A", "trade_id": "d1-1", "deposit": 1000}]
    # C (H 5,000, no liquidity) buys 4 at 900: (vm (880 - 900) * 10 = -200 - 1,200) * 4 = -5,600: refused, expires
    assert len(o.days[1].trades) == 2
    assert o.pretrade_refusals[-1] == {"member": "C", "trade_id": "d1-3"}


def test_default_with_assessments_and_haircut_moves_headroom():
    # A +2 from B, A's cash exactly its requirement, no liquidity: the drop to 900 defaults it on day 1.
    # B and C have df 500 each: B pays its assessment from cash, C by a tagged deposit of 800 (grid 400), B's
    # VM gain is haircut: H_B = 10,000 - 2,000 - 500, H_C = 300 + 800 - 500.  Day 2: C buys 1 at 700 against
    # its H 600 (vm (900 - 700) * 10 = 2,000: passes); the settle at 700 costs it 2,000: called for 400 with
    # 200 of liquidity left, it defaults (a second default event)
    d = scenario({"A": (2_000, 0, 0), "B": (10_000, 500, 0), "C": (300, 500, 1_000)},
                 [(0, "A", "B", 0, 2, 1000), (2, "C", "B", 0, 1, 700)],
                 [[1000], [900], [700]], grid=400, close_out=[700])
    o = cross_check(d)
    e = o.default_events[0]
    assert o.days[1].defaults == ["A"] and e.vm_gains_haircuts == {"B": 2_000, "C": 0}
    assert e.assessments_paid_from_cash == ["B"] and e.assessment_deposits == {"C": 800}
    assert o.days[1].headroom_end == {"B": 7_500, "C": 600}
    assert len(o.days[2].trades) == 1 and o.days[2].defaults == ["C"] and len(o.default_events) == 2


# ---------------------------------------------------------------------------
# hypothesis: generated scenarios
# ---------------------------------------------------------------------------
@st.composite
def scenarios(draw) -> dict:
    n_ins = draw(st.integers(1, 2))
    ids = ["A", "B", "C", "D"][:draw(st.integers(3, 4))]
    members = {m: (draw(st.integers(1_000, 8_000)), draw(st.sampled_from([0, 0, 300])),
                   draw(st.sampled_from([0, 500, 2_000, 10_000]))) for m in ids}
    pair = st.sampled_from([(b, s) for b in ids for s in ids if b != s])
    price0 = [i["price0"] for i in INSTRUMENTS[:n_ins]]
    ndays = draw(st.integers(2, 3))
    moves = (40, 20)
    prices = [price0] + [[p + draw(st.integers(-m, m)) for p, m in zip(price0, moves)] for _ in range(ndays - 1)]
    trades = []
    for _ in range(draw(st.integers(1, 3))):
        b, s = draw(pair)
        i = draw(st.integers(0, n_ins - 1))
        trades.append((0, b, s, i, draw(st.integers(1, 3)), price0[i]))
    for day in range(1, ndays):
        for _ in range(draw(st.integers(1, 3))):
            b, s = draw(pair)
            i = draw(st.integers(0, n_ins - 1))
            # about one contract's worst impact per unit of H: 1 to 5 contracts meet H of 0 to 8,000
            trades.append((day, b, s, i, draw(st.integers(1, 5)),
                           prices[day - 1][i] + draw(st.integers(-moves[i] // 2, moves[i] // 2))))
    # intraday runs on some days, or else (the format has no intraday liquidation) maybe a maintenance tier
    marks = [[day, [p + draw(st.integers(-m // 2, m // 2)) for p, m in zip(prices[day - 1], moves)]]
             for day in range(1, ndays) if draw(st.booleans())]
    maintenance = None if marks or draw(st.booleans()) else {"ratio": "0.8", "penalty_bps": 50}
    close_out = [p + draw(st.integers(-m, m)) for p, m in zip(prices[-1], moves)]
    return scenario(members, trades, prices, instruments=n_ins, grid=draw(st.sampled_from([1, 250, 1_000])),
                    marks=marks, close_out=close_out, maintenance=maintenance)


def _check_generated(d: dict) -> None:
    assume(cross_check(d) is not None)


@settings(max_examples=4, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(scenarios())
def test_generated_scenarios_match_the_oracle(d):
    _check_generated(d)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(scenarios())
def test_generated_scenarios_match_the_oracle_more(d):
    _check_generated(d)
