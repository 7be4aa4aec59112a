import type { Socket } from 'node:net';
import { ErrorCode, PosternError } from '../util/errors.ts';
import { hubHandles, type NativeHub } from './native-hub.ts';
import { loadDriver } from './native.ts';

interface SstpAddon {
  sstpOpen(onPieces: (batch: Array<[number, Buffer]>) => void): object | number;
  sstpClose(engine: object): number;
  sstpStats(engine: object): NativeSstpStats | undefined;
  sstpSetKernelTls?(engine: object, on: boolean): number;
  sstpSetKeyUpdateRecords?(engine: object, records: number): number;
  sstpTls(certPem: Buffer, keyPem: Buffer): object | number;
  sstpCallAdd(engine: object, tls: object, fd: number, tag: number, hub: object | null, already: Buffer): object | number;
  sstpTlsClient(caPem: Buffer | null): object | number;
  sstpCallDial(engine: object, tls: object, fd: number, tag: number, serverName: string | null): object | number;
  sstpCallSend(call: object, bytes: Buffer): number;
  sstpCallStartData(call: object, config: { mtu: number; sources: string[] }, hub?: object): number;
  sstpCallStopData(call: object): number;
  sstpCallPeerIssuer(call: object): Buffer | undefined;
  sstpCallStats(call: object): NativeSstpCallStats | undefined;
  sstpCallRemove(call: object): number;
}

/** Why a call ended (`ended`), as the driver counts it; 0 while it is up. */
export const SstpCallEnd = { peerClosed: 1, tlsError: 2, socketError: 3, badStream: 4, backlog: 5, keyUpdate: 6 } as const;

/** The engine's calls past their handshake by where their records are sealed and opened (kTLS, issue 23). */
export interface NativeSstpStats {
  /** Both directions in the kernel. */
  ktlsCalls: bigint;
  /** Only received records in the kernel (TLS_TX refused); OpenSSL seals. */
  ktlsRxOnly: bigint;
  /** Both in OpenSSL (no tls module, a suite the kernel lacks, ...). */
  ktlsFallbacks: bigint;
  /** The last failure's errno (ENOENT: no tls module; EOPNOTSUPP: the suite), 0 without one. */
  ktlsLastError: bigint;
  /** Bursts of handshakes whose freed memory the engine gave back to the kernel (malloc_trim, issue 23). */
  memoryTrims: bigint;
}

export interface NativeSstpCallStats {
  /** TLS bytes on the socket. */
  bytesIn: bigint;
  bytesOut: bigint;
  /** The HTTP head, control packets and data packets not for the data path, handed up. */
  piecesUp: bigint;
  upDropped: bigint;
  /** Data packets of the data path: IP into the TUN, and out from the hub. */
  dataIn: bigint;
  dataOut: bigint;
  /** IP dropped because too much was waiting for the socket. */
  dropBacklog: bigint;
  dropTun: bigint;
  /** JavaScript's writes. */
  sent: bigint;
  ended: bigint;
  /** Drained TLS buffers given back (a call's handshake flight, a burst's records). */
  bioRenewed: bigint;
  /** The PPP data path's counters once it started. */
  ppp?: { rxPackets: bigint; rxBytes: bigint; txPackets: bigint; txBytes: bigint; up: bigint; dropSource: bigint; dropMalformed: bigint; dropTx: bigint };
  /** "TLSv1.3" and the suite once the handshake is done, else empty. */
  tlsVersion: string;
  cipher: string;
  /** A dialed call: OpenSSL's reason the server's certificate was refused, else empty. */
  verifyError: string;
  /** 1 once the kernel opens (Rx) / seals (Tx) the call's records (kTLS); else 0, and why in ktlsError (an errno). */
  ktlsRx: bigint;
  ktlsTx: bigint;
  ktlsError: bigint;
  /** TLS 1.3 KeyUpdate messages read from the peer, and sent (ours at the record limit, or answers to the peer's). */
  keyUpdatesIn?: bigint;
  keyUpdatesOut?: bigint;
}

/** A server certificate loaded into the driver's TLS (PEM chain, leaf first, and its key). */
export class NativeSstpCertificate {
  private constructor(readonly handle: object) {}

  static load(certPem: string, keyPem: string): NativeSstpCertificate {
    const addon = loadDriver() as unknown as SstpAddon;
    const r = addon.sstpTls(Buffer.from(certPem), Buffer.from(keyPem));
    if (typeof r === 'number') throw new PosternError(ErrorCode.dataplaneInvalid, `the driver could not load the SSTP certificate and key (errno ${-r})`);
    return new NativeSstpCertificate(r);
  }
}

/**
 * A dialer's TLS context (Postern as the SSTP client): the server's chain must reach one of the CA
 * certificates (PEM), its name is checked per call; without a CA nothing is verified in the driver
 * (the caller pins the certificate the call hands up).
 */
export class NativeSstpClientTls {
  private constructor(readonly handle: object) {}

  static load(caPem: string | undefined): NativeSstpClientTls {
    const addon = loadDriver() as unknown as SstpAddon;
    const r = addon.sstpTlsClient(caPem ? Buffer.from(caPem) : null);
    if (typeof r === 'number') throw new PosternError(ErrorCode.dataplaneInvalid, `the driver could not load the CA certificates for dialing (errno ${-r})`);
    return new NativeSstpClientTls(r);
  }
}

/** One call whose TLS runs in the driver; its pieces come up through the engine's callback under its tag. */
export class NativeSstpCall {
  readonly #addon: SstpAddon;
  readonly #handle: object;

