/**
 * The option-negotiation automaton of RFC 1661 §4, shared by LCP and the NCPs. Sans-I/O: events come
 * in as calls with `now` (ms), everything to do comes back as `PppAction`s, and `nextTimeout()` says
 * when `tick` must run for the Restart timer (§4.6).
 */
import { codeName, ControlCode, decodeControlPacket, decodeEcho, decodeOptions, decodeProtocolReject, encodeCodeReject, encodeConfigure, encodeControlPacket, encodeEcho, encodeOptions, rejectedCode, sameBytes, type ControlPacket, type PppOption } from './control-packet.ts';
import { PppProtocol } from './frame.ts';
import type { FsmProtocol, PppAction, RequestVerdict } from './fsm-protocol.ts';
import { CELLS, FsmState, LEGAL, STATE_NAMES, type Cell, type FsmActionName, type FsmEvent } from './fsm-table.ts';
import { countInto, NOTHING_COUNTED } from '../util/lazy-counts.ts';

export { FsmState, STATE_NAMES, TRANSITIONS, type FsmEvent } from './fsm-table.ts';

/** §4.6: the Restart timer runs in these states only. */
const TIMED_STATES: ReadonlySet<FsmState> = new Set([4, 5, 6, 7, 8]);
const NEGOTIATING: ReadonlySet<FsmState> = new Set([6, 7, 8]);
/** Before the first Configure-Request: one empty array for every automaton (never written to). */

export interface FsmOptions {
  /** §4.6 Restart timer. */
  readonly restartMs: number;
  /** §4.6 Max-Terminate, Max-Configure, Max-Failure. */
  readonly maxTerminate: number;
  readonly maxConfigure: number;
  readonly maxFailure: number;
  /**
   * Strict §5.2 reading: every reply matching our last request's Identifier is an event. By default a
   * second reply to the same transmission is a duplicate and dropped, as pppd does, so a delayed copy
   * cannot cause a crossed-connection renegotiation.
   */
  readonly acceptRepeatedReplies: boolean;
}

export const defaultFsmOptions: FsmOptions = { restartMs: 3000, maxTerminate: 2, maxConfigure: 10, maxFailure: 5, acceptRepeatedReplies: false };

/**
 * The automaton's own options out of a caller's (often LCP's whole configuration): the defaults
 * themselves when none is set, else an object of this one shape. Spreading the caller's object gave
 * every automaton a hidden class of its own, about 300 bytes each, four per PPP session (issue 23).
 */
function fsmOptionsOf(o: Partial<FsmOptions>): FsmOptions {
  const d = defaultFsmOptions;
  if (o.restartMs === undefined && o.maxTerminate === undefined && o.maxConfigure === undefined && o.maxFailure === undefined && o.acceptRepeatedReplies === undefined) return d;
  return {
    restartMs: o.restartMs ?? d.restartMs,
    maxTerminate: o.maxTerminate ?? d.maxTerminate,
    maxConfigure: o.maxConfigure ?? d.maxConfigure,
    maxFailure: o.maxFailure ?? d.maxFailure,
    acceptRepeatedReplies: o.acceptRepeatedReplies ?? d.acceptRepeatedReplies,
  };
}

/** What a received packet brings along to the actions that answer it. */
interface Received {
  readonly packet: ControlPacket;
  readonly verdict?: Exclude<RequestVerdict, { kind: 'fail' }>;
}

export class Fsm {
  readonly #handler: FsmProtocol;
  readonly #options: FsmOptions;
  #state: FsmState = FsmState.Initial;
  #restartCount = 0;
  /** Configure-Naks sent since the last Configure-Ack (Max-Failure, §4.6). */
  #failures = 0;
  #timerAt: number | undefined;
  #nextId = 0;
  /** The Identifier and options of our last Configure-Request, and whether it was answered. */
  #requestId = -1;
  /**
   * Our last request's options as a one-byte string: a few dozen bytes, where a small Uint8Array costs
   * about 220 on V8's heap, for each of a call's automatons for the whole call (issue 23).
   */
  #request = '';
  #replySeen = false;
  #terminateReason = '';
  /** Made at the first action of a step (an engine between steps holds none: issue 23). */
  #actions: PppAction[] | undefined;
  #now = 0;
  /** Made at the first count: thousands of calls' automatons mostly never count anything (issue 23). */
  #drops: Record<string, number> | undefined;
  #counters: Record<string, number> | undefined;

