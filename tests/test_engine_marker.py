"""No silent loss of acknowledged events (reliability issue, item 4): the node
keeps a durable head marker beside its database and refuses to start from a
ledger that is missing, empty, shorter than what it acknowledged (a lost WAL)
or forked from it."""
from __future__ import annotations

import os
import shutil

import pytest

from clearing.node.engine import Engine
from clearing.node.marker import marker_path, read_marker, write_marker
from clearing.protocol.errors import LedgerCorrupted
from clearing.protocol.messages import deposit_message, genesis_message
from support.engine import basic_sim


def _db(sim):
    return sim.path


def test_marker_tracks_every_acknowledged_event(tmp_path):
    sim = basic_sim(tmp_path, members=("A", "B"), seed=b"marker")
    seq, head = sim.engine.chain_head()
    assert read_marker(_db(sim)) == (seq, head.hex())
    sim.deposit("A", 5)
    assert read_marker(_db(sim))[0] == seq + 1
    assert oct(os.stat(marker_path(_db(sim))).st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("damage", ["deleted", "zero-length"])
def test_a_lost_database_is_refused_not_replaced(tmp_path, damage):
    sim = basic_sim(tmp_path, members=("A", "B"), seed=b"lost")
    sim.engine.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(_db(sim) + suffix):
            os.remove(_db(sim) + suffix)
    if damage == "zero-length":
        open(_db(sim), "wb").close()
    # a fresh genesis would silently replace the ledger: refused
    with pytest.raises(LedgerCorrupted, match="acknowledged"):
        Engine.create(_db(sim), sim.config, sim.op(genesis_message(sim.config)), sim.node_sk)
    with pytest.raises(LedgerCorrupted, match="acknowledged"):
        Engine.open(_db(sim), sim.node_sk)


def test_an_older_copy_of_the_database_is_refused(tmp_path):
    """A database restored from before the last acknowledged events (what a
    lost WAL after kill -9 amounts to) is shorter than the marker."""
    sim = basic_sim(tmp_path, members=("A", "B"), seed=b"older")
    sim.engine.close()
    backup = tmp_path / "backup.db"
    shutil.copy(_db(sim), backup)
    sim.reopen()
    sim.deposit("A", 7)
    sim.deposit("B", 8)
    sim.engine.close()
    marker = read_marker(_db(sim))
    for suffix in ("-wal", "-shm"):
        if os.path.exists(_db(sim) + suffix):
            os.remove(_db(sim) + suffix)
    shutil.copy(backup, _db(sim))
    with pytest.raises(LedgerCorrupted, match=f"acknowledged {marker[0]}"):
        Engine.open(_db(sim), sim.node_sk)


def test_a_forked_database_is_refused(tmp_path):
    sim = basic_sim(tmp_path, members=("A", "B"), seed=b"fork")
    seq, head = sim.engine.chain_head()
    sim.engine.close()
    write_marker(_db(sim), seq, bytes(32))  # the node acknowledged another event at this seq
    with pytest.raises(LedgerCorrupted, match="differs"):
        Engine.open(_db(sim), sim.node_sk)
    write_marker(_db(sim), seq, head)
    Engine.open(_db(sim), sim.node_sk).close()


def test_public_deposits_stay_below_two_to_the_63(tmp_path):
    """Two deposits of 2^63 - 1 would push a balance past what a default can
    disclose (reveal proofs bound |v| < 2^64): refused, nothing applied."""
    from clearing.protocol.errors import FailedPrecondition
    sim = basic_sim(tmp_path, members=("A", "B"), seed=b"cap")
    before = sim.engine.chain_head()
    with pytest.raises(FailedPrecondition, match="2\\^63"):
        sim.deposit("A", (1 << 63) - 1)
    assert sim.engine.chain_head() == before


def test_a_full_disk_applies_nothing_and_the_retry_applies_once(tmp_path):
    """A real SQLITE_FULL (the database may not grow: max_page_count) reaches
    the client as RESOURCE_EXHAUSTED; nothing is applied; after space is
    freed the same request id applies once."""
    import sqlite3

    import grpc

    from clearing.services import rpc

    sim = basic_sim(tmp_path, members=("A", "B"), seed=b"full")
    m = sim.members["A"]
    rid = "dep-full"
    before = (sim.engine.chain_head(), sim.engine.account("A"), read_marker(_db(sim)))
    db = sim.engine.ledger._db
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.Error) as err:
        for k in range(50):  # fill the last free page, then the disk is full
            sim.engine.deposit("A", 42, sim.cycle, m.sign(deposit_message("A", 42, sim.cycle, f"{rid}-{k}")),
                               f"{rid}-{k}")
            before = (sim.engine.chain_head(), sim.engine.account("A"), read_marker(_db(sim)))
    assert rpc.status_of(err.value)[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (sim.engine.chain_head(), sim.engine.account("A"), read_marker(_db(sim))) == before
    failed = f"{rid}-{k}"
    db.execute("PRAGMA max_page_count = 1073741823")  # space freed
    fsig = m.sign(deposit_message("A", 42, sim.cycle, failed))
    first = sim.engine.deposit("A", 42, sim.cycle, fsig, failed)
    assert first["seq"] == before[0][0] + 1
    assert sim.engine.deposit("A", 42, sim.cycle, fsig, failed) == first
    sim.reopen()
    assert sim.engine.chain_head()[0] == first["seq"]
