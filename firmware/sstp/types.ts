/*
 * The vocabulary of the SSTP server engine (session.ts): its states ([MS-SSTP] §3.1.1, §3.3.1),
 * timers (§3.1.2, §3.3.2), options, the events it takes and the actions it asks of its shell.
 */
import type { Secret } from '../util/secret.ts';

export type SstpState =
  | 'ServerCallDisconnected' | 'ServerConnectRequestPending' | 'ServerCallConnectedPending' | 'ServerCallConnected'
  | 'CallAbortInProgress1' | 'CallAbortInProgress2' | 'CallAbortPending' | 'CallAbortTimeoutPending'
  | 'CallDisconnectInProgress1' | 'CallDisconnectInProgress2' | 'CallDisconnectAckPending' | 'CallDisconnectTimeoutPending';

/** §3.3.2.1 negotiation (Windows: 60 s for each wait, <12>), §3.1.2.1 abort, §3.1.2.2 disconnect, §3.1.2.3 Hello. */
export interface SstpTimers {
  readonly negotiationMs: number;
  readonly helloMs: number;
  readonly abort1Ms: number;
  readonly abort2Ms: number;
  readonly disconnect1Ms: number;
  readonly disconnect2Ms: number;
}
export const defaultSstpTimers: SstpTimers = { negotiationMs: 60_000, helloMs: 60_000, abort1Ms: 3_000, abort2Ms: 1_000, disconnect1Ms: 5_000, disconnect2Ms: 1_000 };

export interface SstpSessionOptions {
  /** Injected randomness for the 32-byte nonce of the Call Connect Ack. */
  readonly randomBytes: (n: number) => Uint8Array;
  /** SHA-256 and SHA-1 of the DER certificate our TLS layer presents (ServerCertificateHash, §3.3.1). */
  readonly certHash256: Uint8Array;
  readonly certHash1: Uint8Array;
  /** ServerHashProtocolSupported: SHA256 | SHA1 unless configured otherwise. */
  readonly hashProtocols?: number;
  /** Call Connect NAKs before the call is aborted (§3.3.5.2.2; Windows allows 3, <16>). */
  readonly maxNaks?: number;
  readonly timers?: Partial<SstpTimers>;
}

export type SstpEvent =
  /** Decrypted bytes from the TLS stream, after the HTTP request head. */
  | { readonly type: 'RcvStream'; readonly bytes: Uint8Array }
  /** One whole SSTP packet (when the shell frames the stream itself). */
  | { readonly type: 'RcvPacket'; readonly packet: Uint8Array }
  /** §3.3.7.1 Inner Authentication Completed: the HLAK, or none when the method makes no keys. */
  | { readonly type: 'RcvPppAuthenticated'; readonly hlak?: Secret<Uint8Array> }
  /** A PPP frame the PPP layer wants sent (§3.3.7.1). */
  | { readonly type: 'CmdSendPpp'; readonly frame: Uint8Array }
  /** The management layer ends the call (§3.3.4). */
  | { readonly type: 'CmdDisconnect' }
  /** The HTTPS connection is gone (§3.1.7.2): clean up at once, nothing on the wire. */
  | { readonly type: 'RcvLowerLayerDown' }
  /** Time passed; due timers fire. */
  | { readonly type: 'Timeout' };

export type SstpAction =
  | { readonly type: 'send'; readonly packet: Uint8Array }
  | { readonly type: 'deliver-ppp'; readonly frame: Uint8Array }
  /** §3.1.7.1 Lower Link Up: start the PPP automaton. */
  | { readonly type: 'start-ppp' }
  /** We are aborting the call (a Call Abort went out, unless the stream itself failed). */
  | { readonly type: 'abort'; readonly reason: string; readonly status: number }
  /** The call is over: close the TLS connection and tell PPP its lower link is down. Always last. */
  | { readonly type: 'close'; readonly reason: string }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn'; readonly msg: string; readonly fields?: Record<string, unknown> };
