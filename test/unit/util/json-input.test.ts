import t from 'tap';
import { jsonDepth, MAX_JSON_DEPTH, ownValue, parseJsonInput } from '../../../firmware/util/json-input.ts';

const nested = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

t.test('issue 15.7: a body nested 5,000 deep is refused with a reason, without a stack overflow', async (t) => {
  const text = `{"config":${nested(5000)}}`;
  t.ok(text.length > 25_000 && text.length < 64 * 1024, 'about 30 KB, under the body limit');
  t.same(parseJsonInput(text), { ok: false, reason: `nested deeper than ${MAX_JSON_DEPTH} levels` });
  t.same(parseJsonInput(`[${'['.repeat(20_000)}${']'.repeat(20_000)}]`).ok, false, 'arrays too');
  t.equal(parseJsonInput(nested(MAX_JSON_DEPTH)).ok, true, 'exactly the limit is fine');
  t.equal(parseJsonInput(nested(MAX_JSON_DEPTH + 1)).ok, false, 'one more is not');
  t.equal(jsonDepth(JSON.parse(nested(MAX_JSON_DEPTH + 1))), MAX_JSON_DEPTH + 1);
  t.equal(jsonDepth(JSON.parse(nested(5000))), MAX_JSON_DEPTH + 1, 'the depth count stops early, iteratively');
  t.same(parseJsonInput('{"a": '), { ok: false, reason: 'not valid JSON' });
});

t.test('issue 15.6: objects come back with a null prototype, "__proto__" an own key like any other', async (t) => {
  const r = parseJsonInput('{"a":{"__proto__":{"polluted":true},"b":[1,{"c":null}]}}');
  t.equal(r.ok, true);
  if (!r.ok) return;
  const a = ownValue(r.value, 'a') as Record<string, unknown>;
  t.equal(Object.getPrototypeOf(r.value), null);
  t.equal(Object.getPrototypeOf(a), null);
  t.same(Object.keys(a), ['__proto__', 'b']);
  t.same(ownValue(a, '__proto__'), { polluted: true }, 'kept as data, for validation to see and refuse');
  t.equal(({} as Record<string, unknown>)['polluted'], undefined, 'nothing reached Object.prototype');
  t.equal(ownValue({}, 'toString'), undefined, 'inherited members are not values');
  t.same(JSON.parse(JSON.stringify(r.value)), { a: { ['__proto__']: { polluted: true }, b: [1, { c: null }] } });
});
