import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { cipherSuite, type CipherSuite } from '../../../firmware/ike/crypto/transforms.ts';
import type { SkKeys } from '../../../firmware/ike/crypto/sk-cipher.ts';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import { encodeFragments, FragmentReassembler } from '../../../firmware/ike/fragmentation.ts';
import { decodeIkeMessage, encodePayloads, type IkePayload } from '../../../firmware/ike/message.ts';
import { EncrId, ExchangeType, IntegId } from '../../../firmware/ike/registry/numbers.ts';
import { der, identity, testCa } from '../../helpers/ike-certs.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const suites: Record<string, CipherSuite> = {
  'aes256-sha256': cipherSuite([{ type: 1, id: EncrId.ENCR_AES_CBC, keyLength: 256 }, { type: 3, id: IntegId.AUTH_HMAC_SHA2_256_128 }])!,
  aes128gcm16: cipherSuite([{ type: 1, id: EncrId.ENCR_AES_GCM_16, keyLength: 128 }])!,
  chacha20poly1305: cipherSuite([{ type: 1, id: EncrId.ENCR_CHACHA20_POLY1305 }])!,
};
const keysFor = (suite: CipherSuite): SkKeys => ({ suite, encryption: randomBytes(suite.encr.keyLength + suite.encr.saltLength), ...(suite.integ ? { integrity: randomBytes(suite.integ.keyLength) } : {}) });
const header = { initiatorSpi: 1n, responderSpi: 2n, exchangeType: ExchangeType.IKE_AUTH, initiator: true, response: false, higherVersion: false, messageId: 1 };
const inner: IkePayload[] = [
  { kind: 'IDi', id: { type: 2, data: Buffer.from('a.example') } },
  { kind: 'CERT', cert: { encoding: 4, data: randomBytes(3000) } },
  { kind: 'AUTH', auth: { method: 14, data: randomBytes(300) } },
];
const bytesOf = (p: readonly IkePayload[]) => Buffer.from(encodePayloads(p).bytes).toString('hex');

t.test('fragments fit the size, reassemble in any order, and every change is caught (RFC 7383)', async (t) => {
  for (const [name, suite] of Object.entries(suites)) {
    const keys = keysFor(suite);
    for (const max of [576, 1280]) {
      const fragments = encodeFragments(header, inner, keys, max, (n) => randomBytes(n));
      t.ok(fragments.length > 1 && fragments.every((f) => f.length <= max), `${name} at ${max}: ${fragments.length} fragments, each ≤ ${max} bytes`);
      fc.assert(fc.property(fc.shuffledSubarray(fragments.map((_, i) => i), { minLength: fragments.length }), (order) => {
        const r = new FragmentReassembler();
        let result: ReturnType<FragmentReassembler['add']> = { status: 'incomplete' };
        for (const i of order) {
          const m = decodeIkeMessage(fragments[i]!);
          if (!m.ok) return false;
          result = r.add(fragments[i]!, m.value, keys);
        }
        return result.status === 'complete' && bytesOf(result.payloads) === bytesOf(inner);
      }), { numRuns: 30 });
    }
    const fragments = encodeFragments(header, inner, keys, 576, (n) => randomBytes(n));
    const r = new FragmentReassembler();
    const tampered = Buffer.from(fragments[1]!);
    tampered[tampered.length - 1]! ^= 1;
    t.match(r.add(tampered, (decodeIkeMessage(tampered) as { ok: true; value: never }).value, keys), { status: 'rejected' }, `${name}: a changed fragment is refused`);
    const first = decodeIkeMessage(fragments[0]!);
    if (!first.ok) return t.fail('decode');
    t.match(r.add(fragments[0]!, first.value, keys), { status: 'incomplete' });
    t.match(r.add(fragments[0]!, first.value, keys), { status: 'incomplete' }, `${name}: a duplicate is ignored`);
  }
});

