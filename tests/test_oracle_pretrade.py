"""The plaintext oracle's pre-trade limit and intraday runs (issue 14 §1,
clearing/ccp/oracle_pretrade.py) and their scenario format
(``margin_scenarios.pretrade``, a variant's ``intraday_marks``):

* the packaged scenario clearing/data/ccp-pretrade.json, every refusal, cure,
  intraday result and headroom computed by hand here;
* a refusal of the buyer, of the seller, of both; a cure that is not enough
  (the trade expires, nobody debited); no liquidity, no cure; the intraday
  mark as the debit's basis; an intraday payment call; an intraday call
  beyond the liquidity (OracleError);
* hypothesis: random small scenarios -- H >= 0 after every novation, a trade
  is refused iff a side's H' < 0 (computed here), the deposits ledger
  balances;
* the format's negatives.
"""
from __future__ import annotations

import copy
import json
from importlib import resources
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clearing.ccp import oracle_pretrade
from clearing.ccp.oracle import OracleError, run_oracle
from clearing.ccp.scenario import ScenarioError, builtin_scenario, load_scenario, scenario_pretrade

GRID = 100_000


def packaged() -> dict:
    text = resources.files("clearing.data").joinpath("ccp-pretrade.json").read_text(encoding="utf-8")
    return json.loads(text)


