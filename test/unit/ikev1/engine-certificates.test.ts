// IKEv1 Main Mode authenticated with RSA certificates (RFC 2409 §5.1), the two engines back to
// back on a simulated clock: certificates from Postern's CA, the refusals a
// technician must be able to read (unknown CA, a certificate that does not name the ID, a bad
// signature), and revocation under each policy, including a hard-fail fetch that holds message 5
// until the peer's retransmission finds the answer.
import { constants, publicDecrypt, X509Certificate } from 'node:crypto';
import t from 'tap';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { Ikev1Engine } from '../../../firmware/ikev1/engine/engine.ts';
import { signatureMethodOf, signHash, verifyHash } from '../../../firmware/ikev1/engine/signature-auth.ts';
import { decodeIsakmpMessage } from '../../../firmware/ikev1/message.ts';
import { AuthMethod } from '../../../firmware/ikev1/registry.ts';
import type { KeyType } from '../../../firmware/pki/keys.ts';
import type { RevocationAnswer, RevocationChecker } from '../../../firmware/revocation/revocation-policy.ts';
import { der, identity, testCa } from '../../helpers/ike-certs.ts';
import { connection, seededCrypto } from '../../helpers/ike-pair.ts';
import { Ikev1Pair } from '../../helpers/ikev1-pair.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';

function certPair(keyType: KeyType, over: { a?: Partial<IkeConnection>; b?: Partial<IkeConnection>; revocationB?: RevocationChecker } = {}) {
  const ca = testCa('IKEv1 Test CA', keyType);
  const idA = identity(ca, 'a.example', ['a.example'], keyType);
  const idB = identity(ca, 'b.example', ['b.example'], keyType);
  const trust = { peerAuth: 'certificate' as const, trustedCas: [der(ca.certificatePem)] };
  const base = { ike: ['aes256-sha256-modp2048'], esp: ['aes128-sha1'] };
  const a = new Ikev1Engine([connection('to-b', { ...base, ...idA.auth, ...trust, localId: 'a.example', remoteId: 'b.example', remoteAddress: B, localTs: ['10.1.0.0/16'], remoteTs: ['10.2.0.0/16'], ...over.a })], seededCrypto('a'));
  const b = new Ikev1Engine([connection('to-a', { ...base, ...idB.auth, ...trust, localId: 'b.example', remoteId: 'a.example', remoteAddress: A, localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ...over.b })], seededCrypto('b'),
    over.revocationB ? { revocation: over.revocationB } : {});
  const pair = new Ikev1Pair(a, b, { a: A, b: B });
  pair.take('a', a.initiate('to-b', { address: A, port: 500 }, pair.now));
  return { pair, ca, idA };
}

const payloadTypes = (p: Uint8Array): number => decodeIsakmpMessage(p).ok ? 1 : 0;

