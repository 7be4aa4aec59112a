// Issue 26: the desired-configuration verifier. Every refusal has its case; fast-check mutates signed
// envelopes (a byte of payload or signature, the key id, the JSON around them) and none may pass.
import { generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { decodeEnvelope, keyIdOf, parsePublicKey, rawPublicKey, sha256Hex, signEnvelope, type DesiredPayload } from '../../../firmware/fleet/envelope.ts';
import { verifyDesired, type VerifyContext } from '../../../firmware/fleet/verify-desired.ts';

const operator = generateKeyPairSync('ed25519');
const intruder = generateKeyPairSync('ed25519');
const NOW = Date.parse('2026-12-05T12:00:00Z');
const opKey = { id: keyIdOf(operator.publicKey), key: operator.publicKey };
const ctx = (more: Partial<VerifyContext> = {}): VerifyContext => ({ serial: 'shop-17', groups: ['shops'], keys: [opKey], now: NOW, last: undefined, ...more });

const payload = (more: Partial<DesiredPayload> = {}): DesiredPayload => ({
  type: 'postern-desired', target: { serial: 'shop-17' }, sequence: 5, issuedAt: NOW - 1000, expiresAt: NOW + 3600_000, revision: 'r5',
  kind: 'document', document: { version: 3 }, ...more,
} as DesiredPayload);

t.test('a well-signed document for this box is accepted; its serial or one of its groups', async (t) => {
  const v = verifyDesired(signEnvelope(payload(), operator.privateKey), ctx());
  t.equal(v.kind, 'accept');
  if (v.kind === 'accept') {
    t.equal(v.payload.sequence, 5);
    t.equal(v.keyId, opKey.id);
    t.match(v.payloadSha256, /^[0-9a-f]{64}$/);
  }
  t.equal(verifyDesired(signEnvelope(payload({ target: { group: 'shops' } }), operator.privateKey), ctx()).kind, 'accept', 'for a group the box is in');
  const patch = verifyDesired(signEnvelope(payload({ kind: 'patch', base: 'r4', patch: { system: { hostname: 'x' } } } as Partial<DesiredPayload>), operator.privateKey), ctx());
  t.match(patch, { kind: 'accept', payload: { kind: 'patch', base: 'r4' } }, 'a merge patch against a named revision');
});

t.test('refusals: signature, key, target, freshness', async (t) => {
  const refuse = (text: string, c = ctx()) => {
    const v = verifyDesired(text, c);
    return v.kind === 'refuse' ? v.code : v.kind;
  };
  // Signed by another key that claims the operator's key id.
  const forged = JSON.parse(signEnvelope(payload(), intruder.privateKey)) as Record<string, string>;
  t.equal(refuse(JSON.stringify({ ...forged, keyId: opKey.id })), 'bad-signature', 'a signature by another key under the operator\'s id');
  t.equal(refuse(signEnvelope(payload(), intruder.privateKey)), 'unknown-key', 'a key the box does not hold');
  const good = JSON.parse(signEnvelope(payload(), operator.privateKey)) as Record<string, string>;
  const otherPayload = JSON.parse(signEnvelope(payload({ sequence: 6 }), operator.privateKey)) as Record<string, string>;
  t.equal(refuse(JSON.stringify({ ...good, payload: otherPayload['payload'] })), 'bad-signature', 'a signature moved onto another payload');
  t.equal(refuse(signEnvelope(payload({ target: { serial: 'shop-18' } }), operator.privateKey)), 'wrong-target', 'another serial');
  t.equal(refuse(signEnvelope(payload({ target: { group: 'offices' } }), operator.privateKey)), 'wrong-target', 'a group the box is not in');
  t.equal(refuse(signEnvelope(payload({ expiresAt: NOW - 1 }), operator.privateKey)), 'stale', 'expired');
  t.equal(refuse(signEnvelope(payload({ issuedAt: NOW - 40 * 86400_000, expiresAt: NOW + 1000 }), operator.privateKey)), 'stale', 'valid for longer than a box accepts');
  t.equal(refuse(signEnvelope(payload({ issuedAt: NOW + 10 * 60_000, expiresAt: NOW + 20 * 60_000 }), operator.privateKey)), 'not-yet-valid', 'issued in the future beyond the skew');
  t.equal(refuse(signEnvelope(payload({ issuedAt: NOW + 60_000 }), operator.privateKey)), 'accept', 'a minute of skew is fine');
  for (const junk of ['', '{', '[]', '{"schema":2}', '{"schema":1,"keyId":"zz","payload":"a","signature":"b"}', 'x'.repeat(300_000)]) {
    t.equal(refuse(junk), 'malformed', junk.slice(0, 30));
  }
});

t.test('sequence: replay and rollback refused, the same retained message again is no news', async (t) => {
  const first = signEnvelope(payload({ sequence: 7, revision: 'r7' }), operator.privateKey);
  const second = signEnvelope(payload({ sequence: 8, revision: 'r8' }), operator.privateKey);
  const digest = (text: string) => sha256Hex(decodeEnvelope(text).ok ? (decodeEnvelope(text) as { value: { payload: Buffer } }).value.payload : '');
  const old = signEnvelope(payload({ sequence: 3, revision: 'r3' }), operator.privateKey);
  const after8 = { sequence: 8, payloadSha256: digest(second), recent: [digest(first), digest(second)] };
  t.match(verifyDesired(second, ctx({ last: after8 })), { kind: 'ignore', sequence: 8, why: 'already-accepted' }, 'the accepted one delivered again');
  t.match(verifyDesired(first, ctx({ last: after8, retained: true })), { kind: 'ignore', why: 'superseded' }, 'an older one the broker still retains (a group\'s, say): no news');
  t.match(verifyDesired(old, ctx({ last: after8, retained: true })), { kind: 'ignore', why: 'superseded' });
  t.match(verifyDesired(first, ctx({ last: after8 })), { kind: 'refuse', code: 'replay', sequence: 7 }, 'an older accepted one sent again');
  const otherEight = signEnvelope(payload({ sequence: 8, revision: 'r8b' }), operator.privateKey);
  t.match(verifyDesired(otherEight, ctx({ last: after8 })), { kind: 'refuse', code: 'replay' }, 'the accepted sequence reused for other content');
  t.match(verifyDesired(old, ctx({ last: after8 })), { kind: 'refuse', code: 'rollback', sequence: 3 }, 'an older desired state never seen');
  t.equal(verifyDesired(signEnvelope(payload({ sequence: 9 }), operator.privateKey), ctx({ last: after8 })).kind, 'accept', 'the next one');
});

t.test('payload rules: after the signature, still checked', async (t) => {
  const signedJson = (obj: unknown) => {
    // Signed by hand, so payloads the console would never make can be tried.
    const bytes = Buffer.from(JSON.stringify(obj));
    const signature = sign(null, Buffer.concat([Buffer.from('postern-desired/1\n'), bytes]), operator.privateKey);
    return JSON.stringify({ schema: 1, keyId: opKey.id, payload: bytes.toString('base64url'), signature: signature.toString('base64url') });
  };
  const base = { type: 'postern-desired', target: { serial: 'shop-17' }, sequence: 1, issuedAt: new Date(NOW).toISOString(), expiresAt: new Date(NOW + 1000).toISOString(), revision: 'r1', document: {} };
  t.equal(verifyDesired(signedJson(base), ctx()).kind, 'accept');
  for (const [what, bad] of [
    ['both document and patch', { ...base, patch: {}, base: 'r0' }],
    ['a non-integer sequence', { ...base, sequence: 1.5 }],
    ['sequence 0', { ...base, sequence: 0 }],
    ['a target with two keys', { ...base, target: { serial: 'shop-17', group: 'shops' } }],
    ['a revision with a slash', { ...base, revision: 'a/b' }],
    ['a time that is not ISO', { ...base, issuedAt: 'yesterday' }],
    ['another type', { ...base, type: 'postern-upgrade' }],
    ['an array document', { ...base, document: [] }],
  ] as const) {
    t.match(verifyDesired(signedJson(bad), ctx()), { kind: 'refuse', code: 'bad-payload' }, what);
  }
});

t.test('operator keys as the configuration holds them', async (t) => {
  const raw = rawPublicKey(operator.publicKey).toString('base64');
  const fromRaw = parsePublicKey(raw);
  t.ok(fromRaw.ok && keyIdOf(fromRaw.value) === opKey.id, 'base64 of the raw key');
  const fromPem = parsePublicKey(operator.publicKey.export({ format: 'pem', type: 'spki' }).toString());
  t.ok(fromPem.ok && keyIdOf(fromPem.value) === opKey.id, 'SPKI PEM');
  t.notOk(parsePublicKey('AAAA').ok, 'too short');
  t.notOk(parsePublicKey(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'pem', type: 'spki' }).toString()).ok, 'not Ed25519');
});

