import { ErrorCode, PosternError } from '../util/errors.ts';
import { loadDriver } from './native.ts';

interface PptpAddon {
  pptpOpen(address: string, onFrames: (batch: Array<[number, Buffer]>) => void): object | number;
  pptpCallAdd(handle: object, callId: number, peerCallId: number, peer: string, tag: number): number;
  pptpCallRemove(handle: object, callId: number): number;
  pptpSend(handle: object, callId: number, frame: Buffer): number;
  pptpStats(handle: object): NativePptpStats | undefined;
  pptpClose(handle: object): number;
}

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
  pipe: { queued: bigint; delivered: bigint; droppedFull: bigint };
}

/**
 * PPTP's data channel (RFC 2637 §4.4) in the driver: enhanced GRE on a raw socket, calls found by
 * call ID and checked against their peer, sequence and acknowledgement numbers kept in C. PPP
 * frames come up in batches of [tag, frame]; PPP itself (and MPPE) runs in JavaScript.
 */
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

  stats(): NativePptpStats | undefined {
    return this.#addon.pptpStats(this.#handle);
  }

  close(): void {
    this.#addon.pptpClose(this.#handle);
  }
}
