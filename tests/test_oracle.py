"""The plaintext clearing oracle: the demo scenario, hand-computed waterfalls,
properties of the pure helpers."""
import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from clearing.ccp.oracle import (
    TRANCHES,
    closeout_loss,
    defaulter_tranches,
    mutual_waterfall,
    pro_rata,
    requirement,
    run_oracle,
    scenario_pnl,
    vm,
)
from clearing.ccp.scenario import ScenarioError, builtin_scenario, load_scenario, scenario_matrix

SC = builtin_scenario()
GRID = 100_000_000          # ccp.deposit_grid of the demo file (10^8 minor units = USD 1m)


def padded(call, liquidity, grid):
    """The deposit rule, written out independently of the oracle: the call
    rounded up to the next multiple of the grid, capped at the liquidity."""
    steps = call // grid + (1 if call % grid else 0)
    return min(steps * grid, liquidity)


def identity_holds(ev):
    return ev.loss == sum(t.amount for t in ev.waterfall) + ev.rounding_residual + ev.uncovered_loss


def check_common(r):
    assert all(r.invariants.values()), r.invariants
    for ev in r.default_events:
        assert [t.tranche for t in ev.waterfall] == list(TRANCHES)
        assert identity_holds(ev)
        assert all(isinstance(t.amount, int) and t.amount >= 0 for t in ev.waterfall)
    json.dumps(r.to_dict())                 # JSON-serialisable
    # ints only, everywhere in the result
    def walk(x):
        assert not isinstance(x, float)
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
    walk(r.to_dict())


# ---------------------------------------------------------------------------
# the demo scenario (DESIGN §10).  Pinned numbers were computed independently
# by a separate script from the JSON file and the rules; see also the
# structural assertions, which would hold for any such numbers.
# ---------------------------------------------------------------------------
def test_demo_normal_one_default_pro_rata_with_residual():
    r = run_oracle(SC, "normal")
    check_common(r)
    assert r.defaulted == ["A"]
    assert [d.defaults for d in r.days] == [[], [], [], [], ["A"]]
    assert len(r.default_events) == 1
    ev = r.default_events[0]
    assert ev.day == 4 and ev.cause == "margin" and ev.survivors == ["B", "C", "D", "E", "F"]
    (a,) = ev.defaulters
    # A's cash at the default: the exact-deposit run's -2,953,050,000 plus the
    # padding of its day-3 cure (900,000,000 deposited for a call of 855,200,000)
    assert (a.member, a.cause, a.cash, a.df) == ("A", "payment", -2_953_050_000 + 44_800_000, 3_363_510_276)
    assert a.positions == {"ESX": 1200, "NQX": 600, "RTX": 1500}
    # loss = X + unpaid VM = 2,048,100,000 + 2,908,250,000; R = loss - df
    assert (a.X, a.loss, a.defaulter_margin, a.defaulter_default_fund, a.residual, a.estate_surplus) == (
        2_048_100_000, 4_956_350_000, 0, 3_363_510_276, 1_592_839_724, 0)
    assert ev.D0 == 5_636_489_722 == sum(m.default_fund for m in SC.members[1:])
    assert [(t.tranche, t.amount) for t in ev.waterfall] == [
        ("defaulter_margin", 0), ("defaulter_default_fund", 3_363_510_276), ("insurance_fund", 0),
        ("skin_in_the_game_1", 500_000_000),
        ("survivors_default_fund", 1_092_839_721), ("skin_in_the_game_2", 0), ("assessments", 0),
        ("vm_gains_haircut", 0)]
    # survivors' fund partly used, pro rata, non-zero rounding residual
    assert 0 < ev.tranche("survivors_default_fund") < ev.D0 and not ev.survivors_default_fund_in_full
    assert ev.survivor_charges == {"B": 205_718_772, "C": 90_208_231, "D": 335_750_637, "E": 277_005_277,
                                   "F": 184_156_804}
    rem = ev.R - 500_000_000
    for m, c in ev.survivor_charges.items():
        assert c == rem * ev.survivor_df_snapshot[m] // ev.D0
    assert ev.rounding_residual == ev.default_fund_residual == r.rounding_residual == 3
    assert ev.uncovered_loss == r.uncovered_loss == 0
    assert ev.liquidity_line == r.liquidity_line == 2_908_250_000
    assert r.disclosure_policy == "aggregate"
    # survivors' df debited; their cash untouched by the waterfall
    assert r.days[4].df_end["B"] == 1_061_026_352 - 205_718_772
    # B cured its payment call of 1,619,400,000 with a padded deposit of 1,700,000,000:
    # its cash is its requirement plus the padding
    assert r.days[4].requirement["B"] == 1_168_750_000
    assert r.days[4].cash_end["B"] == 1_168_750_000 + (1_700_000_000 - 1_619_400_000)
    assert r.ledger["skin_in_the_game_1_left"] == 0 and r.ledger["skin_in_the_game_2_left"] == 500_000_000