t.test('property: no mutation of a signed envelope is accepted, and nothing throws', async (t) => {
  const good = signEnvelope(payload(), operator.privateKey);
  const fields = JSON.parse(good) as Record<string, string>;
  const payloadBytes = Buffer.from(fields['payload']!, 'base64url');
  const sigBytes = Buffer.from(fields['signature']!, 'base64url');
  const flip = (b: Buffer, i: number, x: number) => {
    const c = Buffer.from(b);
    c[i % c.length] = c[i % c.length]! ^ (x || 1);
    return c;
  };
  fc.assert(fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), fc.constantFrom('payload', 'signature'), (i, x, which) => {
    const mutated = { ...fields, [which]: (which === 'payload' ? flip(payloadBytes, i, x) : flip(sigBytes, i, x)).toString('base64url') };
    return verifyDesired(JSON.stringify(mutated), ctx()).kind === 'refuse';
  }), { numRuns: 300 });
  fc.assert(fc.property(fc.nat({ max: good.length - 1 }), fc.string({ minLength: 1, maxLength: 1 }), (i, c) => {
    const text = good.slice(0, i) + c + good.slice(i + 1);
    const v = verifyDesired(text, ctx());
    return text === good || v.kind === 'refuse' || (v.kind === 'accept' && JSON.stringify(JSON.parse(text)) === JSON.stringify(JSON.parse(good)));
  }), { numRuns: 500 });
  fc.assert(fc.property(fc.oneof(fc.string(), fc.json(), fc.uint8Array({ maxLength: 512 })), (input) => ['refuse', 'accept', 'ignore'].includes(verifyDesired(input, ctx()).kind)), { numRuns: 300 });
  fc.assert(fc.property(fc.record({ schema: fc.constant(1), keyId: fc.constant(opKey.id), payload: fc.base64String().map((s) => s.replace(/=/g, '')), signature: fc.base64String() }), (env) => verifyDesired(JSON.stringify(env), ctx()).kind === 'refuse'), { numRuns: 200 });
  t.pass('held');
});
