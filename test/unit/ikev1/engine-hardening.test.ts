// IKEv1 engine hardening (issue 19): what a damaged, forged or replayed packet must not do. A
// message 5 that does not decrypt leaves the half-open SA for the peer's retransmission; a Quick
// Mode message whose HASH fails does not move the SA's NAT endpoint.
import t from 'tap';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { exchangeIv, seal } from '../../../firmware/ikev1/engine/protect.ts';
import { encodeIsakmpMessage } from '../../../firmware/ikev1/message.ts';
import { ExchangeType } from '../../../firmware/ikev1/registry.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair, type InFlight } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
type Over = Partial<IkeConnection> & { ike?: string[]; esp?: string[] };

function pairOf(overA: Over = {}, overB: Over = {}) {
  const base = { ike: ['aes128-sha1-modp2048'], esp: ['aes128-sha1'] };
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'], ...overA })], seededCrypto('ha'));
  const b = new Ikev1Engine([connection('to-a', { ...base, remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ...overB })], seededCrypto('hb'));
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  const start = () => pair.take('a', a.initiate('to-b', { address: A, port: 500 }, pair.now));
  return { pair, start };
}

const isEncryptedMainMode = (p: InFlight) => p.packet[18] === 2 && (p.packet[19]! & 1) === 1;
/** A copy with the first ciphertext block damaged: it decrypts to garbage, not to a payload chain. */
const damaged = (packet: Uint8Array) => {
  const copy = Buffer.from(packet);
  for (let i = 28; i < 44; i++) copy[i] = copy[i]! ^ 0x5a;
  return copy;
};

t.test('a damaged message 5 is counted and dropped; the retransmission completes Main Mode', async (t) => {
  const { pair, start } = pairOf();
  let hit = 0;
  pair.filter = (p) => {
    if (p.from.address === A && isEncryptedMainMode(p) && hit++ === 0) p.packet = damaged(p.packet); // a new buffer: A's own copy stays intact
    return 'deliver';
  };
  start();
  pair.run(60_000);
  t.equal(pair.engines.b.drops['undecryptable'], 1, 'B counted the damaged message');
  t.ok(pair.logs('b').some((l) => /message 5 does not decrypt .*dropped, waiting for a retransmission/.test(l)), 'and said what it does');
  t.equal(pair.of('b', 'ike-up').length, 1, 'the half-open SA survived: A\'s retransmitted message 5 brought it up');
  t.equal(pair.of('a', 'install-child').length, 1, 'and Quick Mode followed');
});

t.test('a wrong pre-shared key: message 5 never decrypts, the SA closes naming the keys, no crash', async (t) => {
  const { pair, start } = pairOf({}, { psk: new Secret('not the same key at all') });
  start();
  pair.run(120_000);
  t.equal(pair.of('b', 'ike-up').length, 0);
  t.ok(pair.logs('b').some((l) => /pre-shared keys differ/.test(l)), 'B names the cause at the first failure');
  t.match(pair.engines.b.sas[0]?.history.join('\n'), /closed: .*pre-shared keys differ/, 'and when it gives up');
  t.ok((pair.engines.b.drops['undecryptable'] ?? 0) >= 2, `each retransmission tried afresh (${pair.engines.b.drops['undecryptable']})`);
});

t.test('behind a NAT, a Quick Mode message with a bad HASH from elsewhere does not move the SA', async (t) => {
  const { pair, start } = pairOf({}, { remoteAddress: undefined as unknown as string, remoteId: A });
  const NAT = '198.51.100.7';
  pair.nat = (p) => (p.from.address === A ? { ...p, from: { address: NAT, port: p.from.port + 10000 } } : p.to.address === NAT ? { ...p, to: { address: A, port: p.to.port - 10000 } } : p);
  start();
  pair.run(30_000);
  const sa = pair.engines.b.sas[0]!;
  t.equal(sa.state, 'established');
  t.same(sa.remote, { address: NAT, port: 14500 });
  // A Quick Mode from another address that decrypts (sealed with the SA's own keys, as a replay of
  // a peer's bytes under a new IV would not) but whose HASH(1) is wrong.
  const mid = 0x01020304;
  const forged = seal(sa, { iv: exchangeIv(sa, mid) }, ExchangeType.QUICK_MODE, mid, [{ kind: 'HASH', data: new Uint8Array(20) }, { kind: 'NONCE', data: new Uint8Array(32) }]);
  pair.take('b', pair.engines.b.handlePacket(forged, { address: '203.0.113.66', port: 4500 }, { address: B, port: 4500 }, pair.now));
  t.ok(pair.logs('b').some((l) => /HASH\(1\) does not match/.test(l)), 'the forged message decrypted and was refused on its HASH');
  t.same(sa.remote, { address: NAT, port: 14500 }, 'the SA still answers at the NAT mapping');
});

