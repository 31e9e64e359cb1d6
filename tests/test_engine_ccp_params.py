"""The operator's ``ccp-params`` event: new skin-in-the-game tranches and
assessment cap multiple -- applied in the fold, replayed after reopen,
re-verified by the auditor, refused when unsigned, out of range or during a
default, applied once per request id, and used by a later default event
exactly as the oracle's ``mutual_waterfall`` computes on the new values."""
from __future__ import annotations

import pytest

from clearing.ccp.oracle import mutual_waterfall
from clearing.node.audit import audit
from clearing.node.engine import Engine
from clearing.protocol import signing
from clearing.protocol.errors import AlreadyExists, FailedPrecondition, InvalidArgument, LedgerCorrupted
from clearing.protocol.messages import CCP_PARAMETERS, book_lots, ccp_parameters_message, closeout_message
from support.engine import Sim

ONE = [{"id": "F", "multiplier": 10, "tick": 1, "price0": 100000}]
MATRIX1 = [[0], [-5000 * 10]]
OLD = {"skin_in_the_game_1": 1_000_000, "skin_in_the_game_2": 0, "assessment_cap_multiple": 2}
NEW = (500_000, 200_000, 1)


def unchanged(sim):
    return sim.engine.state.seq, sim.engine.state_digest()


def set_params(sim, values, rid=None, key=None, cycle=None):
    rid = rid or sim.rid("params")
    cycle = sim.cycle if cycle is None else cycle
    msg = ccp_parameters_message(cycle, *values, rid)
    sig = sim.op(msg) if key is None else signing.sign(key, *msg)
    res = sim.engine.set_ccp_parameters(cycle, *values, sig, rid)
    sim.sync()
    return res


def ccp_now(sim):
    b = sim.engine.state.books
    return b["sitg1"], b["sitg2"], sim.engine.state.config["ccp"]["assessment_cap_multiple"]


def test_parameter_requests_are_checked(tmp_path):
    sim = Sim(tmp_path / "l.db", ONE, OLD, seed=b"ccp-neg")
    sim.admit("A")
    before = unchanged(sim)
    with pytest.raises(InvalidArgument):  # signed by a member, not the operator
        set_params(sim, NEW, key=sim.members["A"].sk)
    for bad in ((1 << 63, 0, 1), (0, 1 << 63, 1), (-1, 0, 1), (0, -1, 1), (0, 0, 256), (0, 0, -1), (True, 0, 1)):
        with pytest.raises(InvalidArgument):
            set_params(sim, bad)
    with pytest.raises(FailedPrecondition):
        set_params(sim, NEW, cycle=2)
    # the operator's signature binds the request id: not reusable under another id
    msg = ccp_parameters_message(sim.cycle, *NEW, "p-1")
    with pytest.raises(InvalidArgument):
        sim.engine.set_ccp_parameters(sim.cycle, *NEW, sim.op(msg), "p-2")
    assert unchanged(sim) == before and ccp_now(sim) == (1_000_000, 0, 2)
    # the bounds are inclusive of 0 and 2^63 - 1, 255
    set_params(sim, ((1 << 63) - 1, 0, 255))
    assert ccp_now(sim) == ((1 << 63) - 1, 0, 255)


