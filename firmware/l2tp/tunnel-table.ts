/*
 * The LNS's tunnel table (RFC 2661 §5, §7), sans-I/O: every tunnel's control connection
 * (control-connection.ts) and every session's data, keyed by our Tunnel and Session IDs.
 *
 *   datagram in ─┬─ control, Tunnel ID 0, SCCRQ ──> a new tunnel (or the one this SCCRQ already made:
 *                │                                  a retransmission before the peer learnt our ID)
 *                ├─ control, our Tunnel ID ───────> that tunnel, from its own peer only
 *                └─ data, our Tunnel/Session ID ──> Data(frame) for an established session
 *
 * Our Tunnel IDs are drawn at random (injected), never 0 and never one still in the table; a tunnel
 * stays in the table until its §5.7 closing wait is over, so its ID is not reused while the peer may
 * still send to it. A tunnel whose last session has gone (or that never got one) is closed with
 * StopCCN after a grace period, in case the client dials again at once (xl2tpd redials within it).
 */
import { decodeL2tpPacket, encodeL2tpPacket, type ControlHeader, type DataHeader } from './header.ts';
import { MessageType, type ResultCode } from './avp-types.ts';
import { decodeControlMessage } from './control-message.ts';
import { L2tpTunnel, type TunnelAction, type TunnelConfig } from './control-connection.ts';
import { DataSequencing, encodeDataMessage } from './data-message.ts';

export interface TunnelTableOptions extends Omit<TunnelConfig, 'role' | 'localTunnelId'> {
  /** How long a tunnel without sessions lives on (ms); 10 s when absent. */
  readonly graceMs?: number;
  /** At most this many tunnels at once (new SCCRQs beyond it are dropped and counted); 4096 when absent. */
  readonly maxTunnels?: number;
  /** At most this many from one IP address (clients behind one NAT share it); 64 when absent. */
  readonly maxTunnelsPerAddress?: number;
}

export type TableEvent =
  | { readonly kind: 'RcvDatagram'; readonly peer: string; readonly bytes: Uint8Array }
  | { readonly kind: 'CmdCloseSession'; readonly tunnelId: number; readonly sessionId: number; readonly resultCode: ResultCode }
  | { readonly kind: 'CmdCloseTunnel'; readonly tunnelId: number; readonly resultCode: ResultCode }
  | { readonly kind: 'Timeout' };

export type TableAction =
  | { readonly kind: 'Send'; readonly peer: string; readonly datagram: Uint8Array }
  | { readonly kind: 'TunnelUp'; readonly tunnelId: number; readonly peer: string; readonly peerHostName: string }
  | { readonly kind: 'TunnelDown'; readonly tunnelId: number; readonly peer: string; readonly reason: string }
  | { readonly kind: 'SessionUp'; readonly tunnelId: number; readonly sessionId: number; readonly peer: string }
  | { readonly kind: 'SessionDown'; readonly tunnelId: number; readonly sessionId: number; readonly reason: string }
  | { readonly kind: 'Data'; readonly tunnelId: number; readonly sessionId: number; readonly frame: Uint8Array };

interface Entry {
  readonly tunnel: L2tpTunnel;
  readonly peer: string;
  /** The peer's Assigned Tunnel ID from its SCCRQ: recognises that SCCRQ sent again. */
  readonly peerAssignedId: number;
  readonly data: Map<number, { readonly peerSessionId: number; readonly sequencing: DataSequencing }>;
  /** When the tunnel is closed for having no session; cleared while it has one. */
  closeAt: number | undefined;
}

export class L2tpTunnelTable {
  readonly #options: TunnelTableOptions;
  readonly #tunnels = new Map<number, Entry>();
  readonly counters: Record<string, number> = {};

  constructor(options: TunnelTableOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#tunnels.size;
  }

