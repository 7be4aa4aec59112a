/*
 * One PPTP control connection, client side (RFC 2637 §3; we are the PNS, as pptp-linux and Windows),
 * sans-I/O: bytes, commands and timeouts in, messages and call changes out. One call per connection.
 *
 *   CmdStart --SCCRQ--> wait-sccrp --SCCRP ok, OCRQ--> wait-ocrp --OCRP Connected--> up
 *   up --CmdHangUp: CCRQ--> clearing --CDN or timeout, StopCCRQ--> stopping --StopCCRP or timeout--> closed
 *   any --StopCCRQ received: StopCCRP--> closed;  CDN received --StopCCRQ--> stopping
 *   no SCCRP/OCRP within setupTimeoutMs, Echo unanswered, a refusal --> closed (with why)
 *
 * Keepalive as the server's (§2.5): an Echo-Request after `echoIntervalMs` of silence, the connection
 * ends when no message comes within `echoTimeoutMs` more; the peer's Echo-Requests are answered.
 */
import { PptpControlStream } from './control-stream.ts';
import { encodePptpMessage, OcrpResult, PPTP_PROTOCOL_VERSION, PptpError, SccrpResult, StopReason, type PptpControlMessage, type PptpMessageOf } from './control-message.ts';

export type ClientState = 'idle' | 'wait-sccrp' | 'wait-ocrp' | 'up' | 'clearing' | 'stopping' | 'closed';

export interface PptpClientOptions {
  readonly hostName: string;
  /** Our Call ID: the peer puts it in every GRE packet of the call. */
  readonly callId: number;
  readonly callSerialNumber?: number;
  /** SCCRP, then OCRP, must each come this soon (10 s). */
  readonly setupTimeoutMs?: number;
  readonly echoIntervalMs?: number;
  readonly echoTimeoutMs?: number;
  /** How long a CCRQ waits for its CDN and a StopCCRQ for its reply (3 s). */
  readonly stopTimeoutMs?: number;
}

