/*
 * L2TP data messages (RFC 2661 §3.1, §5.4): a PPP frame after the data header.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0|L|x|x|S|x|O|P|x|x|x|x|   2   |          Length (opt)         |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |           Tunnel ID           |           Session ID          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |             Ns (opt)          |             Nr (opt)          |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |      Offset Size (opt)        |    Offset pad... (opt)        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  PPP frame (Address 0xFF, Control 0x03, Protocol, Information)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * §5.4: data sequencing is optional. Once the peer sends Ns in its data messages (or asked for it
 * with Sequencing Required in ICCN) we number ours too; a received Ns not after the last one taken
 * is a duplicate or late frame and is dropped (PPP would rather lose a frame than see it twice).
 * Nr in data messages is reserved and sent as 0.
 */
import { fail, ok, type Decoded } from '../util/decoded.ts';
import { decodeL2tpPacket, encodeL2tpPacket, type DataHeader } from './header.ts';

export interface DataMessage {
  readonly header: DataHeader;
  /** The PPP frame, Address/Control included when the peer sent them. */
  readonly frame: Uint8Array;
}

/** Decodes a datagram that must be a data message (T bit clear). */
export function decodeDataMessage(bytes: Uint8Array): Decoded<DataMessage> {
  const p = decodeL2tpPacket(bytes);
  if (!p.ok) return p;
  if (p.value.header.type !== 'data') return fail('INVALID_SYNTAX', 'a control message where a data message was expected', 0);
  return ok({ header: p.value.header, frame: p.value.payload });
}

/** One data message; `ns` numbers it when sequencing is on. The Length field is sent (xl2tpd and Windows do). */
export function encodeDataMessage(tunnelId: number, sessionId: number, frame: Uint8Array, ns?: number): Uint8Array {
  return encodeL2tpPacket({ type: 'data', tunnelId, sessionId, lengthPresent: true, priority: false, ...(ns !== undefined ? { sequence: { ns, nr: 0 } } : {}) }, frame);
}

/** (a - b) modulo 2^16: how far a is ahead of b. */
const ahead = (a: number, b: number): number => (a - b) & 0xffff;

/** One session's data sequencing (§5.4), sans-I/O: what to stamp on the next frame out, whether a frame in is taken. */
export class DataSequencing {
  #on: boolean;
  #nextNs = 0;
  #lastNs: number | undefined;
  readonly counters = { accepted: 0, late: 0 };

  constructor(required = false) {
    this.#on = required;
  }

  get enabled(): boolean {
    return this.#on;
  }

  /** The Ns for the next frame out, or undefined while sequencing is off. */
  nextNs(): number | undefined {
    if (!this.#on) return undefined;
    const ns = this.#nextNs;
    this.#nextNs = (ns + 1) & 0xffff;
    return ns;
  }

  /** Whether a received frame goes up; a sequenced frame from the peer turns our numbering on. */
  accept(header: DataHeader): boolean {
    const ns = header.sequence?.ns;
    if (ns === undefined) return (this.counters.accepted++, true);
    this.#on = true;
    // Half the number space ahead is "after" (the serial-number rule of §5.8, applied to data).
    if (this.#lastNs !== undefined && (ahead(ns, this.#lastNs) === 0 || ahead(ns, this.#lastNs) >= 0x8000)) return (this.counters.late++, false);
    this.#lastNs = ns;
    this.counters.accepted++;
    return true;
  }
}
