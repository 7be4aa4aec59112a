import type { Logger } from '../../log/logger.ts';
import type { Endpoint, IkeAction } from '../engine/types.ts';
import type { ShellEngine } from './shell-engine.ts';
import type { IkeTransport } from './transport.ts';

const RECOMPUTE_MS = 250;

/**
 * The thin shell around the engine (STYLE.md rule 2): packets and the clock in, actions out.
 * Sends go to the transport, logs to the logger, SA events to `onAction`; one timer follows
 * `engine.nextTimeout()`. No protocol decisions here. The engine is IKEv2's, IKEv1's, or the
 * facade that routes each message to one of them by its ISAKMP version.
 */
export class IkeShell<E extends ShellEngine = ShellEngine> {
  readonly #engine: E;
  readonly #log: Logger;
  readonly #onAction: (action: IkeAction) => void;
  readonly #clock: () => number;
  #transport: IkeTransport | undefined;
  #timer: NodeJS.Timeout | undefined;
  #timerDue = Infinity;
  #computedAt = -Infinity;
  #closed = false;
  /** Packets received while the gate is shut, in order (the DH pool's secrets in flight, issue 23). */
  #held: Array<[Uint8Array, Endpoint, Endpoint]> | undefined;
  readonly #gate: (() => Promise<void> | undefined) | undefined;
  /** Every log action too, after the logger (the connection doctor reads the refusals, issue 17). */
  onLog: ((action: Extract<IkeAction, { type: 'log' }>) => void) | undefined;

  /**
   * `gate`: a promise while received packets must wait (DhWorkerPool.settled: a responder's
   * IKE_AUTH then finds the secret its worker computed); packets go on in the order they came.
   */
  constructor(engine: E, log: Logger, onAction: (action: IkeAction) => void, clock: () => number = Date.now, gate?: () => Promise<void> | undefined) {
    this.#gate = gate;
    this.#engine = engine;
    this.#log = log;
    this.#onAction = onAction;
    this.#clock = clock;
  }

  attach(transport: IkeTransport): void {
    this.#transport = transport;
  }

  /** The transports' receive callback. */
  readonly receive = (packet: Uint8Array, from: Endpoint, to: Endpoint): void => {
    if (this.#closed) return;
    if (this.#held) return void this.#held.push([packet, from, to]);
    const wait = this.#gate?.();
    if (!wait) return this.#run(this.#engine.handlePacket(packet, from, to, this.#clock()));
    this.#held = [[packet, from, to]];
    void wait.then(() => {
      const held = this.#held ?? [];
      this.#held = undefined;
      // They waited for every job out when the first came; jobs only start in handlePacket, which has not run since: no second wait.
      for (const [p, f, t] of held) if (!this.#closed) this.#run(this.#engine.handlePacket(p, f, t, this.#clock()));
    });
  };

  initiate(connection: string, local: Endpoint, remote?: string): void {
    this.#run(this.#engine.initiate(connection, local, this.#clock(), remote));
  }

  rekeyChild(ikeSpi: bigint, inboundSpi: number): void {
    this.#run(this.#engine.rekeyChild?.(ikeSpi, inboundSpi, this.#clock()) ?? []);
  }

  rekeyIke(ikeSpi: bigint): void {
    this.#run(this.#engine.rekeyIke?.(ikeSpi, this.#clock()) ?? []);
  }

  reauthenticate(ikeSpi: bigint): void {
    this.#run(this.#engine.reauthenticate?.(ikeSpi, this.#clock()) ?? []);
  }

  /** An EAP verdict came in (RADIUS): answer its held request now. Later, not inside the verifier's callback. */
  resumeEap(): void {
    if (!this.#closed) setImmediate(() => !this.#closed && this.#run(this.#engine.resumeEap?.(this.#clock()) ?? []));
  }

  /** A RADIUS CoA's Session-Timeout (issue 21): the engine deletes the SA then; its timer re-armed now. */
  setSessionTimeout(spi: bigint, seconds: number): boolean {
    const set = this.#engine.setSessionTimeout?.(spi, seconds, this.#clock()) ?? false;
    this.#computedAt = -Infinity;
    this.#schedule();
    return set;
  }

  terminate(spi: bigint): void {
    this.#run(this.#engine.terminate(spi, this.#clock()));
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#transport?.close();
  }

  #run(actions: IkeAction[]): void {
    for (const action of actions) {
      if (action.type === 'send') this.#transport?.send(action.packet, action.from, action.to);
      else if (action.type === 'log') {
        this.#log[action.level](action.msg, action.fields);
        this.onLog?.(action);
      }
      else this.#onAction(action);
    }
    this.#schedule();
  }

  /**
   * `nextTimeout()` looks at every SA, so with thousands of them it is asked at most four times a
   * second; in between, a timer due later is pulled in to the next quarter second. IKE's timers are
   * seconds long, so no deadline slips by more than that.
   */
  #schedule(): void {
    if (this.#closed) return;
    const now = this.#clock();
    if (now - this.#computedAt < RECOMPUTE_MS) {
      if (this.#timerDue > now + RECOMPUTE_MS) this.#arm(now + RECOMPUTE_MS, now);
      return;
    }
    this.#computedAt = now;
    const next = this.#engine.nextTimeout();
    if (next === undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#timerDue = Infinity;
      return;
    }
    this.#arm(next, now);
  }

  #arm(due: number, now: number): void {
    clearTimeout(this.#timer);
    this.#timerDue = due;
    this.#timer = setTimeout(() => {
      this.#timerDue = Infinity;
      this.#computedAt = -Infinity; // after a tick, look again at once
      this.#run(this.#engine.tick(this.#clock()));
    }, Math.max(0, due - now));
    this.#timer.unref();
  }
}
