import { spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import t, { type Test } from 'tap';
import { createCa, type CertificateAuthority } from '../../../firmware/pki/ca.ts';
import { createCrl } from '../../../firmware/pki/crl.ts';
import { children, contentBytes, decodeDer } from '../../../firmware/pki/der.ts';
import { describeCertificate, verifyChain } from '../../../firmware/pki/inspect.ts';
import { issueClientCertificate, issueServerCertificate } from '../../../firmware/pki/issue.ts';
import { Oid } from '../../../firmware/pki/oids.ts';
import { exportPkcs12, importPkcs12 } from '../../../firmware/pki/pkcs12.ts';
import { readCertificate } from '../../../firmware/pki/x509-read.ts';
import { ErrorCode, isPosternError } from '../../../firmware/util/errors.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { labSkip } from '../../lab/skip.ts';

// openssl verify checks against the real clock, so the CA lives in the present.
const now = new Date(Math.floor(Date.now() / 1000) * 1000);
const hour = 3_600_000;
const day = 86_400_000;

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;
const noOpenssl = labSkip(hasOpenssl ? false : 'openssl CLI not installed');
const dir = mkdtempSync(join(tmpdir(), 'postern-pki-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
const file = (content: string | Buffer): string => {
  const path = join(dir, `f${fileCount++}`);
  writeFileSync(path, content);
  return path;
};
const openssl = (...args: string[]): { ok: boolean; out: string } => {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
};
const text = (pem: string): string => openssl('x509', '-in', file(pem), '-noout', '-text').out;

/** Checks that fn throws a PosternError with this problem, and that no secret leaked into it. */
const rejects = (t: Test, fn: () => unknown, problem: string, secrets: string[] = []): void => {
  try {
    fn();
    t.fail(`expected ${problem}`);
  } catch (e) {
    t.ok(isPosternError(e, ErrorCode.configInvalid), `PosternError for ${problem}`);
    t.match((e as { details: unknown }).details, { problem });
    const shown = `${String(e)} ${JSON.stringify(e)} ${inspect(e, { depth: 5 })}`;
    for (const s of secrets) t.notOk(shown.includes(s), 'no secret in the error');
    t.notOk(shown.includes('PRIVATE KEY'), 'no key in the error');
  }
};

const ca: CertificateAuthority = createCa({ commonName: 'Postern CA', validityDays: 3650, keyType: 'rsa-2048', now });
const server = issueServerCertificate(ca, { commonName: 'vpn.example.com', sans: ['192.0.2.1', 'VPN2.example.com', '2001:db8::1'], validityDays: 397, now });
const client = issueClientCertificate(ca, { commonName: 'alice', email: 'alice@example.com', validityDays: 365, now });
const caPublicKey = new X509Certificate(ca.certificatePem).publicKey;

t.test('CA: self-signed root, critical CA constraints, keyCertSign and cRLSign (RFC 5280 §4.2.1.3, §4.2.1.9)', async (t) => {
  const d = describeCertificate(ca.certificatePem);
  t.equal(d.subject, 'CN=Postern CA');
  t.equal(d.issuer, 'CN=Postern CA');
  t.ok(d.isCa);
  t.equal(d.notBefore.getTime(), now.getTime() - hour, 'back-dated one hour for clock skew');
  t.equal(d.notAfter.getTime(), now.getTime() + 3650 * day);
  t.match(d.serialHex, /^[4-7][0-9a-f]{31}$/, '16 random octets, positive');
  t.ok(new X509Certificate(ca.certificatePem).verify(caPublicKey), 'self-signed');

  const { extensions } = readCertificate(ca.certificatePem, 'CA');
  t.equal(extensions.get(Oid.basicConstraints)?.critical, true);
  t.equal(extensions.get(Oid.keyUsage)?.critical, true);
  t.equal(contentBytes(decodeDer(extensions.get(Oid.keyUsage)!.value)).toString('hex'), '0106', 'keyCertSign + cRLSign, trailing zero bit dropped');
  t.ok(extensions.has(Oid.subjectKeyIdentifier));
  if (hasOpenssl) {
    const out = text(ca.certificatePem);
    t.match(out, /Signature Algorithm: sha256WithRSAEncryption/);
    t.match(out, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    t.match(out, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
    t.match(out, /Subject Key Identifier/);
  }
});

t.test('two CAs get different serials; a fixed random source gives a fixed serial', async (t) => {
  const fixed = (n: number): Buffer => Buffer.alloc(n, 0xff);
  const a = createCa({ commonName: 'A', validityDays: 10, keyType: 'rsa-2048', now, randomBytes: fixed });
  t.equal(describeCertificate(a.certificatePem).serialHex, `7f${'ff'.repeat(15)}`);
  t.not(describeCertificate(ca.certificatePem).serialHex, describeCertificate(server.certificatePem).serialHex);
});

t.test('server certificate: verifies against the CA, EKU serverAuth and IKE intermediate, typed SANs', async (t) => {
  const cert = new X509Certificate(server.certificatePem);
  t.ok(cert.verify(caPublicKey), 'signed by the CA');
  t.ok(verifyChain(server.certificatePem, ca.certificatePem, now));
  const d = describeCertificate(server.certificatePem);
  t.equal(d.serialHex, server.serialHex);
  t.same(d.extKeyUsage, [Oid.serverAuth, Oid.ipsecIkeIntermediate]);
  t.notOk(d.isCa);
  t.same(d.sans, [
    { type: 'dns', value: 'vpn.example.com' },
    { type: 'ip', value: '192.0.2.1' },
    { type: 'dns', value: 'vpn2.example.com' },
    { type: 'ip', value: '2001:db8::1' },
  ]);
  const ext = readCertificate(server.certificatePem, 'server').extensions;
  const caExt = readCertificate(ca.certificatePem, 'CA').extensions;
  const aki = children(decodeDer(ext.get(Oid.authorityKeyIdentifier)!.value))[0];
  t.same(contentBytes(aki), contentBytes(decodeDer(caExt.get(Oid.subjectKeyIdentifier)!.value)), 'AKI is the CA SKI');
  t.equal(contentBytes(decodeDer(ext.get(Oid.keyUsage)!.value)).toString('hex'), '05a0', 'digitalSignature + keyEncipherment');
});

t.test('server certificate: openssl agrees (verify -purpose sslserver, x509 -text)', { skip: noOpenssl }, async (t) => {
  const r = openssl('verify', '-purpose', 'sslserver', '-CAfile', file(ca.certificatePem), file(server.certificatePem));
  t.ok(r.ok, r.out);
  const out = text(server.certificatePem);
  t.match(out, /Extended Key Usage:\s+TLS Web Server Authentication, 1\.3\.6\.1\.5\.5\.8\.2\.2/);
  t.match(out, /DNS:vpn\.example\.com/);
  t.match(out, /IP Address:192\.0\.2\.1/);
  t.match(out, /IP Address:2001:DB8:0:0:0:0:0:1/);
  t.match(out, /Authority Key Identifier/);
  t.match(out, /Key Usage: critical\s+Digital Signature, Key Encipherment/);
  t.match(out, /Basic Constraints:\s+CA:FALSE/);
});

t.test('client certificate: EKU clientAuth, rfc822Name only when an e-mail is given', async (t) => {
  t.ok(new X509Certificate(client.certificatePem).verify(caPublicKey));
  const d = describeCertificate(client.certificatePem);
  t.equal(d.subject, 'CN=alice');
  t.same(d.extKeyUsage, [Oid.clientAuth]);
  t.same(d.sans, [{ type: 'email', value: 'alice@example.com' }]);
  const bare = issueClientCertificate(ca, { commonName: 'bob', validityDays: 30, now });
  t.same(describeCertificate(bare.certificatePem).sans, []);
  if (hasOpenssl) {
    const r = openssl('verify', '-purpose', 'sslclient', '-CAfile', file(ca.certificatePem), file(client.certificatePem));
    t.ok(r.ok, r.out);
    t.match(text(client.certificatePem), /Extended Key Usage:\s+TLS Web Client Authentication\n/);
  }
});

t.test('ECDSA P-256 CA and leaf: ecdsa-with-SHA256, no keyEncipherment for EC keys (RFC 5480 §3)', async (t) => {
  const ecCa = createCa({ commonName: 'EC CA', validityDays: 365, keyType: 'ecdsa-p256', now });
  const leaf = issueServerCertificate(ecCa, { commonName: 'vpn.example.com', sans: [], validityDays: 90, now, keyType: 'ecdsa-p256' });
  t.ok(verifyChain(leaf.certificatePem, ecCa.certificatePem, now));
  const ku = readCertificate(leaf.certificatePem, 'leaf').extensions.get(Oid.keyUsage)!;
  t.equal(contentBytes(decodeDer(ku.value)).toString('hex'), '0780', 'digitalSignature only');
  t.same(describeCertificate(leaf.certificatePem).sans, [{ type: 'dns', value: 'vpn.example.com' }], 'CN copied into the SAN');
  if (hasOpenssl) {
    t.match(text(leaf.certificatePem), /Signature Algorithm: ecdsa-with-SHA256/);
    const r = openssl('verify', '-purpose', 'sslserver', '-CAfile', file(ecCa.certificatePem), file(leaf.certificatePem));
    t.ok(r.ok, r.out);
  }
});

t.test('validity: dates from 2050 on are GeneralizedTime (RFC 5280 §4.1.2.5), leaves end with their CA', async (t) => {
  const old = createCa({ commonName: 'Long CA', validityDays: 30 * 365, keyType: 'rsa-2048', now: new Date('2030-01-01T00:00:00Z') });
  t.equal(describeCertificate(old.certificatePem).notAfter.toISOString(), '2059-12-25T00:00:00.000Z');
  const short = createCa({ commonName: 'Short CA', validityDays: 10, keyType: 'rsa-2048', now });
  const leaf = issueClientCertificate(short, { commonName: 'carol', validityDays: 365, now });
  t.equal(describeCertificate(leaf.certificatePem).notAfter.getTime(), now.getTime() + 10 * day);
  t.notOk(verifyChain(leaf.certificatePem, short.certificatePem, new Date(now.getTime() + 11 * day)), 'expired');
});

t.test('bad input is refused with a stable problem code', async (t) => {
  const base = { commonName: 'vpn.example.com', sans: [], validityDays: 30, now };
  rejects(t, () => issueServerCertificate(ca, { ...base, sans: ['not a host!'] }), 'subject-alt-name');
  rejects(t, () => issueServerCertificate(ca, { ...base, commonName: 'Postern gateway' }), 'subject-alt-name');
  rejects(t, () => issueServerCertificate(ca, { ...base, validityDays: 398 }), 'validity');
  rejects(t, () => issueServerCertificate(ca, { ...base, validityDays: 1.5 }), 'validity');
  rejects(t, () => issueServerCertificate(ca, { ...base, commonName: 'x'.repeat(65) }), 'common-name');
  rejects(t, () => issueClientCertificate(ca, { commonName: 'a', email: 'no-at-sign', validityDays: 1, now }), 'email');
  rejects(t, () => createCa({ commonName: 'X', validityDays: 1, keyType: 'dsa-1024' as 'rsa-2048', now }), 'key-type');
  rejects(t, () => issueServerCertificate({ certificatePem: server.certificatePem, keyPem: server.keyPem }, base), 'not-a-ca');
  const other = createCa({ commonName: 'Other', validityDays: 10, keyType: 'rsa-2048', now });
  rejects(t, () => issueServerCertificate({ certificatePem: ca.certificatePem, keyPem: other.keyPem }, base), 'ca-key-mismatch', [other.keyPem.reveal()]);
  const lines = ca.keyPem.reveal().trim().split('\n');
  const broken = new Secret([...lines.slice(0, 4), lines[lines.length - 1]].join('\n')); // truncated DER
  rejects(t, () => createCrl({ certificatePem: ca.certificatePem, keyPem: broken }, [], { now, nextUpdateDays: 7 }), 'private-key', [broken.reveal()]);
  rejects(t, () => createCrl(ca, [{ serialHex: 'zz', revokedAt: now }], { now, nextUpdateDays: 7 }), 'serial');
});

t.test('PKCS#12: 3DES + SHA-1 MAC bundle round-trips through importPkcs12', async (t) => {
  const password = new Secret('correct horse');
  const p12 = exportPkcs12({ ...client, caPem: ca.certificatePem, password, friendlyName: 'alice (Postern)' });
  const back = importPkcs12(p12, password);
  t.equal(back.certificatePem, new X509Certificate(client.certificatePem).toString());
  t.same(back.chainPems, [new X509Certificate(ca.certificatePem).toString()]);
  const spki = (pem: string): Buffer => createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' });
  t.same(spki(back.keyPem.reveal()), spki(client.keyPem.reveal()), 'same key');

  const ecCa = createCa({ commonName: 'EC CA', validityDays: 30, keyType: 'ecdsa-p256', now });
  const ecLeaf = issueServerCertificate(ecCa, { commonName: '192.0.2.9', sans: [], validityDays: 30, now, keyType: 'ecdsa-p256' });
  const ecBack = importPkcs12(exportPkcs12({ ...ecLeaf, caPem: ecCa.certificatePem, password, friendlyName: 'ec' }), password);
  t.equal(ecBack.certificatePem, new X509Certificate(ecLeaf.certificatePem).toString(), 'EC keys too, which forge alone cannot write');
});

t.test('PKCS#12: openssl reads the bundle (with or without -legacy)', { skip: noOpenssl }, async (t) => {
  const p12 = file(exportPkcs12({ ...server, caPem: ca.certificatePem, password: new Secret('pw 123'), friendlyName: 'Postern VPN' }));
  const plain = openssl('pkcs12', '-info', '-nokeys', '-in', p12, '-passin', 'pass:pw 123');
  const r = plain.ok ? plain : openssl('pkcs12', '-legacy', '-info', '-nokeys', '-in', p12, '-passin', 'pass:pw 123');
  t.ok(r.ok, r.out);
  t.match(r.out, /MAC: sha1/);
  t.match(r.out, /pbeWithSHA1And3-KeyTripleDES-CBC/);
  t.match(r.out, /friendlyName: Postern VPN/);
  t.equal(r.out.match(/BEGIN CERTIFICATE/g)?.length, 2, 'leaf and CA');
  t.notOk(openssl('pkcs12', '-info', '-nokeys', '-in', p12, '-passin', 'pass:wrong').ok, 'openssl refuses a wrong password');
});

t.test('PKCS#12: imports an OpenSSL 3 default bundle (PBES2 AES-256, SHA-256 MAC)', { skip: noOpenssl }, async (t) => {
  const out = join(dir, 'outside.p12');
  const r = openssl('pkcs12', '-export', '-in', file(server.certificatePem), '-inkey', file(server.keyPem.reveal()), '-certfile', file(ca.certificatePem), '-passout', 'pass:outside', '-out', out);
  t.ok(r.ok, r.out);
  const back = importPkcs12(readFileSync(out), new Secret('outside'));
  t.equal(back.certificatePem, new X509Certificate(server.certificatePem).toString());
  t.equal(back.chainPems.length, 1);
});

t.test('PKCS#12: a wrong password or a non-PKCS#12 file gives a clear error without secrets', async (t) => {
  const p12 = exportPkcs12({ ...client, caPem: ca.certificatePem, password: new Secret('right one'), friendlyName: 'alice' });
  rejects(t, () => importPkcs12(p12, new Secret('wrong one')), 'password', ['wrong one', 'right one']);
  try {
    importPkcs12(p12, new Secret('wrong one'));
  } catch (e) {
    t.match((e as Error).message, /wrong PKCS#12 password/);
  }
  rejects(t, () => importPkcs12(Buffer.from('not a pfx'), new Secret('x')), 'pkcs12-format');
  rejects(t, () => exportPkcs12({ ...client, caPem: ca.certificatePem, password: new Secret(''), friendlyName: 'a' }), 'password');
  rejects(t, () => exportPkcs12({ ...client, keyPem: server.keyPem, caPem: ca.certificatePem, password: new Secret('p'), friendlyName: 'a' }), 'private-key', [server.keyPem.reveal()]);
});

t.test('CRL: v2 with AKI and cRLNumber lists the revoked serial; openssl -crl_check fails it and passes others', async (t) => {
  const crl = createCrl(ca, [{ serialHex: client.serialHex, revokedAt: new Date(now.getTime() - 60_000) }], { now, nextUpdateDays: 7, crlNumber: 42n });
  t.match(crl, /^-----BEGIN X509 CRL-----\n/);
  if (!hasOpenssl) return;
  const crlFile = file(crl);
  const caFile = file(ca.certificatePem);
  const shown = openssl('crl', '-in', crlFile, '-noout', '-text');
  t.ok(shown.ok, shown.out);
  t.match(shown.out, /Version 2/);
  t.match(shown.out, /Signature Algorithm: sha256WithRSAEncryption/);
  t.match(shown.out, /Issuer: CN = Postern CA/);
  t.match(shown.out, /CRL Number:\s+42/);
  t.match(shown.out, /Authority Key Identifier/);
  t.match(shown.out, new RegExp(`Serial Number: ${client.serialHex.toUpperCase()}`));
  t.ok(openssl('crl', '-in', crlFile, '-CAfile', caFile, '-noout').out.includes('verify OK'), 'CRL signature verifies');

  const revoked = openssl('verify', '-crl_check', '-CAfile', caFile, '-CRLfile', crlFile, file(client.certificatePem));
  t.notOk(revoked.ok);
  t.match(revoked.out, /certificate revoked/);
  const fine = openssl('verify', '-crl_check', '-CAfile', caFile, '-CRLfile', crlFile, file(server.certificatePem));
  t.ok(fine.ok, fine.out);
});

t.test('CRL: with nothing revoked the list is absent (RFC 5280 §5.1.2.6)', { skip: noOpenssl }, async (t) => {
  const crl = createCrl(ca, [], { now, nextUpdateDays: 1 });
  const shown = openssl('crl', '-in', file(crl), '-noout', '-text');
  t.ok(shown.ok, shown.out);
  t.match(shown.out, /No Revoked Certificates/);
  t.match(shown.out, new RegExp(`CRL Number:\\s+${Math.floor(now.getTime() / 1000)}`), 'default number: seconds of now');
});

t.test('verifyChain says no to the wrong CA and to garbage', async (t) => {
  const other = createCa({ commonName: 'Postern CA', validityDays: 10, keyType: 'rsa-2048', now });
  t.notOk(verifyChain(server.certificatePem, other.certificatePem), 'same name, other key');
  t.notOk(verifyChain(server.certificatePem, client.certificatePem), 'not a CA');
  t.notOk(verifyChain('garbage', ca.certificatePem));
  rejects(t, () => describeCertificate('garbage'), 'certificate');
});

t.test('keys are Secrets: never in JSON, inspect or string forms of results', async (t) => {
  const p12Password = new Secret('hunter2');
  const imported = importPkcs12(exportPkcs12({ ...client, caPem: ca.certificatePem, password: p12Password, friendlyName: 'a' }), p12Password);
  for (const [name, value] of Object.entries({ ca, server, client, imported })) {
    const shown = `${JSON.stringify(value)} ${inspect(value, { depth: 5 })} ${String(value.keyPem)}`;
    t.notOk(shown.includes('PRIVATE KEY'), `${name}: no key text`);
    t.match(JSON.stringify(value), /"keyPem":"<redacted>"/);
  }
  t.notOk(JSON.stringify(p12Password).includes('hunter2'));
});
