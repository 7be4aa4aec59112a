/*
 * Postern as an L2TP client (LAC) for `protocol: l2tp` sites (issue 20): once the site's IKEv1
 * transport SA is up, one tunnel and one session to the LNS on UDP 1701, and a PPP link that logs in
 * with MS-CHAPv2 and takes the address IPCP offers. IP packets come out through `onIp` and go in with
 * `sendIp`. The engines (control-connection.ts, ppp/client-link.ts) decide; this shell does the I/O.
 *
 * The socket binds the WAN address's port 1701 beside the LNS's (SO_REUSEADDR) and is connected to
 * the peer, so the kernel hands this socket the peer's datagrams and the LNS everyone else's; the
 * transport SA's policy (UDP 1701 between the two hosts) seals what it sends, both ways.
 */
import { carriedIp, type PppDataSessionSpec } from '../dataplane/native-ppp.ts';
import type { PppDataPath } from '../ike/l2tp-ppp-data.ts';
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from '../log/logger.ts';
import type { PppClientLink, ClientLinkAction } from '../ppp/client-link.ts';
import { dialingLink, PppCallOutcome } from '../ppp/client-call.ts';
import { encodePppFrame, PppProtocol } from '../ppp/frame.ts';
import { FsmState } from '../ppp/fsm.ts';
import type { CarriedCounts } from '../sites/ppp-site-link.ts';
import type { Secret } from '../util/secret.ts';
import { L2tpTunnel, type TunnelAction } from './control-connection.ts';
import { DataSequencing, encodeDataMessage } from './data-message.ts';
import { decodeL2tpPacket, L2TP_PORT } from './header.ts';

export type L2tpDialStep = 'ipsec' | 'tunnel';

/** How a call's L2TP datagrams (UDP 1701 payloads) reach the LNS and come back. */
export interface L2tpCarrier {
  send(datagram: Uint8Array): void;
  close(): void;
}

export interface L2tpDialOptions {
  /** The LNS's address. */
  readonly host: string;
  /** Our WAN address (the transport SA's). */
  readonly localAddress: string;
  readonly hostName: string;
  readonly user: string;
  readonly password: Secret<string>;
  /** The tunnel secret (§4.2), when the LNS asks for one. */
  readonly secret?: Secret<Uint8Array>;
  /** Resolves once L2TP to the host is protected by IPsec, or with why it is not (the call then ends). */
  readonly ipsec: () => Promise<string | undefined>;
  /** Whether the IPsec SA is still up: the call ends soon after it goes (a peer's Delete, DPD). */
  readonly ipsecUp: () => boolean;
  readonly logger: Logger;
  readonly onIp?: (packet: Uint8Array) => void;
  readonly onProgress?: (step: L2tpDialStep) => void;
  /** Issue 20: once IPCP opens, the call's IP framed and deframed in the driver on the site's SA (the prefixes routed to the call); undefined keeps it here. */
  readonly pppData?: (spec: PppDataSessionSpec) => PppDataPath | undefined;
  /** The site's remote subnets: routed to the call and allowed from it in the driver. */
  readonly remoteSubnets?: readonly string[];
  /**
   * Another way for the datagrams than the socket on `localAddress`:1701: the L2TP load benchmark's
   * clients (many addresses, one process) send and receive through their transport SA directly.
   */
  readonly carrier?: (receive: (datagram: Uint8Array) => void) => L2tpCarrier;
}

/**
 * Lower than the LNS's 1380 (l2tp-subsystem.ts): our own datagrams reach the transport SA through
 * the shared TUN (MTU 1400, access-resources.ts) by the steering rule, so a frame must leave room
 * for IP 20, UDP 8, L2TP 8 and PPP 4 inside 1400. The LNS clamps TCP toward us to it (issue 20), so
 * full-size segments of a site's flows fit both ways.
 */
const L2TP_MRU = 1360;
/** Over IPv6 (issue 24) the datagram's own header is 40 bytes, not 20: 20 less, or the kernel would fragment it into the TUN. */
const L2TP_MRU_IPV6 = 1340;

