import type { IkePayload } from '../message.ts';
import type { RevocationChecker } from '../../revocation/revocation-policy.ts';
import type { UserLookup } from '../../auth/eap/mschapv2-server.ts';
import type { Mschapv2Verifier } from '../../auth/mschapv2-verifier.ts';
import type { EapRadius } from '../../auth/eap/eap-radius-relay.ts';
import type { RadiusAttribute } from '../../radius/packet.ts';

export interface EapRadiusPeer {
  readonly radius: EapRadius;
  readonly nas: readonly RadiusAttribute[];
}
import type { LogLevel } from '../../log/logger.ts';
import { defaultCookieOptions, type CookieOptions } from './cookies.ts';
import type { IkeSa, PendingRequest } from './ike-sa.ts';
import type { Endpoint, IkeAction, IkeConnection, IkeCryptoProvider, VirtualAddressProvider } from './types.ts';

export interface EngineOptions {
  /** First retransmission after this long, doubling each time (RFC 7296 §2.1). */
  readonly retransmitBaseMs: number;
  readonly retransmitTries: number;
  /** A responder SA that never completes IKE_AUTH is dropped after this long. */
  readonly halfOpenTimeoutMs: number;
  readonly nonceLength: number;
  readonly cookies: CookieOptions;
  /** Protected messages longer than this are sent as RFC 7383 fragments, when both sides support it. */
  readonly fragmentSize: number;
  /**
   * The lowest level of log action made (the shell's logger drops the rest): lines below it are not
   * even built. Absent: all, debug included.
   */
  readonly logLevel?: LogLevel;
  /** Virtual addresses for connections with a pool (remote access). */
  readonly addresses?: VirtualAddressProvider;
  /** The local users, for EAP-MSCHAPv2. */
  readonly users?: UserLookup;
  /**
   * Who checks EAP-MSCHAPv2 Responses for a peer at this address (issue 21; RADIUS sends it as
   * Calling-Station-Id): RADIUS, or RADIUS then local; the local users when absent. A verdict that
   * comes later holds the IKE_AUTH request; `onEapVerdict` then asks the shell to call `resumeEap`,
   * which answers it.
   */
  readonly mschapv2?: (peerAddress: string) => Mschapv2Verifier;
  /** EAP passed through to RADIUS instead (issue 21): the client and this peer's NAS attributes. */
  readonly eapRadius?: (peerAddress: string) => EapRadiusPeer;
  readonly onEapVerdict?: () => void;
  /** Calendar time for certificate validity (the engine's own clock may be simulated). */
  readonly wallClock?: () => Date;
  /**
   * Revocation of peers' certificates (issue 16), answered synchronously from the shell's cache.
   * Without it certificates are not checked for revocation.
   */
  readonly revocation?: RevocationChecker;
}

export const defaultEngineOptions: EngineOptions = { retransmitBaseMs: 2000, retransmitTries: 5, halfOpenTimeoutMs: 30_000, nonceLength: 32, cookies: defaultCookieOptions, fragmentSize: 1280 };

/** What the exchanges may ask of the engine; the engine implements it (tasks stay free of tables and I/O). */
export interface EngineContext {
  readonly now: number;
  readonly crypto: IkeCryptoProvider;
  readonly options: EngineOptions;
  readonly addresses: VirtualAddressProvider | undefined;
  readonly users: UserLookup | undefined;
  readonly mschapv2: ((peerAddress: string) => Mschapv2Verifier) | undefined;
  readonly eapRadius: ((peerAddress: string) => EapRadiusPeer) | undefined;
  readonly onEapVerdict: (() => void) | undefined;
  wallClock(): Date;
  emit(action: IkeAction): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
  sendRequest(sa: IkeSa, exchange: number, payloads: IkePayload[], purpose: PendingRequest['purpose']): void;
  sendResponse(sa: IkeSa, exchange: number, messageId: number, payloads: IkePayload[]): void;
  allocateChildSpi(): number;
  newIkeSpi(): bigint;
  /** Registers an IKE SA made by a rekey (§1.3.2). */
  adopt(sa: IkeSa): void;
  /** The connection that accepts a peer with this ID from this address (IKE_AUTH, §2.15). */
  connectionFor(remoteId: string, remote: Endpoint): IkeConnection | undefined;
  close(sa: IkeSa, reason: string): void;
  /**
   * Leaves a request unanswered, as if it never came: its message ID stays expected, so the peer's
   * retransmission is handled afresh (a hard-fail revocation check waiting for its fetch).
   */
  holdRequest(sa: IkeSa): void;
  /** Deletes the IKE SA with this SPIi with the peer, once a replacement is up (§2.8.3). */
  retire(spiI: bigint, why: string): void;
  /** Ends a duplicate IKE SA at once: a delete sent once (the peer may have forgotten it), children gone. */
  replace(sa: IkeSa, why: string): void;
  /** Other established SAs of the same connection and peer identity (INITIAL_CONTACT, §3.10.1). */
  sameIdentity(sa: IkeSa): IkeSa[];
}
