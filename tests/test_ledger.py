"""The hash-chained SQLite event log: canonical encoding, atomic appends,
request ids, chain verification and tamper detection."""
from __future__ import annotations

import sqlite3

import pytest

from clearing.node.ledger import Ledger
from clearing.protocol.encoding import GENESIS_HASH, canonical, chain_hash, content_hash
from clearing.protocol.errors import AlreadyExists, InvalidArgument, LedgerCorrupted


def test_canonical_json_is_sorted_compact_and_float_free():
    assert canonical({"b": 1, "a": [True, None, "x"]}) == b'{"a":[true,null,"x"],"b":1}'
    assert canonical({"k": 10**40}) == b'{"k":10000000000000000000000000000000000000000}'
    with pytest.raises(InvalidArgument):
        canonical({"amount": 1.5})
    with pytest.raises(InvalidArgument):
        canonical({"nested": [{"x": 0.0}]})
    with pytest.raises(InvalidArgument):
        canonical({"b": b"bytes"})
    with pytest.raises(InvalidArgument):
        canonical({1: "non-string key"})
    assert content_hash({"a": 1}) == content_hash({"a": 1}) != content_hash({"a": 2})


def test_append_chain_and_derived(tmp_path):
    led = Ledger(tmp_path / "l.db")
    assert led.head() == (0, GENESIS_HASH)
    s1, h1 = led.append({"kind": "x", "n": 1}, {"k": "1"})
    s2, h2 = led.append({"kind": "x", "n": 2}, {"k": "2", "j": "0"}, request=("alice", "r1", b"c", {"seq": 2}))
    assert (s1, s2) == (1, 2)
    assert h1 == chain_hash(GENESIS_HASH, 1, {"kind": "x", "n": 1})
    assert h2 == chain_hash(h1, 2, {"kind": "x", "n": 2})
    assert led.verify_chain() == (2, h2)
    assert list(led.events()) == [(1, {"kind": "x", "n": 1}), (2, {"kind": "x", "n": 2})]
    assert list(led.events(since=1)) == [(2, {"kind": "x", "n": 2})]
    assert led.derived() == {"k": "2", "j": "0"}
    assert led.lookup_request("alice", "r1") == (b"c", 2, {"seq": 2})
    assert led.lookup_request("bob", "r1") is None
    led.check_derived({"k": "2", "j": "0"})
    with pytest.raises(LedgerCorrupted):
        led.check_derived({"k": "2"})
    led.close()
    # reopen: everything persisted
    led = Ledger(tmp_path / "l.db")
    assert led.verify_chain() == (2, h2)
    assert led.derived() == {"k": "2", "j": "0"}
    led.close()


def test_events_with_hashes_pages_the_chain(tmp_path):
    led = Ledger(tmp_path / "l.db")
    h, want = GENESIS_HASH, []
    for n in range(1, 6):
        _, got = led.append({"kind": "x", "n": n}, {"k": str(n)})
        h = chain_hash(h, n, {"kind": "x", "n": n})
        assert got == h
        want.append((n, {"kind": "x", "n": n}, h))
    assert led.events_with_hashes() == want
    assert led.events_with_hashes(since=2, limit=2) == want[2:4]
    assert led.events_with_hashes(since=5) == []
    led.close()


def test_append_is_atomic(tmp_path):
    led = Ledger(tmp_path / "l.db")
    led.append({"kind": "x"}, {"k": "1"}, request=("a", "r", b"c", {}))

    def boom(cur):
        cur.execute("INSERT INTO relay (trade_id, recipient, sealed) VALUES ('t', 'b', x'00')")
        raise RuntimeError("crash inside the transaction")

    with pytest.raises(RuntimeError):
        led.append({"kind": "y"}, {"k": "2"}, extra=boom)
    # a duplicate request id aborts the whole append
    with pytest.raises(AlreadyExists):
        led.append({"kind": "z"}, {"k": "3"}, request=("a", "r", b"d", {}))
    assert led.head()[0] == 1
    assert [s for s, _ in led.events()] == [1]
    assert led.derived() == {"k": "1"}
    assert led.relay_get("t", "b") is None
    led.verify_chain()
    with pytest.raises(InvalidArgument):
        led.append({"kind": "f", "x": 0.5}, {})
    assert led.head()[0] == 1


def test_tamper_detection(tmp_path):
    path = tmp_path / "l.db"
    led = Ledger(path)
    for n in range(4):
        led.append({"kind": "x", "n": n}, {"n": str(n)})
    led.close()

    def edit(sql, args=()):
        db = sqlite3.connect(path)
        db.execute(sql, args)
        db.commit()
        db.close()

    edit("UPDATE events SET body = ? WHERE seq = 2", ('{"kind":"x","n":7}',))
    with pytest.raises(LedgerCorrupted, match="hash chain broken at event 2"):
        Ledger(path).verify_chain()
    edit("UPDATE events SET body = ? WHERE seq = 2", ('{"n":1, "kind":"x"}',))  # same content, not canonical
    with pytest.raises(LedgerCorrupted, match="not canonical"):
        Ledger(path).verify_chain()
    edit("UPDATE events SET body = ? WHERE seq = 2", ('{"kind":"x","n":1}',))
    Ledger(path).verify_chain()
    edit("UPDATE events SET seq = 9 WHERE seq = 4")
    with pytest.raises(LedgerCorrupted, match="gap"):
        Ledger(path).verify_chain()
    edit("UPDATE events SET seq = 4 WHERE seq = 9")
    edit("DELETE FROM events WHERE seq = 4")
    with pytest.raises(LedgerCorrupted, match="head"):
        Ledger(path).verify_chain()
