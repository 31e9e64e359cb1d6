#!/usr/bin/env node
'use strict';
// A zkclear member in Node.js, built from proto/ and docs/wire.md alone: gRPC
// over mutual TLS (@grpc/grpc-js), Ed25519 and SHA-256 from node:crypto, and
// no curve code -- trades go the thin way, through the prover service
// (ProverService.PrepareTrade / CheckAffirmation).
//
//   node client.js --config DIR --name A [--clearing HOST:PORT] [--prover HOST:PORT] ACTION ...
//
// Actions (each prints one JSON object on stdout):
//   register --operator-signature HEX      admission with the operator's signature
//   deposit AMOUNT [--request-id ID]
//   fund AMOUNT [--request-id ID]           default-fund contribution (the prover commits and proves)
//   trade --id ID --with MEMBER --instrument I --side buy|sell --qty Q --price P [--request-id ID]
//   pending                                 trades awaiting this member, checked by the prover
//   affirm TRADE_ID [--qty Q] [--price P] [--side S] [--request-id ID]
//   status                                  the public account and the member's opened balances
//   chain                                   the whole ledger streamed and its hash chain re-checked
//
// Exit status: 0 done, 1 refused (a check of this client or of a service),
// 2 usage or transport error.  Nothing here prints a key or a signature input
// beyond public data.

const path = require('node:path');
const crypto = require('node:crypto');
const { loadConfig, connect, unary, collect, grpc } = require('./lib/services');
const T = require('./lib/tuple');
const { verifyChain } = require('./lib/chain');

const CALL_TIMEOUT = 30;
const PROVE_TIMEOUT = 300;

class Refused extends Error {}

const newRequestId = (prefix) => `${prefix}-${crypto.randomBytes(8).toString('hex')}`;

// The wire Trade (enums as strings, bytes as Buffers) -> the signed tuple's fields.
function tradeFields(w) {
  const side = { SIDE_BUY: 'buy', SIDE_SELL: 'sell' }[w.side];
  if (!side) throw new Refused('trade side is unspecified');
  return {
    trade_id: w.trade_id, cycle: BigInt(w.cycle), buyer: w.buyer, seller: w.seller,
    instrument: w.instrument, side, price: BigInt(w.price), T: Buffer.from(w.commitment),
  };
}

class Member {
  constructor(conf, services) {
    this.conf = conf;
    this.name = conf.name;
    this.clearing = services.clearing;
    this.prover = services.prover;
  }

  close() {
    this.clearing.close();
    this.prover.close();
  }

  sign(msg) {
    return T.sign(this.conf.identityKey, T.encodeTuple(...msg));
  }

  ledgerStatus() {
    return unary(this.clearing, 'GetLedgerStatus', {}, CALL_TIMEOUT);
  }

  async register(operatorSignature, requestId) {
    const p = this.conf.party;
    const res = await unary(this.clearing, 'Register', {
      request_id: requestId || `reg-${this.name}`, member: this.name,
      identity_key: Buffer.from(p.ed25519_public, 'hex'), relay_key: Buffer.from(p.x25519_public, 'hex'),
      relay_signature: Buffer.from(p.x25519_binding, 'hex'), operator_signature: Buffer.from(operatorSignature, 'hex'),
    }, CALL_TIMEOUT);
    return { seq: res.seq };
  }

  async deposit(amount, requestId) {
    const rid = requestId || newRequestId('dep');
    const { cycle } = await this.ledgerStatus();
    const signature = this.sign(T.depositMessage(this.name, amount, cycle, rid));
    const res = await unary(this.clearing, 'Deposit', {
      request_id: rid, member: this.name, amount: String(amount), cycle, signature,
    }, CALL_TIMEOUT);
    return { seq: res.seq, request_id: rid };
  }

  async fund(amount, requestId) {
    const rid = requestId || newRequestId('df');
    const { epoch } = await this.ledgerStatus();
    const { df } = await unary(this.prover, 'PrepareFunding',
      { request_id: rid, member: this.name, amount: String(amount) }, PROVE_TIMEOUT);
    const signature = this.sign(T.fundingMessage(this.name, epoch, df, rid));
    const proof = await unary(this.prover, 'ProveFunding',
      { request_id: rid, member: this.name, df, epoch, signature }, PROVE_TIMEOUT);
    const res = await unary(this.clearing, 'FundDefault', {
      request_id: rid, member: this.name, df, epoch, ctx_seq: proof.ctx_seq, proof: proof.proof, signature,
    }, PROVE_TIMEOUT);
    return { seq: res.seq, request_id: rid };
  }

