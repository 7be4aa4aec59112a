// The IKEv1 engine back to back on a simulated clock: Main Mode with PSK then Quick Mode, in tunnel
// and transport mode, with PFS, through a NAT, with loss and duplicates, and the refusals a
// technician must be able to read.
import t, { type Test } from 'tap';
import type { ChildSaInfo, IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { decodeIsakmpMessage } from '../../../firmware/ikev1/message.ts';
import { EncapsulationMode } from '../../../firmware/ikev1/registry.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';

function sitePair(overA: Partial<IkeConnection> & { ike?: string[]; esp?: string[] } = {}, overB: Partial<IkeConnection> & { ike?: string[]; esp?: string[] } = {}) {
  const base = { ike: ['aes256-sha1-modp2048', '3des-sha1-modp1024'], esp: ['aes128-sha1'] };
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'], ...overA })], seededCrypto('a'));
  const b = new Ikev1Engine([connection('to-a', { ...base, remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ...overB })], seededCrypto('b'));
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  const start = () => pair.take('a', a.initiate('to-b', { address: A, port: 500 }, pair.now));
  return { pair, start };
}

const key = (s: Secret<Buffer> | undefined) => s?.reveal().toString('hex');

function mirrored(t: Test, x: ChildSaInfo | undefined, y: ChildSaInfo | undefined): void {
  t.ok(x && y, 'both sides installed a child');
  if (!x || !y) return;
  t.equal(x.inbound.spi, y.outbound.spi, 'A inbound SPI = B outbound SPI');
  t.equal(x.outbound.spi, y.inbound.spi, 'A outbound SPI = B inbound SPI');
  t.equal(key(x.inbound.encryption), key(y.outbound.encryption), 'the same keys crosswise');
  t.equal(key(x.outbound.integrity), key(y.inbound.integrity));
  t.not(key(x.inbound.encryption), key(x.outbound.encryption), 'each direction its own key');
  t.same(x.localTs, y.remoteTs);
  t.same(x.remoteTs, y.localTs);
}

t.test('Main Mode with PSK then Quick Mode in tunnel mode: both sides agree on SPIs and keys', async (t) => {
  const { pair, start } = sitePair();
  start();
  pair.run();
  t.equal(pair.of('a', 'ike-up').length, 1, 'A is up');
  t.equal(pair.of('b', 'ike-up')[0]?.remoteId, A, 'B authenticated A by its address ID');
  const a = pair.of('a', 'install-child')[0]?.child;
  const b = pair.of('b', 'install-child')[0]?.child;
  mirrored(t, a, b);
  t.equal(a?.suite, 'aes-cbc-128-hmac-sha1-96');
  t.equal(a?.mode, 'tunnel');
  t.same(a?.localTs, ['10.1.0.0/16']);
  t.same(a?.remoteTs, ['10.2.0.0/16']);
  t.equal(a?.encapsulation, undefined, 'no NAT, no UDP encapsulation');
  t.equal(a?.inbound.encryption.reveal().length, 16);
  t.equal(a?.inbound.integrity?.reveal().length, 20);
  t.match(pair.engines.b.sas[0]?.history.join('\n'), /mm4 -> established: authenticated 192\.0\.2\.1 with the pre-shared key/);
  t.ok(pair.logs('a').includes('send Main Mode* [ID, HASH, N(24578)] to 192.0.2.2:500'), 'one line per message sent, naming its payloads');
  t.ok(pair.logs('b').includes('recv Quick Mode [HASH, SA, NONCE, ID, ID] from 192.0.2.1'), 'and per message received');
  const byExchange = (x: number) => pair.wireLog.filter((p) => p.packet[18] === x).length;
  t.same([byExchange(2), byExchange(32)], [6, 3], 'six Main Mode messages, three Quick Mode messages');
});

t.test('transport mode with PFS and AES-GCM: the hosts as selectors, KE in Quick Mode', async (t) => {
  const over = { mode: 'transport' as const, esp: ['aes256gcm16-modp2048'] };
  const { pair, start } = sitePair(over, over);
  start();
  pair.run();
  const a = pair.of('a', 'install-child')[0]?.child;
  const b = pair.of('b', 'install-child')[0]?.child;
  mirrored(t, a, b);
  t.equal(a?.suite, 'aes-gcm-256');
  t.equal(a?.mode, 'transport');
  t.same(a?.localTs, [`${A}/32`]);
  t.equal(a?.inbound.encryption.reveal().length, 36, 'key and salt');
  t.equal(a?.inbound.integrity, undefined);
});

t.test('the responder takes the first offered transform it accepts (3DES/SHA1/MODP1024 here)', async (t) => {
  const { pair, start } = sitePair({}, { ike: ['3des-sha1-modp1024'] });
  start();
  pair.run();
  t.equal(pair.of('b', 'install-child').length, 1);
  t.equal(pair.engines.a.sas[0]?.crypto?.cipher.cipher, 'des-ede3-cbc', 'the initiator uses what the responder chose');
});

t.test('lost packets are retransmitted with backoff; every exchange still completes once', async (t) => {
  const { pair, start } = sitePair();
  const seen = new Set<string>();
  // Each distinct message is lost the first time it is sent.
  pair.filter = (p) => {
    const k = Buffer.from(p.packet).toString('hex');
    if (seen.has(k)) return 'deliver';
    seen.add(k);
    return 'drop';
  };
  start();
  pair.run();
  t.equal(pair.of('a', 'install-child').length, 1);
  t.equal(pair.of('b', 'install-child').length, 1);
  mirrored(t, pair.of('a', 'install-child')[0]?.child, pair.of('b', 'install-child')[0]?.child);
  t.ok((pair.engines.b.drops.duplicate ?? 0) + (pair.engines.a.drops.duplicate ?? 0) > 0, 'retransmissions of answered messages were recognised by hash');
});

t.test('every packet delivered twice: duplicates answered from cache, nothing done twice', async (t) => {
  const { pair, start } = sitePair();
  pair.filter = () => 'duplicate';
  start();
  pair.run();
  t.equal(pair.of('a', 'install-child').length, 1);
  t.equal(pair.of('b', 'install-child').length, 1);
  t.equal(pair.of('a', 'ike-up').length, 1);
  t.equal(pair.of('b', 'ike-up').length, 1);
  t.ok((pair.engines.b.drops.duplicate ?? 0) >= 4, `B dropped ${pair.engines.b.drops.duplicate} duplicates`);
  mirrored(t, pair.of('a', 'install-child')[0]?.child, pair.of('b', 'install-child')[0]?.child);
});

t.test('a lost QM3 is recovered: the responder resends QM2 and the initiator its QM3', async (t) => {
  const { pair, start } = sitePair();
  pair.filter = (_p, n) => (n === 8 ? 'drop' : 'deliver');
  start();
  pair.run();
  t.equal(pair.of('b', 'install-child').length, 1, 'B installed once QM3 came again');
  t.equal(pair.of('a', 'install-child').length, 1, 'A installed once');
});

t.test('different pre-shared keys: the responder says so and nothing comes up', async (t) => {
  const { pair, start } = sitePair({}, { psk: new Secret('another key') });
  start();
  pair.run();
  t.equal(pair.of('b', 'ike-up').length, 0);
  t.equal(pair.of('a', 'ike-up').length, 0);
  t.ok(pair.logs('b').some((l) => /pre-shared keys differ/.test(l)), 'B names the cause');
  t.match(pair.engines.a.sas[0]?.history.join('\n'), /closed/, 'A gives up after its retransmissions');
});

t.test('no common proposal: NO-PROPOSAL-CHOSEN, with what was offered in the log', async (t) => {
  const { pair, start } = sitePair({ ike: ['aes128-sha256-modp2048'] }, { ike: ['aes256-sha1-modp2048'] });
  start();
  pair.run();
  const line = pair.logs('b').find((l) => /NO-PROPOSAL-CHOSEN/.test(l));
  t.match(line, /offered: AES_CBC-128\/SHA2_256\/PRE_SHARED_KEY\/MODP_2048; accepted: ENCR_AES_CBC_256\/AUTH_HMAC_SHA1_96\/PRF_HMAC_SHA1\/MODP_2048\)$/, 'in words: the algorithms offered and those this end takes');
  t.match(pair.engines.a.sas[0]?.history.join('\n'), /mm1 -> closed: the peer refused Main Mode with NO-PROPOSAL-CHOSEN/);
});

