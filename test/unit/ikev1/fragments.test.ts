// IKEv1 fragmentation (the Cisco/Microsoft scheme strongSwan and Windows speak): cutting and
// reassembly with their bounds, fuzzed; and Main Mode with certificates between two engines whose
// messages 5 and 6 travel in fragments, with a fragment lost on the way.
import fc from 'fast-check';
import t from 'tap';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { announcesFragmentation, decodeFragmentMessage, fragmentMessage, FRAGMENTATION_VID, isFragmentMessage, Reassembler } from '../../../firmware/ikev1/fragments.ts';
import { der, identity, testCa } from '../../helpers/ike-certs.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

/** A plausible ISAKMP datagram: cookies, next payload 5 (ID), version 1.0, Main Mode, encrypted. */
function datagram(bodyLength: number): Buffer {
  const b = Buffer.alloc(28 + bodyLength);
  b.write('0102030405060708a1a2a3a4a5a6a7a8', 0, 'hex');
  b[16] = 5;
  b[17] = 0x10;
  b[18] = 2;
  b[19] = 1;
  b.writeUInt32BE(b.length, 24);
  for (let i = 28; i < b.length; i++) b[i] = i & 0xff;
  return b;
}

t.test('a large message is cut into fragment messages and put back together in any order', async (t) => {
  const whole = datagram(3000);
  const pieces = fragmentMessage(whole, 7, 1248);
  t.equal(pieces.length, 3);
  t.ok(pieces.every((p) => p.length <= 1248 && isFragmentMessage(p)), 'each fits and is a fragment message');
  const decoded = pieces.map((p) => decodeFragmentMessage(p));
  t.same(decoded.map((d) => d.ok && [d.value.id, d.value.number, d.value.last]), [[7, 1, false], [7, 2, false], [7, 3, true]]);
  t.same(Buffer.from(pieces[0]!.subarray(0, 16)), whole.subarray(0, 16), 'the cookies of the original');
  t.equal(pieces[0]![19], 0, 'the fragment message itself is not flagged encrypted');
  const r = new Reassembler();
  const order = [2, 0, 1];
  const results = order.map((i) => (decoded[i]!.ok ? r.add('peer', decoded[i]!.value, 0) : undefined));
  t.same(results.slice(0, 2).map((x) => x?.kind), ['incomplete', 'incomplete']);
  const last = results[2];
  t.ok(last?.kind === 'complete' && Buffer.from(last.packet).equals(whole), 'the original datagram, byte for byte');
  t.equal(r.pending, 0, 'nothing kept once complete');
  t.same(fragmentMessage(datagram(100), 1, 1248), [datagram(100)], 'a message that fits is sent whole');
});

t.test('reassembly is bounded: fragment numbers, bytes, pending messages, time, contradictions', async (t) => {
  const frag = (id: number, number: number, last: boolean, size = 100) => ({ header: datagram(0), id, number, last, data: Buffer.alloc(size) });
  const r = new Reassembler({ maxFragments: 4, maxBytes: 300, maxPending: 2, timeoutMs: 1000 });
  t.equal(r.add('a', frag(1, 5, false), 0).kind, 'dropped', 'a number beyond the limit');
  t.equal(r.add('a', frag(2, 1, false, 200), 0).kind, 'incomplete');
  t.equal(r.add('a', frag(2, 2, true, 200), 0).kind, 'dropped', 'more bytes than allowed');
  t.equal(r.add('a', frag(3, 1, false), 0).kind, 'incomplete');
  t.equal(r.add('b', frag(4, 1, false), 0).kind, 'incomplete');
  t.equal(r.add('c', frag(5, 1, false), 0).kind, 'dropped', 'no third message pending at once');
  t.equal(r.add('c', frag(5, 1, false), 1500).kind, 'incomplete', 'the stale ones expired');
  t.equal(r.add('c', frag(5, 3, true), 1500).kind, 'incomplete');
  t.equal(r.add('c', frag(5, 2, true), 1500).kind, 'dropped', 'two different last fragments');
  t.equal(r.add('d', frag(6, 2, true), 1500).kind, 'incomplete');
  t.equal(r.add('d', frag(6, 3, false), 1500).kind, 'dropped', 'a fragment after the last');
  t.same(decodeFragmentMessage(datagram(4)).ok, false, 'too short for a fragment payload');
  t.ok(announcesFragmentation(FRAGMENTATION_VID) && announcesFragmentation(Buffer.concat([FRAGMENTATION_VID.subarray(0, 16), Buffer.from('c0000000', 'hex')])), 'the vendor ID is matched on its first 16 bytes');
});

