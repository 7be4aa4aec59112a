/*
 * One PPTP control connection, server side (RFC 2637 §3), sans-I/O: bytes and timeouts in, messages
 * and call changes out.
 *
 *   wait-sccrq --SCCRQ/SCCRP--> established --StopCCRQ sent--> stopping --StopCCRP or timeout--> closed
 *   established --StopCCRQ received/StopCCRP--> closed;  no SCCRQ in time, echo unanswered --> closed
 *   call (we are PAC, the usual case: Windows, pptp-linux): OCRQ --OCRP Connected--> up
 *   call (the client is PAC):  ICRQ --ICRP Connect--> wait-iccn --ICCN--> up
 *   call ends: CCRQ --CDN--> gone;  CDN received --> gone;  CmdCloseCall --CDN (or CCRQ as PNS)--> gone
 *
 * Call IDs: ours come from the gateway-wide allocator (call-ids.ts) and are bound to the peer's Call
 * ID for the call's life; the peer's must be unique within the connection. CDN names the call by the
 * client's Call ID, as pptpd and accel-ppp send it and as pptp-linux and Windows look it up (RFC
 * 2637 §2.13 says "assigned by the PAC", which clients do not match on).
 * Keepalive (§2.5, §2.6): an Echo-Request after `echoIntervalMs` without a message from the peer;
 * no message within `echoTimeoutMs` more ends the connection. Echo-Requests are answered always.
 */
import type { CallIdAllocator } from './call-ids.ts';
import { PptpControlStream } from './control-stream.ts';
import {
  CdnResult, encodePptpMessage, IcrpResult, OcrpResult, PPTP_PROTOCOL_VERSION, PptpError, SccrpResult, StopReason,
  type PptpControlMessage, type PptpMessageOf,
} from './control-message.ts';

export type ConnectionState = 'wait-sccrq' | 'established' | 'stopping' | 'closed';

export interface PptpServerOptions {
  readonly hostName: string;
  readonly vendorString?: string;
  readonly callIds: CallIdAllocator;
  /** Calls at once on one connection (pptp-linux and Windows place one). */
  readonly maxCalls?: number;
  /** SCCRQ must arrive this soon after the TCP connection (10 s). */
  readonly setupTimeoutMs?: number;
  /** A connection with no call for this long is stopped (60 s); also the wait for ICCN after ICRP. */
  readonly idleTimeoutMs?: number;
  readonly echoIntervalMs?: number;
  readonly echoTimeoutMs?: number;
  /** How long a StopCCRQ of ours waits for its reply (3 s, as mpd). */
  readonly stopTimeoutMs?: number;
}

