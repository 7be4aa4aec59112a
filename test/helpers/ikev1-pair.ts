import type { Endpoint, IkeAction } from '../../firmware/ike/engine/types.ts';
import type { Ikev1Engine } from '../../firmware/ikev1/engine/engine.ts';

export interface InFlight {
  packet: Uint8Array;
  from: Endpoint;
  to: Endpoint;
  at: number;
}

/**
 * Two IKEv1 engines joined by a simulated network on a simulated clock (the IKEv2 EnginePair's
 * pattern). `filter` may drop, delay or duplicate a packet; `nat` rewrites what crosses it.
 */
export class Ikev1Pair {
  readonly engines: Record<'a' | 'b', Ikev1Engine>;
  readonly addresses: Record<'a' | 'b', string>;
  readonly actions: Record<'a' | 'b', IkeAction[]> = { a: [], b: [] };
  /** Every packet put on the wire, in order, for fuzzing and inspection. */
  readonly wireLog: InFlight[] = [];
  now = 0;
  latencyMs = 10;
  filter: (p: InFlight, n: number) => 'deliver' | 'drop' | 'duplicate' | number = () => 'deliver';
  nat: ((p: InFlight) => InFlight) | undefined;
  #wire: InFlight[] = [];
  #sent = 0;

  constructor(a: Ikev1Engine, b: Ikev1Engine, addresses = { a: '192.0.2.1', b: '192.0.2.2' }) {
    this.engines = { a, b };
    this.addresses = addresses;
  }

  take(side: 'a' | 'b', actions: IkeAction[]): void {
    this.actions[side].push(...actions);
    for (const action of actions) {
      if (action.type !== 'send') continue;
      const p = { packet: action.packet, from: action.from, to: action.to, at: this.now + this.latencyMs };
      this.wireLog.push(p);
      const verdict = this.filter(p, this.#sent++);
      if (verdict === 'drop') continue;
      if (typeof verdict === 'number') p.at += verdict;
      const crossed = this.nat ? this.nat(p) : p;
      this.#wire.push(crossed);
      if (verdict === 'duplicate') this.#wire.push({ ...crossed, at: crossed.at + 1 });
    }
  }

  #sideOf(address: string): 'a' | 'b' | undefined {
    return address === this.addresses.a ? 'a' : address === this.addresses.b ? 'b' : undefined;
  }

  /** Runs deliveries and timers until nothing is left or `untilMs` passes. */
  run(untilMs = 600_000): void {
    for (let steps = 0; steps < 10_000; steps++) {
      this.#wire.sort((x, y) => x.at - y.at);
      const nextPacket = this.#wire[0]?.at ?? Infinity;
      const timers = (['a', 'b'] as const).map((s) => [s, this.engines[s].nextTimeout() ?? Infinity] as const);
      const nextTimer = Math.min(...timers.map(([, t]) => t));
      const next = Math.min(nextPacket, nextTimer);
      if (next === Infinity || next > untilMs) return;
      this.now = Math.max(this.now, next);
      if (nextPacket <= nextTimer) {
        const p = this.#wire.shift()!;
        const side = this.#sideOf(p.to.address);
        if (side) this.take(side, this.engines[side].handlePacket(p.packet, p.from, p.to, this.now));
      } else {
        for (const [side, t] of timers) if (t <= this.now) this.take(side, this.engines[side].tick(this.now));
      }
    }
    throw new Error('the simulation did not settle in 10,000 steps');
  }

  of<T extends IkeAction['type']>(side: 'a' | 'b', type: T): Array<Extract<IkeAction, { type: T }>> {
    return this.actions[side].filter((x): x is Extract<IkeAction, { type: T }> => x.type === type);
  }

  logs(side: 'a' | 'b'): string[] {
    return this.of(side, 'log').map((l) => l.msg);
  }
}