# ---------------------------------------------------------------------------
# the packaged scenario, by hand
# ---------------------------------------------------------------------------
def test_packaged_scenario_by_hand():
    d = packaged()
    sc = load_scenario(d)
    assert sc.name == "ccp-pretrade" and scenario_pretrade(sc) and list(sc.variants) == ["normal"]
    assert "pre-trade" in sc.rules.lower() and "intraday" in sc.rules
    r = run_oracle(sc, "normal")
    assert all(r.invariants.values()) and r.defaulted == [] and r.default_events == []
    # w = scan range * multiplier: BTCF 5000 * 10 = 50,000, ETHF 4000 * 10 = 40,000 per contract
    # day 0 (after the unchecked opening trades): H = cash - requirement
    #   A +20 BTCF: 1,500,000 - 20 * 50,000 = 500,000;  B -20 BTCF: 4,000,000 - 1,000,000 = 3,000,000
    #   C +2 BTCF +10 ETHF: 3,000,000 - (100,000 + 400,000) = 2,500,000
    #   D -10 ETHF: 3,000,000 - 400,000 = 2,600,000;  E -2 BTCF: 150,000 - 100,000 = 50,000
    assert r.days[0].headroom_end == {"A": 500_000, "B": 3_000_000, "C": 2_500_000, "D": 2_600_000, "E": 50_000}
    # day 1, trade 3 (id d1-3): C buys 2 BTCF from E at 99,900; vm = (100,000 - 99,900) * 10 = 1,000 for C
    #   E: 50,000 + (-1,000 - 50,000) * 2 = -52,000 < 0 -> refused (E only; C: 2,500,000 - 98,000 >= 0)
    #   E deposits 52,000 rounded up to the grid: 100,000 -> H_E 48,000 -> novated
    assert r.pretrade_refusals == [{"member": "E", "trade_id": "d1-3"}]
    assert r.pretrade_cures == [{"member": "E", "trade_id": "d1-3", "deposit": 100_000}]
    # trade 4 (d1-4): B buys 5 ETHF from D at 50,000 (vm 0): 3,000,000 - 200,000, 2,600,000 - 200,000: passes
    assert [(t["buyer"], t["seller"], t["quantity"]) for t in r.days[1].trades] == [("C", "E", 2), ("B", "D", 5)]
    assert r.days[1].rejected_trades == []
    assert r.days[1].trade_vm == {"A": 0, "B": 0, "C": 2_000, "D": 0, "E": -2_000}
    # day 1 settles BTCF 99,500 (-500 -> -5,000 per contract), ETHF 50,200 (+2,000 per contract); margin run:
    #   A 1,500,000 - 100,000 = 1,400,000 - 1,000,000 = 400,000
    #   B 4,000,000 + 100,000 + 10,000 = 4,110,000; worst row BTCF +5000: -1,000,000 -> 3,110,000
    #   C 3,000,000 + 2,000 - 20,000 + 20,000 = 3,002,000; 4 BTCF + 10 ETHF down: 600,000 -> 2,402,000
    #   D 3,000,000 - 30,000 = 2,970,000; 15 ETHF short up: 600,000 -> 2,370,000
    #   E 150,000 + 100,000 - 2,000 + 20,000 = 268,000; 4 BTCF short up: 200,000 -> 68,000
    assert r.days[1].headroom_end == {"A": 400_000, "B": 3_110_000, "C": 2_402_000, "D": 2_370_000, "E": 68_000}
    # day 2 intraday at BTCF 97,050: u = (97,050 - 99,500) * 10 = -24,500 per contract
    #   A: 1,400,000 + 20 * (-24,500 - 50,000) = -90,000 < 0, E'(0) = 910,000 >= 0 -> "call", deposits 100,000
    #   E: 268,000 - 4 * (50,000 - 24,500) = 166,000 >= 0 -> pass (H rises from 68,000)
    assert r.intraday == [{"day": 2, "marks": [97_050, 50_200],
                           "results": {"A": "call", "B": "pass", "C": "pass", "D": "pass", "E": "pass"},
                           "cures": [["A", 100_000]]}]
    # trade 5 (d2-5): B buys 5 BTCF from D at 97,100: the debit's basis is the mark, vm = (97,050 - 97,100) * 10
    # = -500; the VM booked is from the last settlement: (99,500 - 97,100) * 10 * 5 = 120,000
    assert [(t["buyer"], t["seller"]) for t in r.days[2].trades] == [("B", "D")]
    assert r.days[2].trade_vm["B"] == 120_000 and r.days[2].trade_vm["D"] == -120_000
    # day 2 settles BTCF 97,500 (-20,000 per contract from 99,500), ETHF 50,100
    #   A 1,400,000 + 100,000 - 400,000 = 1,100,000 - 1,000,000 = 100,000: passes, no end-of-day call
    assert r.days[2].calls == [] and r.days[2].headroom_end["A"] == 100_000
    assert r.days[2].headroom_end["E"] == 348_000 - 200_000
    assert r.final["A"]["liquidity"] == 900_000 and r.final["E"]["liquidity"] == 200_000
    initial = sum(m["cash"] + m["default_fund"] for m in d["members"])
    assert r.ledger["deposits"] == initial + 100_000 + 100_000


# ---------------------------------------------------------------------------
# small scenarios
# ---------------------------------------------------------------------------
def mini(cash: dict[str, int], liquidity: dict[str, int], day0: list[tuple], later: list[tuple], *,
         prices=(1000, 1000, 1000), marks: list | None = None, grid: int = 1) -> dict:
    """One instrument X (price0 1,000, multiplier 10, scan +-100: A = [0, -1,000, 1,000], w = 1,000),
    members with the given cash (df 0), trades (buyer, seller, quantity[, price]) on day 0 and day 1."""
    pos = {m: 0 for m in cash}
    trades = []
    for day, rows in ((0, day0), (1, later)):
        for b, s, q, *p in rows:
            trades.append({"day": day, "buyer": b, "seller": s, "instrument": "X", "quantity": q,
                           "price": p[0] if p else 1000})
            if day == 0:
                pos[b] += q
                pos[s] -= q
    variant: dict = {"settlement_prices": [[p] for p in prices], "close_out_prices": [prices[-1]]}
    if marks is not None:
        variant["intraday_marks"] = marks
    return {"name": "mini", "instruments": [{"id": "X", "price0": 1000, "multiplier": 10, "tick": 1,
                                             "scan_range": 100}],
            "margin_scenarios": {"shocks": [[0], [-100], [100]], "pretrade": True},
            "members": [{"id": m, "cash": c, "default_fund": 0, "liquidity": liquidity.get(m, 0),
                         "target_positions": [pos[m]]} for m, c in cash.items()],
            "ccp": {"skin_in_the_game_1": 0, "skin_in_the_game_2": 0, "assessment_cap_multiple": 1,
                    "deposit_grid": grid},
            "trades": trades, "variants": {"v": variant}}


