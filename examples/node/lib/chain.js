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

function chainHash(prev, seq, body) {
  return crypto.createHash('sha256')
    .update(prev)
    .update('{"event":')
    .update(body)
    .update(`,"seq":${BigInt(seq).toString()}}`)
    .digest();
}

// Re-check a stream of {seq, body, chain_hash} from `since` (head `prev`):
// consecutive seqs, every body a JSON object, every chain hash recomputed.
// Returns {seq, head, kinds}; throws on the first mismatch.
function verifyChain(events, since = 0n, prev = GENESIS_HASH) {
  let seq = BigInt(since);
  let head = prev;
  const kinds = [];
  for (const e of events) {
    const s = BigInt(e.seq);
    if (s !== seq + 1n) throw new Error(`ledger event ${s} out of order (expected ${seq + 1n})`);
    const body = Buffer.from(e.body);
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

module.exports = { GENESIS_HASH, chainHash, verifyChain };
