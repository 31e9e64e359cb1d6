"""Intraday margin runs on operator-signed marks (issue 14 §1, last sentence;
clearing.protocol.intraday) through the engine harness: the operator's
``intraday`` marks, the prover's ``intraday-batch`` over the derived set,
H reset under a pre-trade set, calls raised and cured on the intraday
basis, the basis cleared by the next settle.

Numbers (tests/support/engine.py): ESX multiplier 50, tick 25, settlement
price 500,000; w_ESX = 500,000 per contract; a mark of 510,000 shifts ESX's
P&L by u = +500,000 per contract, 480,000 by u = -1,000,000.  D has
1,000,000 of cash and buys 1 ESX from C at 500,000 (H_D = 500,000 left).
"""
from __future__ import annotations

import pytest

from clearing.fold import intraday as intraday_fold
from clearing.protocol import intraday, signing
from clearing.protocol.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from clearing.protocol.fields import PROVER
from clearing.protocol.statements import margin_statement
from prover.custody.witness import Refused
from prover.statements import prove
from support.engine import INSTRUMENTS, MATRIX, basic_sim
from support.intraday import book_batch, book_marks, intraday_run
from verifier.statements import verify
from zkp.errors import DecodeError, VerificationError
from zkp.generators import generators
from zkp.statements import StatementProof

PRICES = [i["price0"] for i in INSTRUMENTS]
W_ESX = 500_000
UP = [510_000, PRICES[1]]      # u_ESX = +500,000
DOWN = [490_000, PRICES[1]]    # u_ESX = -500,000
CRASH = [480_000, PRICES[1]]   # u_ESX = -1,000,000


def _value(sim, mid) -> int:
    node, op = sim.engine.state.members[mid].headroom, sim.witness.state.members[mid].headroom
    assert node == generators().commit(op.value, op.blinding)
    return op.value


_marks, _batch, _run = book_marks, book_batch, intraday_run


def _submit(sim, tid, buyer, seller, qty, price):
    sim.submit(tid, buyer, seller, "ESX", qty, price)
    sim.affirm_by(seller, tid)


def _receipt(sim, tid):
    return sim.push_receipt(tid)