  // The thin initiator: the prover commits and proves; this client checks the
  // row and the tuple bytes against what it asked for, signs, submits.
  async trade({ id, counterparty, instrument, side, qty, price, requestId }) {
    if (side !== 'buy' && side !== 'sell') throw new Refused('side must be buy or sell');
    const rid = requestId || newRequestId('trade');
    const { cycle } = await this.ledgerStatus();
    const got = await unary(this.prover, 'PrepareTrade', {
      request_id: rid, member: this.name, trade_id: id, cycle, counterparty, instrument,
      side: side === 'buy' ? 'SIDE_BUY' : 'SIDE_SELL', price: String(price), quantity: String(qty),
    }, PROVE_TIMEOUT);
    const t = tradeFields(got.trade);
    const [buyer, seller] = side === 'buy' ? [this.name, counterparty] : [counterparty, this.name];
    const asked = { trade_id: id, cycle: BigInt(cycle), buyer, seller, instrument, side, price: BigInt(price) };
    for (const [k, v] of Object.entries(asked)) {
      if (t[k] !== v) throw new Refused(`the prover's trade row differs from the terms asked for (${k})`);
    }
    if (t.T.length !== 32) throw new Refused('the prover returned no 32-byte commitment');
    const tuple = T.tradeTuple(t);
    if (!tuple.equals(Buffer.from(got.trade_tuple))) throw new Refused("the prover's tuple is not the row's encoding");
    const signature = T.sign(this.conf.identityKey, tuple);
    const res = await unary(this.clearing, 'SubmitTrade', {
      request_id: rid, trade: got.trade, proof: got.proof, signature,
      sealed_counterparty: got.sealed_counterparty, sealed_prover: got.sealed_prover,
    }, PROVE_TIMEOUT);
    return { trade_id: id, T: t.T.toString('hex'), status: res.status, seq: res.seq, request_id: rid };
  }

  // A pending trade checked by the prover: its row must be the node's.
  async check(pending) {
    const offered = tradeFields(pending.trade);
    const got = await unary(this.prover, 'CheckAffirmation',
      { member: this.name, trade_id: offered.trade_id }, CALL_TIMEOUT);
    const checked = tradeFields(got.trade);
    for (const k of Object.keys(offered)) {
      const same = k === 'T' ? offered.T.equals(checked.T) : offered[k] === checked[k];
      if (!same) throw new Refused(`the prover checked another trade row (${k})`);
    }
    const tuple = T.encodeTuple(...T.affirmationMessage(offered, this.name));
    if (!tuple.equals(Buffer.from(got.affirmation_tuple))) throw new Refused("the prover's affirmation tuple is not ours");
    return { trade: offered, quantity: BigInt(got.quantity), tuple };
  }

  async pending() {
    const list = await collect(this.clearing, 'StreamPendingTrades', { member: this.name }, CALL_TIMEOUT);
    const out = [];
    for (const p of list) {
      try {
        const c = await this.check(p);
        out.push({ trade_id: c.trade.trade_id, quantity: c.quantity.toString(), price: c.trade.price.toString(),
          side: c.trade.side, buyer: c.trade.buyer, seller: c.trade.seller, instrument: c.trade.instrument });
      } catch (err) {
        if (!(err instanceof Refused) && err.code !== grpc.status.FAILED_PRECONDITION) throw err;
      }
    }
    return { pending: out };
  }

