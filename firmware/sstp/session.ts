/*
 * The server side of one SSTP connection ([MS-SSTP] §3.3, with the common parts of §3.1), sans-I/O:
 * bytes, PPP events and time come in through `handle(event, now)`; packets to send, PPP frames to
 * deliver and the end of the call go out as actions. `nextTimeout()` says when to call again.
 *
 *  ServerCallDisconnected --HTTPS connection accepted--> ServerConnectRequestPending (negotiation timer)
 *    --Call Connect Request for PPP--> send Call Connect Ack (nonce), start PPP --> ServerCallConnectedPending
 *    --Call Connected, crypto binding valid--> ServerCallConnected (Hello timer, Echo Request when idle)
 *  Unacceptable request: Call Connect NAK, at most 3 times. Invalid message or timeout (§3.1.5.1):
 *    CallAbortInProgress1 --send Call Abort--> CallAbortPending (3 s) --their Call Abort--> CallAbortTimeoutPending (1 s)
 *  Their Call Abort: CallAbortInProgress2 --send Call Abort--> CallAbortTimeoutPending (1 s)
 *  Local disconnect: CallDisconnectInProgress1 --send Call Disconnect--> CallDisconnectAckPending (5 s)
 *  Their Call Disconnect: CallDisconnectInProgress2 --send Disconnect Ack--> CallDisconnectTimeoutPending (1 s)
 *  Every timer end, the last ack, a lost stream or the TLS close: ServerCallDisconnected, action 'close'.
 */
import type { Secret } from '../util/secret.ts';
import { defaultSstpTimers, type SstpAction, type SstpEvent, type SstpSessionOptions, type SstpState, type SstpTimers } from './types.ts';
import { decodeStatusInfo, encodeStatusInfo, NONCE_LENGTH } from './attributes.ts';
import { judgeCallConnectRequest } from './call-connect-request.ts';
import { cryptoBindingRequest, hlakFrom, verifyCallConnected } from './crypto-binding.ts';
import { countInto, NOTHING_COUNTED } from '../util/lazy-counts.ts';
import {
  AttribStatus,
  AttributeId,
  decodeSstpPacket,
  encodeControlPacket,
  encodeDataPacket,
  HashProtocol,
  isPppControlFrame,
  MAX_DATA_LENGTH,
  MessageType,
  messageTypeName,
  SstpFramer,
  statusName,
  type SstpAttribute,
  type SstpControlPacket,
} from './packet.ts';

export { defaultSstpTimers, type SstpAction, type SstpEvent, type SstpSessionOptions, type SstpState, type SstpTimers } from './types.ts';

/** Where §3.3.5.2.x say "Ignore the message" for most control messages. */
const WINDING_DOWN: ReadonlySet<SstpState> = new Set(['CallAbortPending', 'CallAbortTimeoutPending', 'CallDisconnectAckPending', 'CallDisconnectTimeoutPending']);
/** The transient first states of an abort or a disconnect (§3.1.1.1.1, §3.1.1.1.2). */
const TEARDOWN: readonly SstpState[] = ['CallAbortInProgress1', 'CallAbortInProgress2', 'CallDisconnectInProgress1', 'CallDisconnectInProgress2'];
/** The moves §3.1.1.1 and §3.3.1.1.1 allow; any state may also go to ServerCallDisconnected. */
const MOVES: Readonly<Record<SstpState, readonly SstpState[]>> = {
  ServerCallDisconnected: ['ServerConnectRequestPending'],
  ServerConnectRequestPending: ['ServerCallConnectedPending', ...TEARDOWN],
  ServerCallConnectedPending: ['ServerCallConnected', ...TEARDOWN],
  ServerCallConnected: TEARDOWN,
  CallAbortInProgress1: ['CallAbortPending'],
  CallAbortInProgress2: ['CallAbortTimeoutPending'],
  CallAbortPending: ['CallAbortTimeoutPending'],
  CallAbortTimeoutPending: [],
  CallDisconnectInProgress1: ['CallDisconnectAckPending'],
  CallDisconnectInProgress2: ['CallDisconnectTimeoutPending'],
  CallDisconnectAckPending: ['CallAbortInProgress2', 'CallDisconnectInProgress2'],
  CallDisconnectTimeoutPending: [],
};

