"""The expected-shortfall margin model end to end in the engine (issue 13):
the operator's scenario set names its model and k, its id hashes them, the
node checks them; generated ES scenarios run through the node and the prover
(members called and cured, one defaulting) with the same public outcome as
the plaintext oracle to the minor unit; the wire form of a set round-trips."""
from __future__ import annotations

from hashlib import sha256 as _sha

import pytest

from clearing.api import admin_pb2, convert
from clearing.ccp import rules
from clearing.ccp.generate import generate_scenario
from clearing.ccp.historical import es_demo_scenario
from clearing.ccp.oracle import run_oracle
from clearing.ccp.scenario import builtin_scenario, scenario_matrix, scenario_model
from clearing.protocol import signing
from clearing.protocol.errors import InvalidArgument
from clearing.protocol.messages import scenario_set_id, settlement_message
from support.engine import MATRIX, basic_sim, compare_with_oracle, run_scenario
from zkp.errors import ProvingError

ES2 = {"kind": "es", "k": 2}


def _es_scenario(members, instruments, seed, window, hseed):
    return es_demo_scenario(generate_scenario(members, instruments, 4, 2, seed), window=window, alpha="0.9",
                            seed=hseed)


def _outcome(oracle):
    calls = [(d.day, c.member, c.kind) for d in oracle.days for c in d.calls]
    cures = [(d.day, c.member) for d in oracle.days for c in d.cures]
    return calls, cures, oracle.defaulted


def test_engine_equals_oracle_under_es(tmp_path):
    sc = _es_scenario(3, 1, 9, 16, 2)
    assert scenario_model(sc) == {"kind": "es", "k": 2}
    oracle = run_oracle(sc, "normal")
    calls, cures, defaulted = _outcome(oracle)
    # the interesting path: IM calls cured, a payment default
    assert {k for _, _, k in calls} == {"im", "payment"} and cures and defaulted == ["M01"]
    # ... and the ES requirement is not the scan's worst loss over the same rows
    A = scenario_matrix(sc)
    pos = list(oracle.days[1].positions["M02"].values())
    assert rules.es_requirement(A, pos, 2) < rules.requirement([[0], *A], pos)
    sim, days = run_scenario(tmp_path, sc, "normal")
    compare_with_oracle(sim, days, oracle)
    # the signed set names the model; its id covers it
    settles = [b for _, b in sim.engine.events() if b["kind"] == "settle"]
    ids = [i.id for i in sc.instruments]
    for b in settles:
        ss = b["scenario_set"]
        assert ss["model"] == {"kind": "es", "k": 2}
        assert ss["id"] == scenario_set_id(ss["version"], ids, ss["matrix"], ss["model"]).hex()
        assert ss["id"] != scenario_set_id(ss["version"], ids, ss["matrix"]).hex()


@pytest.mark.slow
def test_engine_equals_oracle_under_es_larger(tmp_path):
    sc = _es_scenario(4, 2, 14, 32, 1)
    oracle = run_oracle(sc, "normal")
    calls, cures, defaulted = _outcome(oracle)
    assert {k for _, _, k in calls} == {"im", "payment"} and len(cures) == 2 and defaulted == ["M01"]
    sim, days = run_scenario(tmp_path, sc, "normal")
    compare_with_oracle(sim, days, oracle)


# -- the set id and the node's checks ----------------------------------------------------
def test_set_id_of_a_scan_set_is_unchanged_and_es_ids_bind_k():
    ids = ["ESX", "RTX"]
    legacy = _sha(signing.encode_tuple("scenario-set", [("version", 0), ("instruments", ids),
                                                         ("matrix", MATRIX)])).digest()
    assert scenario_set_id(0, ids, MATRIX) == legacy == scenario_set_id(0, ids, MATRIX, {"kind": "scan"})
    es = {scenario_set_id(0, ids, MATRIX, {"kind": "es", "k": k}) for k in (1, 2, 3, 4)}
    assert len(es) == 4 and legacy not in es


