"""Shared helpers of the privacy suite (issue 10; DESIGN §2, §5.1, §6.4):
tests/test_privacy_scan.py and tests/test_leakage_table.py.

* :func:`builtin_run` -- a variant of the built-in ccp-demo scenario run
  through the in-process engine and the prover's witness store
  (:func:`support.engine.run_scenario`: the engine harness is a member
  client, with the client rules of DESIGN §2), every log record and anything
  printed captured, the clearing database's files (main, ``-wal``, ``-shm``)
  read while the node has the ledger open and again after a reopen
  (checkpoint).  Cached per process: both test files share one run per
  variant.
* :func:`node_holdings` -- everything the clearing node and the auditor
  hold after that run, as named byte blobs: the database files, the ledger
  events as JSON, the default reports (JSON, table, chart), the audit
  report, the node's public reads (status, accounts, default event), the
  captured logs.
* :func:`survivor_secrets` -- every survivor's hidden values after every
  ledger event, from the prover's openings (the fold replayed on the
  witness store's openings): cash, df, due, positions, cycle VM, the equity
  of every scenario, the requirement and the shortfall, trade quantities,
  pro-rata shares, and the blindings of all of them.
* :func:`public_ints` -- every integer the public record carries.
* :class:`Scanner` -- looks for values in byte blobs in decimal, hex,
  big/little-endian fixed width, two's complement, mod-r scalar and varint
  (protobuf LEB128, zigzag, SQLite) encodings; see its docstring for what
  "distinctive" means and why.
* :func:`event_fields`, :func:`leakage_table` -- the event schema as dotted
  field paths, and the machine-readable tables of docs/leakage.md.

Nothing here prints a secret: hits name the value's description (member,
what, ledger position), and test messages quote descriptions, not values.
"""
from __future__ import annotations

import bisect
import contextlib
import dataclasses
import io
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clearing.ccp.scenario import builtin_scenario
from clearing.fold.apply import apply_event
from clearing.fold.state import State
from clearing.node import audit as node_audit
from clearing.node.core import CHECKS
from clearing.node.reports import report_chart, report_table
from clearing.protocol.encoding import canonical
from clearing.protocol.events import parse
from clearing.protocol.fields import STATUS_DEFAULTED
from clearing.protocol.messages import ccp_parameters_message
from zkp.field import R as CURVE_ORDER
from zkp.field import to_signed

from .engine import MATRIX, basic_sim, run_scenario

ROOT = Path(__file__).resolve().parents[2]  # the repository (tests/support/privacy.py)
LEAKAGE_MD = ROOT / "docs" / "leakage.md"

#: secrets below this are not distinctive: a number that small occurs by
#: chance in any megabyte of hex and binary (positions are scanned as whole
#: vectors instead, see :func:`survivor_secrets`)
MIN_DISTINCTIVE = 1 << 20
#: fixed-width binary encodings are scanned from 5 bytes (4 significant
#: bytes plus padding) on: a 4-byte pattern occurs by chance in a few MB
MIN_BINARY = 5
#: substring (embedded) text search: at least this many significant digits
#: (decimal) / hex digits; shorter numbers are matched as whole tokens only
MIN_EMBEDDED_DECIMAL = 15
MIN_EMBEDDED_HEX = 12


# ---------------------------------------------------------------------------
# Running the built-in scenario
# ---------------------------------------------------------------------------
@dataclass
class Run:
    """One scenario variant run through the engine (node + prover side)."""

    variant: str
    directory: Path
    sim: object
    days: list
    events: list
    reports: list
    audit: dict
    logs: str
    files_open: dict = field(default_factory=dict)   # database files while the node had them open
    files_closed: dict = field(default_factory=dict)  # after close + reopen (checkpointed)

    @property
    def scenario(self):
        return builtin_scenario()

    def survivors(self) -> list[str]:
        """Members never declared in default (the only ones whose values stay private)."""
        return sorted(m for m, a in self.sim.engine.state.members.items() if a.status != STATUS_DEFAULTED)


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        try:
            self.lines.append(f"{record.name} {record.levelname} {record.getMessage()}")
        except Exception:  # noqa: BLE001 - a record that cannot format is itself evidence: keep its raw parts
            self.lines.append(f"{record.name} {record.levelname} {record.msg!r} {record.args!r}")


