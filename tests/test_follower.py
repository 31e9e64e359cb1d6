"""The ledger follower (clearing/services/follower.py): every event it
yields is the next seq, canonical JSON and on the chain from the head the
reader continued from; anything else raises FollowError naming the seq and
the problem, and nothing after the bad event is yielded.  Also: the demo's
LedgerView maps it to a DemoError."""
from __future__ import annotations

import json

import pytest

from clearing.api import clearing_pb2
from clearing.demo.errors import DemoError
from clearing.demo.ledger_view import LedgerView
from clearing.protocol.encoding import GENESIS_HASH, canonical, chain_hash
from clearing.protocol.errors import LedgerCorrupted
from clearing.services.follower import PROBLEMS, Followed, FollowError, follow

SECRET = "s3cr3t-value-never-echoed"


def _bodies(n: int, tag: str = "a") -> list[dict]:
    return [{"kind": "deposit", "member": "A", "amount": 100 + k, "note": f"{tag}{k}"} for k in range(n)]


def _chain(bodies: list[dict], since: int = 0, head: bytes = GENESIS_HASH) -> list[clearing_pb2.LedgerEvent]:
    out, h = [], head
    for seq, body in enumerate(bodies, since + 1):
        h = chain_hash(h, seq, body)
        out.append(clearing_pb2.LedgerEvent(seq=seq, body=canonical(body), chain_hash=h))
    return out


class Node:
    """Stands in for the node's stub: streams the events after ``since``
    and records each request (and the timeout, when one is passed)."""

    def __init__(self, events):
        self.events = events
        self.calls: list[tuple[int, float | None]] = []

    def StreamLedger(self, request, timeout=None):
        self.calls.append((request.since, timeout))
        return iter([e for e in self.events if e.seq > request.since])


def _copy(ev: clearing_pb2.LedgerEvent, **change) -> clearing_pb2.LedgerEvent:
    out = clearing_pb2.LedgerEvent()
    out.CopyFrom(ev)
    for k, v in change.items():
        setattr(out, k, v)
    return out


def _fails(events, problem: str, seq: int, since: int = 0, head: bytes = GENESIS_HASH) -> list[Followed]:
    """Follow ``events``; it must fail at ``seq`` with ``problem``.  Returns
    what was yielded before the failure."""
    got: list[Followed] = []
    with pytest.raises(FollowError) as err:
        for item in follow(Node(events), since, head):
            got.append(item)
    assert err.value.problem == problem and err.value.seq == seq, (err.value.problem, err.value.seq, str(err.value))
    assert problem in PROBLEMS and isinstance(err.value, LedgerCorrupted)
    assert str(seq) in str(err.value) and SECRET not in str(err.value)
    return got


def test_a_good_stream_is_yielded_checked_and_can_be_continued():
    bodies = _bodies(6)
    events = _chain(bodies)
    node = Node(events)
    got = list(follow(node))
    assert [g.seq for g in got] == [1, 2, 3, 4, 5, 6]
    assert [g.body for g in got] == bodies
    assert [g.chain_hash for g in got] == [e.chain_hash for e in events]
    assert node.calls == [(0, None)]
    # continue from the head after event 3: only the rest, from the right since, with the timeout passed
    seq, _, head = got[2]
    rest = list(follow(node, seq, head, timeout=7.5))
    assert rest == got[3:] and node.calls[-1] == (3, 7.5)
    # a plain callable works as the source too; an empty stream yields nothing
    assert list(follow(lambda req: iter(events[6:]), 6, got[-1].chain_hash)) == []
    assert [g.seq for g in follow(lambda req: iter(events))] == [1, 2, 3, 4, 5, 6]