def _settle_raw(sim, ss, prices=(500000, 200000)):
    sid = bytes.fromhex(ss["id"])
    return sim.engine.settle(sim.cycle, list(prices), ss, sim.op(settlement_message(sim.cycle, list(prices), sid)),
                             sim.rid("settle"))


def _ss(matrix, model, version=0, ids=("ESX", "RTX"), id_model="same"):
    sid = scenario_set_id(version, list(ids), matrix, model if id_model == "same" else id_model)
    out = {"version": version, "matrix": [list(r) for r in matrix], "id": sid.hex()}
    if model is not None:
        out["model"] = model
    return out


ROWS = [[-10000 * 50, -5000 * 20], [10000 * 50, 5000 * 20], [5000 * 50, -5000 * 20]]   # no no-move row


@pytest.mark.parametrize("ss, msg", [
    (_ss(ROWS, {"kind": "es", "k": 0}), r"ES tail count k"),
    (_ss(ROWS, {"kind": "es", "k": 4}), r"ES tail count k"),
    (_ss(ROWS, {"kind": "es", "k": -1}), r"ES tail count k"),
    (_ss(ROWS, {"kind": "var", "k": 1}), r"model is 'es' with k, or absent"),
    (_ss(ROWS, {"kind": "scan", "k": 0}), r"model is 'es' with k, or absent"),
    (_ss(ROWS, ES2, id_model=None), r"id is not the hash"),                      # id without the model
    (_ss(ROWS, ES2, id_model={"kind": "es", "k": 1}), r"id is not the hash"),    # id of another k
    (_ss(ROWS, None), r"scenario 0 must be the no-move scenario"),               # a scan set needs row 0
])
def test_node_refuses_bad_model_sets(tmp_path, ss, msg):
    sim = basic_sim(tmp_path)
    with pytest.raises(InvalidArgument, match=msg):
        _settle_raw(sim, ss)


def test_node_refuses_a_model_field_of_the_wrong_shape(tmp_path):
    sim = basic_sim(tmp_path)
    for model in ({"kind": "es"}, {"kind": "es", "k": 2, "alpha": "0.9"}, {"kind": "es", "k": "2"}):
        ss = _ss(ROWS, ES2)
        ss["model"] = model
        with pytest.raises(InvalidArgument):
            _settle_raw(sim, ss)


def test_es_set_accepted_then_a_version_names_one_model(tmp_path):
    sim = basic_sim(tmp_path)
    sim.settle([500000, 200000], ROWS, model=ES2)
    assert sim.engine.state.scenario_set["model"] == ES2
    margin = sim.margin()
    assert set(margin.values()) == {"pass"}          # flat members: ES 0, cash >= 0
    sim.close()
    # the same version with another k (or as a scan set) is refused; a new version may change it
    with pytest.raises(InvalidArgument, match="names one matrix and model only"):
        _settle_raw(sim, _ss(ROWS, {"kind": "es", "k": 3}))
    with pytest.raises(InvalidArgument, match="names one matrix and model only"):
        _settle_raw(sim, _ss([[0, 0], *ROWS], None))
    sim.settle([500000, 200000], [[0, 0], *ROWS], version=1)
    assert "model" not in sim.engine.state.scenario_set