def test_refusal_of_the_buyer_the_seller_and_both():
    # day 0: A +2, B -2 -> requirement 2,000 each; H_A = 2,500 - 2,000 = 500, H_B = 10,000 - 2,000 = 8,000;
    # C flat with 800 (H 800)
    cash = {"A": 2_500, "B": 10_000, "C": 800}
    # buyer A short: 500 - 1,000 < 0
    r = run_oracle(load_scenario(mini(cash, {}, [("A", "B", 2)], [("A", "B", 1)])), "v")
    assert r.pretrade_refusals == [{"member": "A", "trade_id": "d1-1"}] and r.pretrade_cures == []
    assert r.days[1].rejected_trades == [{"buyer": "A", "seller": "B", "instrument": "X", "quantity": 1,
                                          "price": 1000, "trade_id": "d1-1", "reason": oracle_pretrade.EXHAUSTED}]
    assert r.days[1].trades == [] and r.days[1].positions["A"] == {"X": 2}
    # seller C short: 800 - 1,000 < 0 (B buying from C passes on B's side)
    r = run_oracle(load_scenario(mini(cash, {}, [("A", "B", 2)], [("B", "C", 1)])), "v")
    assert r.pretrade_refusals == [{"member": "C", "trade_id": "d1-1"}]
    # both short, buyer first: A buys 1 from C
    r = run_oracle(load_scenario(mini(cash, {}, [("A", "B", 2)], [("A", "C", 1)])), "v")
    assert r.pretrade_refusals == [{"member": "A", "trade_id": "d1-1"}, {"member": "C", "trade_id": "d1-1"}]
    # exactly zero headroom left is enough: C sells 1 at 1,020 -> its vm = -(1,000 - 1,020) * 10 = 200;
    # 800 + 200 - 1,000 = 0
    r = run_oracle(load_scenario(mini(cash, {}, [("A", "B", 2)], [("B", "C", 1, 1020)])), "v")
    assert r.pretrade_refusals == [] and len(r.days[1].trades) == 1


def test_cure_on_the_grid_then_novation_and_cure_not_enough_expires():
    cash = {"A": 2_500, "B": 10_000, "C": 800}
    # A needs 500 more to buy 1 (500 - 1,000); grid 300 -> deposits 600 -> H 100 -> novated
    r = run_oracle(load_scenario(mini(cash, {"A": 10_000}, [("A", "B", 2)], [("A", "B", 1)], grid=300)), "v")
    assert r.pretrade_cures == [{"member": "A", "trade_id": "d1-1", "deposit": 600}]
    assert len(r.days[1].trades) == 1 and r.final["A"]["liquidity"] == 9_400
    # liquidity 400 < the shortfall 500: A deposits its 400 (at most its liquidity), still short: expires
    r = run_oracle(load_scenario(mini(cash, {"A": 400}, [("A", "B", 2)], [("A", "B", 1)], grid=300)), "v")
    assert r.pretrade_refusals == [{"member": "A", "trade_id": "d1-1"}]
    assert r.pretrade_cures == [{"member": "A", "trade_id": "d1-1", "deposit": 400}]
    assert r.days[1].trades == [] and r.days[1].rejected_trades[0]["reason"] == "pre-trade headroom exhausted"
    assert r.final["A"]["liquidity"] == 0 and r.final["A"]["positions"] == {"X": 2}
    assert r.ledger["deposits"] == sum(cash.values()) + 400 and all(r.invariants.values())
    # no liquidity at all: no cure is recorded
    r = run_oracle(load_scenario(mini(cash, {}, [("A", "B", 2)], [("A", "B", 1)], grid=300)), "v")
    assert r.pretrade_cures == [] and r.days[1].trades == []


