"""The Node.js example member (examples/node/, issue 15) against a running
clearing node and prover service over mutual TLS.

Member A is the Node client -- @grpc/grpc-js, node:crypto for Ed25519 and
SHA-256, no curve code -- and member B a Python client.  A registers with
the operator's admission signature, deposits (a retry under the same request
id gets the recorded result), funds, trades thinly with B (B, thick, decrypts
the opening the prover sealed to it and affirms), checks and affirms B's
trade through the prover (a wrong agreed quantity is refused first), and
re-hashes the whole ledger chain.  Its outcome is checked against the node's
ledger: the trades' rows and T, novation, both members' positions, and the
chain head.

Skipped, with the reason, when ``node`` or ``npm`` is missing or
``npm ci`` cannot install the pinned packages (no network to the npm
registry: npm's cache first, one retry, so an unreachable registry costs
seconds, not npm's minute of backoff).  The packages go to
examples/node/node_modules (gitignored); an install of the pinned versions
already there is reused.  The tuple-encoding check needs ``node`` only.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from clearing.api import clearing_pb2
from clearing.protocol import signing
from clearing.protocol.messages import admission_message
from clearing.services.pki import load_identity
from support.services import Cluster

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "node"
NODE_TIMEOUT = 120
NPM_TIMEOUT = 300


def _pinned_installed() -> bool:
    pins = json.loads((EXAMPLE / "package.json").read_text())["dependencies"]
    for name, version in pins.items():
        manifest = EXAMPLE / "node_modules" / name / "package.json"
        if not manifest.exists() or json.loads(manifest.read_text()).get("version") != version:
            return False
    return True


#: npm ci from the lock file, cache first, failing fast without a registry.
NPM_CI = ("ci", "--no-audit", "--no-fund", "--prefer-offline", "--fetch-retries=1",
          "--fetch-retry-mintimeout=1000", "--fetch-retry-maxtimeout=5000", "--fetch-timeout=60000")


def npm_failure(stderr: str) -> str:
    """The lines of npm's error output that say why (its error code and the
    failed request), not the stack trace."""
    why = [ln.removeprefix("npm error").strip() for ln in stderr.splitlines()
           if ln.startswith("npm error") and ("code" in ln.split()[2:3] or "reason:" in ln or "ERR!" in ln)]
    return "; ".join(why)[:300] or stderr.strip()[-300:]


@pytest.fixture(scope="module")
def node_only():
    node = shutil.which("node")
    if node is None:
        pytest.skip("the Node.js example needs `node` on PATH (not found)")
    return node


@pytest.fixture(scope="module")
def node_bin(node_only):
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("the Node.js example needs `npm` on PATH to install its pinned packages (not found)")
    if not _pinned_installed():
        try:
            r = subprocess.run([npm, *NPM_CI], cwd=EXAMPLE, capture_output=True, text=True, timeout=NPM_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.skip(f"`npm ci` in examples/node took over {NPM_TIMEOUT} s (no network to the npm registry?)")
        if r.returncode != 0 or not _pinned_installed():
            pytest.skip(f"`npm ci` in examples/node could not install the pinned packages (no network to the npm "
                        f"registry?): {npm_failure(r.stderr)}")
    return node_only


@pytest.fixture
def run(node_bin, tmp_path):
    c = Cluster(tmp_path / "cfg", members=("A", "B"))

    def js(*args: str, ok: bool = True):
        cmd = [node_bin, str(EXAMPLE / "client.js"), "--config", str(c.dir), "--name", "A",
               "--clearing", c.clearing_target, "--prover", c.prover_target, *args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=NODE_TIMEOUT)
        if ok:
            assert r.returncode == 0, f"{args[0]}: {r.stderr}"
            return json.loads(r.stdout)
        return r

    try:
        yield c, js
    finally:
        c.stop()


def test_node_member_end_to_end(run):
    c, js = run
    op = c.operator()
    op.admit("B")
    b = c.member("B")
    b.deposit(10**9 + 10**7, request_id="dep0-B")
    b.fund(10**7, request_id="df0-B")
    # A (Node) registers itself with the operator's admission signature
    a_party = c.roster.party("A")
    op_sig = signing.sign(load_identity(c.dir, "operator").ed25519_private,
                          *admission_message("A", a_party.ed25519_public, a_party.x25519_public))
    assert int(js("register", "--operator-signature", op_sig.hex())["seq"]) > 0
    assert "A" in op.status().members
    dep = js("deposit", str(10**9 + 10**7), "--request-id", "dep0-A")
    assert js("deposit", str(10**9 + 10**7), "--request-id", "dep0-A")["seq"] == dep["seq"]  # the recorded result
    js("fund", str(10**7), "--request-id", "df0-A")
    # A initiates thinly; B (Python, thick) decrypts the opening the prover sealed to it
    tr = js("trade", "--id", "js-1", "--with", "B", "--instrument", "ESX", "--side", "buy", "--qty", "4321",
            "--price", "500000", "--request-id", "js-trade-1")
    assert tr["status"] in ("pending", "novated")
    assert b.affirm("js-1", expect={"quantity": 4321, "price": 500000, "side": "buy"}).status == "novated"
    # B initiates; A checks through the prover and affirms
    b.trade("py-1", "A", "RTX", "sell", 99, 200000)
    assert js("pending")["pending"] == [{"trade_id": "py-1", "quantity": "99", "price": "200000", "side": "sell",
                                         "buyer": "A", "seller": "B", "instrument": "RTX"}]
    wrong = js("affirm", "py-1", "--qty", "98", ok=False)
    assert wrong.returncode == 1 and "quantity differs" in wrong.stderr
    assert js("affirm", "py-1", "--qty", "99", "--price", "200000")["status"] == "novated"
    # the outcome against the node's ledger and the prover's openings
    trade = b.clearing.GetTrade(clearing_pb2.GetTradeRequest(trade_id="js-1"))
    assert trade.status == "novated" and trade.trade.commitment.hex() == tr["T"]
    assert trade.trade.buyer == "A" and trade.trade.seller == "B"
    assert b.clearing.GetTrade(clearing_pb2.GetTradeRequest(trade_id="py-1")).status == "novated"
    st = js("status")
    assert st["status"] == "active" and st["pos"] == ["4321", "99"]
    assert b.balances()["pos"] == [-4321, -99]
    chain = js("chain")
    ledger = b.ledger_status()
    assert int(chain["seq"]) == ledger.seq and chain["head"] == ledger.head.hex()
    assert chain["kinds"] == ["genesis", "admit", "deposit", "df-fund", "admit", "deposit", "df-fund",
                              "trade", "receipt", "affirm", "trade", "receipt", "affirm"]


def test_npm_failure_says_why():
    stderr = ("npm error code ECONNREFUSED\nnpm error syscall connect\nnpm error errno ECONNREFUSED\n"
              "npm error FetchError: request to http://127.0.0.1:9/x failed, reason: connect ECONNREFUSED\n"
              "npm error     at ClientRequest.<anonymous> (index.js:130:14)\n")
    assert npm_failure(stderr) == ("code ECONNREFUSED; FetchError: request to http://127.0.0.1:9/x failed, "
                                   "reason: connect ECONNREFUSED")
    assert npm_failure("something else\n") == "something else"


def test_node_tuple_encoding_and_chain_hash_match_python(node_only):
    """lib/tuple.js and lib/chain.js against clearing.protocol: every value
    type (None, booleans, zero, big and negative integers, UTF-8 strings,
    bytes, nested lists) and the chain rule over a canonical body."""
    from clearing.protocol.encoding import GENESIS_HASH, canonical, chain_hash

    fields = [("none", None), ("f", False), ("t", True), ("zero", 0), ("big", 2**70 + 5), ("neg", -(2**40)),
              ("s", "caf\u00e9"), ("b", b"\x00\xff"), ("seq", [1, [b"x", "y", -1], []])]
    js_fields = ("[['none', null], ['f', false], ['t', true], ['zero', 0n], ['big', 2n ** 70n + 5n], "
                 "['neg', -(2n ** 40n)], ['s', 'caf\\u00e9'], ['b', Buffer.from([0, 255])], "
                 "['seq', [1, [Buffer.from('x'), 'y', -1], []]]]")
    body = {"kind": "deposit", "member": "A", "amount": 10**12, "note": "\u00e9"}
    script = (f"const T = require('./lib/tuple'); const C = require('./lib/chain');"
              f"process.stdout.write(JSON.stringify({{tuple: T.encodeTuple('test-kind', {js_fields}).toString('hex'),"
              f"genesis: C.GENESIS_HASH.toString('hex'),"
              f"chain: C.chainHash(C.GENESIS_HASH, 7, Buffer.from(process.argv[1], 'ascii')).toString('hex')}}))")
    r = subprocess.run([node_only, "-e", script, canonical(body).decode()], cwd=EXAMPLE, capture_output=True,
                       text=True, timeout=NODE_TIMEOUT)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["tuple"] == signing.encode_tuple("test-kind", fields).hex()
    assert out["genesis"] == GENESIS_HASH.hex()
    assert out["chain"] == chain_hash(GENESIS_HASH, 7, body).hex()


def test_node_canonical_json_check_matches_python(node_only):
    """lib/chain.js refuses a ledger body that is not canonical JSON
    (docs/wire.md section 2) before trusting its parse: it accepts exactly
    what clearing.protocol.encoding.canonical writes -- escapes, key order
    by code point, big and negative integers -- and refuses whitespace,
    unsorted or duplicate keys, floats, leading zeros, -0, escapes Python
    does not write and raw non-ASCII or DEL."""
    from clearing.protocol.encoding import canonical

    good = [{"kind": "x", "a": [1, -2, 0, 2**70, None, True, False, {}], "b": "caf\u00e9 \x7f\x01\n\t\"\\/ \U0001F600"},
            {"\u00e9": 1, "z": 2, "\U0001F600": 3, "\uffff": 4}, {}, {"a": {"b": {"c": []}}},
            {"k": -12345678901234567890}]
    bad = ['{"a": 1}', '{"b":1,"a":2}', '{"a":1,"a":2}', '{"a":1.0}', '{"a":1e3}', '{"a":01}', '{"a":-0}',
           '{"a":"\\/"}', '{"a":"\\u00E9"}', '{"a":"\\u0041"}', '{"a":"\\u000a"}', '{"a":"\u00e9"}', '{"a":"\x7f"}',
           '{"a":1}x', '{"a":1', '{"a":[1,]}', '{"a":tru}', ' {}', '{"\\ud83d\\ude00":1,"\\uffff":2}']
    cases = [canonical(g).decode() for g in good] + bad
    script = ("const {isCanonicalJson} = require('./lib/chain');"
              "const xs = JSON.parse(process.argv[1]);"
              "process.stdout.write(JSON.stringify(xs.map((x) => isCanonicalJson(Buffer.from(x, 'latin1')))));")
    r = subprocess.run([node_only, "-e", script, json.dumps(cases)], cwd=EXAMPLE, capture_output=True, text=True,
                       timeout=NODE_TIMEOUT)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == [True] * len(good) + [False] * len(bad)
