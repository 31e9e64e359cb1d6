'use strict';
// Channels to the clearing node and the prover service over mutual TLS, from
// a `zkclear init` directory (zkclear.json: the roster and every party's
// files; services.json: the endpoints), and promise-returning calls with a
// deadline and retries of UNAVAILABLE / RESOURCE_EXHAUSTED under the same
// request (the services answer a repeated request id with the recorded
// result: proto/zkclear/v1/common.proto).

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const RETRIED = new Set([grpc.status.UNAVAILABLE, grpc.status.RESOURCE_EXHAUSTED]);
const ATTEMPTS = 5;

function loadConfig(dir, name) {
  const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'zkclear.json'), 'utf8'));
  const party = cfg.parties.find((p) => p.name === name);
  if (!party || party.role !== 'member') throw new Error(`${name} is not a member of ${dir}`);
  let endpoints = {};
  const services = path.join(dir, 'services.json');
  if (fs.existsSync(services)) endpoints = JSON.parse(fs.readFileSync(services, 'utf8')).endpoints || {};
  const read = (rel) => fs.readFileSync(path.join(dir, rel));
  return {
    name,
    party,
    endpoints,
    ca: read(cfg.ca.cert),
    cert: read(party.cert),
    tlsKey: read(party.tls_key),
    identityKey: crypto.createPrivateKey(read(party.identity_key)),
  };
}

function loadProtos(protoRoot) {
  const defs = protoLoader.loadSync(['zkclear/v1/clearing.proto', 'zkclear/v1/prover.proto'], {
    includeDirs: [protoRoot], keepCase: true, longs: String, enums: String, bytes: Buffer, defaults: true,
  });
  return grpc.loadPackageDefinition(defs).zkclear.v1;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// client.Method(request) -> Promise, with a deadline and retries (same request).
function unary(client, method, request, timeoutS) {
  const once = () => new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + timeoutS * 1000);
    client[method](request, { deadline }, (err, res) => (err ? reject(err) : resolve(res)));
  });
  return (async () => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await once();
      } catch (err) {
        if (!RETRIED.has(err.code) || attempt >= ATTEMPTS) throw err;
        await sleep(Math.min(100 * 2 ** attempt, 2000) * (0.5 + Math.random() / 2));
      }
    }
  })();
}

// A server stream collected into an array.
function collect(client, method, request, timeoutS) {
  return new Promise((resolve, reject) => {
    const out = [];
    const call = client[method](request, { deadline: new Date(Date.now() + timeoutS * 1000) });
    call.on('data', (m) => out.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(out));
  });
}

function connect(conf, protoRoot, clearingTarget, proverTarget) {
  const pkg = loadProtos(protoRoot);
  const creds = grpc.credentials.createSsl(conf.ca, conf.tlsKey, conf.cert);
  return {
    pkg,
    clearing: new pkg.ClearingService(clearingTarget || conf.endpoints.clearing, creds),
    prover: new pkg.ProverService(proverTarget || conf.endpoints.prover, creds),
  };
}

module.exports = { loadConfig, loadProtos, connect, unary, collect, grpc };
