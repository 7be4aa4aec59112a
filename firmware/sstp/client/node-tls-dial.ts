/*
 * A dialed SSTP call on Node's TLS: the JavaScript path, for a driver that cannot dial (or when told).
 * The server's certificate is checked by Node (CA and name) unless pinned or unverified.
 */
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import type { DialEvents, DialTarget, DialTransport } from './driver-dial.ts';

export class NodeTlsDial implements DialTransport {
  readonly #socket: TLSSocket;

  constructor(target: DialTarget & { readonly verify: boolean }, events: DialEvents) {
    const name = target.serverName ?? target.host;
    this.#socket = connect({
      host: target.host, port: target.port, ...(isIP(name) ? {} : { servername: name }), ...(target.ca ? { ca: target.ca } : {}),
      rejectUnauthorized: target.verify, ...(target.localAddress ? { localAddress: target.localAddress } : {}),
    });
    this.#socket.setNoDelay(true);
    this.#socket.once('secureConnect', () => {
      const certificate = this.#socket.getPeerX509Certificate();
      if (certificate) events.secure(certificate, certificate.issuerCertificate);
      else events.closed('no server certificate');
    });
    this.#socket.on('data', (chunk: Buffer) => events.data(chunk));
    this.#socket.on('error', (e) => events.closed(`TLS: ${e.message}`));
    this.#socket.on('close', () => events.closed('the server closed the connection'));
  }

  write(bytes: Uint8Array): void {
    if (!this.#socket.destroyed) this.#socket.write(bytes);
  }

  end(): void {
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }
}