export type ConnectionEvent =
  | { readonly kind: 'RcvBytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'Timeout' }
  | { readonly kind: 'CmdCloseCall'; readonly callId: number; readonly reason: string; readonly admin?: boolean }
  | { readonly kind: 'CmdStop'; readonly reason: string }
  | { readonly kind: 'TransportClosed' };

export type ConnectionAction =
  | { readonly kind: 'Send'; readonly bytes: Uint8Array; readonly message: PptpControlMessage['type'] }
  /** Start PPP: bind our Call ID to the peer's in the GRE channel. */
  | { readonly kind: 'CallUp'; readonly callId: number; readonly peerCallId: number }
  | { readonly kind: 'CallDown'; readonly callId: number; readonly reason: string }
  | { readonly kind: 'LinkInfo'; readonly callId: number; readonly sendAccm: number; readonly receiveAccm: number }
  /** Close the TCP connection (after what was sent). */
  | { readonly kind: 'Close'; readonly reason: string }
  /** Something refused or ignored, for the shell's counters. */
  | { readonly kind: 'Counted'; readonly what: string };

interface Call {
  readonly peerCallId: number;
  state: 'wait-iccn' | 'up';
  /** Who is PAC: 'us' for OCRQ calls (we answer CCRQ with CDN), 'peer' for ICRQ calls. */
  readonly pac: 'us' | 'peer';
  readonly since: number;
}

export class PptpControlConnection {
  readonly #o: Required<Omit<PptpServerOptions, 'vendorString'>> & { vendorString: string };
  readonly #stream = new PptpControlStream();
  readonly #calls = new Map<number, Call>();
  #state: ConnectionState = 'wait-sccrq';
  #out: ConnectionAction[] = [];
  #deadline: number;
  #lastHeard: number;
  #echoSentAt: number | undefined;
  #echoId = 0;
  #idleSince: number;
  peerHostName = '';
  /** An SCCRQ was accepted: a real client, not a connection that never spoke (a flood's). */
  started = false;

  constructor(options: PptpServerOptions, now: number) {
    this.#o = { maxCalls: 16, setupTimeoutMs: 10_000, idleTimeoutMs: 60_000, echoIntervalMs: 60_000, echoTimeoutMs: 60_000, stopTimeoutMs: 3_000, vendorString: 'Postern', ...options };
    this.#deadline = now + this.#o.setupTimeoutMs;
    this.#lastHeard = now;
    this.#idleSince = now;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Our Call IDs with the peer's, for the calls that are up. */
  calls(): Array<{ callId: number; peerCallId: number }> {
    return [...this.#calls].filter(([, c]) => c.state === 'up').map(([callId, c]) => ({ callId, peerCallId: c.peerCallId }));
  }

  handle(event: ConnectionEvent, now: number): ConnectionAction[] {
    this.#out = [];
    if (this.#state === 'closed') return [];
    switch (event.kind) {
      case 'RcvBytes': this.#receive(event.bytes, now); break;
      case 'Timeout': this.#timeout(now); break;
      case 'CmdCloseCall': this.#closeCall(event.callId, event.reason, event.admin === true, now); break;
      case 'CmdStop': this.#stop(event.reason, now); break;
      case 'TransportClosed': this.#closed('the TCP connection closed'); break;
    }
    return this.#out;
  }

  nextTimeout(): number | undefined {
    switch (this.#state) {
      case 'wait-sccrq': case 'stopping': return this.#deadline;
      case 'closed': return undefined;
      case 'established': {
        const echo = this.#echoSentAt !== undefined ? this.#echoSentAt + this.#o.echoTimeoutMs : this.#lastHeard + this.#o.echoIntervalMs;
        const waits = [...this.#calls.values()].filter((c) => c.state === 'wait-iccn').map((c) => c.since + this.#o.idleTimeoutMs);
        const idle = this.#calls.size === 0 ? [this.#idleSince + this.#o.idleTimeoutMs] : [];
        return Math.min(echo, ...waits, ...idle);
      }
    }
  }

  #send(message: PptpControlMessage): void {
    this.#out.push({ kind: 'Send', bytes: encodePptpMessage(message), message: message.type });
  }

  #count(what: string): void {
    this.#out.push({ kind: 'Counted', what });
  }

  #receive(bytes: Uint8Array, now: number): void {
    for (const item of this.#stream.push(bytes)) {
      if (this.#state === 'closed') return;
      if (!item.ok) {
        this.#count(`malformed: ${item.error.message}`);
        if (item.fatal || this.#state === 'wait-sccrq') return this.#closed(`malformed control message: ${item.error.message}`);
        continue;
      }
      this.#lastHeard = now;
      this.#echoSentAt = undefined;
      this.#message(item.message, now);
    }
  }

  #message(m: PptpControlMessage, now: number): void {
    if (this.#state === 'wait-sccrq') return m.type === 'StartControlConnectionRequest' ? this.#sccrq(m, now) : this.#closed(`${m.type} before Start-Control-Connection-Request`);
    switch (m.type) {
      case 'StartControlConnectionRequest': return this.#again();
      case 'StopControlConnectionRequest': return this.#stopRequested(m);
      case 'StopControlConnectionReply': return this.#state === 'stopping' ? this.#closed('stopped') : this.#count('unexpected StopCCRP');
      case 'EchoRequest': return this.#send({ type: 'EchoReply', identifier: m.identifier, resultCode: 1, errorCode: PptpError.none });
      case 'EchoReply': return;
      case 'OutgoingCallRequest': return this.#ocrq(m, now);
      case 'IncomingCallRequest': return this.#icrq(m, now);
      case 'IncomingCallConnected': return this.#iccn(m);
      case 'CallClearRequest': return this.#ccrq(m, now);
      case 'CallDisconnectNotify': return this.#cdn(m, now);
      case 'SetLinkInfo': return this.#sli(m);
      case 'WanErrorNotify': return this.#count('WAN-Error-Notify');
      default: return this.#count(`unexpected ${m.type}`);
    }
  }

  #sccrq(m: PptpMessageOf<'StartControlConnectionRequest'>, now: number): void {
    this.peerHostName = m.hostName;
    if (m.protocolVersion !== PPTP_PROTOCOL_VERSION) {
      this.#reply(SccrpResult.versionNotSupported, PptpError.none);
      return this.#closed(`protocol version 0x${m.protocolVersion.toString(16)} is not 1.0`);
    }
    this.#reply(SccrpResult.success, PptpError.none);
    this.#state = 'established';
    this.started = true;
    this.#idleSince = now;
  }

  /** A second SCCRQ on an open connection: SCCRP result 3, "Command channel already exists" (§2.2). */
  #again(): void {
    this.#reply(SccrpResult.alreadyExists, PptpError.none);
    this.#count('SCCRQ on an open connection');
  }

  #reply(resultCode: number, errorCode: number): void {
    // Framing: async and sync; bearer: analog and digital (§2.2) — what a PAC of tunnels offers.
    this.#send({ type: 'StartControlConnectionReply', protocolVersion: PPTP_PROTOCOL_VERSION, resultCode, errorCode, framingCapabilities: 3, bearerCapabilities: 3, maximumChannels: this.#o.maxCalls, firmwareRevision: 1, hostName: this.#o.hostName, vendorString: this.#o.vendorString });
  }

  /** A new call's Call ID, or the error code to refuse it with. */
  #admit(peerCallId: number): number | { error: number; why: string } {
    if (this.#calls.size >= this.#o.maxCalls) return { error: PptpError.noResource, why: `call limit (${this.#o.maxCalls} per connection)` };
    if ([...this.#calls.values()].some((c) => c.peerCallId === peerCallId)) return { error: PptpError.badCallId, why: `peer Call ID ${peerCallId} already in use` };
    return this.#o.callIds.allocate() ?? { error: PptpError.noResource, why: 'no free Call ID' };
  }

  #ocrq(m: PptpMessageOf<'OutgoingCallRequest'>, now: number): void {
    const admitted = this.#admit(m.callId);
    const reply = { type: 'OutgoingCallReply', peerCallId: m.callId, causeCode: 0, connectSpeed: m.maximumBps || 100_000_000, packetRecvWindowSize: 64, packetProcessingDelay: 0, physicalChannelId: 0 } as const;
    if (typeof admitted !== 'number') {
      this.#count(`call refused: ${admitted.why}`);
      return this.#send({ ...reply, callId: 0, resultCode: OcrpResult.generalError, errorCode: admitted.error });
    }
    this.#calls.set(admitted, { peerCallId: m.callId, state: 'up', pac: 'us', since: now });
    this.#send({ ...reply, callId: admitted, resultCode: OcrpResult.connected, errorCode: PptpError.none });
    this.#out.push({ kind: 'CallUp', callId: admitted, peerCallId: m.callId });
  }

  #icrq(m: PptpMessageOf<'IncomingCallRequest'>, now: number): void {
    const admitted = this.#admit(m.callId);
    const reply = { type: 'IncomingCallReply', peerCallId: m.callId, packetRecvWindowSize: 64, packetTransmitDelay: 0 } as const;
    if (typeof admitted !== 'number') {
      this.#count(`call refused: ${admitted.why}`);
      return this.#send({ ...reply, callId: 0, resultCode: IcrpResult.generalError, errorCode: admitted.error });
    }
    this.#calls.set(admitted, { peerCallId: m.callId, state: 'wait-iccn', pac: 'peer', since: now });
    this.#send({ ...reply, callId: admitted, resultCode: IcrpResult.connect, errorCode: PptpError.none });
  }

  /** ICCN's Peer's Call ID is ours (§2.11). */
  #iccn(m: PptpMessageOf<'IncomingCallConnected'>): void {
    const call = this.#calls.get(m.peerCallId);
    if (!call || call.state !== 'wait-iccn') return this.#count('ICCN for no waiting call');
    call.state = 'up';
    this.#out.push({ kind: 'CallUp', callId: m.peerCallId, peerCallId: call.peerCallId });
  }

  /** CCRQ names the call by the client's (PNS's) Call ID (§2.12); answered with a CDN even when unknown, since the client waits for one. */
  #ccrq(m: PptpMessageOf<'CallClearRequest'>, now: number): void {
    const found = this.#byPeerCallId(m.callId);
    if (!found) this.#count('CCRQ for an unknown call');
    else this.#drop(found[0], 'the client cleared the call', now);
    this.#send({ type: 'CallDisconnectNotify', callId: m.callId, resultCode: CdnResult.request, errorCode: PptpError.none, causeCode: 0, callStatistics: new Uint8Array(128) });
  }

  #cdn(m: PptpMessageOf<'CallDisconnectNotify'>, now: number): void {
    const found = this.#byPeerCallId(m.callId) ?? (this.#calls.has(m.callId) ? [m.callId] : undefined);
    if (!found) return this.#count('CDN for an unknown call');
    this.#drop(found[0], `the client disconnected the call (result ${m.resultCode})`, now);
  }

  /** SLI's Peer's Call ID is the PAC's: ours (§2.15). ACCM means nothing on GRE; reported for the logs. */
  #sli(m: PptpMessageOf<'SetLinkInfo'>): void {
    if (!this.#calls.has(m.peerCallId)) return this.#count('SLI for an unknown call');
    this.#out.push({ kind: 'LinkInfo', callId: m.peerCallId, sendAccm: m.sendAccm, receiveAccm: m.receiveAccm });
  }

  #byPeerCallId(peerCallId: number): [number, Call] | undefined {
    return [...this.#calls].find(([, c]) => c.peerCallId === peerCallId);
  }

  /** The call is gone from this connection and the allocator; CallDown only for calls that were up. */
  #drop(callId: number, reason: string, now: number): void {
    const call = this.#calls.get(callId);
    if (!call) return;
    this.#calls.delete(callId);
    this.#o.callIds.release(callId);
    if (call.state === 'up') this.#out.push({ kind: 'CallDown', callId, reason });
    if (this.#calls.size === 0) this.#idleSince = now;
  }

  #closeCall(callId: number, reason: string, admin: boolean, now: number): void {
    const call = this.#calls.get(callId);
    if (!call || this.#state !== 'established') return;
    if (call.pac === 'us') this.#send({ type: 'CallDisconnectNotify', callId: call.peerCallId, resultCode: admin ? CdnResult.adminShutdown : CdnResult.generalError, errorCode: PptpError.none, causeCode: 0, callStatistics: new Uint8Array(128) });
    else this.#send({ type: 'CallClearRequest', callId });
    this.#drop(callId, reason, now);
  }

  #stopRequested(m: PptpMessageOf<'StopControlConnectionRequest'>): void {
    this.#send({ type: 'StopControlConnectionReply', resultCode: 1, errorCode: PptpError.none });
    this.#closed(`the client stopped the connection (reason ${m.reason})`);
  }

  #stop(reason: string, now: number): void {
    if (this.#state === 'wait-sccrq') return this.#closed(reason);
    if (this.#state !== 'established') return;
    this.#send({ type: 'StopControlConnectionRequest', reason: StopReason.localShutdown });
    this.#dropAll(reason, now);
    this.#state = 'stopping';
    this.#deadline = now + this.#o.stopTimeoutMs;
  }

  #dropAll(reason: string, now: number): void {
    for (const callId of [...this.#calls.keys()]) this.#drop(callId, reason, now);
  }

  #timeout(now: number): void {
    const at = this.nextTimeout();
    if (at === undefined || now < at) return;
    if (this.#state === 'wait-sccrq') {
      this.#count('setup timeout');
      return this.#closed('no Start-Control-Connection-Request in time');
    }
    if (this.#state === 'stopping') return this.#closed('no Stop-Control-Connection-Reply in time');
    if (this.#echoSentAt !== undefined && now >= this.#echoSentAt + this.#o.echoTimeoutMs) {
      this.#count('echo timeout');
      return this.#closed('the client stopped answering (no Echo-Reply)');
    }
    if (this.#echoSentAt === undefined && now >= this.#lastHeard + this.#o.echoIntervalMs) {
      this.#echoSentAt = now;
      this.#send({ type: 'EchoRequest', identifier: ++this.#echoId >>> 0 });
    }
    for (const [callId, call] of [...this.#calls]) {
      if (call.state === 'wait-iccn' && now >= call.since + this.#o.idleTimeoutMs) {
        this.#count('no ICCN in time');
        this.#send({ type: 'CallClearRequest', callId });
        this.#drop(callId, 'no Incoming-Call-Connected in time', now);
      }
    }
    if (this.#calls.size === 0 && now >= this.#idleSince + this.#o.idleTimeoutMs) {
      this.#count('idle timeout');
      this.#stop('no call on the connection', now);
    }
  }

  /** The end: every call down, the TCP connection to close. */
  #closed(reason: string): void {
    for (const [callId, call] of [...this.#calls]) {
      this.#calls.delete(callId);
      this.#o.callIds.release(callId);
      if (call.state === 'up') this.#out.push({ kind: 'CallDown', callId, reason });
    }
    this.#state = 'closed';
    this.#out.push({ kind: 'Close', reason });
  }
}
