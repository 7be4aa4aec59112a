import type { Endpoint, IkeAction } from '../engine/types.ts';

/**
 * What the shell asks of an engine: packets, commands and the clock in, actions out. The IKEv2
 * engine, the IKEv1 engine and the facade that dispatches between them by ISAKMP version
 * (`version-dispatch.ts`) all have this shape, so one shell and one test pair drive each.
 * The rekey commands are IKEv2's (IKEv1 rekeys by lifetime inside its engine).
 */
export interface ShellEngine {
  handlePacket(packet: Uint8Array, from: Endpoint, to: Endpoint, now: number): IkeAction[];
  /** `remote`: the resolved address of a peer the connection names by DNS (IKEv2 sites, issue 24). */
  initiate(connection: string, local: Endpoint, now: number, remote?: string): IkeAction[];
  terminate(spi: bigint, now: number): IkeAction[];
  tick(now: number): IkeAction[];
  nextTimeout(): number | undefined;
  rekeyChild?(ikeSpi: bigint, inboundSpi: number, now: number): IkeAction[];
  rekeyIke?(ikeSpi: bigint, now: number): IkeAction[];
  reauthenticate?(ikeSpi: bigint, now: number): IkeAction[];
  /** IKEv2: answer the IKE_AUTH requests whose EAP verdict (RADIUS) has come in. */
  resumeEap?(now: number): IkeAction[];
  /** IKEv2: a RADIUS CoA's Session-Timeout for one IKE SA (issue 21). */
  setSessionTimeout?(spi: bigint, seconds: number, now: number): boolean;
}