def test_parameters_applied_replayed_audited_and_used_by_a_later_default(tmp_path):
    sim = Sim(tmp_path / "l.db", ONE, OLD, seed=b"ccp-params")
    for mid, cash, df in (("D", 5_000_000, 1_000_000), ("S1", 10_000_000, 50_000),
                          ("S2", 10_000_000, 100_000), ("S3", 10_000_000, 100_000)):
        sim.admit(mid)
        sim.deposit(mid, cash + df)
        sim.fund(mid, df)
    for s, q in (("S1", 40), ("S2", 30), ("S3", 30)):
        sim.trade(f"t-{s}", "D", s, "F", q, 100000)

    # applied; a repeated request id is applied once, other content under it refused
    msg = ccp_parameters_message(sim.cycle, *NEW, "params-1")
    sig = sim.op(msg)
    r1 = sim.engine.set_ccp_parameters(sim.cycle, *NEW, sig, "params-1")
    after = unchanged(sim)
    assert sim.engine.set_ccp_parameters(sim.cycle, *NEW, sig, "params-1") == r1
    assert unchanged(sim) == after
    other = sim.op(ccp_parameters_message(sim.cycle, 1, 2, 3, "params-1"))
    with pytest.raises(AlreadyExists):
        sim.engine.set_ccp_parameters(sim.cycle, 1, 2, 3, other, "params-1")
    sim.sync()
    assert ccp_now(sim) == NEW
    assert sim.engine.state.config["ccp"] == dict(zip(CCP_PARAMETERS, NEW))
    assert [b["kind"] for _, b in sim.engine.events()].count("ccp-params") == 1

    # D is short after the settlement: declared in default
    sim.settle([94000], MATRIX1)
    assert sim.margin()["D"] == "payment"
    sim.declare_default("D")
    before = unchanged(sim)
    with pytest.raises(FailedPrecondition, match="default event"):  # declared, event not yet opened
        set_params(sim, (0, 0, 0))
    kw = sim.witness.default_open(sim.cycle, sim.accounts())
    index = sim.engine.dm_open(kw, sim.rid("dm-open"))["index"]
    sim.sync()
    with pytest.raises(FailedPrecondition, match="default event"):  # event in progress
        set_params(sim, (0, 0, 0))
    assert ccp_now(sim) == NEW and unchanged(sim) != before
    disclosed = sim.engine.state.dm["disclosed"]
    lots = book_lots({m: d["pos"] for m, d in disclosed.items()}, sim.engine.state.instrument_ids())
    need = sim.engine.dm_closeout(sim.cycle, index, [91000], lots,
                                  sim.op(closeout_message(sim.cycle, index, [91000], lots)),
                                  sim.rid("dm-close"))["need"]
    sim.sync()
    while need:  # tranche 8 (issue 14) asks for the haircut after the gains
        need = sim.engine.dm_shares(sim.witness.default_shares(sorted(need)[0]), sim.rid("dm-shares"))["need"]
        sim.sync()
    assert sim.engine.state.dm is None

    # the waterfall ran on the new SITG and cap, as the oracle computes it
    rep = sim.engine.default_reports()[0]
    tr = {t["tranche"]: t["amount"] for t in rep["waterfall"]}
    mw = mutual_waterfall(rep["R"], [rep["D0"]], *NEW)
    assert rep["D0"] == 250_000 and rep["R"] > 0
    assert (rep["skin_in_the_game_1_before"], rep["skin_in_the_game_2_before"]) == NEW[:2]
    assert tr["skin_in_the_game_1"] == mw.skin_in_the_game_1
    assert tr["survivors_default_fund"] + rep["default_fund_residual"] == mw.survivors_default_fund
    assert tr["skin_in_the_game_2"] == mw.skin_in_the_game_2
    assert tr["assessments"] + rep["assessment_residual"] == mw.assessments
    assert rep["assessments_capped"] == mw.assessments_capped
    # what the assessments leave is haircut from the survivors' VM gains first (issue 14)
    assert rep["uncovered_loss"] + tr["vm_gains_haircut"] + rep["vm_gains_residual"] == mw.uncovered_loss
    assert (rep["skin_in_the_game_1_after"], rep["skin_in_the_game_2_after"]) == \
        (NEW[0] - mw.skin_in_the_game_1, NEW[1] - mw.skin_in_the_game_2)
    assert mw != mutual_waterfall(rep["R"], [rep["D0"]], *OLD.values())  # the new values mattered

    # replayed after reopen (also through every check), and audited
    state = (sim.engine.state.seq, sim.engine.head, sim.engine.state_digest(), ccp_now(sim))
    sim.reopen()
    assert (sim.engine.state.seq, sim.engine.head, sim.engine.state_digest(), ccp_now(sim)) == state
    sim.engine.close()
    sim.engine = Engine.open(sim.path, sim.node_sk, verify_proofs=True)
    assert sim.engine.state_digest() == state[2]
    events = sim.engine.events()
    rep_audit = audit(events, operator_key=sim.op_pk, node_key=signing.public_key_bytes(sim.node_sk))
    assert rep_audit.head == sim.engine.head.hex()

    # the auditor re-verifies the operator's signature on the event
    k = next(i for i, (_, b) in enumerate(events) if b["kind"] == "ccp-params")
    seq, body = events[k]
    forged = dict(body, op_sig=sim.op(ccp_parameters_message(body["cycle"], 1, 2, 3, body["request_id"])).hex())
    with pytest.raises(LedgerCorrupted, match="ccp-params"):
        audit(events[:k] + [(seq, forged)] + events[k + 1:])
