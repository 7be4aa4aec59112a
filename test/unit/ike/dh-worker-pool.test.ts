import fc from 'fast-check';
import t from 'tap';
import { createDh, type DhExchange } from '../../../firmware/ike/crypto/dh.ts';
import { DhWorkerPool } from '../../../firmware/ike/crypto/dh-worker-pool.ts';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import type { IkeCryptoProvider } from '../../../firmware/ike/engine/types.ts';
import { IkeShell } from '../../../firmware/ike/shell/ike-shell.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
const ECP = 'aes128gcm16-prfsha256-ecp256';

/** Until the workers have answered everything asked of them (a deadline, not a sleep). */
async function settled(pool: DhWorkerPool): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (pool.pending > 0) {
    if (Date.now() > deadline) throw new Error(`the DH workers did not answer in 10 s (${pool.pending} pending)`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** An initiator (seeded crypto, or the one given) and a responder whose DH comes from the pool. */
function pairWith(pool: DhWorkerPool, ike = ECP, initiatorCrypto: IkeCryptoProvider = seededCrypto('a')) {
  const a = new IkeEngine([connection('to-b', { remoteAddress: B, ike: [ike] })], initiatorCrypto);
  const b = new IkeEngine([connection('to-a', { remoteAddress: A, ike: [ike], localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] })], { ...seededCrypto('b'), createDh: pool.createDh });
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  return pair;
}

const mirrored = (pair: EnginePair) => {
  const [ca] = pair.of('a', 'install-child').map((x) => x.child);
  const [cb] = pair.of('b', 'install-child').map((x) => x.child);
  return Boolean(ca && cb && ca.outbound.encryption.reveal().equals(cb.inbound.encryption.reveal()) && cb.outbound.encryption.reveal().equals(ca.inbound.encryption.reveal()));
};

t.test('a worker-made key pair and a worker-computed secret agree with the peer, for ECP-256, ECP-384 and MODP-2048', async (t) => {
  const pool = new DhWorkerPool({ workers: 1, stock: 4, groups: [19, 20, 14] });
  t.teardown(() => pool.close());
  await settled(pool);
  for (const group of [19, 20, 14]) {
    const ours = pool.createDh(group)!;
    const theirs = createDh(group)!;
    t.equal(ours.publicValue.length, theirs.publicValue.length, `group ${group}: the public value has the group's length`);
    t.ok(ours.prepare?.(theirs.publicValue), `group ${group}: the peer's value accepted for the worker`);
    await settled(pool);
    t.same(Buffer.from(ours.computeSecret(theirs.publicValue)!), Buffer.from(theirs.computeSecret(ours.publicValue)!), `group ${group}: the same secret on both sides`);
  }
  t.equal(pool.counters.pooledKeys, 3, 'every key pair came from the stock');
  t.equal(pool.counters.offloadedSecrets, 3, 'every secret came from the worker');
  t.equal(pool.counters.inlineSecrets, 0);
});

t.test('a responder on the pool: IKE_SA_INIT answered with a stocked key, the secret back from the worker by IKE_AUTH', async (t) => {
  const pool = new DhWorkerPool({ workers: 1, stock: 8, groups: [19] });
  t.teardown(() => pool.close());
  await settled(pool);
  const pair = pairWith(pool);
  pair.run(25); // the IKE_SA_INIT exchange; the initiator's IKE_AUTH is on the wire (due at 30 ms)
  t.equal(pair.of('b', 'install-child').length, 0);
  t.ok(pair.engines.b!.sas[0]?.keysToDerive, 'the responder has no keys yet: its secret is in the worker');
  await settled(pool);
  pair.run();
  t.equal(pair.of('a', 'ike-up').length, 1);
  t.equal(pair.of('b', 'ike-up').length, 1);
  t.ok(mirrored(pair), 'the children\'s keys mirror each other');
  t.same([pool.counters.pooledKeys, pool.counters.offloadedSecrets, pool.counters.inlineSecrets], [1, 1, 0]);
  t.equal(pair.engines.b!.sas[0]?.keysToDerive, undefined);
});

t.test('a secret not back when IKE_AUTH comes, and an empty stock: computed on the main thread, the setup the same', async (t) => {
  const pool = new DhWorkerPool({ workers: 1, stock: 8 }); // nothing stocked yet: the first key is made inline
  t.teardown(() => pool.close());
  const pair = pairWith(pool, 'aes256-sha256-modp2048');
  pair.run(); // synchronously: no turn of the event loop for the worker's answer
  t.equal(pair.of('b', 'ike-up').length, 1);
  t.ok(mirrored(pair));
  t.equal(pool.counters.inlineKeys, 1);
  await settled(pool);
  const second = pairWith(pool, 'aes256-sha256-modp2048');
  second.run();
  t.equal(second.of('b', 'ike-up').length, 1);
  t.same([pool.counters.pooledKeys, pool.counters.inlineSecrets], [1, 1], 'a stocked key, its secret computed inline from its private key');
});

t.test('bad public values: the range refused at IKE_SA_INIT (INVALID_SYNTAX), a point off the curve at IKE_AUTH, both counted', async (t) => {
  const pool = new DhWorkerPool({ workers: 1, stock: 4, groups: [19, 14] });
  t.teardown(() => pool.close());
  await settled(pool);
  const liar = (publicValue: Uint8Array): IkeCryptoProvider => ({
    ...seededCrypto('liar'),
    createDh: (group): DhExchange => ({ group, publicValue, computeSecret: () => new Uint8Array(publicValue.length / (group === 19 ? 2 : 1)).fill(7) }),
  });
  const one = new Uint8Array(256);
  one[255] = 1;
  const range = pairWith(pool, 'aes256-sha256-modp2048', liar(one));
  range.run();
  t.match(range.of('a', 'ike-down')[0]?.reason, /INVALID_SYNTAX/, 'MODP value 1: refused in the first answer');
  t.equal(range.engines.b!.sas.length, 0, 'no state kept');
  const offCurve = pairWith(pool, ECP, liar(new Uint8Array(64).fill(1)));
  offCurve.run(25);
  await settled(pool);
  offCurve.run();
  t.ok(offCurve.logs('b').some((l) => l.includes('invalid Diffie-Hellman public value')), 'the responder closes the SA and says why');
  t.equal(offCurve.of('b', 'ike-up').length, 0);
  t.equal(offCurve.engines.b!.sas.length, 0);
  t.equal(pool.counters.refusedValues, 2);
});

t.test('fuzz: any bytes as the peer value never throw, and are refused or answered', async (t) => {
  const pool = new DhWorkerPool({ workers: 1, stock: 64, groups: [19, 14] });
  t.teardown(() => pool.close());
  await settled(pool);
  let runs = 0;
  fc.assert(fc.property(fc.constantFrom(19, 14), fc.uint8Array({ maxLength: 300 }), (group, peer) => {
    runs++;
    const dh = pool.createDh(group)!;
    const accepted = dh.prepare!(peer);
    const secret = dh.computeSecret(peer);
    return accepted || secret === undefined;
  }), { numRuns: 100 });
  t.equal(runs, 100);
  await settled(pool);
});

t.test('after close the pool works inline: a secret not back is computed on the main thread', async (t) => {
  const pool = new DhWorkerPool({ workers: 1, stock: 4, groups: [19] });
  await settled(pool);
  const dh = pool.createDh(19)!;
  const peer = createDh(19)!;
  t.ok(dh.prepare!(peer.publicValue));
  await pool.close();
  t.same(Buffer.from(dh.computeSecret(peer.publicValue)!), Buffer.from(peer.computeSecret(dh.publicValue)!), 'the secret computed here instead');
  t.equal(pool.counters.inlineSecrets, 1);
  const after = pool.createDh(19)!;
  t.equal(after.prepare, undefined, 'a closed pool hands out plain inline exchanges');
  t.equal(after.publicValue.length, 64);
});

t.test('settled(): nothing out, no wait; a secret out, a wait until it is back; a stuck worker, until the deadline', async (t) => {
  const pool = new DhWorkerPool({ workers: 1, stock: 4, groups: [19] });
  t.teardown(() => pool.close());
  await settled(pool);
  t.equal(pool.settled(), undefined, 'no job out: packets go at once');
  const dh = pool.createDh(19)!;
  const peer = createDh(19)!;
  dh.prepare!(peer.publicValue);
  const wait = pool.settled(10_000);
  t.ok(wait);
  await wait;
  t.equal(pool.pending, 0, 'resolved once the answer was in');
  t.ok(dh.computeSecret(peer.publicValue));
  t.equal(pool.counters.offloadedSecrets, 1);
  const late = pool.createDh(19)!;
  late.prepare!(peer.publicValue);
  const started = performance.now();
  await pool.settled(1); // before the job has even left: only the deadline can end this wait
  t.ok(performance.now() - started < 5_000);
  await settled(pool);
});

t.test('the shell holds packets while the gate is shut and hands them on in order, and at once when it is open', async (t) => {
  const seen: string[] = [];
  const engine = {
    handlePacket: (p: Uint8Array) => (seen.push(Buffer.from(p).toString()), []),
    initiate: () => [], terminate: () => [], tick: () => [], nextTimeout: () => undefined,
  };
  let open: () => void = () => {};
  let gate: Promise<void> | undefined = new Promise<void>((r) => (open = r));
  const shell = new IkeShell(engine, createLogger({ level: 'error', sink: () => {} }), () => {}, Date.now, () => gate);
  const at = { address: A, port: 500 };
  shell.receive(Buffer.from('one'), at, at);
  shell.receive(Buffer.from('two'), at, at);
  t.same(seen, [], 'held while a secret is out');
  gate = undefined;
  shell.receive(Buffer.from('three'), at, at);
  t.same(seen, [], 'behind the held ones even with the gate open');
  open();
  await new Promise((r) => setImmediate(r));
  t.same(seen, ['one', 'two', 'three'], 'in the order they came');
  shell.receive(Buffer.from('four'), at, at);
  t.same(seen, ['one', 'two', 'three', 'four'], 'no wait: handed on at once');
  await shell.close();
});
