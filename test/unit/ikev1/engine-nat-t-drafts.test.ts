// An older client that speaks only the NAT-T drafts (draft-ietf-ipsec-nat-t-ike-02/03: Windows XP
// before SP2's update, racoon-era Android and macOS): its Main Mode message 1 names no RFC 3947
// vendor ID. The responder answers with the draft's vendor ID, and both ends then use the draft's
// numbers: NAT-D as payload 130, NAT-OA as 131, encapsulation modes 61443/61444, still floating to
// UDP 4500 (draft-02 onwards). Checked on the wire, Quick Mode decrypted with the responder's keys.
import t from 'tap';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import type { Phase1Sa } from '../../../firmware/ikev1/engine/ikev1-sa.ts';
import { exchangeIv, open } from '../../../firmware/ikev1/engine/protect.ts';
import { VendorId } from '../../../firmware/ikev1/engine/vendor-ids.ts';
import { decodeIsakmpMessage, encodeIsakmpMessage, type ReceivedPayload } from '../../../firmware/ikev1/message.ts';
import { attributeNumber } from '../../../firmware/ikev1/payloads/attributes.ts';
import { EncapsulationMode, ExchangeType, Phase2Attr } from '../../../firmware/ikev1/registry.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair, type InFlight } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1'; // the client, behind a NAT
const B = '192.0.2.2'; // Postern
const NAT = '198.51.100.7';
const same = (x: Uint8Array, y: Uint8Array) => Buffer.compare(Buffer.from(x), Buffer.from(y)) === 0;

/** A masquerading NAT in front of A that also strips the RFC 3947 vendor ID from A's message 1. */
function draftOnlyBehindNat(pair: Ikev1Pair): InFlight[] {
  const mapped = new Map<number, number>();
  const crossed: InFlight[] = [];
  pair.nat = (p: InFlight) => {
    let out = p;
    if (p.from.address === A) {
      mapped.set(p.from.port + 10000, p.from.port);
      out = { ...p, packet: withoutRfcVendorId(p.packet), from: { address: NAT, port: p.from.port + 10000 } };
    } else if (p.to.address === NAT) out = { ...p, to: { address: A, port: mapped.get(p.to.port) ?? 0 } };
    crossed.push(out);
    return out;
  };
  return crossed;
}

function withoutRfcVendorId(packet: Uint8Array): Uint8Array {
  const m = decodeIsakmpMessage(packet);
  if (!m.ok || m.value.encrypted || m.value.header.exchangeType !== ExchangeType.IDENTITY_PROTECTION || m.value.header.responderCookie !== 0n) return packet;
  const payloads = m.value.payloads.filter((p) => !(p.kind === 'VID' && same(p.data, VendorId.NAT_T_RFC3947)));
  const { nextPayload: _n, length: _l, encryption: _e, ...header } = m.value.header;
  return encodeIsakmpMessage(header, payloads);
}

const plainPayloads = (p: InFlight): readonly ReceivedPayload[] => {
  const m = decodeIsakmpMessage(p.packet);
  return m.ok && !m.value.encrypted ? m.value.payloads : [];
};

/**
 * Quick Mode messages as they crossed the wire, opened with the responder's phase 1 keys: the
 * first IV from the message ID, then each message's last cipher block (RFC 2409 Appendix B).
 */
function quickModes(wire: readonly InFlight[], sa: Phase1Sa): ReceivedPayload[][] {
  const ivs = new Map<number, Uint8Array>();
  return wire.flatMap((p) => {
    const m = decodeIsakmpMessage(p.packet);
    if (!m.ok || !m.value.encrypted || m.value.header.exchangeType !== ExchangeType.QUICK_MODE) return [];
    const { messageId } = m.value.header;
    const opened = open(sa, ivs.get(messageId) ?? exchangeIv(sa, messageId), m.value.header, m.value.ciphertext);
    if ('error' in opened) return [];
    ivs.set(messageId, opened.nextIv);
    return [[...opened.payloads]];
  });
}

const encapsulationOf = (payloads: readonly ReceivedPayload[]): number | undefined => {
  const sa = payloads.find((p) => p.kind === 'SA');
  const attr = sa?.kind === 'SA' ? sa.sa.proposals[0]?.transforms[0]?.attributes.find((a) => a.type === Phase2Attr.ENCAPSULATION_MODE) : undefined;
  return attr && attributeNumber(attr);
};

