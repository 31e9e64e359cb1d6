"""The typed events and their one parse step (clearing.protocol.events).

* Round trip on real ledgers: every event of both variants of the built-in
  scenario and of the small ledger with the remaining kinds
  (``support.privacy.extra_ops_run``) parses to its kind's class and
  ``to_body()`` gives back exactly the stored body -- the same dict, the
  same canonical bytes, the same hash chain -- so typing the events cannot
  change the ledger.  Together the three ledgers hold every kind.
* A property test: the sample body of every kind with each scalar replaced
  by a random value of the same JSON type still round-trips.
* Rejections, for every kind and every field: a missing field, an extra
  field, a wrong type, a bool where an int is due -- each InvalidArgument
  naming the kind and the field; nested objects likewise; unknown kinds.
* The event registry, the node's phase registry of checks and the fold's
  registry name the same kinds; the node, the auditor and the prover's
  witness store refuse a malformed ledger event.
"""
from __future__ import annotations

import dataclasses
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.fold.apply import FOLDS
from clearing.node.audit import audit
from clearing.node.core import CHECKS, Core
from clearing.protocol import events as ev
from clearing.protocol.encoding import GENESIS_HASH, canonical, chain_hash
from clearing.protocol.errors import InvalidArgument, LedgerCorrupted
from clearing.protocol.events import EVENTS, parse
from prover.custody.witness import Divergence, WitnessStore
from support import privacy as P
from support.df_sizing import sized_ledger_run
from support.headroom import headroom_run
from support.liquidation import liquidation_run


@pytest.fixture(scope="module")
def ledgers(tmp_path_factory):
    """name -> [(seq, body, chain hash)] of the three real ledgers."""
    base = tmp_path_factory.mktemp("events")
    out = {v: P.builtin_run(v, base).sim.engine.events_with_hashes() for v in ("normal", "harsh")}
    extra = P.extra_ops_run(base)
    out["extra"] = extra.engine.events_with_hashes()
    out["_sim"] = extra
    out["sized"] = sized_ledger_run(base).engine.events_with_hashes()  # issue 14 §4 kinds
    out["liquidation"] = liquidation_run(base).engine.events_with_hashes()  # issue 14 §2: liquidate
    out["headroom"] = headroom_run(base).engine.events_with_hashes()  # issue 14 §1: pretrade-refusal
    return out


@pytest.fixture(scope="module")
def samples(ledgers) -> dict[str, dict]:
    """kind -> the first body of that kind in the real ledgers."""
    out: dict[str, dict] = {}
    for name in ("normal", "harsh", "extra", "sized", "liquidation", "headroom"):
        for _, body, _ in ledgers[name]:
            out.setdefault(body["kind"], body)
    return out


# ---------------------------------------------------------------------------
# round trip
# ---------------------------------------------------------------------------
def test_every_event_of_real_ledgers_round_trips(ledgers):
    kinds = set()
    for name in ("normal", "harsh", "extra", "sized", "liquidation", "headroom"):
        head = GENESIS_HASH
        for seq, body, h in ledgers[name]:
            event = parse(body)
            assert type(event) is EVENTS[body["kind"]] and event.kind == body["kind"]
            again = event.to_body()
            assert again == body, f"{name} event {seq} ({body['kind']}) does not round-trip"
            assert canonical(again) == canonical(body)
            head = chain_hash(head, seq, again)
            assert head == h, f"{name} event {seq}: the chain hash of the typed event's body differs"
            assert parse(again) == event
            kinds.add(body["kind"])
    assert kinds == set(EVENTS), f"the real ledgers lack {sorted(set(EVENTS) - kinds)}"


def test_registries_name_the_same_kinds():
    assert set(EVENTS) == set(CHECKS) == set(FOLDS)
    assert len(EVENTS) == 26  # issue 14: + pretrade-refusal, intraday, intraday-batch
    for kind, cls in EVENTS.items():
        assert cls.kind == kind and dataclasses.is_dataclass(cls)


def _same_type_values(value, draw):
    """``value`` with every scalar leaf replaced by a drawn one of its JSON type."""
    if isinstance(value, bool):
        return draw(st.booleans())
    if isinstance(value, int):
        return draw(st.integers(-(1 << 70), 1 << 70))
    if isinstance(value, str):
        return draw(st.text(max_size=12))
    if isinstance(value, list):
        return [_same_type_values(v, draw) for v in value]
    if isinstance(value, dict):
        return {k: _same_type_values(v, draw) for k, v in value.items()}
    return value


