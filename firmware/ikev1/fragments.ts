/*
 * IKEv1 fragmentation, the scheme Cisco introduced and Windows, strongSwan and racoon speak (there
 * is no RFC): a peer announces it with the FRAGMENTATION vendor ID; a message too large for one
 * datagram (Main Mode 5/6 with certificates) is cut into ISAKMP messages whose only payload is:
 *  ! Next Payload  !   RESERVED    !         Payload Length        !
 *  !          Fragment ID          !  Fragment Nr  !     Flags     !
 *  ~                   a piece of the whole message                ~
 * The header carries the original's cookies, exchange type and message ID, next payload 132 and
 * no encryption flag; the pieces, concatenated in number order (from 1, the last flagged 1), are
 * the original datagram with its own header. Fragments of the same message share an ID.
 */
import { ok, fail, type Decoded } from '../util/decoded.ts';

export const FRAGMENT_PAYLOAD = 132;
const LAST = 0x01;
const ISAKMP_HEADER = 28;
const FRAGMENT_HEADER = 8;

/** The FRAGMENTATION vendor ID: MD5("FRAGMENTATION") with capability bits; peers compare the first 16 bytes. */
export const FRAGMENTATION_VID = Buffer.from('4048b7d56ebce88525e7de7f00d6c2d380000000', 'hex');
export const announcesFragmentation = (vid: Uint8Array): boolean => vid.length >= 16 && Buffer.from(vid.subarray(0, 16)).equals(FRAGMENTATION_VID.subarray(0, 16));

export interface Fragment {
  readonly id: number;
  readonly number: number;
  readonly last: boolean;
  readonly data: Uint8Array;
}

/** True for a datagram whose first payload is a fragment (byte 16 of the ISAKMP header). */
export const isFragmentMessage = (packet: Uint8Array): boolean => packet.length >= ISAKMP_HEADER && packet[16] === FRAGMENT_PAYLOAD && packet[17] === 0x10;

export function decodeFragmentMessage(packet: Uint8Array): Decoded<Fragment & { readonly header: Uint8Array }> {
  if (packet.length < ISAKMP_HEADER + FRAGMENT_HEADER) return fail('INVALID_SYNTAX', `a fragment message of ${packet.length} bytes`, 0);
  const b = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
  if (b.readUInt32BE(24) !== packet.length) return fail('INVALID_SYNTAX', `the header says ${b.readUInt32BE(24)} bytes, the datagram has ${packet.length}`, 24);
  const length = b.readUInt16BE(ISAKMP_HEADER + 2);
  if (length < FRAGMENT_HEADER || ISAKMP_HEADER + length !== packet.length) return fail('INVALID_SYNTAX', `a fragment payload of ${length} bytes in ${packet.length - ISAKMP_HEADER}`, ISAKMP_HEADER + 2);
  const number = b[ISAKMP_HEADER + 6]!;
  if (number === 0) return fail('INVALID_SYNTAX', 'fragment number 0 (they count from 1)', ISAKMP_HEADER + 6);
  return ok({
    header: packet.slice(0, ISAKMP_HEADER), id: b.readUInt16BE(ISAKMP_HEADER + 4), number,
    last: (b[ISAKMP_HEADER + 7]! & LAST) !== 0, data: packet.slice(ISAKMP_HEADER + FRAGMENT_HEADER),
  });
}

/**
 * Cuts `packet` (a whole ISAKMP datagram) into fragment messages of at most `maxDatagram` bytes
 * each (UDP payload, before any non-ESP marker). Returns it unchanged when it fits.
 */