  async affirm(tradeId, expect, requestId) {
    const list = await collect(this.clearing, 'StreamPendingTrades', { member: this.name }, CALL_TIMEOUT);
    const p = list.find((x) => x.trade.trade_id === tradeId);
    if (!p) throw new Refused(`no pending trade ${tradeId} for ${this.name}`);
    const c = await this.check(p);
    const got = { quantity: c.quantity, price: c.trade.price, side: c.trade.side };
    for (const [k, v] of Object.entries(expect)) {
      if (v !== undefined && got[k] !== v) throw new Refused(`trade ${tradeId}: ${k} differs from the agreed terms`);
    }
    const signature = T.sign(this.conf.identityKey, c.tuple);
    const res = await unary(this.clearing, 'AffirmTrade', {
      request_id: requestId || newRequestId('aff'), trade_id: tradeId, member: this.name, signature,
    }, PROVE_TIMEOUT);
    return { trade_id: tradeId, status: res.status, seq: res.seq };
  }

  async status() {
    const a = await unary(this.clearing, 'GetAccount', { member: this.name }, CALL_TIMEOUT);
    const b = await unary(this.prover, 'GetBalances', { member: this.name }, CALL_TIMEOUT);
    return { member: this.name, status: a.status, version: a.version, funded: a.funded,
      cash: b.cash, df: b.df, pos: b.positions, due: b.due };
  }

  // The whole public ledger, its chain re-hashed here and compared with the
  // node's own head.
  async chain() {
    const events = await collect(this.clearing, 'StreamLedger', { since: '0' }, CALL_TIMEOUT);
    const { seq, head, kinds } = verifyChain(events);
    const st = await this.ledgerStatus();
    if (BigInt(st.seq) === seq && !Buffer.from(st.head).equals(head)) {
      throw new Refused("the node's head differs from the re-hashed chain");
    }
    return { seq: seq.toString(), head: head.toString('hex'), kinds,
      node_seq: st.seq, node_head: Buffer.from(st.head).toString('hex') };
  }
}

// --- command line ------------------------------------------------------------
function parse(argv) {
  const opts = {};
  const pos = [];
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (a.startsWith('--')) {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      opts[a.slice(2)] = argv[i += 1];
    } else {
      pos.push(a);
    }
  }
  return { opts, pos };
}

const big = (s, what) => {
  if (s === undefined) return undefined;
  if (!/^(0|[1-9][0-9]*)$/.test(s)) throw new Error(`${what} must be a non-negative integer`);
  return BigInt(s);
};

async function main(argv) {
  const { opts, pos } = parse(argv);
  const [action, arg] = pos;
  if (!opts.config || !opts.name || !action) {
    throw new Error('usage: client.js --config DIR --name MEMBER [--clearing H:P] [--prover H:P] ACTION ...');
  }
  const conf = loadConfig(opts.config, opts.name);
  const protoRoot = opts.proto || path.resolve(__dirname, '..', '..', 'proto');
  const m = new Member(conf, connect(conf, protoRoot, opts.clearing, opts.prover));
  try {
    switch (action) {
      case 'register': return await m.register(opts['operator-signature'], opts['request-id']);
      case 'deposit': return await m.deposit(big(arg, 'amount'), opts['request-id']);
      case 'fund': return await m.fund(big(arg, 'amount'), opts['request-id']);
      case 'trade': return await m.trade({
        id: opts.id, counterparty: opts.with, instrument: opts.instrument, side: opts.side,
        qty: big(opts.qty, 'qty'), price: big(opts.price, 'price'), requestId: opts['request-id'],
      });
      case 'pending': return await m.pending();
      case 'affirm': return await m.affirm(arg, {
        quantity: big(opts.qty, 'qty'), price: big(opts.price, 'price'), side: opts.side,
      }, opts['request-id']);
      case 'status': return await m.status();
      case 'chain': return await m.chain();
      default: throw new Error(`unknown action ${action}`);
    }
  } finally {
    m.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((out) => {
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }, (err) => {
    if (err instanceof Refused) {
      process.stderr.write(`refused: ${err.message}\n`);
      process.exitCode = 1;
    } else if (err && err.code !== undefined && err.details !== undefined) {
      const code = Object.keys(grpc.status).find((k) => grpc.status[k] === err.code) || err.code;
      process.stderr.write(`error: ${code}: ${err.details}\n`);
      const transport = err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED;
      process.exitCode = transport ? 2 : 1;
    } else {
      process.stderr.write(`error: ${err && err.message}\n`);
      process.exitCode = 2;
    }
  });
}

module.exports = { Member, Refused, tradeFields, main };
