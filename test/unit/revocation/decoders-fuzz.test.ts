// The CRL and OCSP decoders under fast-check: CRLs signed with random revocation lists decode to
// exactly those entries; random bytes and mutated valid CRLs / OCSP responses never throw.
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import t from 'tap';
import { createCa } from '../../../firmware/pki/ca.ts';
import { createCrl } from '../../../firmware/pki/crl.ts';
import { pemDecode } from '../../../firmware/pki/der.ts';
import { decodeCertificateList } from '../../../firmware/revocation/certificate-list.ts';
import { readTlv } from '../../../firmware/revocation/der-read.ts';
import { certIdOf, encodeOcspRequest } from '../../../firmware/revocation/ocsp-request.ts';
import { decodeOcspResponse } from '../../../firmware/revocation/ocsp-response.ts';
import { makeRevocationPki } from '../../lab/revocation-pki.ts';

const ca = createCa({ commonName: 'Fuzz CA', validityDays: 30, keyType: 'ecdsa-p256', now: new Date() });
const serial = fc.uint8Array({ minLength: 1, maxLength: 20 }).map((b) => Buffer.from(b).toString('hex')).filter((h) => !/^0+$/.test(h));
const revokedList = fc.uniqueArray(fc.record({ serialHex: serial, revokedAt: fc.integer({ min: 0, max: 2_000_000_000 }).map((s) => new Date(s * 1000)) }), { maxLength: 12, selector: (r) => r.serialHex.replace(/^0+/, '') });
const crlOf = (revoked: Array<{ serialHex: string; revokedAt: Date }>) => pemDecode('X509 CRL', createCrl(ca, revoked, { now: new Date(), nextUpdateDays: 7 }))!;

/** A byte string with some bytes changed, some cut off or some inserted. */
const mutated = (sample: Buffer) => fc.tuple(fc.array(fc.tuple(fc.nat(sample.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(sample.length), fc.boolean()).map(([edits, cut, truncate]) => {
  const b = Buffer.from(sample);
  for (const [at, v] of edits) b[at] = v;
  return truncate ? b.subarray(0, cut) : b;
});

t.test('CRLs signed with random revocations decode to exactly those entries', async (t) => {
  fc.assert(fc.property(revokedList, (revoked) => {
    const d = decodeCertificateList(crlOf(revoked));
    if (!d.ok) return false;
    if (d.crl.revoked.size !== revoked.length) return false;
    return revoked.every((r) => d.crl.revoked.get(r.serialHex.replace(/^0+/, ''))?.revokedAt.getTime() === r.revokedAt.getTime());
  }), { numRuns: 60 });
  t.pass('round trip');
});

t.test('random bytes never throw', async (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
    decodeCertificateList(b);
    decodeOcspResponse(b);
    readTlv(b, 0);
    return true;
  }), { numRuns: 3000 });
  // Structured noise: nested SEQUENCEs with random contents get past the first checks.
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 8 }), (parts) => {
    const inner = Buffer.concat(parts.map((p) => Buffer.concat([Buffer.from([0x30, p.length]), p])));
    const b = Buffer.concat([Buffer.from([0x30, 0x82, inner.length >> 8, inner.length & 0xff]), inner]);
    return decodeCertificateList(b).ok === false && decodeOcspResponse(b) !== undefined;
  }), { numRuns: 2000 });
  t.pass('no throw');
});

t.test('mutated CRLs never throw', async (t) => {
  const sample = crlOf([{ serialHex: '0a1b2c', revokedAt: new Date() }, { serialHex: '77', revokedAt: new Date() }]);
  t.ok(decodeCertificateList(sample).ok);
  fc.assert(fc.property(mutated(sample), (b) => {
    decodeCertificateList(b);
    return true;
  }), { numRuns: 3000 });
});

t.test('mutated OCSP responses never throw', { skip: spawnSync('openssl', ['version']).status === 0 ? false : 'openssl CLI not installed' }, async (t) => {
  const pki = makeRevocationPki();
  t.teardown(() => pki.cleanup());
  const leaf = pki.issue('fuzz.example', { ocsp: 'http://192.0.2.9/' });
  const index = pki.writeIndex([leaf], new Map([[leaf.serialHex, new Date()]]));
  const req = join(pki.dir, 'req.der');
  writeFileSync(req, encodeOcspRequest(certIdOf(new X509Certificate(leaf.certificatePem), new X509Certificate(pki.ca.certificatePem))!, Buffer.alloc(16, 7)));
  const resp = join(pki.dir, 'resp.der');
  execFileSync('openssl', ['ocsp', '-index', index, '-CA', pki.caPath, '-rsigner', pki.caPath, '-rkey', pki.caKeyPath, '-reqin', req, '-respout', resp, '-ndays', '1'], { stdio: 'ignore' });
  const sample = readFileSync(resp);
  t.ok(decodeOcspResponse(sample).ok);
  fc.assert(fc.property(mutated(sample), (b) => {
    decodeOcspResponse(b);
    return true;
  }), { numRuns: 3000 });
});