  /** Each live tunnel with its sessions (for the API and tests). */
  tunnels(): Array<{ tunnelId: number; peer: string; state: string; sessions: number[] }> {
    return [...this.#tunnels].map(([id, e]) => ({ tunnelId: id, peer: e.peer, state: e.tunnel.state, sessions: [...e.tunnel.sessions.keys()] }));
  }

  nextTimeout(): number | undefined {
    let next: number | undefined;
    for (const e of this.#tunnels.values()) for (const t of [e.tunnel.nextTimeout(), e.closeAt]) if (t !== undefined && (next === undefined || t < next)) next = t;
    return next;
  }

  /** A PPP frame to the peer of an established session; undefined when the session is not there. */
  encapsulate(tunnelId: number, sessionId: number, frame: Uint8Array): { peer: string; datagram: Uint8Array } | undefined {
    const e = this.#tunnels.get(tunnelId);
    const s = e?.data.get(sessionId);
    if (!e || !s) return undefined;
    return { peer: e.peer, datagram: encodeDataMessage(e.tunnel.peerTunnelId, s.peerSessionId, frame, s.sequencing.nextNs()) };
  }

  /** Issue 20: what the driver needs to carry an established session's IP: the peer, its IDs, whether data is numbered (§5.4). */
  dataPath(tunnelId: number, sessionId: number): { peer: string; peerTunnelId: number; peerSessionId: number; sequencing: boolean } | undefined {
    const e = this.#tunnels.get(tunnelId);
    const s = e?.data.get(sessionId);
    return e && s ? { peer: e.peer, peerTunnelId: e.tunnel.peerTunnelId, peerSessionId: s.peerSessionId, sequencing: s.sequencing.enabled } : undefined;
  }

  handle(event: TableEvent, now: number): TableAction[] {
    const out: TableAction[] = [];
    switch (event.kind) {
      case 'RcvDatagram': this.#receive(event.peer, event.bytes, now, out); break;
      case 'CmdCloseSession': this.#drive(event.tunnelId, { kind: 'CmdCloseSession', localSessionId: event.sessionId, resultCode: event.resultCode }, now, out); break;
      case 'CmdCloseTunnel': this.#drive(event.tunnelId, { kind: 'CmdClose', resultCode: event.resultCode }, now, out); break;
      case 'Timeout': this.#timeout(now, out); break;
    }
    return out;
  }

  #count(reason: string): void {
    this.counters[reason] = (this.counters[reason] ?? 0) + 1;
  }

  #receive(peer: string, bytes: Uint8Array, now: number, out: TableAction[]): void {
    const p = decodeL2tpPacket(bytes);
    if (!p.ok) return this.#count('malformed');
    const { header } = p.value;
    if (header.type === 'data') return this.#data(peer, header, p.value.payload, out);
    if (header.tunnelId === 0) return this.#sccrq(peer, bytes, p.value.payload, now, out);
    const e = this.#tunnels.get(header.tunnelId);
    if (!e) return this.#unknownTunnel(peer, header, p.value.payload, out);
    if (e.peer !== peer) return this.#count('tunnel from another peer');
    this.#drive(header.tunnelId, { kind: 'RcvDatagram', bytes }, now, out);
  }

  /**
   * A message for a tunnel we do not have. A StopCCN (a client closing a tunnel we lost in a
   * restart) gets a ZLB so the client stops retransmitting it at once: until it gives up, xl2tpd
   * keeps that tunnel's UDP socket, connected to us like the next tunnel's, and it takes the next
   * tunnel's data. Anything else is dropped and counted.
   */
  #unknownTunnel(peer: string, header: ControlHeader, payload: Uint8Array, out: TableAction[]): void {
    this.#count('unknown tunnel');
    if (payload.length === 0) return;
    const m = decodeControlMessage(payload, { secret: this.#options.secret });
    if (!m.ok || m.value.kind !== 'message' || m.value.messageType !== MessageType.StopCCN) return;
    const theirs = m.value.avps.assignedTunnelId;
    if (theirs === undefined || theirs === 0) return;
    this.#count('lost tunnel\'s StopCCN acknowledged');
    out.push({ kind: 'Send', peer, datagram: encodeL2tpPacket({ type: 'control', tunnelId: theirs, sessionId: 0, ns: header.nr, nr: (header.ns + 1) & 0xffff }, new Uint8Array(0)) });
  }

  #data(peer: string, header: DataHeader, frame: Uint8Array, out: TableAction[]): void {
    const { tunnelId, sessionId } = header;
    const e = this.#tunnels.get(tunnelId);
    const s = e?.data.get(sessionId);
    if (!e || !s) return this.#count('data for no session');
    if (e.peer !== peer) return this.#count('tunnel from another peer');
    if (!s.sequencing.accept(header)) return this.#count('data late or duplicate');
    out.push({ kind: 'Data', tunnelId, sessionId, frame });
  }

