/*
 * The SSTP listener: TLS on 443 with the gateway certificate ([MS-SSTP] §3.3.5.1: TLS first, then the
 * HTTP request, then SSTP), one SstpConnection per accepted socket. Who may connect, for how long a
 * handshake may take and which one goes when the budget is full is SstpAdmission's decision
 * (admission.ts); this shell only carries it out on sockets and one timer.
 *
 * Issue 23: with `native`, a call's TLS runs in the driver (drivers/lib/sstp_call.h). The listener still
 * accepts the TCP connection, asks admission, reads the ClientHello (ACME's tls-alpn-01 stays here)
 * and holds the first flight, then hands the socket and the bytes read to the driver; the HTTP head,
 * SSTP control packets and PPP control frames come up tagged with the admission id into the same
 * SstpConnection, and the session's IP moves into C once its network is up (SstpDriverPath). A
 * driver without SSTP, or a certificate it cannot load, leaves Node's TLS (logged).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from '../log/logger.ts';
import type { NativeHub } from '../dataplane/native-hub.ts';
import { NativeSstp, NativeSstpCertificate, SstpCallEnd, type NativeSstpCallStats } from '../dataplane/native-sstp.ts';
import { decodeClientHello } from './client-hello.ts';
import type { Secret } from '../util/secret.ts';
import { SstpAdmission, type AdmissionCounters, type SstpLimits } from './admission.ts';
import { SstpConnection, type SstpConnectionOptions, type SstpTransport } from './sstp-connection.ts';
import { feedFromTlsSocket, NativeCallTransport, tlsSocketTransport } from './sstp-transports.ts';

export interface SstpListenerOptions {
  readonly host: string;
  /** The WAN's IPv6 address, listened on too (issue 24: dual stack); one admission and one set of calls for both. */
  readonly host6?: string;
  readonly port: number;
  readonly certificatePem: string;
  readonly keyPem: Secret<string>;
  /** Intermediate CA certificates sent after ours. */
  readonly chainPem?: readonly string[];
  readonly logger: Logger;
  /** Per-source, handshake and call limits and handshake timeouts; defaultSstpLimits for what is left out. */
  readonly limits?: Partial<SstpLimits>;
  readonly now?: () => number;
  /**
   * How long our first TLS flight is held after the ClientHello arrives. sstpc (1.0.18) sets up its
   * HTTP receive only when its first TLS write cannot finish at once: when the server's whole flight
   * is already there at its first read (TLS 1.3 answers a ClientHello in one flight), the handshake
   * and the HTTP request complete inside that write, the receive is never armed, and sstpc quits
   * with "The event loop terminated unsuccessfully" (seen in half the TLS 1.3 attempts, some TLS 1.2
   * ones; traced with strace in the VM lab). Holding the flight makes that first read wait. Default 30 ms.
   */
  readonly firstFlightDelayMs?: number;
  /** RFC 8737: the tls-alpn-01 challenge certificate for a server name, while ACME is ordering. */
  readonly acmeAlpn?: (serverName: string | undefined) => { certificatePem: string; keyPem: string } | undefined;
  readonly connection: Omit<SstpConnectionOptions, 'certHash256' | 'certHash1' | 'logger' | 'onClosed' | 'onEstablished'>;
  /** A call refused because the calls limit is reached (the connection doctor). */
  readonly onCallsLimit?: (peer: string) => void;
  /** Issue 23: calls' TLS in the driver, their IP into the shared TUN's hub from C (without a hub: TLS only); absent: Node's TLS. */
  readonly native?: { readonly hub?: NativeHub; readonly kernelTls?: boolean };
}

/** §3.3.1 ServerCertificateHash: digests of the DER certificate the TLS layer presents. */
export function certificateHashes(certificatePem: string): { sha256: Uint8Array; sha1: Uint8Array } {
  const der = new X509Certificate(certificatePem).raw;
  return { sha256: createHash('sha256').update(der).digest(), sha1: createHash('sha1').update(der).digest() };
}

const ACME_TLS_ALPN = 'acme-tls/1';
const osErrno = osConstants.errno;

type CertHashes = { sha256: Uint8Array; sha1: Uint8Array };