@given(data=st.data())
def test_round_trip_property(samples, data):
    for kind, body in sorted(samples.items()):
        mutated = dict(_same_type_values({k: v for k, v in body.items() if k != "kind"}, data.draw), kind=kind)
        assert parse(mutated).to_body() == mutated


def test_events_are_frozen_and_own_their_data(samples):
    body = {k: (list(v) if isinstance(v, list) else v) for k, v in samples["dm-closeout"].items()}
    body["lots"] = [dict(lot) for lot in body["lots"]]
    event = parse(body)
    assert isinstance(event, ev.DmCloseout) and isinstance(event.prices, tuple) and isinstance(event.lots, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.index = 7  # type: ignore[misc]
    before = event.to_body()
    body["prices"].append(1)
    body["lots"][0]["quantity"] = 12345
    assert event.to_body() == before  # the event holds copies, not the caller's lists
    out = event.to_body()
    out["lots"][0]["quantity"] = 999
    assert event.to_body() == before  # and gives copies out


def test_the_engine_builds_the_same_bodies_with_typed_events(samples):
    """A typed event built by keyword (as the engine does) has the body the
    ledger stores; a misspelt field is a TypeError at the call."""
    b = samples["deposit"]
    event = ev.Deposit(member=b["member"], amount=b["amount"], cycle=b["cycle"], request_id=b["request_id"],
                       sig=b["sig"])
    assert event.to_body() == b
    with pytest.raises(TypeError):
        ev.Deposit(member="A", amount=1, cycle=1, request_id="r", signature="00")  # type: ignore[call-arg]
    with pytest.raises(InvalidArgument, match="deposit event: amount must be an integer"):
        ev.Deposit(member="A", amount=1.5, cycle=1, request_id="r", sig="00")  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# rejections
# ---------------------------------------------------------------------------
def _wrong_type(value):
    """A value of another JSON type than ``value``."""
    if isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return 5
    if isinstance(value, list):
        return {"x": 1}
    return ["x"]


def test_every_missing_field_is_named(samples):
    for kind, body in samples.items():
        for f in body:
            if f == "kind":
                continue
            bad = {k: v for k, v in body.items() if k != f}
            with pytest.raises(InvalidArgument, match=rf"^{kind} event: missing field\(s\) {re.escape(f)}$"):
                parse(bad)


def test_every_extra_field_is_named(samples):
    for kind, body in samples.items():
        with pytest.raises(InvalidArgument, match=rf"^{kind} event: unexpected field\(s\) 'bogus'$"):
            parse(dict(body, bogus=1))


def test_every_wrong_type_is_named(samples):
    for kind, body in samples.items():
        for f, v in body.items():
            if f == "kind":
                continue
            with pytest.raises(InvalidArgument, match=rf"^{kind} event: {re.escape(f)} must be "):
                parse(dict(body, **{f: _wrong_type(v)}))


def test_a_bool_is_never_an_int(samples):
    n = 0
    for kind, body in samples.items():
        for f, v in body.items():
            if isinstance(v, int) and not isinstance(v, bool):
                with pytest.raises(InvalidArgument, match=rf"^{kind} event: {re.escape(f)} must be an integer$"):
                    parse(dict(body, **{f: True}))
                n += 1
    assert n >= 20
    prices = samples["settle"]["prices"]
    with pytest.raises(InvalidArgument, match=r"^settle event: prices\[0\] must be an integer$"):
        parse(dict(samples["settle"], prices=[False, *prices[1:]]))


@pytest.mark.parametrize("kind, path, change, message", [
    ("trade", ("trade",), lambda t: dict(t, extra=1), r"^trade event: trade: unexpected field\(s\) 'extra'$"),
    ("trade", ("trade",), lambda t: {k: v for k, v in t.items() if k != "T"},
     r"^trade event: trade: missing field\(s\) T$"),
    ("trade", ("trade", "price"), lambda p: str(p), r"^trade event: trade\.price must be an integer$"),
    ("settle", ("scenario_set", "matrix"), lambda m: [[True] * len(m[0])] + m[1:],
     r"^settle event: scenario_set\.matrix\[0\]\[0\] must be an integer$"),
    ("settle", ("scenario_set",), lambda s: {k: v for k, v in s.items() if k != "id"},
     r"^settle event: scenario_set: missing field\(s\) id$"),
    ("margin-batch", ("entries",), lambda es: [dict(es[0], solvency_only=0)] + es[1:],
     r"^margin-batch event: entries\[0\]\.solvency_only must be a boolean$"),
    ("margin-batch", ("results",), lambda r: dict(r, X=1), r"^margin-batch event: results\['X'\] must be a string$"),
    ("dm-open", ("disclosures",), lambda d: {m: dict(x, values=[True]) for m, x in d.items()},
     r"^dm-open event: disclosures\['[^']+'\]\.values\[0\] must be an integer$"),
    ("dm-closeout", ("lots",), lambda lots: [{k: v for k, v in lots[0].items() if k != "quantity"}],
     r"^dm-closeout event: lots\[0\]: missing field\(s\) quantity$"),
    ("genesis", ("config", "instruments"), lambda i: [dict(i[0], tick=None)],
     r"^genesis event: config\.instruments\[0\]\.tick must be an integer$"),
    ("genesis", ("config", "keys"), lambda k: dict(k, extra="00"),
     r"^genesis event: config\.keys: unexpected field\(s\) 'extra'$"),
    ("genesis", ("config",), lambda c: dict(c, more=1), r"^genesis event: config: unexpected field\(s\) 'more'$"),
])
def test_nested_shapes_are_checked(samples, kind, path, change, message):
    body = canonical_copy(samples[kind])
    node = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = change(node[path[-1]])
    with pytest.raises(InvalidArgument, match=message):
        parse(body)


def canonical_copy(body: dict) -> dict:
    import json
    return json.loads(canonical(body))


@pytest.mark.parametrize("body, message", [
    ({"kind": "nope"}, r"^unknown event kind 'nope'$"),
    ({"kind": 5}, r"^an event is a dict with a kind$"),
    ({"member": "A"}, r"^an event is a dict with a kind$"),
    ([("kind", "deposit")], r"^an event is a dict with a kind$"),
    ({"kind": "deposit", 3: 1, "member": "A", "amount": 1, "cycle": 1, "request_id": "r", "sig": "00"},
     r"^deposit event: unexpected field\(s\) 3$"),
])
def test_unknown_or_shapeless_bodies(body, message):
    with pytest.raises(InvalidArgument, match=message):
        parse(body)


def test_many_extra_fields_are_cut():
    body = {"kind": "receipt", "trade_id": "t", "request_id": "r", "sig": "00"}
    body.update({f"x{k:02}": 0 for k in range(40)})
    with pytest.raises(InvalidArgument) as info:
        parse(body)
    assert str(info.value).endswith(", ...") and "x05" not in str(info.value)


# ---------------------------------------------------------------------------
# the node, the auditor and the prover refuse a malformed event
# ---------------------------------------------------------------------------
def test_the_node_checks_take_parsed_events(ledgers):
    events = [(seq, body) for seq, body, _ in ledgers["extra"]]
    core = Core()
    for seq, body in events[:3]:
        event = core.verify_event(body)
        assert isinstance(event, ev.Event)
        core.apply(seq, event)
    seq, body = events[3]
    broken = {k: v for k, v in body.items() if k != "request_id" and k != "op_sig"} | {"bogus": 1}
    with pytest.raises(InvalidArgument, match=rf"^{body['kind']} event: missing field\(s\) "):
        core.verify_event(broken)


def test_auditor_and_witness_store_refuse_a_malformed_event(ledgers):
    sim = ledgers["_sim"]
    events = [(seq, body) for seq, body, _ in ledgers["extra"]]
    k = next(i for i, (_, b) in enumerate(events) if b["kind"] == "deposit")
    bad = list(events)
    bad[k] = (events[k][0], dict(events[k][1], amount=True))
    with pytest.raises(LedgerCorrupted, match=r"\(deposit\) does not verify: deposit event: amount must be an integer"):
        audit(bad)
    store = WitnessStore(sim.prover_sk, sim.prover_relay, sim.op_pk)
    with pytest.raises(Divergence, match=rf"event {events[k][0]} is malformed: deposit event: amount"):
        store.follow(bad)
    assert store.seq == events[k][0] - 1
