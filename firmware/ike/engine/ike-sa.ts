import type { X509Certificate } from 'node:crypto';
import { onHost } from './transport-nat.ts';
import type { SessionAuthorization } from '../../radius/session-authorization.ts';
import type { DhExchange } from '../crypto/dh.ts';
import type { IkeSaKeys } from '../crypto/key-derivation.ts';
import type { SkKeys } from '../crypto/sk-cipher.ts';
import type { CipherSuite, PrfAlgorithm } from '../crypto/transforms.ts';
import type { EapMschapv2Client } from '../../auth/eap/mschapv2-client.ts';
import type { EapServer } from '../../auth/eap/eap-server.ts';
import type { IkePayload } from '../message.ts';
import { FragmentReassembler } from '../fragmentation.ts';
import type { IdPayload } from '../payloads/identity.ts';
import type { Proposal } from '../payloads/sa.ts';
import type { ChildSaInfo, Endpoint, IkeConnection, VirtualAddress } from './types.ts';

/**
 * RFC 7296 §2: an IKE SA from first message to delete. Every state change goes through
 * `setState`, which refuses moves that cannot happen (STYLE.md: one transition choke point).
 */
export type IkeSaState = 'init-sent' | 'init-done' | 'auth-sent' | 'eap' | 'established' | 'deleting' | 'closed';

const MOVES: Record<IkeSaState, readonly IkeSaState[]> = {
  'init-sent': ['init-sent', 'init-done', 'closed'],
  'init-done': ['auth-sent', 'eap', 'established', 'closed'],
  'auth-sent': ['eap', 'established', 'closed'],
  eap: ['established', 'closed'],
  established: ['deleting', 'closed'],
  deleting: ['closed'],
  closed: [],
};

/** A request of ours waiting for its response (window size 1, §2.3). */
export interface PendingRequest {
  readonly messageId: number;
  readonly exchange: number;
  /** One message, or its fragments (RFC 7383), resent together. */
  readonly packets: readonly Uint8Array[];
  readonly firstSent: number;
  sentAt: number;
  tries: number;
  /** What the response completes; checked when it arrives. */
  readonly purpose: 'ike-init' | 'ike-auth' | 'dpd' | 'delete-ike' | 'delete-child' | 'create-child' | 'rekey-ike' | 'mobike';
}

export interface NegotiatedCrypto {
  readonly prf: PrfAlgorithm;
  readonly suite: CipherSuite;
  readonly keys: IkeSaKeys;
  /** The proposal as chosen, for logs and for rekeying with the same transforms. */
  readonly proposal: Proposal;
}

export interface CreateChildState {
  readonly kind: 'child' | 'ike';
  readonly ni: Uint8Array;
  readonly dh: DhExchange | undefined;
  readonly proposals: readonly Proposal[];
  /** Child: our inbound SPI for the new SA; IKE: our new IKE SPI. */
  readonly spi: number;
  readonly newIkeSpi?: bigint;
  /** The child being rekeyed, if any. */
  readonly old?: ChildSaInfo;
  /** Our offer had DH NONE beside a group (PFS left to the responder). */
  readonly pfsOptional?: boolean;
}

