/*
 * Postern as an SSTP client: TLS to the server (its certificate checked against the given CA), the
 * HTTP exchange, the client session engine, and a PPP link authenticating with MS-CHAPv2. IP packets
 * come out through `onIp` and go in with `sendIp`. Used for load generation and the site-to-site dialer.
 */
import { createHash, randomUUID, type X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import type { Logger } from '../../log/logger.ts';
import type { PppClientLink, ClientLinkAction } from '../../ppp/client-link.ts';
import { dialingLink, PppCallOutcome } from '../../ppp/client-call.ts';
import { encodePppFrame, PppProtocol } from '../../ppp/frame.ts';
import { FsmState } from '../../ppp/fsm.ts';
import type { Secret } from '../../util/secret.ts';
import { readResponseHead, sstpRequestHead } from './client-http.ts';
import { SstpClientSession, type SstpClientAction } from './client-session.ts';
import { issuerIn } from '../../revocation/tls-peer.ts';

export interface SstpDialOptions {
  readonly host: string;
  readonly port: number;
  /** The name the server's certificate must carry (defaults to host). */
  readonly servername?: string;
  readonly ca?: string;
  readonly rejectUnauthorized?: boolean;
  /** Pins the server certificate by its SHA-256 fingerprint (hex, colons optional) instead of a CA. */
  readonly fingerprint?: string;
  readonly user: string;
  readonly password: Secret<string>;
  /** How we authenticate: MS-CHAPv2 (default) or EAP-MSCHAPv2, as Windows' "secured password (EAP)". */
  readonly auth?: 'mschapv2' | 'eap';
  readonly logger: Logger;
  readonly onIp?: (packet: Uint8Array) => void;
  /** Each step passed: TLS up and the certificate accepted, then the SSTP call answered (a site's Test shows them). */
  readonly onProgress?: (step: 'tls' | 'sstp') => void;
  /** A local address to dial from (load tests open many calls from one host). */
  readonly localAddress?: string;
  /**
   * The server certificate's revocation (issue 16), asked once TLS verified the chain and before
   * anything is sent: a reason ends the call. Not asked for a pinned certificate (the pin is the trust).
   */
  readonly checkRevocation?: (certificate: X509Certificate, issuer: X509Certificate | undefined) => Promise<string | undefined>;
}

const normalPin = (text: string) => text.replace(/:/g, '').toLowerCase();
const samePin = (seen: string | undefined, pinned: string) => seen !== undefined && normalPin(seen) === normalPin(pinned);

export class SstpDialer {
  readonly #outcome = new PppCallOutcome();
  /** Resolves with the addresses IPCP agreed once the call is up; rejects if it never gets there. */
  readonly ready = this.#outcome.ready;
  /** Resolves with the reason once the call is over. */
  readonly closed = this.#outcome.closed;
  readonly #o: SstpDialOptions;
  readonly #socket: TLSSocket;
  readonly #link: PppClientLink;
  #session: SstpClientSession | undefined;
  #head = Buffer.alloc(0);
  #peerCert: X509Certificate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #done = false;

  constructor(options: SstpDialOptions) {
    this.#o = options;
    this.#link = dialingLink({ user: options.user, password: options.password, auth: options.auth ?? 'mschapv2', askDns: true });
    this.#socket = connect({
      host: options.host, port: options.port, ...(isIP(options.servername ?? options.host) ? {} : { servername: options.servername ?? options.host }), ...(options.ca ? { ca: options.ca } : {}),
      rejectUnauthorized: options.fingerprint ? false : (options.rejectUnauthorized ?? true), ...(options.localAddress ? { localAddress: options.localAddress } : {}),
    });
    this.#socket.setNoDelay(true);
    this.#socket.once('secureConnect', () => {
      // Kept from the handshake: the crypto binding hashes it, and a pin is checked before anything is sent.
      this.#peerCert = this.#socket.getPeerX509Certificate();
      if (options.fingerprint && !samePin(this.#peerCert?.fingerprint256, options.fingerprint)) return this.#end('the server certificate does not match the pinned fingerprint');
      const peer = this.#peerCert;
      if (!options.checkRevocation || options.fingerprint || !peer) return this.#sendHead();
      options.checkRevocation(peer, peer.issuerCertificate ?? issuerIn(options.ca, peer)).then(
        (refused) => (refused ? this.#end(refused) : this.#sendHead()),
        (error: unknown) => this.#end(`revocation check: ${error instanceof Error ? error.message : String(error)}`),
      );
    });
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    this.#socket.on('error', (e) => this.#end(`TLS: ${e.message}`));
    this.#socket.on('close', () => this.#end('the server closed the connection'));
  }

  #sendHead(): void {
    if (this.#done) return;
    this.#o.onProgress?.('tls');
    this.#socket.write(sstpRequestHead(this.#o.servername ?? this.#o.host, randomUUID().toUpperCase()));
  }

  sendIp(packet: Uint8Array): void {
    if (this.#done || this.#link.ipcp.state !== FsmState.Opened) return;
    this.#ppp([{ type: 'send', protocol: PppProtocol.IPv4, packet }]);
  }

  disconnect(): void {
    if (this.#done) return;
    this.#ppp(this.#link.close(Date.now(), 'hang-up'));
    this.#run(this.#session?.handle({ type: 'CmdDisconnect' }, Date.now()) ?? []);
  }

  #onData(chunk: Buffer): void {
    if (this.#done) return;
    if (this.#session) return this.#run(this.#session.handle({ type: 'RcvStream', bytes: chunk }, Date.now()));
    this.#head = Buffer.concat([this.#head, chunk]);
    const head = readResponseHead(this.#head);
    if (head.kind === 'incomplete') return;
    if (head.kind === 'refused') return this.#end(`HTTP: ${head.why}`);
    const cert = this.#peerCert;
    if (!cert) return this.#end('no server certificate');
    this.#o.onProgress?.('sstp');
    this.#session = new SstpClientSession({ certHash256: createHash('sha256').update(cert.raw).digest(), certHash1: createHash('sha1').update(cert.raw).digest() }, Date.now());
    this.#run(this.#session.drain());
    const rest = this.#head.subarray(head.headLength);
    if (rest.length) this.#run(this.#session.handle({ type: 'RcvStream', bytes: rest }, Date.now()));
  }

  #run(actions: readonly SstpClientAction[]): void {
    for (const a of actions) {
      if (a.type === 'send') this.#socket.write(a.packet);
      else if (a.type === 'start-ppp') this.#ppp(this.#link.lowerUp(Date.now()));
      else if (a.type === 'deliver-ppp') this.#ppp(this.#link.receiveFrame(a.frame, Date.now()));
      else if (a.type === 'close') return this.#end(a.reason);
      else if (a.type === 'log' && a.level !== 'debug') this.#o.logger[a.level](a.msg);
    }
    this.#arm();
  }

  #ppp(actions: readonly ClientLinkAction[]): void {
    for (const a of actions) {
      if (a.type === 'send') this.#run(this.#session?.handle({ type: 'CmdSendPpp', frame: encodePppFrame({ protocol: a.protocol, information: a.packet }, { addressControl: true }) }, Date.now()) ?? []);
      else if (a.type === 'deliver') this.#o.onIp?.(a.packet);
      else if (a.type === 'authenticated') this.#run(this.#session?.handle(a.keys?.hlak ? { type: 'RcvPppAuthenticated', hlak: a.keys.hlak } : { type: 'RcvPppAuthenticated' }, Date.now()) ?? []);
      else if (a.type === 'auth-failed') this.#outcome.fail(new Error(`authentication failed: ${a.reason}`));
      else if (a.type === 'network-up') this.#outcome.up(a.ipv4);
      else if (a.type === 'dead') {
        this.#outcome.fail(new Error(`PPP ended: ${a.reason}`));
        this.#run(this.#session?.handle({ type: 'CmdDisconnect' }, Date.now()) ?? []);
      }
    }
    this.#arm();
  }

  #arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#done) return;
    const times = [this.#session?.nextTimeout(), this.#link.nextTimeout()].filter((t): t is number => t !== undefined);
    if (!times.length) return;
    this.#timer = setTimeout(() => {
      const now = Date.now();
      if (this.#session) this.#run(this.#session.handle({ type: 'Timeout' }, now));
      this.#ppp(this.#link.tick(now));
    }, Math.max(0, Math.min(...times) - Date.now()));
    this.#timer.unref();
  }

  #end(reason: string): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#link.lowerDown(Date.now(), reason);
    this.#outcome.fail(new Error(reason));
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
    this.#outcome.close(reason);
  }
}
