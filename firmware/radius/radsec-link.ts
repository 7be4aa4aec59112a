/**
 * One RadSec server's TLS connection (RFC 6614), the transport shell under the RADIUS client:
 * opened when there is something to send, kept while the server keeps it (an idle close by the
 * server is not a failure), reconnected with backoff after a failure. While it cannot connect,
 * sends fail at once (`onDown`) so the engine fails over instead of waiting: a dead TLS server
 * never holds other requests up. The server's certificate must chain to the configured CA and
 * name the server; Postern presents its client certificate. No RADIUS decision is made here.
 */
import { connect, checkServerIdentity, type TLSSocket } from 'node:tls';
import { isIP } from 'node:net';
import type { Logger } from '../log/logger.ts';
import type { Secret } from '../util/secret.ts';
import { RadsecStream } from './radsec-stream.ts';

export interface RadsecTls {
  /** PEM of the CA the server's certificate must chain to. */
  readonly ca: string;
  /** The name (or address) the server's certificate must carry; its address when absent. */
  readonly serverName?: string;
  readonly certificate?: string;
  readonly key?: Secret<string>;
}

export interface RadsecLinkOptions {
  readonly server: string;
  readonly address: string;
  readonly port: number;
  readonly tls: RadsecTls;
  readonly onPacket: (bytes: Uint8Array) => void;
  /** The connection failed or broke with requests on it; told after the current call returns. */
  readonly onDown: (why: string) => void;
  readonly log?: Logger;
  readonly connectTimeoutMs?: number;
  readonly backoffMs?: { readonly initial: number; readonly max: number };
  /** The clock the backoff is reckoned on (tests step it). */
  readonly now?: () => number;
}

const DEFAULT_BACKOFF = { initial: 1000, max: 30_000 };

export interface RadsecStatus {
  readonly connected: boolean;
  readonly connects: number;
  readonly lastFailure?: string;
}

export class RadsecLink {
  readonly #o: RadsecLinkOptions;
  #socket: TLSSocket | undefined;
  #ready = false;
  readonly #queue: Uint8Array[] = [];
  /** Packets written minus packets read: whether a close loses anything. */
  #awaiting = 0;
  #backoff: number;
  #retryAt = 0;
  #lastFailure = '';
  #closed = false;
  /** Times a connection came up (for status and tests). */
  connects = 0;

  constructor(options: RadsecLinkOptions) {
    this.#o = options;
    this.#backoff = (options.backoffMs ?? DEFAULT_BACKOFF).initial;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }

  get connected(): boolean {
    return this.#ready;
  }

  /** For the RADIUS page and /healthz: up now, how often it came up, why it last failed. */
  status(): RadsecStatus {
    return { connected: this.#ready, connects: this.connects, ...(this.#lastFailure ? { lastFailure: this.#lastFailure } : {}) };
  }

  send(bytes: Uint8Array): void {
    if (this.#closed) return;
    if (this.#ready && this.#socket) {
      this.#write(bytes);
      return;
    }
    if (!this.#socket && this.#now() < this.#retryAt) {
      this.#down(`not connected (${this.#lastFailure}; next try in ${this.#retryAt - this.#now()} ms)`);
      return;
    }
    this.#queue.push(bytes);
    if (!this.#socket) this.#connect();
  }

  close(): void {
    this.#closed = true;
    this.#socket?.destroy();
    this.#socket = undefined;
    this.#ready = false;
  }

  #write(bytes: Uint8Array): void {
    this.#awaiting++;
    this.#socket!.write(bytes);
  }

  #connect(): void {
    const { tls } = this.#o;
    const name = tls.serverName ?? this.#o.address;
    const socket = connect({
      host: this.#o.address,
      port: this.#o.port,
      ca: tls.ca,
      ...(tls.certificate && tls.key ? { cert: tls.certificate, key: tls.key.reveal() } : {}),
      ...(isIP(name) === 0 ? { servername: name } : {}),
      minVersion: 'TLSv1.2',
      // The certificate must name the server we meant (an address SAN for an address), not only chain to the CA.
      checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert),
    });
    this.#socket = socket;
    const stream = new RadsecStream();
    let failed = false;
    const fail = (why: string) => {
      if (failed || this.#socket !== socket) return;
      failed = true;
      this.#lost(socket, why);
    };
    socket.setTimeout(this.#o.connectTimeoutMs ?? 5000, () => fail('no TLS connection within the timeout'));
    socket.on('secureConnect', () => {
      socket.setTimeout(0);
      socket.setKeepAlive(true, 30_000);
      this.#ready = true;
      this.connects++;
      this.#backoff = (this.#o.backoffMs ?? DEFAULT_BACKOFF).initial;
      this.#o.log?.info('RadSec connected', { server: this.#o.server, protocol: socket.getProtocol() ?? undefined });
      for (const bytes of this.#queue.splice(0)) this.#write(bytes);
    });
    socket.on('data', (chunk: Buffer) => {
      const r = stream.push(chunk);
      if ('broken' in r) return fail(`broken stream: ${r.broken}`);
      for (const packet of r.packets) {
        this.#awaiting = Math.max(0, this.#awaiting - 1);
        this.#o.onPacket(packet);
      }
    });
    socket.on('error', (error) => fail(error.message));
    socket.on('close', () => fail('closed by the server'));
  }

  /** The connection is gone: quietly when the server closed an idle one, else a failure with backoff. */
  #lost(socket: TLSSocket, why: string): void {
    const wasReady = this.#ready;
    socket.destroy();
    this.#socket = undefined;
    this.#ready = false;
    if (this.#closed) return;
    if (wasReady && this.#awaiting === 0 && this.#queue.length === 0) {
      this.#o.log?.info('RadSec connection closed while idle', { server: this.#o.server, why });
      return;
    }
    this.#awaiting = 0;
    this.#queue.length = 0;
    this.#lastFailure = why;
    this.#retryAt = this.#now() + this.#backoff;
    this.#o.log?.warn('RadSec connection failed', { server: this.#o.server, why, retryInMs: this.#backoff });
    this.#backoff = Math.min(2 * this.#backoff, (this.#o.backoffMs ?? DEFAULT_BACKOFF).max);
    this.#down(why);
  }

  /** After the caller's turn: the engine is never re-entered from inside its own actions. */
  #down(why: string): void {
    queueMicrotask(() => {
      if (!this.#closed) this.#o.onDown(why);
    });
  }
}