def test_demo_deposit_grid_is_in_the_file():
    assert SC.ccp.deposit_grid == GRID
    assert "rounded up to a multiple of ccp.deposit_grid" in SC.rules


def test_demo_calls_and_cures():
    assert padded(855_200_000, 1_000_000_000, GRID) == 900_000_000       # A's liquidity is USD 10m
    assert padded(1_619_400_000, 2_000_000_000, GRID) == 1_700_000_000   # B's is USD 20m
    for variant in ("normal", "harsh"):
        r = run_oracle(SC, variant)
        assert [[(c.member, c.amount, c.kind) for c in d.calls] for d in r.days[:4]] == [
            [], [], [], [("A", 855_200_000, "im")]]
        # the call stays the call; the cure deposits it rounded up to the grid
        assert [(c.member, c.amount) for c in r.days[3].cures] == [("A", 900_000_000)]
        assert r.days[3].liquidity_end["A"] == 100_000_000
        assert r.days[3].cash_end["A"] == r.days[3].requirement["A"] + 900_000_000 - 855_200_000
        for d in r.days:
            for cu in d.cures:
                assert cu.amount % GRID == 0
    # day 4: A's call is smaller by the padding it deposited on day 3
    n4 = run_oracle(SC, "normal").days[4]
    assert [(c.member, c.amount, c.kind) for c in n4.calls] == [
        ("A", 6_658_050_000 - 44_800_000, "payment"), ("B", 1_619_400_000, "payment")]
    assert [(c.member, c.amount) for c in n4.cures] == [("B", 1_700_000_000)]
    assert n4.liquidity_end["B"] == 300_000_000
    h4 = run_oracle(SC, "harsh").days[4]
    assert [(c.member, c.amount, c.kind) for c in h4.calls] == [
        ("A", 12_317_850_000 - 44_800_000, "payment"), ("B", 3_088_675_000, "payment")]
    assert h4.cures == []


