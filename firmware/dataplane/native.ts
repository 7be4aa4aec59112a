import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ErrorCode, PosternError } from '../util/errors.ts';
import type { Secret } from '../util/secret.ts';
import { endpointHandles, type NativeEndpoint } from './native-endpoint.ts';
import { hubHandles, type NativeHub } from './native-hub.ts';
import type { EspSuite, SaLifetime } from './types.ts';

/** What drivers/napi exports (postern_dp.node). */
interface Addon {
  version(): string;
  abi: number;
  createSa(config: Record<string, unknown>): object | number;
  saEncrypt(handle: object, payload: Buffer, nextHeader: number, iv?: Buffer): Buffer | number;
  saDecrypt(handle: object, packet: Buffer): { payload: Buffer; nextHeader: number } | number;
  saCounters(handle: object): NativeSaCounters;
  saSetNextSeq(handle: object, seq: bigint): void;
  statusName(code: number): string;
  tunnelStart(config: Record<string, unknown>): { handle: object; name: string } | number;
  tunnelStop(handle: object): void;
  tunnelStats(handle: object): NativeTunnelStats | undefined;
  tunnelAddInbound(handle: object, sa: object): number;
  tunnelSetOutbound(handle: object, sa: object): number;
  tunnelRemoveInbound(handle: object, spi: number): boolean;
  tunnelRoute(handle: object, prefix: string): number;
  tunnelSetPeer(handle: object, address: string, port: number): number;
  /** Absent from drivers built before it (GRE sites then probe with ICMP). */
  tunnelSendGre?(handle: object, protocolType: number, payload: Uint8Array): number;
  /** Transport mode, L2TP/IPsec (issue 20); absent from drivers built before it. */
  tunnelDeliverUdp?(handle: object, port: number, tag: number): number;
  tunnelSendUdp?(handle: object, sourcePort: number, destinationPort: number, payload: Uint8Array): number;
  pppSessionAttach?(session: object, tunnel: object): number;
  pppSessionDetach?(session: object, tunnel: object): number;
}

export interface NativeTunnelStats {
  tunRx: bigint;
  netTx: bigint;
  netRx: bigint;
  tunTx: bigint;
  ikePackets: bigint;
  keepalives: bigint;
  keepalivesSent: bigint;
  dropDecrypt: bigint;
  dropEncrypt: bigint;
  dropIo: bigint;
  /** TCP SYNs whose MSS was lowered to fit the tunnel's MTU. */
  mssClamped: bigint;
  /** Decrypted packets from or to addresses outside the SA's traffic selectors (RFC 4301 §5.2). */
  dropSelector: bigint;
  /** Authenticated packets that arrived from a new address or port: the peer's NAT mapping moved. */
  peerMoved: bigint;
  /**
   * GRE (absent from drivers built before them): packets from an address other than the peer's
   * (every GRE socket sees all GRE to the box, other sites' peers included); from the peer, a wrong
   * key, a bad or missing checksum, a missing, duplicate or late sequence number (these four are in
   * dropDecrypt too); and restarts of the peer's numbering that were followed.
   */
  dropSource?: bigint;
  greBadKey?: bigint;
  greBadChecksum?: bigint;
  greOutOfOrder?: bigint;
  greSeqResyncs?: bigint;
  /** GRE: the sequence number the next packet carries (not a counter). */
  greNextSequence?: bigint;
  /** Transport mode (issue 20): datagrams to the delivered UDP port handed up the hub's pipe, dropped there (no pipe, pipe full), UDP payloads sent for JavaScript. */
  udpUp?: bigint;
  udpUpDropped?: bigint;
  udpSent?: bigint;
}

export interface NativeSaCounters {
  packets: bigint;
  bytes: bigint;
  dropShort: bigint;
  dropReplay: bigint;
  dropAuth: bigint;
  dropPadding: bigint;
  dropSpi: bigint;
  dropExpired: bigint;
  dropOther: bigint;
  softExpired: boolean;
  hardExpired: boolean;
}

/** drivers/lib/esp.h dp_suite numbers. */
const SUITE_IDS: Record<EspSuite, number> = {
  'aes-gcm-128': 1,
  'aes-gcm-256': 2,
  'aes-cbc-128-hmac-sha1-96': 3,
  'aes-cbc-256-hmac-sha1-96': 4,
  'aes-cbc-128-hmac-sha256-128': 5,
  'aes-cbc-256-hmac-sha256-128': 6,
  'chacha20-poly1305': 7,
  '3des-cbc-hmac-sha1-96': 8,
  '3des-cbc-hmac-sha256-128': 9,
  '3des-cbc-hmac-sha384-192': 10,
};

