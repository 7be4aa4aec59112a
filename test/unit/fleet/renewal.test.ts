// Issue 26: renewal of an enrolled certificate. The box's request signed with its current
// certificate's key, the console's decision (each refusal has its case; fast-check mutates requests:
// none may issue, and the decoder never throws), the answer taken only for the new key, and when the
// box asks, on a simulated clock: at 2/3 of the life, then with backoff after each failure.
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { keyIdOf } from '../../../firmware/fleet/envelope.ts';
import { ANSWER_WAIT_MS, nextStep, onRenewalEvent, planFor } from '../../../firmware/fleet/renewal-plan.ts';
import { decideRenewRequest, decodeRenewRequest, encodeRenewRequest, nextRenewalAttempt, renewalDueAt, RETRY_FIRST_MS, RETRY_MAX_MS } from '../../../firmware/fleet/renewal.ts';
import { csrSha256, signEnrollAnswer, verifyEnrollAnswer } from '../../../firmware/fleet/token-enrollment.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { buildCsr } from '../../../firmware/pki/csr.ts';
import { issueClientCertificateForKey } from '../../../firmware/pki/issue.ts';

const NOW = Date.parse('2026-12-05T12:00:00Z');
const DAY = 86_400_000;
const ca = createCa({ commonName: 'Postern enrollment CA', validityDays: 3650, keyType: 'ecdsa-p256', now: new Date(NOW - 400 * DAY) });
const otherCa = createCa({ commonName: 'Another CA', validityDays: 3650, keyType: 'ecdsa-p256', now: new Date(NOW - 400 * DAY) });
const ec = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const current = ec();
const issued = (who = ca, serial = 'shop-17', key = current.publicKey, from = NOW - 250 * DAY, days = 365) => issueClientCertificateForKey(who, { commonName: serial, validityDays: days, now: new Date(from), publicKey: key }).certificatePem;
const next = ec();
const csr = buildCsr('shop-17', next.privateKey);
const request = (over: { cert?: string; key?: typeof current.privateKey; serial?: string; csr?: Buffer; at?: number } = {}) =>
  encodeRenewRequest(over.serial ?? 'shop-17', over.csr ?? csr, over.cert ?? issued(), over.key ?? current.privateKey, over.at ?? NOW);

t.test('a factory certificate: renewed only by a console given that factory\'s CA', async (t) => {
  const factoryCa = createCa({ commonName: 'Factory CA', validityDays: 3650, keyType: 'rsa-2048', now: new Date(NOW - 400 * DAY) });
  const factoryKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const factoryRequest = request({ cert: issued(factoryCa, 'shop-17', factoryKey.publicKey), key: factoryKey.privateKey });
  t.match(decideRenewRequest(factoryRequest, 'shop-17', ca.certificatePem, NOW), { kind: 'refuse', code: 'bad-certificate', reason: /not from the enrollment CA$/ }, 'not without it');
  t.match(decideRenewRequest(factoryRequest, 'shop-17', ca.certificatePem, NOW, [otherCa.certificatePem]), { kind: 'refuse', code: 'bad-certificate', reason: /or a factory CA/ }, 'nor with another factory\'s');
  t.match(decideRenewRequest(factoryRequest, 'shop-17', ca.certificatePem, NOW, [otherCa.certificatePem, factoryCa.certificatePem]), { kind: 'issue', serial: 'shop-17' }, 'with it: issued (an RSA factory key signs the request)');
  t.match(decideRenewRequest(request({ cert: issued(factoryCa, 'shop-17', factoryKey.publicKey) }), 'shop-17', ca.certificatePem, NOW, [factoryCa.certificatePem]), { kind: 'refuse', code: 'bad-signature' }, 'still signed with the factory certificate\'s own key');
  t.match(decideRenewRequest(request({ cert: issued(factoryCa, 'shop-18', factoryKey.publicKey), key: factoryKey.privateKey }), 'shop-17', ca.certificatePem, NOW, [factoryCa.certificatePem]), { kind: 'refuse', code: 'bad-certificate' }, 'and naming the serial');
  t.match(decideRenewRequest(request(), 'shop-17', ca.certificatePem, NOW, [factoryCa.certificatePem]), { kind: 'issue' }, 'enrolled certificates as before');
});

