import type { X509Certificate } from 'node:crypto';
import type { DhExchange } from '../../ike/crypto/dh.ts';
import type { PrfAlgorithm } from '../../ike/crypto/transforms.ts';
import type { ChildSaInfo, Endpoint, IkeConnection } from '../../ike/engine/types.ts';
import type { Phase1Cipher } from '../crypto/algorithms.ts';
import type { Phase1Keys } from '../crypto/keys.ts';
import type { Identification } from '../payloads/identification.ts';
import type { SaPayload } from '../payloads/sa.ts';
import type { Phase1Choice, Phase2Choice } from './proposals.ts';

/**
 * An ISAKMP SA (RFC 2408 §2.4, RFC 2409 §5): Main Mode from the first message to established,
 * then the Quick Modes and informational exchanges it protects. Every state change goes through
 * `setState` (STYLE.md: one transition choke point). Main Mode messages are numbered 1..6:
 * `mm1` initiator sent 1, `mm2` responder sent 2, and so on.
 */
export type Phase1State = 'mm1' | 'mm2' | 'mm3' | 'mm4' | 'mm5' | 'am1' | 'am2' | 'established' | 'closed';

const MOVES: Record<Phase1State, readonly Phase1State[]> = {
  mm1: ['mm3', 'closed'],
  mm2: ['mm4', 'closed'],
  mm3: ['mm5', 'closed'],
  mm4: ['established', 'closed'],
  mm5: ['established', 'closed'],
  /** Aggressive Mode: the initiator sent 1, the responder sent 2 (aggressive-mode.ts). */
  am1: ['established', 'closed'],
  am2: ['established', 'closed'],
  established: ['closed'],
  closed: [],
};

/** A message of ours that waits for an answer, resent with backoff until it comes. */
export interface Retransmit {
  readonly packet: Uint8Array;
  readonly firstSent: number;
  sentAt: number;
  tries: number;
}

/** What phase 1 negotiated and derived. */
export interface Phase1Crypto {
  readonly choice: Phase1Choice;
  readonly prf: PrfAlgorithm;
  readonly cipher: Phase1Cipher;
  keys?: Phase1Keys;
}

export type QuickModeState = 'qm1' | 'qm2' | 'done';

/** One Quick Mode exchange, by message ID (RFC 2409 §5.5). */
export interface QuickMode {
  readonly messageId: number;
  readonly initiator: boolean;
  state: QuickModeState;
  /** The exchange's CBC chain (Appendix B). */
  iv: Uint8Array;
  ni: Uint8Array;
  nr: Uint8Array;
  /** Our inbound SPI. */
  readonly spi: number;
  /** Initiator: what we offered. */
  offer?: SaPayload;
  choice?: Phase2Choice;
  dh?: DhExchange | undefined;
  idci?: Identification;
  idcr?: Identification;
  /** The child, made at QM2 (initiator) or QM3 (responder). */
  child?: ChildSaInfo;
  retransmit?: Retransmit | undefined;
  /** A rekey: the child this one replaces. */
  replaces?: ChildSaInfo;
  /** The peer set the commit bit: the child goes in on its N(CONNECTED) (quick-mode.ts). */
  awaitingConnected?: boolean;
}

export const placeOf = (connection: string, address: string): string => [connection, address].join('\0');

