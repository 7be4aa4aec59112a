/*
 * Dialed SSTP calls in the driver (issue 23): the call's TLS (handshake, certificate and name check
 * on the configured CA, records) and, once the site's subnets lead to it, its IP between the shared
 * TUN and the socket, in C as the listener's calls are. One engine serves every dialer in the
 * process (one thread, not one per call) and hands each call's pieces to it by tag; client TLS
 * contexts are kept per CA (a load generator's thousands of calls, or a site's redials, share one).
 */
import { X509Certificate } from 'node:crypto';
import { Socket } from 'node:net';
import { rootCertificates } from 'node:tls';
import type { NativeHub } from '../../dataplane/native-hub.ts';
import { loadDriver } from '../../dataplane/native.ts';
import { NativeSstp, NativeSstpClientTls, SstpCallEnd, type NativeSstpCall } from '../../dataplane/native-sstp.ts';
import { carriedIp } from '../../dataplane/native-ppp.ts';
import { addCarried, type CarriedCounts } from '../../sites/ppp-site-link.ts';

/** What a dial needs to know about its transport's life. */
export interface DialEvents {
  /** TLS is up: the server's certificate (checked already unless pinned or unverified), and its issuer when the TLS knows it. */
  secure(certificate: X509Certificate, issuer: X509Certificate | undefined): void;
  data(chunk: Buffer): void;
  /** The call is over, with why. */
  closed(reason: string): void;
}

export interface DialTarget {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string | undefined;
  /** PEM anchors; undefined: nothing verified in TLS (a pin, or rejectUnauthorized false). */
  readonly ca: string | undefined;
  /** The name the certificate must carry (with a CA). */
  readonly serverName: string | undefined;
}

/** A dial's transport: the dialer's bytes out, and its end. */
export interface DialTransport {
  write(bytes: Uint8Array): void;
  /** Our last word is written: the connection goes after a moment for it to leave. */
  end(): void;
}

const LINGER_MS = 1000;
const MAX_CONTEXTS = 4;

class DialEngine {
  static #shared: DialEngine | undefined;
  readonly engine: NativeSstp;
  readonly #calls = new Map<number, (piece: Buffer) => void>();
  readonly #contexts = new Map<string, NativeSstpClientTls>();
  #nextTag = 1;

  private constructor() {
    this.engine = NativeSstp.open((batch) => {
      for (const [tag, piece] of batch) this.#calls.get(tag)?.(piece);
    });
  }

