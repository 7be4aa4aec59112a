/**
 * Traceroute from the gateway without a traceroute binary: one iputils `ping -c 1 -t TTL` per hop (the
 * router where the TTL runs out answers "Time to live exceeded"). The reading of ping's output and the
 * walk over the hops are pure; the probe that runs ping is injected (the shell is `pingProbe`).
 * Bounded: at most 30 hops, a few probes at once, one second per probe, and an overall deadline.
 */
import { execFile } from 'node:child_process';

export type HopOutcome = 'time-exceeded' | 'reached' | 'unreachable' | 'no-answer';

export interface Hop {
  readonly ttl: number;
  readonly outcome: HopOutcome;
  /** Who answered: the router on the way, or the destination. */
  readonly from?: string;
  readonly ms?: number;
}

export interface TracerouteResult {
  readonly hops: Hop[];
  /** The destination answered. */
  readonly reached: boolean;
  /** As the traceroute command prints it, for the page. */
  readonly output: string;
}

export const MAX_HOPS = 30;
const PARALLEL = 4;

/** One `ping -c 1 -t N` run's output read as a hop (iputils' wording). */
export function parseProbe(ttl: number, output: string, elapsedMs: number): Hop {
  const reply = /bytes from ([0-9a-fA-F.:]+)(?: \([^)]*\))?:.*time=([0-9.]+) ms/.exec(output);
  if (reply) return { ttl, outcome: 'reached', from: reply[1]!, ms: Number(reply[2]) };
  const from = /From ([0-9a-fA-F.:]+)(?: \([^)]*\))? icmp_seq=\d+ (.+)/.exec(output);
  if (from) {
    const outcome: HopOutcome = /time to live exceeded|hop limit/i.test(from[2]!) ? 'time-exceeded' : 'unreachable';
    return { ttl, outcome, from: from[1]!, ms: Math.round(elapsedMs * 10) / 10 };
  }
  return { ttl, outcome: 'no-answer' };
}

export type Probe = (ttl: number) => Promise<Hop>;

/** Hops 1..maxHops in small batches, stopping at the first batch that reaches the destination or a dead end. */
export async function traceroute(host: string, maxHops: number, probe: Probe, deadlineMs = 45_000, now: () => number = Date.now): Promise<TracerouteResult> {
  const hops: Hop[] = [];
  const end = now() + deadlineMs;
  let last = 0;
  for (let first = 1; first <= Math.min(maxHops, MAX_HOPS) && now() < end; first += PARALLEL) {
    const batch = Array.from({ length: Math.min(PARALLEL, maxHops - first + 1) }, (_, i) => first + i);
    const answers = await Promise.all(batch.map((ttl) => probe(ttl)));
    const stop = answers.findIndex((h) => h.outcome === 'reached' || h.outcome === 'unreachable');
    hops.push(...(stop >= 0 ? answers.slice(0, stop + 1) : answers));
    last = hops.length;
    if (stop >= 0) break;
  }
  const reached = hops[last - 1]?.outcome === 'reached';
  return { hops, reached, output: formatHops(host, hops) };
}

export function formatHops(host: string, hops: readonly Hop[]): string {
  const lines = hops.map((h) => {
    const ttl = String(h.ttl).padStart(2);
    if (h.outcome === 'no-answer') return `${ttl}  *`;
    const note = h.outcome === 'unreachable' ? '  !unreachable' : '';
    return `${ttl}  ${h.from ?? '?'}  ${h.ms === undefined ? '' : `${h.ms} ms`}${note}`;
  });
  return [`traceroute to ${host}, ${hops.length} hop${hops.length === 1 ? '' : 's'}`, ...lines].join('\n');
}

/** The shell: one iputils ping with the TTL given; the API validated host (IP or host name) already. */
export function pingProbe(host: string): Probe {
  return (ttl) =>
    new Promise((resolve) => {
      const started = performance.now();
      // execFile, no shell; `--` so a host can never be read as an option.
      execFile('ping', ['-n', '-c', '1', '-t', String(ttl), '-W', '1', '--', host], { timeout: 3_000 }, (_error, stdout, stderr) => {
        resolve(parseProbe(ttl, `${stdout}${stderr}`, performance.now() - started));
      });
    });
}