const ABI = 1;
let loaded: Addon | undefined;
/** The driver's handle behind each NativeSa, for the tunnel to use; never exposed to callers. */
const saHandles = new WeakMap<NativeSa, object>();

/** Set by the single executable once it has written its embedded driver out (firmware/sea/). */
let preferred: string | undefined;

export function useDriverAt(path: string): void {
  preferred = path;
}

/** The embedded driver's copy; else beside the bundle (dist/), or in the build tree when running from source. */
function candidates(): string[] {
  if (preferred) return [preferred];
  const main = process.argv[1] ? dirname(resolve(process.argv[1])) : process.cwd();
  return [join(main, 'postern_dp.node'), resolve('drivers/build/Release/postern_dp.node'), resolve('dist/postern_dp.node')];
}

function handleOf(sa: NativeSa): object {
  const handle = saHandles.get(sa);
  if (!handle) throw new PosternError(ErrorCode.dataplaneInvalid, 'not an SA made by this driver');
  return handle;
}

export function loadDriver(): Addon {
  if (loaded) return loaded;
  const path = candidates().find((p) => existsSync(p));
  if (!path) throw new PosternError(ErrorCode.driverUnavailable, `the data-plane driver postern_dp.node was not found (looked in ${candidates().join(', ')})`);
  const module = { exports: {} as Addon };
  process.dlopen(module, path);
  if (module.exports.abi !== ABI) throw new PosternError(ErrorCode.driverUnavailable, `driver ABI ${module.exports.abi}, expected ${ABI}: rebuild with make build`);
  loaded = module.exports;
  return loaded;
}

export interface NativeSaConfig {
  readonly spi: number;
  readonly suite: EspSuite;
  readonly esn: boolean;
  readonly replayWindow: number;
  /** For AEAD suites: the key followed by the 4-byte salt. */
  readonly encryptionKey: Secret<Buffer>;
  readonly integrityKey?: Secret<Buffer>;
  readonly lifetime?: SaLifetime;
}

export type EspResult<T> = { ok: true; value: T } | { ok: false; status: string };

/** One ESP SA held by the driver: the slow path and the test path (packet loops stay in C). */
export class NativeSa {
  readonly #addon: Addon;
  readonly #handle: object;

  private constructor(addon: Addon, handle: object) {
    this.#addon = addon;
    this.#handle = handle;
    saHandles.set(this, handle);
  }

  static create(config: NativeSaConfig): NativeSa {
    const addon = loadDriver();
    const handle = addon.createSa({
      spi: config.spi >>> 0,
      suite: SUITE_IDS[config.suite],
      esn: config.esn,
      replayWindow: config.replayWindow,
      encKey: config.encryptionKey.reveal(),
      integKey: config.integrityKey?.reveal(),
      ...config.lifetime,
    });
    if (typeof handle === 'number') throw new PosternError(ErrorCode.dataplaneInvalid, `the driver refused the SA: ${addon.statusName(handle)}`);
    return new NativeSa(addon, handle);
  }

