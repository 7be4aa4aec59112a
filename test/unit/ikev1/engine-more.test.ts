// IKEv1 engine details: DPD answered (RFC 3706), a forged informational dropped, a half-open Main
// Mode timed out, a child deleted alone; and the proposal and selector translations it relies on.
import t from 'tap';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { exchangeIv, open, sealInformational } from '../../../firmware/ikev1/engine/protect.ts';
import { phase1Offer, selectPhase1, selectPhase2, phase2Offer } from '../../../firmware/ikev1/engine/proposals.ts';
import { idToTs, prefixToId, tsToId } from '../../../firmware/ikev1/engine/selectors.ts';
import { tsToString } from '../../../firmware/ike/payloads/traffic-selector.ts';
import { parseProposal } from '../../../firmware/ike/proposals.ts';
import { decodeIsakmpMessage } from '../../../firmware/ikev1/message.ts';
import { EncapsulationMode, IdType, NotifyType, Phase1Attr } from '../../../firmware/ikev1/registry.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';

function upPair() {
  const base = { ike: ['aes128-sha256-modp2048'], esp: ['aes256-sha256'] };
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'] })], seededCrypto('ma'));
  const b = new Ikev1Engine([connection('to-a', { ...base, remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] })], seededCrypto('mb'));
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  pair.run();
  return pair;
}

t.test('DPD: R-U-THERE is answered with R-U-THERE-ACK carrying the same sequence number', async (t) => {
  const pair = upPair();
  const saA = pair.engines.a.sas[0]!;
  const seq = Buffer.from('0000002a', 'hex');
  const spi = Buffer.concat([Buffer.alloc(8), Buffer.alloc(8)]);
  const mid = 0x01020304;
  const packet = sealInformational(saA, mid, [{ kind: 'N', notification: { doi: 1, protocolId: 1, type: NotifyType.R_U_THERE, spi, data: seq } }]);
  const out = pair.engines.b.handlePacket(packet, { address: A, port: 500 }, { address: B, port: 500 }, pair.now + 1);
  const sent = out.find((x) => x.type === 'send');
  t.ok(sent, 'B answered');
  if (sent?.type !== 'send') return;
  const m = decodeIsakmpMessage(sent.packet);
  if (!m.ok || !m.value.encrypted) return t.fail('not an encrypted informational');
  const opened = open(saA, exchangeIv(saA, m.value.header.messageId), m.value.header, m.value.ciphertext);
  if ('error' in opened) return t.fail(opened.error);
  const n = opened.payloads[1];
  t.equal(n?.kind === 'N' && n.notification.type, NotifyType.R_U_THERE_ACK);
  t.same(n?.kind === 'N' && Buffer.from(n.notification.data), seq);
});

t.test('an informational whose HASH does not match is dropped and changes nothing', async (t) => {
  const pair = upPair();
  const saA = pair.engines.a.sas[0]!;
  const packet = Buffer.from(sealInformational(saA, 77, [{ kind: 'D', delete: { doi: 1, protocolId: 1, spiSize: 16, spis: [Buffer.alloc(16)] } }]));
  // Flip a bit of the last ciphertext block: the HASH payload in the first block survives, the D is garbled.
  packet[packet.length - 1]! ^= 1;
  const out = pair.engines.b.handlePacket(packet, { address: A, port: 500 }, { address: B, port: 500 }, pair.now + 1);
  t.equal(out.filter((x) => x.type === 'ike-down').length, 0);
  t.equal(pair.engines.b.sas[0]?.state, 'established');
});

t.test('a child deleted by the peer goes alone; the ISAKMP SA stays', async (t) => {
  const pair = upPair();
  const saA = pair.engines.a.sas[0]!;
  const spi = Buffer.alloc(4);
  spi.writeUInt32BE(saA.children[0]!.inbound.spi);
  const packet = sealInformational(saA, 99, [{ kind: 'D', delete: { doi: 1, protocolId: 3, spiSize: 4, spis: [spi] } }]);
  const out = pair.engines.b.handlePacket(packet, { address: A, port: 500 }, { address: B, port: 500 }, pair.now + 1);
  t.equal(out.filter((x) => x.type === 'delete-child').length, 1);
  t.equal(pair.engines.b.sas[0]?.state, 'established');
  t.equal(pair.engines.b.sas[0]?.children.length, 0);
});