t.test('ESP proposals that do not match: Quick Mode refused with a notify, phase 1 stays', async (t) => {
  const { pair, start } = sitePair({ esp: ['aes256-sha256'] }, { esp: ['aes128-sha1'] });
  start();
  pair.run(60_000);
  t.equal(pair.of('b', 'ike-up').length, 1);
  t.equal(pair.of('a', 'install-child').length, 0);
  t.ok(pair.logs('b').some((l) => /no acceptable ESP proposal/.test(l)));
  t.ok(pair.logs('a').some((l) => /notifies NO-PROPOSAL-CHOSEN/.test(l)), 'A hears why');
  t.ok(pair.logs('a').some((l) => /Quick Mode [0-9a-f]+ with 192\.0\.2\.2 refused by the peer: NO-PROPOSAL-CHOSEN/.test(l)), 'and stops retransmitting QM1');
  t.equal(pair.engines.a.sas[0]?.quickModes.size, 0);
});

t.test('subnets outside the responder\'s policy: INVALID-ID-INFORMATION', async (t) => {
  const { pair, start } = sitePair({ localTs: ['10.9.0.0/16'] });
  start();
  pair.run(60_000);
  t.equal(pair.of('b', 'install-child').length, 0);
  t.ok(pair.logs('b').some((l) => /selectors 10\.9\.0\.0\/16 === 10\.2\.0\.0\/16 are outside/.test(l)));
});