  encrypt(payload: Buffer, nextHeader: number, iv?: Buffer): EspResult<Buffer> {
    const r = iv ? this.#addon.saEncrypt(this.#handle, payload, nextHeader, iv) : this.#addon.saEncrypt(this.#handle, payload, nextHeader);
    return typeof r === 'number' ? { ok: false, status: this.#addon.statusName(r) } : { ok: true, value: r };
  }

  decrypt(packet: Buffer): EspResult<{ payload: Buffer; nextHeader: number }> {
    const r = this.#addon.saDecrypt(this.#handle, packet);
    return typeof r === 'number' ? { ok: false, status: this.#addon.statusName(r) } : { ok: true, value: r };
  }

  counters(): NativeSaCounters {
    return this.#addon.saCounters(this.#handle);
  }

  /** Known-answer tests only: the next outbound sequence number. */
  setNextSequence(seq: bigint): void {
    this.#addon.saSetNextSeq(this.#handle, seq);
  }
}

/** drivers/lib/tunnel.h dp_tunnel_mode: ESP in UDP 4500, raw ESP (protocol 50), plain GRE (47). */
const TUNNEL_MODES = { 'esp-udp': 1, esp: 2, gre: 3 } as const;
export type TunnelFraming = keyof typeof TUNNEL_MODES;

/** A slow-path event from the driver's threads: an SA crossed its soft or hard lifetime. */
export interface NativeExpireEvent {
  readonly type: 'expire';
  readonly spi: number;
  readonly soft: boolean;
  readonly hard: boolean;
}

interface TunnelCommon {
  /** Called on the JavaScript thread, in order, for each event the threads queue. */
  readonly onEvent?: (event: NativeExpireEvent) => void;
  /** The TUN device's wanted name (the kernel may number it) and its MTU. */
  readonly name: string;
  readonly mtu: number;
  /** The TUN device's own IPv4 address and prefix length. */
  readonly address: string;
  readonly prefixLength: number;
  readonly local: { readonly address: string; readonly port: number };
  readonly remote: { readonly address: string; readonly port: number };
  /** Inner source prefixes the peer may send from, and destinations it may send to (empty: any). */
  readonly remoteSelectors?: readonly string[];
  readonly localSelectors?: readonly string[];
}

export type NativeTunnelConfig = TunnelCommon &
  (
    | {
        readonly framing: 'esp-udp' | 'esp';
        readonly outbound: NativeSa;
        readonly inbound: NativeSa;
        /**
         * ESP transport mode (RFC 4303 §3.1.1, IPv4 or IPv6): the TUN carries whole datagrams between the two
         * hosts' own addresses (`local`, `remote`), and ESP protects their payload. Steer such traffic to
         * the TUN by policy routing that leaves ESP, IKE and UDP 4500 on the normal path.
         */
        readonly transport?: boolean;
        /** ESP in UDP behind a NAT: send a keepalive after this long without traffic (RFC 3948 §2.3; 20 s is usual). */
        readonly keepaliveMs?: number;
        /** The shared socket instead of one of its own: UDP 4500 (with IKE) for 'esp-udp', raw ESP for 'esp'. */
        readonly endpoint?: NativeEndpoint;
        /** On the shared TUN (needs `endpoint`): no device or thread of its own; see `route`. */
        readonly hub?: NativeHub;
      }
    /** Plain GRE is not encrypted: for links that are protected otherwise, or not at all (flagged). */
    | {
        readonly framing: 'gre';
        readonly greKey?: number;
        /** Send checksums (RFC 2784 §2.5) and require them on receipt. */
        readonly greChecksum?: boolean;
        /** Number packets (RFC 2890 §2.2) and drop what arrives unnumbered, duplicated or late. */
        readonly greSequence?: boolean;
        /** The first sequence number sent: a restarted site continues its numbering (peers like Linux never resync). */
        readonly greSequenceStart?: number;
      }
  );

function endpointOf(config: NativeTunnelConfig): { endpoint?: object; hub?: object } {
  if (config.framing === 'gre' || !config.endpoint) return {};
  const endpoint = endpointHandles.get(config.endpoint);
  const hub = config.hub && hubHandles.get(config.hub);
  if (!endpoint || (config.hub && !hub)) throw new PosternError(ErrorCode.dataplaneInvalid, 'not an endpoint or hub made by this driver');
  return hub ? { endpoint, hub } : { endpoint };
}

/**
 * A site tunnel run by two driver threads: TUN → encapsulate → network and back, in ESP over UDP
 * (RFC 3948), raw ESP (RFC 4303) or plain GRE (RFC 2784).
 * Packets never reach JavaScript; only the counters do, when asked.
 */
export class NativeTunnel {
  readonly name: string;
  readonly #addon: Addon;
  readonly #handle: object;

  private constructor(addon: Addon, handle: object, name: string) {
    this.#addon = addon;
    this.#handle = handle;
    this.name = name;
  }

  static start(config: NativeTunnelConfig): NativeTunnel {
    const addon = loadDriver();
    const framing = config.framing === 'gre'
      ? { greKey: config.greKey, greChecksum: config.greChecksum === true, greSequence: config.greSequence === true, greSequenceStart: (config.greSequenceStart ?? 0) >>> 0 }
      : { outbound: handleOf(config.outbound), inbound: handleOf(config.inbound), keepaliveMs: config.keepaliveMs ?? 0, transport: config.transport === true, ...endpointOf(config) };
    const r = addon.tunnelStart({
      mode: TUNNEL_MODES[config.framing], name: config.name, mtu: config.mtu, address: config.address, prefixLength: config.prefixLength,
      localAddress: config.local.address, localPort: config.local.port,
      remoteAddress: config.remote.address, remotePort: config.remote.port,
      remoteSelectors: config.remoteSelectors ?? [], localSelectors: config.localSelectors ?? [],
      ...(config.onEvent ? { onEvent: config.onEvent } : {}),
      ...framing,
    });
    if (typeof r === 'number') throw new PosternError(ErrorCode.driverUnavailable, `the driver could not start the tunnel (errno ${-r})`);
    const tunnel = new NativeTunnel(addon, r.handle, r.name);
    // A driver built before GRE checksums and sequence numbers would ignore the options in silence.
    if (config.framing === 'gre' && (config.greChecksum || config.greSequence) && tunnel.stats()?.greOutOfOrder === undefined) {
      tunnel.stop();
      throw new PosternError(ErrorCode.driverUnavailable, 'this driver cannot send GRE checksums or sequence numbers (rebuild it: make drivers)');
    }
    return tunnel;
  }

  stats(): NativeTunnelStats | undefined {
    return this.#addon.tunnelStats(this.#handle);
  }

  /**
   * Rekeying without loss (RFC 7296 §2.8): add the new inbound SA first (old and new are accepted
   * side by side, by SPI), switch the outbound SA, and remove the old inbound SA once the peer has
   * switched too. Each call returns when the driver's threads no longer use what was replaced.
   */
  addInbound(sa: NativeSa): void {
    const rc = this.#addon.tunnelAddInbound(this.#handle, handleOf(sa));
    if (rc !== 0) throw new PosternError(ErrorCode.dataplaneExists, `the tunnel refused the inbound SA (errno ${-rc})`);
  }

  setOutbound(sa: NativeSa): void {
    this.#addon.tunnelSetOutbound(this.#handle, handleOf(sa));
  }

  /** On a hub: packets to `prefix` ("10.10.0.7/32", "10.1.0.0/24") leave through this tunnel. */
  route(prefix: string): void {
    const rc = this.#addon.tunnelRoute(this.#handle, prefix);
    if (rc !== 0) throw new PosternError(rc === -17 ? ErrorCode.dataplaneExists : ErrorCode.dataplaneInvalid, `the hub refused the route ${prefix} (errno ${-rc})`);
  }

  /** The peer moved (MOBIKE): ESP goes to this address and port from now on. */
  setPeer(address: string, port: number): void {
    const rc = this.#addon.tunnelSetPeer(this.#handle, address, port);
    if (rc !== 0) throw new PosternError(ErrorCode.dataplaneInvalid, `the tunnel refused the peer ${address}:${port} (errno ${-rc})`);
  }

  /** Whether this driver can send a payload of JavaScript's through a GRE tunnel (sendGre). */
  get canSendGre(): boolean {
    return typeof this.#addon.tunnelSendGre === 'function';
  }

  /**
   * GRE framing only: one payload out of the tunnel as GRE `protocolType` with the tunnel's key
   * (a Cisco keepalive: its inner IPv4 packet, type 0x0800), counted in keepalivesSent.
   * 0, or a negative errno (-38, ENOSYS, from a driver built without the call).
   */
  sendGre(protocolType: number, payload: Uint8Array): number {
    return this.#addon.tunnelSendGre?.(this.#handle, protocolType, payload) ?? -38;
  }

  /**
   * Transport mode on a hub (L2TP/IPsec, issue 20): decrypted UDP to `port` goes up the hub's pipe
   * under `tag` as the rebuilt IPv4 datagram instead of into the TUN (port 0: none). False from a
   * driver built without the call.
   */
  deliverUdp(port: number, tag: number): boolean {
    return this.#addon.tunnelDeliverUdp?.(this.#handle, port, tag >>> 0) === 0;
  }

  /** Transport mode: one UDP payload from our `sourcePort` to the peer's `destinationPort`, sealed in the outbound SA. Bytes sent, or a negative errno. */
  sendUdp(sourcePort: number, destinationPort: number, payload: Uint8Array): number {
    return this.#addon.tunnelSendUdp?.(this.#handle, sourcePort, destinationPort, payload) ?? -38;
  }

  /**
   * L2TP/IPsec (issue 20): a PPP data session (native-ppp.ts) carried by this transport tunnel: its
   * data messages deframed into the TUN here, its addresses routed here and framed out. 0, or a
   * negative errno (-38, ENOSYS, from a driver built without PPP data sessions).
   */
  attachPpp(session: object): number {
    return this.#addon.pppSessionAttach?.(session, this.#handle) ?? -38;
  }

  detachPpp(session: object): void {
    this.#addon.pppSessionDetach?.(session, this.#handle);
  }

  removeInbound(spi: number): boolean {
    return this.#addon.tunnelRemoveInbound(this.#handle, spi >>> 0);
  }

  stop(): void {
    this.#addon.tunnelStop(this.#handle);
  }
}