export class L2tpDialer {
  readonly #outcome = new PppCallOutcome();
  readonly ready = this.#outcome.ready;
  readonly closed = this.#outcome.closed;
  readonly #o: L2tpDialOptions;
  readonly #link: PppClientLink;
  readonly #tunnel: L2tpTunnel;
  readonly #sequencing = new DataSequencing(false);
  readonly #localSessionId = randomInt(1, 0x10000);
  readonly #localTunnelId = randomInt(1, 0x10000);
  #dataPath: PppDataPath | undefined;
  #carriedByClosedPath: CarriedCounts | undefined;
  #socket: Socket | undefined;
  #carrier: L2tpCarrier | undefined;
  #peerTunnelId = 0;
  #peerSessionId: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #watch: NodeJS.Timeout | undefined;
  #done = false;

  constructor(options: L2tpDialOptions) {
    this.#o = options;
    const random = (n: number) => new Uint8Array(randomBytes(n));
    this.#link = dialingLink({ user: options.user, password: options.password, mru: options.host.includes(':') ? L2TP_MRU_IPV6 : L2TP_MRU, askDns: false });
    this.#tunnel = new L2tpTunnel({ role: 'lac', hostName: options.hostName, localTunnelId: this.#localTunnelId, random, ...(options.secret ? { secret: options.secret } : {}) });
    options.ipsec().then(
      (refused) => (refused ? this.#end(refused) : this.#open()),
      (error: unknown) => this.#end(`IPsec: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  #open(): void {
    if (this.#done) return;
    this.#o.onProgress?.('ipsec');
    // Without its SA the call's datagrams would leave in plain text or not at all: end it and redial.
    this.#watch = setInterval(() => this.#o.ipsecUp() || this.#end(`IPsec with ${this.#o.host} went down`), 1000);
    this.#watch.unref();
    if (this.#o.carrier) {
      this.#carrier = this.#o.carrier((bytes) => this.#receive(bytes));
      return this.#run(this.#tunnel.handle({ kind: 'CmdOpen' }, Date.now()));
    }
    // Issue 24: an IPv6 peer over the WAN's IPv6 address (its transport SA is IPv6 too).
    const socket = createSocket({ type: this.#o.host.includes(':') ? 'udp6' : 'udp4', reuseAddr: true });
    this.#socket = socket;
    socket.on('error', (error) => this.#end(`L2TP socket: ${error.message}`));
    socket.on('message', (bytes) => this.#receive(bytes));
    socket.bind(L2TP_PORT, this.#o.localAddress, () => {
      socket.connect(L2TP_PORT, this.#o.host, () => this.#run(this.#tunnel.handle({ kind: 'CmdOpen' }, Date.now())));
    });
  }

  sendIp(packet: Uint8Array): void {
    if (this.#done || this.#link.ipcp.state !== FsmState.Opened) return;
    this.#ppp([{ type: 'send', protocol: PppProtocol.IPv4, packet }]);
  }

  /** LCP Terminate, then CDN and StopCCN; the socket stays a moment for their acknowledgements. */
  disconnect(): void {
    if (this.#done) return;
    this.#ppp(this.#link.close(Date.now(), 'hang-up'));
    this.#run(this.#tunnel.handle({ kind: 'CmdClose', resultCode: { result: 1, error: 0, message: 'hang-up' } }, Date.now()));
    this.#end('hang-up');
  }

  #receive(bytes: Uint8Array): void {
    if (this.#done) return;
    const p = decodeL2tpPacket(bytes);
    if (!p.ok) return;
    const header = p.value.header;
    if (header.type === 'control') return this.#run(this.#tunnel.handle({ kind: 'RcvDatagram', bytes }, Date.now()));
    if (header.sessionId !== this.#localSessionId || this.#peerSessionId === undefined || !this.#sequencing.accept(header)) return;
    this.#ppp(this.#link.receiveFrame(p.value.payload, Date.now()));
  }

  #run(actions: readonly TunnelAction[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'Send': this.#send(a.datagram); break;
        case 'TunnelUp':
          this.#peerTunnelId = a.peerTunnelId;
          this.#o.onProgress?.('tunnel');
          this.#run(this.#tunnel.handle({ kind: 'CmdOpenSession', localSessionId: this.#localSessionId, callSerialNumber: 1 }, Date.now()));
          break;
        case 'SessionUp':
          this.#peerSessionId = a.peerSessionId;
          this.#ppp(this.#link.lowerUp(Date.now()));
          break;
        case 'SessionDown': return this.#end(`L2TP session closed: ${a.reason}`);
        case 'TunnelDown': return this.#end(`L2TP tunnel closed: ${a.reason}`);
        case 'Dropped': break;
      }
    }
    this.#arm();
  }

  #ppp(actions: readonly ClientLinkAction[]): void {
    for (const a of actions) {
      if (a.type === 'send') this.#sendFrame(encodePppFrame({ protocol: a.protocol, information: a.packet }, { addressControl: true }));
      else if (a.type === 'deliver') this.#o.onIp?.(a.packet);
      else if (a.type === 'auth-failed') this.#outcome.fail(new Error(`authentication failed: ${a.reason}`));
      else if (a.type === 'network-up') this.#outcome.up(a.ipv4);
      else if (a.type === 'dead') {
        this.#run(this.#tunnel.handle({ kind: 'CmdClose', resultCode: { result: 1, error: 0, message: 'PPP ended' } }, Date.now()));
        return this.#end(`PPP ended: ${a.reason}`);
      }
    }
    this.#arm();
  }

  /** What the driver carried for the call so far, kept when its data path closes (the site's counters). */
  driverCarried(): CarriedCounts | undefined {
    return this.#carriedByClosedPath ?? carriedIp(this.#dataPath?.stats());
  }

  /** Issue 20: the site's subnets are routed to the call: its IP in the driver from now on (numbered data stays here: the driver does not number). */
  routed(): void {
    const sources = this.#o.remoteSubnets ?? [];
    if (this.#dataPath || !this.#o.pppData || this.#peerSessionId === undefined || this.#sequencing.enabled || sources.length === 0) return;
    const mtu = Math.max(576, Math.min(this.#link.lcp.negotiated.peerMru, 0xffff));
    this.#dataPath = this.#o.pppData({ tunnelId: this.#localTunnelId, sessionId: this.#localSessionId, peerTunnelId: this.#peerTunnelId, peerSessionId: this.#peerSessionId, localPort: L2TP_PORT, peerPort: L2TP_PORT, mtu, sources });
    if (!this.#dataPath) this.#o.logger.info('the driver cannot carry this L2TP call\'s PPP data: JavaScript carries it', { host: this.#o.host });
  }

  #sendFrame(frame: Uint8Array): void {
    if (this.#peerSessionId === undefined) return;
    this.#send(encodeDataMessage(this.#peerTunnelId, this.#peerSessionId, frame, this.#sequencing.nextNs()));
  }

  #send(datagram: Uint8Array): void {
    if (this.#carrier) return this.#carrier.send(datagram);
    this.#socket?.send(datagram, (error) => error && this.#o.logger.debug('L2TP send failed', { error: error.message }));
  }

  #arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#done) return;
    const times = [this.#tunnel.nextTimeout(), this.#link.nextTimeout()].filter((t): t is number => t !== undefined);
    if (!times.length) return;
    this.#timer = setTimeout(() => {
      const now = Date.now();
      this.#run(this.#tunnel.handle({ kind: 'Timeout' }, now));
      this.#ppp(this.#link.tick(now));
    }, Math.max(0, Math.min(...times) - Date.now()));
    this.#timer.unref();
  }

  #end(reason: string): void {
    if (this.#done) return;
    this.#done = true;
    this.#carriedByClosedPath = this.driverCarried();
    this.#dataPath?.close();
    this.#dataPath = undefined;
    if (this.#timer) clearTimeout(this.#timer);
    clearInterval(this.#watch);
    this.#link.lowerDown(Date.now(), reason);
    this.#outcome.fail(new Error(reason));
    const carrier = this.#carrier;
    if (carrier) setTimeout(() => carrier.close(), 1000).unref();
    const socket = this.#socket;
    if (socket) setTimeout(() => { try { socket.close(); } catch { /* closed by an error already */ } }, 1000).unref();
    this.#outcome.close(reason);
  }
}
