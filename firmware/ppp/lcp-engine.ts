/**
 * LCP for one link: the shared automaton (fsm.ts) with the LCP handler, plus what only LCP does —
 * Echo-Request keepalives (RFC 1661 §5.8), Protocol-Reject of protocols nobody speaks (§5.7) and
 * giving up on a looped-back link (§6.4). Sans-I/O like the automaton: calls in, actions out.
 */
import { ControlCode, encodeEcho, encodeProtocolReject, type EchoPacket } from './control-packet.ts';
import { PppProtocol, protocolName } from './frame.ts';
import { Fsm, FsmState, type FsmOptions } from './fsm.ts';
import type { PppAction } from './fsm-protocol.ts';
import { LcpHandler, type LcpConfig, type LcpNegotiated } from './lcp.ts';
import { countInto, NOTHING_COUNTED } from '../util/lazy-counts.ts';

export interface LcpEngineOptions extends Partial<FsmOptions>, Partial<LcpConfig> {
  readonly random: (n: number) => Uint8Array;
  /** An Echo-Request this often once Opened; 0: no keepalives. */
  readonly echoIntervalMs?: number;
  /** The link is dead after this many Echo-Requests in a row go unanswered. */
  readonly echoFailures?: number;
  /** Close after this many Configure-Requests carrying our own Magic-Number (§6.4). */
  readonly maxLoopbacks?: number;
}

export class LcpEngine {
  readonly fsm: Fsm;
  readonly handler: LcpHandler;
  readonly #echoIntervalMs: number;
  readonly #echoFailures: number;
  readonly #maxLoopbacks: number;
  #echoAt: number | undefined;
  #echoesUnanswered = 0;
  #echoId = 0;
  #rejectId = 0;
  /** Made at the first action of a step (an engine between steps holds none: issue 23). */
  #actions: PppAction[] | undefined;
  /** Counted by reason, next to the automaton's own drops. */
  #drops: Record<string, number> | undefined;

  /** Dropped, by reason (made at the first drop). */
  get drops(): Readonly<Record<string, number>> {
    return this.#drops ?? NOTHING_COUNTED;
  }

  constructor(options: LcpEngineOptions) {
    const { echoIntervalMs = 10_000, echoFailures = 3, maxLoopbacks = 3, ...rest } = options;
    this.#echoIntervalMs = echoIntervalMs;
    this.#echoFailures = echoFailures;
    this.#maxLoopbacks = maxLoopbacks;
    this.handler = new LcpHandler(rest, { echoReply: (echo) => this.#onEchoReply(echo), protocolRejected: (p) => this.#onProtocolRejected(p) });
    this.fsm = new Fsm(this.handler, rest);
  }

  get state(): FsmState {
    return this.fsm.state;
  }

  get opened(): boolean {
    return this.fsm.state === FsmState.Opened;
  }

  get negotiated(): Readonly<LcpNegotiated> {
    return this.handler.negotiated;
  }

  up(now: number): PppAction[] {
    return this.#after(now, this.fsm.up(now));
  }

  down(now: number): PppAction[] {
    return this.#after(now, this.fsm.down(now));
  }

  open(now: number): PppAction[] {
    return this.#after(now, this.fsm.open(now));
  }

  close(now: number, reason: string): PppAction[] {
    return this.#after(now, this.fsm.close(now, reason));
  }

  /** An LCP packet (the frame's Information field). */
  receive(packet: Uint8Array, now: number): PppAction[] {
    const out = this.fsm.receive(packet, now);
    if (this.handler.loopbacks >= this.#maxLoopbacks && this.fsm.state >= FsmState.ReqSent) {
      out.push({ type: 'log', level: 'warn', msg: `LCP: link looks looped back (${this.handler.loopbacks} Configure-Requests with our Magic-Number)` });
      out.push(...this.fsm.close(now, 'looped back'));
    }
    return this.#after(now, out);
  }

  tick(now: number): PppAction[] {
    const out = this.fsm.tick(now);
    if (this.#echoAt !== undefined && now >= this.#echoAt && this.opened) this.#keepalive(now, out);
    return this.#after(now, out);
  }

  nextTimeout(): number | undefined {
    const a = this.fsm.nextTimeout();
    const b = this.opened ? this.#echoAt : undefined;
    return a === undefined ? b : b === undefined ? a : Math.min(a, b);
  }

  /**
   * §5.7: a frame of a protocol nobody here speaks is answered with Protocol-Reject, in Opened only;
   * before that it is dropped.
   */
  protocolReject(protocol: number, information: Uint8Array): PppAction[] {
    if (!this.opened) {
      this.#drop('unknown-protocol-before-opened');
      return [];
    }
    this.#drop(`protocol-rejected ${protocolName(protocol)}`);
    const packet = encodeProtocolReject(this.#nextRejectId(), { rejectedProtocol: protocol, rejectedInformation: information }, this.handler.peerMru());
    return [{ type: 'send', protocol: PppProtocol.LCP, packet }];
  }

  /** An Echo-Request due: the link is dead after `echoFailures` unanswered ones in a row. */
  #keepalive(now: number, out: PppAction[]): void {
    if (this.#echoesUnanswered >= this.#echoFailures) {
      out.push({ type: 'log', level: 'warn', msg: `LCP: peer not responding to ${this.#echoesUnanswered} Echo-Requests` });
      this.#echoAt = undefined;
      out.push(...this.fsm.close(now, 'peer not responding'));
      return;
    }
    this.#echoesUnanswered++;
    this.#echoAt = now + this.#echoIntervalMs;
    this.#echoId = (this.#echoId + 1) & 0xff;
    const packet = encodeEcho(ControlCode.EchoRequest, this.#echoId, { magicNumber: this.handler.magicNumber(), data: new Uint8Array(0) });
    out.push({ type: 'send', protocol: PppProtocol.LCP, packet });
  }

  /** §5.8: a reply carrying our own Magic-Number came back to us: a loop, not a live peer. */
  #onEchoReply(echo: EchoPacket): void {
    const mine = this.handler.magicNumber();
    if (mine !== 0 && echo.magicNumber === mine) return this.#drop('echo-reply-own-magic');
    this.#echoesUnanswered = 0;
  }

  #onProtocolRejected(protocol: number): void {
    (this.#actions ??= []).push({ type: 'protocol-rejected', protocol });
  }

  /** Starts or stops keepalives as the layer goes up or down, and adds what the handler reported. */
  #after(now: number, out: PppAction[]): PppAction[] {
    for (const a of out) {
      if (a.type === 'layer-up' && this.#echoIntervalMs > 0) {
        this.#echoesUnanswered = 0;
        this.#echoAt = now + this.#echoIntervalMs;
      } else if (a.type === 'layer-down') this.#echoAt = undefined;
    }
    const extra = this.#actions;
    this.#actions = undefined;
    return extra ? [...out, ...extra] : out;
  }

  #nextRejectId(): number {
    this.#rejectId = (this.#rejectId + 1) & 0xff;
    return this.#rejectId;
  }

  #drop(reason: string): void {
    this.#drops = countInto(this.#drops, reason);
  }
}
