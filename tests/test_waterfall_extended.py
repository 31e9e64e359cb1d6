"""The extended waterfall of issue 14 through the engine: the insurance fund
(tranche 3), VM gains haircutting (tranche 8: the prover's gains with their
range and OR-proofs, G opened, the pro-rata haircut) and the gross loss.

* the packaged bad-debt scenario, both variants (pro rata with a rounding
  residual; every gain taken and an uncovered loss), against the oracle:
  every public number, the prover's openings, the books, the audit;
* soundness at the node: a cheating prover (range checks off, its own
  signature) that hides a gain is refused; every field of the honest
  answers tampered is refused; a haircut before the gains, a replay;
* generated scenarios (hypothesis) that reach tranche 8: engine == oracle.
"""
from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from clearing.ccp.oracle import run_oracle
from clearing.ccp.scenario import load_scenario
from clearing.demo.scenarios import load_named_scenario
from clearing.protocol import signing
from clearing.protocol.errors import FailedPrecondition, InvalidArgument
from clearing.protocol.messages import book_lots, closeout_message, shares_message
from clearing.protocol.vm_gains import GAINS, HAIRCUT, VM_KEY, gains_statements, total_statement
from prover.statements import prove_reveals
from support.engine import compare_with_oracle, run_scenario, waterfall_scenario
from zkp.field import SeededRng, from_int, random_scalar, to_signed
from zkp.generators import generators
from zkp.pedersen import Opening

REPORT_FIELDS = ("insurance_fund_before", "insurance_fund_after", "vm_gains_haircut_rate", "vm_gains_residual",
                 "gross_loss", "assessment_limit")


def compare_extended(sim, days, oracle) -> None:
    """The harness's comparison plus issue 14's public outputs."""
    compare_with_oracle(sim, days, oracle)
    reports = sim.engine.default_reports()
    for rep, ev in zip(reports, oracle.default_events):
        for k in REPORT_FIELDS:
            assert rep[k] == getattr(ev, k), k
        assert {d["member"]: d["collateral_consumed"] for d in rep["defaulters"]} == ev.collateral_consumed
        assert rep["loss"] == sum(t["amount"] for t in rep["waterfall"]) + rep["rounding_residual"] \
            + rep["uncovered_loss"]
    assert sim.engine.state.books["insurance_fund"] == oracle.ledger["insurance_fund_left"]
    assert sim.engine.state.books["default_account"] == oracle.ledger["default_account"]
    assert sim.engine.state.books["ccp_capital"] == oracle.ledger["ccp_capital"]
    assert sim.engine.state.flows["charges"] == oracle.ledger["public_charges"]


@pytest.mark.parametrize("variant", ["normal", "severe"])
def test_bad_debt_scenario_end_to_end(tmp_path, variant):
    sc = load_named_scenario("bad-debt")
    oracle = run_oracle(sc, variant)
    (ev,) = oracle.default_events
    t = {x.tranche: x.amount for x in ev.waterfall}
    assert t["insurance_fund"] == 400_000 and ev.assessments_capped and t["vm_gains_haircut"] > 0
    if variant == "normal":  # pro rata, a rounding residual, nothing uncovered
        assert ev.vm_gains_haircut_rate == {"U": 1_400_000, "G": 6_600_000}
        assert (t["vm_gains_haircut"], ev.vm_gains_residual, ev.uncovered_loss) == (1_399_999, 1, 0)
    else:  # every gain taken, the rest uncovered
        assert t["vm_gains_haircut"] == ev.vm_gains_haircut_rate["G"] < ev.vm_gains_haircut_rate["U"]
        assert ev.uncovered_loss == ev.vm_gains_haircut_rate["U"] - ev.vm_gains_haircut_rate["G"] > 0
    assert ev.gross_loss == ev.loss + ev.collateral_consumed["A"] and ev.collateral_consumed["A"] == 5_000_000
    sim, days = run_scenario(tmp_path, sc, variant, seed=b"bad-debt-" + variant.encode())
    compare_extended(sim, days, oracle)
    rep = sim.engine.default_reports()[0]
    assert set(rep["proofs"]) >= ({GAINS, HAIRCUT} if variant == "normal" else {GAINS})
    assert (HAIRCUT in rep["proofs"]) == (variant == "normal")
    # the haircut reduced the gainers' VM of the cycle; the cycle's VM still sums to zero (checked at close)
    kinds = [b.get("purpose") for _, b in sim.engine.events() if b["kind"] == "dm-shares"]
    assert kinds == ([GAINS, HAIRCUT] if variant == "normal" else [GAINS])


