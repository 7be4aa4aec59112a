/*
 * The I/O shell of one SSTP connection: it owns the call's transport (Node's TLS socket, or the
 * driver's TLS, issue 23) and the timer, reads the HTTP request head, then feeds the sans-I/O
 * SstpServerSession and carries out its actions. The PPP link above it is reached through
 * `PppLinkPort`; no protocol decision is made here (STYLE.md rule 2).
 */
import type { Logger } from '../log/logger.ts';
import type { Secret } from '../util/secret.ts';
import { answerRequestHead, MAX_REQUEST_HEAD } from './http-handshake.ts';
import { SstpServerSession, type SstpAction, type SstpSessionOptions } from './session.ts';

/**
 * The TLS byte stream a call runs on. Its owner feeds what arrives into SstpConnection.receive and
 * reports the end (`lost`, `closedByPeer`).
 */
export interface SstpTransport {
  readonly peer: { readonly address: string; readonly port: number };
  /** "TLSv1.3", for the log. */
  tlsVersion(): string | undefined;
  write(bytes: Uint8Array): void;
  /** Our last word is written: let it drain (2 s at most), then close. */
  end(): void;
  /** Gone at once. */
  destroy(): void;
  /** The driver's data path, when the driver runs this call's TLS (issue 23). */
  readonly driver?: SstpDriverPath;
}

/** IP of a session whose call's TLS runs in the driver, moved between the shared TUN and the call in C. */
export interface SstpDriverPath {
  /** From now on (again: replaces the previous sources, with fresh counters); undefined, or why not. */
  start(spec: { readonly mtu: number; readonly sources: readonly string[] }): string | undefined;
  /** The running data path's IP counts. */
  counters(): { readonly bytesIn: number; readonly bytesOut: number; readonly packetsIn: number; readonly packetsOut: number; readonly dropSource: number } | undefined;
}

/** What the PPP link over this call may do with it. */
export interface SstpCallIo {
  /** A PPP frame (protocol field and information, no HDLC framing) to the client. */
  sendFrame(frame: Uint8Array): void;
  /** PPP authentication finished: the crypto binding can be checked with these keys (§3.3.7.1). */
  authenticated(hlak?: Secret<Uint8Array>): void;
  /** End the call politely (Call Disconnect). */
  disconnect(): void;
  /** The credentials are with the authentication server (true) or its answer is in (false): not the client's time. */
  authenticationWaiting(waiting: boolean): void;
  /** Present when the call's TLS runs in the driver: its IP can move there once the network is up. */
  readonly driver?: SstpDriverPath | undefined;
}

/** The PPP link of one call, as the SSTP shell sees it. */
export interface PppLinkPort {
  lowerUp(): void;
  receiveFrame(frame: Uint8Array): void;
  /** The call is over; the link releases what it held (addresses, routes). */
  lowerDown(reason: string): void;
}

export interface SstpConnectionOptions {
  readonly session: Omit<SstpSessionOptions, 'certHash256' | 'certHash1'>;
  readonly certHash256: Uint8Array;
  readonly certHash1: Uint8Array;
  readonly logger: Logger;
  readonly createLink: (io: SstpCallIo, peer: { readonly address: string; readonly port: number }) => PppLinkPort;
  readonly now?: () => number;
  /**
   * Once, when the call is established (crypto binding verified, §3.3.5.2.4): it is no longer a handshake.
   * The hooks are told which call: one options object serves a listener's calls (issue 23).
   */
  readonly onEstablished?: (call: SstpConnection) => void;
  /** While the PPP link waits for the authentication server (the handshake clock stops, admission.ts). */
  readonly onAuthenticationWait?: (waiting: boolean, call: SstpConnection) => void;
  readonly onClosed?: (reason: string, call: SstpConnection) => void;
  /**
   * The client completed TLS, then closed without sending a byte: how Windows' SSTP client leaves a
   * gateway certificate it refuses (CRL unreachable, untrusted CA, wrong name). For the connection doctor.
   */
  readonly onClosedAfterTls?: (peer: { readonly address: string; readonly port: number }) => void;
  /** The call was aborted before it was established (crypto binding refused, negotiation timed out): for the connection doctor. */
  readonly onSetupAborted?: (peer: { readonly address: string; readonly port: number }, reason: string) => void;
}