/** What the listener counts, for /healthz and the MQTT status: admission's counters, TLS failures, and now-values. */
export interface SstpListenerCounters extends AdmissionCounters {
  tlsFailures: number;
  acmeAlpnAnswered: number;
  handshakesNow: number;
  callsNow: number;
  /** Connections handed to the driver's TLS (issue 23). */
  driverHandovers: number;
  /** The driver's calls past their handshake by where their records are sealed and opened: the kernel (kTLS) both ways, the kernel receiving only, OpenSSL. */
  ktlsCalls: number;
  ktlsRxOnly: number;
  ktlsFallbacks: number;
  /** Bursts of handshakes whose freed memory the driver gave back to the kernel (issue 23). */
  driverMemoryTrims: number;
}

/** A connection whose TLS runs in the driver; its SstpConnection exists from the first piece (the HTTP head). */
interface DriverCall {
  readonly transport: NativeCallTransport;
  readonly hashes: CertHashes;
  connection?: SstpConnection;
}

const END_REASONS: Record<number, string> = {
  [SstpCallEnd.peerClosed]: 'the client closed the connection',
  [SstpCallEnd.tlsError]: 'TLS error',
  [SstpCallEnd.socketError]: 'the connection failed',
  [SstpCallEnd.badStream]: 'not an SSTP stream',
  [SstpCallEnd.backlog]: 'the client stopped reading',
  [SstpCallEnd.keyUpdate]: 'TLS KeyUpdate on a kTLS call (the kernel cannot be rekeyed; the client dials again)',
};

/** Why the kernel does not carry a call's records, from the driver's errno. */
export function ktlsUnavailableReason(errno: number): string {
  if (errno === osErrno.ENOENT) return 'the kernel has no tls module (ENOENT)';
  if (errno === osErrno.EOPNOTSUPP) return 'the negotiated suite is not one kTLS takes (EOPNOTSUPP)';
  const name = Object.entries(osErrno).find(([, v]) => v === errno)?.[0];
  return name ? `setsockopt failed (${name})` : `errno ${errno}`;
}

export class SstpListener {
  readonly #options: SstpListenerOptions;
  readonly #now: () => number;
  readonly #admission: SstpAdmission;
  /** Every connection past TLS, and its admission id. */
  readonly #calls = new Map<SstpConnection, number>();
  #shared: { readonly hashes: CertHashes; readonly options: SstpConnectionOptions } | undefined;
  /** Unfinished connections by admission id: the TCP socket, and the TLS socket over it once there is one (or the driver's call). */
  readonly #unfinished = new Map<number, { readonly tcp: Socket; tls?: TLSSocket; driver?: DriverCall }>();
  /** Calls whose TLS the driver runs, by admission id (their tag there). */
  readonly #driverCalls = new Map<number, DriverCall>();
  #engine: NativeSstp | undefined;
  #driverCertificate: NativeSstpCertificate | undefined;
  #driverHandovers = 0;
  #ktlsLogged = false;
  #tlsFailures = 0;
  /** tls-alpn-01 validations answered (issue 16). */
  acmeAlpnAnswered = 0;
  #servers: Server[] = [];
  #credentials: { context: SecureContext; hashes: CertHashes } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #timerAt: number | undefined;

  constructor(options: SstpListenerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#admission = new SstpAdmission(options.limits);
  }

  counters(): SstpListenerCounters {
    const a = this.#admission;
    const k = this.#engine?.stats();
    return {
      ...a.counters, tlsFailures: this.#tlsFailures, acmeAlpnAnswered: this.acmeAlpnAnswered, handshakesNow: a.handshakes, callsNow: a.calls, driverHandovers: this.#driverHandovers,
      ktlsCalls: Number(k?.ktlsCalls ?? 0n), ktlsRxOnly: Number(k?.ktlsRxOnly ?? 0n), ktlsFallbacks: Number(k?.ktlsFallbacks ?? 0n),
      driverMemoryTrims: Number(k?.memoryTrims ?? 0n),
    };
  }

