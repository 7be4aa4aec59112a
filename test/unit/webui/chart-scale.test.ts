// The dashboard chart's axes (issue 17): rates from counters, bit/s units, round ticks, clock ticks.
import fc from 'fast-check';
import t from 'tap';
import { formatBitRate, niceStep, rateBetween, rateTicks, runsOf, timeTicks } from '../../../webui/src/chart-scale.ts';

t.test('rates from two readings of the byte counters, in bits per second', async (t) => {
  t.same(rateBetween({ at: 0, bytesIn: 0, bytesOut: 1000 }, { at: 5000, bytesIn: 1_250_000, bytesOut: 1000 }), { at: 5000, inBps: 2_000_000, outBps: 0 });
  t.same(rateBetween({ at: 0, bytesIn: 500, bytesOut: 500 }, { at: 2000, bytesIn: 100, bytesOut: 700 }), { at: 2000, inBps: 0, outBps: 800 }, 'a counter that went down (sessions ended) is 0, not negative');
  t.equal(rateBetween({ at: 1000, bytesIn: 0, bytesOut: 0 }, { at: 1000, bytesIn: 9, bytesOut: 9 }), undefined, 'no time between readings: no rate');
});

t.test('bit rates in SI units with at most three significant digits', async (t) => {
  const cases: Array<[number, string]> = [[0, '0 bit/s'], [-5, '0 bit/s'], [Number.NaN, '0 bit/s'], [850, '850 bit/s'], [1000, '1 kbit/s'], [1500, '1.5 kbit/s'], [12_340, '12.3 kbit/s'], [999_600, '1 Mbit/s'], [2_000_000, '2 Mbit/s'], [123_456_789, '123 Mbit/s'], [5e9, '5 Gbit/s']];
  for (const [bps, text] of cases) t.equal(formatBitRate(bps), text, `${bps}`);
});

t.test('value ticks are round steps from 0 covering the maximum', async (t) => {
  t.same(rateTicks(2_000_000), [0, 500_000, 1_000_000, 1_500_000, 2_000_000]);
  t.same(rateTicks(0), [0, 1], 'an idle chart still has an axis');
  t.same(rateTicks(7), [0, 2, 4, 6, 8]);
  fc.assert(fc.property(fc.double({ min: 1e-3, max: 1e13, noNaN: true }), fc.integer({ min: 1, max: 10 }), (max, count) => {
    const ticks = rateTicks(max, count);
    const step = niceStep(max, count);
    const mantissa = step / 10 ** Math.floor(Math.log10(step) + 1e-9);
    return ticks[0] === 0 && ticks[ticks.length - 1]! >= max * (1 - 1e-9) && ticks.length <= count + 1 && ticks.length >= 2 &&
      [1, 2, 5, 10].some((m) => Math.abs(mantissa - m) < 1e-6) && ticks.every((v, i) => i === 0 || v > ticks[i - 1]!);
  }));
});

t.test('time ticks at whole minutes of the clock', async (t) => {
  const minute = 60_000;
  t.same(timeTicks(10 * minute + 1, 13 * minute, minute), [11 * minute, 12 * minute, 13 * minute]);
  t.same(timeTicks(5, 4, minute), [], 'an empty window');
  t.same(timeTicks(0, 1e12, 1).length, 100, 'bounded');
});

t.test('the line breaks where readings are further apart than the gap (the page was elsewhere)', async (t) => {
  const at = (ms: number) => ({ at: ms, inBps: 1, outBps: 1 });
  t.same(runsOf([at(0), at(5000), at(10000), at(60000), at(65000)], 12500).map((r) => r.map((s) => s.at)), [[0, 5000, 10000], [60000, 65000]]);
  t.same(runsOf([], 12500), []);
});