def test_a_gap_a_repeat_or_a_wrong_start_is_an_order_error():
    events = _chain(_bodies(5))
    before = _fails(events[:2] + events[3:], "order", 4)  # event 3 dropped
    assert [b.seq for b in before] == [1, 2]  # what came before was yielded, nothing after
    assert [b.seq for b in _fails(events[:3] + events[2:], "order", 3)] == [1, 2, 3]  # event 3 twice
    assert _fails(events[1:], "order", 2) == []  # the stream does not start at 1
    # continuing from event 2, the node's first event must be 3
    assert _fails([events[3]], "order", 4, since=2, head=events[1].chain_hash) == []


def test_a_body_that_is_not_canonical_json_is_refused():
    events = _chain(_bodies(4))
    body = json.loads(events[2].body)
    # the same event, pretty-printed: same JSON, other bytes
    pretty = _copy(events[2], body=json.dumps(body, indent=1).encode())
    assert [b.seq for b in _fails(events[:2] + [pretty] + events[3:], "canonical", 3)] == [1, 2]
    # keys out of order
    unsorted = _copy(events[2], body=json.dumps(dict(reversed(list(body.items()))),
                                                separators=(",", ":")).encode())
    _fails(events[:2] + [unsorted], "canonical", 3)
    # a float (never canonical: no money through binary floating point)
    floaty = _copy(events[2], body=canonical({**body, "amount": 0}).replace(b'"amount":0', b'"amount":1.5'))
    _fails(events[:2] + [floaty], "canonical", 3)
    # not JSON at all, not UTF-8, and JSON that is not an object
    _fails(events[:2] + [_copy(events[2], body=b'{"kind":' + SECRET.encode())], "json", 3)
    _fails(events[:2] + [_copy(events[2], body=b"\xff\xfe")], "json", 3)
    _fails(events[:2] + [_copy(events[2], body=b'["deposit"]')], "object", 3)


def test_a_wrong_chain_hash_or_an_edited_event_breaks_the_chain():
    events = _chain(_bodies(5))
    # the hash itself altered
    bad = _copy(events[3], chain_hash=bytes(32))
    assert [b.seq for b in _fails(events[:3] + [bad] + events[4:], "chain", 4)] == [1, 2, 3]
    # the body edited in transit (canonically re-encoded, hash left as it was)
    body = json.loads(events[3].body)
    body["amount"] += 1
    body["note"] = SECRET
    _fails(events[:3] + [_copy(events[3], body=canonical(body))] + events[4:], "chain", 4)
    # the whole rest of the chain recomputed over the edit: still breaks at the edited event
    forged = events[:3] + _chain([body] + [json.loads(e.body) for e in events[4:]], 3, bytes(32))
    _fails(forged, "chain", 4)


def test_a_fork_against_the_head_followed_is_caught():
    shared = _bodies(3)
    ours = _chain(shared + _bodies(2, "ours"))
    theirs = _chain(shared + _bodies(4, "theirs"))  # same first 3 events, then another course
    assert [e.chain_hash for e in ours[:3]] == [e.chain_hash for e in theirs[:3]]
    followed = list(follow(Node(ours)))
    seq, _, head = followed[-1]  # we followed 5 events of our history
    # the node now serves the other history: its event 6 does not chain onto our head
    assert _fails(theirs, "chain", 6, since=seq, head=head) == []
    # from the shared prefix it is a valid chain (the fork is in what we followed, not in the stream)
    assert [g.seq for g in follow(Node(theirs), 3, ours[2].chain_hash)] == [4, 5, 6, 7]
    # and a reader that starts from another head than the node's genesis fails on event 1
    _fails(ours, "chain", 1, head=chain_hash(GENESIS_HASH, 0, {"kind": "other"}))


def test_the_demo_ledger_view_maps_a_follow_error_to_a_demo_error():
    view = LedgerView.__new__(LedgerView)  # no channel: the stream fails before any event is observed
    view.stub = Node(_chain(_bodies(3))[1:])
    view.seq, view.head = 0, GENESIS_HASH
    with pytest.raises(DemoError, match="public ledger: the ledger stream sent event 2 after event 0"):
        view.pull()
    assert view.seq == 0