t.test('hostile fragment numbers and random mutations never throw', async (t) => {
  const keys = keysFor(suites.aes128gcm16!);
  const fragments = encodeFragments(header, inner, keys, 576, (n) => randomBytes(n));
  const zero = Buffer.from(fragments[0]!);
  zero.writeUInt16BE(0, 32);
  const m = decodeIkeMessage(zero);
  t.match(m.ok && new FragmentReassembler().add(zero, m.value, keys), { status: 'rejected' }, 'fragment number 0');
  const beyond = Buffer.from(fragments[0]!);
  beyond.writeUInt16BE(99, 32);
  const mb = decodeIkeMessage(beyond);
  t.match(mb.ok && new FragmentReassembler().add(beyond, mb.value, keys), { status: 'rejected' }, 'number beyond the total');
  const r = new FragmentReassembler();
  fc.assert(fc.property(fc.integer({ min: 0, max: fragments.length - 1 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), (i, edits) => {
    const b = Buffer.from(fragments[i]!);
    for (const [at, v] of edits) b[at % b.length] = v;
    const d = decodeIkeMessage(b);
    if (d.ok) r.add(b, d.value, keys);
    return true;
  }), { numRuns: 2000 });
  t.pass('no throw');
});

t.test('two engines exchange a certificate-bearing IKE_AUTH in fragments, with a fragment lost', async (t) => {
  const ca = testCa();
  const a = identity(ca, 'a.example', ['a.example']);
  const b = identity(ca, 'b.example', ['b.example']);
  const common = { peerAuth: 'certificate' as const, trustedCas: [der(ca.certificatePem)] };
  const ea = new IkeEngine([connection('to-b', { remoteAddress: '192.0.2.2', localId: 'a.example', remoteId: 'b.example', ...a.auth, ...common })], seededCrypto('a'), { fragmentSize: 400 });
  const eb = new IkeEngine([connection('to-a', { localId: 'b.example', remoteId: 'a.example', ...b.auth, ...common, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] })], seededCrypto('b'), { fragmentSize: 400 });
  const pair = new EnginePair(ea, eb);
  pair.filter = (_p, n) => (n === 3 ? 'drop' : 'deliver'); // the second fragment of IKE_AUTH
  pair.take('a', ea.initiate('to-b', { address: '192.0.2.1', port: 500 }, 0));
  pair.run(20_000);
  t.equal(pair.of('a', 'install-child').length, 1, 'the exchange completed after a retransmission');
  const sends = pair.of('a', 'send').filter((s) => s.packet[18] !== ExchangeType.IKE_SA_INIT);
  t.ok(sends.length > 4 && sends.every((s) => s.packet.length <= 400), `after IKE_SA_INIT the initiator sent ${sends.length} packets of at most 400 bytes`);
});

t.test('regression: a forged fragment with a larger total or another message ID does not discard the genuine set', async (t) => {
  const keys = keysFor(suites.aes128gcm16!);
  const fragments = encodeFragments(header, inner, keys, 576, (n) => randomBytes(n));
  for (const forge of ['larger total', 'other message ID'] as const) {
    const r = new FragmentReassembler();
    const decoded = fragments.map((f) => decodeIkeMessage(f)).map((d) => (d.ok ? d.value : undefined));
    for (let i = 0; i < fragments.length - 1; i++) r.add(fragments[i]!, decoded[i]!, keys);
    const forged = Buffer.from(fragments[0]!);
    if (forge === 'larger total') forged.writeUInt16BE(fragments.length + 5, 34);
    else forged.writeUInt32BE(9, 20);
    forged[forged.length - 1]! ^= 1; // not authentic
    const fd = decodeIkeMessage(forged);
    t.match(fd.ok && r.add(forged, fd.value, keys), { status: 'rejected' }, `${forge}: the forgery is refused`);
    const last = fragments.length - 1;
    t.match(r.add(fragments[last]!, decoded[last]!, keys), { status: 'complete' }, `${forge}: the genuine message still completes`);
  }
});
