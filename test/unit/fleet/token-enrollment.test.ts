// Issue 26: one-time enrollment tokens exchanged for a device certificate. The whole exchange runs
// here without a broker (box request → console decision → signed answer → box check); every refusal
// has its case, and fast-check mutates requests and answers: none may issue or be taken.
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { keyIdOf } from '../../../firmware/fleet/envelope.ts';
import { addToken, decideEnrollRequest, decodeTokenStore, encodeTokenStore, newToken, REQUEST_SKEW_MS, type TokenStore } from '../../../firmware/fleet/token-enrollment-console.ts';
import { csrSha256, decodeEnrollRequest, encodeEnrollRequest, enrollTopics, signEnrollAnswer, verifyEnrollAnswer, type BoxContext } from '../../../firmware/fleet/token-enrollment.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { buildCsr } from '../../../firmware/pki/csr.ts';
import { issueClientCertificateForKey } from '../../../firmware/pki/issue.ts';

const NOW = Date.now();
const operator = generateKeyPairSync('ed25519');
const intruder = generateKeyPairSync('ed25519');
const box = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ca = createCa({ commonName: 'Postern enrollment CA', validityDays: 3650, keyType: 'ecdsa-p256', now: new Date(NOW) });
const token = newToken();
const store = addToken({ tokens: {} }, 'shop-17', token, NOW - 1000, 7);
const csr = buildCsr('shop-17', box.privateKey);
const request = encodeEnrollRequest('shop-17', csr, token, NOW);
const boxCtx = (more: Partial<BoxContext> = {}): BoxContext => ({
  serial: 'shop-17', keys: [{ id: keyIdOf(operator.publicKey), key: operator.publicKey }], publicKey: box.publicKey, csrSha256: csrSha256(csr).toString('hex'), now: NOW, ...more,
});

function answerFor(decision: ReturnType<typeof decideEnrollRequest>, signer = operator.privateKey): string {
  if (decision.kind === 'refuse') return signEnrollAnswer({ outcome: 'refused', serial: decision.serial, issuedAt: NOW, code: decision.code, reason: decision.reason, ...(decision.csrSha256 ? { csrSha256: decision.csrSha256 } : {}) }, signer);
  const cert = issueClientCertificateForKey(ca, { commonName: decision.serial, validityDays: 365, now: new Date(NOW), publicKey: decision.request.publicKey });
  return signEnrollAnswer({ outcome: 'issued', serial: decision.serial, issuedAt: NOW, csrSha256: decision.csrSha256, certificate: cert.certificatePem, ca: ca.certificatePem }, signer);
}

t.test('the exchange: request, one-time decision, signed certificate the box takes; the token never in the request', async (t) => {
  t.same(enrollTopics('postern', 'shop-17'), { request: 'postern/enroll/shop-17/request', certificate: 'postern/enroll/shop-17/certificate' });
  t.notOk(request.includes(token), 'the token is not in the request');
  const decision = decideEnrollRequest(store, request, 'shop-17', NOW);
  t.equal(decision.kind, 'issue');
  if (decision.kind !== 'issue') return;
  t.ok(decision.store.tokens['shop-17']?.spent, 'the token is spent by the decision that uses it');
  t.notOk(store.tokens['shop-17']?.spent, 'the store given is not changed');
  const verdict = verifyEnrollAnswer(answerFor(decision), boxCtx());
  t.equal(verdict.kind, 'issued');
  // Second use: the same request again (a replay) and a fresh one with the same token.
  const again = decideEnrollRequest(decision.store, request, 'shop-17', NOW + 1000);
  t.match(again, { kind: 'refuse', code: 'spent', reason: /already used at/ }, 'a replay is refused');
  const fresh = encodeEnrollRequest('shop-17', buildCsr('shop-17', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey), token, NOW + 2000);
  t.match(decideEnrollRequest(decision.store, fresh, 'shop-17', NOW + 2000), { kind: 'refuse', code: 'spent' }, 'a new request with a spent token is refused');
  // The refusal, signed, reaches the box in words; it is not taken as a certificate.
  t.match(verifyEnrollAnswer(answerFor(again), boxCtx()), { kind: 'refused', code: 'spent', reason: /already used/ });
  // The spent mark survives the store's file.
  const reread = decodeTokenStore(encodeTokenStore(decision.store));
  t.ok(reread.ok && reread.value.tokens['shop-17']?.spent?.csrSha256 === decision.csrSha256, 'spent is kept on disk');
  t.match(reread.ok && decideEnrollRequest(reread.value, request, 'shop-17', NOW), { kind: 'refuse', code: 'spent' });
});