def _truncate_to_margin(sc):
    """Day 0 only in the harness run (the default day is driven by hand)."""
    d = sc.to_dict()
    for v in d["variants"].values():
        v["settlement_prices"] = v["settlement_prices"][:1]
    return load_scenario(d)


def _resign(sim, a):
    sig = signing.sign(sim.prover_sk, *shares_message(a.cycle, a.index, a.purpose, a.R, a.shares, a.total, a.proof,
                                                      a.total_proof))
    return dataclasses.replace(a, sig=sig)


def _day1(sim, sc):
    """Settle the default day and run its margin (A is called)."""
    from clearing.ccp.scenario import scenario_matrix
    sim.settle(list(sc.variant("normal").settlement_prices[1]), scenario_matrix(sc))
    return sim.margin()


@pytest.fixture(scope="module")
def gains_case(tmp_path_factory):
    sc = load_named_scenario("bad-debt")
    base = tmp_path_factory.mktemp("gains")
    sim, _ = run_scenario(base, _truncate_to_margin(sc), "normal", seed=b"gains-neg")
    assert _day1(sim, sc)["A"] == "payment"
    sim.declare_default("A")
    kw = sim.witness.default_open(sim.cycle, sim.accounts())
    index = sim.engine.dm_open(kw, sim.rid("dm-open"))["index"]
    sim.sync()
    disclosed = sim.engine.state.dm["disclosed"]
    lots = book_lots({m: x["pos"] for m, x in disclosed.items()}, sim.engine.state.instrument_ids())
    close = list(sc.variant("normal").close_out_prices)
    need = sim.engine.dm_closeout(sim.cycle, index, close, lots,
                                  sim.op(closeout_message(sim.cycle, index, close, lots)), sim.rid("dm-close"))["need"]
    sim.sync()
    assert need == {GAINS: 1_400_000}
    return sim, sim.witness.default_shares(GAINS)


def _point(h: str):
    from zkp.group import Point
    return Point.decode(bytes.fromhex(h))


def _refused(sim, answer, exc=InvalidArgument):
    before = sim.engine.state.seq
    with pytest.raises(exc):
        sim.engine.dm_shares(answer, sim.rid("bad"))
    assert sim.engine.state.seq == before


def test_tampered_gains_answers_are_refused(gains_case):
    sim, a = gains_case
    gens = generators()
    other = gens.commit(5, 77).encode().hex()
    bad = [
        dataclasses.replace(a, R=a.R + 1),
        dataclasses.replace(a, total=a.total + 1),
        dataclasses.replace(a, total=a.total - 1),
        dataclasses.replace(a, shares=(a.shares[1], a.shares[0], *a.shares[2:])),
        dataclasses.replace(a, shares=(other, *a.shares[1:])),
        dataclasses.replace(a, shares=a.shares[:-1]),
        dataclasses.replace(a, proof=a.proof[:-1]),
        dataclasses.replace(a, proof=a.proof[:40] + bytes([a.proof[40] ^ 1]) + a.proof[41:]),
        dataclasses.replace(a, proof=a.proof[:-192] + a.proof[-384:-192]),  # an OR-proof of another survivor
        dataclasses.replace(a, total_proof=a.total_proof[:-1] + bytes([a.total_proof[-1] ^ 1])),
        dataclasses.replace(a, shares=(("40" + "00" * 31), *a.shares[1:])),  # the identity
        dataclasses.replace(a, shares=(a.shares[0].upper(), *a.shares[1:])),
    ]
    for b in bad:
        _refused(sim, _resign(sim, b))
    _refused(sim, dataclasses.replace(a, sig=bytes(64)))                  # not the prover's signature
    _refused(sim, dataclasses.replace(a, purpose=HAIRCUT), FailedPrecondition)  # nothing of that pending
    _refused(sim, _resign(sim, dataclasses.replace(a, index=a.index + 1)), FailedPrecondition)


