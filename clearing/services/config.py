"""The service configuration beside the PKI: endpoints, genesis, data files.

``zkclear init DIR`` writes, next to the PKI's ``zkclear.json``:

``services.json``   endpoints of the clearing node, the prover service and
                    the auditor ({"clearing": "127.0.0.1:50151", ...}), the
                    data paths (relative to DIR) and the path of the prover's
                    sealing key (``keys.prover_key``; relative to DIR or
                    absolute); optionally ``dask``, the Dask cluster the
                    prover proves margin batches on (``tls://HOST:PORT``
                    or ``local:N``; absent: the local process pool) and
                    ``dask_deadline`` (seconds per batch);
``genesis.json``    the operator-signed genesis of the ledger: instruments,
                    CCP parameters (skin in the game, assessment cap) and the
                    keys of the operator, the prover service and the node,
                    taken from the roster -- ``{"config": ..., "op_sig": hex}``.

The clearing node creates its ledger from ``genesis.json`` on first start
and reopens its database afterwards.

Layout per party.  Every party's state lives in a directory of its own, so
that copying (or backing up, or handing over) one party's directory never
carries another party's secret::

    node/<name>/, member/<name>/, operator/<name>/   that party's keys (pki)
    node/prover/prover.aes   the prover's AES sealing key (0600, dir 0700)
    data/clearing/clearing.db                      the clearing node's ledger
    data/prover/prover.db                          the prover's sealed store
    data/<member>/                                 a member client's own files

A node's *data directory* is the directory of its database.  The prover's
sealing key must live outside every node's data directory (a copy of the
data carries no key): ``zkclear serve prover`` refuses to start otherwise
(:func:`prover.custody.sealed_store.check_key_file`).  Its path is, first match:
the ``--prover-key`` option, the environment variable ``ZKCLEAR_PROVER_KEY``
(relative to the working directory), ``keys.prover_key`` in services.json
(relative to DIR unless absolute), ``data.prover_key`` (older configs), the
default ``node/prover/prover.aes``.  ``write_service_files`` creates the
data directories (0700) and the sealing key (0600) when missing.

Nothing in the two JSON files is secret.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from clearing.protocol import signing
from clearing.protocol.fields import PROVER
from clearing.protocol.messages import genesis_message
from clearing.services.pki import PkiError, Roster, read_json

SERVICES_FILE = "services.json"
GENESIS_FILE = "genesis.json"
DEFAULT_PORTS = {"clearing": 50151, "prover": 50152, "auditor": 50153, "clearing_feed": 50154}
#: The clearing node's ledger feed for the prover (its own port and threads;
#: :mod:`clearing.services.clearing_service`).  Unless given, its port is the clearing
#: node's + 3 (after the prover and the auditor).
FEED = "clearing_feed"
DEFAULT_DATA = {"clearing_db": "data/clearing/clearing.db", "prover_db": "data/prover/prover.db",
                "auditor_mark": "data/auditor/auditor.head"}
DEFAULT_KEYS = {"prover_key": "node/prover/prover.aes"}
#: Environment variable naming the prover's sealing key file.
PROVER_KEY_ENV = "ZKCLEAR_PROVER_KEY"
SEALING_KEY_BYTES = 32


def genesis_config(roster: Roster, instruments: list[dict], ccp: dict) -> dict:
    """The ledger's genesis config with every key taken from the roster."""
    prover = roster.party(PROVER)
    return {
        "instruments": [dict(i) for i in instruments],
        "ccp": dict(ccp),
        "keys": {
            "operator": roster.by_role("operator")[0].ed25519_public.hex(),
            "prover": prover.ed25519_public.hex(),
            "prover_relay": prover.x25519_public.hex(),
            "prover_relay_sig": prover.x25519_binding.hex(),
            "node": roster.party("clearing").ed25519_public.hex(),
        },
    }


def write_service_files(directory: Path, roster: Roster, operator_key, instruments: list[dict], ccp: dict,
                        ports: dict | None = None) -> None:
    cfg = genesis_config(roster, instruments, ccp)
    op_sig = signing.sign(operator_key, *genesis_message(cfg))
    (directory / GENESIS_FILE).write_text(json.dumps({"config": cfg, "op_sig": op_sig.hex()}, indent=2) + "\n")
    given = dict(ports or {})
    ports = dict(DEFAULT_PORTS, **given)
    if FEED not in given and "clearing" in given:
        ports[FEED] = ports["clearing"] + 3
        if ports[FEED] > 65535:
            del ports[FEED]
    services = {"endpoints": {k: f"127.0.0.1:{v}" for k, v in ports.items()}, "data": dict(DEFAULT_DATA),
                "keys": dict(DEFAULT_KEYS)}
    (directory / SERVICES_FILE).write_text(json.dumps(services, indent=2) + "\n")
    for key in DEFAULT_DATA:
        data_path(directory, key)
    key_path = Path(directory) / DEFAULT_KEYS["prover_key"]  # the tree's own key, whatever the environment says
    _mkdir_private(key_path.parent)
    if not key_path.exists():
        signing.write_secret_file(key_path, secrets.token_bytes(SEALING_KEY_BYTES))