t.test('console refusals, each with its cause', async (t) => {
  const code = (text: string, serial = 'shop-17', now = NOW, s: TokenStore = store) => {
    const d = decideEnrollRequest(s, text, serial, now);
    return d.kind === 'refuse' ? d.code : d.kind;
  };
  t.equal(code('{'), 'malformed');
  t.equal(code(request, 'shop-18'), 'wrong-topic', 'a request on another serial\'s topic');
  // Another serial with the same token: the token is bound to shop-17.
  const s2 = addToken(store, 'shop-19', newToken(), NOW, 7);
  t.equal(code(encodeEnrollRequest('shop-19', buildCsr('shop-19', box.privateKey), token, NOW), 'shop-19', NOW, s2), 'bad-proof', 'shop-17\'s token for shop-19');
  t.equal(code(encodeEnrollRequest('shop-18', buildCsr('shop-18', box.privateKey), token, NOW), 'shop-18'), 'unknown-serial');
  t.equal(code(encodeEnrollRequest('shop-17', csr, newToken(), NOW)), 'bad-proof', 'a guessed token');
  t.equal(code(request, 'shop-17', NOW + REQUEST_SKEW_MS + 1), 'stale', 'an old request');
  t.equal(code(request, 'shop-17', NOW - REQUEST_SKEW_MS - 1), 'stale', 'one from the future');
  const expired = addToken({ tokens: {} }, 'shop-17', token, NOW - 3 * 86_400_000, 1);
  t.equal(code(request, 'shop-17', NOW, expired), 'expired');
  t.equal(code(encodeEnrollRequest('shop-17', Buffer.from('not a csr'), token, NOW)), 'bad-csr');
  t.equal(code(encodeEnrollRequest('shop-17', buildCsr('shop-99', box.privateKey), token, NOW)), 'wrong-cn');
  // A proof over one CSR does not carry to another.
  const r = JSON.parse(request) as Record<string, string>;
  t.equal(code(JSON.stringify({ ...r, csr: buildCsr('shop-17', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey).toString('base64') })), 'bad-proof', 'another CSR under the same proof');
  t.equal(code(JSON.stringify({ ...r, time: new Date(NOW + 1).toISOString() })), 'bad-proof', 'another time under the same proof');
  t.throws(() => addToken(store, 'enroll', token, NOW, 7), RangeError);
  t.throws(() => addToken(store, 'shop-1', 'short', NOW, 7), RangeError);
});

