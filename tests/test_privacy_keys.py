"""Keys and deleted bytes at rest (privacy issue, channels 5 and 6).

* The prover's AES sealing key lives outside every node's data directory:
  the prover refuses to start (``create_server`` and ``zkclear serve
  prover``, one line, non-zero exit) when the key file sits inside its data
  directory or the clearing node's, when group/others may read or write it,
  or when the store exists and the key does not.  Its path comes from
  ``key_path`` / ``--prover-key``, else ``$ZKCLEAR_PROVER_KEY``, else
  ``keys.prover_key`` of services.json.
* ``zkclear init`` lays the tree out per party: walking every directory, no
  file holds a secret key of a party other than the directory's owner, data
  directories hold no key at all, secret files are 0600 in 0700 directories.
* ``secure_delete``: a deleted relay ciphertext (ledger) and a deleted
  sealed opening (prover store) leave no bytes in the database file.  The
  system SQLite may be built with secure_delete on by default, so the tests
  turn it off on every new connection first (as a build without it would
  be): only the code's own pragma can then clear the bytes.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from clearing import cli
from clearing.node.ledger import Ledger
from clearing.services import config as services_config
from clearing.services import prover_service
from prover.custody.sealed_store import SealedStore, StoreError
from support.services import Cluster, make_config
from zkp.pedersen import Opening

ENV = services_config.PROVER_KEY_ENV


@pytest.fixture(autouse=True)
def _no_key_env(monkeypatch):
    monkeypatch.delenv(ENV, raising=False)


@pytest.fixture
def cfg(tmp_path):
    d = tmp_path / "cfg"
    make_config(d)
    return d


def _start_prover(d, **kw):
    srv, _ = prover_service.create_server(d, clearing_target="127.0.0.1:1", **kw)
    srv.stop(0)
    srv.resource.close()


def _move_key(d, dest: Path) -> Path:
    dest.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.move(services_config.prover_key_path(d), dest)
    return dest


# -- where the key may live ---------------------------------------------------

def test_default_key_outside_data_dirs_and_private(cfg):
    key = services_config.prover_key_path(cfg)
    db = services_config.data_path(cfg, "prover_db")
    assert key.exists() and os.stat(key).st_mode & 0o777 == 0o600
    assert os.stat(key.parent).st_mode & 0o777 == 0o700
    assert db.parent.resolve() not in key.resolve().parents
    _start_prover(cfg)
    assert db.exists()


@pytest.mark.parametrize("node_db", ["prover_db", "clearing_db"])
def test_key_inside_a_data_dir_refused(cfg, node_db):
    inside = _move_key(cfg, services_config.data_path(cfg, node_db).parent / "sub" / "prover.aes")
    with pytest.raises(StoreError, match="inside the data directory"):
        _start_prover(cfg, key_path=inside)
    assert not services_config.data_path(cfg, "prover_db").exists()  # refused before opening anything


def test_old_layout_key_beside_prover_db_refused(cfg):
    """A services.json of the old layout (data/prover.aes next to data/prover.db)."""
    _move_key(cfg, cfg / "data" / "prover.aes")
    path = cfg / services_config.SERVICES_FILE
    services = json.loads(path.read_text())
    services["data"] = {"clearing_db": "data/clearing.db", "prover_db": "data/prover.db",
                        "prover_key": "data/prover.aes"}
    del services["keys"]
    path.write_text(json.dumps(services))
    with pytest.raises(StoreError, match="inside the data directory"):
        _start_prover(cfg)


@pytest.mark.parametrize("mode", [0o644, 0o604, 0o620, 0o640, 0o602])
def test_key_readable_or_writable_by_others_refused(cfg, mode):
    key = services_config.prover_key_path(cfg)
    os.chmod(key, mode)
    with pytest.raises(StoreError, match="group/others") as err:
        _start_prover(cfg)
    assert key.read_bytes().hex() not in str(err.value)
    os.chmod(key, 0o600)
    _start_prover(cfg)


def test_missing_key_with_existing_store_refused(cfg):
    _start_prover(cfg)  # creates the store
    os.unlink(services_config.prover_key_path(cfg))
    with pytest.raises(StoreError, match="does not exist"):
        _start_prover(cfg)


def test_cli_serve_prover_refuses_with_one_line(cfg):
    os.chmod(services_config.prover_key_path(cfg), 0o644)
    r = subprocess.run([sys.executable, "-m", "clearing.cli", "serve", "prover", "--config", str(cfg), "--port", "0"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert lines[-1].startswith("zkclear serve: error: prover key file") and "chmod 600" in lines[-1]
    assert "Traceback" not in r.stderr
    # the key inside the data directory, named by the option
    os.chmod(services_config.prover_key_path(cfg), 0o600)
    inside = _move_key(cfg, services_config.data_path(cfg, "prover_db").parent / "k.aes")
    r = subprocess.run([sys.executable, "-m", "clearing.cli", "serve", "prover", "--config", str(cfg), "--port", "0",
                        "--prover-key", str(inside)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "inside the data directory" in r.stderr.strip().splitlines()[-1]
    r = subprocess.run([sys.executable, "-m", "clearing.cli", "serve", "clearing", "--config", str(cfg),
                        "--prover-key", str(inside)], capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "--prover-key applies to 'serve prover' only" in r.stderr


def _sealed_with(d, key: Path) -> int:
    """Number of openings in the prover's store, decrypted with ``key``."""
    store = SealedStore(services_config.data_path(d, "prover_db"), key)
    try:
        return len(store.load_all())
    finally:
        store.close()


