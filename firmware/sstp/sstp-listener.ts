/*
 * The SSTP listener: TLS on 443 with the gateway certificate ([MS-SSTP] §3.3.5.1: TLS first, then the
 * HTTP request, then SSTP), one SstpConnection per accepted socket, a bound on concurrent calls.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSecureContext, TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from '../log/logger.ts';
import type { Secret } from '../util/secret.ts';
import { SstpConnection, type SstpConnectionOptions } from './sstp-connection.ts';

export interface SstpListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly certificatePem: string;
  readonly keyPem: Secret<string>;
  /** Intermediate CA certificates sent after ours. */
  readonly chainPem?: readonly string[];
  readonly logger: Logger;
  readonly maxCalls?: number;
  /**
   * How long our first TLS flight is held after the ClientHello arrives. sstpc (1.0.18) sets up its
   * HTTP receive only when its first TLS write cannot finish at once: when the server's whole flight
   * is already there at its first read (TLS 1.3 answers a ClientHello in one flight), the handshake
   * and the HTTP request complete inside that write, the receive is never armed, and sstpc quits
   * with "The event loop terminated unsuccessfully" (seen in half the TLS 1.3 attempts, some TLS 1.2
   * ones; traced with strace in the VM lab). Holding the flight makes that first read wait. Default 30 ms.
   */
  readonly firstFlightDelayMs?: number;
  readonly connection: Omit<SstpConnectionOptions, 'certHash256' | 'certHash1' | 'logger' | 'onClosed'>;
}

/** §3.3.1 ServerCertificateHash: digests of the DER certificate the TLS layer presents. */
export function certificateHashes(certificatePem: string): { sha256: Uint8Array; sha1: Uint8Array } {
  const der = new X509Certificate(certificatePem).raw;
  return { sha256: createHash('sha256').update(der).digest(), sha1: createHash('sha1').update(der).digest() };
}

export class SstpListener {
  readonly #options: SstpListenerOptions;
  readonly #calls = new Set<SstpConnection>();
  readonly counters = { accepted: 0, refusedBusy: 0, tlsFailures: 0, handshakeTimeouts: 0 };
  #server: Server | undefined;
  #handshaking = 0;

  constructor(options: SstpListenerOptions) {
    this.#options = options;
  }

  get calls(): ReadonlySet<SstpConnection> {
    return this.#calls;
  }

  async start(): Promise<AddressInfo> {
    const o = this.#options;
    const hashes = certificateHashes(o.certificatePem);
    const context = createSecureContext({ cert: [o.certificatePem, ...(o.chainPem ?? [])].join('\n'), key: o.keyPem.reveal(), minVersion: 'TLSv1.2' });
    const server = createServer((tcp) => this.#accept(tcp, context, hashes));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => o.logger.error('SSTP listener error', { error: error.message }));
    this.#server = server;
    return server.address() as AddressInfo;
  }

  /** TCP accepted: wait for the ClientHello, hold our answer a moment (see firstFlightDelayMs), then TLS. */
  #accept(tcp: Socket, context: SecureContext, hashes: { sha256: Uint8Array; sha1: Uint8Array }): void {
    const o = this.#options;
    if (this.#calls.size + this.#handshaking >= (o.maxCalls ?? 4096)) {
      this.counters.refusedBusy++;
      tcp.destroy();
      return;
    }
    this.#handshaking++;
    let settled = false;
    const done = (): void => {
      if (settled) return;
      settled = true;
      this.#handshaking--;
      clearTimeout(timer);
    };
    // A client that stalls before or inside the handshake holds a socket: 15 s.
    const timer = setTimeout(() => {
      done();
      this.counters.handshakeTimeouts++;
      tcp.destroy();
    }, 15_000);
    timer.unref();
    tcp.on('error', () => {
      done();
      tcp.destroy();
    });
    tcp.once('data', (hello) => {
      tcp.pause();
      setTimeout(() => {
        if (tcp.destroyed) return done();
        tcp.unshift(hello);
        const socket = new TLSSocket(tcp, { isServer: true, secureContext: context });
        socket.once('secure', () => {
          done();
          this.#startCall(socket, hashes);
        });
        socket.on('error', (error) => {
          if (settled) return;
          done();
          this.counters.tlsFailures++;
          o.logger.debug('TLS handshake failed', { peer: tcp.remoteAddress, error: error.message });
          socket.destroy();
        });
      }, o.firstFlightDelayMs ?? 30).unref();
    });
  }

  #startCall(socket: TLSSocket, hashes: { sha256: Uint8Array; sha1: Uint8Array }): void {
    const o = this.#options;
    this.counters.accepted++;
    const call: SstpConnection = new SstpConnection(socket, {
      ...o.connection,
      certHash256: hashes.sha256,
      certHash1: hashes.sha1,
      logger: o.logger,
      onClosed: (reason) => {
        this.#calls.delete(call);
        o.logger.info('SSTP call ended', { peer: socket.remoteAddress, reason });
      },
    });
    this.#calls.add(call);
  }

  /** Every call gets a Call Disconnect; the sockets go with the server. */
  async stop(): Promise<void> {
    for (const call of this.#calls) call.disconnect();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