def test_demo_harsh_two_defaults_assessments_reached():
    r = run_oracle(SC, "harsh")
    check_common(r)
    assert r.defaulted == ["A", "B"]
    (ev,) = r.default_events
    assert [d.member for d in ev.defaulters] == ["A", "B"]
    assert ev.survivors == ["C", "D", "E", "F"] and ev.D0 == 4_575_463_370
    a, b = ev.defaulters
    # A's unpaid VM is 44,800,000 smaller than with exact cures (its day-3 padding)
    assert (a.cash, a.loss, a.residual, b.cash, b.X, b.loss, b.residual) == (
        -8_568_050_000, 11_571_350_000, 8_207_839_724, -1_919_925_000, 814_850_000, 2_734_775_000, 1_673_748_648)
    assert [(t.tranche, t.amount) for t in ev.waterfall] == [
        ("defaulter_margin", 0), ("defaulter_default_fund", 4_424_536_628), ("insurance_fund", 0),
        ("skin_in_the_game_1", 500_000_000),
        ("survivors_default_fund", 4_575_463_370), ("skin_in_the_game_2", 500_000_000),
        ("assessments", 4_306_125_000), ("vm_gains_haircut", 0)]
    # R = 8,207,839,724 + 1,673,748,648; after SITG 1, the fund in full and SITG 2,
    # 4,306,125,002 is assessed pro rata (< 2 * D0): 4,306,125,000 + a residual of 2
    assert ev.R == 9_881_588_372 and ev.R - 500_000_000 - ev.D0 - 500_000_000 == 4_306_125_002
    assert ev.survivors_default_fund_in_full and not ev.assessments_capped
    assert ev.survivor_charges == ev.survivor_df_snapshot
    assert ev.assessments_due == {m: 4_306_125_002 * ev.survivor_df_snapshot[m] // ev.D0 for m in "CDEF"}
    assert ev.assessments_due == {"C": 437_874_813, "D": 1_629_748_698, "E": 1_344_596_076, "F": 893_905_413}
    assert ev.assessments_paid == ev.assessments_due and ev.assessments_unpaid == {}
    assert ev.assessment_residual == r.rounding_residual == 2
    assert r.uncovered_loss == 0
    assert r.liquidity_line == 8_568_050_000 + 1_919_925_000
    assert r.disclosure_policy == "aggregate"
    # every survivor can afford its due from excess cash (cash - due >= requirement):
    # it pays from cash, nothing is deposited and its liquidity is untouched
    d4 = r.days[4]
    for m, due in ev.assessments_due.items():
        assert d4.cash[m] - due >= d4.requirement[m]
        assert d4.cash_end[m] == d4.cash[m] - due
        assert d4.liquidity_end[m] == SC.member(m).liquidity
    assert ev.assessments_paid_from_cash == ["C", "D", "E", "F"] and ev.assessment_deposits == {}
    assert r.ledger["deposits"] == sum(m.cash + m.default_fund for m in SC.members) + 900_000_000


@pytest.mark.parametrize("variant", ["normal", "harsh"])
def test_demo_vm_marks_and_conservation(variant):
    r = run_oracle(SC, variant)
    P = SC.variants[variant].settlement_prices
    mults = SC.multipliers
    for d in r.days:
        assert sum(d.trade_vm.values()) == 0
        assert sum(d.vm.values()) + d.auction_vm == 0
        for i in SC.instrument_ids:
            assert sum(p[i] for p in d.positions.values()) == 0
    # C bought 100 ESX at 4990.00 on day 2: marked from 499000 to P_2 exactly once
    d2 = r.days[2]
    assert d2.trades == [{"buyer": "C", "seller": "D", "instrument": "ESX", "quantity": 100, "price": 499000}]
    assert d2.trade_vm["C"] == (P[1][0] - 499000) * 50 * 100
    old_c = [300, -400, 200]
    assert d2.trade_vm["C"] + d2.vm["C"] == vm(P[1], P[2], mults, old_c) + (P[2][0] - 499000) * 50 * 100
    # cash path of every member = funding + all VM + cures
    for m in SC.members:
        cash = m.cash
        for d in r.days:
            if m.id not in d.cash:
                break
            cash += d.trade_vm[m.id] + d.vm[m.id]
            assert d.cash[m.id] == cash
            cash += sum(c.amount for c in d.cures if c.member == m.id)
            for ev in r.default_events:
                if ev.day == d.day and m.id in ev.assessments_paid:
                    cash += ev.assessment_deposits.get(m.id, 0) - ev.assessments_due[m.id]
            if m.id in d.cash_end:
                assert d.cash_end[m.id] == cash
    led = r.ledger
    total = sum(f["cash"] + f["df"] for f in r.final.values())
    assert total == led["deposits"] - led["withdrawals"] - led["public_charges"]
    assert led["default_account"] == -r.uncovered_loss
    # requirements match the pure helper on the SPAN matrix
    A = scenario_matrix(SC)
    for d in r.days:
        for m, pos in d.positions.items():
            assert d.requirement[m] == requirement(A, list(pos.values()))


def test_unknown_variant():
    with pytest.raises(ScenarioError, match="unknown variant 'calm'"):
        run_oracle(SC, "calm")


# ---------------------------------------------------------------------------
# hand-computed waterfalls on a one-instrument market: price0 1000, mult 1,
# tick 1, scan range 100, scenarios {no move, -100, +100} -> requirement
# 100 per contract; day 1 settles at `p1`, close-out at `c`.
# ---------------------------------------------------------------------------
def small(members, trades, p1=850, c=800, sitg1=0, sitg2=0, a=2, grid=None):
    """members: [(id, cash, df, liquidity)], trades: [(buyer, seller, qty)] on day 0;
    ``grid``: ccp.deposit_grid (None: the field is left out, i.e. 1)."""
    pos = {m[0]: 0 for m in members}
    for b, s, q in trades:
        pos[b] += q
        pos[s] -= q
    return load_scenario({
        "name": "small",
        "instruments": [{"id": "X", "price0": 1000, "multiplier": 1, "tick": 1, "scan_range": 100}],
        "margin_scenarios": {"shocks": [[0], [-100], [100]]},
        "members": [{"id": i, "cash": cash, "default_fund": df, "liquidity": liq, "target_positions": [pos[i]]}
                    for i, cash, df, liq in members],
        "ccp": {"skin_in_the_game_1": sitg1, "skin_in_the_game_2": sitg2, "assessment_cap_multiple": a,
                **({} if grid is None else {"deposit_grid": grid})},
        "trades": [{"day": 0, "buyer": b, "seller": s, "instrument": "X", "quantity": q, "price": 1000}
                   for b, s, q in trades],
        "variants": {"v": {"settlement_prices": [[1000], [p1]], "close_out_prices": [c]}},
    })


def tranches(ev):
    """The six classic tranches (issue 14's insurance fund and VM gains
    haircut are checked by tests/test_waterfall_extended.py)."""
    return [t.amount for t in ev.waterfall if t.tranche not in ("insurance_fund", "vm_gains_haircut")]


def only_event(r):
    check_common(r)
    (ev,) = r.default_events
    return ev


SURV = [("S1", 1000, 100, 10_000), ("S2", 0, 100, 10_000), ("S3", 0, 100, 10_000)]


def test_loss_covered_by_defaulter_margin():
    # L long 10 with cash 1000 = requirement; 950 -> VM -500, cash 500 < 1000:
    # IM call of 500 > liquidity 0 -> default.  Close-out at 920: X = 300,
    # covered by its 500 of margin; estate keeps 200 cash + its whole df.
    r = run_oracle(small([("L", 1000, 500, 0), *SURV], [("L", "S1", 10)], p1=950, c=920), "v")
    ev = only_event(r)
    (d,) = ev.defaulters
    assert (d.cause, d.cash, d.X, d.loss, d.defaulter_margin, d.residual, d.estate_surplus) == (
        "im", 500, 300, 300, 300, 0, 700)
    assert tranches(ev) == [300, 0, 0, 0, 0, 0]
    assert (ev.rounding_residual, ev.uncovered_loss, ev.liquidity_line) == (0, 0, 0)
    assert r.ledger["withdrawals"] == 700
    assert r.days[1].calls[0].kind == "im"


def test_call_kind_boundary_cash_exactly_zero_is_an_im_call():
    # 850: VM -1500 takes cash from 1500 to exactly 0: solvent (scenario 0
    # holds), short of the 1000 requirement -> an IM call, not a payment call
    r = run_oracle(small([("L", 1500, 100, 0), *SURV], [("L", "S1", 10)], sitg1=10_000), "v")
    (call,) = r.days[1].calls
    assert (call.member, call.amount, call.kind) == ("L", 1000, "im")
    assert r.default_events[0].defaulters[0].cause == "im"


@pytest.mark.parametrize("liquidity, cured", [(1500, True), (1499, False)])
def test_cure_needs_the_whole_call_within_liquidity(liquidity, cured):
    # 850: cash -500, requirement 1000 -> payment call of 1500
    r = run_oracle(small([("L", 1000, 100, liquidity), *SURV], [("L", "S1", 10)], sitg1=10_000), "v")
    (call,) = r.days[1].calls
    assert (call.amount, call.kind) == (1500, "payment")
    if cured:
        assert [(c.member, c.amount) for c in r.days[1].cures] == [("L", 1500)]
        assert r.days[1].cash_end["L"] == 1000 and r.days[1].liquidity_end["L"] == 0 and r.defaulted == []
    else:
        assert r.days[1].cures == [] and r.defaulted == ["L"]
        assert r.final["L"]["liquidity"] == 1499          # a member that cannot cure deposits nothing


@pytest.mark.parametrize("grid, liquidity, deposit", [
    (1000, 5000, 2000),        # 1500 rounded up to 2000
    (1000, 1700, 1700),        # ... but never more than the liquidity left
    (500, 5000, 1500),         # already on the grid
    (1, 5000, 1500),           # grid 1: the exact call
    (10**8, 5000, 5000),       # a grid larger than the liquidity: all of it
])
def test_cure_deposit_is_the_call_rounded_up_to_the_grid(grid, liquidity, deposit):
    # 850: cash -500, requirement 1000 -> payment call of 1500
    assert padded(1500, liquidity, grid) == deposit
    r = run_oracle(small([("L", 1000, 100, liquidity), *SURV], [("L", "S1", 10)], sitg1=10_000, grid=grid), "v")
    check_common(r)
    (call,) = r.days[1].calls
    assert (call.member, call.amount, call.kind) == ("L", 1500, "payment")      # the call stays the call
    assert [(c.member, c.amount) for c in r.days[1].cures] == [("L", deposit)]
    assert r.days[1].cash_end["L"] == -500 + deposit
    assert r.days[1].liquidity_end["L"] == liquidity - deposit and r.defaulted == []
    assert r.ledger["deposits"] == sum(x[1] + x[2] for x in [("L", 1000, 100), *SURV]) + deposit


def test_call_above_liquidity_defaults_whatever_the_grid():
    # the grid never lets a member cure a call its liquidity does not cover
    r = run_oracle(small([("L", 1000, 100, 1499), *SURV], [("L", "S1", 10)], sitg1=10_000, grid=1), "v")
    assert r.days[1].cures == [] and r.defaulted == ["L"] and r.final["L"]["liquidity"] == 1499


def test_reaching_skin_in_the_game_1():
    # 850: VM -1500 -> cash -500 (payment default).  X = 500, loss = 500 + 500.
    r = run_oracle(small([("L", 1000, 100, 0), *SURV], [("L", "S1", 10)], sitg1=2000), "v")
    ev = only_event(r)
    (d,) = ev.defaulters
    assert (d.cause, d.cash, d.X, d.loss, d.defaulter_default_fund, d.residual) == (
        "payment", -500, 500, 1000, 100, 900)
    assert tranches(ev) == [0, 100, 900, 0, 0, 0]
    assert ev.liquidity_line == 500
    assert ev.skin_in_the_game_1_after == 1100
    assert r.final["S1"]["df"] == 100              # survivors untouched


def test_survivors_fund_partly_used_with_residual():
    surv = [("S1", 1000, 333, 0), ("S2", 0, 333, 0), ("S3", 0, 334, 0)]
    r = run_oracle(small([("L", 1000, 100, 0), *surv], [("L", "S1", 10)], sitg1=200), "v")
    ev = only_event(r)
    # R = 900; SITG1 200; rem 700 < D0 1000: 700*333//1000 = 233, 233, 700*334//1000 = 233
    assert ev.D0 == 1000 and ev.R == 900
    assert ev.survivor_charges == {"S1": 233, "S2": 233, "S3": 233}
    assert tranches(ev) == [0, 100, 200, 699, 0, 0]
    assert ev.default_fund_residual == ev.rounding_residual == 1
    assert ev.uncovered_loss == 0
    assert r.final["S3"]["df"] == 101 and r.final["S1"]["cash"] == 2500


def test_survivors_fund_fully_used_then_assessments_pro_rata():
    # S1 (short 10, cash 2500 after the crash, requirement 1000) can pay from
    # excess cash; S2 and S3 hold no position and no cash: each deposits its
    # due rounded up to the grid of 50, S3 only what its liquidity of 90 allows
    surv = [("S1", 1000, 100, 0), ("S2", 0, 100, 1000), ("S3", 0, 100, 90)]
    r = run_oracle(small([("L", 1000, 100, 0), *surv], [("L", "S1", 10)], sitg1=200, sitg2=150, a=2, grid=50),
                   "v")
    ev = only_event(r)
    # rem 700 >= 300: df in full; rem 400; SITG2 150 -> 250 < 2*300: due = 250*100//300 = 83 each
    assert ev.survivors_default_fund_in_full and not ev.assessments_capped
    assert tranches(ev) == [0, 100, 200, 300, 150, 249]
    assert ev.assessments_due == {"S1": 83, "S2": 83, "S3": 83} == ev.assessments_paid
    assert ev.assessment_residual == ev.rounding_residual == 1 and ev.uncovered_loss == 0
    assert ev.assessments_paid_from_cash == ["S1"]
    assert padded(83, 1000, 50) == 100 and padded(83, 90, 50) == 90
    assert ev.assessment_deposits == {"S2": 100, "S3": 90}
    assert r.final["S1"]["cash"] == 2500 - 83 and r.final["S1"]["liquidity"] == 0
    # a deposit above the due leaves the excess in the member's cash
    assert r.final["S2"]["liquidity"] == 1000 - 100 and r.final["S2"]["cash"] == 100 - 83
    assert r.final["S3"]["liquidity"] == 0 and r.final["S3"]["cash"] == 90 - 83
    assert r.final["S2"]["df"] == 0 and r.defaulted == ["L"]
    assert r.ledger["deposits"] == (1000 + 100) + (1000 + 100) + 100 + 100 + (100 + 90)    # day 0 + assessments


@pytest.mark.parametrize("s2_cash, from_cash", [(333, True), (332, False)])
def test_assessment_from_cash_needs_the_margin_after_the_debit(s2_cash, from_cash):
    # as above, plus S2 long 1 from S3: after the crash S2 has cash
    # s2_cash - 150 and a requirement of 100; its due is 83, so it can pay
    # from cash iff s2_cash - 150 - 83 >= 100, i.e. s2_cash >= 333
    surv = [("S1", 1000, 100, 0), ("S2", s2_cash, 100, 1000), ("S3", 100, 100, 0)]
    r = run_oracle(small([("L", 1000, 100, 0), *surv], [("L", "S1", 10), ("S2", "S3", 1)], sitg1=200, sitg2=150,
                         a=2, grid=50), "v")
    ev = only_event(r)
    assert ev.assessments_due == {"S1": 83, "S2": 83, "S3": 83} == ev.assessments_paid
    d1 = r.days[1]
    assert (d1.cash["S2"], d1.requirement["S2"]) == (s2_cash - 150, 100)
    if from_cash:
        assert ev.assessments_paid_from_cash == ["S1", "S2", "S3"] and ev.assessment_deposits == {}
        assert d1.cash_end["S2"] == s2_cash - 150 - 83 == d1.requirement["S2"]
        assert d1.liquidity_end["S2"] == 1000
    else:
        assert ev.assessments_paid_from_cash == ["S1", "S3"] and ev.assessment_deposits == {"S2": 100}
        assert d1.cash_end["S2"] == s2_cash - 150 + 100 - 83
        assert d1.liquidity_end["S2"] == 900


def test_assessments_capped_and_uncovered_loss():
    surv = [("S1", 1000, 100, 1000), ("S2", 0, 100, 1000), ("S3", 0, 100, 1000)]
    r = run_oracle(small([("L", 1000, 100, 0), *surv], [("L", "S1", 10)], sitg1=200, sitg2=50, a=1), "v")
    ev = only_event(r)
    # rem 400 after the fund; SITG2 50 -> 350 >= 1 * 300: each owes 100, 50 uncovered
    assert ev.assessments_capped
    assert tranches(ev) == [0, 100, 200, 300, 50, 300]
    assert ev.assessments_due == {"S1": 100, "S2": 100, "S3": 100}
    assert ev.assessments_paid_from_cash == ["S1"] and ev.assessment_deposits == {"S2": 100, "S3": 100}
    # tranche 8 (issue 14): the 50 left is haircut from S1's VM gain of the day (1500)
    assert ev.vm_gains_haircut_rate == {"U": 50, "G": 1500} and ev.vm_gains_haircuts == {"S1": 50, "S2": 0, "S3": 0}
    assert ev.tranche("vm_gains_haircut") == 50
    assert (ev.rounding_residual, ev.uncovered_loss, r.uncovered_loss) == (0, 0, 0)
    assert r.ledger["default_account"] == 0


def test_no_assessments_all_uncovered():
    surv = [("S1", 1000, 100, 1000), ("S2", 0, 100, 1000), ("S3", 0, 100, 1000)]
    r = run_oracle(small([("L", 1000, 100, 0), *surv], [("L", "S1", 10)], sitg1=200, a=0), "v")
    ev = only_event(r)
    # tranche 8 (issue 14): the 400 the capped (a = 0) assessments leave come out of S1's gain
    assert tranches(ev) == [0, 100, 200, 300, 0, 0] and ev.tranche("vm_gains_haircut") == 400
    assert ev.uncovered_loss == 0 and ev.vm_gains_haircut_rate == {"U": 400, "G": 1500}


def test_two_defaulters_one_event():
    members = [("L1", 1000, 100, 0), ("L2", 500, 50, 0),
               ("S1", 1000, 200, 0), ("S2", 500, 300, 0), ("S3", 0, 500, 0)]
    r = run_oracle(small(members, [("L1", "S1", 10), ("L2", "S2", 5)], sitg1=1000), "v")
    ev = only_event(r)
    l1, l2 = ev.defaulters
    assert (l1.loss, l1.residual, l2.cash, l2.X, l2.loss, l2.residual) == (1000, 900, -250, 250, 500, 450)
    assert ev.survivors == ["S1", "S2", "S3"] and ev.D0 == 1000      # defaulters excluded from D0
    # R = 1350; SITG1 1000; rem 350 pro rata on 200/300/500
    assert ev.survivor_charges == {"S1": 70, "S2": 105, "S3": 175}
    assert tranches(ev) == [0, 150, 1000, 350, 0, 0]
    assert ev.liquidity_line == 750 and r.defaulted == ["L1", "L2"]
    assert r.ledger["auction_positions"] == {"X": 15}


def test_survivor_defaulting_after_an_assessment_cascades():
    # L (long 20) defaults; W (long 2, exactly at margin) survives the crash but
    # cannot pay its assessment of 325 from liquidity 100 -> second event.
    members = [("L", 2000, 100, 0), ("W", 500, 100, 100),
               ("S1", 2000, 100, 10_000), ("S2", 200, 100, 10_000), ("S3", 0, 100, 10_000)]
    r = run_oracle(small(members, [("L", "S1", 20), ("W", "S2", 2)], sitg1=200, sitg2=0, a=4), "v")
    check_common(r)
    assert r.days[1].calls == [r.days[1].calls[0]] and r.days[1].calls[0].member == "L"
    e1, e2 = r.default_events
    # event 1: L loss 2000 (X 1000 + unpaid VM 1000); df 100; SITG1 200; fund 400 in
    # full; rem 1300 < 4 * 400 -> due 1300*100//400 = 325 each
    assert (e1.cause, e1.D0, e1.R) == ("margin", 400, 1900)
    assert tranches(e1) == [0, 100, 200, 400, 0, 1300]
    assert e1.assessments_paid == {"S1": 325, "S2": 325, "S3": 325}
    assert e1.assessments_unpaid == {"W": 325}
    # W: cash 200 = its requirement, so not from cash; liquidity 100 < 325: it pays nothing.
    # S1 (cash 5000, requirement 2000) pays from cash; S2 (cash 500, requirement
    # 200) and S3 (no position, cash 0) deposit it (grid 1: exactly)
    assert e1.assessments_paid_from_cash == ["S1"] and e1.assessment_deposits == {"S2": 325, "S3": 325}
    # event 2: W's unpaid 325 joins its own loss: X = 100, loss 425; its cash
    # 200 absorbs 200; its df was charged in event 1; the survivors' fund and
    # both SITG tranches are gone -> 225 left, haircut (issue 14) from the day's VM
    # gains S1 1000, S2 100: floor(225*1000/1100) = 204, floor(225*100/1100) = 20, residual 1
    assert (e2.cause, e2.survivors, e2.D0) == ("assessment", ["S1", "S2", "S3"], 0)
    (w,) = e2.defaulters
    assert (w.member, w.cause, w.cash, w.df, w.X, w.unpaid_assessment) == ("W", "assessment", 200, 0, 100, 325)
    assert (w.loss, w.defaulter_margin, w.defaulter_default_fund, w.residual, w.estate_surplus) == (425, 200, 0, 225, 0)
    assert tranches(e2) == [200, 0, 0, 0, 0, 0] and e2.tranche("vm_gains_haircut") == 224
    assert e2.vm_gains_haircuts == {"S1": 204, "S2": 20, "S3": 0} and e2.vm_gains_residual == 1
    assert e2.rounding_residual == 1 and e2.uncovered_loss == 0
    assert r.uncovered_loss == 0 and r.defaulted == ["L", "W"]
    assert r.days[1].defaults == ["L", "W"] and r.days[1].default_events == [0, 1]
    assert r.final["W"]["liquidity"] == 100          # it paid nothing


def test_cascade_absorbed_by_the_members_own_margin():
    # as in the cascade above, but W starts with 800: after the crash its cash
    # is 500 with a requirement of 200, so it cannot pay 325 from cash (175 <
    # 200) and has no liquidity; its own margin of 500 covers X 100 + 325
    members = [("L", 2000, 100, 0), ("W", 800, 100, 0),
               ("S1", 2000, 100, 10_000), ("S2", 200, 100, 10_000), ("S3", 0, 100, 10_000)]
    r = run_oracle(small(members, [("L", "S1", 20), ("W", "S2", 2)], sitg1=200, a=4), "v")
    check_common(r)
    e1, e2 = r.default_events
    assert e1.assessments_unpaid == {"W": 325}
    (w,) = e2.defaulters
    assert (w.cash, w.X, w.loss, w.defaulter_margin, w.residual, w.estate_surplus) == (500, 100, 425, 425, 0, 75)
    assert tranches(e2) == [425, 0, 0, 0, 0, 0] and r.uncovered_loss == 0


def test_fewer_than_three_survivors_disclose_individually():
    r = run_oracle(small([("L", 1000, 100, 0), ("S1", 1000, 100, 0), ("S2", 0, 100, 0)],
                         [("L", "S1", 10)], sitg1=2000), "v")
    ev = only_event(r)
    assert ev.survivors == ["S1", "S2"]
    assert ev.disclosure_policy == r.disclosure_policy == "individual"
    r3 = run_oracle(small([("L", 1000, 100, 0), *SURV], [("L", "S1", 10)], sitg1=2000), "v")
    assert r3.disclosure_policy == "aggregate"


def test_no_default_no_event():
    r = run_oracle(small([("L", 5000, 100, 0), *SURV], [("L", "S1", 10)]), "v")
    check_common(r)
    assert r.default_events == [] and r.defaulted == [] and r.liquidity_line == 0


def test_close_out_gain_goes_to_the_estate():
    # defaulter short; crash up to 1150, close-out back at 1100 (a gain of 500
    # against settlement): cash -500 + 500 = 0, nothing to absorb.
    r = run_oracle(small([("S", 1000, 100, 0), ("B1", 2000, 100, 0), ("B2", 0, 100, 0), ("B3", 0, 100, 0)],
                         [("B1", "S", 10)], p1=1150, c=1100), "v")
    ev = only_event(r)
    (d,) = ev.defaulters
    assert (d.cash, d.X, d.loss, d.estate_surplus) == (-500, -500, 0, 100)
    assert tranches(ev) == [0, 0, 0, 0, 0, 0]


def test_trades_with_a_defaulted_member_are_rejected():
    raw = small([("L", 1000, 100, 0), *SURV], [("L", "S1", 10)]).to_dict()
    raw["variants"]["v"]["settlement_prices"].append([850])
    raw["trades"].append({"day": 2, "buyer": "L", "seller": "S2", "instrument": "X", "quantity": 1, "price": 850})
    raw["trades"].append({"day": 2, "buyer": "S3", "seller": "S2", "instrument": "X", "quantity": 1, "price": 850})
    r = run_oracle(raw, "v")
    check_common(r)
    assert [t["buyer"] for t in r.days[2].rejected_trades] == ["L"]
    assert [t["buyer"] for t in r.days[2].trades] == ["S3"]
    assert "L" not in r.days[2].cash


def test_auction_book_keeps_vm_zero_sum_after_an_early_default():
    raw = small([("L", 1000, 100, 0), *SURV], [("L", "S1", 10)], sitg1=5000).to_dict()
    raw["variants"]["v"]["settlement_prices"] += [[870], [820]]
    r = run_oracle(raw, "v")
    check_common(r)
    assert r.days[2].auction_vm == 20 * 10 and r.days[3].auction_vm == -50 * 10
    assert r.days[3].vm["S1"] == 500


# ---------------------------------------------------------------------------
# properties of the pure helpers
# ---------------------------------------------------------------------------
amount = st.integers(0, (1 << 63) - 1)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 1 << 63), min_size=1, max_size=12), st.data())
def test_pro_rata_properties(dfs, data):
    D = sum(dfs)
    assume(D > 0)
    R = data.draw(st.integers(0, D))
    shares, k = pro_rata(R, dfs)
    assert sum(shares) == R - k and 0 <= k < len(dfs)
    for s, d in zip(shares, dfs):
        assert 0 <= s <= d
        assert s * D <= R * d < (s + 1) * D          # the floor, exactly
    assert pro_rata(D, dfs) == (list(dfs), 0)