def _sim(tmp_path, pretrade=True, seed=b"intraday", **settle):
    """A, B, C with 10^9 cash, D with 10^6; one margin run; cycle 2 (trading)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    s = basic_sim(tmp_path, seed=seed)
    s.admit("D")
    s.deposit("D", 1_000_000 + 10_000)
    s.fund("D", 10_000)
    s.settle(PRICES, MATRIX, pretrade=pretrade, **settle)
    s.margin()
    s.close()
    return s


def _with_trade(s):
    assert s.trade("t0", "D", "C", "ESX", 1, PRICES[0])["status"] == "novated"
    assert _value(s, "D") == 1_000_000 - W_ESX
    return s


@pytest.fixture
def sim(tmp_path):
    """A fresh ledger per test (the tests that book intraday events)."""
    return _with_trade(_sim(tmp_path))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """One ledger shared by the tests that only read it (refusals leave it unchanged)."""
    return _with_trade(_sim(tmp_path_factory.mktemp("intraday-base"), seed=b"intraday-base"))


def test_marks_in_favour_reset_headroom_and_allow_a_trade(sim):
    _submit(sim, "t1", "D", "C", 2, PRICES[0])  # needs 1,000,000 at c_i, D has 500,000
    with pytest.raises(Refused):
        sim.witness.receive_opening("t1", sim.engine.relayed("t1", PROVER))
    sim.reopen_every_step = True  # the new events replay to the same state and digests
    assert _run(sim, UP) == {"A": "pass", "B": "pass", "C": "pass", "D": "pass"}
    # derived rows for D (cash 10^6, long 1): 10^6, 1.5*10^6, 10^6, 2*10^6, 1.75*10^6 -> H = 10^6
    assert _value(sim, "D") == 1_000_000
    # the debit's VM at the mark: (510,000 - 500,000)*50 = w_ESX, so buying at 500,000 costs no headroom
    assert _receipt(sim, "t1")["status"] == "novated"
    assert sim.engine.trade("t1")["headroom_debit"] == [W_ESX, W_ESX]
    assert _value(sim, "D") == 1_000_000
    assert sim.witness.balances("D")["cash"] == 1_000_000  # the cash VM stays at c_i: (c_i - p)*m*q = 0
    # a withdrawal while the basis is in force is proven and verified on the derived set
    sim.withdraw("A", 1_000)
    body = [b for _, b in sim.engine.events() if b["kind"] == "withdraw"][-1]
    a = sim.engine.state.members["A"]
    from clearing.protocol.messages import withdrawal_message
    from clearing.protocol.statements import withdrawal_statement
    msg = signing.encode_tuple(*withdrawal_message("A", 1_000, sim.cycle, body["request_id"]))
    before = a.cash + generators().commit(1_000, 0)
    on_basis = withdrawal_statement(sim.cycle, body["ctx_seq"], "A", before, a.pos,
                                   intraday_fold.margin_basis(sim.engine.state), 1_000, msg)
    verify(on_basis, StatementProof.from_bytes(bytes.fromhex(body["proof"]), on_basis))
    plain = withdrawal_statement(sim.cycle, body["ctx_seq"], "A", before, a.pos, sim.engine.state.scenario_set,
                                 1_000, msg)
    with pytest.raises((VerificationError, DecodeError)):
        verify(plain, StatementProof.from_bytes(bytes.fromhex(body["proof"]), plain))


@pytest.mark.slow
def test_marks_against_reset_headroom_and_refuse_a_trade(sim):
    _submit(sim, "t2", "D", "C", 1, DOWN[0])  # at the settlement price it would cost 500,000 = H_D
    assert _run(sim, DOWN)["D"] == "pass"
    assert _value(sim, "D") == 0  # row 1 - u: 10^6 - 500,000 - 500,000
    with pytest.raises(Refused):
        sim.witness.receive_opening("t2", sim.engine.relayed("t2", PROVER))


def test_call_intraday_cured_on_the_basis_then_cleared_by_settle(sim):
    assert _run(sim, CRASH)["D"] == "call"  # cash >= 0 but 10^6 - 10^6 - 500,000 < 0
    assert sim.engine.state.members["D"].status == "call"
    assert sim.engine.state.members["D"].headroom.is_identity()
    # the cure proof is built on the intraday basis (a proof on the signed set would not verify)
    sim.cure("D", 500_000)
    assert sim.engine.state.members["D"].status == "active"
    body = [b for _, b in sim.engine.events() if b["kind"] == "margin-cure"][-1]
    derived = intraday_fold.margin_basis(sim.engine.state)
    assert derived["id"] != sim.engine.state.scenario_set["id"]
    a = sim.engine.state.members["D"]
    plain = margin_statement(sim.cycle, a.version, "D", a.cash, a.pos, sim.engine.state.scenario_set)
    with pytest.raises((VerificationError, DecodeError)):  # S + 1 rows on the basis: not even its shape
        verify(plain, StatementProof.from_bytes(bytes.fromhex(body["proof"]), plain))
    sim.settle(PRICES, MATRIX, pretrade=True)
    assert intraday_fold.basis(sim.engine.state) is None
    assert intraday_fold.margin_basis(sim.engine.state) is sim.engine.state.scenario_set
    assert intraday_fold.basis(sim.witness.state) is None
    with pytest.raises(FailedPrecondition, match="trading phase"):  # not in the margin phase
        _marks(sim, UP, run=1)
    with pytest.raises(Refused):
        sim.witness.intraday_batch(sim.cycle, 1, sim.accounts())


@pytest.mark.slow
def test_runs_are_numbered_and_replayed(sim):
    rid = sim.rid("intraday")
    first = _marks(sim, UP, rid=rid)
    assert _marks(sim, UP, run=1, rid=rid) == first  # a replayed request id: the recorded result
    with pytest.raises(AlreadyExists):
        _marks(sim, DOWN, run=1, rid=rid)
    with pytest.raises(FailedPrecondition, match="awaits its batch"):
        _marks(sim, UP, run=2)
    e1 = sim.witness.intraday_batch(sim.cycle, 1, sim.accounts())
    assert sim.witness.intraday_batch(sim.cycle, 1, sim.accounts()) == e1  # recorded: the same H commitments
    from clearing.protocol import events as ev
    entries, bsig = e1
    honest = {"A": "pass", "B": "pass", "C": "pass", "D": "pass"}
    forged = ev.IntradayBatch(cycle=sim.cycle, run=1, entries=entries, results=dict(honest, D="call"),
                              request_id="forged", sig=bsig.hex())
    with pytest.raises(InvalidArgument, match="do not match"):
        sim.engine.verify_event(forged)
    tampered = [dict(x) for x in entries]
    tampered[0]["ctx_seq"] += 1
    for bad in (ev.IntradayBatch(cycle=sim.cycle, run=1, entries=tampered, results=honest, request_id="t",
                                 sig=bsig.hex()),
                ev.IntradayBatch(cycle=sim.cycle, run=1, entries=entries, results=honest, request_id="t",
                                 sig=signing.sign(sim.op_sk, *intraday.batch_message(sim.cycle, 1, entries)).hex())):
        with pytest.raises(InvalidArgument, match="signature"):
            sim.engine.verify_event(bad)
    with pytest.raises(FailedPrecondition, match="awaits its batch"):
        sim.engine.verify_event(ev.IntradayBatch(cycle=sim.cycle, run=2, entries=entries, results=honest,
                                                 request_id="t", sig=bsig.hex()))
    bid = sim.rid("intraday-batch")
    results = sim.engine.submit_intraday_batch(sim.cycle, 1, *e1, bid)
    assert sim.engine.submit_intraday_batch(sim.cycle, 1, *e1, bid) == results  # replayed
    sim.sync()
    results = results["results"]
    run1 = sim.witness.intraday_batch  # the prover refuses a batch the ledger does not await
    with pytest.raises(Refused):
        run1(sim.cycle, 1, sim.accounts())
    with pytest.raises(FailedPrecondition, match="next intraday run"):
        _marks(sim, UP, run=3)
    with pytest.raises(FailedPrecondition, match="next intraday run"):
        _marks(sim, UP, run=1)
    assert _run(sim, DOWN) == results
    assert intraday_fold.basis(sim.engine.state)["run"] == 2


@pytest.mark.parametrize("marks, match", [
    ([510_000], "one intraday mark per instrument"),
    ([510_000, PRICES[1], 1], "one intraday mark per instrument"),
    ([0, PRICES[1]], "positive"),
    ([-25, PRICES[1]], "positive"),
    ([510_010, PRICES[1]], "tick"),
])
def test_malformed_marks_refused(base, marks, match):
    with pytest.raises(InvalidArgument, match=match):
        _marks(base, marks, run=1, sig=b"\0" * 64)


def test_wrong_run_number_refused(base):
    sid = bytes.fromhex(base.engine.state.scenario_set["id"])
    for run in (0, 2):
        with pytest.raises((FailedPrecondition, InvalidArgument), match="run"):
            _marks(base, UP, run=run, sig=base.op(intraday.intraday_message(base.cycle, run, UP, sid)))
    with pytest.raises(FailedPrecondition, match="cycle"):
        base.engine.intraday(base.cycle + 1, 1, UP, b"\0" * 64, base.rid("intraday"))
    with pytest.raises(Refused):  # the prover proves no run the ledger does not await
        base.witness.intraday_batch(base.cycle, 1, base.accounts())
    assert intraday_fold.basis(base.engine.state) is None


def test_signature_covers_marks_run_and_set(base):
    sim = base
    sid = bytes.fromhex(sim.engine.state.scenario_set["id"])
    for sig in (b"\0" * 64, sim.op(intraday.intraday_message(sim.cycle, 1, DOWN, sid)),
                sim.op(intraday.intraday_message(sim.cycle, 2, UP, sid)),
                sim.op(intraday.intraday_message(sim.cycle, 1, UP, bytes(32))),
                signing.sign(sim.prover_sk, *intraday.intraday_message(sim.cycle, 1, UP, sid))):
        with pytest.raises(InvalidArgument, match="signature"):
            _marks(sim, UP, run=1, sig=sig)
    assert intraday_fold.basis(sim.engine.state) is None


def test_before_any_settle(tmp_path):
    s = basic_sim(tmp_path, seed=b"intraday-noset")
    with pytest.raises(FailedPrecondition, match="after a settle"):
        s.engine.intraday(s.cycle, 1, UP, b"\0" * 64, s.rid("intraday"))


@pytest.mark.slow
def test_es_and_maintenance_sets_refused(tmp_path):
    es = _sim(tmp_path / "es", pretrade=False, seed=b"intraday-es", model={"kind": "es", "k": 2})
    with pytest.raises(InvalidArgument, match="scan model only"):
        _marks(es, UP, run=1)
    mm = _sim(tmp_path / "mm", pretrade=False, seed=b"intraday-mm",
              maintenance={"num": 4, "den": 5, "penalty_bps": 100})
    with pytest.raises(InvalidArgument, match="maintenance"):
        _marks(mm, UP, run=1)


@pytest.mark.slow
def test_batch_on_the_signed_set_is_refused(sim):
    """Proofs on the unshifted set (or another run's marks) are no proofs:
    every member is a payment candidate and a member's H proof fails."""
    _marks(sim, UP)
    entries = []
    for mid in sorted(sim.witness.state.members):
        a = sim.witness.state.members[mid]
        cash, pos = sim.witness._commitments(a)
        st = margin_statement(sim.cycle, a.version, mid, cash, pos, sim.engine.state.scenario_set)
        entries.append({"member": mid, "solvency_only": False, "ctx_seq": a.version,
                        "proof": prove(st, [a.cash, *a.pos], rng=sim.rng).to_bytes().hex()})
    sig = signing.sign(sim.prover_sk, *intraday.batch_message(sim.cycle, 1, entries))
    res = sim.engine.submit_intraday_batch(sim.cycle, 1, entries, sig, sim.rid("intraday-batch"))
    assert set(res["results"].values()) == {"payment"}
    sim.sync()
    assert all(a.headroom.is_identity() for a in sim.engine.state.members.values())


def test_every_public_input_of_the_statement_binds(base):
    sim = base
    s = sim.engine.state
    derived = intraday.derived_set(s.scenario_set, s.cfg()["instruments"], s.prices, sim.cycle, 1, UP)
    a = s.members["D"]
    wa = sim.witness.state.members["D"]
    st = margin_statement(sim.cycle, a.version, "D", a.cash, a.pos, derived)
    proof = prove(st, [wa.cash, *wa.pos], rng=sim.rng)
    verify(st, proof)
    insts = s.cfg()["instruments"]
    other_marks = intraday.derived_set(s.scenario_set, insts, s.prices, sim.cycle, 1, DOWN)
    other_run = intraday.derived_set(s.scenario_set, insts, s.prices, sim.cycle, 2, UP)
    same_matrix_other_id = dict(derived, id=other_marks["id"])
    other_matrix_same_id = dict(other_marks, id=derived["id"])
    for bad in (other_marks, other_run, same_matrix_other_id, other_matrix_same_id, s.scenario_set):
        st2 = margin_statement(sim.cycle, a.version, "D", a.cash, a.pos, bad)
        with pytest.raises(VerificationError if len(bad["matrix"]) == len(derived["matrix"]) else DecodeError):
            verify(st2, StatementProof.from_bytes(proof.to_bytes(), st2))
    assert derived["id"] == intraday.derived_id(bytes.fromhex(s.scenario_set["id"]), sim.cycle, 1, s.prices,
                                                UP).hex()


def test_derived_set_rules():
    ss = {"version": 3, "matrix": MATRIX, "id": "11" * 32, "pretrade": True}
    d = intraday.derived_set(ss, INSTRUMENTS, PRICES, 2, 1, UP)
    assert d["matrix"][0] == [0, 0] and d["matrix"][1] == [W_ESX, 0]
    assert d["matrix"][2] == [MATRIX[1][0] + W_ESX, MATRIX[1][1]]
    assert d["pretrade"] is True and d["version"] == 3 and len(d["matrix"]) == len(MATRIX) + 1
    with pytest.raises(InvalidArgument, match="scan model only"):
        intraday.derived_set(dict(ss, model={"kind": "es", "k": 1}), INSTRUMENTS, PRICES, 2, 1, UP)
