'use strict';
// The canonical tuple encoding every zkclear signature covers
// (clearing/protocol/signing.py, docs/wire.md), and the signed messages a
// member makes (clearing/protocol/messages.py).
//
//   message = "zkclear.v1/" || kind || 0x00 || u32(#fields) || field*
//   field   = u32(len(name)) || name || value
//   value   = 0x00 None | 0x01 false | 0x02 true
//           | 0x03 u32(n) magnitude[n]  (int >= 0, minimal big-endian; 0 is empty)
//           | 0x04 u32(n) magnitude[n]  (int < 0)
//           | 0x05 u32(n) utf8[n] | 0x06 u32(n) raw[n] | 0x07 u32(k) value*k
//
// Integers are BigInt (or safe Numbers); bytes are Buffers; strings are
// strings; arrays are sequences.

const crypto = require('node:crypto');

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function magnitude(v) {
  let hex = v.toString(16);
  if (v === 0n) return Buffer.alloc(0);
  if (hex.length % 2) hex = '0' + hex;
  return Buffer.from(hex, 'hex');
}

function encodeValue(v, depth = 0) {
  if (depth > 16) throw new Error('tuple nested too deeply');
  if (v === null || v === undefined) return Buffer.from([0x00]);
  if (v === false) return Buffer.from([0x01]);
  if (v === true) return Buffer.from([0x02]);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new Error('integers must be safe integers or BigInt');
    v = BigInt(v);
  }
  if (typeof v === 'bigint') {
    const m = magnitude(v < 0n ? -v : v);
    return Buffer.concat([Buffer.from([v < 0n ? 0x04 : 0x03]), u32(m.length), m]);
  }
  if (typeof v === 'string') {
    const s = Buffer.from(v, 'utf8');
    return Buffer.concat([Buffer.from([0x05]), u32(s.length), s]);
  }
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) {
    const b = Buffer.from(v);
    return Buffer.concat([Buffer.from([0x06]), u32(b.length), b]);
  }
  if (Array.isArray(v)) {
    return Buffer.concat([Buffer.from([0x07]), u32(v.length), ...v.map((x) => encodeValue(x, depth + 1))]);
  }
  throw new Error(`cannot encode a ${typeof v}`);
}

function encodeTuple(kind, fields) {
  if (!NAME_RE.test(kind)) throw new Error('bad kind');
  const seen = new Set();
  const parts = [Buffer.from(`zkclear.v1/${kind}\0`, 'ascii'), u32(fields.length)];
  for (const [name, value] of fields) {
    if (!NAME_RE.test(name) || seen.has(name)) throw new Error('bad or duplicate field name');
    seen.add(name);
    const n = Buffer.from(name, 'ascii');
    parts.push(u32(n.length), n, encodeValue(value));
  }
  return Buffer.concat(parts);
}

const sha256 = (b) => crypto.createHash('sha256').update(b).digest();

// --- the member's messages (clearing/protocol/messages.py) --------------------
const depositMessage = (member, amount, cycle, requestId) =>
  ['deposit', [['member', member], ['amount', BigInt(amount)], ['cycle', BigInt(cycle)], ['request-id', requestId]]];

const fundingMessage = (member, epoch, df, requestId) =>
  ['default-funding', [['member', member], ['epoch', BigInt(epoch)], ['df', df], ['request-id', requestId]]];

// trade: {trade_id, cycle, buyer, seller, instrument, side: "buy"|"sell", price, T: Buffer(32)}
const tradeMessage = (t) => ['trade', [
  ['trade-id', t.trade_id], ['cycle', BigInt(t.cycle)], ['buyer', t.buyer], ['seller', t.seller],
  ['instrument', t.instrument], ['side', t.side], ['price', BigInt(t.price)], ['T', t.T],
]];

const tradeTuple = (t) => encodeTuple(...tradeMessage(t));

const affirmationMessage = (t, member) =>
  ['affirmation', [['trade-id', t.trade_id], ['member', member], ['trade', sha256(tradeTuple(t))]]];

// Ed25519 over the canonical bytes (the identity key: PKCS#8 PEM from `zkclear init`).
const sign = (privateKey, bytes) => crypto.sign(null, bytes, privateKey);

module.exports = {
  encodeTuple, encodeValue, sha256, sign,
  depositMessage, fundingMessage, tradeMessage, tradeTuple, affirmationMessage,
};