t.test('the console issues for a request signed with the current certificate, for the new key', async (t) => {
  const d = decideRenewRequest(request(), 'shop-17', ca.certificatePem, NOW);
  t.equal(d.kind, 'issue');
  if (d.kind !== 'issue') return;
  t.equal(d.csrSha256, csrSha256(csr).toString('hex'));
  // The console's answer is token enrollment's, for the new CSR: the box takes it for its new key only.
  const operator = generateKeyPairSync('ed25519');
  const cert = issueClientCertificateForKey(ca, { commonName: 'shop-17', validityDays: 365, now: new Date(NOW), publicKey: d.request.publicKey });
  const answer = signEnrollAnswer({ outcome: 'issued', serial: 'shop-17', issuedAt: NOW, csrSha256: d.csrSha256, certificate: cert.certificatePem, ca: ca.certificatePem }, operator.privateKey);
  const keys = [{ id: keyIdOf(operator.publicKey), key: operator.publicKey }];
  t.equal(verifyEnrollAnswer(answer, { serial: 'shop-17', keys, publicKey: next.publicKey, csrSha256: d.csrSha256, now: NOW }).kind, 'issued');
  t.equal(verifyEnrollAnswer(answer, { serial: 'shop-17', keys, publicKey: current.publicKey, csrSha256: d.csrSha256, now: NOW }).kind, 'reject', 'not for the old key');
});

t.test('every refusal has its case', async (t) => {
  const code = (bytes: string, serial = 'shop-17', now = NOW) => {
    const d = decideRenewRequest(bytes, serial, ca.certificatePem, now);
    return d.kind === 'refuse' ? d.code : 'issue';
  };
  t.equal(code('{"type":"x"}'), 'malformed');
  t.equal(code(request(), 'shop-18'), 'wrong-topic');
  t.equal(code(request({ cert: issued(otherCa) })), 'bad-certificate', 'a certificate from another CA');
  t.equal(code(request({ cert: issued(ca, 'shop-18') })), 'bad-certificate', 'another box\'s certificate');
  t.equal(code(request({ cert: issued(ca, 'shop-17', current.publicKey, NOW - 400 * DAY) })), 'expired', 'too late: enroll again with a token');
  t.equal(code(request({ key: ec().privateKey })), 'bad-signature', 'signed by a key that is not the certificate\'s');
  t.equal(code(request({ at: NOW - 11 * 60_000 })), 'stale', 'a captured request goes stale');
  t.equal(code(request({ csr: buildCsr('shop-18', next.privateKey) })), 'wrong-cn');
  t.equal(code(request({ csr: Buffer.from('3003020100', 'hex') })), 'bad-csr');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  t.equal(code(request({ cert: issued(ca, 'shop-17', rsa.publicKey), key: rsa.privateKey })), 'issue', 'an RSA certificate signs as well');
});