def test_env_var_names_the_key(tmp_path, monkeypatch):
    d = tmp_path / "cfg"
    make_config(d)
    key = _move_key(d, tmp_path / "keys" / "sealing.key")
    monkeypatch.setenv(ENV, str(key))
    c = Cluster(d, init=False)
    try:
        c.onboard()
    finally:
        c.stop()
    assert services_config.prover_key_path(d) == key
    assert not (d / services_config.DEFAULT_KEYS["prover_key"]).exists()  # the default was not recreated
    assert _sealed_with(d, key) == 3
    with pytest.raises(StoreError):
        _sealed_with(d, tmp_path / "keys" / "other.key")
    # the variable is read: pointing it at a readable-by-others file is refused
    os.chmod(key, 0o644)
    with pytest.raises(StoreError, match="group/others"):
        _start_prover(d)
    # an explicit key_path (the CLI's --prover-key) wins over the variable
    os.chmod(key, 0o600)
    monkeypatch.setenv(ENV, str(tmp_path / "nowhere.key"))
    _start_prover(d, key_path=key)


def test_config_path_names_the_key(tmp_path):
    d = tmp_path / "cfg"
    make_config(d)
    key = _move_key(d, tmp_path / "vault" / "prover.key")
    path = d / services_config.SERVICES_FILE
    services = json.loads(path.read_text())
    services["keys"]["prover_key"] = str(key)  # absolute, outside the tree
    path.write_text(json.dumps(services))
    assert services_config.prover_key_path(d) == key
    c = Cluster(d, init=False)
    try:
        c.onboard()
    finally:
        c.stop()
    assert _sealed_with(d, key) == 3
    os.chmod(key, 0o660)
    with pytest.raises(StoreError, match="group/others"):
        _start_prover(d)


# -- the init layout ------------------------------------------------------------

def _secrets(d: Path) -> list[tuple[str, bytes]]:
    """(owner, bytes) of every secret key of the tree: each party's TLS,
    identity and relay keys, the CA key, the prover's sealing key."""
    config = json.loads((d / "zkclear.json").read_text())
    out = [("ca", (d / config["ca"]["key"]).read_bytes())]
    for entry in config["parties"]:
        for k in ("tls_key", "identity_key", "relay_key"):
            out.append((entry["name"], (d / entry[k]).read_bytes()))
    out.append(("prover", services_config.prover_key_path(d).read_bytes()))
    assert all(len(b) >= 32 for _, b in out)
    return out


def _owner(d: Path, directory: Path) -> str | None:
    """Whose directory this is: ``<role>/<name>/...`` -> name, ``ca`` -> "ca";
    data directories and the root belong to no key holder (None)."""
    parts = directory.relative_to(d).parts
    if len(parts) >= 2 and parts[0] in ("node", "member", "operator"):
        return parts[1]
    if parts[:1] == ("ca",):
        return "ca"
    return None


def _layout_violations(d: Path) -> list[str]:
    secrets_ = _secrets(d)
    bad = []
    for root, _dirs, files in os.walk(d):
        owner = _owner(d, Path(root))
        for f in files:
            path = Path(root) / f
            data = path.read_bytes()
            for holder, secret in secrets_:
                if secret in data:
                    if holder != owner:
                        bad.append(f"{path.relative_to(d)} holds a secret key of {holder}")
                    elif os.stat(path).st_mode & 0o077 or os.stat(root).st_mode & 0o077:
                        bad.append(f"{path.relative_to(d)} is not 0600 in a 0700 directory")
    return bad