  constructor(handler: FsmProtocol, options: Partial<FsmOptions> = {}) {
    this.#handler = handler;
    this.#options = fsmOptionsOf(options);
  }

  /** Packets dropped, by reason (STYLE.md rule 4). */
  get drops(): Readonly<Record<string, number>> {
    return this.#drops ?? NOTHING_COUNTED;
  }

  /** What is unusual rather than a packet dropped: illegal events, Max-Failure reached, codes ignored, by name. */
  get counters(): Readonly<Record<string, number>> {
    return this.#counters ?? NOTHING_COUNTED;
  }

  /** Our last request's options (bytes again, when a reply is checked or the request sent). */
  get #requestData(): Uint8Array {
    return Uint8Array.from(this.#request, (c) => c.charCodeAt(0));
  }

  get state(): FsmState {
    return this.#state;
  }

  get stateName(): string {
    return STATE_NAMES[this.#state];
  }

  get restartCount(): number {
    return this.#restartCount;
  }

  /** §4.3 Up: the lower layer can carry packets. */
  up(now: number): PppAction[] {
    return this.#take('Up', now, 'lower layer up');
  }

  down(now: number): PppAction[] {
    return this.#take('Down', now, 'lower layer down');
  }

  /** §4.3 Open: the administrator allows the link. */
  open(now: number): PppAction[] {
    return this.#take('Open', now, 'opened');
  }

  /** §4.3 Close; `reason` goes into the Terminate-Request (its Data is free-form, §5.5). */
  close(now: number, reason: string): PppAction[] {
    this.#terminateReason = reason;
    return this.#take('Close', now, reason);
  }

  /** Restart timer expiry (§4.6): TO+ while the counter is above zero, TO- once it is not. */
  tick(now: number): PppAction[] {
    if (this.#timerAt === undefined || now < this.#timerAt) return [];
    this.#timerAt = undefined;
    return this.#take(this.#restartCount > 0 ? 'TO+' : 'TO-', now, 'restart timer');
  }

  nextTimeout(): number | undefined {
    return this.#timerAt;
  }

  /** A packet of this protocol: its Information field, from Code on. Never throws. */
  receive(bytes: Uint8Array, now: number): PppAction[] {
    this.#now = now;
    const decoded = decodeControlPacket(bytes);
    if (!decoded.ok) this.#drop('malformed', decoded.error.message);
    // RFC 1661 §4.1 has '-' for every receive event before Up: nothing is heard then.
    else if (this.#state <= FsmState.Starting) this.#drop('lower-layer-down', codeName(decoded.value.code));
    else this.#dispatch(decoded.value);
    return this.#flush();
  }

  #dispatch(packet: ControlPacket): void {
    switch (packet.code) {
      case ControlCode.ConfigureRequest:
        return this.#onConfigureRequest(packet);
      case ControlCode.ConfigureAck:
        return this.#onConfigureAck(packet);
      case ControlCode.ConfigureNak:
      case ControlCode.ConfigureReject:
        return this.#onConfigureNakReject(packet);
      case ControlCode.TerminateRequest:
        return this.#run('RTR', 'Terminate-Request received', { packet });
      case ControlCode.TerminateAck:
        return this.#run('RTA', 'Terminate-Ack received', { packet });
      case ControlCode.CodeReject:
        return this.#onCodeReject(packet);
      default:
        return this.#onOtherCode(packet);
    }
  }

  #take(event: FsmEvent, now: number, why: string): PppAction[] {
    this.#now = now;
    this.#run(event, why);
    return this.#flush();
  }

  /** §5.1: the verdict decides RCR+ or RCR-; only states that answer need one. */
  #onConfigureRequest(packet: ControlPacket): void {
    const options = decodeOptions(packet.data);
    if (!options.ok) return this.#drop('malformed-options', options.error.message);
    if (this.#state !== FsmState.Stopped && !this.#negotiating()) {
      return this.#run('RCR+', 'Configure-Request received', { packet });
    }
    const verdict = this.#judge(options.value);
    if (verdict.kind === 'fail') return this.#closeFor(verdict.reason);
    this.#run(verdict.kind === 'ack' ? 'RCR+' : 'RCR-', `Configure-Request ${verdict.kind}`, { packet, verdict });
  }

