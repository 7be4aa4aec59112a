import { constants, createHash, generateKeyPairSync, sign } from 'node:crypto';
import { parseAlgorithmIdentifier } from '../../../firmware/ike/crypto/algorithm-identifier.ts';
import t from 'tap';
import { HashAlgorithm, signAuth, verifyAuth } from '../../../firmware/ike/crypto/signature-auth.ts';
import { subjectDer } from '../../../firmware/ike/crypto/peer-certificate.ts';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import { AuthMethod } from '../../../firmware/ike/payloads/auth.ts';
import { issueClientCertificate } from '../../../firmware/pki/issue.ts';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { Secret } from '../../../firmware/util/secret.ts';
import { der, identity, testCa } from '../../helpers/ike-certs.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';

const octets = createHash('sha256').update('signed octets').digest();

t.test('every AUTH signature method signs and verifies, and refuses a wrong key or changed data', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const cases: Array<[string, typeof rsa, number[], number]> = [
    ['RSA without the peer announcing hashes: method 1 (PKCS#1, SHA-1), as older Windows', rsa, [], AuthMethod.RSA_SIG],
    ['RSA with SHA-256 announced: RFC 7427', rsa, [HashAlgorithm.SHA2_256], AuthMethod.DIGITAL_SIGNATURE],
    ['RSA with SHA-512 only: RFC 7427', rsa, [HashAlgorithm.SHA2_512], AuthMethod.DIGITAL_SIGNATURE],
    ['ECDSA without hashes: method 9 (RFC 4754)', ec, [], AuthMethod.ECDSA_256],
    ['ECDSA with SHA-384 announced: RFC 7427', ec, [HashAlgorithm.SHA2_384], AuthMethod.DIGITAL_SIGNATURE],
  ];
  for (const [name, keys, hashes, method] of cases) {
    const auth = signAuth(keys.privateKey, octets, hashes);
    t.equal(auth.method, method, `${name}: method ${method}`);
    t.ok(verifyAuth(keys.publicKey, auth.method, auth.data, octets).ok, `${name}: verifies`);
    t.notOk(verifyAuth(keys.publicKey, auth.method, auth.data, Buffer.from('other')).ok, `${name}: other data refused`);
    const other = keys === rsa ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    t.notOk(verifyAuth(other.publicKey, auth.method, auth.data, octets).ok, `${name}: another key refused`);
  }
  t.notOk(verifyAuth(rsa.publicKey, AuthMethod.ECDSA_256, signAuth(ec.privateKey, octets, []).data, octets).ok, 'a method that does not fit the key is refused');
  const unknown = verifyAuth(rsa.publicKey, AuthMethod.DIGITAL_SIGNATURE, Buffer.of(3, 1, 2, 3, 9), octets);
  t.same([unknown.ok, !unknown.ok && unknown.unsupported], [false, true], 'an unknown AlgorithmIdentifier is refused as unsupported');
});

/** RFC 7427 §3 AlgorithmIdentifier prefix + signature, made here with node:crypto's own primitives. */
const rfc7427 = (algorithmHex: string, signature: Buffer) => {
  const id = Buffer.from(algorithmHex.replace(/\s+/g, ''), 'hex');
  return Buffer.concat([Buffer.of(id.length), id, signature]);
};

// RFC 7427 Appendix A.4.3: RSASSA-PSS with SHA-256 (MGF1-SHA-256, salt 32), byte for byte.
const PSS_SHA256 = `30 41 06 09 2a 86 48 86 f7 0d 01 01 0a 30 34 a0 0f 30 0d 06 09 60 86 48 01 65 03 04 02 01 05 00
  a1 1c 30 1a 06 09 2a 86 48 86 f7 0d 01 01 08 30 0d 06 09 60 86 48 01 65 03 04 02 01 05 00 a2 03 02 01 20`;

t.test('issue 14.2: RSASSA-PSS, ECDSA-384/512 and Ed25519 signatures from a peer verify; ours are made on request', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pss = sign('sha256', octets, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  const verdict = verifyAuth(rsa.publicKey, AuthMethod.DIGITAL_SIGNATURE, rfc7427(PSS_SHA256, pss), octets);
  t.same(verdict, { ok: true, algorithm: 'RSASSA-PSS/sha256 salt 32' }, 'the RFC 7427 A.4.3 identifier with a PSS signature verifies');
  const flipped = Buffer.from(pss);
  flipped[10]! ^= 1;
  t.same(verifyAuth(rsa.publicKey, AuthMethod.DIGITAL_SIGNATURE, rfc7427(PSS_SHA256, flipped), octets), { ok: false, unsupported: false, algorithm: 'RSASSA-PSS/sha256 salt 32' }, 'a changed PSS signature is a bad signature');
  const ours = signAuth(rsa.privateKey, octets, [HashAlgorithm.SHA2_256], { rsaPss: true });
  t.equal(ours.data.subarray(1, 1 + ours.data[0]!).toString('hex'), PSS_SHA256.replace(/\s+/g, ''), 'our PSS identifier is the RFC\'s encoding');
  t.ok(verifyAuth(rsa.publicKey, ours.method, ours.data, octets).ok, 'our PSS signature verifies');
  const pss384 = signAuth(rsa.privateKey, octets, [HashAlgorithm.SHA2_384], { rsaPss: true });
  t.equal(verifyAuth(rsa.publicKey, pss384.method, pss384.data, octets).ok && verifyAuth(rsa.publicKey, pss384.method, pss384.data, octets).algorithm, 'RSASSA-PSS/sha384 salt 48', 'PSS with SHA-384');

  for (const [curve, hash, method] of [['secp384r1', 'sha384', AuthMethod.ECDSA_384], ['secp521r1', 'sha512', AuthMethod.ECDSA_521]] as const) {
    const ec = generateKeyPairSync('ec', { namedCurve: curve });
    const classic = signAuth(ec.privateKey, octets, []);
    t.equal(classic.method, method, `${curve}: RFC 4754 method ${method}`);
    t.ok(verifyAuth(ec.publicKey, classic.method, classic.data, octets).ok, `${curve}: verifies`);
    const modern = signAuth(ec.privateKey, octets, [HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_512]);
    const v = verifyAuth(ec.publicKey, modern.method, modern.data, octets);
    t.same(v, { ok: true, algorithm: `ECDSA/${hash}` }, `${curve}: RFC 7427 with the curve's hash`);
  }

  const ed = generateKeyPairSync('ed25519');
  const edAuth = signAuth(ed.privateKey, octets, [HashAlgorithm.IDENTITY]);
  t.equal(edAuth.method, AuthMethod.DIGITAL_SIGNATURE, 'Ed25519 signs with method 14 (RFC 8420)');
  t.equal(edAuth.data.subarray(1, 1 + edAuth.data[0]!).toString('hex'), '300506032b6570', 'with the Ed25519 identifier');
  t.same(verifyAuth(ed.publicKey, edAuth.method, edAuth.data, octets), { ok: true, algorithm: 'Ed25519' }, 'Ed25519 verifies');
  t.notOk(verifyAuth(ed.publicKey, edAuth.method, edAuth.data, Buffer.from('x')).ok, 'Ed25519 over other data refused');
});