@contextlib.contextmanager
def captured_output():
    """Every log record (root logger at DEBUG) and everything printed to
    stdout/stderr while the block runs; yields a list that receives the text."""
    handler = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    out, err = io.StringIO(), io.StringIO()
    text: list[str] = []
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            yield text
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        text.extend(handler.lines)
        text.append(out.getvalue())
        text.append(err.getvalue())


def db_files(path: Path) -> dict[str, bytes]:
    """The SQLite database and its -wal / -shm (and -journal) files, if present."""
    out = {}
    for suffix in ("", "-wal", "-shm", "-journal"):
        p = Path(str(path) + suffix)
        if p.exists():
            out[p.name] = p.read_bytes()
    return out


_RUNS: dict[str, Run] = {}


def builtin_run(variant: str, base: Path) -> Run:
    """The built-in scenario's ``variant`` through the engine (cached per
    process; ``base`` is used for the first run of each variant)."""
    if variant in _RUNS:
        return _RUNS[variant]

    directory = Path(base) / f"privacy-{variant}"
    directory.mkdir(parents=True, exist_ok=True)
    with captured_output() as text:
        sim, days = run_scenario(directory, builtin_scenario(), variant, seed=b"privacy-" + variant.encode())
        db = Path(sim.path)
        files_open = db_files(db)
        events = sim.engine.events()
        reports = sim.engine.default_reports()
        audit = dataclasses.asdict(node_audit.audit(events))
        sim.reopen()  # close (checkpoints the WAL) and open again
        files_closed = db_files(db)
    run = Run(variant, directory, sim, days, events, reports, audit, "\n".join(text), files_open, files_closed)
    _RUNS[variant] = run
    return run


def _jsonable(v):
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def node_holdings(run: Run) -> dict[str, bytes]:
    """Everything the clearing node and the auditor hold after ``run``, as
    named blobs (what an adversarial node could read at leisure)."""
    eng = run.sim.engine
    out = {f"open:{k}": v for k, v in run.files_open.items()}
    out.update({f"closed:{k}": v for k, v in run.files_closed.items()})
    out.update(db_files(Path(eng.ledger.path)))  # as it is now (reopened)
    out["events.json"] = canonical(_jsonable(run.events))
    out["events-pretty.json"] = json.dumps(_jsonable(run.events), indent=1).encode()
    out["reports.json"] = json.dumps(run.reports, indent=1).encode()
    out["report-text"] = "\n".join(report_table(r) + "\n" + report_chart(r) for r in run.reports).encode()
    out["audit.json"] = json.dumps(run.audit).encode()
    out["status.json"] = json.dumps(_jsonable(eng.status())).encode()
    out["accounts.json"] = json.dumps({m: eng.account(m) for m in sorted(eng.state.members)}).encode()
    out["default-event.json"] = json.dumps(_jsonable(eng.default_event())).encode()
    out["logs"] = run.logs.encode()
    for name in sorted(p.name for p in run.directory.iterdir()):
        p = run.directory / name
        if p.is_file() and not any(k.endswith(name) for k in out):
            out[f"file:{name}"] = p.read_bytes()  # anything else the node left beside its ledger
    return out


# ---------------------------------------------------------------------------
# The survivors' secrets, from the prover's openings
# ---------------------------------------------------------------------------
@dataclass
class Secrets:
    """value -> descriptions.  ``values`` are signed integers (amounts,
    equities, ...); ``blindings`` scalars in [1, r); ``vectors`` the rendered
    position vectors (each a tuple of ints)."""

    values: dict[int, set] = field(default_factory=dict)
    blindings: dict[int, set] = field(default_factory=dict)
    vectors: dict[tuple, set] = field(default_factory=dict)
    #: (member, what, seq) of every value that was public by construction (zero blinding)
    public_by_construction: set = field(default_factory=set)

    def add(self, v: int, what: str, blinding: int | None = None, hidden: bool = True):
        """Record a hidden value (with the blinding of its commitment when it
        has one of its own; ``hidden`` False for a derived value computed
        from public commitments only)."""
        if blinding == 0 or not hidden:
            # the node computed this commitment from public amounts alone
            # (e.g. cash = the onboarding deposit before the first funding,
            # df = 0 after a tranche 4 taken in full): not a secret
            self.public_by_construction.add(what)
            return
        self.values.setdefault(v, set()).add(what)
        if blinding is not None:
            self.blindings.setdefault(blinding, set()).add(f"blinding of {what}")

    def distinctive(self, exclude=frozenset()) -> dict[int, set]:
        """The values whose encodings are distinctive (|v| >= 2^20) and that
        are not in ``exclude`` (public amounts)."""
        return {v: d for v, d in self.values.items() if abs(v) >= MIN_DISTINCTIVE and abs(v) not in exclude}


