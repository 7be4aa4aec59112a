/**
 * The body of a DH worker thread (dh-worker-pool.ts), as source text: `new Worker(…, { eval: true })`
 * runs it the same from the TypeScript sources and from the single-file bundle, which has no worker
 * file beside it. Plain CommonJS, nothing of ours imported: the group's parameters come in each
 * message (dh.ts's `DhSpec`), and peer values arrive already checked for length and range
 * (dh.ts's `peerValueAcceptable`). Stateless: key pairs made in batches, secrets computed from a
 * private key and a peer's value.
 *
 * In:  { op: 'keys', spec, count } · { op: 'secrets', jobs: [{ id, spec, privateKey, peer }] }
 * Out: { op: 'keys', spec, keys: [{ privateKey, publicValue }] } · { op: 'secrets', results: [{ id, secret }] }
 * (secret null: OpenSSL refused the value, a point not on the curve.)
 */
export const DH_WORKER_SOURCE = String.raw`
'use strict';
const { parentPort } = require('node:worker_threads');
const { createDiffieHellman, createECDH, getDiffieHellman } = require('node:crypto');
const leftPad = (value, size) => {
  if (value.length >= size) return value;
  const out = Buffer.alloc(size);
  value.copy(out, size - value.length);
  return out;
};
function keyPair(spec) {
  if (spec.kind === 'modp') {
    const dh = getDiffieHellman(spec.name);
    dh.generateKeys();
    return { privateKey: dh.getPrivateKey(), publicValue: leftPad(dh.getPublicKey(), spec.size) };
  }
  const ecdh = createECDH(spec.curve);
  ecdh.generateKeys();
  return { privateKey: ecdh.getPrivateKey(), publicValue: ecdh.getPublicKey().subarray(1) };
}
function secret(spec, privateKey, peer) {
  try {
    if (spec.kind === 'modp') {
      const group = getDiffieHellman(spec.name);
      const dh = createDiffieHellman(group.getPrime(), group.getGenerator());
      dh.setPrivateKey(privateKey);
      return leftPad(dh.computeSecret(peer), spec.size);
    }
    const ecdh = createECDH(spec.curve);
    ecdh.setPrivateKey(privateKey);
    return leftPad(ecdh.computeSecret(Buffer.concat([Buffer.of(4), peer])), spec.size);
  } catch {
    return null;
  }
}
parentPort.on('message', (m) => {
  if (m.op === 'keys') {
    const keys = [];
    for (let i = 0; i < m.count; i++) keys.push(keyPair(m.spec));
    parentPort.postMessage({ op: 'keys', spec: m.spec, keys });
  } else if (m.op === 'secrets') {
    parentPort.postMessage({ op: 'secrets', results: m.jobs.map((j) => ({ id: j.id, secret: secret(j.spec, Buffer.from(j.privateKey), Buffer.from(j.peer)) })) });
  }
});
`;
