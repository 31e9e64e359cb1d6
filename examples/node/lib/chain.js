'use strict';
// The ledger's hash chain (clearing/protocol/encoding.py):
//   h_0 = SHA-256("zkclear.v1/ledger/genesis")
//   h_i = SHA-256(h_{i-1} || canonical({"seq": i, "event": e_i}))
// canonical JSON sorts keys, so the hashed bytes are
//   '{"event":' || body || ',"seq":' || decimal(i) || '}'
// where body is the event's canonical JSON exactly as StreamLedger sends it
// (LedgerEvent.body: the bytes the chain covers).

const crypto = require('node:crypto');

const GENESIS_HASH = crypto.createHash('sha256').update('zkclear.v1/ledger/genesis').digest();

// Is `buf` canonical JSON (docs/wire.md section 2)?  What Python's
// json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
// writes and nothing else: no whitespace, object keys strictly increasing by
// code point (so no duplicates), integers only (no fraction or exponent, no
// leading zero, no "-0"), strings with printable ASCII raw and every other
// character escaped the one way Python does (\" \\ \n \r \t \b \f, else
// \u plus 4 lower-case hex digits, surrogate pairs above U+FFFF), nesting at
// most 32 deep.  A reader checks this before trusting a body's parse: two
// parsers may read non-canonical JSON (duplicate keys) differently, while the
// chain hash covers the bytes.
const SHORT = { '"': '"', '\\': '\\', n: '\n', r: '\r', t: '\t', b: '\b', f: '\f' };

function isCanonicalJson(buf) {
  const s = Buffer.from(buf).toString('latin1');
  let i = 0;
  const fail = () => { throw new Error('not canonical'); };
  const string = () => {
    let out = '';
    i += 1;
    for (;;) {
      if (i >= s.length) fail();
      const c = s[i];
      const code = c.charCodeAt(0);
      if (c === '"') { i += 1; return out; }
      if (c === '\\') {
        const e = s[i + 1];
        if (e in SHORT) { out += SHORT[e]; i += 2; continue; }
        if (e !== 'u' || !/^[0-9a-f]{4}$/.test(s.slice(i + 2, i + 6))) fail();
        const u = parseInt(s.slice(i + 2, i + 6), 16);
        // printable ASCII and the short escapes are never written as \uXXXX
        if ((u >= 0x20 && u <= 0x7e) || '"\\\n\r\t\b\f'.includes(String.fromCharCode(u))) fail();
        out += String.fromCharCode(u);
        i += 6;
        continue;
      }
      if (code < 0x20 || code > 0x7e) fail();
      out += c;
      i += 1;
    }
  };
  const value = (depth) => {
    if (depth > 32) fail();
    const c = s[i];
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i += 1;
      if (s[i] === close) { i += 1; return; }
      let prev = null;
      for (;;) {
        if (c === '{') {
          if (s[i] !== '"') fail();
          const key = string();
          if (prev !== null && !(codePoints(prev) < codePoints(key))) fail();
          prev = key;
          if (s[i] !== ':') fail();
          i += 1;
        }
        value(depth + 1);
        if (s[i] === ',') { i += 1; continue; }
        if (s[i] !== close) fail();
        i += 1;
        return;
      }
    }
    if (c === '"') { string(); return; }
    const atom = /-?(?:0|[1-9][0-9]*)|true|false|null/y;
    atom.lastIndex = i;
    const m = atom.exec(s);
    if (!m || m[0] === '-0' || /[.eE0-9]/.test(s[atom.lastIndex] || '')) fail();
    i = atom.lastIndex;
  };
  try {
    value(0);
    return i === s.length;
  } catch (err) {
    return false;
  }
}

// Keys compare by code point (Python's sort_keys), not by UTF-16 unit.
function codePoints(str) {
  return Array.from(str, (ch) => ch.codePointAt(0).toString(16).padStart(6, '0')).join('');
}

function chainHash(prev, seq, body) {
  return crypto.createHash('sha256')
    .update(prev)
    .update('{"event":')
    .update(body)
    .update(`,"seq":${BigInt(seq).toString()}}`)
    .digest();
}

// Re-check a stream of {seq, body, chain_hash} from `since` (head `prev`):
// consecutive seqs, every body canonical JSON of an object, every chain hash
// recomputed.
// Returns {seq, head, kinds}; throws on the first mismatch.
function verifyChain(events, since = 0n, prev = GENESIS_HASH) {
  let seq = BigInt(since);
  let head = prev;
  const kinds = [];
  for (const e of events) {
    const s = BigInt(e.seq);
    if (s !== seq + 1n) throw new Error(`ledger event ${s} out of order (expected ${seq + 1n})`);
    const body = Buffer.from(e.body);
    if (!isCanonicalJson(body)) throw new Error(`ledger event ${s} is not canonical JSON`);
    const parsed = JSON.parse(body.toString('ascii'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new Error(`ledger event ${s} is not a JSON object`);
    }
    head = chainHash(head, s, body);
    if (!head.equals(Buffer.from(e.chain_hash))) throw new Error(`chain hash of event ${s} does not match`);
    kinds.push(parsed.kind);
    seq = s;
  }
  return { seq, head, kinds };
}

module.exports = { GENESIS_HASH, chainHash, verifyChain, isCanonicalJson };