def test_the_other_side_is_not_debited_by_an_expired_trade():
    # A short expires; B then trades with C on the same day against its undebited H 8,000
    cash = {"A": 2_500, "B": 10_000, "C": 100_000}
    r = run_oracle(load_scenario(mini(cash, {}, [("A", "B", 2)], [("A", "B", 1), ("B", "C", 8)])), "v")
    # B: 8,000 - 8 * 1,000 = 0 >= 0 only because the expired trade left its H alone
    assert [t["trade_id"] for t in r.days[1].rejected_trades] == ["d1-1"] and len(r.days[1].trades) == 1


def test_no_check_on_day_0_and_headroom_resets_at_each_run():
    # the opening trades are unchecked even with no excess at all
    r = run_oracle(load_scenario(mini({"A": 2_000, "B": 2_000}, {}, [("A", "B", 2)], [])), "v")
    assert r.pretrade_refusals == [] and r.days[0].headroom_end == {"A": 0, "B": 0}
    # a called member gets H = 0 even after its cure deposit (settle at 990: A loses 200, cash 1,800 < 2,000)
    r = run_oracle(load_scenario(mini({"A": 2_000, "B": 2_000}, {"A": 10_000}, [("A", "B", 2)], [],
                                      prices=(1000, 990, 990), grid=1000)), "v")
    assert [(c.member, c.amount) for c in r.days[1].cures] == [("A", 1000)]
    assert r.days[1].headroom_end == {"A": 0, "B": 200}
    assert r.days[2].headroom_end == {"A": 800, "B": 200}


def test_assessments_and_haircut_debit_headroom():
    # A +2 from B; A's cash 2,000 is exactly its requirement, no liquidity. B and C have df 500 each; C is
    # flat with cash 300 and liquidity 1,000; grid 400. Day 1 settles at 900: A loses 2,000 (cash 0, call
    # 2,000 > liquidity 0: default), B gains 2,000 (cash 12,000, requirement 2,000: H 10,000), C: H 300.
    d = mini({"A": 2_000, "B": 10_000, "C": 300}, {"C": 1_000}, [("A", "B", 2)], [], prices=(1000, 900, 700),
             grid=400)
    for m in d["members"][1:]:
        m["default_fund"] = 500
    r = run_oracle(load_scenario(d), "v")
    assert r.days[1].defaults == ["A"] and r.days[0].headroom_end == {"A": 0, "B": 8_000, "C": 300}
    # close-out at 700: X = 200 * 10 * 2 = 4,000 = R; survivors' df 1,000 in full; assessments 1 x df:
    # 500 each; U = 2,000 -> the haircut: B's VM gain 2,000 is all of G: h_B = 2,000
    e = r.default_events[0]
    assert e.vm_gains_haircuts == {"B": 2_000, "C": 0} and e.vm_gains_haircut_rate == {"U": 2_000, "G": 2_000}
    # B pays its 500 from cash (12,000 - 2,000 - 500 >= 2,000): H = 10,000 - 2,000 - 500 = 7,500
    # C cannot (300 - 500 < 0): a tagged deposit of 500 on the grid 400 = 800: H = 300 + 800 - 500 = 600
    assert e.assessments_paid_from_cash == ["B"] and e.assessment_deposits == {"C": 800}
    assert r.days[1].headroom_end == {"B": 7_500, "C": 600}