export class SstpServerSession {
  /** Packets and frames dropped without a protocol reaction, by reason. */
  #drops: Record<string, number> | undefined;
  readonly #options: SstpSessionOptions;
  readonly #timers: SstpTimers;
  readonly #framer = new SstpFramer();
  readonly #hashProtocols: number;
  #state: SstpState = 'ServerCallDisconnected';
  #timerAt: number | undefined;
  #echoPending = false;
  #naks = 0;
  #nonce: Uint8Array | undefined;
  #hlak: Secret<Uint8Array> | undefined;
  /** A Call Connected that overtook the PPP layer's authentication event (accel-ppp defers it too). */
  #held: Uint8Array | undefined;
  #hashProtocol: HashProtocol | undefined;
  /** Made at the first action of a step (an engine between steps holds none: issue 23). */
  #actions: SstpAction[] | undefined;
  #now: number;

  /** §3.3.7.2: created when the HTTPS connection (and its HTTP request) was accepted. */
  /** Dropped, by reason (made at the first drop). */
  get drops(): Readonly<Record<string, number>> {
    return this.#drops ?? NOTHING_COUNTED;
  }

  constructor(options: SstpSessionOptions, now: number) {
    if (options.certHash256.length !== 32 || options.certHash1.length !== 20) throw new RangeError('certificate hashes must be 32 (SHA-256) and 20 (SHA-1) bytes');
    this.#hashProtocols = options.hashProtocols ?? HashProtocol.SHA256 | HashProtocol.SHA1;
    cryptoBindingRequest(new Uint8Array(NONCE_LENGTH), this.#hashProtocols); // throws on a bad bitmask now, not at the first call
    this.#options = options;
    this.#timers = options.timers ? { ...defaultSstpTimers, ...options.timers } : defaultSstpTimers;
    this.#now = now;
    this.#setState('ServerConnectRequestPending', 'HTTPS connection accepted');
    this.#timerAt = now + this.#timers.negotiationMs;
  }

  get state(): SstpState {
    return this.#state;
  }

  /** The hash protocol the client's crypto binding used, once connected. */
  get hashProtocol(): HashProtocol | undefined {
    return this.#hashProtocol;
  }

  nextTimeout(): number | undefined {
    return this.#state === 'ServerCallDisconnected' ? undefined : this.#timerAt;
  }

  handle(event: SstpEvent, now: number): SstpAction[] {
    this.#now = now;
    if (this.#state !== 'ServerCallDisconnected') this.#dispatch(event);
    const out = this.#actions ?? [];
    this.#actions = undefined;
    return out;
  }

  #dispatch(event: SstpEvent): void {
    switch (event.type) {
      case 'RcvStream': return this.#onStream(event.bytes);
      case 'RcvPacket': return this.#onPacket(event.packet);
      case 'RcvPppAuthenticated': return this.#onAuthenticated(event.hlak);
      case 'CmdSendPpp': return this.#sendPpp(event.frame);
      case 'CmdDisconnect': return this.#disconnect();
      case 'RcvLowerLayerDown': return this.#close('the HTTPS connection closed');
      case 'Timeout': return this.#onTimeout();
    }
  }

  #onStream(bytes: Uint8Array): void {
    const { packets, error } = this.#framer.push(bytes);
    for (const packet of packets) if (this.#state !== 'ServerCallDisconnected') this.#onPacket(packet);
    // §3.1.5.1: when delineation fails "the connection MUST be forcefully aborted without sending a message".
    if (error && this.#state !== 'ServerCallDisconnected') this.#abortSilently(`SSTP framing lost: ${error.message}`, AttribStatus.INVALID_FRAME_RECEIVED);
  }

  #onPacket(bytes: Uint8Array): void {
    const decoded = decodeSstpPacket(bytes);
    if (!decoded.ok) return this.#invalid(`malformed SSTP packet: ${decoded.error.message}`, AttribStatus.INVALID_FRAME_RECEIVED);
    // §3.1.2.3: "The timer is restarted after receiving an SSTP packet" of either kind.
    if (this.#state === 'ServerCallConnected') this.#restartHello();
    const packet = decoded.value;
    if (packet.kind === 'data') this.#onData(packet.data);
    else this.#onControl(packet, bytes);
  }

  /** §3.3.7.2 and §5.1: PPP control frames flow once the Ack is sent, data frames only after Call Connected. */
  #onData(frame: Uint8Array): void {
    if (this.#state === 'ServerCallConnected' || (this.#state === 'ServerCallConnectedPending' && isPppControlFrame(frame))) {
      (this.#actions ??= []).push({ type: 'deliver-ppp', frame });
    } else this.#drop(this.#state === 'ServerCallConnectedPending' ? 'ppp-data-before-call-connected' : 'data-packet-out-of-state');
  }

  #onControl(packet: SstpControlPacket, bytes: Uint8Array): void {
    switch (packet.messageType) {
      case MessageType.CALL_CONNECT_REQUEST: return this.#onCallConnectRequest(packet.attributes);
      case MessageType.CALL_CONNECTED: return this.#onCallConnected(bytes);
      case MessageType.CALL_ABORT: return this.#onCallAbort(packet.attributes);
      case MessageType.CALL_DISCONNECT: return this.#onCallDisconnect();
      case MessageType.CALL_DISCONNECT_ACK: return this.#onCallDisconnectAck();
      case MessageType.ECHO_REQUEST:
      case MessageType.ECHO_RESPONSE: return this.#onEcho(packet.messageType);
      case MessageType.CALL_CONNECT_ACK:
      case MessageType.CALL_CONNECT_NAK: return this.#invalid(`${messageTypeName(packet.messageType)} is for clients`, AttribStatus.UNACCEPTED_FRAME_RECEIVED);
      default:
        return this.#invalid(`unknown ${messageTypeName(packet.messageType)}`, AttribStatus.INVALID_FRAME_RECEIVED);
    }
  }

  /** §3.3.5.2.2. */
  #onCallConnectRequest(attributes: readonly SstpAttribute[]): void {
    if (this.#ignored()) return;
    if (this.#state !== 'ServerConnectRequestPending') return this.#abort('Call Connect Request after the call was set up', AttribStatus.UNACCEPTED_FRAME_RECEIVED);
    const problems = judgeCallConnectRequest(attributes);
    if (problems.length > 0) {
      const maxNaks = this.#options.maxNaks ?? 3;
      if (this.#naks >= maxNaks) return this.#abort(`Call Connect Request still unacceptable after ${maxNaks} NAKs`, AttribStatus.RETRY_COUNT_EXCEEDED);
      this.#naks++;
      this.#log('info', `Call Connect Request refused: ${problems.map((p) => `${statusName(p.status)} (attribute ${p.attribId})`).join(', ')}`);
      return this.#send(encodeControlPacket(MessageType.CALL_CONNECT_NAK, problems.map(encodeStatusInfo)));
    }
    const nonce = Uint8Array.from(this.#options.randomBytes(NONCE_LENGTH));
    if (nonce.length !== NONCE_LENGTH) throw new Error(`randomBytes(${NONCE_LENGTH}) gave ${nonce.length} bytes`);
    this.#nonce = nonce;
    this.#timerAt = this.#now + this.#timers.negotiationMs;
    this.#send(encodeControlPacket(MessageType.CALL_CONNECT_ACK, [cryptoBindingRequest(nonce, this.#hashProtocols)]));
    this.#setState('ServerCallConnectedPending', 'Call Connect Request for PPP accepted');
    (this.#actions ??= []).push({ type: 'start-ppp' });
  }

  /** §3.3.5.2.3. */
  #onCallConnected(bytes: Uint8Array): void {
    if (this.#ignored()) return;
    if (this.#state !== 'ServerCallConnectedPending' || this.#held) return this.#abort('Call Connected out of turn', AttribStatus.UNACCEPTED_FRAME_RECEIVED);
    if (this.#hlak) return this.#checkCallConnected(bytes);
    this.#held = Uint8Array.from(bytes);
    this.#log('info', 'Call Connected came before PPP authentication completed: held until it does');
  }

  #checkCallConnected(bytes: Uint8Array): void {
    const verdict = verifyCallConnected(bytes, {
      nonce: this.#nonce ?? new Uint8Array(0),
      certHash256: this.#options.certHash256,
      certHash1: this.#options.certHash1,
      hlak: this.#hlak ?? hlakFrom(),
      hashProtocols: this.#hashProtocols,
    });
    if (!verdict.ok) {
      const malformed = verdict.error === 'malformed';
      const status = malformed ? AttribStatus.ATTRIB_NOT_SUPPORTED_IN_MSG : AttribStatus.VALUE_NOT_SUPPORTED;
      return this.#abort(verdict.detail, status, malformed ? AttributeId.STATUS_INFO : AttributeId.CRYPTO_BINDING);
    }
    this.#hashProtocol = verdict.hashProtocol;
    this.#nonce = undefined;
    this.#hlak = undefined;
    const hash = verdict.hashProtocol === HashProtocol.SHA1 ? 'SHA-1' : 'SHA-256';
    this.#setState('ServerCallConnected', `crypto binding verified with ${hash}`);
    this.#log('info', 'SSTP call connected', { cryptoBinding: hash });
    this.#restartHello();
  }

  /** §3.3.7.1: the HLAK for the crypto binding check (32 zero bytes when the method has no keys). */
  #onAuthenticated(hlak: Secret<Uint8Array> | undefined): void {
    if (this.#state !== 'ServerCallConnectedPending' && this.#state !== 'ServerConnectRequestPending') return this.#drop('ppp-authenticated-out-of-state');
    this.#hlak = hlakFrom(hlak?.reveal());
    const held = this.#held;
    this.#held = undefined;
    if (held && this.#state === 'ServerCallConnectedPending') this.#checkCallConnected(held);
  }

  /** §3.3.5.2.4. */
  #onCallAbort(attributes: readonly SstpAttribute[]): void {
    if (this.#state === 'CallAbortPending') {
      this.#timerAt = this.#now + this.#timers.abort2Ms;
      return this.#setState('CallAbortTimeoutPending', 'the peer answered our Call Abort');
    }
    if (this.#state === 'CallAbortTimeoutPending' || this.#state === 'CallDisconnectTimeoutPending') return this.#drop('ignored-while-closing');
    const info = attributes[0] ? decodeStatusInfo(attributes[0].value) : undefined;
    const why = info?.ok ? `${statusName(info.value.status)} about attribute ${info.value.attribId}` : 'no status given';
    this.#setState('CallAbortInProgress2', `the peer aborted the call: ${why}`);
    this.#send(encodeControlPacket(MessageType.CALL_ABORT));
    this.#timerAt = this.#now + this.#timers.abort2Ms;
    this.#setState('CallAbortTimeoutPending', 'Call Abort answered');
  }

  /** §3.3.5.2.5. */
  #onCallDisconnect(): void {
    if (this.#state === 'CallAbortPending' || this.#state === 'CallAbortTimeoutPending' || this.#state === 'CallDisconnectTimeoutPending') return this.#drop('ignored-while-closing');
    this.#setState('CallDisconnectInProgress2', 'the peer disconnects');
    this.#send(encodeControlPacket(MessageType.CALL_DISCONNECT_ACK));
    this.#timerAt = this.#now + this.#timers.disconnect2Ms;
    this.#setState('CallDisconnectTimeoutPending', 'Call Disconnect acknowledged');
  }

  /** §3.3.5.2.6. */
  #onCallDisconnectAck(): void {
    if (this.#state === 'CallDisconnectAckPending') return this.#close('Call Disconnect acknowledged by the peer');
    if (this.#ignored()) return;
    this.#abort('Call Disconnect Ack without a Call Disconnect', AttribStatus.UNACCEPTED_FRAME_RECEIVED);
  }

  /** §3.3.5.2.7, §3.3.5.2.8 (the Hello timer was restarted by the packet's arrival). */
  #onEcho(type: number): void {
    if (this.#state === 'ServerCallConnected') {
      this.#echoPending = false;
      if (type === MessageType.ECHO_REQUEST) this.#send(encodeControlPacket(MessageType.ECHO_RESPONSE));
      return;
    }
    if (this.#ignored()) return;
    this.#abort(`${messageTypeName(type)} before the call was connected`, AttribStatus.UNACCEPTED_FRAME_RECEIVED);
  }

  /** §3.3.7.1: control frames once the Ack is out, data frames once connected; the rest is dropped. */
  #sendPpp(frame: Uint8Array): void {
    const allowed = this.#state === 'ServerCallConnected' || (this.#state === 'ServerCallConnectedPending' && isPppControlFrame(frame));
    if (!allowed) return this.#drop('ppp-frame-out-of-state');
    if (frame.length > MAX_DATA_LENGTH) return this.#drop('ppp-frame-too-long');
    this.#send(encodeDataPacket(frame));
  }

  /** §3.3.4 via §3.2.4.2: Call Disconnect with a NO_ERROR Status Info (Windows always adds one, <4>). */
  #disconnect(): void {
    if (WINDING_DOWN.has(this.#state)) return;
    this.#setState('CallDisconnectInProgress1', 'disconnect requested');
    this.#send(encodeControlPacket(MessageType.CALL_DISCONNECT, [encodeStatusInfo({ attribId: AttributeId.NO_ERROR, status: AttribStatus.NO_ERROR })]));
    this.#timerAt = this.#now + this.#timers.disconnect1Ms;
    this.#setState('CallDisconnectAckPending', 'Call Disconnect sent');
  }

  #onTimeout(): void {
    if (this.#timerAt === undefined || this.#now < this.#timerAt) return;
    const seconds = (ms: number) => `${ms / 1000} s`;
    switch (this.#state) {
      case 'ServerConnectRequestPending': return this.#abort(`no Call Connect Request within ${seconds(this.#timers.negotiationMs)}`, AttribStatus.NEGOTIATION_TIMEOUT);
      case 'ServerCallConnectedPending': return this.#abort(`no ${this.#held ? 'PPP authentication' : 'Call Connected'} within ${seconds(this.#timers.negotiationMs)}`, AttribStatus.NEGOTIATION_TIMEOUT);
      case 'ServerCallConnected': return this.#onHelloTimer();
      case 'CallAbortPending': return this.#close('no Call Abort came back (§3.1.6.1)');
      case 'CallDisconnectAckPending': return this.#close('no Call Disconnect Ack came back (§3.1.6.2)');
      // The peer's Call Disconnect, acknowledged (§3.3.5.2.5): the client hung up (RADIUS: User-Request).
      case 'CallDisconnectTimeoutPending': return this.#close('the client hung up (Call Disconnect)');
      default:
        return this.#close(this.#state === 'CallAbortTimeoutPending' ? 'Call Abort completed' : 'Call Disconnect completed');
    }
  }

  /** §3.1.2.3: an Echo Request when idle; no answer within another interval ends the call without a Call Abort. */
  #onHelloTimer(): void {
    if (this.#echoPending) return this.#abortSilently(`no answer to an Echo Request within ${this.#timers.helloMs / 1000} s`, AttribStatus.NEGOTIATION_TIMEOUT);
    this.#send(encodeControlPacket(MessageType.ECHO_REQUEST));
    this.#echoPending = true;
    this.#timerAt = this.#now + this.#timers.helloMs;
  }

  #restartHello(): void {
    this.#echoPending = false;
    this.#timerAt = this.#now + this.#timers.helloMs;
  }

  /** §3.1.5.1 for an invalid message, unless we are already winding down (then it is ignored). */
  #invalid(reason: string, status: number): void {
    if (!this.#ignored()) this.#abort(reason, status);
  }

  #ignored(): boolean {
    if (!WINDING_DOWN.has(this.#state)) return false;
    this.#drop('ignored-while-closing');
    return true;
  }

  /** §3.1.5.1: Call Abort with one Status Info (Windows always sends one, <3>), then wait 3 s for theirs. */
  #abort(reason: string, status: number, attribId: number = AttributeId.STATUS_INFO): void {
    this.#setState('CallAbortInProgress1', reason);
    this.#send(encodeControlPacket(MessageType.CALL_ABORT, [encodeStatusInfo({ attribId, status })]));
    this.#timerAt = this.#now + this.#timers.abort1Ms;
    this.#setState('CallAbortPending', 'Call Abort sent');
    (this.#actions ??= []).push({ type: 'abort', reason, status });
    this.#log('warn', `SSTP call aborted: ${reason}`, { status: statusName(status) });
  }

  #abortSilently(reason: string, status: number): void {
    (this.#actions ??= []).push({ type: 'abort', reason, status });
    this.#log('warn', `SSTP call aborted: ${reason}`, { status: statusName(status) });
    this.#close(reason);
  }

  #close(reason: string): void {
    this.#setState('ServerCallDisconnected', reason);
    this.#timerAt = undefined;
    this.#nonce = undefined;
    this.#hlak = undefined;
    this.#held = undefined;
    (this.#actions ??= []).push({ type: 'close', reason });
  }

  /** The one place the state changes (STYLE.md): refuses moves the spec does not have, logs each. */
  #setState(next: SstpState, why: string): void {
    const from = this.#state;
    if (next !== 'ServerCallDisconnected' && !MOVES[from].includes(next)) throw new Error(`SSTP: illegal move ${from} -> ${next} (${why})`);
    this.#state = next;
    this.#log('debug', `SSTP ${from} -> ${next}: ${why}`);
  }

  #send(packet: Uint8Array): void {
    (this.#actions ??= []).push({ type: 'send', packet });
  }

  #drop(reason: string): void {
    this.#drops = countInto(this.#drops, reason);
  }

  #log(level: 'debug' | 'info' | 'warn', msg: string, fields?: Record<string, unknown>): void {
    (this.#actions ??= []).push(fields ? { type: 'log', level, msg, fields } : { type: 'log', level, msg });
  }
}
