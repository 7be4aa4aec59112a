/*
 * Postern as an SSTP client: TLS to the server (its certificate checked against the given CA), the
 * HTTP exchange, the client session engine, and a PPP link authenticating with MS-CHAPv2. IP packets
 * come out through `onIp` and go in with `sendIp`. Used for load generation and the site-to-site dialer.
 *
 * Issue 23: the call's TLS runs in the driver when it can (driver-dial.ts: the same CA and name
 * check, the certificate handed up for the pin, revocation and crypto binding), and once the
 * site's subnets lead to the call (`routed`) so does its IP; otherwise Node's TLS (node-tls-dial.ts),
 * said once in the log.
 */
import { createHash, randomUUID, type X509Certificate } from 'node:crypto';
import type { NativeHub } from '../../dataplane/native-hub.ts';
import { MAX_SOURCES } from '../../dataplane/native-ppp.ts';
import type { Logger } from '../../log/logger.ts';
import type { CarriedCounts } from '../../sites/ppp-site-link.ts';
import type { PppClientLink, ClientLinkAction } from '../../ppp/client-link.ts';
import { dialingLink, PppCallOutcome } from '../../ppp/client-call.ts';
import { encodePppFrame, PppProtocol } from '../../ppp/frame.ts';
import { FsmState } from '../../ppp/fsm.ts';
import type { Secret } from '../../util/secret.ts';
import { readResponseHead, sstpRequestHead } from './client-http.ts';
import { SstpClientSession, type SstpClientAction } from './client-session.ts';
import { issuerIn } from '../../revocation/tls-peer.ts';
import { DriverDial, driverDialUnavailable, type DialEvents, type DialTarget, type DialTransport } from './driver-dial.ts';
import { NodeTlsDial } from './node-tls-dial.ts';

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
  /** Issue 23: TLS (and, once routed, IP) in the driver when it can (default), or on Node's TLS. */
  readonly dataPath?: 'native' | 'javascript';
  /** The shared TUN's hub and the site's subnets, for the call's IP in the driver; without them IP stays here. */
  readonly hub?: NativeHub;
  readonly remoteSubnets?: readonly string[];
}

/** The driver's refusal to dial, logged once per process (every later call takes the same path). */
let fallbackLogged = false;

const normalPin = (text: string) => text.replace(/:/g, '').toLowerCase();
const samePin = (seen: string | undefined, pinned: string) => seen !== undefined && normalPin(seen) === normalPin(pinned);

export class SstpDialer {
  readonly #outcome = new PppCallOutcome();
  /** Resolves with the addresses IPCP agreed once the call is up; rejects if it never gets there. */
  readonly ready = this.#outcome.ready;
  /** Resolves with the reason once the call is over. */
  readonly closed = this.#outcome.closed;
  readonly #o: SstpDialOptions;
  readonly #transport: DialTransport;
  readonly #link: PppClientLink;
  #session: SstpClientSession | undefined;
  #head = Buffer.alloc(0);
  #peerCert: X509Certificate | undefined;
  #timer: NodeJS.Timeout | undefined;
  #done = false;

  constructor(options: SstpDialOptions) {
    this.#o = options;
    this.#link = dialingLink({ user: options.user, password: options.password, auth: options.auth ?? 'mschapv2', askDns: true });
    const events: DialEvents = {
      secure: (certificate, issuer) => this.#secure(certificate, issuer),
      data: (chunk) => this.#onData(chunk),
      closed: (reason) => this.#end(reason),
    };
    this.#transport = this.#open(events);
  }