export type ClientEvent =
  | { readonly kind: 'CmdStart' }
  | { readonly kind: 'RcvBytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'Timeout' }
  | { readonly kind: 'CmdHangUp'; readonly reason: string }
  | { readonly kind: 'TransportClosed' };

export type ClientAction =
  | { readonly kind: 'Send'; readonly bytes: Uint8Array; readonly message: PptpControlMessage['type'] }
  /** Start PPP: bind our Call ID to the peer's in the GRE channel. */
  | { readonly kind: 'CallUp'; readonly callId: number; readonly peerCallId: number }
  | { readonly kind: 'CallDown'; readonly reason: string }
  | { readonly kind: 'Close'; readonly reason: string }
  | { readonly kind: 'Counted'; readonly what: string };

const OCRP_RESULTS: Record<number, string> = { 2: 'general error', 3: 'no carrier', 4: 'busy', 5: 'no dial tone', 6: 'time-out', 7: 'do not accept' };

export class PptpClientConnection {
  readonly #o: Required<PptpClientOptions>;
  readonly #stream = new PptpControlStream();
  #state: ClientState = 'idle';
  #out: ClientAction[] = [];
  #deadline = Infinity;
  #lastHeard: number;
  #echoSentAt: number | undefined;
  #echoId = 0;
  #peerCallId: number | undefined;
  #reason = '';
  peerHostName = '';

  constructor(options: PptpClientOptions, now: number) {
    this.#o = { callSerialNumber: 1, setupTimeoutMs: 10_000, echoIntervalMs: 60_000, echoTimeoutMs: 60_000, stopTimeoutMs: 3_000, ...options };
    this.#lastHeard = now;
  }

  get state(): ClientState {
    return this.#state;
  }

  get peerCallId(): number | undefined {
    return this.#peerCallId;
  }

  handle(event: ClientEvent, now: number): ClientAction[] {
    this.#out = [];
    if (this.#state === 'closed') return [];
    switch (event.kind) {
      case 'CmdStart': this.#start(now); break;
      case 'RcvBytes': this.#receive(event.bytes, now); break;
      case 'Timeout': this.#timeout(now); break;
      case 'CmdHangUp': this.#hangUp(event.reason, now); break;
      case 'TransportClosed': this.#closed('the TCP connection closed'); break;
    }
    return this.#out;
  }

  nextTimeout(): number | undefined {
    switch (this.#state) {
      case 'idle': case 'closed': return undefined;
      case 'up': return this.#echoSentAt !== undefined ? this.#echoSentAt + this.#o.echoTimeoutMs : this.#lastHeard + this.#o.echoIntervalMs;
      default: return this.#deadline;
    }
  }

  #send(message: PptpControlMessage): void {
    this.#out.push({ kind: 'Send', bytes: encodePptpMessage(message), message: message.type });
  }

  #count(what: string): void {
    this.#out.push({ kind: 'Counted', what });
  }

  #start(now: number): void {
    if (this.#state !== 'idle') return;
    // Framing and bearer: async and sync, analog and digital, as pptp-linux offers; no channels (we are no PAC).
    this.#send({ type: 'StartControlConnectionRequest', protocolVersion: PPTP_PROTOCOL_VERSION, framingCapabilities: 3, bearerCapabilities: 3, maximumChannels: 0, firmwareRevision: 1, hostName: this.#o.hostName, vendorString: 'Postern' });
    this.#state = 'wait-sccrp';
    this.#deadline = now + this.#o.setupTimeoutMs;
  }

  #receive(bytes: Uint8Array, now: number): void {
    for (const item of this.#stream.push(bytes)) {
      if (this.#state === 'closed') return;
      if (!item.ok) {
        this.#count(`malformed: ${item.error.message}`);
        if (item.fatal) return this.#closed(`malformed control message: ${item.error.message}`);
        continue;
      }
      this.#lastHeard = now;
      this.#echoSentAt = undefined;
      this.#message(item.message, now);
    }
  }

  #message(m: PptpControlMessage, now: number): void {
    switch (m.type) {
      case 'StartControlConnectionReply': return this.#sccrp(m, now);
      case 'OutgoingCallReply': return this.#ocrp(m, now);
      case 'EchoRequest': return this.#send({ type: 'EchoReply', identifier: m.identifier, resultCode: 1, errorCode: PptpError.none });
      case 'EchoReply': return;
      case 'CallDisconnectNotify': return this.#cdn(m, now);
      case 'StopControlConnectionRequest':
        this.#send({ type: 'StopControlConnectionReply', resultCode: 1, errorCode: PptpError.none });
        return this.#closed(`the server stopped the connection (reason ${m.reason})`);
      case 'StopControlConnectionReply': return this.#state === 'stopping' ? this.#closed(this.#reason || 'stopped') : this.#count('unexpected StopCCRP');
      case 'SetLinkInfo': case 'WanErrorNotify': return this.#count(m.type);
      default: return this.#count(`unexpected ${m.type}`);
    }
  }

  #sccrp(m: PptpMessageOf<'StartControlConnectionReply'>, now: number): void {
    if (this.#state !== 'wait-sccrp') return this.#count('unexpected SCCRP');
    this.peerHostName = m.hostName;
    if (m.resultCode !== SccrpResult.success) return this.#closed(`the server refused the control connection (result ${m.resultCode}, error ${m.errorCode})`);
    this.#send({ type: 'OutgoingCallRequest', callId: this.#o.callId, callSerialNumber: this.#o.callSerialNumber, minimumBps: 2400, maximumBps: 100_000_000, bearerType: 3, framingType: 3, packetRecvWindowSize: 64, packetProcessingDelay: 0, phoneNumberLength: 0, phoneNumber: '', subaddress: '' });
    this.#state = 'wait-ocrp';
    this.#deadline = now + this.#o.setupTimeoutMs;
  }

  /** OCRP's Peer's Call ID is ours (§2.8); its Call ID is the server's, which our GRE packets carry. */
  #ocrp(m: PptpMessageOf<'OutgoingCallReply'>, now: number): void {
    if (this.#state !== 'wait-ocrp' || m.peerCallId !== this.#o.callId) return this.#count('OCRP for no call of ours');
    if (m.resultCode !== OcrpResult.connected) {
      this.#reason = `the server refused the call (${OCRP_RESULTS[m.resultCode] ?? `result ${m.resultCode}`}, error ${m.errorCode})`;
      return this.#stopNow(now);
    }
    this.#peerCallId = m.callId;
    this.#state = 'up';
    this.#out.push({ kind: 'CallUp', callId: this.#o.callId, peerCallId: m.callId });
  }

  /** CDN names the call by our Call ID (what pptpd, accel-ppp and Postern send) or, per §2.13, the server's. */
  #cdn(m: PptpMessageOf<'CallDisconnectNotify'>, now: number): void {
    const ours = m.callId === this.#o.callId || (this.#peerCallId !== undefined && m.callId === this.#peerCallId);
    if (!ours) return this.#count('CDN for an unknown call');
    if (this.#state === 'up') {
      this.#reason = `the server disconnected the call (result ${m.resultCode})`;
      this.#out.push({ kind: 'CallDown', reason: this.#reason });
    }
    if (this.#state === 'up' || this.#state === 'clearing' || this.#state === 'wait-ocrp') this.#stopNow(now);
  }

  #hangUp(reason: string, now: number): void {
    this.#reason = reason;
    if (this.#state === 'idle' || this.#state === 'wait-sccrp') return this.#closed(reason);
    if (this.#state === 'up') {
      this.#out.push({ kind: 'CallDown', reason });
      this.#send({ type: 'CallClearRequest', callId: this.#o.callId });
      this.#state = 'clearing';
      this.#deadline = now + this.#o.stopTimeoutMs;
      return;
    }
    if (this.#state === 'wait-ocrp') this.#stopNow(now);
  }

  #stopNow(now: number): void {
    this.#send({ type: 'StopControlConnectionRequest', reason: StopReason.none });
    this.#state = 'stopping';
    this.#deadline = now + this.#o.stopTimeoutMs;
  }

  #timeout(now: number): void {
    const at = this.nextTimeout();
    if (at === undefined || now < at) return;
    switch (this.#state) {
      case 'wait-sccrp': return this.#closed('no Start-Control-Connection-Reply in time');
      case 'wait-ocrp':
        this.#reason = 'no Outgoing-Call-Reply in time';
        return this.#stopNow(now);
      case 'clearing': return this.#stopNow(now);
      case 'stopping': return this.#closed(this.#reason || 'no Stop-Control-Connection-Reply in time');
      case 'up':
        if (this.#echoSentAt !== undefined) {
          this.#count('echo timeout');
          return this.#closed('the server stopped answering (no Echo-Reply)');
        }
        this.#echoSentAt = now;
        this.#send({ type: 'EchoRequest', identifier: ++this.#echoId >>> 0 });
        return;
      default: return;
    }
  }

  #closed(reason: string): void {
    if (this.#state === 'up') this.#out.push({ kind: 'CallDown', reason });
    this.#state = 'closed';
    this.#out.push({ kind: 'Close', reason });
  }
}
