/**
 * Two PPP link ends (gateway and client) joined by a simulated wire of whole frames, on a simulated
 * clock, with seeded loss: every run is the same. Records each side's actions with their times.
 */
import { encodePppFrame } from '../../firmware/ppp/frame.ts';

export interface WireEnd<A extends { type: string }> {
  receiveFrame(frame: Uint8Array, now: number): A[];
  tick(now: number): A[];
  nextTimeout(): number | undefined;
}

type Sent = { readonly type: 'send'; readonly protocol: number; readonly packet: Uint8Array };

export class PppWire<A extends { type: string }, B extends { type: string }> {
  now = 0;
  readonly seenA: A[] = [];
  readonly seenB: B[] = [];
  /** Frames on the wire: [arrival time, to side, frame]. */
  #flying: Array<[number, 0 | 1, Uint8Array]> = [];
  readonly #a: WireEnd<A>;
  readonly #b: WireEnd<B>;
  readonly #loss: () => boolean;

  constructor(a: WireEnd<A>, b: WireEnd<B>, loss: () => boolean = () => false) {
    this.#a = a;
    this.#b = b;
    this.#loss = loss;
  }

  takeA(actions: A[]): void {
    this.#take(0, actions);
  }

  takeB(actions: B[]): void {
    this.#take(1, actions);
  }

  #take(side: 0 | 1, actions: Array<A | B>): void {
    for (const a of actions) {
      if (side === 0) this.seenA.push(a as A);
      else this.seenB.push(a as B);
      if (a.type !== 'send') continue;
      const s = a as unknown as Sent;
      if (this.#loss()) continue;
      this.#flying.push([this.now + 5, side === 0 ? 1 : 0, encodePppFrame({ protocol: s.protocol, information: s.packet }, { addressControl: true })]);
    }
  }

  /** Injects a frame as if side `from` had sent it. */
  inject(from: 0 | 1, frame: Uint8Array): void {
    this.#flying.push([this.now + 5, from === 0 ? 1 : 0, frame]);
  }

  run(until: number, done: () => boolean = () => false): boolean {
    for (let steps = 0; !done(); steps++) {
      if (steps > 100_000) throw new Error(`wire stuck at ${this.now} ms`);
      const times = [...this.#flying.map((f) => f[0]), this.#a.nextTimeout(), this.#b.nextTimeout()].filter((t): t is number => t !== undefined);
      const next = times.length ? Math.min(...times) : undefined;
      if (next === undefined || next > until) {
        this.now = until;
        return false;
      }
      this.now = Math.max(this.now, next);
      const due = this.#flying.filter((f) => f[0] <= this.now);
      this.#flying = this.#flying.filter((f) => f[0] > this.now);
      for (const [, to, frame] of due) {
        if (to === 0) this.takeA(this.#a.receiveFrame(frame, this.now));
        else this.takeB(this.#b.receiveFrame(frame, this.now));
      }
      const ta = this.#a.nextTimeout();
      if (ta !== undefined && ta <= this.now) this.takeA(this.#a.tick(this.now));
      const tb = this.#b.nextTimeout();
      if (tb !== undefined && tb <= this.now) this.takeB(this.#b.tick(this.now));
    }
    return true;
  }
}
