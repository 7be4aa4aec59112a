// Issue 26: PKCS#10 requests (RFC 2986) a box makes for its own key, read back by the console.
// OpenSSL checks ours and makes one we read; fast-check mutates bytes and none may pass or throw.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { createCa } from '../../../firmware/pki/ca.ts';
import { buildCsr, csrFromPem, csrPem, decodeCsr } from '../../../firmware/pki/csr.ts';
import { issueClientCertificateForKey } from '../../../firmware/pki/issue.ts';
import { spkiDer } from '../../../firmware/pki/keys.ts';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

t.test('a CSR for an RSA or EC key reads back with its CN and key; OpenSSL verifies it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'csr-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, keys] of [['rsa', rsa], ['ec', ec]] as const) {
    const der = buildCsr('shop-17', keys.privateKey);
    const read = decodeCsr(der);
    t.ok(read.ok, `${name}: read back`);
    if (read.ok) {
      t.equal(read.value.commonName, 'shop-17');
      t.ok(spkiDer(read.value.publicKey).equals(spkiDer(keys.publicKey)), `${name}: the key it was made for`);
    }
    writeFileSync(join(dir, `${name}.csr`), csrPem(der));
    const out = execFileSync('openssl', ['req', '-in', join(dir, `${name}.csr`), '-noout', '-verify', '-subject'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    t.match(out, /CN\s*=\s*shop-17/, `${name}: OpenSSL reads the subject`);
    t.ok(csrFromPem(csrPem(der))?.equals(der), 'PEM round trip');
  }
  // One OpenSSL makes: CN only, SHA-256, its own key.
  const key = join(dir, 'o.key');
  writeFileSync(key, ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  execFileSync('openssl', ['req', '-new', '-key', key, '-subj', '/CN=shop-18', '-sha256', '-out', join(dir, 'o.csr')], { stdio: 'ignore' });
  const theirs = decodeCsr(csrFromPem(readFileSync(join(dir, 'o.csr'), 'utf8'))!);
  t.match(theirs, { ok: true, value: { commonName: 'shop-18' } }, "OpenSSL's CSR reads");
});

t.test('refusals: another key\'s signature, weak keys, other subjects', async (t) => {
  const der = buildCsr('shop-17', rsa.privateKey);
  // The info of one request with the signature of another: the signature must not hold.
  const other = buildCsr('shop-17', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey);
  const swapped = Buffer.from(der);
  const tail = other.subarray(other.length - 256);
  tail.copy(swapped, swapped.length - 256);
  t.match(decodeCsr(swapped), { ok: false, why: /signature does not hold/ });
  t.match(decodeCsr(buildCsr('x', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey)), { ok: false, why: /RSA \(2048/ }, 'RSA 1024');
  t.match(decodeCsr(Buffer.alloc(0)), { ok: false });
  t.match(decodeCsr(Buffer.alloc(9000, 0x30)), { ok: false, why: /1 to 8192/ });
  t.match(decodeCsr(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00])), { ok: false, why: /PKCS#10/ });
});

t.test('a client certificate issued for a CSR\'s key: clientAuth, CN, no key of its own', async (t) => {
  const ca = createCa({ commonName: 'Enrollment CA', validityDays: 3650, keyType: 'ecdsa-p256', now: new Date() });
  const read = decodeCsr(buildCsr('shop-17', ec.privateKey));
  if (!read.ok) throw new Error(read.why);
  const issued = issueClientCertificateForKey(ca, { commonName: 'shop-17', validityDays: 365, now: new Date(), publicKey: read.value.publicKey });
  const cert = new X509Certificate(issued.certificatePem);
  t.ok(cert.checkPrivateKey(createPrivateKey(ec.privateKey.export({ type: 'pkcs8', format: 'pem' }))), 'the box\'s own key goes with it');
  t.ok(cert.verify(new X509Certificate(ca.certificatePem).publicKey), 'signed by the CA');
  t.same(cert.keyUsage, ['1.3.6.1.5.5.7.3.2'], 'EKU clientAuth');
  t.equal(cert.subject, 'CN=shop-17');
  t.notOk('keyPem' in issued);
});

t.test('property: mutated CSR bytes never pass as another request, and nothing throws', async (t) => {
  const der = buildCsr('shop-17', ec.privateKey);
  let refused = 0;
  fc.assert(fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (i, x) => {
    const m = Buffer.from(der);
    m[i % m.length] = m[i % m.length]! ^ x;
    const r = decodeCsr(m);
    if (!r.ok) refused++;
    // A flipped byte may only pass if it is outside what the signature covers and the key/CN stay the same.
    return !r.ok || (r.value.commonName === 'shop-17' && spkiDer(r.value.publicKey).equals(spkiDer(ec.publicKey)));
  }), { numRuns: 400 });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => typeof decodeCsr(Buffer.from(bytes)).ok === 'boolean'), { numRuns: 400 });
  t.ok(refused > 350, `mutations refused: ${refused}/400`);
});