def test_pro_rata_rejects():
    for R, dfs in ((1, [0, 0]), (-1, [1]), (1, [-1, 2]), (1.0, [1]), (1, [1.0])):
        with pytest.raises((ValueError, TypeError)):
            pro_rata(R, dfs)


mat = st.integers(1, 4).flatmap(lambda n: st.tuples(
    st.lists(st.lists(st.integers(-(1 << 63), 1 << 63), min_size=n, max_size=n), min_size=1, max_size=6),
    st.lists(st.integers(-(1 << 40), 1 << 40), min_size=n, max_size=n)))


@settings(max_examples=200, deadline=None)
@given(mat)
def test_requirement_properties(mp):
    A, pos = mp
    A = [[0] * len(pos)] + A                         # scenario 0 = no move
    req = requirement(A, pos)
    pnl = scenario_pnl(A, pos)
    assert req >= 0 and pnl[0] == 0
    assert all(req >= -p for p in pnl) and any(req == max(0, -p) for p in pnl)
    assert requirement(A, [0] * len(pos)) == 0
    assert scenario_pnl(A, [2 * q for q in pos]) == [2 * p for p in pnl]


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 4).flatmap(lambda n: st.tuples(
    st.lists(st.integers(1, (1 << 40) - 1), min_size=n, max_size=n),
    st.lists(st.integers(1, (1 << 40) - 1), min_size=n, max_size=n),
    st.lists(st.integers(1, (1 << 24) - 1), min_size=n, max_size=n),
    st.lists(st.lists(st.integers(-(1 << 32), 1 << 32), min_size=n, max_size=n), min_size=1, max_size=5))))