def test_the_intraday_mark_is_the_debit_basis():
    # A +2, cash 3,000 (H 1,000 after day 0, 1,000 after day 1 at 1,000). Day 2: A buys 1 more at 1,000.
    day0 = [("A", "B", 2)]
    cash = {"A": 3_000, "B": 100_000}
    base = mini(cash, {}, day0, [], prices=(1000, 1000, 1000))
    base["trades"].append({"day": 2, "buyer": "A", "seller": "B", "instrument": "X", "quantity": 1, "price": 1000})
    r = run_oracle(load_scenario(base), "v")
    assert r.pretrade_refusals == [] and len(r.days[2].trades) == 1      # 1,000 + (0 - 1,000) = 0
    # marks at 1,010: intraday H_A = 3,000 + 2 * (100 - 1,000) = 1,200; the debit at the mark:
    # vm = (1,010 - 1,000) * 10 = 100 -> 1,200 + 100 - 1,000 = 300 (passes; the booked VM stays 0)
    d = copy.deepcopy(base)
    d["variants"]["v"]["intraday_marks"] = [[2, [1010]]]
    r = run_oracle(load_scenario(d), "v")
    assert r.pretrade_refusals == [] and r.days[2].trade_vm["A"] == 0
    assert r.intraday[0]["results"] == {"A": "pass", "B": "pass"}
    # marks at 990: intraday H_A = 3,000 + 2 * (-100 - 1,000) = 800; vm at the mark = -100:
    # 800 - 100 - 1,000 < 0: refused (at the last settlement it would pass)
    d["variants"]["v"]["intraday_marks"] = [[2, [990]]]
    r = run_oracle(load_scenario(d), "v")
    assert r.pretrade_refusals == [{"member": "A", "trade_id": "d2-1"}] and r.days[2].trades == []


def test_intraday_payment_call_and_unmet_call():
    # A +2 with cash 2,000 (no excess); marks 880: E'(0) = 2,000 - 2 * 1,200 = -400 < 0, but the un-settled
    # cash is >= 0 -> "call" (the engine's solvency row is the cash itself: "payment" only when cash < 0);
    # worst E' = 2,000 + 2 * (-1,200 - 1,000) = -2,400 -> deposit 2,400 on grid 1,000 -> 3,000
    d = mini({"A": 2_000, "B": 100_000}, {"A": 5_000}, [("A", "B", 2)], [], marks=[[1, [880]]], grid=1000)
    r = run_oracle(load_scenario(d), "v")
    assert r.intraday == [{"day": 1, "marks": [880], "results": {"A": "call", "B": "pass"},
                           "cures": [["A", 3000]]}]
    assert r.final["A"]["liquidity"] == 2_000 and all(r.invariants.values())
    # on the grid 1 the cure leaves A no excess and no liquidity: H = 0 (the invariants of run_checked) and a
    # trade needs vm >= w, under the marks w = max(w_i 1,000, |u| = (880 - 1,000) * 10 = 1,200) = 1,200:
    # buying at 760 from the mark 880 (vm = 1,200) passes, at 761 (1,190) it is refused
    d1 = mini({"A": 2_000, "B": 100_000}, {"A": 2_400}, [("A", "B", 2)], [("A", "B", 1, 761), ("A", "B", 1, 760)],
              marks=[[1, [880]]])
    r, seen = run_checked(load_scenario(d1))
    assert r.intraday[0]["cures"] == [["A", 2400]] and seen == [False, True]
    d["members"][0]["liquidity"] = 2_399
    with pytest.raises(OracleError, match="intraday call of A exceeds its liquidity"):
        run_oracle(load_scenario(d), "v")


def test_without_the_flag_nothing_changes():
    r = run_oracle(builtin_scenario(), "normal")
    assert (r.pretrade_refusals, r.pretrade_cures, r.intraday) == ([], [], [])
    assert all(d.headroom_end == {} for d in r.days)
    assert not scenario_pretrade(builtin_scenario())
    assert "pretrade" not in builtin_scenario().to_dict()["margin_scenarios"]


# ---------------------------------------------------------------------------
# hypothesis: invariants on random small scenarios
# ---------------------------------------------------------------------------
MEMBERS = ("A", "B", "C")


