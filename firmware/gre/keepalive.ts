/**
 * A GRE site's liveness (issue 25), sans-I/O, on the Cisco keepalive's rule: every interval a probe
 * goes out; anything heard from the peer clears the count; after `retries` probes in a row without
 * an answer the site is down, and the first thing heard brings it up. The site starts down (nothing
 * heard yet). With the interval 0 there are no probes and the site is up while configured.
 *
 * The shell feeds `rcv-traffic` when the tunnel delivered packets since it last looked, and
 * `timeout` when `nextTimeout()` is reached; it sends a probe for each `send-probe`.
 */
export type KeepaliveState = 'up' | 'down';

export type KeepaliveEvent = { readonly type: 'rcv-traffic' } | { readonly type: 'timeout' };

export type KeepaliveAction =
  | { readonly type: 'send-probe' }
  | { readonly type: 'state'; readonly from: KeepaliveState; readonly to: KeepaliveState; readonly why: string };

export interface KeepaliveOptions {
  readonly intervalMs: number;
  readonly retries: number;
}

export class GreKeepalive {
  readonly #intervalMs: number;
  readonly #retries: number;
  #state: KeepaliveState;
  #unanswered = 0;
  #next: number | undefined;
  /** Probes sent and state changes, for the site's counters. */
  probesSent = 0;
  stateChanges = 0;

  constructor(options: KeepaliveOptions, now: number) {
    this.#intervalMs = Math.max(0, options.intervalMs);
    this.#retries = Math.max(1, options.retries);
    this.#state = this.#intervalMs === 0 ? 'up' : 'down';
    this.#next = this.#intervalMs === 0 ? undefined : now;
  }

  get state(): KeepaliveState {
    return this.#state;
  }

  nextTimeout(): number | undefined {
    return this.#next;
  }

  handle(event: KeepaliveEvent, now: number): KeepaliveAction[] {
    if (this.#intervalMs === 0) return [];
    const actions: KeepaliveAction[] = [];
    if (event.type === 'rcv-traffic') {
      this.#unanswered = 0;
      this.#setState('up', 'heard from the peer', actions);
      return actions;
    }
    if (this.#next === undefined || now < this.#next) return actions;
    if (this.#unanswered >= this.#retries) this.#setState('down', `no answer to ${String(this.#unanswered)} keepalives in a row`, actions);
    actions.push({ type: 'send-probe' });
    this.probesSent++;
    this.#unanswered++;
    this.#next = now + this.#intervalMs;
    return actions;
  }

  /** The one place the state changes: a move to the same state is no move. */
  #setState(to: KeepaliveState, why: string, actions: KeepaliveAction[]): void {
    if (to === this.#state) return;
    actions.push({ type: 'state', from: this.#state, to, why });
    this.#state = to;
    this.stateChanges++;
  }
}