def _cheating_gains(sim, hide: str | None):
    """A cheating prover's ``vm-gains`` answer that claims g = 0 for the
    gainer ``hide`` (range checks off), with a valid opening of its total
    and its own valid signature."""
    import prover.rangeproof as prover_range
    from prover.sigma_or import prove_or_zero
    from zkp.statements import StatementProof, chunk_transcript, derive_openings, range_chunks
    from zkp.vm_gains import VmGainsProof
    s, dm = sim.witness.state, sim.witness.state.dm
    gens, rng = generators(), SeededRng(b"cheat")
    survivors = dm["survivors"]
    vops = [s.dm_snapshot[VM_KEY + m] for m in survivors]
    vcs = [gens.commit(o.value, o.blinding) for o in vops]
    gvals = [0 if m == hide else max(0, to_signed(o.value)) for m, o in zip(survivors, vops)]
    assert hide is None or to_signed(vops[survivors.index(hide)].value) > 0
    gops = [Opening(from_int(g), random_scalar(rng)) for g in gvals]
    gcs = [gens.commit(o.value, o.blinding) for o in gops]
    sts = gains_statements(s.cycle, dm["open_seq"], dm["need"][GAINS], survivors, vcs, gcs)
    saved = prover_range._check_witness
    prover_range._check_witness = lambda *a: None
    try:
        (st,) = sts
        derived = derive_openings(vops + gops, st.forms())
        base = st.transcript(gens)
        rp = StatementProof(tuple(prover_range.prove_range(
            chunk_transcript(st, k, base, gens), [derived[i].value for i in idx], [derived[i].blinding for i in idx],
            st.BITS, gens=gens, rng=rng) for k, idx in enumerate(range_chunks(st))))
    finally:
        prover_range._check_witness = saved
    ors = []
    for j, (vo, go) in enumerate(zip(vops, gops)):
        C0, C1 = st.or_statement(j)
        if go.value == 0:  # the hidden gainer takes the true-looking "g = 0" branch
            ors.append(prove_or_zero(st.or_transcript(j, base), C0, C1, 1, go.blinding, gens=gens, rng=rng))
        else:
            ors.append(prove_or_zero(st.or_transcript(j, base), C0, C1, 0, go.blinding - vo.blinding, gens=gens,
                                     rng=rng))
    total = sum(gvals)
    tproof = prove_reveals(total_statement(s.cycle, dm["open_seq"], GAINS, survivors, gcs, total), gops,
                           gens=gens, rng=rng).to_bytes()
    honest = sim.witness.default_shares(GAINS)
    forged = dataclasses.replace(honest, shares=tuple(c.encode().hex() for c in gcs), total=total,
                                 proof=VmGainsProof((rp,), tuple(ors)).to_bytes(), total_proof=tproof)
    return _resign(sim, forged)


def test_cheating_prover_cannot_hide_a_gain(gains_case):
    from verifier.vm_gains import verify_vm_gains
    from zkp.errors import VerificationError
    from zkp.vm_gains import VmGainsProof
    sim, _ = gains_case
    dm = sim.engine.state.dm
    vms = [sim.engine.state.dm_snapshot[VM_KEY + m] for m in dm["survivors"]]

    def verify(a):
        gains = [_point(h) for h in a.shares]
        sts = gains_statements(a.cycle, dm["open_seq"], a.R, dm["survivors"], vms, gains)
        verify_vm_gains(sts, VmGainsProof.from_bytes(a.proof, sts))

    verify(_cheating_gains(sim, None))       # the cheating helper is sound on the true gains
    forged = _cheating_gains(sim, "B")
    with pytest.raises(VerificationError):
        verify(forged)
    _refused(sim, forged)


def test_honest_gains_then_haircut_then_report(gains_case):
    """Last in this module: books the honest answers (the fixture's sim moves on)."""
    sim, a = gains_case
    res = sim.engine.dm_shares(a, sim.rid("dm-shares"))
    sim.sync()
    assert res["need"] == {HAIRCUT: 1_400_000}
    assert sim.engine.state.dm["G"] == 6_600_000
    # a replayed gains answer is not pending any more
    _refused(sim, a, FailedPrecondition)
    h = sim.witness.default_shares(HAIRCUT)
    cash = {m: sim.witness.balances(m)["cash"] for m in "BCDE"}
    _refused(sim, _resign(sim, dataclasses.replace(h, total=h.total - 4)))   # residual >= #survivors
    _refused(sim, _resign(sim, dataclasses.replace(h, shares=(h.shares[1], h.shares[0], *h.shares[2:]))))
    assert sim.engine.dm_shares(h, sim.rid("dm-shares"))["need"] == {}
    sim.sync()
    (rep,) = sim.engine.default_reports()
    assert rep["vm_gains_haircut_rate"] == {"U": 1_400_000, "G": 6_600_000} and rep["vm_gains_residual"] == 1
    assert {x["tranche"]: x["amount"] for x in rep["waterfall"]}["vm_gains_haircut"] == 1_399_999
    # the members' openings: B, C, D lose floor(U*g_j/G) of cash (the oracle's numbers); E lost VM: nothing
    cut = {"B": 615_151, "C": 381_818, "D": 403_030, "E": 0}
    assert {m: cash[m] - sim.witness.balances(m)["cash"] for m in cut} == cut
    sim.engine.check_invariants()


