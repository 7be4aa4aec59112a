import t, { type Test } from 'tap';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import type { ChildSaInfo } from '../../../firmware/ike/engine/types.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';

function sitePair(overA = {}, overB = {}, seed = 'x') {
  const a = new IkeEngine([connection('to-b', { remoteAddress: B, ...overA })], seededCrypto(`a${seed}`));
  const b = new IkeEngine([connection('to-a', { remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ...overB })], seededCrypto(`b${seed}`));
  const pair = new EnginePair(a, b);
  return { pair, start: () => pair.take('a', a.initiate('to-b', { address: A, port: 500 }, 0)) };
}

const key = (s: Secret<Buffer> | undefined) => s?.reveal().toString('hex');

function mirrored(t: Test, x: ChildSaInfo, y: ChildSaInfo): void {
  t.equal(x.outbound.spi, y.inbound.spi, 'one side sends on the SPI the other chose');
  t.equal(key(x.outbound.encryption), key(y.inbound.encryption), 'and with the key the other decrypts with');
  t.equal(key(x.outbound.integrity), key(y.inbound.integrity));
  t.not(key(x.outbound.encryption), key(x.inbound.encryption), 'the two directions have different keys');
}

t.test('site-to-site with a shared key: both ends up, child SAs mirror each other', async (t) => {
  const { pair, start } = sitePair({ esp: ['aes256-sha1'] }, { esp: ['aes256-sha1'] });
  start();
  pair.run();
  t.equal(pair.of('a', 'ike-up').length, 1);
  t.equal(pair.of('b', 'ike-up')[0]?.remoteId, A, 'the responder names the peer by its ID (its address by default)');
  const [ca] = pair.of('a', 'install-child').map((x) => x.child);
  const [cb] = pair.of('b', 'install-child').map((x) => x.child);
  t.ok(ca && cb);
  mirrored(t, ca!, cb!);
  mirrored(t, cb!, ca!);
  t.equal(ca!.suite, 'aes-cbc-256-hmac-sha1-96');
  t.same([ca!.localTs, ca!.remoteTs, cb!.localTs, cb!.remoteTs], [['10.1.0.0/16'], ['10.2.0.0/16'], ['10.2.0.0/16'], ['10.1.0.0/16']]);
  t.equal(ca!.encapsulation, undefined, 'no NAT, no UDP encapsulation');
  t.ok(pair.logs('b').some((l) => /IKE_AUTH request 1 \[ IDi N\(INITIAL_CONTACT\) AUTH SA TSi TSr N\(MOBIKE_SUPPORTED\) \]/.test(l)), 'one log line per message naming its payloads');
  t.notOk(JSON.stringify(pair.of('a', 'log')).includes('correct horse'), 'the PSK never reaches a log');
});

t.test('a wrong shared key is refused on both sides and nothing stays half-open', async (t) => {
  const { pair, start } = sitePair({}, { psk: new Secret('another key') });
  start();
  pair.run();
  t.equal(pair.of('a', 'ike-up').length + pair.of('b', 'ike-up').length, 0);
  t.ok(pair.logs('b').some((l) => l.includes("shared key mismatch for peer '192.0.2.1'")), 'the responder says why');
  t.match(pair.of('a', 'ike-down')[0]?.reason, /refused IKE_AUTH: AUTHENTICATION_FAILED/);
  t.equal(pair.engines.a!.sas.length + pair.engines.b!.sas.length, 0);
});

t.test('INVALID_KE_PAYLOAD: the initiator retries with the group the responder wants', async (t) => {
  const { pair, start } = sitePair({ ike: ['aes128-sha256-modp2048', 'aes128gcm16-prfsha256-ecp256'] }, { ike: ['aes128gcm16-prfsha256-ecp256'] });
  start();
  pair.run();
  t.ok(pair.logs('b').some((l) => l.includes('asking for 19')));
  t.equal(pair.of('a', 'ike-up').length, 1);
  t.equal(pair.engines.a!.sas[0]?.crypto?.suite.encr.cipher, 'aes-128-gcm');
});

t.test('no common proposal: NO_PROPOSAL_CHOSEN, both sides clean', async (t) => {
  const { pair, start } = sitePair({ ike: ['aes128-sha1-modp2048'] }, { ike: ['aes256-sha384-ecp384'] });
  start();
  pair.run();
  t.match(pair.of('a', 'ike-down')[0]?.reason, /NO_PROPOSAL_CHOSEN/);
  t.equal(pair.engines.b!.sas.length, 0, 'the responder kept no state');
});

t.test('lost and reordered packets: retransmissions complete the exchange, each request answered once', async (t) => {
  const { pair, start } = sitePair();
  // Lose the first IKE_SA_INIT request and the first IKE_AUTH response; delay everything else a little.
  pair.filter = (_p, n) => (n === 0 || n === 3 ? 'drop' : n % 2 ? 5 : 0);
  start();
  pair.run();
  t.equal(pair.of('a', 'install-child').length, 1);
  t.equal(pair.of('b', 'install-child').length, 1, 'a retransmitted IKE_AUTH gets the cached answer, not a second child');
  t.ok(pair.logs('a').some((l) => l.startsWith('retransmit 1 of IKE_SA_INIT')));
  t.ok(pair.logs('a').some((l) => l.startsWith('retransmit 1 of IKE_AUTH')));
});

