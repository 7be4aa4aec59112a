// The CRL and OCSP codecs (RFC 5280 §5, RFC 6960 §4): CRLs from Postern's CA and OCSP answers from
// `openssl ocsp` decoded field by field and checked (signature, issuer, nonce, freshness, the delegated
// responder's EKU); our OCSP request read back by openssl.
import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { decodeCertificateList } from '../../../firmware/revocation/certificate-list.ts';
import { crlUrls, ocspUrls } from '../../../firmware/revocation/certificate-urls.ts';
import { crlEntry, crlProblem } from '../../../firmware/revocation/crl-check.ts';
import { checkOcspResponse } from '../../../firmware/revocation/ocsp-check.ts';
import { certIdOf, encodeOcspRequest } from '../../../firmware/revocation/ocsp-request.ts';
import { decodeOcspResponse } from '../../../firmware/revocation/ocsp-response.ts';
import { makeRevocationPki } from '../../lab/revocation-pki.ts';
import { labSkip } from '../../lab/skip.ts';

const skip = labSkip(spawnSync('openssl', ['version']).status === 0 ? false : 'openssl CLI not installed');
const minute = 60_000;

t.test('certificate URLs: the CRL distribution point and the OCSP responder', { skip }, async (t) => {
  const pki = makeRevocationPki();
  t.teardown(() => pki.cleanup());
  const leaf = new X509Certificate(pki.issue('a.example', { crl: 'http://192.0.2.9/ca.crl', ocsp: 'http://192.0.2.9:2560/' }).certificatePem);
  t.same(crlUrls(leaf), ['http://192.0.2.9/ca.crl']);
  t.same(ocspUrls(leaf), ['http://192.0.2.9:2560/']);
  const bare = new X509Certificate(pki.issue('b.example', {}).certificatePem);
  t.same(crlUrls(bare), []);
  t.same(ocspUrls(bare), []);
});

t.test('a CRL from the CA: entries, times, number; signature and issuer checked', { skip }, async (t) => {
  const pki = makeRevocationPki();
  t.teardown(() => pki.cleanup());
  const good = new X509Certificate(pki.issue('good.example', {}).certificatePem);
  const badLeaf = pki.issue('bad.example', {});
  const bad = new X509Certificate(badLeaf.certificatePem);
  const revokedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 10 * minute);
  const der = pki.crl([{ serialHex: badLeaf.serialHex, revokedAt }]);
  const decoded = decodeCertificateList(der);
  if (!decoded.ok) return t.fail(decoded.reason);
  const ca = new X509Certificate(pki.ca.certificatePem);
  t.equal(decoded.crl.revoked.size, 1);
  t.same(crlEntry(decoded.crl, bad)?.revokedAt, revokedAt, 'the revoked serial and its date');
  t.equal(crlEntry(decoded.crl, good), undefined, 'the other certificate is not listed');
  t.ok(decoded.crl.crlNumber !== undefined, 'cRLNumber read');
  t.ok(decoded.crl.nextUpdate && decoded.crl.nextUpdate > new Date(), 'nextUpdate ahead');
  t.equal(crlProblem(decoded.crl, ca, new Date(), 5 * minute), undefined, 'usable for its CA');
  // openssl agrees on what was decoded
  const path = join(pki.dir, 'list.crl');
  writeFileSync(path, der);
  const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', path, '-noout', '-text']).toString();
  t.match(text.replace(/\s/g, ''), new RegExp(`SerialNumber:0*${badLeaf.serialHex.toUpperCase()}`)); // openssl pads an odd-length hex serial

  const other = makeRevocationPki();
  t.teardown(() => other.cleanup());
  t.match(crlProblem(decoded.crl, new X509Certificate(other.ca.certificatePem), new Date(), 0), /another issuer|does not verify/, 'another CA: refused');
  t.match(crlProblem(decoded.crl, ca, new Date(Date.now() + 8 * 86_400_000), 5 * minute), /expired/, 'past nextUpdate: refused');
  const tampered = Buffer.from(der);
  const at = tampered.indexOf(Buffer.from(badLeaf.serialHex.length % 2 ? `0${badLeaf.serialHex}` : badLeaf.serialHex, 'hex'));
  tampered[at + 1] = (tampered[at + 1]! ^ 1) & 0xff;
  const t2 = decodeCertificateList(tampered);
  t.ok(t2.ok && crlProblem(t2.crl, ca, new Date(), 0)?.includes('does not verify'), 'a changed serial breaks the signature');
});

t.test('a CRL with nothing revoked and malformed ones', async (t) => {
  t.same(decodeCertificateList(Buffer.alloc(0)), { ok: false, reason: 'not a CertificateList (SEQUENCE of three)' });
  t.equal(decodeCertificateList(Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])).ok, false, 'length beyond the bytes');
  t.equal(decodeCertificateList(Buffer.from([0x30, 0x80, 0x00, 0x00])).ok, false, 'indefinite length');
});