function run(mode: 'tunnel' | 'transport') {
  const base: Partial<IkeConnection> & { ike: string[]; esp: string[] } = { ike: ['aes128-sha1-modp2048'], esp: ['aes128-sha1'], mode, ...(mode === 'transport' ? { localTs: [], remoteTs: [] } : {}) };
  const a = new Ikev1Engine([connection('to-b', { ...base, remoteAddress: B, ...(mode === 'transport' ? { transportSelector: { protocol: 17, port: 1701 } } : {}) })], seededCrypto('da'));
  const b = new Ikev1Engine([connection('to-a', { ...base, ...(mode === 'tunnel' ? { localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] } : {}), anyRemoteId: true })], seededCrypto('db'));
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  const wire = draftOnlyBehindNat(pair);
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, 0));
  pair.run(60_000);
  return { pair, wire };
}

for (const mode of ['tunnel', 'transport'] as const) {
  t.test(`a draft-only NAT-T client behind a NAT, ${mode} mode: the draft's numbers both ways, UDP 4500`, async (t) => {
    const { pair, wire } = run(mode);
    const [mm1, mm2, mm3, mm4] = wire;
    t.notOk(plainPayloads(mm1!).some((p) => p.kind === 'VID' && same(p.data, VendorId.NAT_T_RFC3947)), 'message 1 as it reaches Postern names no RFC 3947');
    t.ok(plainPayloads(mm1!).some((p) => p.kind === 'VID' && same(p.data, VendorId.NAT_T_DRAFT_03)), 'only the drafts');
    const answered = plainPayloads(mm2!).filter((p) => p.kind === 'VID');
    t.ok(answered.some((p) => p.kind === 'VID' && same(p.data, VendorId.NAT_T_DRAFT_02_N)), 'message 2 answers with the draft-02 vendor ID');
    t.notOk(answered.some((p) => p.kind === 'VID' && same(p.data, VendorId.NAT_T_RFC3947)), 'and not RFC 3947');
    for (const [name, m] of [['message 3', mm3!], ['message 4', mm4!]] as const) {
      const natd = plainPayloads(m).filter((p) => p.kind === 'NAT-D');
      t.equal(natd.length, 2, `${name}: two NAT-D`);
      t.ok(natd.every((p) => p.kind === 'NAT-D' && p.draft === true), `${name}: as payload 130, the draft's number`);
    }
    t.ok(wire.slice(4).every((p) => p.to.port === 4500 || p.to.port === 14500), 'from message 5 on, both float to UDP 4500 (through the NAT)');
    const responderSa = pair.engines.b.sas[0]!;
    t.equal(responderSa.nat, 'draft');
    t.equal(responderSa.natDetected, true);
    const [qm1, qm2] = quickModes(wire, responderSa);
    t.ok(qm1 && qm2, 'QM1 and QM2 opened with the responder\'s keys');
    const want = mode === 'tunnel' ? EncapsulationMode.UDP_ENCAPSULATED_TUNNEL_DRAFT : EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT_DRAFT;
    t.equal(encapsulationOf(qm1 ?? []), want, `QM1 asks for encapsulation mode ${want}`);
    t.equal(encapsulationOf(qm2 ?? []), want, `QM2 answers with ${want}`);
    const natOa = (qm: readonly ReceivedPayload[] | undefined) => (qm ?? []).filter((p) => p.kind === 'NAT-OA');
    if (mode === 'transport') {
      t.ok(natOa(qm1).length === 2 && natOa(qm1).every((p) => p.kind === 'NAT-OA' && p.draft === true), 'QM1 carries NAT-OA as payload 131');
      t.ok(natOa(qm2).length === 2 && natOa(qm2).every((p) => p.kind === 'NAT-OA' && p.draft === true), 'and so does QM2');
      t.same(pair.of('b', 'install-child')[0]?.child.originalAddresses, { local: B, remote: A }, 'the responder keeps the client\'s original address for the checksum fix-up');
    } else {
      t.equal(natOa(qm1).length + natOa(qm2).length, 0, 'no NAT-OA in tunnel mode');
    }
    const a = pair.of('a', 'install-child')[0]?.child;
    const b = pair.of('b', 'install-child')[0]?.child;
    t.same(a?.encapsulation, { localPort: 4500, remotePort: 4500 }, 'the client installs UDP-encapsulated ESP');
    t.same(b?.encapsulation, { localPort: 4500, remotePort: 14500 }, 'Postern sends to the NAT\'s mapping of 4500');
    t.equal(a?.inbound.spi, b?.outbound.spi, 'the SPIs agree');
  });
}
