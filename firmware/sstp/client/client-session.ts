/*
 * The client side of one SSTP call ([MS-SSTP] §3.2), sans-I/O, for Postern dialling another gateway
 * and for load generation:
 *
 *   (HTTP 200) --send Call Connect Request--> ClientConnectRequestSent (negotiation timer)
 *     --Call Connect Ack (nonce, hash protocols)--> ClientConnectAckReceived, start PPP
 *     --PPP authenticated (HLAK)--> send Call Connected (crypto binding) --> ClientCallConnected
 *   Call Connect NAK: ask again, at most 3 times. Echo, Call Disconnect and Call Abort as §3.1.
 */
import type { Secret } from '../../util/secret.ts';
import { decodeCryptoBindingRequest, encodeEncapsulatedProtocolId, encodeStatusInfo } from '../attributes.ts';
import { encodeCallConnected, hlakFrom } from '../crypto-binding.ts';
import { AttribStatus, AttributeId, decodeSstpPacket, encodeControlPacket, encodeDataPacket, HashProtocol, isPppControlFrame, MAX_DATA_LENGTH, MessageType, messageTypeName, SstpFramer, type SstpControlPacket } from '../packet.ts';

export type SstpClientState =
  | 'ClientConnectRequestSent' | 'ClientConnectAckReceived' | 'ClientCallConnected'
  | 'CallAbortPending' | 'CallDisconnectAckPending' | 'CallDisconnectTimeoutPending' | 'ClientCallDisconnected';

export interface SstpClientOptions {
  /** SHA-256 and SHA-1 of the certificate the server's TLS presented. */
  readonly certHash256: Uint8Array;
  readonly certHash1: Uint8Array;
  readonly negotiationMs?: number;
  readonly helloMs?: number;
  readonly maxRequests?: number;
}

export type SstpClientEvent =
  | { readonly type: 'RcvStream'; readonly bytes: Uint8Array }
  | { readonly type: 'RcvPppAuthenticated'; readonly hlak?: Secret<Uint8Array> }
  | { readonly type: 'CmdSendPpp'; readonly frame: Uint8Array }
  | { readonly type: 'CmdDisconnect' }
  | { readonly type: 'RcvLowerLayerDown' }
  | { readonly type: 'Timeout' };

export type SstpClientAction =
  | { readonly type: 'send'; readonly packet: Uint8Array }
  | { readonly type: 'deliver-ppp'; readonly frame: Uint8Array }
  | { readonly type: 'start-ppp' }
  | { readonly type: 'connected'; readonly hashProtocol: HashProtocol }
  | { readonly type: 'close'; readonly reason: string }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn'; readonly msg: string };

export class SstpClientSession {
  readonly drops: Record<string, number> = {};
  readonly #o: SstpClientOptions;
  readonly #framer = new SstpFramer();
  #state: SstpClientState = 'ClientConnectRequestSent';
  #timerAt: number | undefined;
  #requests = 0;
  #nonce: Uint8Array | undefined;
  #hashes = 0;
  #echoPending = false;
  #now: number;
  #out: SstpClientAction[] = [];

  /** Created once the HTTP exchange succeeded: the Call Connect Request goes out at once. */
  constructor(options: SstpClientOptions, now: number) {
    this.#o = options;
    this.#now = now;
    this.#request();
  }

  get state(): SstpClientState {
    return this.#state;
  }