t.test('retransmission backs off: 2 s, then doubling; Main Mode gives up at its half-open timeout, Quick Mode after five resends', async (t) => {
  const { pair, start } = pairOf();
  pair.filter = (p) => (p.from.address === A ? 'drop' : 'deliver');
  start();
  pair.run(600_000);
  const sentAt = pair.wireLog.filter((p) => p.from.address === A).map((p) => p.at - pair.latencyMs);
  t.same(sentAt, [0, 2_000, 6_000, 14_000], 'message 1 at 0 s and again after 2, 4 and 8 s');
  t.same(new Set(pair.wireLog.map((p) => Buffer.from(p.packet).toString('hex'))).size, 1, 'each time the same bytes (a retransmission, not a new exchange)');
  t.match(pair.engines.a.sas[0]?.history.join('\n'), /mm1 -> closed: Main Mode not complete after 30 s/, 'then the half-open SA goes, saying why');
  t.equal(pair.of('a', 'ike-up').length, 0);
  // Phase 1 up, every Quick Mode answer lost: QM1 resent with the same backoff, then abandoned.
  const qm = pairOf();
  const isQuickMode = (p: InFlight) => p.packet[18] === ExchangeType.QUICK_MODE;
  qm.pair.filter = (p) => (p.from.address === B && isQuickMode(p) ? 'drop' : 'deliver');
  qm.start();
  qm.pair.run(600_000);
  const qm1 = qm.pair.wireLog.filter((p) => p.from.address === A && isQuickMode(p)).map((p) => p.at);
  t.same(qm1.map((at) => at - qm1[0]!), [0, 2_000, 6_000, 14_000, 30_000, 62_000], 'QM1 at 0 s and again after 2, 4, 8, 16 and 32 s');
  t.ok(qm.pair.logs('a').some((l) => /^Quick Mode [0-9a-f]+ with 192\.0\.2\.2 abandoned: no answer \(connection to-b\)$/.test(l)), 'then abandoned with a line that says so');
  t.equal(qm.pair.of('a', 'install-child').length, 0);
});

t.test('once phase 1 is up, informationals count only encrypted under its keys: a plaintext Delete or notify changes nothing', async (t) => {
  const { pair, start } = pairOf();
  start();
  pair.run(10_000);
  const sa = pair.engines.b.sas[0]!;
  const child = pair.of('b', 'install-child')[0]!.child;
  const spi = Buffer.alloc(4);
  spi.writeUInt32BE(child.outbound.spi);
  const cookies = Buffer.concat([Buffer.alloc(8), Buffer.alloc(8)]);
  cookies.writeBigUInt64BE(sa.ckyI, 0);
  cookies.writeBigUInt64BE(sa.ckyR, 8);
  const header = { initiatorCookie: sa.ckyI, responderCookie: sa.ckyR, majorVersion: 1, minorVersion: 0, exchangeType: ExchangeType.INFORMATIONAL, commit: false, authenticationOnly: false, messageId: 0x1234 };
  const forged = encodeIsakmpMessage(header, [
    { kind: 'D', delete: { doi: 1, protocolId: 3, spiSize: 4, spis: [spi] } },
    { kind: 'D', delete: { doi: 1, protocolId: 1, spiSize: 16, spis: [cookies] } },
    { kind: 'N', notification: { doi: 1, protocolId: 1, type: 14, spi: cookies, data: new Uint8Array() } },
  ]);
  pair.take('b', pair.engines.b.handlePacket(forged, { address: A, port: 500 }, { address: B, port: 500 }, pair.now));
  pair.run(pair.now + 5_000);
  t.equal(pair.of('b', 'delete-child').length, 0, 'the child stays');
  t.equal(pair.of('b', 'ike-down').length, 0, 'and the ISAKMP SA');
  t.equal(sa.state, 'established');
  t.ok(pair.logs('b').some((l) => /peer notifies NO-PROPOSAL-CHOSEN/.test(l)), 'the plaintext notify is only logged');
});
