"""Default-fund sizing, Cover-2 adequacy and the operator's insolvency
declaration through the engine and the prover's custody (issue 14 §4):
honest windows before and after the first scenario set, the node's public
adequacy report (met and not met by how much), refusals (unsized, Cover-2
broken, a window closed before every sizing, forged proofs, mechanism off),
insolvency at any time (idempotent retry, bad signature, capped reason),
and the independent plaintext arithmetic of clearing.ccp.oracle_df_sizing."""
from __future__ import annotations

import pytest

from clearing.ccp.oracle_df_sizing import cover2_rows, sized_minimum_contribution
from clearing.protocol.df_sizing import MAX_REASON, SizingFiling, df_size_message, insolvency_message
from clearing.protocol.errors import FailedPrecondition, InvalidArgument
from clearing.protocol.fields import STATUS_DEFAULTED
from prover.custody.df_sizing import prove_df_size
from prover.custody.witness import Refused
from support.df_sizing import TAU, F, declare, make_sim, size
from support.engine import MATRIX


def onboard(sim, members, cash, df):
    for mid in members:
        sim.admit(mid)
        sim.deposit(mid, cash + df)
        sim.fund(mid, df)
        size(sim, mid)


def test_sized_windows_and_the_adequacy_report(tmp_path):
    sim = make_sim(tmp_path / "ledger.db")
    onboard(sim, ("A", "B", "C"), 10**8, 10**6)
    sim.open_epoch()
    assert sim.engine.cover2_report() == [
        {"epoch": 0, "cycle": 1, "required": 2 * TAU, "total": 3 * 10**6, "met": False, "shortfall": 3 * 10**6}]
    # trades build positions; after the first set the bound is the margin requirement
    sim.trade("t1", "A", "B", "ESX", 3, 500000)
    sim.settle([500000, 200000], MATRIX)
    sim.margin()
    sim.close()
    positions = {"A": [3, 0], "B": [-3, 0], "C": [0, 0]}
    # A's and B's sized minimum: f * IM (oracle arithmetic, not the rules module)
    need = {mid: sized_minimum_contribution(MATRIX, positions[mid], F) for mid in positions}
    assert need["A"] > 0 and need["B"] > 0 and need["C"] == 0
    sim.fund("A", need["A"])           # exactly f * IM: accepted
    size(sim, "A")
    sim.fund("B", need["B"] - 1)       # one minor unit short: the prover refuses
    with pytest.raises(Refused):
        size(sim, "B")
    # the window stays open until every member filed a sized contribution: next window
    sim.fund("C", 4 * 10**6)
    size(sim, "C")
    with pytest.raises(Refused):               # the prover opens no total before every sizing
        sim.open_epoch()
    assert sim.engine.state.epoch == 1


def test_window_closes_only_when_sized_and_report_met(tmp_path):
    sim = make_sim(tmp_path / "ledger.db", tau=10**6)
    for mid in ("A", "B", "C"):
        sim.admit(mid)
        sim.deposit(mid, 10**8 + 10**6)
        sim.fund(mid, 10**6)
    size(sim, "A")
    size(sim, "B")
    with pytest.raises(Refused):              # C filed its df-fund but not its sizing: no total opened
        sim.witness.epoch_total(sim.cycle, sim.accounts())
    # and the node refuses such a total too (a prover that opened it anyway)
    import prover.custody.witness as W
    saved = W.window_unsized
    W.window_unsized = lambda state, members: []
    try:
        early = sim.witness.epoch_total(sim.cycle, sim.accounts())
    finally:
        W.window_unsized = saved
    with pytest.raises(FailedPrecondition):
        sim.engine.open_epoch_total(early, "ep-early")
    size(sim, "C")
    with pytest.raises(FailedPrecondition):   # one sizing per member and window
        size(sim, "C")
    sim.open_epoch()
    report = sim.engine.cover2_report()
    assert report[-1]["met"] is True and report[-1]["required"] == 2 * 10**6 and report[-1]["shortfall"] == 0
    assert report == cover2_rows(10**6, [3 * 10**6], [0], [1])
    # the state keeps the sized list per window and folds the same after a reopen
    sim.reopen()
    assert sim.engine.cover2_report() == report