def test_vm_zero_sum_when_positions_net_to_zero(args):
    prev, now, mults, accounts = args
    last = [-sum(col) for col in zip(*accounts)]     # a last account nets every instrument to zero
    books = accounts + [last]
    assert sum(vm(prev, now, mults, p) for p in books) == 0
    assert sum(closeout_loss(now, prev, mults, p) for p in books) == 0
    assert closeout_loss(now, prev, mults, books[0]) == -vm(prev, now, mults, books[0])


def test_helpers_reject_floats_and_bad_dims():
    with pytest.raises(TypeError):
        vm([1.0], [2], [1], [1])
    with pytest.raises(ValueError):
        vm([1, 2], [2], [1], [1])
    with pytest.raises(ValueError):
        scenario_pnl([[1, 2]], [1])
    with pytest.raises(TypeError):
        requirement([[0], [1.5]], [1])


@settings(max_examples=300, deadline=None)
@given(st.integers(-(1 << 70), 1 << 70), st.integers(-(1 << 64), 1 << 64), amount, st.integers(0, 1 << 64))
def test_defaulter_tranches_properties(X, cash, df, u):
    t = defaulter_tranches(X, cash, df, u)
    assert t.loss == t.defaulter_margin + t.defaulter_default_fund + t.residual
    assert 0 <= t.defaulter_margin <= max(0, cash)
    assert 0 <= t.defaulter_default_fund <= df and t.residual >= 0 and t.estate_surplus >= 0
    assert t.residual == 0 or (t.defaulter_default_fund == df and t.defaulter_margin == max(0, cash))
    # what reaches the mutual tranches is exactly what the defaulter's own cash and df cannot cover
    assert t.residual == max(0, X + u - cash - df)
    # money is conserved: own resources + outside money = close-out + unpaid VM + unpaid assessment + estate
    assert cash + df + t.residual == X + u + t.estate_surplus


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 1 << 66), st.lists(st.integers(0, 1 << 63), max_size=8), amount, amount, st.integers(0, 5))
def test_mutual_waterfall_properties(R, dfs, s1, s2, a):
    mw = mutual_waterfall(R, dfs, s1, s2, a)
    assert (mw.skin_in_the_game_1 + mw.survivors_default_fund + mw.skin_in_the_game_2 + mw.assessments
            + mw.rounding_residual + mw.uncovered_loss) == R
    assert mw.skin_in_the_game_1 == min(R, s1)
    assert all(0 <= c <= d for c, d in zip(mw.survivor_charges, dfs))
    assert all(0 <= x <= a * d for x, d in zip(mw.assessments_due, dfs))
    assert 0 <= mw.default_fund_residual < max(1, len(dfs)) and 0 <= mw.assessment_residual < max(1, len(dfs))
    if mw.skin_in_the_game_2 > 0:                  # later tranches only once earlier ones are exhausted
        assert mw.default_fund_in_full
    if mw.assessments > 0:
        assert mw.default_fund_in_full and mw.skin_in_the_game_2 == s2
    if mw.uncovered_loss > 0:
        assert mw.assessments_capped and list(mw.assessments_due) == [a * d for d in dfs]


def test_mutual_waterfall_without_survivors_is_all_uncovered():
    mw = mutual_waterfall(1000, [], 300, 200, 2)
    assert (mw.skin_in_the_game_1, mw.survivors_default_fund, mw.skin_in_the_game_2, mw.assessments,
            mw.uncovered_loss) == (300, 0, 200, 0, 500)