  /** Once per listener, at the first driver call connected: where the kernel would not take its records, why (a board without kTLS is normal). */
  #noteKtls(): void {
    if (this.#ktlsLogged || !this.#engine) return;
    const k = this.#engine.stats();
    if (!k || k.ktlsCalls + k.ktlsRxOnly + k.ktlsFallbacks === 0n) return;
    this.#ktlsLogged = true;
    if (k.ktlsFallbacks + k.ktlsRxOnly === 0n) return;
    this.#options.logger.info(`kTLS unavailable: ${ktlsUnavailableReason(Number(k.ktlsLastError))}; SSTP records stay in the driver's OpenSSL`, { fallbacks: Number(k.ktlsFallbacks), rxOnly: Number(k.ktlsRxOnly) });
  }

  async start(): Promise<AddressInfo> {
    const o = this.#options;
    if (o.native) {
      try {
        this.#engine = NativeSstp.open((batch) => this.#pieces(batch));
        if (o.native.kernelTls === false) this.#engine.setKernelTls(false);
      } catch (error) {
        o.logger.warn('SSTP calls stay in Node\'s TLS: the driver has no SSTP engine', { error: error instanceof Error ? error.message : String(error) });
      }
    }
    this.replaceCertificate(o.certificatePem, o.keyPem, o.chainPem ?? []);
    const first = await this.#listen(o.host, o.port);
    if (o.host6 !== undefined && o.host6 !== o.host) {
      try {
        await this.#listen(o.host6, first.port);
      } catch (error) {
        await this.stop();
        throw error;
      }
    }
    return first;
  }

  /** The addresses listened on, IPv4 first. */
  addresses(): AddressInfo[] {
    return this.#servers.map((s) => s.address() as AddressInfo);
  }