t.test('behind a NAT: detected by NAT-D, both move to 4500, UDP-encapsulated tunnel mode', async (t) => {
  const { pair, start } = sitePair({}, { remoteAddress: undefined as unknown as string, remoteId: A });
  const NAT = '198.51.100.7';
  const mapped = new Map<number, number>();
  pair.nat = (p) => {
    if (p.from.address === A) {
      mapped.set(p.from.port + 10000, p.from.port);
      return { ...p, from: { address: NAT, port: p.from.port + 10000 } };
    }
    if (p.to.address === NAT) return { ...p, to: { address: A, port: mapped.get(p.to.port) ?? 0 } };
    return p;
  };
  start();
  pair.run();
  const a = pair.of('a', 'install-child')[0]?.child;
  const b = pair.of('b', 'install-child')[0]?.child;
  t.same(a?.encapsulation, { localPort: 4500, remotePort: 4500 });
  t.same(b?.encapsulation, { localPort: 4500, remotePort: 14500 }, 'B sends to the NAT mapping of 4500');
  t.equal(b?.outbound.destination, NAT);
  const qm1 = pair.wireLog.filter((p) => p.to.port === 4500)[2];
  t.ok(qm1, 'Quick Mode went over 4500');
  t.equal(pair.engines.a.sas[0]?.natLocal, true, 'A knows it is behind the NAT');
  t.equal(EncapsulationMode.UDP_ENCAPSULATED_TUNNEL, 3);
});

t.test('DPD (RFC 3706): an idle peer is asked R-U-THERE, a silent one declared dead', async (t) => {
  const { pair, start } = sitePair({ dpdSeconds: 10 }, { dpdSeconds: 0 });
  start();
  pair.run(60_000);
  const informational = pair.wireLog.filter((p) => p.packet[18] === 5);
  t.ok(informational.filter((p) => p.from.address === A).length >= 5, 'A asked every 10 s of silence');
  t.equal(informational.filter((p) => p.from.address === B).length, informational.filter((p) => p.from.address === A).length, 'B answered each');
  t.equal(pair.of('a', 'ike-down').length, 0, 'answered checks keep the SA');
  pair.filter = (p) => (p.from.address === B ? 'drop' : 'deliver');
  pair.run(200_000);
  t.match(pair.of('a', 'ike-down')[0]?.reason, /dead peer: no R-U-THERE-ACK after 6 tries/);
  t.equal(pair.of('a', 'delete-child').length, 1, 'its child went with it');
});

t.test('DPD timeout: a peer silent that long after the first R-U-THERE is dead, before the tries run out', async (t) => {
  const { pair, start } = sitePair({ dpdSeconds: 5, dpdTimeoutSeconds: 8 }, { dpdSeconds: 0 });
  start();
  pair.run(1_000);
  t.equal(pair.of('a', 'ike-up').length, 1);
  pair.filter = (p) => (p.from.address === B ? 'drop' : 'deliver');
  pair.run(1_000 + 5_000 + 8_000 - 1_000);
  t.equal(pair.of('a', 'ike-down').length, 0, 'still alive just before delay + timeout');
  pair.run(1_000 + 5_000 + 8_000 + 500);
  t.match(pair.of('a', 'ike-down')[0]?.reason, /dead peer: no R-U-THERE-ACK in 8 s \(3 tries, RFC 3706\)/, 'dead at delay + timeout, three R-U-THERE sent (backoff 2 s, 4 s)');
  t.equal(pair.wireLog.filter((p) => p.packet[18] === 5 && p.from.address === A).length, 3);
  t.equal(pair.of('a', 'delete-child').length, 1, 'its child went with it');
});

t.test('Aggressive Mode is refused with NO-PROPOSAL-CHOSEN', async (t) => {
  const { pair } = sitePair();
  const am = Buffer.from('0102030405060708' + '0000000000000000' + '00100400' + '00000000' + '0000001c', 'hex');
  const out = pair.engines.b.handlePacket(am, { address: A, port: 500 }, { address: B, port: 500 }, 0);
  const sent = out.find((x) => x.type === 'send');
  const m = sent?.type === 'send' ? decodeIsakmpMessage(sent.packet) : undefined;
  t.ok(m?.ok && !m.value.encrypted && m.value.payloads[0]?.kind === 'N' && m.value.payloads[0].notification.type === 14);
});

t.test('terminate: the peer gets the deletes and takes the child and the ISAKMP SA down', async (t) => {
  const { pair, start } = sitePair();
  start();
  pair.run();
  const spi = pair.engines.a.sas[0]!.ckyI;
  pair.take('a', pair.engines.a.terminate(spi, pair.now));
  pair.run();
  t.equal(pair.of('a', 'delete-child').length, 1);
  t.equal(pair.of('b', 'delete-child').length, 1, 'B removed the child on the delete');
  t.match(pair.of('b', 'ike-down')[0]?.reason, /the peer deleted the ISAKMP SA/);
});
