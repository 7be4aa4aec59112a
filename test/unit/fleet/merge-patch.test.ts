// RFC 7396 Appendix A, every example, and properties of the merge.
import fc from 'fast-check';
import t from 'tap';
import { mergePatch } from '../../../firmware/fleet/merge-patch.ts';

const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

t.test('RFC 7396 Appendix A', async (t) => {
  const cases: Array<[unknown, unknown, unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [['a', 'b'], ['c', 'd'], ['c', 'd']],
    [{ a: 'b' }, ['c'], ['c']],
    [{ a: 'foo' }, null, null],
    [{ a: 'foo' }, 'bar', 'bar'],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  for (const [target, patch, result] of cases) t.same(plain(mergePatch(target, patch)), result, JSON.stringify(patch));
});

t.test('properties: the target is untouched; an empty patch changes nothing; "__proto__" stays an own key', async (t) => {
  fc.assert(fc.property(fc.jsonValue(), fc.jsonValue(), (target, patch) => {
    const before = JSON.stringify(target);
    mergePatch(target, patch);
    return JSON.stringify(target) === before;
  }));
  fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (target) => JSON.stringify(plain(mergePatch(target, {}))) === JSON.stringify(plain(target))));
  const merged = mergePatch({}, JSON.parse('{"__proto__":{"polluted":true}}')) as Record<string, unknown>;
  t.ok(Object.hasOwn(merged, '__proto__'), 'an own key');
  t.equal(({} as Record<string, unknown>)['polluted'], undefined, 'Object.prototype untouched');
});