def test_cover2_refusal_and_forged_filings(tmp_path):
    sim = make_sim(tmp_path / "ledger.db", tau=0)
    for mid in ("A", "B"):
        sim.admit(mid)
        sim.deposit(mid, 10**8)
        sim.fund(mid, 10**6)
    sim.trade("t1", "A", "B", "ESX", 10**4, 500000)
    sim.deposit("A", 2 * 10**10)  # A covers its stress loss (10^10) with cash; B does not
    # B's stress loss beyond its cash: 10^4 * 20000 * 50 = 10^10 > cash + tau
    rid = sim.rid("size")
    sig = sim.members["B"].sign(df_size_message("B", 0, rid))
    with pytest.raises(Refused):
        prove_df_size(sim.witness, "B", 0, rid, sig, sim.engine.account("B"))
    # an honest filing of A replayed for B, or with its proofs swapped or cut, is refused
    rid_a = sim.rid("size")
    sig_a = sim.members["A"].sign(df_size_message("A", 0, rid_a))
    f = prove_df_size(sim.witness, "A", 0, rid_a, sig_a, sim.engine.account("A"))
    acct_b = sim.engine.account("B")
    forged = [
        (SizingFiling("B", 0, acct_b["version"], f.m, f.q, f.bound_proof, f.sizing_proof, f.cover2_proof), "B"),
        (SizingFiling("A", 0, f.ctx_seq, f.m, f.q, f.sizing_proof, f.bound_proof, f.cover2_proof), "A"),
        (SizingFiling("A", 0, f.ctx_seq, f.m, f.q, f.bound_proof, f.sizing_proof[:-1], f.cover2_proof), "A"),
        (SizingFiling("A", 0, f.ctx_seq, f.q, f.m, f.bound_proof, f.sizing_proof, f.cover2_proof), "A"),
        (SizingFiling("A", 0, f.ctx_seq, f.m, f.q, f.bound_proof, f.sizing_proof, f.cover2_proof[:-3]), "A"),
        (SizingFiling("A", 0, f.ctx_seq, f.m, f.q, f.bound_proof, f.sizing_proof, b""), "A"),
    ]
    for k, (filing, mid) in enumerate(forged):
        r = sim.rid("forged")
        with pytest.raises(InvalidArgument):
            sim.engine.size_default_fund(filing, sim.members[mid].sign(df_size_message(mid, 0, r)), r)
    with pytest.raises(InvalidArgument):  # the signature is the member's over this request id
        sim.engine.size_default_fund(f, sig_a, sim.rid("other"))
    res = sim.engine.size_default_fund(f, sig_a, rid_a)
    assert sim.engine.size_default_fund(f, sig_a, rid_a) == res  # idempotent retry


def test_mechanism_off_refuses_filings(tmp_path):
    sim = make_sim(tmp_path / "ledger.db", sizing=False, cover2=False)
    sim.admit("A")
    sim.deposit("A", 10**8)
    sim.fund("A", 10**6)
    f = SizingFiling("A", 0, sim.engine.account("A")["version"], b"", b"", b"", b"", b"")
    r = sim.rid("size")
    with pytest.raises(FailedPrecondition):
        sim.engine.size_default_fund(f, sim.members["A"].sign(df_size_message("A", 0, r)), r)
    assert "sized" not in sim.engine.state.books and "cover2" not in sim.engine.state.books


