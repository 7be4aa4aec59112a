/**
 * The throughput chart's arithmetic, apart from drawing so it can be tested: rates from counter
 * samples, a value axis in bits per second with round steps (1, 2, 5 × 10ⁿ) in SI units, and a time
 * axis at whole intervals of the wall clock.
 */

export interface Sample {
  /** Milliseconds (Date.now()). */
  readonly at: number;
  /** Bits per second since the previous sample. */
  readonly inBps: number;
  readonly outBps: number;
}

export interface Counters {
  readonly at: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
}

/**
 * The rate between two readings of the byte counters. A counter that went down (sessions ended and
 * took their bytes with them) gives 0, not a negative rate; no time between readings gives none.
 */
export function rateBetween(before: Counters, after: Counters): Sample | undefined {
  const seconds = (after.at - before.at) / 1000;
  if (!(seconds > 0)) return undefined;
  const bps = (from: number, to: number) => (Number.isFinite(to - from) ? Math.max(0, ((to - from) * 8) / seconds) : 0);
  return { at: after.at, inBps: bps(before.bytesIn, after.bytesIn), outBps: bps(before.bytesOut, after.bytesOut) };
}

const UNITS = ['bit/s', 'kbit/s', 'Mbit/s', 'Gbit/s', 'Tbit/s'] as const;

/** "0 bit/s", "850 bit/s", "1.5 Mbit/s", "12 Gbit/s": SI (1000), at most three significant digits. */
export function formatBitRate(bps: number): string {
  if (!Number.isFinite(bps) || bps <= 0) return '0 bit/s';
  let unit = 0;
  let value = bps;
  while (value >= 999.5 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const shown = value >= 100 ? Math.round(value).toString() : value >= 10 ? trim(value.toFixed(1)) : trim(value.toFixed(2));
  return `${shown} ${UNITS[unit]}`;
}

const trim = (text: string): string => text.replace(/\.?0+$/, '');

/** The smallest round step (1, 2 or 5 × 10ⁿ) that covers `max` in at most `count` steps. */
export function niceStep(max: number, count: number): number {
  if (!(max > 0) || !Number.isFinite(max)) return 1;
  const raw = max / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

/** Value-axis ticks from 0 up to the first round value at or above `max` (at most `count` steps). */
export function rateTicks(max: number, count = 4): number[] {
  const step = niceStep(max, count);
  const steps = Math.max(1, Math.ceil(max / step - 1e-9));
  return Array.from({ length: steps + 1 }, (_, i) => i * step);
}

/** Time-axis ticks: every whole `stepMs` of the clock within [from, to]. */
export function timeTicks(from: number, to: number, stepMs: number): number[] {
  if (!(stepMs > 0) || !(to >= from)) return [];
  const out: number[] = [];
  for (let t = Math.ceil(from / stepMs) * stepMs; t <= to && out.length < 100; t += stepMs) out.push(t);
  return out;
}

/** "14:05" in the browser's time zone (what the technician's clock shows). */
export const clockLabel = (at: number): string => {
  const d = new Date(at);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

/** Runs of samples with no gap longer than `gapMs` inside: each is drawn as its own line. */
export function runsOf(samples: readonly Sample[], gapMs: number): Sample[][] {
  const runs: Sample[][] = [];
  for (const s of samples) {
    const run = runs[runs.length - 1];
    const previous = run?.[run.length - 1];
    if (run && previous && s.at - previous.at <= gapMs) run.push(s);
    else runs.push([s]);
  }
  return runs;
}