  /** The driver's TLS when it can, else Node's (said once). */
  #open(events: DialEvents): DialTransport {
    const o = this.#o;
    const verify = !o.fingerprint && (o.rejectUnauthorized ?? true);
    const target: DialTarget = { host: o.host, port: o.port, localAddress: o.localAddress, ca: verify ? (o.ca ?? undefined) : undefined, serverName: o.servername ?? o.host };
    const why = o.dataPath === 'javascript' ? undefined : driverDialUnavailable();
    if (o.dataPath !== 'javascript' && !why) {
      try {
        return new DriverDial({ ...target, ca: verify ? (o.ca ?? DriverDial.defaultCa()) : undefined }, events);
      } catch (error) {
        this.#fallback(error instanceof Error ? error.message : String(error));
      }
    } else if (why) this.#fallback(why);
    return new NodeTlsDial({ ...target, verify }, events);
  }

  #fallback(why: string): void {
    if (fallbackLogged) return;
    fallbackLogged = true;
    this.#o.logger.info('SSTP dialing on Node\'s TLS: the driver cannot dial', { reason: why });
  }

  #secure(certificate: X509Certificate, issuer: X509Certificate | undefined): void {
    if (this.#done) return;
    // Kept from the handshake: the crypto binding hashes it, and a pin is checked before anything is sent.
    this.#peerCert = certificate;
    const options = this.#o;
    if (options.fingerprint && !samePin(certificate.fingerprint256, options.fingerprint)) return this.#end('the server certificate does not match the pinned fingerprint');
    if (!options.checkRevocation || options.fingerprint) return this.#sendHead();
    options.checkRevocation(certificate, issuer ?? issuerIn(options.ca, certificate)).then(
      (refused) => (refused ? this.#end(refused) : this.#sendHead()),
      (error: unknown) => this.#end(`revocation check: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  #sendHead(): void {
    if (this.#done) return;
    this.#o.onProgress?.('tls');
    this.#transport.write(sstpRequestHead(this.#o.servername ?? this.#o.host, randomUUID().toUpperCase()));
  }

  sendIp(packet: Uint8Array): void {
    if (this.#done || this.#link.ipcp.state !== FsmState.Opened) return;
    this.#ppp([{ type: 'send', protocol: PppProtocol.IPv4, packet }]);
  }

  /**
   * The site's subnets lead to the call (the hub's routes to the call's pipe tag are in): its IP
   * moves between the hub and the call in the driver, when the call is there. `through` names the
   * hub and subnets when the options did not (a load generator's TUN made after the call came up).
   */
  routed(through?: { readonly hub: NativeHub; readonly subnets: readonly string[] }): void {
    const hub = through?.hub ?? this.#o.hub;
    const sources = through?.subnets ?? this.#o.remoteSubnets ?? [];
    const t = this.#transport;
    if (this.#done || !(t instanceof DriverDial) || !hub || sources.length === 0 || sources.length > MAX_SOURCES) return;
    const mtu = Math.max(576, Math.min(this.#link.lcp.negotiated.peerMru, 4091));
    const refused = t.startData(mtu, sources, hub);
    if (refused) this.#o.logger.info('the driver cannot carry this SSTP call\'s IP: JavaScript carries it', { host: this.#o.host, reason: refused });
    else this.#o.logger.info('SSTP call\'s IP in the driver', { host: this.#o.host, subnets: sources, records: t.records() });
  }

  /** What the driver carried for the call so far (nothing when JavaScript carried it all). */
  driverCarried(): CarriedCounts | undefined {
    return this.#transport instanceof DriverDial ? this.#transport.carried() : undefined;
  }

  /** TLS 1.3 KeyUpdates on the call's driver TLS (read, sent); undefined on Node's TLS. */
  tlsKeyUpdates(): { in: number; out: number } | undefined {
    return this.#transport instanceof DriverDial ? this.#transport.keyUpdates() : undefined;
  }

  /** Whose TLS the call runs on. */
  get tlsIn(): 'driver' | 'node' {
    return this.#transport instanceof DriverDial ? 'driver' : 'node';
  }

  disconnect(): void {
    if (this.#done) return;
    // The data path off the hub now: the site's lease of the shared TUN may end before the call does.
    if (this.#transport instanceof DriverDial) this.#transport.stopData();
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
      if (a.type === 'send') this.#transport.write(a.packet);
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
    this.#transport.end();
    this.#outcome.close(reason);
  }
}