# -- generated scenarios reaching tranche 8 ----------------------------------------------
@st.composite
def haircut_cases(draw):
    drop = draw(st.integers(5000, 9000))
    extra = draw(st.integers(2000, 20000))
    dfs = [draw(st.integers(1, 150_000)) for _ in range(3)]
    return dict(drop=drop, extra=extra, dfs=dfs, sitg1=draw(st.integers(0, 300_000)),
                sitg2=draw(st.integers(0, 200_000)), cap=draw(st.integers(0, 2)),
                weak=draw(st.sampled_from([(), ("S2",), ("S3",)]))), draw(st.integers(0, 600_000))


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                HealthCheck.too_slow])
@given(case=haircut_cases())
def test_generated_scenarios_reaching_tranche_8_match_the_oracle(tmp_path_factory, case):
    kw, fund = case
    d = waterfall_scenario(**kw, liquidity={"S2": 10**9, "S3": 10**9}).to_dict()
    d["ccp"]["insurance_fund"] = fund
    sc = load_scenario(d)
    oracle = run_oracle(sc, "v")
    assume(any(e.vm_gains_haircut_rate["U"] > 0 for e in oracle.default_events))  # tranche 8 reached
    sim, days = run_scenario(tmp_path_factory.mktemp("gen"), sc, "v", seed=b"gen")
    compare_extended(sim, days, oracle)


def test_oracle_tranche_8_on_generated_cases():
    """Fast: the oracle alone on many shapes -- the identity holds, tranche 8
    follows its rule (all gains when U >= G, else floor shares)."""
    reached = 0
    for k in range(40):
        rng = SeededRng(b"oracle-gen-%d" % k)
        kw = dict(drop=3000 + rng.randbelow(6000), extra=rng.randbelow(20000),
                  dfs=[1 + rng.randbelow(200_000) for _ in range(3)], sitg1=rng.randbelow(500_000),
                  sitg2=rng.randbelow(300_000), cap=rng.randbelow(3))
        d = waterfall_scenario(**kw).to_dict()
        d["ccp"]["insurance_fund"] = rng.randbelow(600_000)
        r = run_oracle(load_scenario(d), "v")
        assert r.invariants == {"positions_net_zero": True, "vm_zero_sum": True, "cash_conservation": True,
                                "loss_identity": True}
        for e in r.default_events:
            rate = e.vm_gains_haircut_rate
            if rate["U"]:
                reached += 1
                assert e.tranche("vm_gains_haircut") == min(rate["U"], rate["G"]) - e.vm_gains_residual
                assert 0 <= e.vm_gains_residual < max(1, len(e.survivors))
    assert reached > 10


# -- the scenario by name, the demo --------------------------------------------------------
def test_packaged_scenarios_by_name(tmp_path):
    from clearing.ccp.scenario import ScenarioError, builtin_scenario

    bad = load_named_scenario("bad-debt")
    assert bad.name == "ccp-bad-debt" and load_named_scenario("ccp-bad-debt") == bad
    assert bad.ccp.insurance_fund == 400_000 and bad.variant("normal") and bad.variant("severe")
    assert load_named_scenario("demo") == builtin_scenario()
    # ccp-demo has no insurance fund: its round trip does not gain the key
    assert builtin_scenario().ccp.insurance_fund == 0 and "insurance_fund" not in builtin_scenario().to_dict()["ccp"]
    path = tmp_path / "s.json"
    path.write_text(bad.to_json(), encoding="utf-8")
    assert load_named_scenario(str(path)) == bad          # a file path keeps working
    with pytest.raises((ScenarioError, OSError)):
        load_named_scenario(str(tmp_path / "no-such-scenario"))
    d = bad.to_dict()
    d["ccp"]["insurance_fund"] = -1
    with pytest.raises(ScenarioError):
        load_scenario(d)


