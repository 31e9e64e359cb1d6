"""The service configuration beside the PKI: endpoints, genesis, data files.

``zkclear init DIR`` writes, next to the PKI's ``zkclear.json``:

``services.json``   endpoints of the clearing node, the prover service and
                    the auditor ({"clearing": "127.0.0.1:50151", ...}) and
                    the data paths (relative to DIR);
``genesis.json``    the operator-signed genesis of the ledger: instruments,
                    CCP parameters (skin in the game, assessment cap) and the
                    keys of the operator, the prover service and the node,
                    taken from the roster -- ``{"config": ..., "op_sig": hex}``.

The clearing node creates its ledger from ``genesis.json`` on first start
and reopens its database afterwards.  Nothing here is secret.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from . import engine as E
from . import signing
from .pki import PkiError, Roster, read_json

SERVICES_FILE = "services.json"
GENESIS_FILE = "genesis.json"
DEFAULT_PORTS = {"clearing": 50151, "prover": 50152, "auditor": 50153}
DEFAULT_DATA = {"clearing_db": "data/clearing.db", "prover_db": "data/prover.db", "prover_key": "data/prover.aes"}


def genesis_config(roster: Roster, instruments: list[dict], ccp: dict) -> dict:
    """The ledger's genesis config with every key taken from the roster."""
    prover = roster.party(E.PROVER)
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
    op_sig = signing.sign(operator_key, *E.genesis_message(cfg))
    (directory / GENESIS_FILE).write_text(json.dumps({"config": cfg, "op_sig": op_sig.hex()}, indent=2) + "\n")
    ports = dict(DEFAULT_PORTS, **(ports or {}))
    services = {"endpoints": {k: f"127.0.0.1:{v}" for k, v in ports.items()}, "data": dict(DEFAULT_DATA)}
    (directory / SERVICES_FILE).write_text(json.dumps(services, indent=2) + "\n")
    (directory / "data").mkdir(mode=0o700, exist_ok=True)


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


def endpoint(directory, service: str) -> str:
    eps = _read(directory, SERVICES_FILE).get("endpoints", {})
    if not isinstance(eps.get(service), str):
        raise PkiError(f"{SERVICES_FILE} has no endpoint for {service!r}")
    return eps[service]


def data_path(directory, key: str) -> Path:
    rel = _read(directory, SERVICES_FILE).get("data", {}).get(key, DEFAULT_DATA[key])
    if not isinstance(rel, str) or os.path.isabs(rel) or ".." in Path(rel).parts:
        raise PkiError(f"{SERVICES_FILE}: data path {key!r} must be relative to the config directory")
    path = Path(directory) / rel
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path