@st.composite
def scenarios(draw):
    cash = {m: draw(st.integers(1_000, 8_000)) for m in MEMBERS}
    liq = {m: draw(st.integers(0, 4_000)) for m in MEMBERS}
    pair = st.sampled_from([(b, s) for b in MEMBERS for s in MEMBERS if b != s])
    day0 = [(*draw(pair), draw(st.integers(1, 3))) for _ in range(draw(st.integers(0, 2)))]
    prices = (1000, draw(st.integers(960, 1040)), draw(st.integers(960, 1040)))
    d = mini(cash, liq, day0, [], prices=prices, grid=draw(st.sampled_from([1, 250, 1000])))
    for day in (1, 2):
        for _ in range(draw(st.integers(0, 3))):
            b, s = draw(pair)
            d["trades"].append({"day": day, "buyer": b, "seller": s, "instrument": "X",
                                "quantity": draw(st.integers(1, 3)), "price": draw(st.integers(980, 1020))})
    if draw(st.booleans()):
        day = draw(st.integers(1, 2))
        d["variants"]["v"]["intraday_marks"] = [[day, [prices[day - 1] + draw(st.integers(-10, 10))]]]
    return d


def run_checked(sc) -> tuple:
    """Run the oracle with every pre-trade check observed (one instrument, mini's matrix): before it, H
    never exceeds the member's excess at the basis; after it, the refusals are exactly the sides with
    H' < 0 (computed here), buyer first, and a novated trade leaves both H >= 0.  Returns (result,
    [novated? per check of a day >= 1])."""
    w = 1000
    seen: list[bool] = []
    real = oracle_pretrade.admits

    def checked(run, day, k, t, i, prev, td, rejected):
        H = dict(run.pt.H)
        basis = (run.pt.basis or prev)[i]
        if day > 0:
            # every debit of cash since the last run is a debit of H, a novation debits at least its worst
            # impact: H <= min_s cash + (A[s] + u) * pos
            u = (basis - prev[i]) * 10
            for m in run.active():
                a = run.acc[m]
                assert H[m] <= min(a.cash + (A_s + u) * a.pos[0] for A_s in (0, -1000, 1000)), m
                if run.pt.basis:  # and the un-settled cash itself (the derived set's no-move row)
                    assert H[m] <= a.cash, m
        vm = (basis - t.price) * 10
        wd = max(w, abs((basis - prev[i]) * 10)) if run.pt.basis else w  # under marks: max(w_i, |u_i|)
        short = [m for m, h in ((t.buyer, H[t.buyer] + (vm - wd) * t.quantity),
                                (t.seller, H[t.seller] + (-vm - wd) * t.quantity)) if h < 0]
        n = len(run.pt.refusals)
        ok = real(run, day, k, t, i, prev, td, rejected)
        if day == 0:
            assert ok and len(run.pt.refusals) == n
            return ok
        assert [r["member"] for r in run.pt.refusals[n:]] == short
        assert [r["trade_id"] for r in run.pt.refusals[n:]] == [f"d{day}-{k}"] * len(short)
        if ok:
            assert run.pt.H[t.buyer] >= 0 and run.pt.H[t.seller] >= 0
        else:
            assert rejected[-1]["reason"] == oracle_pretrade.EXHAUSTED
        seen.append(ok)
        return ok

    with mock.patch.object(oracle_pretrade, "admits", checked):
        return run_oracle(sc, "v"), seen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_random_scenarios_invariants(d):
    sc = load_scenario(d)
    try:
        r, seen = run_checked(sc)
    except OracleError as e:
        assert "intraday call" in str(e)
        return
    assert all(r.invariants.values())
    # the deposits ledger: funding + cures + pre-trade cures + intraday cures + assessment deposits,
    # each one also out of the member's liquidity
    extra = (sum(c.amount for day in r.days for c in day.cures) + sum(c["deposit"] for c in r.pretrade_cures)
             + sum(dep for x in r.intraday for _, dep in x["cures"])
             + sum(sum(e.assessment_deposits.values()) for e in r.default_events))
    assert r.ledger["deposits"] == sum(d_["cash"] for d_ in d["members"]) + extra
    assert sum(m["liquidity"] for m in d["members"]) - sum(f["liquidity"] for f in r.final.values()) == extra
    assert all(c["deposit"] > 0 for c in r.pretrade_cures)
    # every trade of a day >= 1 between two active members went through the check
    gone = {m: day.day for day in r.days for m in day.defaults}
    assert len(seen) == sum(1 for t in sc.trades if t.day > 0 and gone.get(t.buyer, 9) >= t.day
                            and gone.get(t.seller, 9) >= t.day)