t.test('OCSP: our request as openssl reads it; its answers checked (CA-signed, delegated, nonce, freshness)', { skip }, async (t) => {
  const pki = makeRevocationPki();
  t.teardown(() => pki.cleanup());
  const goodLeaf = pki.issue('good.example', { ocsp: 'http://192.0.2.9:2560/' });
  const badLeaf = pki.issue('bad.example', { ocsp: 'http://192.0.2.9:2560/' });
  const signerLeaf = pki.issue('ocsp.example', {}, { eku: 'OCSPSigning' });
  const notSigner = pki.issue('plain.example', {});
  const revokedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 5 * minute);
  const index = pki.writeIndex([goodLeaf, badLeaf], new Map([[badLeaf.serialHex, revokedAt]]));
  const ca = new X509Certificate(pki.ca.certificatePem);
  const nonce = Buffer.from('00112233445566778899aabbccddeeff', 'hex');

  const answer = (leafPem: string, signer: { cert: string; key: string }, args: string[] = []) => {
    const id = certIdOf(new X509Certificate(leafPem), ca)!;
    const req = join(pki.dir, 'req.der');
    const resp = join(pki.dir, 'resp.der');
    writeFileSync(req, encodeOcspRequest(id, nonce));
    execFileSync('openssl', ['ocsp', '-index', index, '-CA', pki.caPath, '-rsigner', signer.cert, '-rkey', signer.key, '-reqin', req, '-respout', resp, ...args], { stdio: 'ignore' });
    return { id, der: readFileSync(resp) };
  };
  const asCa = { cert: pki.caPath, key: pki.caKeyPath };
  const asDelegate = { cert: signerLeaf.certPath, key: join(pki.dir, 'ocsp.example.key') };

  const reqText = execFileSync('openssl', ['ocsp', '-reqin', (writeFileSync(join(pki.dir, 'r.der'), encodeOcspRequest(certIdOf(new X509Certificate(goodLeaf.certificatePem), ca)!, nonce)), join(pki.dir, 'r.der')), '-req_text']).toString();
  t.match(reqText, /Hash Algorithm: sha1/);
  t.match(reqText.replace(/\s/g, ''), new RegExp(`SerialNumber:0*${goodLeaf.serialHex.toUpperCase()}`));
  t.match(reqText, /OCSP Nonce/);

  const good = answer(goodLeaf.certificatePem, asCa, ['-ndays', '1']);
  const g = decodeOcspResponse(good.der);
  if (!g.ok || !g.basic) return t.fail('the good answer did not decode');
  const gv = checkOcspResponse(g.basic, good.id, ca, nonce, new Date(), 5 * minute);
  t.ok(gv.ok && gv.single.status === 'good' && gv.signer === 'ca', 'good, signed by the CA');
  t.ok(g.basic.responses[0]?.nextUpdate, 'nextUpdate read');

  const bad = answer(badLeaf.certificatePem, asDelegate, ['-ndays', '1']);
  const b = decodeOcspResponse(bad.der);
  if (!b.ok || !b.basic) return t.fail('the revoked answer did not decode');
  const bv = checkOcspResponse(b.basic, bad.id, ca, nonce, new Date(), 5 * minute);
  t.ok(bv.ok && bv.single.status === 'revoked' && bv.signer === 'delegated', 'revoked, signed by the delegated responder');
  t.same(bv.ok && bv.single.revokedAt, revokedAt, 'revocation time');

  t.match(checkOcspResponse(b.basic, bad.id, ca, Buffer.from('ffff', 'hex'), new Date(), 5 * minute), { ok: false, reason: /another nonce/ }, 'another nonce: refused');
  t.match(checkOcspResponse(b.basic, good.id, ca, nonce, new Date(), 5 * minute), { ok: false, reason: /not about this certificate/ }, 'about another certificate: refused');
  t.match(checkOcspResponse(b.basic, bad.id, ca, nonce, new Date(Date.now() + 2 * 86_400_000), 5 * minute), { ok: false, reason: /stale/ }, 'past nextUpdate: refused');
  t.match(checkOcspResponse(g.basic, good.id, ca, nonce, new Date(Date.now() - 3_600_000), 5 * minute), { ok: false, reason: /not yet valid/ }, 'before thisUpdate beyond the skew: refused');

  const forged = answer(badLeaf.certificatePem, { cert: notSigner.certPath, key: join(pki.dir, 'plain.example.key') }, ['-ndays', '1']);
  const f = decodeOcspResponse(forged.der);
  t.match(f.ok && f.basic && checkOcspResponse(f.basic, forged.id, ca, nonce, new Date(), 5 * minute), { ok: false, reason: /signed neither/ }, 'a certificate without the OCSP-signing EKU: refused');
  const other = makeRevocationPki();
  t.teardown(() => other.cleanup());
  t.match(checkOcspResponse(g.basic, good.id, new X509Certificate(other.ca.certificatePem), nonce, new Date(), 5 * minute), { ok: false }, 'checked against another CA: refused');

  t.same(decodeOcspResponse(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x03])), { ok: true, responseStatus: 3 }, 'tryLater without responseBytes');
});
