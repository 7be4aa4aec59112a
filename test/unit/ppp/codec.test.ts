import t from 'tap';
import {
  ControlCode,
  decodeControlPacket,
  decodeEcho,
  decodeOptions,
  decodeProtocolReject,
  encodeCodeReject,
  encodeConfigure,
  encodeControlPacket,
  encodeEcho,
  encodeOptions,
  encodeProtocolReject,
} from '../../../firmware/ppp/control-packet.ts';
import { decodePppFrame, encodePppFrame, isValidProtocol, PppProtocol, protocolName } from '../../../firmware/ppp/frame.ts';
import { authMethodOf, LcpOption } from '../../../firmware/ppp/lcp.ts';

const hex = (s: string) => Uint8Array.from(s.split(/\s+/).filter(Boolean).map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

// A real pppd LCP Configure-Request, as it travels inside SSTP (no address/control):
const PPPD_LCP_CONFREQ = hex(`
  c0 21                  Protocol: LCP
  01 01 00 14            Configure-Request, Identifier 1, Length 20
  02 06 00 00 00 00      Async-Control-Character-Map 0x00000000
  05 06 12 34 56 78      Magic-Number 0x12345678
  07 02                  Protocol-Field-Compression
  08 02                  Address-and-Control-Field-Compression
`.replace(/[A-Z][^\n]*/g, ''));

t.test('the pppd LCP Configure-Request decodes field by field and encodes back', async (t) => {
  const frame = decodePppFrame(PPPD_LCP_CONFREQ);
  if (!frame.ok) throw new Error(frame.error.message);
  t.equal(frame.value.protocol, PppProtocol.LCP);
  t.equal(frame.value.addressControl, false);
  const packet = decodeControlPacket(frame.value.information);
  if (!packet.ok) throw new Error(packet.error.message);
  t.match(packet.value, { code: ControlCode.ConfigureRequest, identifier: 1 });
  t.equal(packet.value.data.length, 16, 'Length 20 less the 4-byte header');
  const options = decodeOptions(packet.value.data);
  if (!options.ok) throw new Error(options.error.message);
  t.same(
    options.value.map((o) => [o.type, toHex(o.data)]),
    [
      [LcpOption.AsyncControlCharacterMap, '00 00 00 00'],
      [LcpOption.MagicNumber, '12 34 56 78'],
      [LcpOption.ProtocolFieldCompression, ''],
      [LcpOption.AddressAndControlFieldCompression, ''],
    ],
  );
  const again = encodePppFrame({ protocol: PppProtocol.LCP, information: encodeConfigure(ControlCode.ConfigureRequest, 1, options.value) });
  t.equal(toHex(again), toHex(PPPD_LCP_CONFREQ), 'byte for byte');
});

t.test('address and control: accepted with or without, emitted on request', async (t) => {
  const withAc = hex('ff 03 c0 21 09 01 00 08 00 00 00 01');
  const d = decodePppFrame(withAc);
  t.ok(d.ok && d.value.addressControl && d.value.protocol === PppProtocol.LCP);
  t.equal(toHex(encodePppFrame({ protocol: PppProtocol.LCP, information: withAc.subarray(4) }, { addressControl: true })), toHex(withAc));
  const bad = decodePppFrame(hex('ff 05 c0 21'));
  t.ok(!bad.ok && bad.error.offset === 1, 'Address 0xFF must be followed by Control 0x03');
  t.ok(!decodePppFrame(hex('ff')).ok, 'a lone address byte');
});

t.test('protocol field compression (RFC 1661 §6.5)', async (t) => {
  const ip = hex('21 45 00 00 14');
  const d = decodePppFrame(ip, { pfc: true });
  t.ok(d.ok && d.value.protocol === PppProtocol.IPv4 && toHex(d.value.information) === '45 00 00 14', 'one odd byte is 0x00XX');
  t.notOk(decodePppFrame(ip).ok, 'refused when PFC was not negotiated');
  t.equal(toHex(encodePppFrame({ protocol: PppProtocol.IPv4, information: hex('45') }, { compressProtocol: true })), '21 45');
  t.equal(toHex(encodePppFrame({ protocol: PppProtocol.LCP, information: hex('') }, { compressProtocol: true })), 'c0 21', 'LCP never compressed');
  t.equal(toHex(encodePppFrame({ protocol: PppProtocol.IPv6, information: hex('60') }, { addressControl: true })), 'ff 03 00 57 60');
  t.notOk(decodePppFrame(hex('00 20 00')).ok, 'an even low octet is not a protocol');
  t.notOk(decodePppFrame(hex('c1 21')).ok, 'an odd high octet is not a protocol (without PFC)');
  t.notOk(decodePppFrame(hex('c0')).ok, 'cut inside the protocol field');
  t.notOk(decodePppFrame(hex('')).ok);
  t.throws(() => encodePppFrame({ protocol: 0x0020, information: hex('') }), 'we never emit an invalid number');
});

t.test('the protocol table', async (t) => {
  const expected: Record<string, number> = { LCP: 0xc021, PAP: 0xc023, CHAP: 0xc223, EAP: 0xc227, IPCP: 0x8021, IPV6CP: 0x8057, CCP: 0x80fd, IPv4: 0x0021, IPv6: 0x0057, CompressedDatagram: 0x00fd };
  for (const [name, value] of Object.entries(expected)) {
    t.equal(PppProtocol[name as keyof typeof PppProtocol], value, name);
    t.ok(isValidProtocol(value), `${name} is a valid number`);
    t.equal(protocolName(value), name);
  }
  t.equal(protocolName(0x8281), '0x8281');
});

t.test('control packet header: Length validated against the bytes (§5)', async (t) => {
  const padded = decodeControlPacket(hex('05 02 00 04 00 00 00'));
  t.ok(padded.ok && padded.value.code === ControlCode.TerminateRequest && padded.value.data.length === 0, 'octets beyond Length are padding');
  const short = decodeControlPacket(hex('01 01 00 03'));
  t.ok(!short.ok && short.error.code === 'INVALID_SYNTAX', 'Length below 4');
  const cut = decodeControlPacket(hex('01 01 00 10 01 04'));
  t.ok(!cut.ok && cut.error.code === 'TRUNCATED', 'Length beyond the bytes');
  t.notOk(decodeControlPacket(hex('01 01 00')).ok, 'no room for the header');
  t.equal(toHex(encodeControlPacket({ code: 6, identifier: 9, data: hex('') })), '06 09 00 04');
});

t.test('options: Length ≥ 2 and inside the packet', async (t) => {
  t.notOk(decodeOptions(hex('01 01')).ok, 'Length 1');
  t.notOk(decodeOptions(hex('01 04 05')).ok, 'overrun');
  t.notOk(decodeOptions(hex('07')).ok, 'half a header');
  const ok = decodeOptions(hex('01 04 05 dc 03 05 c2 23 81'));
  t.ok(ok.ok && ok.value.length === 2);
  if (ok.ok) {
    t.equal(authMethodOf(ok.value[1]!.data), 'mschapv2', 'CHAP with algorithm 0x81');
    t.equal(toHex(encodeOptions(ok.value)), '01 04 05 dc 03 05 c2 23 81');
  }
  t.equal(authMethodOf(hex('c2 23 05')), 'chap-md5');
  t.equal(authMethodOf(hex('c2 27')), 'eap');
  t.equal(authMethodOf(hex('c0 23')), 'pap');
  t.equal(authMethodOf(hex('c2 23 80')), 'mschapv1', 'MS-CHAPv1 is CHAP algorithm 0x80 (offered only with a listener\'s legacyAuth)');
  t.equal(authMethodOf(hex('c2 23 06')), undefined, 'an unknown CHAP algorithm');
});

t.test('Protocol-Reject (§5.7) both ways, cut to the MRU', async (t) => {
  const vector = hex('08 03 00 0a 80 57 01 01 00 04');
  const p = decodeControlPacket(vector);
  if (!p.ok) throw new Error(p.error.message);
  const r = decodeProtocolReject(p.value.data);
  t.ok(r.ok && r.value.rejectedProtocol === PppProtocol.IPV6CP && toHex(r.value.rejectedInformation) === '01 01 00 04');
  t.equal(toHex(encodeProtocolReject(3, { rejectedProtocol: 0x8057, rejectedInformation: hex('01 01 00 04') }, 1500)), toHex(vector));
  t.equal(encodeProtocolReject(3, { rejectedProtocol: 0x8057, rejectedInformation: new Uint8Array(3000) }, 1400).length, 1400);
  t.notOk(decodeProtocolReject(hex('80')).ok);
});

t.test('Echo-Request, Echo-Reply, Discard-Request (§5.8, §5.9) and Code-Reject (§5.6)', async (t) => {
  const vector = hex('09 07 00 0a 12 34 56 78 ab cd');
  const p = decodeControlPacket(vector);
  if (!p.ok) throw new Error(p.error.message);
  const e = decodeEcho(p.value.data);
  t.ok(e.ok && e.value.magicNumber === 0x12345678 && toHex(e.value.data) === 'ab cd');
  t.equal(toHex(encodeEcho(ControlCode.EchoRequest, 7, { magicNumber: 0x12345678, data: hex('ab cd') })), toHex(vector));
  t.equal(toHex(encodeEcho(ControlCode.EchoReply, 1, { magicNumber: 0xffffffff, data: hex('') })), '0a 01 00 08 ff ff ff ff', 'high bit kept');
  t.notOk(decodeEcho(hex('00 00 01')).ok, 'no room for the Magic-Number');
  // An offset view: the DataView must honour byteOffset.
  const inside = hex('ee ee 12 34 56 78').subarray(2);
  const e2 = decodeEcho(inside);
  t.ok(e2.ok && e2.value.magicNumber === 0x12345678, 'decoded from a subarray');
  t.equal(toHex(encodeCodeReject(4, hex('20 01 00 06 aa bb'), 1500)), '07 04 00 0a 20 01 00 06 aa bb');
  t.equal(encodeCodeReject(4, new Uint8Array(2000), 1500).length, 1500, 'cut to the MRU');
});
