// Issue 16: the gateway certificate as `postern run` makes it satisfies every client's rules (Windows
// IKEv2 and SSTP, Apple, strongSwan), and every certificate names the CRL and CA certificate the
// publication listener serves.
import { spawnSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { CertificatesConfig } from '../../../firmware/config/types.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { contentBytes, decodeDer } from '../../../firmware/pki/der.ts';
import { readCaIssuers, readCrlDistributionPoints } from '../../../firmware/pki/distribution-points.ts';
import { describeCertificate, verifyChain } from '../../../firmware/pki/inspect.ts';
import { issueClientCertificate, issueServerCertificate, MAX_SERVER_DAYS } from '../../../firmware/pki/issue.ts';
import { Oid } from '../../../firmware/pki/oids.ts';
import { installPki, loadOrCreatePki, reissueGatewayCertificate, reissueReasons } from '../../../firmware/pki/pki-store.ts';
import { publicationUrls } from '../../../firmware/pki/publication-urls.ts';
import { readCertificate } from '../../../firmware/pki/x509-read.ts';
import { ErrorCode, isPosternError } from '../../../firmware/util/errors.ts';
import { labSkip } from '../../lab/skip.ts';

const now = new Date(Math.floor(Date.now() / 1000) * 1000);
const day = 86_400_000;
const log = createLogger({ sink: () => {} });
const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const noOpenssl = labSkip(hasOpenssl ? false : 'openssl CLI not installed');
const dir = mkdtempSync(join(tmpdir(), 'postern-gwcert-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const stateDir = () => join(dir, `state${n++}`);

const certificates = (more: Partial<CertificatesConfig> = {}): CertificatesConfig => ({
  ...defaultConfig().certificates,
  server: { commonName: 'vpn.example.com', sans: ['vpn.example.com', '192.0.2.2'] },
  ...more,
});

t.test('the gateway certificate as first boot makes it: every client rule at once', async (t) => {
  const pki = loadOrCreatePki(stateDir(), certificates(), log, now);
  const x = new X509Certificate(pki.server.certificatePem);
  const d = describeCertificate(pki.server.certificatePem);
  // Windows IKEv2 (error 13801 otherwise) and SSTP's TLS: serverAuth; Windows picks IKE machine certificates by the IKE intermediate EKU.
  t.ok(d.extKeyUsage.includes(Oid.serverAuth), 'EKU serverAuth');
  t.ok(d.extKeyUsage.includes('1.3.6.1.5.5.8.2.2'), 'EKU IP security IKE intermediate (RFC 4945 §5.1.3.12)');
  // Clients match what they dialled against the SAN only (Apple and strongSwan ignore the CN).
  t.equal(x.checkHost('vpn.example.com'), 'vpn.example.com', 'the DNS name is a dNSName SAN');
  t.equal(x.checkIP('192.0.2.2'), '192.0.2.2', 'the address dialled by address is an iPAddress SAN');
  const ku = readCertificate(pki.server.certificatePem, 'gateway').extensions.get(Oid.keyUsage)!;
  t.equal(ku.critical, true, 'key usage critical');
  t.equal(contentBytes(decodeDer(ku.value)).toString('hex'), '05a0', 'digitalSignature + keyEncipherment (RSA: TLS RSA key exchange)');
  t.equal(x.publicKey.asymmetricKeyType, 'rsa');
  t.ok((x.publicKey.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048, 'RSA of at least 2048 bits');
  t.notOk(x.ca, 'not a CA');
  // Apple (HT211025): a TLS server certificate issued since September 2020 lasts at most 398 days.
  const days = (d.notAfter.getTime() - d.notBefore.getTime()) / day;
  t.ok(days <= 398, `valid ${days.toFixed(2)} days, within Apple's 398`);
  t.ok(days > 396, 'and not needlessly short');
  t.ok(verifyChain(pki.server.certificatePem, pki.ca.certificatePem, now), 'chains to the CA');
  t.same(d.crlUrls, ['http://vpn.example.com/pki/ca.crl'], 'CRL distribution point on the first DNS SAN');
  t.same(d.caIssuerUrls, ['http://vpn.example.com/pki/ca.crt'], 'AIA caIssuers beside it');
  const ext = readCertificate(pki.server.certificatePem, 'gateway').extensions;
  t.equal(ext.get(Oid.cRLDistributionPoints)?.critical, false, 'CDP non-critical (RFC 5280 §4.2.1.13)');
  t.equal(ext.get(Oid.authorityInfoAccess)?.critical, false, 'AIA non-critical (§4.2.2.1 MUST)');
  t.same(reissueReasons(d, publicationUrls(certificates()), true), [], 'nothing to re-issue');
});

t.test('ECDSA P-256: digitalSignature only, the curve every client takes', async (t) => {
  const ca = createCa({ commonName: 'EC CA', validityDays: 365, keyType: 'ecdsa-p256', now });
  const leaf = issueServerCertificate(ca, { commonName: 'vpn.example.com', sans: ['192.0.2.2'], validityDays: MAX_SERVER_DAYS, now, keyType: 'ecdsa-p256' });
  const x = new X509Certificate(leaf.certificatePem);
  t.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  const ku = readCertificate(leaf.certificatePem, 'leaf').extensions.get(Oid.keyUsage)!;
  t.equal(contentBytes(decodeDer(ku.value)).toString('hex'), '0780', 'no keyEncipherment for EC keys (RFC 5480 §3)');
});

t.test('validity: longer than Apple accepts is refused', async (t) => {
  const ca = createCa({ commonName: 'CA', validityDays: 3650, keyType: 'rsa-2048', now });
  try {
    issueServerCertificate(ca, { commonName: 'a.example', sans: [], validityDays: MAX_SERVER_DAYS + 1, now });
    t.fail('398 days and an hour accepted');
  } catch (e) {
    t.match((e as { details: unknown }).details, { problem: 'validity' }, 'refused with problem validity');
  }
  const client = issueClientCertificate(ca, { commonName: 'alice', validityDays: 825, now });
  t.ok(describeCertificate(client.certificatePem).notAfter.getTime() - now.getTime() > 398 * day, 'client certificates are not TLS server certificates: longer is fine');
});

t.test('openssl x509 -text shows the CDP and AIA as Windows and OpenSSL read them', { skip: noOpenssl }, async (t) => {
  const pki = loadOrCreatePki(stateDir(), certificates(), log, now);
  const path = join(dir, 'gw.pem');
  writeFileSync(path, pki.server.certificatePem);
  const out = spawnSync('openssl', ['x509', '-in', path, '-noout', '-text'], { encoding: 'utf8' }).stdout;
  t.match(out, /X509v3 CRL Distribution Points:\s*\n\s*Full Name:\s*\n\s*URI:http:\/\/vpn\.example\.com\/pki\/ca\.crl/);
  t.match(out, /Authority Information Access:\s*\n\s*CA Issuers - URI:http:\/\/vpn\.example\.com\/pki\/ca\.crt/);
  t.match(out, /X509v3 Extended Key Usage:\s*\n\s*TLS Web Server Authentication, 1\.3\.6\.1\.5\.5\.8\.2\.2/);
  t.match(out, /Public-Key: \(2048 bit\)/);
  writeFileSync(join(dir, 'ca-for-verify.pem'), pki.ca.certificatePem);
  const verified = spawnSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca-for-verify.pem'), path], { encoding: 'utf8' });
  t.equal(verified.status, 0, `openssl accepts it as a TLS server certificate: ${verified.stdout}${verified.stderr}`);
});

t.test('publication URLs: configured name and port, IPv6 in brackets, none without a name or when off', async (t) => {
  t.same(publicationUrls(certificates()), { crl: 'http://vpn.example.com/pki/ca.crl', caIssuers: 'http://vpn.example.com/pki/ca.crt' });
  t.same(publicationUrls(certificates({ publication: { host: 'PKI.Example.net', port: 8080 } }))?.crl, 'http://pki.example.net:8080/pki/ca.crl', 'host and port from the config');
  t.same(publicationUrls(certificates({ server: { commonName: 'gw', sans: ['2001:db8::2'] } }))?.caIssuers, 'http://[2001:db8::2]/pki/ca.crt', 'an address when there is no DNS name');
  t.equal(publicationUrls(certificates({ server: { commonName: 'gw', sans: [] } })), undefined, 'no name, no URL');
  t.equal(publicationUrls(certificates({ publication: { enabled: false } })), undefined, 'publication off');
  const off = loadOrCreatePki(stateDir(), certificates({ publication: { enabled: false } }), log, now);
  t.same(describeCertificate(off.server.certificatePem).crlUrls, [], 'and then certificates carry no CDP');
});

t.test('re-issue: a certificate from before issue 16 is flagged and issued again in one step', async (t) => {
  const state = stateDir();
  const old = loadOrCreatePki(state, certificates({ publication: { enabled: false } }), log, now);
  const before = describeCertificate(old.server.certificatePem);
  const urls = publicationUrls(certificates());
  t.same(reissueReasons(before, urls, true), ['no CRL distribution point', 'no CA issuer URL']);
  t.same(reissueReasons({ ...before, notAfter: new Date(before.notBefore.getTime() + 825 * day) }, undefined, true), ['valid longer than the 398 days Apple accepts']);
  const current = describeCertificate(loadOrCreatePki(stateDir(), certificates(), log, now).server.certificatePem);
  t.same(reissueReasons(current, undefined, true), ['names a CRL that is no longer published'], 'publication turned off under a certificate naming it');
  const kept = loadOrCreatePki(state, certificates(), log, now);
  t.equal(describeCertificate(kept.server.certificatePem).serialHex, before.serialHex, 'loading alone never swaps it (pinned SSTP peers)');
  const fresh = reissueGatewayCertificate(state, certificates(), log, now);
  const after = describeCertificate(fresh.server.certificatePem);
  t.not(after.serialHex, before.serialHex, 'a new certificate');
  t.same(after.crlUrls, [urls!.crl]);
  t.equal(describeCertificate(fresh.ca.certificatePem).serialHex, describeCertificate(old.ca.certificatePem).serialHex, 'from the same CA');
  installPki(state, 'server', fresh.server.certificatePem, fresh.server.keyPem);
  try {
    reissueGatewayCertificate(state, certificates(), log, now);
    t.fail('an imported certificate was re-issued');
  } catch (e) {
    t.ok(isPosternError(e, ErrorCode.configInvalid), 'an imported certificate is never re-issued');
  }
});

t.test('renewal: within 30 days of expiry the next load issues a new one', async (t) => {
  const state = stateDir();
  const first = describeCertificate(loadOrCreatePki(state, certificates(), log, now).server.certificatePem);
  const stillFresh = new Date(now.getTime() + (MAX_SERVER_DAYS - 31) * day);
  t.equal(describeCertificate(loadOrCreatePki(state, certificates(), log, stillFresh).server.certificatePem).serialHex, first.serialHex);
  const late = new Date(now.getTime() + (MAX_SERVER_DAYS - 29) * day);
  const renewed = describeCertificate(loadOrCreatePki(state, certificates(), log, late).server.certificatePem);
  t.not(renewed.serialHex, first.serialHex, 'renewed');
  t.equal(renewed.notBefore.getTime(), late.getTime() - 3_600_000, 'from then');
});

t.test('the URL readers never throw on peer input (fast-check)', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
    const b = Buffer.from(bytes);
    return Array.isArray(readCrlDistributionPoints(b)) && Array.isArray(readCaIssuers(b));
  }), { numRuns: 500 });
  t.same(readCrlDistributionPoints(randomBytes(64)), []);
  // A URI one byte longer than its length says: strict DER refuses it, and the reader gives nothing.
  const der = Buffer.from('30' + '1d' + '30' + '1b' + 'a0' + '19' + 'a0' + '17' + '86' + '15' + Buffer.from('http://x.example/a.crl').toString('hex'), 'hex');
  t.same(readCrlDistributionPoints(der), [], 'lengths that do not add up give nothing');
  const url = Buffer.from('http://x.example/a.crl');
  const good = Buffer.concat([Buffer.from([0x30, url.length + 8, 0x30, url.length + 6, 0xa0, url.length + 4, 0xa0, url.length + 2, 0x86, url.length]), url]);
  t.same(readCrlDistributionPoints(good), ['http://x.example/a.crl'], 'a well-formed one is read');
});