def test_rules_text_names_every_tranche():
    rules = load_named_scenario("bad-debt").rules
    for words in ("insurance_fund", "skin_in_the_game_1", "survivors_default_fund", "skin_in_the_game_2",
                  "assessments", "vm_gains_haircut", "floor(U * g_j /", "max(0, vm_j)", "Gross loss",
                  "deposit_grid", "uncovered"):
        assert words in rules, words


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["normal", "severe"])
def test_demo_bad_debt(tmp_path, variant):
    """``zkclear demo --scenario bad-debt``: every node a process over mutual
    TLS; the report shows the new tranches and equals the oracle's."""
    import json
    import subprocess
    import sys

    out = tmp_path / "out"
    p = subprocess.run([sys.executable, "-m", "clearing.cli", "demo", "--scenario", "bad-debt", "--variant", variant,
                        "--out", str(out), "--quiet"], capture_output=True, text=True, timeout=1800)
    report = json.loads((out / "report.json").read_text())
    assert p.returncode == 0 and report["ok"], p.stdout[-3000:] + p.stderr[-3000:]
    oracle = run_oracle(load_named_scenario("bad-debt"), variant)
    (ev,) = oracle.default_events
    assert report["waterfall"] == [{"tranche": t.tranche, "amount": t.amount} for t in ev.waterfall]
    assert [w["tranche"] for w in report["waterfall"]][2::5] == ["insurance_fund", "vm_gains_haircut"]
    assert report["vm_gains_haircut_rate"] == ev.vm_gains_haircut_rate
    assert report["gross_loss"] == ev.gross_loss > report["loss"] == ev.loss
    assert report["loss"] == sum(w["amount"] for w in report["waterfall"]) + report["rounding_residual"] \
        + report["uncovered_loss"]
    svg = (out / "waterfall.svg").read_text()
    assert 'data-tranche="insurance_fund"' in svg and 'data-tranche="vm_gains_haircut"' in svg
    html = (out / "report.html").read_text()
    assert "VM gains haircut" in html and "Insurance fund" in html and "Gross loss" in html


def test_a_penalty_credited_to_the_insurance_fund_is_drawn_at_the_next_default():
    """The fold's hook for liquidation penalties (issue 14 §2, not built yet):
    the fund grows, the books still balance, and tranche 3 draws it."""
    from clearing.fold.default import _draw_insurance_fund, credit_insurance_fund
    from clearing.fold.state import State
    from clearing.protocol.errors import LedgerCorrupted

    s = State()
    s.books = {"auction_cash": 0, "default_account": 0, "ccp_capital": 0, "insurance_fund": 100}
    s.flows["charges"] += 40  # the penalty debited from the member's cash
    credit_insurance_fund(s, 40)
    b, f = s.books, s.flows
    assert b["insurance_fund"] == 140 and b["auction_cash"] + b["default_account"] == f["charges"] + b["ccp_capital"]
    assert _draw_insurance_fund(s, 120) == 120 and b["insurance_fund"] == 20
    assert b["auction_cash"] + b["default_account"] == f["charges"] + b["ccp_capital"]
    assert _draw_insurance_fund(s, 50) == 20 and b["insurance_fund"] == 0
    with pytest.raises(LedgerCorrupted):
        credit_insurance_fund(s, -1)


def test_bad_debt_survives_reopen_and_a_fresh_prover_replay(tmp_path):
    """The node reopened after every step keeps state, chain head, digests
    and reports (the new books and snapshot keys persist); a fresh prover
    that adopts the sealed openings and replays the whole ledger agrees with
    every account."""
    from prover.custody.witness import WitnessStore

    sc = load_named_scenario("bad-debt")
    sim, days = run_scenario(tmp_path, sc, "normal", seed=b"reopen", reopen_every_step=True)
    compare_extended(sim, days, run_oracle(sc, "normal"))
    fresh = WitnessStore(sim.prover_sk, sim.prover_relay, sim.op_pk)
    fresh.adopt_openings(dict(sim.witness._known))
    fresh.follow(sim.engine.events())
    for m, acct in sim.accounts().items():
        fresh.check(m, acct)
        assert fresh.balances(m) == sim.witness.balances(m)