def opened(op) -> int:
    """The signed value of an opening."""
    return to_signed(op.value)


def survivor_secrets(run: Run) -> Secrets:
    """Every survivor's hidden values after every ledger event, replaying the
    public events with the same fold on the prover's openings."""
    sim = run.sim
    alg = sim.witness.alg  # the fold's algebra over the witness store's openings
    survivors = set(run.survivors())
    state = State()
    sec = Secrets()
    for seq, body in run.events:
        apply_event(state, seq, parse(body), alg)
        kind = body["kind"]
        if kind == "trade":
            t = body["trade"]
            if {t["buyer"], t["seller"]} & survivors:
                op = alg.commitment(t["T"], "T")
                sec.add(opened(op), f"trade {t['trade_id']} quantity", op.blinding)
        if kind == "dm-shares":
            for m, h in zip(state.reports[-1]["survivors"] if state.dm is None else state.dm["survivors"],
                            body["shares"]):
                if m in survivors:
                    op = alg.commitment(h, "share")
                    sec.add(opened(op), f"{m} {body['purpose']} share @{seq}", op.blinding)
        matrix = state.scenario_set["matrix"] if state.scenario_set else None
        for m in sorted(survivors & set(state.members)):
            a = state.members[m]
            tag = f"@{seq} ({kind})"
            sec.add(opened(a.cash), f"{m} cash {tag}", a.cash.blinding)
            sec.add(opened(a.df), f"{m} df {tag}", a.df.blinding)
            if a.due is not None:
                sec.add(opened(a.due), f"{m} due {tag}", a.due.blinding)
            pos = [opened(p) for p in a.pos]
            for i, p in enumerate(a.pos):
                sec.add(opened(p), f"{m} pos[{i}] {tag}", p.blinding)
            if any(p.blinding for p in a.pos) and sum(1 for p in pos if p) >= 2:
                sec.vectors.setdefault(tuple(pos), set()).add(f"{m} positions {tag}")
            vm = state.vm.get(m)
            if vm is not None:
                sec.add(opened(vm), f"{m} cycle VM {tag}", vm.blinding)
            if matrix:
                # derived from the hidden account: the equity of every
                # scenario, the requirement (worst loss) and the shortfall
                hidden = a.cash.blinding != 0 or any(p.blinding for p in a.pos)
                pnl = [sum(x * q for x, q in zip(row, pos)) for row in matrix]
                cash = opened(a.cash)
                for s, x in enumerate(pnl):
                    sec.add(cash + x, f"{m} equity scenario {s} {tag}", hidden=hidden)
                req = max(0, max(-x for x in pnl))
                sec.add(req, f"{m} requirement {tag}", hidden=hidden and any(p.blinding for p in a.pos))
                sec.add(req - cash, f"{m} shortfall (requirement - cash) {tag}", hidden=hidden)
    return sec


def public_ints(*records) -> set[int]:
    """Every integer (absolute value) anywhere in the given JSON-like records,
    and every canonical decimal string: the public amounts."""
    out: set[int] = set()

    def walk(v):
        if isinstance(v, bool):
            return
        if isinstance(v, int):
            out.add(abs(v))
        elif isinstance(v, str) and re.fullmatch(r"-?[0-9]{1,40}", v):
            out.add(abs(int(v)))
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, (list, tuple)):
            for x in v:
                walk(x)

    for r in records:
        walk(r)
    return out


# ---------------------------------------------------------------------------
# Encodings and the scanner
# ---------------------------------------------------------------------------
def leb128(n: int) -> bytes:
    """Unsigned LEB128 (protobuf varint) of n >= 0."""
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def sqlite_varint(n: int) -> bytes:
    """SQLite's big-endian varint (1..9 bytes) of 0 <= n < 2^64."""
    if n >= 1 << 56:
        return _sqlite9(n)
    groups = []
    while True:
        groups.append(n & 0x7F)
        n >>= 7
        if not n:
            break
    groups.reverse()
    return bytes([g | 0x80 for g in groups[:-1]] + [groups[-1]])


def _sqlite9(n: int) -> bytes:
    head, last = n >> 8, n & 0xFF
    out = []
    for _ in range(8):
        out.append((head & 0x7F) | 0x80)
        head >>= 7
    return bytes(reversed(out)) + bytes([last])


