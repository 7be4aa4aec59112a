/*
 * Postern as a PPTP client (PNS) for `protocol: pptp` sites (issue 22): a TCP control connection to
 * the peer's port 1723 (client-connection.ts), one outgoing call, and a PPP link over the driver's
 * enhanced GRE channel that logs in with MS-CHAPv2 and requires MPPE-128 (stateless). IP packets come
 * out through `onIp` and go in with `sendIp`. The engines decide; this shell does the I/O.
 *
 * Each call opens its own GRE channel on the address the TCP connection left from (a raw socket sees
 * every GRE packet; the channel keeps only those of its calls from its peer), so a PPTP listener on
 * the same gateway is not disturbed.
 */
import { randomInt } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { NativePptpGre } from '../dataplane/native-pptp.ts';
import type { Logger } from '../log/logger.ts';
import { dialingLink, PppCallOutcome } from '../ppp/client-call.ts';
import type { ClientLinkAction, PppClientLink } from '../ppp/client-link.ts';
import { encodePppFrame, PppProtocol } from '../ppp/frame.ts';
import type { Secret } from '../util/secret.ts';
import { PptpClientConnection, type ClientAction } from './client-connection.ts';
import { PPTP_PORT } from './control-message.ts';

export type PptpDialStep = 'control' | 'call';

export interface PptpDialOptions {
  readonly host: string;
  readonly hostName: string;
  readonly user: string;
  readonly password: Secret<string>;
  readonly logger: Logger;
  /** Overrides the server's port (tests). */
  readonly port?: number;
  /** The address to call from (a load generator's many clients); the route's choice when absent. */
  readonly localAddress?: string;
  readonly onIp?: (packet: Uint8Array) => void;
  readonly onProgress?: (step: PptpDialStep) => void;
}

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

  constructor(options: PptpDialOptions) {
    this.#o = options;
    this.#link = dialingLink({ user: options.user, password: options.password, mru: PPTP_MRU, askDns: false, mppe: { mode: 'require', strengths: [128], allowStateful: false } });
    this.#control = new PptpClientConnection({ hostName: options.hostName, callId: this.#callId }, Date.now());
    const socket = connect({ host: options.host, port: options.port ?? PPTP_PORT, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => this.#run(this.#control.handle({ kind: 'CmdStart' }, Date.now())));
    socket.on('data', (bytes) => this.#run(this.#control.handle({ kind: 'RcvBytes', bytes }, Date.now())));
    socket.on('error', (error) => this.#end(`PPTP control connection: ${error.message}`));
    socket.on('close', () => this.#run(this.#control.handle({ kind: 'TransportClosed' }, Date.now())));
  }

  sendIp(packet: Uint8Array): void {
    if (this.#done) return;
    const framed = this.#link.encapsulate(PppProtocol.IPv4, packet);
    if (framed) this.#sendFrame(encodePppFrame({ protocol: framed.protocol, information: framed.information }, { addressControl: true }));
  }

  /** LCP Terminate, then CCRQ and StopCCRQ; the connection closes once answered (or 3 s). */
  disconnect(): void {
    if (this.#done) return;
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
    for (const [tag, frame] of batch) if (tag === this.#callId) this.#ppp(this.#link.receiveFrame(frame, now));
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