  /** The Call Connect Request written by the constructor, and anything since. */
  drain(): SstpClientAction[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  nextTimeout(): number | undefined {
    return this.#state === 'ClientCallDisconnected' ? undefined : this.#timerAt;
  }

  handle(event: SstpClientEvent, now: number): SstpClientAction[] {
    this.#now = now;
    if (this.#state !== 'ClientCallDisconnected') this.#dispatch(event);
    return this.drain();
  }

  #dispatch(event: SstpClientEvent): void {
    switch (event.type) {
      case 'RcvStream': return this.#onStream(event.bytes);
      case 'RcvPppAuthenticated': return this.#onAuthenticated(event.hlak);
      case 'CmdSendPpp': return this.#sendPpp(event.frame);
      case 'CmdDisconnect': return this.#disconnect();
      case 'RcvLowerLayerDown': return this.#close('the HTTPS connection closed');
      case 'Timeout': return this.#onTimeout();
    }
  }

  #onStream(bytes: Uint8Array): void {
    const { packets, error } = this.#framer.push(bytes);
    for (const p of packets) if (this.#state !== 'ClientCallDisconnected') this.#onPacket(p);
    if (error && this.#state !== 'ClientCallDisconnected') this.#close(`SSTP framing lost: ${error.message}`);
  }

  #onPacket(bytes: Uint8Array): void {
    const decoded = decodeSstpPacket(bytes);
    if (!decoded.ok) return this.#abort(`malformed SSTP packet: ${decoded.error.message}`, AttribStatus.INVALID_FRAME_RECEIVED);
    if (this.#state === 'ClientCallConnected') this.#restartHello();
    const packet = decoded.value;
    if (packet.kind === 'data') {
      const allowed = this.#state === 'ClientCallConnected' || (this.#state === 'ClientConnectAckReceived' && isPppControlFrame(packet.data));
      if (allowed) this.#out.push({ type: 'deliver-ppp', frame: packet.data });
      else this.#drop('data packet out of state');
      return;
    }
    this.#onControl(packet);
  }

  #onControl(packet: SstpControlPacket): void {
    switch (packet.messageType) {
      case MessageType.CALL_CONNECT_ACK: return this.#onAck(packet);
      case MessageType.CALL_CONNECT_NAK: return this.#onNak();
      case MessageType.ECHO_REQUEST:
        if (this.#state === 'ClientCallConnected') this.#send(encodeControlPacket(MessageType.ECHO_RESPONSE));
        return;
      case MessageType.ECHO_RESPONSE:
        this.#echoPending = false;
        return;
      case MessageType.CALL_DISCONNECT:
        this.#send(encodeControlPacket(MessageType.CALL_DISCONNECT_ACK));
        this.#setState('CallDisconnectTimeoutPending', 'the server disconnects');
        this.#timerAt = this.#now + 1000;
        return;
      case MessageType.CALL_DISCONNECT_ACK:
        if (this.#state === 'CallDisconnectAckPending') return this.#close('Call Disconnect acknowledged');
        return this.#drop('unexpected Call Disconnect Ack');
      case MessageType.CALL_ABORT:
        if (this.#state !== 'CallAbortPending') this.#send(encodeControlPacket(MessageType.CALL_ABORT));
        return this.#close('the server aborted the call');
      default:
        return this.#abort(`${messageTypeName(packet.messageType)} is not for clients`, AttribStatus.UNACCEPTED_FRAME_RECEIVED);
    }
  }

  /** §3.2.5.2.1: the Ack carries the nonce and the hash protocols the server accepts for the binding. */
  #onAck(packet: SstpControlPacket): void {
    if (this.#state !== 'ClientConnectRequestSent') return this.#abort('Call Connect Ack out of turn', AttribStatus.UNACCEPTED_FRAME_RECEIVED);
    const attribute = packet.attributes.find((a) => a.attributeId === AttributeId.CRYPTO_BINDING_REQ);
    const request = attribute ? decodeCryptoBindingRequest(attribute.value) : undefined;
    if (!request?.ok) return this.#abort('Call Connect Ack without a valid Crypto Binding Request', AttribStatus.ATTRIB_NOT_SUPPORTED_IN_MSG);
    this.#nonce = Uint8Array.from(request.value.nonce);
    this.#hashes = request.value.hashProtocolBitmask;
    this.#setState('ClientConnectAckReceived', 'Call Connect Ack');
    this.#timerAt = this.#now + (this.#o.negotiationMs ?? 60_000);
    this.#out.push({ type: 'start-ppp' });
  }

  #onNak(): void {
    if (this.#state !== 'ClientConnectRequestSent') return this.#drop('NAK out of turn');
    if (this.#requests >= (this.#o.maxRequests ?? 3)) return this.#abort(`Call Connect Request refused ${this.#requests} times`, AttribStatus.RETRY_COUNT_EXCEEDED);
    this.#request();
  }

  /** §3.2.5.2.3: PPP authenticated us: bind the call to the TLS channel with the strongest hash offered. */
  #onAuthenticated(hlak: Secret<Uint8Array> | undefined): void {
    if (this.#state !== 'ClientConnectAckReceived' || !this.#nonce) return this.#drop('authenticated out of state');
    const hashProtocol = this.#hashes & HashProtocol.SHA256 ? HashProtocol.SHA256 : HashProtocol.SHA1;
    const certHash = hashProtocol === HashProtocol.SHA256 ? this.#o.certHash256 : this.#o.certHash1;
    this.#send(encodeCallConnected({ hashProtocol, nonce: this.#nonce, certHash, hlak: hlakFrom(hlak?.reveal()) }));
    this.#nonce = undefined;
    this.#setState('ClientCallConnected', 'Call Connected sent');
    this.#restartHello();
    this.#out.push({ type: 'connected', hashProtocol });
  }

  #sendPpp(frame: Uint8Array): void {
    const allowed = this.#state === 'ClientCallConnected' || (this.#state === 'ClientConnectAckReceived' && isPppControlFrame(frame));
    if (!allowed) return this.#drop('PPP frame out of state');
    if (frame.length > MAX_DATA_LENGTH) return this.#drop('PPP frame too long');
    this.#send(encodeDataPacket(frame));
  }

  #disconnect(): void {
    if (this.#state === 'CallDisconnectAckPending' || this.#state === 'CallAbortPending') return;
    this.#send(encodeControlPacket(MessageType.CALL_DISCONNECT, [encodeStatusInfo({ attribId: AttributeId.NO_ERROR, status: AttribStatus.NO_ERROR })]));
    this.#setState('CallDisconnectAckPending', 'disconnect requested');
    this.#timerAt = this.#now + 5000;
  }

  #onTimeout(): void {
    if (this.#timerAt === undefined || this.#now < this.#timerAt) return;
    switch (this.#state) {
      case 'ClientConnectRequestSent':
      case 'ClientConnectAckReceived':
        return this.#abort('negotiation timed out', AttribStatus.NEGOTIATION_TIMEOUT);
      case 'ClientCallConnected':
        if (this.#echoPending) return this.#close('no answer to an Echo Request');
        this.#send(encodeControlPacket(MessageType.ECHO_REQUEST));
        this.#echoPending = true;
        this.#timerAt = this.#now + (this.#o.helloMs ?? 60_000);
        return;
      default:
        return this.#close(this.#state === 'CallAbortPending' ? 'Call Abort completed' : 'Call Disconnect completed');
    }
  }

  #request(): void {
    this.#requests++;
    this.#send(encodeControlPacket(MessageType.CALL_CONNECT_REQUEST, [encodeEncapsulatedProtocolId()]));
    this.#timerAt = this.#now + (this.#o.negotiationMs ?? 60_000);
  }

  #restartHello(): void {
    this.#echoPending = false;
    this.#timerAt = this.#now + (this.#o.helloMs ?? 60_000);
  }

  #abort(reason: string, status: number): void {
    this.#send(encodeControlPacket(MessageType.CALL_ABORT, [encodeStatusInfo({ attribId: AttributeId.STATUS_INFO, status })]));
    this.#setState('CallAbortPending', reason);
    this.#timerAt = this.#now + 3000;
    this.#out.push({ type: 'log', level: 'warn', msg: `SSTP call aborted: ${reason}` });
  }

  #close(reason: string): void {
    this.#setState('ClientCallDisconnected', reason);
    this.#timerAt = undefined;
    this.#out.push({ type: 'close', reason });
  }

  #setState(next: SstpClientState, why: string): void {
    const from = this.#state;
    this.#state = next;
    this.#out.push({ type: 'log', level: 'debug', msg: `SSTP client ${from} -> ${next}: ${why}` });
  }

  #send(packet: Uint8Array): void {
    this.#out.push({ type: 'send', packet });
  }

  #drop(reason: string): void {
    this.drops[reason] = (this.drops[reason] ?? 0) + 1;
  }
}