def _width(n: int) -> int:
    return max(1, (n.bit_length() + 7) // 8)


def binary_encodings(v: int) -> dict[str, bytes]:
    """Fixed-width encodings of a signed value, each at the narrowest width
    >= MIN_BINARY it fits (a wider big-endian encoding ends with the narrow
    one, a wider little-endian one starts with it -- sign-extended for two's
    complement -- so the narrow pattern finds every width up to 32 bytes),
    the 32-byte scalar (v mod r) and varints."""
    a = abs(v)
    out = {}
    w = max(MIN_BINARY, _width(a))
    if w <= 32:
        out[f"be{w}"] = a.to_bytes(w, "big")
        out[f"le{w}"] = a.to_bytes(w, "little")
    if v < 0:
        ws = max(MIN_BINARY, (v.bit_length() + 8) // 8)
        if ws <= 32:
            out[f"be{ws}-twos"] = v.to_bytes(ws, "big", signed=True)
            out[f"le{ws}-twos"] = v.to_bytes(ws, "little", signed=True)
    s = v % CURVE_ORDER
    out["scalar-be32"] = s.to_bytes(32, "big")
    out["scalar-le32"] = s.to_bytes(32, "little")
    for name, enc in (("varint", leb128(a)), ("zigzag", leb128(2 * a - 1 if v < 0 else 2 * a)),
                      ("sqlite-varint", sqlite_varint(a) if a < 1 << 64 else b"")):
        if len(enc) >= MIN_BINARY:
            out[name] = enc
    return out


def text_encodings(v: int) -> dict[str, bytes]:
    """Embedded-text patterns (found anywhere, even inside a longer string)
    for values with enough digits to be distinctive there."""
    a = abs(v)
    out = {}
    d = str(a)
    if len(d) >= MIN_EMBEDDED_DECIMAL:
        out["decimal"] = d.encode()
    h = format(a, "x")
    if len(h) >= MIN_EMBEDDED_HEX:
        out["hex"] = h.encode()
        out["HEX"] = h.upper().encode()
        if len(h) <= 64:
            le = a.to_bytes((len(h) + 1) // 2, "little").hex()
            out["hex-le"] = le.encode()
    s = v % CURVE_ORDER
    if v < 0 or len(h) < 64:
        out["scalar-hex"] = s.to_bytes(32, "big").hex().encode()
        out["scalar-hex-le"] = s.to_bytes(32, "little").hex().encode()
    return out


@dataclass(frozen=True)
class Hit:
    blob: str
    offset: int
    encoding: str
    what: str  # description of the secret (never the value)

    def __str__(self) -> str:
        return f"{self.blob}@{self.offset}: {self.encoding} of {self.what}"


_DEC = re.compile(rb"(?<![0-9])-?[0-9]{7,}(?![0-9])")
_LONGHEX = re.compile(rb"[0-9a-fA-F]{16,}")
_HEXTOK = re.compile(rb"(?<![0-9a-fA-F])[0-9a-fA-F]{5,64}(?![0-9a-fA-F])")
#: bytes that pad encodings (zero bytes, ASCII '0', sign-extension 0xff)
_PAD = {0x00, 0x30, 0xFF}


def _anchor(pattern: bytes) -> int:
    """Offset of the 4-byte window of ``pattern`` with the fewest padding
    bytes (the significant part of a zero-padded encoding): patterns are
    indexed by that window, so a run of zeros in the data does not make every
    padded pattern a candidate."""
    best, best_off = None, 0
    for off in range(len(pattern) - 3):
        w = pattern[off:off + 4]
        score = (sum(b in _PAD for b in w), -len(set(w)))
        if best is None or score < best:
            best, best_off = score, off
    return best_off


class Scanner:
    """Find secret values in byte blobs.

    Three kinds of search, chosen so that a chance match in a few MB of
    hex-heavy JSON and SQLite pages is negligible while every likely way of
    writing a number down is covered:

    * **tokens** (any secret >= 2^20): whole decimal numbers (a run of >= 7
      digits not inside a hex string of 16+ hex digits: a decimal inside hex
      data is noise) and whole hex tokens of 5..64 hex digits, read big- and
      little-endian (a u64, a 32-byte scalar, a blinding in hex);
    * **embedded text**: decimal with >= 15 digits and hex with >= 12 hex
      digits anywhere, even inside a longer string, and v mod r as 64 hex
      digits (a blinding or a scalar written into a proof's hex, say);
    * **binary**: big/little-endian at the narrowest width >= 5 bytes (which
      also finds every wider width up to 32 bytes: SQLite's 6- and 8-byte
      integers, fixed64, a zero-padded 32-byte scalar), two's complement for
      negative values, v mod r as a 32-byte scalar, protobuf varint, zigzag
      and SQLite varint -- each pattern at least 5 bytes long.

    Every embedded or binary pattern is indexed by its most significant
    4-byte window (:func:`_anchor`); candidates are then checked in full.
    """

    def __init__(self, values: dict[int, set], blindings: dict[int, set] | None = None,
                 vectors: dict[tuple, set] | None = None):
        self.token_values: dict[int, str] = {}
        self.patterns: dict[bytes, list[tuple[str, str]]] = {}
        for v, whats in values.items():
            what = _describe(whats)
            self.token_values[abs(v)] = what
            if v < 0:
                self.token_values.setdefault(v % CURVE_ORDER, what)
            for enc in (binary_encodings(v), text_encodings(v)):
                for name, pat in enc.items():
                    self.patterns.setdefault(pat, []).append((name, what))
        for b, whats in (blindings or {}).items():
            what = _describe(whats)
            self.token_values[b] = what
            for name, pat in {"be32": b.to_bytes(32, "big"), "le32": b.to_bytes(32, "little"),
                              "hex": format(b, "064x").encode(), "HEX": format(b, "064X").encode(),
                              "hex-le": b.to_bytes(32, "little").hex().encode(),
                              "decimal": str(b).encode()}.items():
                self.patterns.setdefault(pat, []).append((name, what))
        for vec, whats in (vectors or {}).items():
            what = _describe(whats)
            for name, txt in (("json", json.dumps(list(vec), separators=(",", ":"))),
                              ("json-spaced", json.dumps(list(vec))), ("repr", repr(tuple(vec)))):
                self.patterns.setdefault(txt.encode(), []).append((f"vector-{name}", what))
        if any(len(p) < 5 for p in self.patterns):
            raise ValueError("scanner patterns must be at least 5 bytes long")
        self._index: dict[int, list[tuple[bytes, int]]] = {}
        for p in self.patterns:
            off = _anchor(p)
            self._index.setdefault(int.from_bytes(p[off:off + 4], "big"), []).append((p, off))
        self._keys = np.array(sorted(self._index), dtype=np.uint32)

    def scan(self, name: str, blob: bytes) -> list[Hit]:
        hits = []
        # tokens: whole decimal numbers, not inside hex data
        long_hex = [m.span() for m in _LONGHEX.finditer(blob)]
        starts = [a for a, _ in long_hex]
        for m in _DEC.finditer(blob):
            k = bisect.bisect_right(starts, m.start()) - 1
            if k >= 0 and long_hex[k][1] >= m.end() and long_hex[k][1] - long_hex[k][0] > m.end() - m.start():
                continue  # a digit run inside a longer hex string
            what = self.token_values.get(int(m.group().lstrip(b"-")))
            if what is not None:
                hits.append(Hit(name, m.start(), "decimal token", what))
        # tokens: whole hex strings, read both ways
        for m in _HEXTOK.finditer(blob):
            tok = m.group()
            ns = [("hex token", int(tok, 16))]
            if len(tok) % 2 == 0:
                ns.append(("hex token (little-endian)", int.from_bytes(bytes.fromhex(tok.decode()), "little")))
            for enc, n in ns:
                what = self.token_values.get(n)
                if what is not None and n >= MIN_DISTINCTIVE:
                    hits.append(Hit(name, m.start(), enc, what))
        # embedded text and binary patterns: anchored 4-byte index, then verify
        if len(blob) >= 4 and len(self._keys):
            a = np.frombuffer(blob, dtype=np.uint8).astype(np.uint32)
            keys = (a[:-3] << 24) | (a[1:-2] << 16) | (a[2:-1] << 8) | a[3:]
            for pos in np.nonzero(np.isin(keys, self._keys))[0].tolist():
                for p, off in self._index[int(keys[pos])]:
                    if pos >= off and blob.startswith(p, pos - off):
                        for enc, what in self.patterns[p]:
                            hits.append(Hit(name, pos - off, enc, what))
        return hits

    def scan_all(self, blobs: dict[str, bytes]) -> list[Hit]:
        out = []
        for name, blob in sorted(blobs.items()):
            out.extend(self.scan(name, blob))
        return out


def _describe(whats) -> str:
    whats = sorted(whats)
    return whats[0] + (f" (and {len(whats) - 1} more)" if len(whats) > 1 else "")


# ---------------------------------------------------------------------------
# The event schema and the leakage table
# ---------------------------------------------------------------------------
def field_paths(value, members: set, prefix: str = "") -> set[str]:
    """Dotted leaf paths of a JSON value: ``a.b`` for struct fields, ``a[]``
    for list items, ``a.*`` for a map keyed by member ids."""
    out: set[str] = set()
    if isinstance(value, dict):
        is_map = bool(value) and all(k in members for k in value)
        for k, v in value.items():
            key = "*" if is_map else k
            out |= field_paths(v, members, f"{prefix}.{key}" if prefix else key)
        if not value and prefix:
            out.add(prefix)
    elif isinstance(value, list) and any(isinstance(x, (dict, list)) for x in value):
        for x in value:
            out |= field_paths(x, members, f"{prefix}[]")
    else:
        out.add(prefix)
    return out


def event_fields(events) -> dict[str, set[str]]:
    """kind -> every field path seen in the events' bodies."""
    members = {b["member"] for _, b in events if b["kind"] == "admit"}
    out: dict[str, set[str]] = {}
    for _, body in events:
        out.setdefault(body["kind"], set()).update(field_paths(body, members))
    return out


def dispatch_kinds() -> set[str]:
    """Every event kind the engine verifies (the phase registry
    ``clearing.node.core.CHECKS``)."""
    return set(CHECKS)


_HEADING = re.compile(r"^#{2,4}\s+(event|response|report|amount|residual)\s+`([^`]+)`\s*$")
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|")


def leakage_table(path: Path = LEAKAGE_MD) -> dict[tuple[str, str], dict[str, str]]:
    """(section, name) -> {field: rest of the row} for every table in the
    leakage document: a heading ``### event `trade``` (or ``response``,
    ``report``, ``amount``, ``residual``) followed by a markdown table whose
    first column is the field in backquotes."""
    tables: dict[tuple[str, str], dict[str, str]] = {}
    cur = None
    for line in path.read_text(encoding="utf-8").splitlines():
        h = _HEADING.match(line)
        if h:
            cur = (h.group(1), h.group(2))
            tables.setdefault(cur, {})
            continue
        if line.startswith("#"):
            cur = None
            continue
        r = _ROW.match(line)
        if r and cur is not None:
            tables[cur][r.group(1)] = line[r.end():].strip()
    return tables


# ---------------------------------------------------------------------------
# The event kinds the built-in scenario does not produce
# ---------------------------------------------------------------------------
def extra_ops_run(base: Path):
    """A small ledger with the event kinds the built-in scenario's runs lack
    (ccp-params, df-epoch, withdraw, assessment-settle, assessment-pay with
    capped assessments), through the harness's public API.  Returns the Sim."""
    directory = Path(base) / "privacy-extra"
    directory.mkdir(parents=True, exist_ok=True)
    sim = basic_sim(directory, members=("A", "B", "C"), df=10**7, seed=b"privacy-extra")
    sim.admit("D")
    sim.deposit("D", 2 * 10**6)
    sim.fund("D", 10**6)
    sim.open_epoch()                                    # df-epoch: window 0 closes, D opened once
    cyc, rid = sim.cycle, sim.rid("ccp")
    sim.engine.set_ccp_parameters(cyc, 10**6, 0, 2, sim.op(ccp_parameters_message(cyc, 10**6, 0, 2, rid)), rid)
    sim.sync()
    sim.trade("x1", "D", "A", "ESX", 100, 500000)       # D long 100 from A
    sim.settle([490000, 200000], MATRIX)                # D loses 5e7 > its cash
    assert sim.margin()["D"] == "payment"
    sim.withdraw("B", 10**6)                            # withdraw: margin proof on cash - w
    sim.declare_default("D")
    index = sim.default_event([480000, 200000])         # tranche 4 in full, assessments capped
    sim.settle_assessment_from_cash("A", index)         # assessment-settle: from hidden cash
    sim.pay_assessment("B", index, 10**8)               # assessment-pay: a grid-sized tagged deposit
    sim.settle_assessment_from_cash("C", index)
    sim.close()
    for m in ("A", "B", "C"):                           # window 1: every member not in default re-files
        sim.fund(m, 10**7)
    sim.open_epoch()
    sim.settle([480000, 200000], MATRIX[1:], version=1, model={"kind": "es", "k": 2})  # expected shortfall (issue 13)
    return sim