t.test('the box takes only its own certificate, signed by its operator', async (t) => {
  const d = decideEnrollRequest(store, request, 'shop-17', NOW);
  if (d.kind !== 'issue') throw new Error('expected issue');
  const good = answerFor(d);
  t.match(verifyEnrollAnswer(answerFor(d, intruder.privateKey), boxCtx()), { kind: 'reject', why: /unknown key/ });
  const forged = { ...(JSON.parse(answerFor(d, intruder.privateKey)) as Record<string, string>), keyId: keyIdOf(operator.publicKey) };
  t.match(verifyEnrollAnswer(JSON.stringify(forged), boxCtx()), { kind: 'reject', why: /signature/ }, "another key under the operator's id");
  t.match(verifyEnrollAnswer(good, boxCtx({ serial: 'shop-18' })), { kind: 'reject', why: /another serial/ });
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  t.match(verifyEnrollAnswer(good, boxCtx({ publicKey: other.publicKey })), { kind: 'reject', why: /another request|not for the key/ });
  // A certificate for another key, answered under this box's request digest.
  const wrongKey = issueClientCertificateForKey(ca, { commonName: 'shop-17', validityDays: 365, now: new Date(NOW), publicKey: other.publicKey });
  const swapped = signEnrollAnswer({ outcome: 'issued', serial: 'shop-17', issuedAt: NOW, csrSha256: d.csrSha256, certificate: wrongKey.certificatePem, ca: ca.certificatePem }, operator.privateKey);
  t.match(verifyEnrollAnswer(swapped, boxCtx()), { kind: 'reject', why: /not for the key this box made/ });
  const otherCa = createCa({ commonName: 'other', validityDays: 30, keyType: 'ecdsa-p256', now: new Date(NOW) });
  const mine = issueClientCertificateForKey(ca, { commonName: 'shop-17', validityDays: 365, now: new Date(NOW), publicKey: box.publicKey });
  const wrongCa = signEnrollAnswer({ outcome: 'issued', serial: 'shop-17', issuedAt: NOW, csrSha256: d.csrSha256, certificate: mine.certificatePem, ca: otherCa.certificatePem }, operator.privateKey);
  t.match(verifyEnrollAnswer(wrongCa, boxCtx()), { kind: 'reject', why: /not signed by the CA/ });
  t.match(verifyEnrollAnswer(good, boxCtx({ now: NOW + 400 * 86_400_000 })), { kind: 'reject', why: /not in date/ });
});

t.test('property: mutated requests never issue, mutated answers are never taken, nothing throws', async (t) => {
  const flipText = (text: string, i: number, c: string) => text.slice(0, i % text.length) + c + text.slice((i % text.length) + 1);
  let issuedFromMutation = 0;
  let refusedRequests = 0;
  fc.assert(fc.property(fc.nat(), fc.string({ minLength: 1, maxLength: 1 }), (i, c) => {
    const text = flipText(request, i, c);
    const d = decideEnrollRequest(store, text, 'shop-17', NOW);
    if (d.kind === 'refuse') refusedRequests++;
    // Only a change JSON does not see (whitespace, an escape of the same character) may still issue.
    if (d.kind === 'issue' && text !== request) issuedFromMutation++;
    return d.kind === 'refuse' || JSON.stringify(decodeEnrollRequest(text)) === JSON.stringify(decodeEnrollRequest(request));
  }), { numRuns: 400 });
  const d = decideEnrollRequest(store, request, 'shop-17', NOW);
  if (d.kind !== 'issue') throw new Error('expected issue');
  const good = JSON.parse(answerFor(d)) as Record<string, string>;
  const payload = Buffer.from(good['payload']!, 'base64url');
  let rejectedAnswers = 0;
  fc.assert(fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.constantFrom('payload', 'signature'), (i, x, which) => {
    const bytes = which === 'payload' ? Buffer.from(payload) : Buffer.from(good['signature']!, 'base64url');
    bytes[i % bytes.length] = bytes[i % bytes.length]! ^ x;
    const v = verifyEnrollAnswer(JSON.stringify({ ...good, [which]: bytes.toString('base64url') }), boxCtx());
    if (v.kind === 'reject') rejectedAnswers++;
    return v.kind === 'reject';
  }), { numRuns: 300 });
  fc.assert(fc.property(fc.oneof(fc.string(), fc.json(), fc.uint8Array({ maxLength: 512 })), (input) => {
    const a = decideEnrollRequest(store, input, 'shop-17', NOW).kind === 'refuse';
    const b = verifyEnrollAnswer(input, boxCtx()).kind === 'reject';
    const c = typeof decodeTokenStore(typeof input === 'string' ? input : Buffer.from(input).toString('latin1')).ok === 'boolean';
    return a && b && c;
  }), { numRuns: 300 });
  t.equal(rejectedAnswers, 300, 'every mutated answer rejected');
  t.ok(refusedRequests > 300, `mutated requests refused: ${refusedRequests}/400 (issued from an equivalent text: ${issuedFromMutation})`);
});