export function fragmentMessage(packet: Uint8Array, id: number, maxDatagram: number): Uint8Array[] {
  if (packet.length <= maxDatagram) return [packet];
  const room = maxDatagram - ISAKMP_HEADER - FRAGMENT_HEADER;
  const count = Math.ceil(packet.length / room);
  if (room < 64 || count > 255) throw new Error(`cannot fragment ${packet.length} bytes into datagrams of ${maxDatagram}`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const piece = packet.subarray(i * room, Math.min(packet.length, (i + 1) * room));
    const b = Buffer.alloc(ISAKMP_HEADER + FRAGMENT_HEADER + piece.length);
    b.set(packet.subarray(0, 16), 0); // both cookies
    b[16] = FRAGMENT_PAYLOAD;
    b[17] = 0x10; // version 1.0
    b[18] = packet[18]!; // exchange type
    b[19] = 0; // flags: the piece is already encrypted if the message was
    b.set(packet.subarray(20, 24), 20); // message ID
    b.writeUInt32BE(b.length, 24);
    b.writeUInt16BE(FRAGMENT_HEADER + piece.length, ISAKMP_HEADER + 2);
    b.writeUInt16BE(id, ISAKMP_HEADER + 4);
    b[ISAKMP_HEADER + 6] = i + 1;
    b[ISAKMP_HEADER + 7] = i === count - 1 ? LAST : 0;
    b.set(piece, ISAKMP_HEADER + FRAGMENT_HEADER);
    out.push(b);
  }
  return out;
}

export interface ReassemblyLimits {
  /** Fragments of one message; strongSwan's limit is 16 too. */
  readonly maxFragments: number;
  /** The whole message. */
  readonly maxBytes: number;
  /** Messages being put together at once, across all peers (a flood of first fragments is dropped). */
  readonly maxPending: number;
  readonly timeoutMs: number;
}

export const defaultReassemblyLimits: ReassemblyLimits = { maxFragments: 16, maxBytes: 65_535, maxPending: 256, timeoutMs: 10_000 };

interface Pending {
  readonly pieces: Map<number, Uint8Array>;
  last: number | undefined;
  bytes: number;
  readonly startedAt: number;
}

export type ReassemblyResult =
  | { readonly kind: 'complete'; readonly packet: Uint8Array }
  | { readonly kind: 'incomplete' }
  | { readonly kind: 'dropped'; readonly why: string };

/**
 * Puts fragmented messages back together, keyed by the sender, the initiator cookie and the fragment
 * ID. Bounded: fragments per message, bytes, messages pending, and time.
 */
export class Reassembler {
  readonly #pending = new Map<string, Pending>();
  readonly #limits: ReassemblyLimits;

  constructor(limits: Partial<ReassemblyLimits> = {}) {
    this.#limits = { ...defaultReassemblyLimits, ...limits };
  }

  get pending(): number {
    return this.#pending.size;
  }

  add(source: string, f: Fragment & { readonly header: Uint8Array }, now: number): ReassemblyResult {
    this.expire(now);
    const key = `${source}|${Buffer.from(f.header.subarray(0, 8)).toString('hex')}|${f.id}`;
    if (f.number > this.#limits.maxFragments) return { kind: 'dropped', why: `fragment ${f.number} is beyond the limit of ${this.#limits.maxFragments}` };
    let p = this.#pending.get(key);
    if (!p) {
      if (this.#pending.size >= this.#limits.maxPending) return { kind: 'dropped', why: 'too many fragmented messages in reassembly' };
      p = { pieces: new Map(), last: undefined, bytes: 0, startedAt: now };
      this.#pending.set(key, p);
    }
    if (p.pieces.has(f.number)) return { kind: 'incomplete' }; // a retransmitted fragment
    if (f.last) {
      if (p.last !== undefined && p.last !== f.number) return this.#abandon(key, 'two different last fragments');
      p.last = f.number;
    }
    if (p.last !== undefined && f.number > p.last) return this.#abandon(key, `fragment ${f.number} after the last one (${p.last})`);
    p.bytes += f.data.length;
    if (p.bytes > this.#limits.maxBytes) return this.#abandon(key, `more than ${this.#limits.maxBytes} bytes`);
    p.pieces.set(f.number, f.data);
    if (p.last === undefined || p.pieces.size !== p.last) return { kind: 'incomplete' };
    this.#pending.delete(key);
    const ordered = Array.from({ length: p.last }, (_, i) => p!.pieces.get(i + 1)!);
    return { kind: 'complete', packet: Buffer.concat(ordered) };
  }

  /** Forgets messages whose fragments stopped coming. */
  expire(now: number): void {
    for (const [key, p] of this.#pending) if (now - p.startedAt > this.#limits.timeoutMs) this.#pending.delete(key);
  }

  #abandon(key: string, why: string): ReassemblyResult {
    this.#pending.delete(key);
    return { kind: 'dropped', why };
  }
}