t.test('INITIAL-CONTACT: a restarted peer makes the responder drop what it held of the old one', async (t) => {
  const pair = upPair();
  const oldSa = pair.engines.b.sas[0]!;
  const restarted = new Ikev1Engine([connection('to-b', { ike: ['aes128-sha256-modp2048'], esp: ['aes256-sha256'], remoteAddress: B, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'] })], seededCrypto('ma-restarted'));
  (pair.engines as { a: Ikev1Engine }).a = restarted;
  pair.take('a', restarted.initiate('to-b', { address: A, port: 500 }, pair.now));
  pair.run(pair.now + 5000);
  t.equal(oldSa.state, 'closed');
  t.match(oldSa.history.at(-1), /replaced: 192\.0\.2\.1 sent INITIAL-CONTACT/);
  t.equal(pair.of('b', 'delete-child').length, 1, 'the old child went');
  t.equal(pair.of('b', 'install-child').length, 2, 'the new one came');
  t.equal(pair.engines.b.sas.filter((s) => s.state === 'established').length, 1);
});

t.test('a Main Mode whose initiator vanishes is dropped after the half-open timeout', async (t) => {
  const pair = upPair();
  const b = new Ikev1Engine([connection('to-a', { ike: ['aes128-sha256-modp2048'], remoteAddress: A })], seededCrypto('hb'));
  const msg1 = pair.wireLog[0]!.packet;
  b.handlePacket(msg1, { address: A, port: 500 }, { address: B, port: 500 }, 0);
  t.equal(b.sas[0]?.state, 'mm2');
  t.equal(b.nextTimeout(), 30_000);
  b.tick(30_000);
  t.match(b.sas[0]?.history.at(-1), /mm2 -> closed: Main Mode not complete after 30 s/);
  t.equal(b.nextTimeout(), undefined);
});

t.test('proposals: our offer as IKEv1 transforms, and a strongSwan-ordered transform accepted', async (t) => {
  const specs = [parseProposal('aes256-sha256-modp2048', 'ike')!, parseProposal('3des-sha1-modp1024', 'ike')!];
  const offer = phase1Offer(specs, 28800);
  t.equal(offer.proposals[0]!.transforms.length, 2);
  const swanLike = { ...offer, proposals: [{ ...offer.proposals[0]!, transforms: [{ number: 0, id: 1, attributes: [
    { type: Phase1Attr.ENCRYPTION_ALGORITHM, basic: true as const, value: 5 }, { type: Phase1Attr.HASH_ALGORITHM, basic: true as const, value: 2 },
    { type: Phase1Attr.AUTHENTICATION_METHOD, basic: true as const, value: 1 }, { type: Phase1Attr.GROUP_DESCRIPTION, basic: true as const, value: 2 },
    { type: Phase1Attr.LIFE_TYPE, basic: true as const, value: 1 }, { type: Phase1Attr.LIFE_DURATION, basic: false as const, value: Buffer.from('00003840', 'hex') },
  ] }] }] };
  const chosen = selectPhase1(swanLike, specs);
  t.same(chosen && [chosen.encryption, chosen.hash, chosen.group, chosen.lifeSeconds], [5, 2, 2, 14400]);
  t.equal(selectPhase1(swanLike, [specs[0]!]), undefined, 'not acceptable to a spec without 3DES');
  const rsa = { ...swanLike, proposals: [{ ...swanLike.proposals[0]!, transforms: [{ ...swanLike.proposals[0]!.transforms[0]!, attributes: swanLike.proposals[0]!.transforms[0]!.attributes.map((a) => (a.type === 3 ? { ...a, value: 3 } : a)) }] }] };
  t.equal(selectPhase1(rsa, specs), undefined, 'RSA signatures are not accepted by a PSK connection');
  t.equal(selectPhase1(rsa, specs, 3)?.authMethod, 3, 'and accepted by a connection that signs with RSA');
  const esp = [parseProposal('aes128gcm16', 'esp')!, parseProposal('aes256-sha1-modp2048', 'esp')!];
  const qm = phase2Offer(esp, { spi: Buffer.from('c0000001', 'hex'), encapsulation: EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT, lifeSeconds: 3600, group: 14 });
  t.equal(qm.proposals[0]!.transforms.length, 2);
  t.equal(selectPhase2(qm, esp, 'tunnel', []), undefined, 'a transport-mode offer for a tunnel connection');
  const picked = selectPhase2(qm, [parseProposal('aes256-sha1-modp2048', 'esp')!], 'transport', []);
  t.same(picked && [picked.transformId, picked.keyBits, picked.auth, picked.group, picked.mode], [12, 256, 2, 14, 4]);
  const noPfs = phase2Offer([parseProposal('aes256-sha1', 'esp')!], { spi: Buffer.alloc(4, 1), encapsulation: 1, lifeSeconds: 3600 });
  t.equal(selectPhase2(noPfs, [parseProposal('aes256-sha1-modp2048', 'esp')!], 'tunnel', []), undefined, 'a spec naming a group requires PFS');
});

t.test('selectors: subnets, hosts and ranges with protocol and port, both ways', async (t) => {
  t.equal(tsToString(idToTs(prefixToId('10.1.0.0/16'))!), '10.1.0.0/16');
  t.equal(prefixToId('192.0.2.1/32').idType, IdType.ID_IPV4_ADDR);
  const l2tp = { idType: IdType.ID_IPV4_ADDR, protocolId: 17, port: 1701, data: Buffer.from([192, 0, 2, 1]) };
  t.equal(tsToString(idToTs(l2tp)!), '192.0.2.1/32[17/1701]');
  t.same(tsToId(idToTs(l2tp)!), l2tp);
  const range = { idType: IdType.ID_IPV4_ADDR_RANGE, protocolId: 0, port: 0, data: Buffer.from([10, 0, 0, 1, 10, 0, 0, 9]) };
  t.equal(tsToString(idToTs(range)!), '10.0.0.1-10.0.0.9');
  t.same(tsToId(idToTs(range)!), range);
  t.equal(idToTs({ idType: IdType.ID_FQDN, protocolId: 0, port: 0, data: Buffer.from('x') }), undefined, 'a name is no selector');
  t.equal(tsToString(idToTs(prefixToId('2001:db8::/48'))!), '2001:db8::/48');
});