def test_es_margin_classifies_call_and_pass_to_the_minor_unit(tmp_path):
    """Members pass or are called by their ES, not the worst loss; a called
    member one minor unit short after its deposit still cannot prove."""
    sim = basic_sim(tmp_path, cash=10**8)
    sim.trade("t1", "A", "B", "ESX", 200, 500000)         # A long 200 ESX, B short 200
    rows = [[-5 * 10**5, 0], [5 * 10**5, 0], [2 * 10**5 + 5 * 10**4, 0]]
    sim.settle([500000, 200000], rows, model=ES2)
    # A: losses 1e8, -1e8, -5e7 -> ES (1e8 - 5e7) / 2 = 2.5e7 <= 1e8 (the worst loss alone would be 1e8);
    # B: losses -1e8, 1e8, 5e7 -> ES 7.5e7 <= 1e8
    assert sim.margin() == {"A": "pass", "B": "pass", "C": "pass"}
    sim.close()
    sim.trade("t2", "A", "C", "ESX", 400, 500000)         # A long 600
    rows2 = [[-5 * 10**5, 0], [-4 * 10**5, 0], [5 * 10**5, 0]]
    sim.settle([500000, 200000], rows2, version=1, model=ES2)
    # A: losses 3e8, 2.4e8, -3e8 -> ES 2.7e8 > cash 1e8 >= 0: an IM call of 1.7e8
    assert sim.margin() == {"A": "call", "B": "pass", "C": "pass"}
    bal = sim.witness.balances("A")
    assert rules.es_requirement(rows2, bal["pos"], 2) - bal["cash"] == 17 * 10**7
    with pytest.raises(ProvingError):
        sim.cure("A", 17 * 10**7 - 1)                      # one minor unit short
    sim.cure("A", 1)
    assert sim.engine.account("A")["status"] == "active"


# -- the wire form ------------------------------------------------------------------------
def test_wire_scenario_set_round_trips_with_the_model():
    ids = ["ESX", "RTX"]
    msg = convert.scenario_set_msg(3, ROWS, ES2)
    assert (msg.model, msg.k) == ("es", 2)
    ss = convert.scenario_set(msg, ids)
    assert ss == {"version": 3, "matrix": ROWS, "id": scenario_set_id(3, ids, ROWS, ES2).hex(), "model": ES2}
    scan = convert.scenario_set(convert.scenario_set_msg(3, MATRIX), ids)
    assert "model" not in scan and scan["id"] == scenario_set_id(3, ids, MATRIX).hex()
    assert convert.scenario_set(convert.scenario_set_msg(3, MATRIX, {"kind": "scan"}), ids) == scan
    explicit = admin_pb2.ScenarioSet(version=3, rows=msg.rows, model="scan")
    assert convert.scenario_set(explicit, ids) == convert.scenario_set(admin_pb2.ScenarioSet(version=3, rows=msg.rows),
                                                                      ids)


@pytest.mark.parametrize("model, k, msg", [("var", 2, "model must be 'scan' or 'es'"), ("ES", 2, "model must be"),
                                           ("", 2, "the scan model has no k"), ("scan", 1, "no k")])
def test_wire_scenario_set_rejects_bad_models(model, k, msg):
    bad = admin_pb2.ScenarioSet(version=0, rows=[admin_pb2.ScenarioSet.Row(pnl=r) for r in ROWS], model=model, k=k)
    with pytest.raises(convert.ConversionError, match=msg):
        convert.scenario_set(bad, ["ESX", "RTX"])


def test_demo_scenario_has_an_es_variant_and_the_default_is_unchanged():
    sc = builtin_scenario()
    assert scenario_model(sc) == {"kind": "scan"}
    es = es_demo_scenario(sc)
    assert scenario_model(es) == {"kind": "es", "k": 13} and es.margin_scenarios.count == 500


@pytest.mark.parametrize("tamper", ["k", "drop-model", "matrix"])
def test_prover_refuses_a_set_its_signed_id_does_not_name(tmp_path, tamper):
    """The margin statements bind the set by its id: the prover's custody
    re-derives the id from the matrix and model it is shown."""
    import copy

    from prover.custody.witness import Divergence

    sim = basic_sim(tmp_path)
    _settle_raw(sim, _ss(ROWS, ES2))                       # not yet followed by the prover
    events = copy.deepcopy(list(sim.engine.events(sim.witness.state.seq)))
    (settle,) = [b for _, b in events if b["kind"] == "settle"]
    if tamper == "k":
        settle["scenario_set"]["model"]["k"] = 1
    elif tamper == "drop-model":
        del settle["scenario_set"]["model"]
    else:
        settle["scenario_set"]["matrix"][0][0] += 1
    with pytest.raises(Divergence, match="not the one its signed id names"):
        sim.witness.follow(events)
    sim.sync()                                             # the true events are followed
    assert sim.witness.state.scenario_set["model"] == ES2