export class IkeSa {
  state: IkeSaState;
  readonly initiator: boolean;
  readonly spiI: bigint;
  spiR = 0n;
  local: Endpoint;
  remote: Endpoint;
  connection: IkeConnection | undefined;
  /** The peer's authenticated ID, once known. */
  remoteId = '';
  /**
   * The certificate the peer authenticated with and its issuer, for revocation checks of live SAs
   * (issue 16); `chain`, when known, is the whole path (intermediate CAs too), leaf first.
   */
  peerCertificate: { readonly certificate: X509Certificate; readonly issuer: X509Certificate; readonly chain?: ReadonlyArray<{ readonly certificate: X509Certificate; readonly issuer: X509Certificate }> } | undefined;
  ni: Uint8Array = new Uint8Array();
  nr: Uint8Array = new Uint8Array();
  dh: DhExchange | undefined;
  crypto: NegotiatedCrypto | undefined;
  /** Responder: the chosen proposal and the peer's KE while `dh` computes the secret elsewhere (ike-init.ts completeKeys). */
  keysToDerive: { readonly proposal: Proposal; readonly peerKe: Uint8Array } | undefined;
  /** The IKE_SA_INIT messages as sent, signed over in IKE_AUTH (§2.15). */
  initRequest: Uint8Array = new Uint8Array();
  initResponse: Uint8Array = new Uint8Array();
  /** COOKIE from the responder, echoed first in the retried IKE_SA_INIT (§2.6). */
  cookie: Uint8Array | undefined;
  /** Hashes the peer accepts in RFC 7427 signatures (SIGNATURE_HASH_ALGORITHMS). */
  peerHashes: number[] = [];
  /** Both sides announced MOBIKE_SUPPORTED (RFC 4555 §3.2). */
  mobike = false;
  natLocal = false;
  natRemote = false;
  nextRequestId = 0;
  nextPeerRequestId = 0;
  pending: PendingRequest | undefined;
  /** Requests waiting for the window (size 1) to open. */
  readonly queued: Array<{ exchange: number; payloads: IkePayload[]; purpose: PendingRequest['purpose'] }> = [];
  /** Our last response, resent when the peer retransmits its request (§2.1). */
  lastResponse: { messageId: number; packets: readonly Uint8Array[] } | undefined;
  /** Both sides announced IKEV2_FRAGMENTATION_SUPPORTED (RFC 7383 §2.3). */
  fragmentation = false;
  #reassembler: FragmentReassembler | undefined;
  lastHeard: number;
  readonly children: ChildSaInfo[] = [];
  /** Children we asked the peer to delete, still in the data plane until it answers. */
  readonly childrenDeleting: ChildSaInfo[] = [];
  /** Child SA proposals and SPI kept between our IKE_AUTH request and its response. */
  childOffer: { spi: number; proposals: readonly Proposal[] } | undefined;
  /**
   * Each state change and why. Grown by copying into an array of the exact size, each line one flat
   * string: thousands of idle SAs keep it, and a pushed-to array reserves 17 slots (issue 23).
   */
  history: readonly string[] = [];
  /** When each child (by inbound SPI) was made, for rekeying by time. */
  readonly childBorn = new Map<number, number>();
  /** When this IKE SA was established. */
  establishedAt = 0;
  /** Our CREATE_CHILD_SA in flight: what we offered and the half-done keys (one at a time). */
  creating: CreateChildState | undefined;
  /** EAP in IKE_AUTH (§2.16): the method's state, the MSK once it succeeded, the first request. */
  /** `heldMessageId`: the IKE_AUTH request whose EAP verdict (RADIUS) is awaited, left unanswered until it comes. */
  eap: { server?: EapServer; method?: 'EAP-MSCHAPv2' | 'EAP through RADIUS'; client?: EapMschapv2Client; msk?: Buffer; authorization?: SessionAuthorization; firstRequest?: readonly IkePayload[]; peerIdr?: IdPayload; heldMessageId?: number } = {};
  /** Remote access: the virtual address given to the peer (responder) or to us (initiator). */
  virtualIp: { readonly pool: string; readonly identity: string; readonly address: VirtualAddress } | undefined;
  /** RADIUS Session-Timeout: when the engine deletes this SA, and the words for why (kept across IKE rekeys). */
  sessionEnds: { readonly at: number; readonly reason: string } | undefined;
  /** Why we asked the peer to delete the SA (a session timeout); the close says so when the delete ends. */
  deleteReason: string | undefined;
  /** Reauthentication (§2.8.3): the SA this one replaces, deleted once this one is up. */
  reauthOf: bigint | undefined;
  /** The peer refused an offer with optional PFS: children of this SA are offered without DH. */
  pfsDeclined = false;
  /** Set once the SA was replaced by a rekey: its close is not a connection going down. */
  rekeyedTo: bigint | undefined;
  /** The deadline the engine's timer heap holds for this SA (at or before its next one); undefined when none. */
  wakeAt: number | undefined;

  constructor(initiator: boolean, spiI: bigint, local: Endpoint, remote: Endpoint, now: number, state: IkeSaState) {
    this.initiator = initiator;
    this.spiI = spiI;
    this.local = local;
    this.remote = remote;
    this.lastHeard = now;
    this.state = state;
  }

  /** Made at the first fragment: most SAs never see one, and thousands of idle ones need not hold it (issue 23). */
  get reassembler(): FragmentReassembler {
    return (this.#reassembler ??= new FragmentReassembler());
  }

  /** Our SPI: how the peer's messages find this SA. */
  get mySpi(): bigint {
    return this.initiator ? this.spiI : this.spiR;
  }

  get natDetected(): boolean {
    return this.natLocal || this.natRemote;
  }

  setState(next: IkeSaState, why: string): void {
    if (!MOVES[this.state].includes(next)) throw new Error(`IKE SA ${this.spiI.toString(16)}: illegal move ${this.state} -> ${next} (${why})`);
    this.history = [...this.history, [this.state, ' -> ', next, ': ', why].join('')];
    this.state = next;
  }

  /** Keys for what we send and what we receive: SK_ei/SK_ai belong to the original initiator. */
  outboundKeys(): SkKeys {
    return this.skKeys(this.initiator);
  }

  inboundKeys(): SkKeys {
    return this.skKeys(!this.initiator);
  }

  private skKeys(initiatorSide: boolean): SkKeys {
    const c = this.crypto;
    if (!c) throw new Error('no keys before IKE_SA_INIT completes');
    const integrity = initiatorSide ? c.keys.skAi : c.keys.skAr;
    return { suite: c.suite, encryption: initiatorSide ? c.keys.skEi : c.keys.skEr, ...(c.suite.integ ? { integrity } : {}) };
  }
}

/** The selectors on each side of this SA's children: a virtual address replaces the configured ones. */
export function localTsOf(sa: IkeSa): readonly string[] {
  const conn = sa.connection!;
  if (conn.mode === 'transport' && conn.selectorsFollowSa) return conn.localTs.map((ts) => onHost(ts, sa.local.address));
  if (sa.initiator && sa.virtualIp) return hostPrefixes(sa.virtualIp.address);
  // Asking for addresses of both families, as strongSwan and Apple clients do; the gateway narrows.
  return sa.initiator && conn.requestVirtualIp ? ['0.0.0.0/0', '::/0'] : conn.localTs;
}

export function remoteTsOf(sa: IkeSa): readonly string[] {
  const conn = sa.connection!;
  if (conn.mode === 'transport' && conn.selectorsFollowSa) return conn.remoteTs.map((ts) => onHost(ts, sa.remote.address));
  return !sa.initiator && sa.virtualIp ? hostPrefixes(sa.virtualIp.address) : sa.connection!.remoteTs;
}

export function hostPrefixes(a: VirtualAddress): string[] {
  return [...(a.ipv4 ? [`${a.ipv4}/32`] : []), ...(a.ipv6 ? [`${a.ipv6}/128`] : [])];
}