for (const keyType of ['rsa-2048', 'rsa-3072'] as const) {
  t.test(`Main Mode with ${keyType} certificates, then Quick Mode`, async (t) => {
    const { pair } = certPair(keyType);
    pair.run();
    t.equal(pair.of('a', 'ike-up')[0]?.remoteId, 'b.example', 'A authenticated B by its certificate');
    t.equal(pair.of('b', 'ike-up')[0]?.remoteId, 'a.example', 'B authenticated A by its certificate');
    t.equal(pair.of('a', 'install-child').length, 1, 'the child follows');
    t.match(pair.engines.b.sas[0]?.history.join('\n'), /established: authenticated a\.example with a certificate/);
    t.ok(pair.logs('b').some((l) => /'CN=a\.example.*' signed HASH_I with its certificate/.test(l)), 'the log names the subject that signed');
    t.equal(pair.engines.a.sas[0]?.crypto?.choice.authMethod, AuthMethod.RSA_SIGNATURES, 'phase 1 used RSA signatures');
    t.ok(pair.logs('a').some((l) => /send Main Mode \[KE, NONCE, CR/.test(l)), 'message 3 asks for a certificate from our CA (CR)');
    t.ok(pair.logs('a').some((l) => /send Main Mode\* \[ID, CERT, SIG/.test(l)), 'message 5 carries ID, CERT and SIG');
    t.ok(pair.wireLog.every((p) => payloadTypes(p.packet) === 1), 'every message on the wire decodes');
  });
}

t.test('refusals: an unknown CA, a certificate that does not name the ID, a PSK peer', async (t) => {
  const other = testCa('Someone Else CA');
  const unknown = certPair('rsa-2048', { b: { trustedCas: [der(other.certificatePem)] } });
  unknown.pair.run();
  t.equal(unknown.pair.of('b', 'ike-up').length, 0, 'B refuses a certificate from a CA it does not trust');
  t.ok(unknown.pair.logs('b').some((l) => /certificate refused: certificate 'CN=a\.example.*' is not signed by a trusted CA/.test(l)), 'and says so');

  const wrongId = certPair('rsa-2048', { a: { localId: 'c.example' }, b: { remoteId: 'c.example' } });
  wrongId.pair.run();
  t.equal(wrongId.pair.of('b', 'ike-up').length, 0);
  t.ok(wrongId.pair.logs('b').some((l) => /does not name the ID 'c\.example'/.test(l)), 'a certificate must name the ID the peer claims');

  t.throws(() => certPair('ecdsa-p256'), /IKEv1 certificate authentication needs our certificate with an RSA key/, 'an ECDSA certificate is refused up front, not on the wire');

  const mixed = certPair('rsa-2048', { b: { peerAuth: 'psk', localAuth: 'psk' } });
  mixed.pair.run();
  t.equal(mixed.pair.of('b', 'ike-up').length, 0, 'a PSK connection does not accept RSA signatures');
  t.ok(mixed.pair.logs('b').some((l) => /NO-PROPOSAL-CHOSEN: none of the offered transforms/.test(l)));
});

/** A checker answering from a table of serials, like the revocation service's cache. */
function checker(answer: (serial: string, calls: number) => RevocationAnswer): RevocationChecker & { calls: number } {
  const c = { calls: 0, check: (cert: X509Certificate) => answer(cert.serialNumber, ++c.calls) };
  return c;
}

t.test('revocation: a revoked certificate is refused; hard-fail holds message 5 until the fetch answers', async (t) => {
  const revoked = checker(() => ({ policy: 'soft', status: { status: 'revoked', source: 'CRL of IKEv1 Test CA', revokedAt: new Date(0) } }));
  const r = certPair('rsa-2048', { revocationB: revoked });
  r.pair.run();
  t.equal(r.pair.of('b', 'ike-up').length, 0, 'a revoked client is refused');
  t.ok(r.pair.logs('b').some((l) => /certificate refused: .*revoked/.test(l)), 'with the reason in the log');

  const pending = checker((_, calls) => (calls < 2
    ? { policy: 'hard', status: { status: 'unknown', why: 'fetching the CRL', pending: true } }
    : { policy: 'hard', status: { status: 'good', source: 'CRL' } }));
  const p = certPair('rsa-2048', { revocationB: pending });
  p.pair.run();
  t.equal(p.pair.of('b', 'ike-up').length, 1, 'the retransmitted message 5 finds the answer and succeeds');
  t.ok(p.pair.logs('b').some((l) => /held: /.test(l)), 'the first message 5 was held, not refused');
  t.ok(pending.calls >= 2, 'asked again on the retransmission');
  t.ok(p.pair.engines.b.sas[0]?.peerCertificate, 'the SA keeps the certificate for later revocation sweeps');

  const soft = checker(() => ({ policy: 'soft', status: { status: 'unknown', why: 'the CRL server does not answer', pending: false } }));
  const s = certPair('rsa-2048', { revocationB: soft });
  s.pair.run();
  t.equal(s.pair.of('b', 'ike-up').length, 1, 'soft-fail accepts when no answer can be had');
});

t.test('signatures: RSA over the hash itself, without DigestInfo; a flipped bit never verifies', async (t) => {
  for (const keyType of ['rsa-2048', 'rsa-3072'] as const) {
    const id = identity(testCa('Sig CA', keyType), 'x.example', ['x.example'], keyType);
    const key = id.auth.certificate!.key.reveal();
    const method = signatureMethodOf(key)!;
    const hash = Buffer.alloc(32, 7);
    const sig = signHash(key, method, hash);
    const pub = new X509Certificate(id.issued.certificatePem).publicKey;
    t.equal(sig.length, keyType === 'rsa-2048' ? 256 : 384, `${keyType}: signature size`);
    t.equal(publicDecrypt({ key: new X509Certificate(id.issued.certificatePem).publicKey, padding: constants.RSA_PKCS1_PADDING }, sig).toString('hex'), hash.toString('hex'), `${keyType}: the signature carries the bare hash (EMSA-PKCS1 with no DigestInfo)`);
    t.ok(verifyHash(pub, method, hash, sig), `${keyType}: verifies`);
    const bad = Buffer.from(sig);
    bad[10]! ^= 1;
    t.notOk(verifyHash(pub, method, hash, bad), `${keyType}: a flipped bit does not verify`);
    t.notOk(verifyHash(pub, method, Buffer.alloc(32, 8), sig), `${keyType}: another hash does not verify`);
    t.notOk(verifyHash(pub, AuthMethod.ECDSA_SHA256_P256, hash, sig), `${keyType}: another method does not verify`);
  }
});
