import fc from 'fast-check';
import t from 'tap';
import { DEFAULT_BACKOFF, reconnectDelay } from '../../../firmware/telemetry/backoff.ts';

t.test('1 s doubling to 60 s without jitter in the middle', async (t) => {
  const mid = () => 0.5;
  t.same([0, 1, 2, 3, 4, 5, 6, 7, 50].map((n) => reconnectDelay(n, mid)), [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  t.same(DEFAULT_BACKOFF, { initialMs: 1000, maxMs: 60_000, jitter: 0.2 });
});

t.test('jitter spreads ±20 %, never past the cap', async (t) => {
  t.equal(reconnectDelay(0, () => 0), 800);
  t.equal(reconnectDelay(0, () => 1), 1200);
  t.equal(reconnectDelay(10, () => 1), 60_000);
  t.equal(reconnectDelay(10, () => 0), 48_000);
});

t.test('property: a delay stays within its band for any attempt and random value', async (t) => {
  fc.assert(
    fc.property(fc.integer({ min: -5, max: 10_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (attempt, r) => {
      const d = reconnectDelay(attempt, () => r);
      const base = Math.min(60_000, 1000 * 2 ** Math.max(0, Math.min(attempt, 30)));
      return Number.isInteger(d) && d >= Math.floor(base * 0.8) && d <= Math.min(60_000, Math.ceil(base * 1.2));
    }),
  );
  t.pass('held');
});