export class Phase1Sa {
  state: Phase1State;
  readonly initiator: boolean;
  readonly ckyI: bigint;
  ckyR: bigint;
  local: Endpoint;
  #remote: Endpoint;
  #connection: IkeConnection | undefined = undefined;
  /**
   * Told when the peer's address or the connection changes, with the place it had: the engine keeps
   * its SAs by both (`others`, issue 23).
   */
  moved: ((sa: Phase1Sa, before: string) => void) | undefined;
  /** When the engine took it in, counted: `others` lists SAs in that order, whatever moved since. */
  added = 0;
  remoteId = '';
  /** The certificate the peer signed with and its issuer, for revocation checks of the live SA (issue 16). */
  peerCertificate: { readonly certificate: X509Certificate; readonly issuer: X509Certificate; readonly chain?: ReadonlyArray<{ readonly certificate: X509Certificate; readonly issuer: X509Certificate }> } | undefined;
  /** The initiator's SA payload body (SAi_b in HASH_I and HASH_R). */
  saiB: Uint8Array = new Uint8Array();
  offer: SaPayload | undefined;
  crypto: Phase1Crypto | undefined;
  dh: DhExchange | undefined;
  gxi: Uint8Array = new Uint8Array();
  gxr: Uint8Array = new Uint8Array();
  ni: Uint8Array = new Uint8Array();
  nr: Uint8Array = new Uint8Array();
  /** The phase 1 CBC chain; once established, the last block of message 6 (phase 2 IVs start from it). */
  iv: Uint8Array = new Uint8Array();
  /** The peer's NAT-T dialect from its vendor IDs (RFC 3947 or the drafts). */
  nat: 'rfc' | 'draft' | 'none' = 'none';
  natLocal = false;
  natRemote = false;
  peerDpd = false;
  /** The peer takes IKE fragments (its FRAGMENTATION vendor ID, or fragments it sent). */
  peerFragmentation = false;
  /** Aggressive Mode: the initiator's ID payload body (IDii_b in HASH_I). */
  aggressiveIdB: Uint8Array | undefined;
  /** RFC 3706 §5.1: our last R-U-THERE sequence number, and the check in flight. */
  dpdSequence = 0;
  dpdPending: { firstAt: number; sentAt: number; tries: number } | undefined;
  retransmit: Retransmit | undefined;
  /** Main Mode messages 5/6 that did not decrypt (wrong PSK or a damaged packet): dropped and counted. */
  undecryptable = 0;
  /** Our answers by the hash of the message they answered: a duplicate gets the same answer again. */
  readonly answers = new Map<string, Uint8Array>();
  readonly quickModes = new Map<number, QuickMode>();
  readonly children: ChildSaInfo[] = [];
  /** When each child (by inbound SPI) was made, for rekeying by lifetime. */
  readonly childBorn = new Map<number, number>();
  /** Each child's selectors as its Quick Mode named them (ours first), to rekey it with the same. */
  /** Rekeyed children the peer has not deleted yet, by inbound SPI: when we retire them ourselves. */
  readonly retiring = new Map<number, number>();
  readonly childSelectors = new Map<number, { readonly local: Identification; readonly remote: Identification }>();
  readonly history: string[] = [];
  /** Lifetimes (lifetimes.ts): a child's negotiated seconds by inbound SPI; the peer's RESPONDER-LIFETIME for phase 1. */
  readonly childLife = new Map<number, number>();
  peerLifeSeconds: number | undefined;
  /** Phase 1 renewal: the new SA being made to replace this one; the one that did; when this one is deleted. */
  successor: bigint | undefined;
  /** The other way: the SA this one is being made to replace (its close finds that one directly, issue 23). */
  renewing: bigint | undefined;
  replacedBy: bigint | undefined;
  retireAt: number | undefined;
  /** The peer deleted this ISAKMP SA but its children run on, waiting for its new one (lifetimes.ts). */
  parkedAt: number | undefined;
  /** The deadline the engine's timer heap holds for this SA (at or before its next one); undefined when none. */
  wakeAt: number | undefined;
  readonly createdAt: number;
  establishedAt = 0;
  lastHeard: number;

  constructor(initiator: boolean, ckyI: bigint, ckyR: bigint, local: Endpoint, remote: Endpoint, now: number, state: Phase1State) {
    this.initiator = initiator;
    this.ckyI = ckyI;
    this.ckyR = ckyR;
    this.local = local;
    this.#remote = remote;
    this.createdAt = now;
    this.lastHeard = now;
    this.state = state;
  }

  get remote(): Endpoint {
    return this.#remote;
  }

  set remote(to: Endpoint) {
    const before = this.place;
    this.#remote = to;
    if (this.place !== before) this.moved?.(this, before);
  }

  get connection(): IkeConnection | undefined {
    return this.#connection;
  }

  set connection(to: IkeConnection | undefined) {
    const before = this.place;
    this.#connection = to;
    if (this.place !== before) this.moved?.(this, before);
  }

  /** The connection's name and the peer's address: SAs that may replace one another share it. */
  get place(): string {
    return placeOf(this.#connection?.name ?? '', this.#remote.address);
  }

  get natDetected(): boolean {
    return this.natLocal || this.natRemote;
  }

  setState(next: Phase1State, why: string): void {
    if (!MOVES[this.state].includes(next)) throw new Error(`ISAKMP SA ${this.ckyI.toString(16)}: illegal move ${this.state} -> ${next} (${why})`);
    this.history.push(`${this.state} -> ${next}: ${why}`);
    this.state = next;
  }

  /**
   * Remembers a message handled and our answer to it (empty when none was due); only the last few
   * are kept (a peer retransmits its last message).
   */
  remember(requestHash: string, answer: Uint8Array): void {
    this.answers.set(requestHash, answer);
    if (this.answers.size > 8) this.answers.delete(this.answers.keys().next().value as string);
  }
}