/** An empty head, shared: a call holds no buffer of its own once its head is read. */
const NO_HEAD = Buffer.alloc(0);

/**
 * Bytes dropped before the head (a slow-loris or a scanner) are bounded by MAX_REQUEST_HEAD. The
 * connection is its PPP link's SstpCallIo itself: methods on the prototype, no closures per call (issue 23).
 */
export class SstpConnection implements SstpCallIo {
  readonly #transport: SstpTransport;
  readonly #options: SstpConnectionOptions;
  readonly #now: () => number;
  readonly #peer: { readonly address: string; readonly port: number };
  #head: Buffer = NO_HEAD;
  #bytesReceived = 0;
  #session: SstpServerSession | undefined;
  #link: PppLinkPort | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** When #timer fires. */
  #timerAt: number | undefined;
  #closed = false;
  #established = false;

  constructor(transport: SstpTransport, options: SstpConnectionOptions) {
    this.#transport = transport;
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#peer = transport.peer;
    // The request head must come soon (the negotiation timer takes over once the session exists).
    this.#arm(this.#now() + 10_000);
  }

  /** Decrypted bytes from the client, in stream order. */
  receive(chunk: Uint8Array): void {
    this.#onData(chunk);
  }

  /** The transport failed (a TLS error, a reset). */
  lost(reason: string): void {
    this.#end(reason);
  }