t.test('fuzz: the decoder and the reassembler never throw, and never produce more than was given', async () => {
  const r = new Reassembler({ maxPending: 8 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, asFragment) => {
    const packet = Buffer.from(bytes);
    if (asFragment && packet.length >= 28) { packet[16] = 132; packet[17] = 0x10; packet.writeUInt32BE(packet.length, 24); }
    const d = decodeFragmentMessage(packet);
    if (!d.ok) return;
    const out = r.add('fuzz', d.value, 0);
    if (out.kind === 'complete' && out.packet.length > 16 * 200) throw new Error('reassembled more than was fed');
  }), { numRuns: 3000 });
  fc.assert(fc.property(fc.integer({ min: 29, max: 5000 }), fc.integer({ min: 400, max: 1500 }), (size, mtu) => {
    const whole = datagram(size);
    const pieces = fragmentMessage(whole, 9, mtu);
    const again = new Reassembler();
    let result;
    for (const p of [...pieces].reverse()) {
      const d = decodeFragmentMessage(p);
      if (pieces.length > 1 && !d.ok) throw new Error(d.error.message);
      if (d.ok) result = again.add('x', d.value, 0);
    }
    if (pieces.length > 1 && !(result?.kind === 'complete' && Buffer.from(result.packet).equals(whole))) throw new Error('round trip failed');
  }), { numRuns: 300 });
});

t.test('Main Mode with RSA-3072 certificates whose messages 5 and 6 travel in fragments, one lost', async (t) => {
  const ca = testCa('Fragment CA', 'rsa-3072');
  const a = identity(ca, 'a.example', ['a.example'], 'rsa-3072');
  const b = identity(ca, 'b.example', ['b.example'], 'rsa-3072');
  const trust = { peerAuth: 'certificate' as const, trustedCas: [der(ca.certificatePem)], ike: ['aes256-sha256-modp2048'], esp: ['aes128-sha1'] };
  const options = { fragmentSize: 600 };
  const ea = new Ikev1Engine([connection('to-b', { ...trust, ...a.auth, localId: 'a.example', remoteId: 'b.example', remoteAddress: '192.0.2.2', localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'] })], seededCrypto('a'), options);
  const eb = new Ikev1Engine([connection('to-a', { ...trust, ...b.auth, localId: 'b.example', remoteId: 'a.example', remoteAddress: '192.0.2.1', localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] })], seededCrypto('b'), options);
  const pair = new Ikev1Pair(ea, eb);
  let dropped = false;
  pair.filter = (p) => {
    if (!dropped && isFragmentMessage(p.packet) && p.packet[28 + 6] === 2) { dropped = true; return 'drop'; }
    return 'deliver';
  };
  pair.take('a', ea.initiate('to-b', { address: '192.0.2.1', port: 500 }, 0));
  pair.run();
  const fragments = pair.wireLog.filter((p) => isFragmentMessage(p.packet));
  t.ok(fragments.length >= 8, `messages 5 and 6 went in fragments (${fragments.length})`);
  t.ok(fragments.every((p) => p.packet.length <= 600), 'none larger than the fragment size');
  t.ok(dropped, 'a fragment was lost');
  t.equal(pair.of('a', 'ike-up').length, 1, 'and Main Mode still completed (the whole message was retransmitted)');
  t.equal(pair.of('b', 'ike-up').length, 1);
  t.equal(pair.of('a', 'install-child').length, 1);
  t.ok(pair.logs('b').some((l) => /reassembled a \d+-byte message from 192\.0\.2\.1/.test(l)));
});
