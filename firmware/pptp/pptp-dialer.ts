/*
 * Postern as a PPTP client (PNS) for `protocol: pptp` sites (issue 22): a TCP control connection to
 * the peer's port 1723 (client-connection.ts), one outgoing call, and a PPP link over the driver's
 * enhanced GRE channel that logs in with MS-CHAPv2 and requires MPPE-128 (stateless). IP packets come
 * out through `onIp` and go in with `sendIp`. The engines decide; this shell does the I/O.
 *
 * Each call opens its own GRE channel on the address the TCP connection left from (a raw socket sees
 * every GRE packet; the channel keeps only those of its calls from its peer), so a PPTP listener on
 * the same gateway is not disturbed.
 *
 * Issue 22: once the site's subnets are routed to the call (`routed`), its IP and MPPE run in the
 * driver (the GRE channel's data path): the link hands its stateless MPPE over, the subnets lead
 * from the hub to the call and are the only sources let in. Should the link change under it (CCP
 * opened again, IPCP down) the call ends and the site link dials again.
 */
import { randomInt } from 'node:crypto';
import { connect, isIPv6, Socket } from 'node:net';
import type { NativeHub } from '../dataplane/native-hub.ts';
import { carriedIp, MAX_SOURCES } from '../dataplane/native-ppp.ts';
import { NativePptpGre } from '../dataplane/native-pptp.ts';
import { FsmState } from '../ppp/fsm.ts';
import type { MppeCiphers } from '../ppp/mppe/mppe-ciphers.ts';
import type { Logger } from '../log/logger.ts';
import { dialingLink, PppCallOutcome } from '../ppp/client-call.ts';
import type { ClientLinkAction, PppClientLink } from '../ppp/client-link.ts';
import { encodePppFrame, PppProtocol } from '../ppp/frame.ts';
import { addCarried, type CarriedCounts } from '../sites/ppp-site-link.ts';
import type { Secret } from '../util/secret.ts';
import { PptpClientConnection, type ClientAction } from './client-connection.ts';
import { PPTP_PORT } from './control-message.ts';

export type PptpDialStep = 'control' | 'call';

export interface PptpDialOptions {
  readonly host: string;
  readonly hostName: string;
  readonly user: string;
  readonly password: Secret<string>;
  /** MS-CHAPv2 unless told MS-CHAPv1 (a legacy server that knows nothing newer; it keys MPPE too). */
  readonly auth?: 'mschapv2' | 'mschapv1';
  readonly logger: Logger;
  /** Overrides the server's port (tests). */
  readonly port?: number;
  /** The address to call from (a load generator's many clients); the route's choice when absent. */
  readonly localAddress?: string;
  readonly onIp?: (packet: Uint8Array) => void;
  readonly onProgress?: (step: PptpDialStep) => void;
  /** Issue 22: the shared TUN's hub and the site's subnets, for the call's data path in the driver; without them IP stays here. */
  readonly hub?: NativeHub;
  readonly remoteSubnets?: readonly string[];
}

/**
 * Issue 24: PPTP has no IPv6 transport in the clients and servers it meets (Windows dials PPTP over
 * IPv4 only, SSTP and L2TP/IPsec over either; pptp-linux speaks IPv4 only), so a name is looked up
 * for its IPv4 address alone and an IPv6 peer is refused before any packet.
 */
export const PPTP_IPV4_ONLY = 'PPTP runs over IPv4 only (Windows and pptp-linux too): the peer needs an IPv4 address';

/** As the server's (pptp-subsystem.ts): IP, enhanced GRE, PPP and MPPE headers inside 1500. */
const PPTP_MRU = 1400;

export class PptpDialer {
  readonly #outcome = new PppCallOutcome();
  readonly ready = this.#outcome.ready;
  readonly closed = this.#outcome.closed;
  readonly #o: PptpDialOptions;
  readonly #link: PppClientLink;
  readonly #control: PptpClientConnection;
  readonly #callId = randomInt(1, 0x10000);
  readonly #socket: Socket;
  #gre: NativePptpGre | undefined;
  #timer: NodeJS.Timeout | undefined;
  #done = false;
  /** The ciphers the driver holds (issue 22). */
  #inDriver: MppeCiphers | undefined;
  #carriedByStoppedPaths: CarriedCounts = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 };
  #routed = false;