t.test('issue 14.2: an algorithm we do not implement is named as unsupported, not as a bad signature', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ed448 = verifyAuth(rsa.publicKey, AuthMethod.DIGITAL_SIGNATURE, rfc7427('300506032b6571', Buffer.alloc(114)), octets);
  t.same(ed448, { ok: false, unsupported: true, algorithm: 'Ed448' });
  const mgfSha1 = verifyAuth(rsa.publicKey, AuthMethod.DIGITAL_SIGNATURE, rfc7427(`30 38 06 09 2a 86 48 86 f7 0d 01 01 0a 30 2b a0 0f 30 0d 06 09 60 86 48 01 65 03 04 02 01 05 00
    a1 18 30 16 06 09 2a 86 48 86 f7 0d 01 01 08 30 09 06 05 2b 0e 03 02 1a 05 00`, Buffer.alloc(256)), octets);
  t.equal(mgfSha1.ok, false);
  t.ok(!mgfSha1.ok && mgfSha1.unsupported && /RSASSA-PSS/.test(mgfSha1.algorithm), `PSS with a mismatched MGF is unsupported: ${!mgfSha1.ok && mgfSha1.algorithm}`);
  t.same(verifyAuth(rsa.publicKey, 200, Buffer.alloc(10), octets), { ok: false, unsupported: true, algorithm: 'auth method 200' }, 'an unknown AUTH method');
});

t.test('issue 14.2: AlgorithmIdentifier decoding never throws on random or mutated bytes', async (t) => {
  const fc = await import('fast-check');
  const seeds = [PSS_SHA256, '300506032b6570', '300a06082a8648ce3d040303', '300d06092a864886f70d01010b0500'].map((h) => Buffer.from(h.replace(/\s+/g, ''), 'hex'));
  fc.assert(fc.property(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(80), fc.nat(255)), { maxLength: 4 }), fc.nat(70), (seed, edits, cut) => {
    const b = Buffer.from(seed);
    for (const [at, v] of edits) if (at < b.length) b[at] = v;
    const input = b.subarray(0, Math.min(b.length, cut + 2));
    const r = parseAlgorithmIdentifier(input);
    return typeof r.ok === 'boolean';
  }), { numRuns: 3000 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 90 }), (bytes) => typeof parseAlgorithmIdentifier(bytes).ok === 'boolean'), { numRuns: 3000 });
  t.pass('3,000 mutated and 3,000 random identifiers decoded without a throw');
});

t.test('e-mail and DN identities are matched against the certificate', async (t) => {
  const ca = testCa();
  const gw = identity(ca, 'b.example', ['b.example']);
  const user = issueClientCertificate(ca, { commonName: 'alice', email: 'alice@example.com', validityDays: 30, now: new Date() });
  const userCert = { der: der(user.certificatePem), key: new Secret(createPrivateKey(user.keyPem.reveal())) };
  const dn = subjectDer(Buffer.from(new X509Certificate(user.certificatePem).raw))!;
  t.ok(dn && dn[0] === 0x30, 'the subject DN is found in the certificate');
  for (const [name, localId] of [['e-mail', 'alice@example.com'], ['DN', `dn:${dn.toString('hex')}`]] as Array<[string, string]>) {
    const a = new IkeEngine([connection('to-b', { remoteAddress: '192.0.2.2', localId, remoteId: 'b.example', localAuth: 'certificate', certificate: userCert, peerAuth: 'certificate', trustedCas: [der(ca.certificatePem)] })], seededCrypto('a'));
    const b = new IkeEngine([connection('to-a', { localId: 'b.example', remoteId: localId, ...gw.auth, peerAuth: 'certificate', trustedCas: [der(ca.certificatePem)], localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] })], seededCrypto('b'));
    const pair = new EnginePair(a, b);
    pair.take('a', a.initiate('to-b', { address: '192.0.2.1', port: 500 }, 0));
    pair.run(5000);
    t.equal(pair.of("b", "ike-up")[0]?.remoteId, localId, `${name} ID accepted`);
  }
});