  constructor(addon: SstpAddon, handle: object) {
    this.#addon = addon;
    this.#handle = handle;
  }

  /** Bytes for the peer (the HTTP response, whole SSTP packets); false once the call has ended or before its handshake. */
  send(bytes: Buffer): boolean {
    return this.#addon.sstpCallSend(this.#handle, bytes) > 0;
  }

  /** IP of the session's addresses moves in C from now on (IPCP or IPV6CP open); a dialed call names its hub here. */
  startData(config: { mtu: number; sources: string[] }, hub?: NativeHub): void {
    const hubHandle = hub ? hubHandles.get(hub) : undefined;
    const rc = hubHandle ? this.#addon.sstpCallStartData(this.#handle, config, hubHandle) : this.#addon.sstpCallStartData(this.#handle, config);
    if (rc !== 0) throw new PosternError(rc === -17 ? ErrorCode.dataplaneExists : ErrorCode.dataplaneInvalid, `the SSTP call's data path could not start (errno ${-rc})`);
  }

  /** A dialed call's server certificate's issuer from the verified chain (DER), once the certificate came up. */
  peerIssuer(): Buffer | undefined {
    return this.#addon.sstpCallPeerIssuer(this.#handle);
  }

  /** IP back in JavaScript: routes off the hub, which the call no longer holds. */
  stopData(): void {
    this.#addon.sstpCallStopData(this.#handle);
  }

  stats(): NativeSstpCallStats | undefined {
    return this.#addon.sstpCallStats(this.#handle);
  }

  /** Routes gone, socket closed. */
  remove(): void {
    this.#addon.sstpCallRemove(this.#handle);
  }
}

/**
 * SSTP calls with their whole TLS session in the driver (issue 23, drivers/lib/sstp_call.h): the
 * listener hands over each accepted socket before TLS starts (a server with pauseOnConnect), the
 * driver does the handshake and the records, and hands up the HTTP head, SSTP control packets and
 * PPP control frames in batches of [tag, bytes] (empty bytes: the call ended).
 */
export class NativeSstp {
  readonly #addon: SstpAddon;
  readonly #handle: object;

  private constructor(addon: SstpAddon, handle: object) {
    this.#addon = addon;
    this.#handle = handle;
  }

  static open(onPieces: (batch: Array<[number, Buffer]>) => void): NativeSstp {
    const addon = loadDriver() as unknown as SstpAddon;
    const r = addon.sstpOpen(onPieces);
    if (typeof r === 'number') throw new PosternError(ErrorCode.driverUnavailable, `the driver could not start its SSTP engine (errno ${-r})`);
    return new NativeSstp(addon, r);
  }

  /**
   * Takes over an accepted, paused socket: the driver duplicates its fd and this socket is destroyed.
   * `already` is what was read from it first (the ClientHello, when the listener looks at the server
   * name or holds its first flight); nothing else may have been read. With a hub the call can carry
   * IP once its data path starts.
   */
  addCall(socket: Socket, certificate: NativeSstpCertificate, tag: number, hub?: NativeHub, already: Buffer = Buffer.alloc(0)): NativeSstpCall {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) throw new PosternError(ErrorCode.dataplaneInvalid, 'the SSTP socket has no file descriptor to hand over');
    const hubHandle = hub ? hubHandles.get(hub) : undefined;
    const r = this.#addon.sstpCallAdd(this.#handle, certificate.handle, fd, tag, hubHandle ?? null, already);
    socket.destroy();
    if (typeof r === 'number') throw new PosternError(ErrorCode.dataplaneInvalid, `the driver could not take the SSTP call (errno ${-r})`);
    return new NativeSstpCall(this.#addon, r);
  }

  /**
   * Postern as the client: takes over a connected socket on which nothing was read or written (the
   * driver duplicates its fd; this socket is destroyed) and starts the handshake. `serverName` is
   * what the certificate must name (an address or a DNS name, also sent as SNI) when the context has
   * a CA. The server's certificate comes up first (DER), then the stream.
   */
  dial(socket: Socket, tls: NativeSstpClientTls, tag: number, serverName: string | undefined): NativeSstpCall {
    const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) throw new PosternError(ErrorCode.dataplaneInvalid, 'the SSTP socket has no file descriptor to hand over');
    const r = this.#addon.sstpCallDial(this.#handle, tls.handle, fd, tag, serverName ?? null);
    socket.destroy();
    if (typeof r === 'number') throw new PosternError(ErrorCode.dataplaneInvalid, `the driver could not dial the SSTP call (errno ${-r})`);
    return new NativeSstpCall(this.#addon, r);
  }

  /** kTLS for calls set up from now on (on by default; a driver without the switch keeps it on). */
  setKernelTls(on: boolean): void {
    this.#addon.sstpSetKernelTls?.(this.#handle, on);
  }

  /**
   * TLS 1.3 records a call seals on one key before it updates it and asks the peer to update its own
   * (RFC 8446 §5.5; the driver's default, 2^24, keeps AES-GCM within its limit); 0 restores the default.
   */
  setKeyUpdateRecords(records: number): void {
    this.#addon.sstpSetKeyUpdateRecords?.(this.#handle, records);
  }

  /** Where the engine's calls' records went (kTLS or OpenSSL); undefined once closed. */
  stats(): NativeSstpStats | undefined {
    return this.#addon.sstpStats(this.#handle);
  }

  /** False while calls remain. */
  close(): boolean {
    return this.#addon.sstpClose(this.#handle) === 0;
  }
}