# -- cooling-off (issue 14 §4) ----------------------------------------------------------------
def test_cooling_off_limit_rule_equals_the_oracles():
    """The fold's limit (clearing.fold.default) against the oracle's own
    (clearing.ccp.oracle_waterfall, Fraction arithmetic) on random inputs."""
    from fractions import Fraction

    from clearing.ccp.oracle_waterfall import cooling_off_limit as oracle_limit
    from clearing.fold.default import cooling_off_limit

    rng = SeededRng(b"cooling-off")
    for _ in range(2000):
        cap, total = rng.randbelow(5), rng.randbelow(8)
        num, den = rng.randbelow(40), 1 + rng.randbelow(12)
        D0 = rng.randbelow(10**9)
        assert cooling_off_limit(cap, total, (num, den), D0) == oracle_limit(cap, total, Fraction(num, den), D0)
    assert cooling_off_limit(2, 3, (2, 1), 600_000) == 600_000 and cooling_off_limit(2, 3, (7, 2), 10) == 0


def _cooling_scenario():
    d = load_named_scenario("bad-debt").to_dict()
    d["ccp"].update(assessment_cap_multiple=2, cooling_off_cycles=3, assessment_total_cap_multiple=3)
    for v in d["variants"].values():
        v["settlement_prices"] = v["settlement_prices"][:2]
    return load_scenario(d)


def test_cooling_off_in_a_scenario_run_matches_the_oracle(tmp_path):
    """With the keys set, the engine and the oracle agree (the limit is
    reported; without replenishment it does not bind)."""
    sc = _cooling_scenario()
    oracle = run_oracle(sc, "normal")
    (ev,) = oracle.default_events
    assert ev.assessment_limit == 2 * ev.D0 and ev.assessments_capped
    sim, days = run_scenario(tmp_path, sc, "normal", seed=b"cooling")
    compare_extended(sim, days, oracle)
    assert sim.engine.state.books["cooling_off"] == {"until": 2 + 3, "used": [2, 1]}


def test_cooling_off_caps_a_second_default_after_replenishment(tmp_path):
    """Event 1 (cycle 2) assesses 2 * D0 (cap a = 2); the survivors refill
    their contributions in a funding window; event 2 (cycle 3, inside the
    3-cycle period) may assess only (a_total - 2) * D0 = D0 (a_total = 3):
    the rest of what it would have assessed joins tranche 8."""
    from fractions import Fraction

    from clearing.ccp.oracle_waterfall import cooling_off_limit as oracle_limit
    from clearing.ccp.scenario import scenario_matrix

    sc = _cooling_scenario()
    sim, _ = run_scenario(tmp_path, sc, "normal", seed=b"cooling-2")
    (rep1,) = sim.engine.default_reports()
    assert rep1["assessment_limit"] == 2 * rep1["D0"] and rep1["assessments_capped"]
    # the day-0 window closes; in the next one every member not in default refills 200,000
    sim.open_epoch()
    for m in ("B", "C", "D", "E"):
        sim.fund(m, 200_000)
    sim.open_epoch()
    # day 2: BTCF crashes to 60,000; E (long 10) cannot pay and is declared in default
    sim.settle([60000, 50500], scenario_matrix(sc))
    assert sim.margin()["E"] == "payment"
    sim.declare_default("E")
    sim.default_event([40000, 50500])
    rep2 = sim.engine.default_reports()[1]
    t = {x["tranche"]: x["amount"] for x in rep2["waterfall"]}
    D0 = rep2["D0"]
    assert D0 == 600_000 and rep2["survivors_default_fund_in_full"]
    assert rep2["assessment_limit"] == oracle_limit(2, 3, Fraction(2), D0) == D0 < 2 * D0
    assert rep2["assessments_capped"] and t["assessments"] + rep2["assessment_residual"] == D0
    assert t["vm_gains_haircut"] > 0        # what the limit cut went on to tranche 8
    assert rep2["loss"] == sum(t.values()) + rep2["rounding_residual"] + rep2["uncovered_loss"]
    assert sim.engine.state.books["cooling_off"] == {"until": 5, "used": [3, 1]}
    sim.engine.check_invariants()
    for m, acct in sim.accounts().items():
        sim.witness.check(m, acct)