t.test('traffic selectors are narrowed to what the responder allows', async (t) => {
  const { pair, start } = sitePair({ remoteTs: ['10.2.0.0/16'] }, { localTs: ['10.2.3.0/24'] });
  start();
  pair.run();
  t.same(pair.of('a', 'install-child')[0]?.child.remoteTs, ['10.2.3.0/24']);
  const refused = sitePair({ remoteTs: ['10.9.0.0/16'] });
  refused.start();
  refused.pair.run();
  t.equal(refused.pair.of('a', 'ike-up').length, 1, 'IKE comes up');
  t.equal(refused.pair.of('a', 'install-child').length, 0, 'but no child SA outside the policy');
  t.ok(refused.pair.logs('a').some((l) => l.includes('TS_UNACCEPTABLE')));
});

t.test('delete: the IKE SA and its children go on both sides', async (t) => {
  const { pair, start } = sitePair();
  start();
  pair.run();
  const spi = pair.engines.a!.sas[0]!.spiI;
  pair.take('a', pair.engines.a!.terminate(spi, pair.now));
  pair.run(pair.now + 1000);
  t.equal(pair.of('b', 'delete-child').length, 1);
  t.equal(pair.of('a', 'delete-child').length, 1);
  t.match(pair.of('b', 'ike-down')[0]?.reason, /deleted by the peer/);
  t.equal(pair.engines.a!.sas.length + pair.engines.b!.sas.length, 0);
});

t.test('liveness: a silent peer is detected and the SA closed after the retransmissions', async (t) => {
  const { pair, start } = sitePair({ dpdSeconds: 10 });
  start();
  pair.run(5000);
  t.equal(pair.of('a', 'ike-up').length, 1);
  pair.filter = () => 'drop';
  pair.run(1_000_000);
  t.match(pair.of('a', 'ike-down')[0]?.reason, /no answer to INFORMATIONAL request 2 after 6 tries/);
  t.equal(pair.of('a', 'delete-child').length, 1);
});

t.test('behind a NAT both sides detect it and move to UDP 4500 with encapsulated ESP', async (t) => {
  const { pair, start } = sitePair();
  const NAT = '198.51.100.7';
  const mapped = new Map<number, number>();
  // A sits behind a NAT: its packets leave from NAT:(port + 10000); answers come back the same way.
  pair.nat = (p) => {
    if (p.from.address === A) {
      mapped.set(p.from.port + 10000, p.from.port);
      return { ...p, from: { address: NAT, port: p.from.port + 10000 } };
    }
    if (p.to.address === NAT) return { ...p, to: { address: A, port: mapped.get(p.to.port) ?? 0 } };
    return p;
  };
  pair.addresses.b = B;
  pair.engines.b = new IkeEngine([connection('to-a', { remoteId: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] })], seededCrypto('bnat'));
  start();
  pair.run();
  const a = pair.of('a', 'install-child')[0]?.child;
  const b = pair.of('b', 'install-child')[0]?.child;
  t.same(a?.encapsulation, { localPort: 4500, remotePort: 4500 });
  t.same(b?.encapsulation, { localPort: 4500, remotePort: 14500 }, 'the responder sends to the NAT mapping of 4500');
  t.equal(b?.outbound.destination, NAT);
});

t.test('several child SAs on one IKE SA: CREATE_CHILD_SA for another pair of subnets', async (t) => {
  const { pair, start } = sitePair({ localTs: ['10.1.0.0/16', '10.5.0.0/16'], remoteTs: ['10.2.0.0/16'] }, { remoteTs: ['10.1.0.0/16', '10.5.0.0/16'] });
  start();
  pair.run(5000);
  const sa = pair.engines.a!.sas[0]!;
  pair.take('a', pair.engines.a!.createChild(sa.spiI, pair.now));
  pair.run(pair.now + 2000);
  t.equal(pair.of('a', 'install-child').length, 2, 'two children on A');
  t.equal(pair.of('b', 'install-child').length, 2, 'two on B');
  t.equal(sa.children.length, 2);
  t.not(sa.children[0]?.inbound.spi, sa.children[1]?.inbound.spi, 'each with its own SPIs');
});

t.test('the engine never throws on hostile packets, and counts what it drops', async (t) => {
  const { pair, start } = sitePair();
  start();
  pair.run(5000);
  const engine = pair.engines.b!;
  const captured = pair.of('a', 'send').map((s) => s.packet);
  const { default: fc } = await import('fast-check');
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.tuple(fc.constantFrom(...captured), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 })).map(([p, edits]) => {
    const b = Uint8Array.from(p);
    for (const [at, v] of edits) b[at % b.length] = v;
    return b;
  })), (packet) => {
    engine.handlePacket(packet, { address: '198.51.100.66', port: 500 }, { address: '192.0.2.2', port: 500 }, pair.now);
    return true;
  }), { numRuns: 3000 });
  const dropped = Object.values(engine.drops).reduce((n, x) => n + x, 0);
  t.ok(dropped > 1000, `hostile packets dropped and counted (${dropped}: ${Object.keys(engine.drops).join(', ')})`);
  t.equal(engine.sas.filter((s) => s.state === 'established').length, 1, 'the real SA is untouched');
});
