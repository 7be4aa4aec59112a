// Issue 26: per-box variables (their signed payload and its checks) and the placeholders a group's
// desired document fills from them.
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { keyIdOf, signEnvelope, type DesiredPayload } from '../../../firmware/fleet/envelope.ts';
import { fillTemplate } from '../../../firmware/fleet/template.ts';
import { decodeVariablesPayload, signVariables, variablesToJson, type VariablesPayload } from '../../../firmware/fleet/variables.ts';
import { verifyDesired, verifyVariables, type VerifyContext } from '../../../firmware/fleet/verify-desired.ts';

const operator = generateKeyPairSync('ed25519');
const NOW = Date.parse('2026-12-05T12:00:00Z');
const ctx = (more: Partial<VerifyContext> = {}): VerifyContext => ({ serial: 'shop-17', groups: ['shops'], keys: [{ id: keyIdOf(operator.publicKey), key: operator.publicKey }], now: NOW, last: undefined, ...more });
const vars = (more: Partial<VariablesPayload> = {}): VariablesPayload => ({ type: 'postern-variables', target: { serial: 'shop-17' }, sequence: 7, issuedAt: NOW - 1000, expiresAt: NOW + 3600_000, variables: { name: 'shop17', lan: '10.17.0.1/24', port: 4500, on: true }, ...more });

t.test('placeholders: whole strings keep the type, text is interpolated, keys untouched', async (t) => {
  const doc = { system: { hostname: '{{var.name}}', lan: { address: '{{ var.lan }}' } }, sites: [{ name: 'to-{{var.name}}-hq', port: '{{var.port}}', enabled: '{{var.on}}' }], '{{var.name}}': 1, n: 3 };
  const filled = fillTemplate(doc, vars().variables);
  t.same(filled, { ok: true, used: ['lan', 'name', 'on', 'port'], value: { system: { hostname: 'shop17', lan: { address: '10.17.0.1/24' } }, sites: [{ name: 'to-shop17-hq', port: 4500, enabled: true }], '{{var.name}}': 1, n: 3 } });
  t.same(fillTemplate({ a: 'no {{placeholder}} here', b: '{{var.}}' }, undefined), { ok: true, used: [], value: { a: 'no {{placeholder}} here', b: '{{var.}}' } }, 'not a placeholder: left as it is; no variables needed');
});

t.test('a missing variable refuses the document, every one at its field path', async (t) => {
  const missing = fillTemplate({ system: { hostname: '{{var.name}}' }, sites: [{ remote: { address: 'x {{var.hq}}' } }, { psk: '{{var.psk}}' }] }, { name: 'a' });
  t.same(missing, { ok: false, errors: [
    { path: 'sites[0].remote.address', code: 'variable-missing', message: "{{var.hq}}: no variable 'hq' for this box" },
    { path: 'sites[1].psk', code: 'variable-missing', message: "{{var.psk}}: no variable 'psk' for this box" },
  ] });
  t.match(fillTemplate({ a: '{{var.x}}' }, undefined), { ok: false, errors: [{ path: 'a', message: /no variables yet/ }] });
  t.match(fillTemplate('{{var.x}}', {}), { ok: false, errors: [{ path: '(document)' }] });
  t.match(fillTemplate({ toString: '{{var.constructor}}' }, {}), { ok: false }, 'an inherited name is no variable');
});

t.test('property: filled with every variable, no placeholder is left and other strings are unchanged', async () => {
  const name = fc.stringMatching(/^[A-Za-z0-9_-]{1,10}$/);
  fc.assert(fc.property(fc.dictionary(name, fc.oneof(fc.string({ maxLength: 20 }).filter((s) => !s.includes('{{')), fc.integer())), fc.array(fc.oneof(name, fc.string({ maxLength: 12 }).filter((s) => !s.includes('{{'))), { maxLength: 8 }), (variables, words) => {
    const names = Object.keys(variables);
    const doc = { list: words.map((w, i) => (names.length > 0 && i % 2 === 0 ? `${w}{{var.${names[i % names.length]}}}` : w)) };
    const filled = fillTemplate(doc, variables);
    if (!filled.ok) return false;
    const text = JSON.stringify(filled.value);
    return !/\{\{\s*var\./.test(text) && (filled.value as { list: unknown[] }).list.every((v, i) => (i % 2 === 0 && names.length > 0) || v === words[i]);
  }));
});

t.test('variables: signed under their own context, per box, with their own sequence', async (t) => {
  const v = verifyVariables(signVariables(vars(), operator.privateKey), ctx());
  t.match(v, { kind: 'accept', payload: { sequence: 7, variables: { name: 'shop17', port: 4500 } } });
  // The same key's desired signature is never a variables signature, nor the other way.
  const desired = signEnvelope({ type: 'postern-desired', target: { serial: 'shop-17' }, sequence: 9, issuedAt: NOW, expiresAt: NOW + 60_000, revision: 'r9', kind: 'document', document: {} } as DesiredPayload, operator.privateKey);
  t.match(verifyVariables(desired, ctx()), { kind: 'refuse', code: 'bad-signature' });
  t.match(verifyDesired(signVariables(vars(), operator.privateKey), ctx()), { kind: 'refuse', code: 'bad-signature' });
  t.match(verifyVariables(signVariables(vars({ target: { serial: 'shop-18' } }), operator.privateKey), ctx()), { kind: 'refuse', code: 'wrong-target' });
  t.match(verifyVariables(signVariables(vars({ expiresAt: NOW - 1 }), operator.privateKey), ctx()), { kind: 'refuse', code: 'stale' });
  const last = { sequence: 8, payloadSha256: 'x', recent: [] };
  t.match(verifyVariables(signVariables(vars(), operator.privateKey), ctx({ last })), { kind: 'refuse', code: 'rollback' });
  t.match(verifyVariables(signVariables(vars(), operator.privateKey), ctx({ last, retained: true })), { kind: 'ignore' });
  const group = Buffer.from(JSON.stringify({ ...variablesToJson(vars()), target: { group: 'shops' } }));
  t.match(decodeVariablesPayload(group), { ok: false, why: /per box/ });
});

t.test('the variables decoder: names, values and sizes checked; never throws', async (t) => {
  const bytes = (variables: unknown) => Buffer.from(JSON.stringify({ ...variablesToJson(vars()), variables }));
  t.ok(decodeVariablesPayload(bytes({ a: 'x', 'b-c_1': 2, d: false })).ok);
  t.match(decodeVariablesPayload(bytes({ 'a.b': 'x' })), { ok: false, why: /variable name/ });
  t.match(decodeVariablesPayload(bytes({ a: null })), { ok: false });
  t.match(decodeVariablesPayload(bytes({ a: { nested: 1 } })), { ok: false });
  t.match(decodeVariablesPayload(bytes({ a: 'x'.repeat(16 * 1024 + 1) })), { ok: false });
  t.match(decodeVariablesPayload(bytes(Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`v${i}`, i])))), { ok: false, why: /at most 256/ });
  t.match(decodeVariablesPayload(bytes([])), { ok: false });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => typeof decodeVariablesPayload(Buffer.from(b)).ok === 'boolean'));
  fc.assert(fc.property(fc.jsonValue(), (variables) => typeof decodeVariablesPayload(bytes(variables)).ok === 'boolean'));
});
