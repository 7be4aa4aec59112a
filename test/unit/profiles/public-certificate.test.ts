// Profiles for a gateway whose certificate is a public CA's (ACME, issue 16): no client is asked to
// import Postern's CA or to pin an issuer name; each relies on its system trust store. With the
// built-in CA's certificate the same profiles do import it (the contrast that makes the checks bite).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../../firmware/pki/issue.ts';
import { clientProfile, profileInput } from '../../../firmware/profiles/client-profiles.ts';

const postern = createCa({ commonName: 'Postern Test CA', validityDays: 30, keyType: 'ecdsa-p256', now: new Date() });
const publicRoot = createCa({ commonName: 'Public Test Root', validityDays: 30, keyType: 'ecdsa-p256', now: new Date() });
const leaf = (ca: typeof postern) => issueServerCertificate(ca, { commonName: 'vpn.example.com', sans: ['vpn.example.com'], validityDays: 30, now: new Date() });
const acmeLeaf = leaf(publicRoot);
const ownLeaf = leaf(postern);
const config = defaultConfig();
config.certificates.server = { commonName: 'vpn.example.com', sans: ['vpn.example.com'] };
config.listeners.sstp.enabled = true;
const publicInput = profileInput(config, { ca: postern, server: { certificatePem: acmeLeaf.certificatePem, keyPem: acmeLeaf.keyPem, acme: true } }, 'alice');
const ownInput = profileInput(config, { ca: postern, server: { certificatePem: ownLeaf.certificatePem, keyPem: ownLeaf.keyPem } }, 'alice');
const clientCertificate = { p12: Buffer.from('not a real PKCS#12, only carried'), identity: 'alice@vpn.example.com' };
const caBase64 = postern.certificatePem.split('\n').filter((l) => !l.startsWith('-----')).join('');

/** The signed Apple profile's plist, its signature checked against the CA that issued the signer. */
function plist(body: string | Buffer, signerCa: string): string {
  if (typeof body === 'string') return body;
  const dir = mkdtempSync(join(tmpdir(), 'postern-pubprofile-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), signerCa);
    writeFileSync(join(dir, 'profile.der'), body);
    return execFileSync('openssl', ['smime', '-verify', '-inform', 'DER', '-in', join(dir, 'profile.der'), '-CAfile', join(dir, 'ca.pem'), '-purpose', 'any'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test('profileInput: an ACME certificate is a public one', async (t) => {
  t.equal(publicInput.publicServerCertificate, true);
  t.equal(ownInput.publicServerCertificate, false);
});

t.test('Windows: no CA into the machine root store; certificate login still filters on Postern\'s CA', async (t) => {
  const pub = String(clientProfile('windows', publicInput).body);
  t.notMatch(pub, /Import-Certificate|Cert:\\LocalMachine\\Root|\$caBase64/, 'nothing imported, no CA carried');
  t.match(pub, /-TunnelType Ikev2 -AuthenticationMethod Eap/);
  t.match(pub, /-TunnelType Sstp/);
  t.match(String(clientProfile('windows', ownInput).body), /Import-Certificate -FilePath \$caFile -CertStoreLocation Cert:\\LocalMachine\\Root/, 'the built-in CA\'s certificate: imported');
  const certLogin = String(clientProfile('windows', { ...publicInput, auth: 'certificate', clientCertificate }).body);
  t.notMatch(certLogin, /Import-Certificate/, 'certificate login: no root import either');
  t.ok(certLogin.includes(`$caBase64 = '${caBase64}'`) && /-MachineCertificateIssuerFilter \$ca /.test(certLogin), 'but the machine certificate is still chosen by Postern\'s CA');
});

t.test('Apple: no root payload, no issuer name pinned; signed by the public certificate', async (t) => {
  const pub = plist(clientProfile('apple', publicInput).body, publicRoot.certificatePem);
  t.notMatch(pub, /com\.apple\.security\.root|ServerCertificateIssuerCommonName/);
  t.match(pub, /<key>RemoteIdentifier<\/key>\s*<string>vpn\.example\.com<\/string>/);
  t.match(pub, /<key>ServerCertificateCommonName<\/key>\s*<string>vpn\.example\.com<\/string>/, 'the server name is still checked');
  const own = plist(clientProfile('apple', ownInput).body, postern.certificatePem);
  t.match(own, /com\.apple\.security\.root/);
  t.match(own, /<key>ServerCertificateIssuerCommonName<\/key>\s*<string>Postern Test CA<\/string>/);
  t.match(clientProfile('apple', publicInput).install, /signed by the gateway's public certificate: it shows as Verified\./);
});

t.test('Android: no remote.cert, the app uses Android\'s CAs', async (t) => {
  const pub = JSON.parse(String(clientProfile('android', publicInput).body)) as { remote: Record<string, unknown> };
  t.same(pub.remote, { addr: 'vpn.example.com', id: 'vpn.example.com' });
  const own = JSON.parse(String(clientProfile('android', ownInput).body)) as { remote: Record<string, unknown> };
  t.equal(own.remote['cert'], caBase64);
});

t.test('Linux: no CA file and no certificate= key, the plugin uses the system CAs', async (t) => {
  const pub = String(clientProfile('linux', publicInput).body);
  t.notMatch(pub, /POSTERN_CA|^certificate=/m);
  t.match(pub, /^address=vpn\.example\.com$/m);
  t.match(String(clientProfile('linux', ownInput).body), /^certificate=\/etc\/postern\/.*-ca\.pem$/m);
});