def _mkdir_private(path: Path) -> None:
    """``path`` as a 0700 directory; missing parents are created 0700 too."""
    for missing in reversed([p for p in (path, *path.parents) if not p.exists()]):
        missing.mkdir(mode=0o700, exist_ok=True)
        os.chmod(missing, 0o700)
    os.chmod(path, 0o700)


def _read(directory: Path, name: str) -> dict:
    path = Path(directory) / name
    data = read_json(path, " (run 'zkclear init' first)")
    if not isinstance(data, dict):
        raise PkiError(f"{path} is not a JSON object")
    return data


def load_genesis(directory) -> tuple[dict, bytes]:
    data = _read(directory, GENESIS_FILE)
    try:
        return data["config"], bytes.fromhex(data["op_sig"])
    except (KeyError, TypeError, ValueError):
        raise PkiError(f"{GENESIS_FILE} lacks config or op_sig") from None


def feed_endpoint(directory) -> str | None:
    """The clearing node's ledger feed ("host:port"), None when services.json names none."""
    feed = _read(directory, SERVICES_FILE).get("endpoints", {}).get(FEED)
    return feed if isinstance(feed, str) else None


def prover_clearing_target(directory) -> str:
    """Where the prover follows the ledger: the feed, else the clearing node's main port."""
    return feed_endpoint(directory) or endpoint(directory, "clearing")


def endpoint(directory, service: str) -> str:
    eps = _read(directory, SERVICES_FILE).get("endpoints", {})
    if not isinstance(eps.get(service), str):
        raise PkiError(f"{SERVICES_FILE} has no endpoint for {service!r}")
    return eps[service]


def data_path(directory, key: str, *, create: bool = True) -> Path:
    """The data file ``key`` of services.json (``clearing_db``, ``prover_db``);
    its directory is created (0700) unless ``create`` is false."""
    rel = _read(directory, SERVICES_FILE).get("data", {}).get(key, DEFAULT_DATA[key])
    if not isinstance(rel, str) or os.path.isabs(rel) or ".." in Path(rel).parts:
        raise PkiError(f"{SERVICES_FILE}: data path {key!r} must be relative to the config directory")
    path = Path(directory) / rel
    if create:
        _mkdir_private(path.parent)
    return path


def party_data_dir(directory, name: str) -> Path:
    """``DIR/data/<name>/`` (created 0700): a member client's own files,
    apart from every node's data directory."""
    if not isinstance(name, str) or not name or name in (".", "..") or Path(name).name != name:
        raise PkiError(f"bad party name {name!r}")
    path = Path(directory) / "data" / name
    _mkdir_private(path)
    return path


def prover_key_path(directory, override=None) -> Path:
    """The prover's sealing key file (not checked here; see the module
    docstring for the order of the sources)."""
    if override:
        return Path(override)
    env = os.environ.get(PROVER_KEY_ENV, "")
    if env:
        return Path(env)
    services = _read(directory, SERVICES_FILE)
    keys, data = services.get("keys", {}), services.get("data", {})
    value = (keys.get("prover_key") if isinstance(keys, dict) else None) \
        or (data.get("prover_key") if isinstance(data, dict) else None) or DEFAULT_KEYS["prover_key"]
    if not isinstance(value, str):
        raise PkiError(f"{SERVICES_FILE}: keys.prover_key must be a path")
    return Path(value) if os.path.isabs(value) else Path(directory) / value


def dask_address(directory) -> str | None:
    """The prover's Dask cluster (``dask`` of services.json), None when absent."""
    value = _read(directory, SERVICES_FILE).get("dask")
    if value is not None and (not isinstance(value, str) or not value):
        raise PkiError(f"{SERVICES_FILE}: dask must be an address ('tls://HOST:PORT' or 'local:N')")
    return value


def dask_deadline(directory) -> float | None:
    """Seconds per Dask margin batch (``dask_deadline`` of services.json), None when absent."""
    value = _read(directory, SERVICES_FILE).get("dask_deadline")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 86400:
        raise PkiError(f"{SERVICES_FILE}: dask_deadline must be seconds in (0, 86400]")
    return float(value)