def test_cover2_only_filing(tmp_path):
    sim = make_sim(tmp_path / "ledger.db", sizing=False, tau=10**7)
    for mid in ("A", "B", "C"):
        sim.admit(mid)
        sim.deposit(mid, 10**7)
        sim.fund(mid, 10**7 // 2)
        size(sim, mid)
    sim.open_epoch()
    assert sim.engine.cover2_report()[-1] == {"epoch": 0, "cycle": 1, "required": 2 * 10**7,
                                              "total": 3 * 10**7 // 2, "met": False, "shortfall": 10**7 // 2}


def test_insolvency_declaration_at_any_time(tmp_path):
    sim = make_sim(tmp_path / "ledger.db", sizing=False, cover2=False)
    for mid in ("A", "B", "C", "D"):
        sim.admit(mid)
        sim.deposit(mid, 10**8 + 10**6)
        sim.fund(mid, 10**6)
    sim.trade("t1", "A", "B", "ESX", 2, 500000)
    with pytest.raises(InvalidArgument):   # signed over another reason
        declare(sim, "A", "court order", sig=sim.op(insolvency_message(sim.cycle, "A", "other")))
    with pytest.raises(InvalidArgument):
        declare(sim, "A", "x" * (MAX_REASON + 1))
    with pytest.raises(InvalidArgument):
        declare(sim, "A", "line\nbreak")
    with pytest.raises(InvalidArgument):
        declare(sim, "A", "")
    res = declare(sim, "A", "insolvency filing, court of Frankfurt", rid="ins-1")
    assert declare(sim, "A", "insolvency filing, court of Frankfurt", rid="ins-1") == res  # idempotent retry
    sim.sync()
    assert sim.engine.state.members["A"].status == STATUS_DEFAULTED
    assert sim.engine.state.books["insolvencies"] == [
        {"cycle": 1, "member": "A", "reason": "insolvency filing, court of Frankfurt"}]
    with pytest.raises(FailedPrecondition):
        declare(sim, "A", "again")
    # the default event runs as for a called member: disclosure, close-out, waterfall
    sim.default_event([500000, 200000])
    assert sim.engine.default_reports()[-1]["defaulters"][0]["member"] == "A"


def test_replenishment_after_a_default_restores_sized_contributions(tmp_path):
    """After a default consumed survivors' contributions (tranche 4) and the
    cooling-off period ended, the next window restores each survivor to at
    least f*IM; a survivor that does not file a sized contribution holds the
    window open until the operator declares it insolvent and its default
    event runs."""
    sim = make_sim(tmp_path / "ledger.db", tau=10**9, seed=b"replenish", cooling_off_cycles=1,
                   skin_in_the_game_2=10**12)      # SITG 2 absorbs what tranche 4 leaves: no assessments
    for mid, cash in (("A", 10**9), ("B", 10**9), ("C", 4 * 10**6), ("D", 2 * 10**6)):
        sim.admit(mid)
        sim.deposit(mid, cash + 10**6)
        sim.fund(mid, 10**6)
        size(sim, mid)
    sim.open_epoch()
    sim.trade("x1", "D", "A", "ESX", 100, 500000)       # D long 100 from A
    sim.trade("x2", "C", "B", "ESX", 1, 500000)          # C long 1 from B
    sim.settle([490000, 200000], MATRIX)                # D loses 5e7 > its cash
    assert sim.margin()["D"] == "payment"
    sim.declare_default("D")
    sim.default_event([480000, 200000])
    dfs = {m: sim.witness.balances(m)["df"] for m in ("A", "B", "C")}
    assert all(v < 10**6 for v in dfs.values())          # tranche 4 drew on every survivor
    sim.close()
    positions = {"A": [-100, 0], "B": [-1, 0], "C": [1, 0]}
    need = {m: sized_minimum_contribution(MATRIX, positions[m], F) for m in positions}
    for m in ("A", "B"):
        sim.fund(m, need[m])
        size(sim, m)
        assert sim.witness.balances(m)["df"] == need[m] >= dfs[m]
    # C files one minor unit below its sized level: its prover cannot make the sizing filing
    sim.fund("C", need["C"] - 1)
    with pytest.raises(Refused):
        size(sim, "C")
    with pytest.raises(Refused):                        # the window waits for C
        sim.open_epoch()
    declare(sim, "C", "did not replenish its default-fund contribution")
    sim.default_event([490000, 200000])
    sim.open_epoch()                                    # the window closes over A and B
    assert sim.engine.state.books["epochs"][-1]["members"] == ["A", "B"]
    assert sim.engine.cover2_report()[-1]["total"] == need["A"] + need["B"]


def test_sizing_under_an_expected_shortfall_set(tmp_path):
    """The bound m is proven under the set's model: with an ES set the sized
    minimum is f * ES (the oracle's own ES arithmetic), exact to the unit."""
    from clearing.ccp.oracle_df_sizing import es_requirement_own

    sim = make_sim(tmp_path / "ledger.db", cover2=False, seed=b"df-sizing-es")
    onboard(sim, ("A", "B", "C"), 10**8, 10**6)
    sim.open_epoch()
    sim.trade("t1", "A", "B", "ESX", 7, 500000)
    sim.trade("t2", "B", "A", "RTX", 5, 200000)
    es_rows = MATRIX[1:]
    sim.settle([500000, 200000], es_rows, model={"kind": "es", "k": 2})
    sim.margin()
    sim.close()
    for mid, pos in (("A", [7, -5]), ("B", [-7, 5])):
        need = -((-F[0] * es_requirement_own(es_rows, pos, 2)) // F[1])
        assert need > 0
        sim.fund(mid, need - 1 if mid == "B" else need)
        if mid == "B":
            with pytest.raises(Refused):
                size(sim, mid)
        else:
            size(sim, mid)
