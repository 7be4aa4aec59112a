import type { MppeHandover } from '../ppp/mppe/mppe-ciphers.ts';
import { ErrorCode, PosternError } from '../util/errors.ts';
import { hubHandles, type NativeHub } from './native-hub.ts';
import type { PppDataCounters } from './native-ppp.ts';
import { loadDriver } from './native.ts';

/** The driver's MPPE state of one direction (drivers/lib/mppe.h), as N-API passes it. */
interface DriverMppeState {
  startKey: Buffer;
  sessionKey: Buffer;
  strength: number;
  count: number;
}

interface PptpAddon {
  pptpOpen(address: string, onFrames: (batch: Array<[number, Buffer]>) => void): object | number;
  pptpCallAdd(handle: object, callId: number, peerCallId: number, peer: string, tag: number): number;
  pptpCallRemove(handle: object, callId: number): number;
  pptpSend(handle: object, callId: number, frame: Buffer): number;
  pptpStats(handle: object): NativePptpStats | undefined;
  pptpClose(handle: object): number;
  pptpDataStart?(handle: object, callId: number, spec: { mtu: number; sources: string[] }, hub: object, tx: DriverMppeState, rx: DriverMppeState): number;
  pptpDataStop?(handle: object, callId: number): { tx: DriverMppeState; rx: DriverMppeState } | number;
  pptpDataStats?(handle: object, callId: number): Omit<PppDataCounters, 'tunnels'> | undefined;
  pptpSendIp?(handle: object, callId: number, packet: Buffer): number;
}

/** A call's PPP data path in the driver (issue 22): the peer's MRU less MPPE's 4 bytes, the prefixes routed to the call. */
export interface PptpDataSpec {
  readonly mtu: number;
  readonly sources: readonly string[];
}

const toDriver = (s: MppeHandover['send']): DriverMppeState => ({ startKey: Buffer.from(s.startKey), sessionKey: Buffer.from(s.sessionKey), strength: s.strength, count: s.count });
const fromDriver = (s: DriverMppeState): MppeHandover['send'] => ({ startKey: new Uint8Array(s.startKey), sessionKey: new Uint8Array(s.sessionKey), strength: s.strength as 40 | 56 | 128, count: s.count });

export interface NativePptpStats {
  rx: bigint;
  /** PPP frames handed up to JavaScript. */
  framesUp: bigint;
  acksReceived: bigint;
  /** Frames sent (each with a sequence number). */
  tx: bigint;
  /** Acknowledgement-only packets sent. */
  acksSent: bigint;
  sendErrors: bigint;
  malformed: bigint;
  unknownCall: bigint;
  /** From another address than the call's peer. */
  wrongPeer: bigint;
  /** Duplicates and packets older than the highest sequence number seen. */
  outOfOrder: bigint;
  /** Plain GRE (version 0): site tunnels' traffic, not PPTP's. */
  notPptp: bigint;
  /** Issue 22: MPPE packets decrypted and encrypted in C, late (stateless count behind) and malformed ones dropped, IP the TUN refused. */
  mppeRx?: bigint;
  mppeTx?: bigint;
  mppeLate?: bigint;
  mppeMalformed?: bigint;
  tunErrors?: bigint;
  pipe: { queued: bigint; delivered: bigint; droppedFull: bigint };
}

/**
 * PPTP's data channel (RFC 2637 §4.4) in the driver: enhanced GRE on a raw socket, calls found by
 * call ID and checked against their peer, sequence and acknowledgement numbers kept in C. PPP
 * frames come up in batches of [tag, frame]; PPP itself runs in JavaScript. Once a call's IPCP is
 * open with stateless MPPE, its IP and MPPE run in C (startData, issue 22); frames MPPE carried that
 * are not for the TUN come up decrypted, their tag with DECRYPTED_TAG set.
 */
export const DECRYPTED_TAG = 0x80000000;

export class NativePptpGre {
  readonly #addon: PptpAddon;
  readonly #handle: object;

  private constructor(addon: PptpAddon, handle: object) {
    this.#addon = addon;
    this.#handle = handle;
  }

  static open(address: string, onFrames: (batch: Array<[number, Buffer]>) => void): NativePptpGre {
    const addon = loadDriver() as unknown as PptpAddon;
    const r = addon.pptpOpen(address, onFrames);
    if (typeof r === 'number') throw new PosternError(ErrorCode.driverUnavailable, `the driver could not open PPTP's GRE socket on ${address} (errno ${-r})`);
    return new NativePptpGre(addon, r);
  }

  /** `callId` is ours (the peer puts it in its packets), `peerCallId` the peer's; `tag` labels the call's frames. */
  addCall(callId: number, peerCallId: number, peer: string, tag: number): void {
    const rc = this.#addon.pptpCallAdd(this.#handle, callId, peerCallId, peer, tag);
    if (rc !== 0) throw new PosternError(rc === -17 ? ErrorCode.dataplaneExists : ErrorCode.dataplaneInvalid, `PPTP call ${callId} could not be added (errno ${-rc})`);
  }

  /** False when there was no such call. */
  removeCall(callId: number): boolean {
    return this.#addon.pptpCallRemove(this.#handle, callId) === 0;
  }

  /** Returns false when the frame could not be sent (no call, too long, or the socket refused it). */
  send(callId: number, frame: Buffer): boolean {
    return this.#addon.pptpSend(this.#handle, callId, frame) > 0;
  }

  /** Whether this driver can carry a call's PPP data (issue 22). */
  get dataPathAvailable(): boolean {
    return typeof this.#addon.pptpDataStart === 'function';
  }

  /**
   * Issue 22: the call's IP in the driver from now on, with MPPE where `mppe` stands; its prefixes
   * routed from the hub to the call. 0, or a negative errno (an older driver: -38).
   */
  startData(callId: number, spec: PptpDataSpec, hub: NativeHub, mppe: MppeHandover): number {
    const handle = hubHandles.get(hub);
    if (!this.#addon.pptpDataStart || !handle) return -38;
    return this.#addon.pptpDataStart(this.#handle, callId, { mtu: spec.mtu, sources: [...spec.sources] }, handle, toDriver(mppe.send), toDriver(mppe.receive));
  }

  /** Routes gone, the MPPE state back (undefined when the call had no data path). */
  stopData(callId: number): MppeHandover | undefined {
    const r = this.#addon.pptpDataStop?.(this.#handle, callId);
    return r === undefined || typeof r === 'number' ? undefined : { send: fromDriver(r.tx), receive: fromDriver(r.rx) };
  }

  dataStats(callId: number): Omit<PppDataCounters, 'tunnels'> | undefined {
    return this.#addon.pptpDataStats?.(this.#handle, callId);
  }

  /** JavaScript's own IP (a DHCPINFORM answer, an advert) through the call's MPPE in the driver. */
  sendIp(callId: number, packet: Uint8Array): boolean {
    return (this.#addon.pptpSendIp?.(this.#handle, callId, Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength)) ?? -38) > 0;
  }

  stats(): NativePptpStats | undefined {
    return this.#addon.pptpStats(this.#handle);
  }

  close(): void {
    this.#addon.pptpClose(this.#handle);
  }
}
