import t from 'tap';
import { IkeEngine } from '../../../firmware/ike/engine/engine.ts';
import type { IkeConnection } from '../../../firmware/ike/engine/types.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { der, identity, testCa } from '../../helpers/ike-certs.ts';
import { connection, EnginePair, seededCrypto } from '../../helpers/ike-pair.ts';
import { credentialFromPassword } from '../../../firmware/crypto/user-credential.ts';

const A = '192.0.2.1';
const B = '192.0.2.2';
const caRsa = testCa('Postern Test CA');
const caEc = testCa('Postern EC CA', 'ecdsa-p256');
const other = testCa('Somebody Else');

function certPair(a: Partial<IkeConnection>, b: Partial<IkeConnection>) {
  const ea = new IkeEngine([connection('to-b', { remoteAddress: B, localId: 'a.example', remoteId: 'b.example', peerAuth: 'certificate', ...a })], seededCrypto('a'));
  const eb = new IkeEngine([connection('to-a', { remoteAddress: A, localId: 'b.example', remoteId: 'a.example', peerAuth: 'certificate', localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'], ...b })], seededCrypto('b'));
  const pair = new EnginePair(ea, eb);
  pair.take('a', ea.initiate('to-b', { address: A, port: 500 }, 0));
  pair.run(5000);
  return pair;
}

for (const [name, ca, keyType] of [['RSA (RFC 7427, SHA-256)', caRsa, 'rsa-2048'], ['ECDSA P-256', caEc, 'ecdsa-p256']] as const) {
  t.test(`certificates from Postern's CA, ${name}: both ends authenticate`, async (t) => {
    const a = identity(ca, 'a.example', ['a.example'], keyType);
    const b = identity(ca, 'b.example', ['b.example'], keyType);
    const pair = certPair({ ...a.auth, trustedCas: [der(ca.certificatePem)] }, { ...b.auth, trustedCas: [der(ca.certificatePem)] });
    t.equal(pair.of('a', 'ike-up')[0]?.remoteId, 'b.example');
    t.equal(pair.of('b', 'ike-up')[0]?.remoteId, 'a.example');
    t.equal(pair.of('a', 'install-child').length, 1);
    t.ok(pair.logs('b').some((l) => /IKE_AUTH request 1 \[ IDi N\(INITIAL_CONTACT\) CERTREQ IDr CERT AUTH SA TSi TSr N\(MOBIKE_SUPPORTED\) \]/.test(l)), 'CERTREQ, CERT and AUTH on the wire');
    t.ok(pair.logs('a').some((l) => /IKE_SA_INIT response 0 \[ SA KE Nonce N\(NAT_DETECTION_SOURCE_IP\) N\(NAT_DETECTION_DESTINATION_IP\) CERTREQ N\(IKEV2_FRAGMENTATION_SUPPORTED\) N\(SIGNATURE_HASH_ALGORITHMS\) \]/.test(l)));
  });
}

t.test('refused: a CA we do not trust, an ID the certificate does not name, a wrong key', async (t) => {
  const good = identity(caRsa, 'b.example', ['b.example']);
  const stranger = identity(other, 'a.example', ['a.example']);
  let pair = certPair({ ...stranger.auth, trustedCas: [der(caRsa.certificatePem)] }, { ...good.auth, trustedCas: [der(caRsa.certificatePem)] });
  t.ok(pair.logs('b').some((l) => /is not signed by a trusted CA for peer 'a\.example'/.test(l)), 'unknown CA: a clear line');
  t.equal(pair.engines.a!.sas.length + pair.engines.b!.sas.length, 0, 'nothing left');
  const mislabelled = identity(caRsa, 'c.example', ['c.example']);
  pair = certPair({ ...mislabelled.auth, trustedCas: [der(caRsa.certificatePem)] }, { ...good.auth, trustedCas: [der(caRsa.certificatePem)] });
  t.ok(pair.logs('b').some((l) => /does not name the ID 'a\.example'/.test(l)), 'certificate for another name');
  const a = identity(caRsa, 'a.example', ['a.example']);
  const thief = { localAuth: 'certificate' as const, certificate: { der: a.auth.certificate!.der, key: new Secret(identity(caRsa, 'x.example', ['x.example']).auth.certificate!.key.reveal()) } };
  pair = certPair({ ...thief, trustedCas: [der(caRsa.certificatePem)] }, { ...good.auth, trustedCas: [der(caRsa.certificatePem)] });
  t.ok(pair.logs('b').some((l) => /signature of .* does not verify/.test(l)), 'a stolen certificate without its key');
});

t.test('remote access the Windows way: the gateway signs with its certificate, the user does EAP-MSCHAPv2', async (t) => {
  const gw = identity(caRsa, 'vpn.example.com', ['vpn.example.com', '192.0.2.2']);
  const users = (n: string) => (n === 'alice' ? credentialFromPassword('Correct-Horse-7') : undefined);
  const a = new IkeEngine([connection('vpn', { remoteAddress: B, remoteId: 'vpn.example.com', peerAuth: 'certificate', trustedCas: [der(caRsa.certificatePem)], eap: { identity: 'alice', password: new Secret('Correct-Horse-7') } })], seededCrypto('a'));
  const b = new IkeEngine([connection('ra', { localId: 'vpn.example.com', ...gw.auth, peerAuth: 'eap-mschapv2', localTs: ['10.2.0.0/16'], remoteTs: ['10.1.0.0/16'] })], seededCrypto('b'), { users });
  const pair = new EnginePair(a, b);
  pair.take('a', a.initiate('vpn', { address: A, port: 500 }, 0));
  pair.run(5000);
  t.equal(pair.of('b', 'ike-up')[0]?.remoteId, 'alice');
  t.ok(pair.logs('a').some((l) => /IKE_AUTH response 1 \[ IDr CERT AUTH EAP \]/.test(l)), 'the gateway proved itself with its certificate before EAP');
  t.match(pair.history('a'), /authenticated 'vpn\.example\.com' with EAP-MSCHAPv2/);
});