  static get(): DialEngine {
    return (DialEngine.#shared ??= new DialEngine());
  }

  context(ca: string | undefined): NativeSstpClientTls {
    const key = ca ?? '';
    let tls = this.#contexts.get(key);
    if (tls) return tls;
    tls = NativeSstpClientTls.load(ca);
    // A few kept (reconfigured sites bring new CA lists); a dropped one lives on while its calls hold it.
    if (this.#contexts.size >= MAX_CONTEXTS) this.#contexts.delete(this.#contexts.keys().next().value!);
    this.#contexts.set(key, tls);
    return tls;
  }

  register(onPiece: (piece: Buffer) => void): number {
    let tag = this.#nextTag;
    while (this.#calls.has(tag)) tag = (tag % 0x7fffffff) + 1;
    this.#nextTag = (tag % 0x7fffffff) + 1;
    this.#calls.set(tag, onPiece);
    return tag;
  }

  unregister(tag: number): void {
    this.#calls.delete(tag);
  }
}

/** Why the driver could not dial, or undefined when it can (checked once per process). */
let unavailable: string | undefined | null = null;
export function driverDialUnavailable(): string | undefined {
  if (unavailable !== null) return unavailable;
  try {
    const addon = loadDriver() as unknown as { sstpCallDial?: unknown };
    unavailable = typeof addon.sstpCallDial === 'function' ? undefined : 'the loaded driver has no SSTP dialing';
    if (!unavailable) DialEngine.get();
  } catch (error) {
    unavailable = error instanceof Error ? error.message : String(error);
  }
  return unavailable;
}

/** TLS 1.3 records each dialed call seals on one key before a KeyUpdate (0: the driver's default). */
export function setDialKeyUpdateRecords(records: number): void {
  DialEngine.get().engine.setKeyUpdateRecords(records);
}

/** kTLS for calls dialed from now on (on by default where the kernel has it). */
export function setDialKernelTls(on: boolean): void {
  DialEngine.get().engine.setKernelTls(on);
}

/** The driver's words for a call's end. */
function endReason(call: NativeSstpCall): string {
  const stats = call.stats();
  switch (Number(stats?.ended ?? 0)) {
    case SstpCallEnd.peerClosed: return 'the server closed the connection';
    // "certificate" in the words, as in Node's (the site Test reads it as an untrusted certificate).
    case SstpCallEnd.tlsError: return stats?.verifyError ? `TLS: the server certificate was refused: ${stats.verifyError}` : 'TLS: the handshake or a record failed';
    case SstpCallEnd.socketError: return 'TLS: the connection broke';
    case SstpCallEnd.badStream: return 'SSTP framing lost';
    case SstpCallEnd.keyUpdate: return 'TLS KeyUpdate on a kTLS call (the kernel cannot be rekeyed)';
    default: return 'the call ended';
  }
}

/**
 * A call dialed through the driver. The TCP connection is made here (paused: nothing read), then its
 * fd handed over before any byte of TLS. Throws when the driver cannot take the CA.
 */
export class DriverDial implements DialTransport {
  readonly #engine = DialEngine.get();
  readonly #events: DialEvents;
  readonly #tag: number;
  readonly #tls: NativeSstpClientTls;
  #call: NativeSstpCall | undefined;
  #socket: Socket | undefined;
  #certified = false;
  #over = false;
  #dataPath = false;
  #carried: CarriedCounts = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 };

  constructor(target: DialTarget, events: DialEvents) {
    this.#events = events;
    this.#tls = this.#engine.context(target.ca);
    this.#tag = this.#engine.register((piece) => this.#piece(piece));
    const socket = new Socket();
    this.#socket = socket;
    socket.pause(); // nothing read by Node: the driver's TLS starts on a clean stream
    socket.setNoDelay(true);
    socket.once('connect', () => {
      this.#socket = undefined;
      if (this.#over) return void socket.destroy();
      try {
        this.#call = this.#engine.engine.dial(socket, this.#tls, this.#tag, target.ca ? target.serverName : undefined);
      } catch (error) {
        this.#close(`TLS: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    socket.on('error', (e) => this.#close(`TLS: ${e.message}`));
    socket.connect({ host: target.host, port: target.port, ...(target.localAddress ? { localAddress: target.localAddress } : {}) });
  }

  /** Roots Node trusts by default, as Node's TLS uses without a CA given. */
  static defaultCa(): string {
    return rootCertificates.join('\n');
  }

  #piece(piece: Buffer): void {
    if (this.#over) return;
    if (piece.length === 0) return this.#close(this.#call ? endReason(this.#call) : 'the call ended');
    if (this.#certified) return this.#events.data(piece);
    // The first piece is the server's certificate (DER), handed up once the handshake is done.
    this.#certified = true;
    let certificate: X509Certificate;
    let issuer: X509Certificate | undefined;
    try {
      certificate = new X509Certificate(piece);
      const der = this.#call?.peerIssuer();
      issuer = der ? new X509Certificate(der) : undefined;
    } catch {
      return this.#close('TLS: the server certificate could not be read');
    }
    this.#events.secure(certificate, issuer);
  }

  write(bytes: Uint8Array): void {
    if (!this.#over) this.#call?.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  end(): void {
    this.stopData();
    if (this.#over) return;
    this.#over = true;
    this.#engine.unregister(this.#tag);
    this.#socket?.destroy();
    const call = this.#call;
    if (call) setTimeout(() => call.remove(), LINGER_MS).unref();
  }

  /** IP between the hub and the call in C from now on; a reason when the driver refused (IP stays in JavaScript). */
  startData(mtu: number, sources: readonly string[], hub: NativeHub): string | undefined {
    if (this.#over || !this.#call) return 'the call is gone';
    try {
      this.#call.startData({ mtu, sources: [...sources] }, hub);
      this.#dataPath = true;
      return undefined;
    } catch (error) {
      this.#call.stopData(); // lets go of the hub it may have taken
      return error instanceof Error ? error.message : String(error);
    }
  }

  /** The data path off the hub (the site's lease of the TUN may end first); its counts kept. */
  stopData(): void {
    if (!this.#dataPath || !this.#call) return;
    this.#carried = this.carried();
    this.#dataPath = false;
    this.#call.stopData();
  }

  /** Who seals and opens the call's TLS records: the kernel (kTLS, both ways or receiving only), or the driver's OpenSSL and the errno why not (issue 23). */
  records(): string {
    const s = this.#call?.stats();
    if (!s) return 'unknown';
    if (s.ktlsRx && s.ktlsTx) return 'kTLS';
    const why = s.ktlsError ? `errno ${s.ktlsError}${s.ktlsError === 2n ? ' (no tls module)' : ''}` : 'not tried';
    return s.ktlsRx ? `kTLS receiving, OpenSSL sealing: ${why}` : `OpenSSL: ${why}`;
  }

  /** TLS 1.3 KeyUpdates read from the server and sent to it so far. */
  keyUpdates(): { in: number; out: number } {
    const s = this.#call?.stats();
    return { in: Number(s?.keyUpdatesIn ?? 0n), out: Number(s?.keyUpdatesOut ?? 0n) };
  }

  /** What the driver carried, kept across a stopped data path. */
  carried(): CarriedCounts {
    return addCarried(this.#carried, carriedIp(this.#dataPath && !this.#over ? this.#call?.stats()?.ppp : undefined));
  }

  #close(reason: string): void {
    if (this.#over) return;
    this.end();
    this.#events.closed(reason);
  }
}