  /**
   * §4.6 Max-Failure: after that many Naks without an Ack, the options we would Nak are rejected
   * instead (as received); if the Nak only suggested options the peer had not sent, we Ack.
   */
  #judge(options: readonly PppOption[]): RequestVerdict {
    const verdict = this.#handler.checkRequest(options);
    if (verdict.kind !== 'nak' || this.#failures < this.#options.maxFailure) return verdict;
    this.#count('max-failure');
    const types = new Set(verdict.options.map((o) => o.type));
    const rejected = options.filter((o) => types.has(o.type));
    return rejected.length > 0 ? { kind: 'reject', options: rejected } : { kind: 'ack' };
  }

  /** §5.2: a reply must carry the Identifier of our last request; while negotiating we check it. */
  #isCurrentReply(packet: ControlPacket): boolean {
    let problem: string | undefined;
    if (!this.#negotiating()) return true;
    if (packet.identifier !== this.#requestId) problem = 'stale-reply';
    else if (this.#replySeen && !this.#options.acceptRepeatedReplies) problem = 'repeated-reply';
    if (problem) this.#drop(problem, codeName(packet.code));
    return problem === undefined;
  }

  /** States where we have a request out or agreed (6 to 9): replies are checked against it. */
  #negotiating(): boolean {
    return NEGOTIATING.has(this.#state) || this.#state === FsmState.Opened;
  }

  /** A handler gave up (no address, peer refused authentication): a Close event with its reason. */
  #closeFor(reason: string): void {
    this.#terminateReason = reason;
    this.#run('Close', reason);
  }

  #onConfigureAck(packet: ControlPacket): void {
    if (!this.#isCurrentReply(packet)) return;
    if (this.#negotiating()) {
      // §5.2: the options must be exactly those we sent.
      if (!sameBytes(packet.data, this.#requestData)) return this.#drop('bad-ack', 'options differ from the request');
      this.#replySeen = true;
      const sent = decodeOptions(this.#requestData);
      if (sent.ok) this.#handler.onAck(sent.value);
    }
    this.#run('RCA', 'Configure-Ack received', { packet });
  }

  #onConfigureNakReject(packet: ControlPacket): void {
    if (!this.#isCurrentReply(packet)) return;
    const options = decodeOptions(packet.data);
    if (!options.ok) return this.#drop('malformed-options', options.error.message);
    let fatal: string | void = undefined;
    if (this.#negotiating()) {
      const isReject = packet.code === ControlCode.ConfigureReject;
      if (isReject && !this.#isSubsetOfRequest(options.value)) return this.#drop('bad-reject', 'options not in our request');
      this.#replySeen = true;
      fatal = isReject ? this.#handler.onReject(options.value) : this.#handler.onNak(options.value);
    }
    if (typeof fatal === 'string') return this.#closeFor(fatal);
    this.#run('RCN', `${codeName(packet.code)} received`, { packet });
  }

  /** §5.4: a Configure-Reject names options of our request, unchanged and in the same order. */
  #isSubsetOfRequest(rejected: readonly PppOption[]): boolean {
    const sent = decodeOptions(this.#requestData);
    if (!sent.ok) return false;
    let from = 0;
    for (const r of rejected) {
      const at = sent.value.findIndex((s, i) => i >= from && s.type === r.type && sameBytes(s.data, r.data));
      if (at < 0) return false;
      from = at + 1;
    }
    return true;
  }

  /** §5.6: rejecting a code this automaton needs (1 to 7) is catastrophic, others are not. */
  #onCodeReject(packet: ControlPacket): void {
    const code = rejectedCode(packet.data);
    if (!code.ok) return this.#drop('malformed', code.error.message);
    const fatal = code.value >= ControlCode.ConfigureRequest && code.value <= ControlCode.CodeReject;
    this.#run(fatal ? 'RXJ-' : 'RXJ+', `Code-Reject of ${codeName(code.value)}`, { packet });
  }

  /** LCP's own codes (§5.7 to §5.9), codes known and ignored, and unknown codes (RUC). */
  #onOtherCode(packet: ControlPacket): void {
    if (this.#handler.ignoredCodes?.includes(packet.code)) return void this.#count(`ignored-${codeName(packet.code)}`);
    if (this.#handler.kind !== 'lcp' || packet.code > ControlCode.DiscardRequest) return this.#run('RUC', `unknown ${codeName(packet.code)}`, { packet });
    if (packet.code === ControlCode.ProtocolReject) {
      const reject = decodeProtocolReject(packet.data);
      if (!reject.ok) return this.#drop('malformed', reject.error.message);
      const protocol = reject.value.rejectedProtocol;
      if (protocol === PppProtocol.LCP) return this.#run('RXJ-', 'Protocol-Reject of LCP', { packet });
      if (this.#state === FsmState.Opened) this.#handler.onProtocolReject?.(protocol);
      return this.#run('RXJ+', `Protocol-Reject of 0x${protocol.toString(16)}`, { packet });
    }
    const echo = decodeEcho(packet.data);
    if (!echo.ok) return this.#drop('malformed', echo.error.message);
    this.#run('RXR', codeName(packet.code), { packet });
  }

  /** Looks the event up in the table and performs the cell: actions in order, then the new state. */
  #run(event: FsmEvent, why: string, rx?: Received): void {
    const cell = CELLS[event][this.#state];
    if (!cell) {
      this.#count('illegal-event');
      this.#log('debug', `${this.#handler.name}: illegal event ${event} in ${this.stateName}`);
      return;
    }
    for (const action of cell.actions) this.#perform(action, event, cell, why, rx);
    this.#setState(cell.next, `${event}: ${why}`);
  }

  #perform(action: FsmActionName, event: FsmEvent, cell: Cell, why: string, rx: Received | undefined): void {
    switch (action) {
      case 'tlu':
      case 'tld':
      case 'tls':
      case 'tlf':
        return this.#layer(action, why);
      case 'irc':
        if (!NEGOTIATING.has(this.#state)) this.#failures = 0;
        this.#restartCount = cell.actions.includes('str') ? this.#options.maxTerminate : this.#options.maxConfigure;
        return;
      case 'zrc':
        // §4.4: zero the counter but run the timer once, giving the peer time to see our Terminate-Ack.
        this.#restartCount = 0;
        this.#timerAt = this.#now + this.#options.restartMs;
        return;
      case 'scr':
        return this.#sendConfigureRequest(event === 'TO+');
      case 'str':
        this.#restartCount--;
        this.#timerAt = this.#now + this.#options.restartMs;
        return this.#send(ControlCode.TerminateRequest, this.#newId(), new TextEncoder().encode(this.#terminateReason));
      case 'sta':
        return this.#send(ControlCode.TerminateAck, rx?.packet.identifier ?? this.#newId(), new Uint8Array(0));
      case 'sca':
        return this.#sendConfigureAck(rx);
      case 'scn':
        return this.#sendConfigureNakReject(rx);
      case 'scj':
        if (!rx) return;
        return this.#emit(encodeCodeReject(this.#newId(), encodeControlPacket(rx.packet), this.#handler.peerMru?.() ?? 1500));
      case 'ser':
        return this.#answerEcho(rx);
    }
  }

  /** §5.1: a new request gets a new Identifier; a retransmission (TO+) keeps it, as §5.1 allows. */
  #sendConfigureRequest(retransmit: boolean): void {
    if (!retransmit || this.#requestId < 0) {
      if (!NEGOTIATING.has(this.#state)) this.#handler.resetRequest?.();
      this.#requestId = this.#newId();
      this.#request = String.fromCharCode(...encodeOptions(this.#handler.buildRequestOptions()));
    }
    this.#replySeen = false;
    this.#restartCount--;
    this.#timerAt = this.#now + this.#options.restartMs;
    this.#emit(encodeControlPacket({ code: ControlCode.ConfigureRequest, identifier: this.#requestId, data: this.#requestData }));
  }

  /** §5.2: the Ack repeats the request's Identifier and options exactly. */
  #sendConfigureAck(rx: Received | undefined): void {
    if (!rx) return;
    this.#failures = 0;
    const options = decodeOptions(rx.packet.data);
    if (options.ok) this.#handler.onPeerAcked?.(options.value);
    this.#send(ControlCode.ConfigureAck, rx.packet.identifier, rx.packet.data);
  }

  #sendConfigureNakReject(rx: Received | undefined): void {
    const verdict = rx?.verdict;
    if (!rx || !verdict || verdict.kind === 'ack') return;
    if (verdict.kind === 'nak') this.#failures++;
    const code = verdict.kind === 'nak' ? ControlCode.ConfigureNak : ControlCode.ConfigureReject;
    this.#emit(encodeConfigure(code, rx.packet.identifier, verdict.options));
  }

  /** §5.8: an Echo-Request is answered with our Magic-Number and its data; a reply feeds keepalives. */
  #answerEcho(rx: Received | undefined): void {
    if (!rx) return;
    const echo = decodeEcho(rx.packet.data);
    if (!echo.ok) return;
    if (rx.packet.code === ControlCode.EchoRequest) {
      this.#emit(encodeEcho(ControlCode.EchoReply, rx.packet.identifier, { magicNumber: this.#handler.magicNumber?.() ?? 0, data: echo.value.data }));
    } else if (rx.packet.code === ControlCode.EchoReply) {
      this.#handler.onEchoReply?.(echo.value, rx.packet.identifier);
    }
  }

  #layer(action: 'tlu' | 'tld' | 'tls' | 'tlf', why: string): void {
    const h = this.#handler;
    const [type, hook] = ({ tlu: ['layer-up', h.onLayerUp], tld: ['layer-down', h.onLayerDown], tls: ['layer-started', h.onLayerStarted], tlf: ['layer-finished', h.onLayerFinished] } as const)[action];
    hook?.call(h);
    (this.#actions ??= []).push({ type, protocol: h.protocol, why });
  }

  /** The one place the state changes: refuses moves the table cannot make, logs and counts the rest. */
  #setState(next: FsmState, why: string): void {
    const from = this.#state;
    if (!LEGAL.has(`${from}>${next}`)) throw new Error(`${this.#handler.name}: illegal move ${STATE_NAMES[from]} -> ${STATE_NAMES[next]}`);
    this.#state = next;
    if (!TIMED_STATES.has(next)) this.#timerAt = undefined;
    if (from === next) return;
    this.#log('debug', `${this.#handler.name}: ${STATE_NAMES[from]} -> ${STATE_NAMES[next]} (${why})`);
  }

  #newId(): number {
    const id = this.#nextId;
    this.#nextId = (this.#nextId + 1) & 0xff;
    return id;
  }

  #send(code: number, identifier: number, data: Uint8Array): void {
    this.#emit(encodeControlPacket({ code, identifier, data }));
  }

  #emit(packet: Uint8Array): void {
    (this.#actions ??= []).push({ type: 'send', protocol: this.#handler.protocol, packet });
  }

  #drop(reason: string, detail: string): void {
    this.#drops = countInto(this.#drops, reason);
    this.#log('debug', `${this.#handler.name}: dropped (${reason}): ${detail}`);
  }

  #count(name: string): void {
    this.#counters = countInto(this.#counters, name);
  }

  #log(level: 'debug' | 'info' | 'warn', msg: string): void {
    (this.#actions ??= []).push({ type: 'log', level, msg });
  }

  #flush(): PppAction[] {
    const out = this.#actions ?? [];
    this.#actions = undefined;
    return out;
  }
}
