import { createHash, generateKeyPairSync } from 'node:crypto';
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
    t.ok(verifyAuth(keys.publicKey, auth.method, auth.data, octets), `${name}: verifies`);
    t.notOk(verifyAuth(keys.publicKey, auth.method, auth.data, Buffer.from('other')), `${name}: other data refused`);
    const other = keys === rsa ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    t.notOk(verifyAuth(other.publicKey, auth.method, auth.data, octets), `${name}: another key refused`);
  }
  t.notOk(verifyAuth(rsa.publicKey, AuthMethod.ECDSA_256, signAuth(ec.privateKey, octets, []).data, octets), 'a method that does not fit the key is refused');
  t.notOk(verifyAuth(rsa.publicKey, AuthMethod.DIGITAL_SIGNATURE, Buffer.of(3, 1, 2, 3), octets), 'an unknown AlgorithmIdentifier is refused');
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
