import type { Endpoint, IkeAction, IkeConnection, IkeCryptoProvider } from '../../ike/engine/types.ts';
import type { RevocationChecker } from '../../revocation/revocation-policy.ts';
import type { Phase1Sa, Retransmit } from './ikev1-sa.ts';

export interface Ikev1Options {
  /** First retransmission after this long, doubling each time. */
  readonly retransmitBaseMs: number;
  readonly retransmitTries: number;
  /** A Main Mode that is not established after this long is dropped. */
  readonly halfOpenTimeoutMs: number;
  /**
   * Main Mode responders not yet established, in all and per source address: above them a new
   * Main Mode is dropped (and counted), so a flood of message 1 never starves established peers.
   */
  readonly halfOpenLimit: number;
  readonly halfOpenPerSource: number;
  /** A child the peer rekeyed but did not delete is deleted by us after this long. */
  readonly rekeyedGraceMs: number;
  /**
   * The Quick Mode initiator of a rekey keeps the old child's inbound SA this long after QM3 (then
   * deletes it and sends the Delete): until the peer has processed QM3 it still sends on the old SA.
   */
  readonly rekeyDrainMs: number;
  /** Nonces of 8 to 256 bytes (RFC 2409 §5); 32 as strongSwan sends. */
  readonly nonceLength: number;
  /** Lifetimes offered when the connection names no rekey time (strongSwan's IKEv1 defaults). */
  readonly phase1LifeSeconds: number;
  readonly phase2LifeSeconds: number;
  /**
   * Messages longer than this (bytes of ISAKMP, before the non-ESP marker) go in fragments to a peer
   * that announced IKE fragmentation: strongSwan's 1280-byte IP datagram less IPv4, UDP and marker.
   */
  readonly fragmentSize: number;
  /** Revocation of peers' certificates (issue 16), answered from the shell's cache; absent: not checked. */
  readonly revocation?: RevocationChecker;
  /** Calendar time for certificate validity (tests set it); default the system clock. */
  readonly wallClock?: () => Date;
}

export const defaultIkev1Options: Ikev1Options = { retransmitBaseMs: 2000, retransmitTries: 5, halfOpenTimeoutMs: 30_000, halfOpenLimit: 1000, halfOpenPerSource: 16, rekeyedGraceMs: 30_000, rekeyDrainMs: 2_000, nonceLength: 32, phase1LifeSeconds: 10_800, phase2LifeSeconds: 3600, fragmentSize: 1248 };

/** Something that may wait for an answer: the SA (Main Mode) or one Quick Mode. */
export interface RetransmitHolder {
  retransmit?: Retransmit | undefined;
}

/** What the exchanges ask of the engine (they hold no tables and do no I/O). */
export interface Ikev1Context {
  readonly now: number;
  /** Calendar time, for certificate validity (the engine's own clock is monotonic). */
  wallClock(): Date;
  readonly crypto: IkeCryptoProvider;
  readonly options: Ikev1Options;
  emit(action: IkeAction): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
  /** Sends a message of ours; with `holder`, it is resent until the answer clears it. */
  send(sa: Phase1Sa, packet: Uint8Array, holder?: RetransmitHolder): void;
  /**
   * Sends the answer to the message being handled, and remembers it for that message's duplicates.
   * Only answers to requests are resent that way (messages 2, 4, 6, QM2, and QM3 which the QM
   * responder waits for); the next request of an initiator is resent by its own timer, so
   * duplicated responses never echo back and forth (strongSwan's IKEv1 task manager does the same).
   */
  reply(sa: Phase1Sa, packet: Uint8Array, holder?: RetransmitHolder): void;
  /** Responder: the connections whose PSK may be used with a peer at this address (Main Mode picks by address, RFC 2409 §5.4). */
  connectionsFor(remote: Endpoint): IkeConnection[];
  /** A fresh inbound ESP SPI (never below 256, RFC 4303 §2.1). */
  newSpi(): number;
  /** Closes an SA without telling the peer (it restarted and forgot it). */
  close(sa: Phase1Sa, reason: string): void;
  /** Other live ISAKMP SAs of the same connection with the same peer address (INITIAL-CONTACT). */
  others(sa: Phase1Sa): Phase1Sa[];
}