# ---------------------------------------------------------------------------
# the format
# ---------------------------------------------------------------------------
def test_format_round_trip_and_accessor():
    sc = load_scenario(packaged())
    assert load_scenario(sc.to_dict()) == sc
    assert sc.to_dict()["margin_scenarios"]["pretrade"] is True
    assert sc.variant("normal").intraday_marks == ((2, (97_050, 50_200)),)


@pytest.mark.parametrize("edit, match", [
    (lambda d: d["margin_scenarios"].update(model={"kind": "es", "k": 1}), "scan model only"),
    (lambda d: d["margin_scenarios"].update(pretrade=False), "must be true when present"),
    (lambda d: d["margin_scenarios"].update(pretrade=1), "must be true when present"),
    (lambda d: d["margin_scenarios"].pop("pretrade"), "need the pre-trade limit"),
    (lambda d: d["variants"]["normal"].update(intraday_marks=[[0, [97_050, 50_200]]]), r"\[0\]\[0\]: 0 is outside"),
    (lambda d: d["variants"]["normal"].update(intraday_marks=[[3, [97_050, 50_200]]]), r"\[0\]\[0\]: 3 is outside"),
    (lambda d: d["variants"]["normal"].update(intraday_marks=[[2, [97_050, 50_200]], [2, [97_000, 50_200]]]),
     "days must increase"),
    (lambda d: d["variants"]["normal"].update(intraday_marks=[[2, [97_050]]]), "expected 2 entries"),
    (lambda d: d["variants"]["normal"].update(intraday_marks=[[2, [0, 50_200]]]), r"\[1\]\[0\]: 0 is outside"),
    (lambda d: d["variants"]["normal"].update(intraday_marks=[[2, [97_050, True]]]), "expected an integer"),
    (lambda d: d["variants"]["normal"].update(intraday_marks=[[2]]), "expected 2 entries"),
    (lambda d: d["variants"]["normal"].update(intraday_marks={"2": [97_050, 50_200]}), "expected a list"),
    (lambda d: d["margin_scenarios"].update(maintenance={"ratio": "0.8", "penalty_bps": 50}),
     "not defined with a maintenance tier"),
])
def test_format_negatives(edit, match):
    d = packaged()
    edit(d)
    with pytest.raises(ScenarioError, match=match):
        load_scenario(d)


def test_pretrade_with_maintenance_without_intraday_runs():
    d = packaged()
    d["margin_scenarios"]["maintenance"] = {"ratio": "0.8", "penalty_bps": 50}
    del d["variants"]["normal"]["intraday_marks"]
    sc = load_scenario(d)
    assert scenario_pretrade(sc) and sc.margin_scenarios.maintenance is not None
    assert load_scenario(sc.to_dict()) == sc


def test_format_off_tick_mark():
    d = packaged()
    d["instruments"][0]["tick"] = 10
    d["variants"]["normal"]["intraday_marks"] = [[2, [97_055, 50_200]]]
    with pytest.raises(ScenarioError, match="not a multiple of the tick 10"):
        load_scenario(d)
