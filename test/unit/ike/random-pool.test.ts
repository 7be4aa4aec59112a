import t from 'tap';
import { pooledRandomBytes } from '../../../firmware/ike/crypto/random-pool.ts';

t.test('each answer has the length asked and is never handed out or changed again', async (t) => {
  const random = pooledRandomBytes(64);
  const kept = Array.from({ length: 100 }, (_, i) => random(1 + (i % 8)));
  const copies = kept.map((b) => Buffer.from(b));
  for (let i = 0; i < 1000; i++) random(8); // many slabs later
  t.ok(kept.every((b, i) => b.length === 1 + (i % 8) && b.equals(copies[i]!)), 'earlier answers unchanged');
  const ranges = kept.map((b) => [b.buffer, b.byteOffset, b.byteOffset + b.length] as const);
  const overlap = ranges.some(([buf, s, e], i) => ranges.some(([buf2, s2, e2], j) => i !== j && buf === buf2 && s < e2 && s2 < e));
  t.notOk(overlap, 'no two answers share bytes');
});

t.test('random enough: 32-byte answers differ and use every bit', async (t) => {
  const random = pooledRandomBytes();
  const seen = new Set(Array.from({ length: 500 }, () => random(32).toString('hex')));
  t.equal(seen.size, 500);
  let ones = 0;
  for (const hex of seen) for (const byte of Buffer.from(hex, 'hex')) for (let b = byte; b; b >>= 1) ones += b & 1;
  const share = ones / (500 * 256);
  t.ok(share > 0.48 && share < 0.52, `share of one bits ${share}`);
});

t.test('a request larger than a slab part gets a buffer of its own', async (t) => {
  const random = pooledRandomBytes(256);
  const big = random(200);
  t.equal(big.length, 200);
  t.equal(big.buffer.byteLength, 200);
  t.equal(random(0).length, 0);
});