def test_init_layout_no_directory_holds_another_partys_key(tmp_path, capsys):
    d = tmp_path / "demo"
    assert cli.main(["init", str(d), "--members", "A,B,C", "--port-base", "47100"]) == 0
    assert _layout_violations(d) == []
    assert {str(Path(r).relative_to(d)) for r, _, _ in os.walk(d) if os.stat(r).st_mode & 0o077} == set()
    # the services create their databases and a member its own files: still clean
    c = Cluster(d, members=("A", "B", "C"), init=False)
    try:
        c.onboard()
        c.trade("t1", "A", "B", "ESX", "buy", 3, 500000)
    finally:
        c.stop()
    (services_config.party_data_dir(d, "A") / "seen.json").write_text("[]")
    assert _layout_violations(d) == []
    # each node's data directory holds its own database (and its -wal, -shm, .head files) only
    for key, name in (("clearing_db", "clearing.db"), ("prover_db", "prover.db")):
        data_dir = services_config.data_path(d, key, create=False).parent
        assert name in {p.name for p in data_dir.iterdir()}
        assert all(p.name.startswith(name) for p in data_dir.iterdir())
        assert os.stat(data_dir).st_mode & 0o777 == 0o700
    assert services_config.data_path(d, "clearing_db").parent != services_config.data_path(d, "prover_db").parent
    # the walk does catch a misplaced key (the check can fail)
    shutil.copy(d / "member" / "A" / "identity.key", d / "node" / "clearing" / "peer.key")
    shutil.copy(services_config.prover_key_path(d), d / "data" / "prover" / "prover.aes")
    assert sorted(_layout_violations(d)) == ["data/prover/prover.aes holds a secret key of prover",
                                             "node/clearing/peer.key holds a secret key of A"]


# -- secure_delete ------------------------------------------------------------------

@pytest.fixture
def no_default_secure_delete(monkeypatch):
    """Every new SQLite connection starts with secure_delete off, as with a
    build that does not enable it by default."""
    real = sqlite3.connect

    def connect(*a, **kw):
        con = real(*a, **kw)
        con.execute("PRAGMA secure_delete=OFF")
        return con
    monkeypatch.setattr(sqlite3, "connect", connect)


def _raw(path: str) -> bytes:
    return b"".join(Path(p).read_bytes() for p in (path, path + "-wal") if os.path.exists(p))


@pytest.mark.parametrize("size", [200, 9000])  # in a leaf page; spilling into overflow pages
def test_ledger_deleted_relay_ciphertext_leaves_no_bytes(tmp_path, no_default_secure_delete, size):
    marker = b"\xa5ZKCLEAR-RELAY-CIPHERTEXT\x5a"
    sealed = (marker * (size // len(marker) + 1))[:size]
    led = Ledger(str(tmp_path / "clearing.db"))
    try:
        def put(cur):
            cur.execute("INSERT INTO relay (trade_id, recipient, sealed) VALUES (?, ?, ?)", ("t1", "B", sealed))
            cur.execute("INSERT INTO relay (trade_id, recipient, sealed) VALUES (?, ?, ?)", ("t2", "C", b"x" * 40))
        led.append({"kind": "test"}, {}, extra=put)
        led._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert marker in _raw(led.path)  # the search finds it while it is stored
        led.relay_drop(["t1"])
        assert led.relay_get("t1", "B") is None and led.relay_get("t2", "C") is not None
        led._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert marker not in _raw(led.path)
    finally:
        led.close()
    assert marker not in _raw(str(tmp_path / "clearing.db"))


def test_sealed_store_deleted_opening_leaves_no_bytes(tmp_path, no_default_secure_delete):
    from zkp.generators import generators
    ops = {generators().commit(v, b).encode().hex(): Opening(v, b) for v, b in ((7, 11), (8, 13))}
    store = SealedStore(tmp_path / "prover.db", tmp_path / "prover.aes")
    try:
        store.put_many(ops)
        victim = sorted(ops)[0]
        sealed = bytes(store._db.execute("SELECT sealed FROM openings WHERE commitment = ?",
                                         (victim,)).fetchone()[0])
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert sealed in _raw(store.path) and victim.encode() in _raw(store.path)
        store._db.execute("DELETE FROM openings WHERE commitment = ?", (victim,))
        store._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        raw = _raw(store.path)
        assert sealed not in raw and victim.encode() not in raw
        assert len(store.load_all()) == 1
    finally:
        store.close()


def test_every_database_connection_sets_secure_delete(tmp_path, no_default_secure_delete):
    led = Ledger(str(tmp_path / "a.db"))
    store = SealedStore(tmp_path / "b.db", tmp_path / "k.aes")
    try:
        assert led._db.execute("PRAGMA secure_delete").fetchone() == (1,)
        assert store._db.execute("PRAGMA secure_delete").fetchone() == (1,)
    finally:
        led.close()
        store.close()

