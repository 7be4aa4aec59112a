import type { Ikev1Engine } from '../ikev1/engine/engine.ts';
import type { IkeEngine } from './engine/engine.ts';
import { isIkev1 } from './engine/ikev1-refusal.ts';
import type { Endpoint, IkeAction } from './engine/types.ts';
import type { ShellEngine } from './shell/shell-engine.ts';

/**
 * One UDP 500/4500 endpoint, two IKE versions (sans-I/O). Each message goes by the major version
 * in its ISAKMP header (RFC 2408 §3.1, RFC 7296 §3.1): 1 to the IKEv1 engine, anything else to the
 * IKEv2 engine. Without an IKEv1 engine (no IKEv1 site or listener configured) the IKEv2 engine
 * keeps answering IKEv1 with NO-PROPOSAL-CHOSEN, so such a peer learns it at once. Commands go to
 * the engine that holds the connection or the SA; ticks and timeouts to both.
 */
export class IkeVersionDispatch implements ShellEngine {
  readonly v2: IkeEngine;
  readonly v1: Ikev1Engine | undefined;
  readonly #v1Connections: ReadonlySet<string>;

  constructor(v2: IkeEngine, v1?: { readonly engine: Ikev1Engine; readonly connections: readonly string[] }) {
    this.v2 = v2;
    this.v1 = v1?.engine;
    this.#v1Connections = new Set(v1?.connections ?? []);
  }

  handlePacket(packet: Uint8Array, from: Endpoint, to: Endpoint, now: number): IkeAction[] {
    if (this.v1 && isIkev1(packet)) return this.v1.handlePacket(packet, from, to, now);
    return this.v2.handlePacket(packet, from, to, now);
  }

  initiate(connection: string, local: Endpoint, now: number, remote?: string): IkeAction[] {
    if (this.v1 && this.#v1Connections.has(connection)) return this.v1.initiate(connection, local, now);
    return this.v2.initiate(connection, local, now, remote);
  }

  /** IKEv1 SAs are named by the initiator's cookie, IKEv2 SAs by SPIi; both 64 bits. */
  terminate(spi: bigint, now: number): IkeAction[] {
    if (this.v1?.sas.some((sa) => sa.ckyI === spi && sa.state !== 'closed')) return this.v1.terminate(spi, now);
    return this.v2.terminate(spi, now);
  }

  tick(now: number): IkeAction[] {
    return [...this.v2.tick(now), ...(this.v1?.tick(now) ?? [])];
  }

  nextTimeout(): number | undefined {
    const times = [this.v2.nextTimeout(), this.v1?.nextTimeout()].filter((t): t is number => t !== undefined);
    return times.length ? Math.min(...times) : undefined;
  }

  rekeyChild(ikeSpi: bigint, inboundSpi: number, now: number): IkeAction[] {
    return this.v2.rekeyChild(ikeSpi, inboundSpi, now);
  }

  rekeyIke(ikeSpi: bigint, now: number): IkeAction[] {
    return this.v2.rekeyIke(ikeSpi, now);
  }

  setSessionTimeout(spi: bigint, seconds: number, now: number): boolean {
    return this.v2.setSessionTimeout(spi, seconds, now);
  }

  resumeEap(now: number): IkeAction[] {
    return this.v2.resumeEap(now);
  }

  reauthenticate(ikeSpi: bigint, now: number): IkeAction[] {
    return this.v2.reauthenticate(ikeSpi, now);
  }
}