  /** An SCCRQ to Tunnel ID 0: new, or one we already answered (same peer, same Assigned Tunnel ID). */
  #sccrq(peer: string, bytes: Uint8Array, payload: Uint8Array, now: number, out: TableAction[]): void {
    const m = payload.length > 0 ? decodeControlMessage(payload, { secret: this.#options.secret }) : undefined;
    if (!m?.ok || m.value.kind !== 'message' || m.value.messageType !== MessageType.SCCRQ) return this.#count('tunnel 0 without SCCRQ');
    const assigned = m.value.avps.assignedTunnelId!;
    const known = [...this.#tunnels].find(([, e]) => e.peer === peer && e.peerAssignedId === assigned);
    if (known) return this.#drive(known[0], { kind: 'RcvDatagram', bytes }, now, out);
    if (this.#tunnels.size >= (this.#options.maxTunnels ?? 4096)) return this.#count('tunnel table full');
    const address = peer.slice(0, peer.lastIndexOf(':'));
    let fromAddress = 0;
    for (const e of this.#tunnels.values()) if (e.peer.slice(0, e.peer.lastIndexOf(':')) === address) fromAddress++;
    if (fromAddress >= (this.#options.maxTunnelsPerAddress ?? 64)) return this.#count('tunnels per address full');
    const id = this.#freeTunnelId();
    if (id === undefined) return this.#count('tunnel table full');
    const { graceMs: _g, maxTunnels: _m, maxTunnelsPerAddress: _a, ...config } = this.#options;
    const tunnel = new L2tpTunnel({ ...config, role: 'lns', localTunnelId: id });
    this.#tunnels.set(id, { tunnel, peer, peerAssignedId: assigned, data: new Map(), closeAt: now + this.#grace() });
    this.#count('tunnels opened');
    this.#drive(id, { kind: 'RcvDatagram', bytes }, now, out);
  }

  #grace(): number {
    return this.#options.graceMs ?? 10_000;
  }

  /** Random, so a peer cannot guess the next tunnel's ID; bounded tries, then a scan. */
  #freeTunnelId(): number | undefined {
    for (let i = 0; i < 16; i++) {
      const r = this.#options.random(2);
      const id = ((r[0] ?? 0) << 8) | (r[1] ?? 0);
      if (id !== 0 && !this.#tunnels.has(id)) return id;
    }
    for (let id = 1; id <= 0xffff; id++) if (!this.#tunnels.has(id)) return id;
    return undefined;
  }

  #drive(tunnelId: number, event: Parameters<L2tpTunnel['handle']>[0], now: number, out: TableAction[]): void {
    const e = this.#tunnels.get(tunnelId);
    if (!e) return;
    for (const a of e.tunnel.handle(event, now)) this.#translate(tunnelId, e, a, now, out);
    this.#reap(tunnelId, e);
  }

  #translate(tunnelId: number, e: Entry, a: TunnelAction, now: number, out: TableAction[]): void {
    switch (a.kind) {
      case 'Send': return void out.push({ kind: 'Send', peer: e.peer, datagram: a.datagram });
      case 'TunnelUp': return void out.push({ kind: 'TunnelUp', tunnelId, peer: e.peer, peerHostName: a.peerHostName });
      case 'TunnelDown': return void out.push({ kind: 'TunnelDown', tunnelId, peer: e.peer, reason: a.reason });
      case 'SessionUp':
        e.data.set(a.localSessionId, { peerSessionId: a.peerSessionId, sequencing: new DataSequencing(a.sequencingRequired === true) });
        e.closeAt = undefined;
        return void out.push({ kind: 'SessionUp', tunnelId, sessionId: a.localSessionId, peer: e.peer });
      case 'SessionDown':
        e.data.delete(a.localSessionId);
        if (e.data.size === 0 && e.tunnel.state === 'established') e.closeAt = now + this.#grace();
        return void out.push({ kind: 'SessionDown', tunnelId, sessionId: a.localSessionId, reason: a.reason });
      case 'Dropped': return this.#count(a.reason.startsWith('L2TP') ? 'malformed' : 'dropped message');
    }
  }

  /** A closed tunnel leaves the table once nothing is left to acknowledge (§5.7); only then may its ID come back. */
  #reap(tunnelId: number, e: Entry): void {
    if (e.tunnel.state === 'closed' && e.tunnel.nextTimeout() === undefined) this.#tunnels.delete(tunnelId);
  }

  #timeout(now: number, out: TableAction[]): void {
    for (const [id, e] of [...this.#tunnels]) {
      // A tunnel still waiting for its first session, or whose last one went, is ended after the grace.
      if (e.closeAt !== undefined && now >= e.closeAt && e.tunnel.sessions.size === 0) {
        e.closeAt = undefined;
        this.#drive(id, { kind: 'CmdClose', resultCode: { result: 1, error: 0, message: 'no sessions left' } }, now, out);
      }
      if ((e.tunnel.nextTimeout() ?? Infinity) <= now) this.#drive(id, { kind: 'Timeout' }, now, out);
      else this.#reap(id, e);
    }
  }
}