  async #listen(host: string, port: number): Promise<AddressInfo> {
    const server = createServer((tcp) => this.#accept(tcp, this.#credentials!.context, this.#credentials!.hashes));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // An IPv6 address alone: IPv4 peers are the IPv4 socket's (never IPv4-mapped here).
      server.listen({ port, host, ipv6Only: host.includes(':') }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.#options.logger.error('SSTP listener error', { error: error.message }));
    this.#servers.push(server);
    return server.address() as AddressInfo;
  }

  /**
   * Serves another certificate (a renewed ACME one, issue 16) to connections accepted from now on;
   * calls already up keep their TLS session and the crypto binding's hashes of the old one.
   */
  replaceCertificate(certificatePem: string, keyPem: Secret<string>, chainPem: readonly string[]): void {
    const context = createSecureContext({ cert: [certificatePem, ...chainPem].join('\n'), key: keyPem.reveal(), minVersion: 'TLSv1.2' });
    this.#credentials = { context, hashes: certificateHashes(certificatePem) };
    if (!this.#engine) return;
    // Calls up keep the certificate they were handed (the driver holds it while they use it).
    try {
      this.#driverCertificate = NativeSstpCertificate.load([certificatePem, ...chainPem].join('\n'), keyPem.reveal());
    } catch (error) {
      this.#driverCertificate = undefined;
      this.#options.logger.warn('SSTP calls stay in Node\'s TLS: the driver could not load the certificate', { error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** TCP accepted: ask admission, then wait for the ClientHello, hold our answer a moment (see firstFlightDelayMs), then TLS. */
  #accept(tcp: Socket, context: SecureContext, hashes: CertHashes): void {
    const verdict = this.#admission.admit(tcp.remoteAddress ?? '', this.#now());
    // A reset, not a FIN: nothing to linger over, and no TIME_WAIT left on our side per refusal.
    if (verdict.kind === 'refuse') return void tcp.resetAndDestroy();
    if (verdict.evict !== undefined) this.#drop(verdict.evict);
    const id = verdict.id;
    const entry: { readonly tcp: Socket; tls?: TLSSocket } = { tcp };
    this.#unfinished.set(id, entry);
    // The TCP socket closes under TLS too: one place where every connection, unfinished or a call, is let go.
    const gone = (): void => this.#gone(id);
    tcp.once('close', gone);
    tcp.on('error', () => tcp.destroy());
    tcp.once('data', (hello) => {
      tcp.pause();
      setTimeout(() => {
        if (tcp.destroyed) return;
        tcp.unshift(hello);
        if (this.#answerAcmeAlpn(tcp, hello)) return;
        if (this.#engine && this.#driverCertificate) {
          tcp.off('close', gone); // the driver's call reports its own end
          return this.#handOver(id, tcp, hashes);
        }
        const socket = new TLSSocket(tcp, { isServer: true, secureContext: context });
        entry.tls = socket;
        let secure = false;
        socket.once('secure', () => {
          secure = true;
          feedFromTlsSocket(socket, this.#startCall(id, tlsSocketTransport(socket), hashes));
        });
        socket.on('error', (error) => {
          if (secure) return; // the call's own handler has it
          this.#tlsFailures++;
          this.#options.logger.debug('TLS handshake failed', { peer: tcp.remoteAddress, error: error.message });
          socket.destroy();
        });
      }, this.#options.firstFlightDelayMs ?? 30).unref();
    });
    this.#arm();
  }

  /**
   * RFC 8737 §3: a ClientHello offering acme-tls/1 is the CA validating, never a client. It gets the
   * challenge certificate for its server name and nothing else; without a pending challenge, a reset.
   */
  #answerAcmeAlpn(tcp: Socket, hello: Buffer): boolean {
    const read = decodeClientHello(hello);
    if (!read.ok || !read.hello.alpn.includes(ACME_TLS_ALPN)) return false;
    const challenge = this.#options.acmeAlpn?.(read.hello.serverName);
    if (!challenge) {
      tcp.resetAndDestroy();
      return true;
    }
    const context = createSecureContext({ cert: challenge.certificatePem, key: challenge.keyPem, minVersion: 'TLSv1.2' });
    const socket = new TLSSocket(tcp, { isServer: true, secureContext: context, ALPNProtocols: [ACME_TLS_ALPN] });
    this.acmeAlpnAnswered++;
    socket.once('secure', () => socket.end());
    socket.on('error', () => socket.destroy());
    return true;
  }

  /**
   * The connection to the driver's TLS with what was read from it (the ClientHello, unshifted, and
   * anything after it); the JavaScript socket is destroyed, the driver's duplicate goes on.
   */
  #handOver(id: number, tcp: Socket, hashes: CertHashes): void {
    const chunks: Buffer[] = [];
    for (let more: Buffer | null; (more = tcp.read() as Buffer | null) !== null;) chunks.push(more);
    const peer = { address: tcp.remoteAddress ?? '', port: tcp.remotePort ?? 0 };
    let driver: DriverCall;
    try {
      const call = this.#engine!.addCall(tcp, this.#driverCertificate!, id, this.#options.native?.hub, Buffer.concat(chunks));
      driver = {
        hashes,
        transport: new NativeCallTransport(call, peer, () => {
          this.#driverCalls.delete(id);
          this.#gone(id);
        }),
      };
    } catch (error) {
      tcp.destroy();
      this.#options.logger.warn('the driver could not take an SSTP connection', { peer: peer.address, error: error instanceof Error ? error.message : String(error) });
      return this.#gone(id);
    }
    this.#driverHandovers++;
    this.#driverCalls.set(id, driver);
    const entry = this.#unfinished.get(id);
    if (entry) entry.driver = driver;
  }

  /** The driver's pieces: a call's first starts its SstpConnection; an empty one is the end of the call. */
  #pieces(batch: Array<[number, Buffer]>): void {
    for (const [tag, bytes] of batch) {
      const driver = this.#driverCalls.get(tag);
      if (!driver) continue;
      if (bytes.length > 0) {
        driver.connection ??= this.#startCall(tag, driver.transport, driver.hashes);
        driver.connection.receive(bytes);
        continue;
      }
      this.#driverCallEnded(driver, driver.transport.stats());
    }
  }

  #driverCallEnded(driver: DriverCall, stats: NativeSstpCallStats | undefined): void {
    const why = END_REASONS[Number(stats?.ended ?? 0)] ?? 'ended';
    const c = driver.connection;
    if (c) {
      // The driver cut a stream that is no SSTP before the call was set up: the doctor hears of it as from the JS framer.
      if (stats?.ended === BigInt(SstpCallEnd.badStream) && c.state !== 'ServerCallConnected') this.#options.connection.onSetupAborted?.(driver.transport.peer, 'SSTP framing lost: not an SSTP packet (the driver\'s TLS)');
      if (stats?.ended === BigInt(SstpCallEnd.peerClosed)) c.closedByPeer();
      else c.lost(why);
    } else if (stats?.tlsVersion) {
      // TLS done, then closed before the HTTP request: a client refusing our certificate (as the JS path reports it).
      this.#options.connection.onClosedAfterTls?.(driver.transport.peer);
    } else {
      this.#tlsFailures++;
      this.#options.logger.debug('TLS handshake failed', { peer: driver.transport.peer.address, error: why });
    }
    driver.transport.remove();
  }

  #startCall(id: number, transport: SstpTransport, hashes: CertHashes): SstpConnection {
    const call = new SstpConnection(transport, this.#connectionOptions(hashes));
    this.#calls.set(call, id);
    return call;
  }

  /**
   * What every call of a certificate shares: one options object whose hooks are told the call (issue
   * 23: no object and closures per call); made again only when the certificate changed.
   */
  #connectionOptions(hashes: CertHashes): SstpConnectionOptions {
    if (this.#shared?.hashes === hashes) return this.#shared.options;
    const o = this.#options;
    const c = o.connection;
    // Named field by field: spreading an object that holds functions gives the copy a hidden class of its own.
    const options: SstpConnectionOptions = {
      session: c.session,
      createLink: c.createLink,
      ...(c.now ? { now: c.now } : {}),
      ...(c.onClosedAfterTls ? { onClosedAfterTls: c.onClosedAfterTls } : {}),
      ...(c.onSetupAborted ? { onSetupAborted: c.onSetupAborted } : {}),
      certHash256: hashes.sha256,
      certHash1: hashes.sha1,
      logger: o.logger,
      onEstablished: (call) => {
        const id = this.#calls.get(call);
        if (id === undefined) return;
        this.#unfinished.delete(id);
        this.#noteKtls();
        const admitted = this.#admission.promoted(id);
        this.#arm();
        if (admitted) return;
        o.logger.warn('SSTP call refused: the calls limit is reached', { peer: call.peer.address, calls: this.#admission.limits.calls });
        o.onCallsLimit?.(call.peer.address);
        call.disconnect();
      },
      onAuthenticationWait: (waiting, call) => {
        const id = this.#calls.get(call);
        if (id === undefined) return;
        if (waiting) this.#admission.awaiting(id);
        else this.#admission.resumed(id, this.#now());
        this.#arm();
      },
      onClosed: (reason, call) => {
        this.#calls.delete(call);
        o.logger.info('SSTP call ended', { peer: call.peer.address, reason });
      },
    };
    this.#shared = { hashes, options };
    return options;
  }

  /**
   * Admission let this one go (evicted, timed out): its socket goes at once. Before TLS with a reset;
   * once TLS owns the TCP handle, through the TLS socket (resetting the handle from under TLS left a
   * closed socket spinning the event loop).
   */
  #drop(id: number): void {
    const entry = this.#unfinished.get(id);
    this.#unfinished.delete(id);
    if (entry?.driver) {
      if (entry.driver.connection) entry.driver.connection.lost('dropped before the call was established');
      entry.driver.transport.remove();
    } else if (entry?.tls) entry.tls.destroy();
    else entry?.tcp.resetAndDestroy();
  }

  #gone(id: number): void {
    this.#unfinished.delete(id);
    this.#admission.closed(id);
    this.#arm();
  }

  /** One timer for every unfinished connection: the oldest one's deadline, as admission reckons it now. */
  #arm(): void {
    const at = this.#admission.nextTimeout();
    if (at === this.#timerAt) return; // a flood re-arms on every accept and close: only a new deadline costs a timer
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (at === undefined) return;
    this.#timer = setTimeout(() => this.#onTimer(), Math.max(0, at - this.#now()));
    this.#timer.unref();
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#timerAt = undefined;
    for (const id of this.#admission.expired(this.#now())) this.#drop(id);
    this.#arm();
  }

  /** Every call gets a Call Disconnect; the sockets go with the server. */
  async stop(): Promise<void> {
    for (const call of [...this.#calls.keys()]) call.disconnect();
    for (const id of [...this.#unfinished.keys()]) this.#drop(id);
    // The driver's calls go now (their Call Disconnect is written already): the hub they use is released after.
    for (const driver of [...this.#driverCalls.values()]) {
      driver.connection?.lost('SSTP stopped');
      driver.transport.remove();
    }
    this.#engine?.close();
    this.#engine = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = undefined;
    const servers = this.#servers;
    this.#servers = [];
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}