  constructor(options: PptpDialOptions) {
    this.#o = options;
    this.#link = dialingLink({ user: options.user, password: options.password, ...(options.auth ? { auth: options.auth } : {}), mru: PPTP_MRU, askDns: false, mppe: { mode: 'require', strengths: [128], allowStateful: false } });
    this.#control = new PptpClientConnection({ hostName: options.hostName, callId: this.#callId }, Date.now());
    const v6 = isIPv6(options.host);
    const socket = v6 ? new Socket() : connect({ host: options.host, port: options.port ?? PPTP_PORT, family: 4, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    this.#socket = socket;
    if (v6) queueMicrotask(() => this.#end(`${PPTP_IPV4_ONLY}, not ${options.host}`));
    socket.setNoDelay(true);
    socket.on('connect', () => this.#run(this.#control.handle({ kind: 'CmdStart' }, Date.now())));
    socket.on('data', (bytes) => this.#run(this.#control.handle({ kind: 'RcvBytes', bytes }, Date.now())));
    socket.on('error', (error: NodeJS.ErrnoException) => this.#end(`PPTP control connection: ${error.message}${error.code === 'ENOTFOUND' || error.code === 'ENODATA' ? ` (${PPTP_IPV4_ONLY})` : ''}`));
    socket.on('close', () => this.#run(this.#control.handle({ kind: 'TransportClosed' }, Date.now())));
  }

  sendIp(packet: Uint8Array): void {
    if (this.#done) return;
    const framed = this.#link.encapsulate(PppProtocol.IPv4, packet);
    if (framed) this.#sendFrame(encodePppFrame({ protocol: framed.protocol, information: framed.information }, { addressControl: true }));
  }

  /** Issue 22: the site's subnets lead to the call: its IP and stateless MPPE in the driver from now on. */
  routed(): void {
    this.#routed = true;
    const sources = this.#o.remoteSubnets ?? [];
    const mppe = this.#link.mppe;
    const gre = this.#gre;
    if (this.#done || this.#inDriver || !gre?.dataPathAvailable || !this.#o.hub || !mppe || sources.length === 0 || sources.length > MAX_SOURCES) return;
    const handover = mppe.handOver();
    if (!handover) return; // stateful: stays here
    const mtu = Math.max(576, Math.min(this.#link.lcp.negotiated.peerMru, 0xffff) - 4);
    const rc = gre.startData(this.#callId, { mtu, sources }, this.#o.hub, handover);
    if (rc === 0) {
      this.#inDriver = mppe;
      this.#o.logger.info('PPTP call\'s IP in the driver', { host: this.#o.host, subnets: sources });
    } else {
      mppe.takeBack(handover);
      this.#routed = false; // asked once, refused: no retry on every frame
      this.#o.logger.info('the driver cannot carry this PPTP call\'s IP: JavaScript carries it', { host: this.#o.host, errno: -rc });
    }
  }

  /** What the driver carried for the call (undefined without a data path). */
  dataStats(): ReturnType<NativePptpGre['dataStats']> {
    return this.#inDriver ? this.#gre?.dataStats(this.#callId) : undefined;
  }

  /** What the driver carried for the call so far, kept when its data path stops (the site's counters). */
  driverCarried(): CarriedCounts | undefined {
    return addCarried(this.#carriedByStoppedPaths, carriedIp(this.dataStats()));
  }

  /** The call's data path off the driver, its counts kept. */
  #stopData(): void {
    if (!this.#inDriver) return;
    this.#carriedByStoppedPaths = addCarried(this.#carriedByStoppedPaths, carriedIp(this.dataStats()));
    this.#gre?.stopData(this.#callId);
    this.#inDriver = undefined;
  }

  /** LCP Terminate, then CCRQ and StopCCRQ; the connection closes once answered (or 3 s). */
  disconnect(): void {
    if (this.#done) return;
    // The data path's routes off the hub now: the site's lease of the shared TUN may end before the call does.
    this.#stopData();
    this.#routed = false;
    this.#ppp(this.#link.close(Date.now(), 'hang-up'));
    this.#run(this.#control.handle({ kind: 'CmdHangUp', reason: 'hang-up' }, Date.now()));
  }

  #run(actions: readonly ClientAction[]): void {
    for (const a of actions) {
      switch (a.kind) {
        case 'Send': if (!this.#socket.destroyed) this.#socket.write(a.bytes); break;
        case 'CallUp': this.#callUp(a.callId, a.peerCallId); break;
        case 'CallDown': this.#ppp(this.#link.lowerDown(Date.now(), a.reason)); break;
        case 'Counted': this.#o.logger.debug('PPTP client', { what: a.what }); break;
        case 'Close': return this.#end(a.reason);
      }
    }
    this.#arm();
  }

  #callUp(callId: number, peerCallId: number): void {
    this.#o.onProgress?.('control');
    try {
      this.#gre = NativePptpGre.open(this.#socket.localAddress?.replace(/^::ffff:/, '') ?? '0.0.0.0', (batch) => this.#frames(batch));
      this.#gre.addCall(callId, peerCallId, this.#o.host, callId);
    } catch (error) {
      this.#run(this.#control.handle({ kind: 'CmdHangUp', reason: `GRE: ${error instanceof Error ? error.message : String(error)}` }, Date.now()));
      return;
    }
    this.#o.onProgress?.('call');
    this.#ppp(this.#link.lowerUp(Date.now()));
  }

  #frames(batch: Array<[number, Buffer]>): void {
    if (this.#done) return;
    const now = Date.now();
    // Frames the driver decrypted (tag with DECRYPTED_TAG) are not for a site's client: IP comes through the TUN.
    for (const [tag, frame] of batch) if (tag === this.#callId) this.#ppp(this.#link.receiveFrame(frame, now));
    if (this.#routed && !this.#inDriver && this.#link.mppe && !this.#link.mppe.inDriver) this.routed(); // CCP opened after IPCP
    if (this.#inDriver && (this.#link.mppe !== this.#inDriver || this.#link.ipcp.state !== FsmState.Opened) && !this.#done) {
      this.#ppp(this.#link.close(Date.now(), 'PPP renegotiated under the driver'));
      this.#run(this.#control.handle({ kind: 'CmdHangUp', reason: 'PPP renegotiated under the driver' }, Date.now()));
    }
  }

  #ppp(actions: readonly ClientLinkAction[]): void {
    for (const a of actions) {
      if (a.type === 'send') this.#sendFrame(encodePppFrame({ protocol: a.protocol, information: a.packet }, { addressControl: true }));
      else if (a.type === 'deliver') this.#o.onIp?.(a.packet);
      else if (a.type === 'auth-failed') this.#outcome.fail(new Error(`authentication failed: ${a.reason}`));
      else if (a.type === 'network-up') this.#outcome.up(a.ipv4);
      else if (a.type === 'log') this.#o.logger[a.level](a.msg, a.fields ?? {});
      else if (a.type === 'dead') {
        this.#run(this.#control.handle({ kind: 'CmdHangUp', reason: `PPP ended: ${a.reason}` }, Date.now()));
        this.#outcome.fail(new Error(`PPP ended: ${a.reason}`));
      }
    }
    this.#arm();
  }

  #sendFrame(frame: Uint8Array): void {
    this.#gre?.send(this.#callId, Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
  }

  #arm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#done) return;
    const times = [this.#control.nextTimeout(), this.#link.nextTimeout()].filter((t): t is number => t !== undefined);
    if (!times.length) return;
    this.#timer = setTimeout(() => {
      const now = Date.now();
      this.#run(this.#control.handle({ kind: 'Timeout' }, now));
      this.#ppp(this.#link.tick(now));
    }, Math.max(0, Math.min(...times) - Date.now()));
    this.#timer.unref();
  }

  #end(reason: string): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#link.lowerDown(Date.now(), reason);
    this.#stopData();
    this.#gre?.removeCall(this.#callId);
    this.#gre?.close();
    this.#gre = undefined;
    // What was written (a StopCCRP) still leaves; the socket goes for good a moment later.
    const socket = this.#socket;
    if (!socket.destroyed) {
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
    }
    this.#outcome.fail(new Error(reason));
    this.#outcome.close(reason);
  }
}