  /** The client closed the connection. */
  closedByPeer(): void {
    if (!this.#closed && this.#bytesReceived === 0) this.#options.onClosedAfterTls?.(this.#peer);
    this.#end('the client closed the connection');
  }

  /** The client's address and port. */
  get peer(): { readonly address: string; readonly port: number } {
    return this.#peer;
  }

  get state(): string {
    return this.#session?.state ?? 'http';
  }

  /** The driver's data path, when the driver runs this call's TLS (SstpCallIo). */
  get driver(): SstpDriverPath | undefined {
    return this.#transport.driver;
  }

  /** SstpCallIo: a PPP frame to the client, while the call lasts. */
  sendFrame(frame: Uint8Array): void {
    const s = this.#live();
    if (s) this.#run(s.handle({ type: 'CmdSendPpp', frame }, this.#now()));
  }

  /** SstpCallIo: PPP authentication finished. */
  authenticated(hlak?: Secret<Uint8Array>): void {
    const s = this.#live();
    if (s) this.#run(s.handle(hlak ? { type: 'RcvPppAuthenticated', hlak } : { type: 'RcvPppAuthenticated' }, this.#now()));
  }

  /** SstpCallIo: the credentials are with the authentication server (true) or its answer is in (false). */
  authenticationWaiting(waiting: boolean): void {
    if (this.#live()) this.#options.onAuthenticationWait?.(waiting, this);
  }

  /** Management and SstpCallIo: end the call (Call Disconnect, then close). */
  disconnect(): void {
    if (this.#session) this.#run(this.#session.handle({ type: 'CmdDisconnect' }, this.#now()));
    else this.#end('disconnected before the call began');
  }

  #onData(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#bytesReceived += chunk.length;
    if (this.#session) return this.#run(this.#session.handle({ type: 'RcvStream', bytes: chunk }, this.#now()));
    this.#head = Buffer.concat([this.#head, chunk]);
    const answer = answerRequestHead(this.#head, this.#now());
    if (answer.kind === 'incomplete') return;
    this.#transport.write(answer.response);
    if (answer.kind === 'http') {
      this.#options.logger.info('not an SSTP request', { peer: this.#peer.address, status: answer.status, why: answer.why });
      this.#transport.end();
      return this.#end(`HTTP ${answer.status}`, false);
    }
    const rest = this.#head.subarray(answer.headLength);
    this.#head = NO_HEAD;
    this.#options.logger.info('SSTP call', { peer: this.#peer.address, host: answer.host.slice(0, 64), correlationId: answer.correlationId, tls: this.#transport.tlsVersion(), driver: this.#transport.driver !== undefined });
    this.#session = new SstpServerSession(sessionOptions(this.#options), this.#now());
    this.#arm(this.#session.nextTimeout());
    if (rest.length > 0) this.#run(this.#session.handle({ type: 'RcvStream', bytes: rest }, this.#now()));
  }

  #run(actions: readonly SstpAction[]): void {
    for (const action of actions) this.#act(action);
    if (this.#closed) return;
    this.#arm(this.#session?.nextTimeout());
    if (!this.#established && this.#session?.state === 'ServerCallConnected') {
      this.#established = true;
      this.#options.onEstablished?.(this);
    }
  }

  #act(action: SstpAction): void {
    switch (action.type) {
      case 'send':
        return this.#transport.write(action.packet);
      case 'deliver-ppp':
        return this.#link?.receiveFrame(action.frame);
      case 'start-ppp':
        this.#link = this.#options.createLink(this, this.#peer);
        return this.#link.lowerUp();
      case 'abort':
        if (!this.#established) this.#options.onSetupAborted?.(this.#peer, action.reason);
        return this.#options.logger.warn('SSTP call aborted', { peer: this.#peer.address, reason: action.reason, status: action.status });
      case 'close':
        this.#transport.end();
        return this.#end(action.reason, false);
      case 'log':
        return this.#options.logger[action.level](action.msg, { peer: this.#peer.address, ...action.fields });
    }
  }

  #live(): SstpServerSession | undefined {
    return this.#closed ? undefined : this.#session;
  }

  #arm(at: number | undefined): void {
    // Most packets leave the deadline where it was: the timer stays (no new Timeout per packet).
    if (this.#timer && at === this.#timerAt && !this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === undefined || this.#closed) return;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, at - this.#now()));
    this.#timer.unref();
  }

  #onTimer(): void {
    this.#timer = undefined;
    if (this.#closed) return;
    if (!this.#session) {
      return this.#end(`no SSTP request head within 10 s (${this.#head.length} of at most ${MAX_REQUEST_HEAD} bytes)`);
    }
    this.#run(this.#session.handle({ type: 'Timeout' }, this.#now()));
  }

  /**
   * Once: the engine learns the lower layer is gone when it did not end the call itself (`tellSession`,
   * and then the socket is destroyed at once), PPP goes down.
   */
  #end(reason: string, tellSession = true): void {
    if (this.#closed) return;
    if (tellSession && this.#session) this.#session.handle({ type: 'RcvLowerLayerDown' }, this.#now());
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#link?.lowerDown(reason);
    // After our own last word (an HTTP error, Call Disconnect Ack) the transport drains, then goes (end()).
    if (tellSession) this.#transport.destroy();
    this.#options.onClosed?.(reason, this);
  }
}

/** The engine's options, made once per connection options (a listener shares those between its calls: issue 23). */
const sessionOptionsOf = new WeakMap<SstpConnectionOptions, SstpSessionOptions>();

function sessionOptions(o: SstpConnectionOptions): SstpSessionOptions {
  let made = sessionOptionsOf.get(o);
  if (!made) sessionOptionsOf.set(o, (made = buildSessionOptions(o)));
  return made;
}

/** Named field by field: spreading an object that holds functions gives the copy a hidden class of its own (issue 23). */
function buildSessionOptions(o: SstpConnectionOptions): SstpSessionOptions {
  const s = o.session;
  return {
    randomBytes: s.randomBytes,
    certHash256: o.certHash256,
    certHash1: o.certHash1,
    ...(s.hashProtocols !== undefined ? { hashProtocols: s.hashProtocols } : {}),
    ...(s.maxNaks !== undefined ? { maxNaks: s.maxNaks } : {}),
    ...(s.timers ? { timers: s.timers } : {}),
  };
}
