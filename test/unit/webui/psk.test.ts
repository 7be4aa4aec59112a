// The L2TP/IPsec "Generate" button's key (issue 20): 32 unambiguous characters, each equally likely.
import t from 'tap';
import { generatePsk, PSK_ALPHABET } from '../../../webui/src/psk.ts';

t.test('keys are 32 characters of the unambiguous alphabet, and differ', async (t) => {
  t.equal(PSK_ALPHABET.length, 56);
  t.notMatch(PSK_ALPHABET, /[IOlo01]/, 'no look-alikes');
  const keys = Array.from({ length: 200 }, () => generatePsk());
  t.ok(keys.every((k) => k.length === 32 && [...k].every((c) => PSK_ALPHABET.includes(c))), 'every key: 32 characters of the alphabet');
  t.equal(new Set(keys).size, keys.length, 'no two alike');
});

t.test('bytes past the last whole multiple of the alphabet are dropped, so no character is favoured', async (t) => {
  // 224 = 4 × 56: bytes 224..255 would favour the first 32 characters; they are skipped.
  let calls = 0;
  const source = (b: Uint8Array) => {
    calls++;
    b.fill(calls === 1 ? 255 : 57); // first all rejected, then 57 % 56 = 1 → 'B'
    return b;
  };
  t.equal(generatePsk(8, source), 'BBBBBBBB');
  t.equal(calls, 2, 'a round of unusable bytes is drawn again');
  t.throws(() => generatePsk(8, (b) => b.fill(240)), /no usable bytes/, 'a broken source fails loudly instead of looping');
  // Over many draws each character turns up about equally often (chi-square, 55 degrees of freedom).
  const counts = new Map<string, number>();
  const sample = Array.from({ length: 400 }, () => generatePsk()).join('');
  for (const c of sample) counts.set(c, (counts.get(c) ?? 0) + 1);
  const expected = sample.length / PSK_ALPHABET.length;
  const chi = [...PSK_ALPHABET].reduce((sum, c) => sum + ((counts.get(c) ?? 0) - expected) ** 2 / expected, 0);
  t.ok(chi < 110, `chi-square ${chi.toFixed(1)} is below 110 (p < 1e-5 for a uniform source)`);
});
