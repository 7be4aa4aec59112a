/**
 * A simulated PPP link for engine tests: two sans-I/O engines, a clock, and a wire that loses and
 * reorders packets from a seeded generator, so every run is the same.
 */
import type { PppAction } from '../../../firmware/ppp/fsm-protocol.ts';

/** mulberry32: small, seedable, good enough to pick delays and losses. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The injected `random(n)` of the engines, from a seed. */
export function seededBytes(seed: number): (n: number) => Uint8Array {
  const next = seeded(seed);
  return (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256));
}

export interface SimNode {
  receive(packet: Uint8Array, now: number): PppAction[];
  tick(now: number): PppAction[];
  nextTimeout(): number | undefined;
}

export interface WireOptions {
  /** Chance that a packet is lost. */
  loss: number;
  minDelayMs: number;
  maxDelayMs: number;
  rng: () => number;
}

interface InFlight {
  readonly at: number;
  readonly to: 0 | 1;
  readonly packet: Uint8Array;
}

export class SimLink {
  readonly nodes: readonly [SimNode, SimNode];
  readonly wire: WireOptions;
  /** Every action each side produced, with the time. */
  readonly seen: [{ at: number; action: PppAction }[], { at: number; action: PppAction }[]] = [[], []];
  now = 0;
  #flying: InFlight[] = [];

  constructor(nodes: [SimNode, SimNode], wire: Partial<WireOptions> = {}) {
    this.nodes = nodes;
    this.wire = { loss: 0, minDelayMs: 10, maxDelayMs: 10, rng: seeded(1), ...wire };
  }

  /** Records a side's actions and puts its packets on the wire. */
  take(side: 0 | 1, actions: PppAction[]): void {
    for (const action of actions) {
      this.seen[side].push({ at: this.now, action });
      if (action.type !== 'send') continue;
      const { loss, minDelayMs, maxDelayMs, rng } = this.wire;
      if (rng() < loss) continue;
      const at = this.now + minDelayMs + Math.floor(rng() * (maxDelayMs - minDelayMs + 1));
      this.#flying.push({ at, to: side === 0 ? 1 : 0, packet: action.packet });
    }
  }

  /** Runs the clock until `done` holds (checked after every step) or `until` is reached. */
  run(until: number, done: () => boolean = () => false): boolean {
    for (let steps = 0; !done(); steps++) {
      if (steps > 100_000) throw new Error(`simulation stuck at ${this.now} ms`);
      const next = this.#nextEvent();
      if (next === undefined || next > until) {
        this.now = until;
        return false;
      }
      this.now = Math.max(this.now, next);
      this.#step();
    }
    return true;
  }

  of(side: 0 | 1, type: PppAction['type']): { at: number; action: PppAction }[] {
    return this.seen[side].filter((s) => s.action.type === type);
  }

  #nextEvent(): number | undefined {
    const times = [...this.#flying.map((f) => f.at), this.nodes[0].nextTimeout(), this.nodes[1].nextTimeout()].filter((t): t is number => t !== undefined);
    return times.length ? Math.min(...times) : undefined;
  }

  #step(): void {
    const due = this.#flying.filter((f) => f.at <= this.now).sort((a, b) => a.at - b.at);
    this.#flying = this.#flying.filter((f) => f.at > this.now);
    for (const f of due) this.take(f.to, this.nodes[f.to].receive(f.packet, this.now));
    for (const side of [0, 1] as const) {
      const t = this.nodes[side].nextTimeout();
      if (t !== undefined && t <= this.now) this.take(side, this.nodes[side].tick(this.now));
    }
  }
}