t.test('fuzz: the decoder never throws; a mutated request never issues', async (t) => {
  let runs = 0;
  fc.assert(fc.property(fc.string({ maxLength: 400 }), (text) => {
    runs++;
    decodeRenewRequest(text);
    return decideRenewRequest(text, 'shop-17', ca.certificatePem, NOW).kind === 'refuse';
  }), { numRuns: 300 });
  const good = Buffer.from(request());
  const original = decodeRenewRequest(good);
  if (!original.ok) throw new Error('the request must decode');
  const sameCertificate = (der: Buffer) => {
    const a = new X509Certificate(original.value.certificate);
    const b = new X509Certificate(der);
    return a.serialNumber === b.serialNumber && a.subject === b.subject && a.publicKey.equals(b.publicKey) && a.validTo === b.validTo;
  };
  fc.assert(fc.property(fc.integer({ min: 0, max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
    runs++;
    const bad = Buffer.from(good);
    bad[at] = bad[at]! ^ xor;
    if (decideRenewRequest(bad, 'shop-17', ca.certificatePem, NOW).kind === 'refuse') return true;
    // Issued only for what was asked: the same CSR, time and signature, and the same certificate
    // (its DER may differ where the CA's signature still holds: an encoding OpenSSL tolerates).
    const parsed = decodeRenewRequest(bad);
    return parsed.ok && parsed.value.csr.equals(original.value.csr) && parsed.value.timeText === original.value.timeText && parsed.value.signature.equals(original.value.signature) && sameCertificate(parsed.value.certificate);
  }), { numRuns: 400 });
  t.equal(runs, 700, 'every generated case ran');
});

t.test('when to ask, on a simulated clock: 2/3 of the life, one request at a time, backoff after failures', async (t) => {
  const notBefore = NOW;
  const notAfter = NOW + 90 * DAY;
  t.equal(renewalDueAt(notBefore, notAfter), NOW + 60 * DAY);
  let s = planFor(notBefore, notAfter);
  let clock = NOW + 59 * DAY;
  t.match(nextStep(s, clock), { action: 'wait', at: NOW + 60 * DAY }, 'not before 2/3 of its life');
  clock = NOW + 60 * DAY;
  t.equal(nextStep(s, clock).action, 'send');
  s = onRenewalEvent(s, { kind: 'sent', csrSha256: 'a', at: clock });
  t.match(nextStep(s, clock + 1000), { action: 'wait', at: clock + ANSWER_WAIT_MS }, 'one request at a time');
  const gaps: number[] = [];
  for (let i = 0; i < 12; i++) {
    const refusedAt = clock + 1000;
    s = onRenewalEvent(s, { kind: 'refused', code: 'bad-csr', reason: 'x', at: refusedAt });
    const step = nextStep(s, refusedAt);
    t.equal(step.action, 'wait');
    gaps.push(step.at - refusedAt);
    clock = step.at;
    t.equal(nextStep(s, clock).action, 'send', 'asks again when the backoff is over');
    s = onRenewalEvent(s, { kind: 'sent', csrSha256: 'a', at: clock });
  }
  t.same(gaps.slice(0, 5), [RETRY_FIRST_MS, 2 * RETRY_FIRST_MS, 4 * RETRY_FIRST_MS, 8 * RETRY_FIRST_MS, 16 * RETRY_FIRST_MS], 'doubling from a minute');
  t.ok(gaps.every((g) => g <= RETRY_MAX_MS), 'never more than 6 h apart');
  t.match(s.lastFailure, { code: 'bad-csr' }, 'the last failure kept for the Fleet page');
  // No answer: given up after its wait, and counted as a failure.
  const unanswered = nextStep(s, clock + ANSWER_WAIT_MS);
  t.match(unanswered, { action: 'wait', state: { failures: 13, lastFailure: { code: 'no-answer' } } });
  t.match(onRenewalEvent(s, { kind: 'reverted', at: clock }), { lastFailure: { code: 'reverted' } }, 'a switch undone is a failure too');
  const renewed = onRenewalEvent(s, { kind: 'renewed', notBefore: clock, notAfter: clock + 90 * DAY });
  t.match(renewed, { failures: 0, retryAt: clock + 60 * DAY }, 'a new certificate: the plan starts over');
  t.equal(renewed.lastFailure, undefined);
  // Near the end the box asks more often than the backoff says: never later than halfway to the expiry.
  t.equal(nextRenewalAttempt(20, notAfter - 2 * 3_600_000, notAfter), notAfter - 3_600_000);
  t.equal(nextRenewalAttempt(20, notAfter - 1000, notAfter), notAfter - 1000 + RETRY_FIRST_MS, 'at least a minute apart, even past the end');
});
