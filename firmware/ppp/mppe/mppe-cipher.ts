/*
 * One direction of MPPE (RFC 3078 §3, §8), the packet under PPP protocol 0x00FD:
 *
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  |A|B|C|D|    Coherency Count    |   Encrypted Data (PPP Protocol field and Information) ...
 *  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *  A: flushed (the key changed for this packet), D: encrypted; B and C belong to MPPC (unused).
 *
 * Stateless mode (§8.1, the H bit): the key changes before every packet and RC4 restarts, so a lost
 * packet costs nothing. Stateful mode (§8.2): one RC4 stream, the key changing on every "flag" packet
 * (coherency count ending in 0xFF); a receiver that sees a gap discards until the sender, asked by a
 * CCP Reset-Request, sends a flushed packet. The rules follow Linux ppp_mppe.c, which pppd clients
 * and Windows interoperate with: the first packet has count 0, the initial key is not flushed.
 */
import { Rc4 } from '../../crypto/rc4.ts';
import { changeSessionKey, initialSessionKey, type MppeStrength } from './mppe-keys.ts';

export const MPPE_FLUSHED = 0x80;
export const MPPE_ENCRYPTED = 0x10;
const COUNT_SPACE = 4096;
/** Stateless receivers follow a jump of up to half the count space, as Linux does; older packets are late. */
const MAX_JUMP = COUNT_SPACE / 2;

export interface MppeDirection {
  /** The 16-byte start key of this direction (RFC 3079 §3.4); 40/56-bit use its first 8 bytes. */
  readonly startKey: Uint8Array;
  readonly strength: MppeStrength;
  readonly stateful: boolean;
}

/**
 * Where one stateless direction stands, for the driver (issue 22: drivers/lib/mppe.h dp_mppe_state):
 * the last count used (4095 before the first packet) and that packet's session key. Secret.
 */
export interface MppeCipherState {
  readonly startKey: Uint8Array;
  readonly sessionKey: Uint8Array;
  readonly strength: MppeStrength;
  readonly count: number;
}

export interface MppeDecrypted {
  /** The inner PPP Protocol (a one-byte compressed field is expanded). */
  readonly protocol: number;
  readonly information: Uint8Array;
}

class KeySchedule {
  readonly #direction: MppeDirection;
  #sessionKey: Uint8Array;
  rc4: Rc4;
  count = COUNT_SPACE - 1;

  constructor(direction: MppeDirection) {
    if (direction.startKey.length < 16) throw new RangeError('MPPE start key must be 16 bytes');
    this.#direction = direction;
    this.#sessionKey = initialSessionKey(direction.startKey, direction.strength);
    this.rc4 = new Rc4(this.#sessionKey);
  }

  rekey(): void {
    this.#sessionKey = changeSessionKey(this.#direction.startKey, this.#sessionKey, this.#direction.strength);
    this.rc4 = new Rc4(this.#sessionKey);
  }

  get state(): MppeCipherState {
    return { startKey: Uint8Array.from(this.#direction.startKey.subarray(0, 16)), sessionKey: Uint8Array.from(this.#sessionKey), strength: this.#direction.strength, count: this.count };
  }

  /** Resumes where the driver left off: the same start key and strength, a count in range, a key of the right length. */
  resume(state: MppeCipherState): boolean {
    const same = state.strength === this.#direction.strength && state.startKey.length === 16 && state.startKey.every((b, i) => b === this.#direction.startKey[i]);
    if (!same || !Number.isInteger(state.count) || state.count < 0 || state.count >= COUNT_SPACE || state.sessionKey.length !== this.#sessionKey.length) return false;
    this.#sessionKey = Uint8Array.from(state.sessionKey);
    this.rc4 = new Rc4(this.#sessionKey);
    this.count = state.count;
    return true;
  }
}

export class MppeEncryptor {
  readonly #keys: KeySchedule;
  readonly #stateful: boolean;
  #flushNext = false;

  constructor(direction: MppeDirection) {
    this.#keys = new KeySchedule(direction);
    this.#stateful = direction.stateful;
  }

  /** Stateless only: a stateful sender's RC4 stream cannot be handed over. */
  get state(): MppeCipherState | undefined {
    return this.#stateful ? undefined : this.#keys.state;
  }

  resume(state: MppeCipherState): boolean {
    return !this.#stateful && this.#keys.resume(state);
  }

  /** A CCP Reset-Request came (the peer lost our packets): the next packet changes key and says so. */
  reset(): void {
    this.#flushNext = true;
  }

  /** The MPPE packet (header and ciphertext) carrying `protocol` and `information`; the Protocol field is always two bytes. */
  encrypt(protocol: number, information: Uint8Array): Uint8Array {
    const keys = this.#keys;
    keys.count = (keys.count + 1) % COUNT_SPACE;
    const flushed = !this.#stateful || (keys.count & 0xff) === 0xff || this.#flushNext;
    if (flushed) keys.rekey();
    this.#flushNext = false;
    const out = new Uint8Array(4 + information.length);
    out[0] = MPPE_ENCRYPTED | (flushed ? MPPE_FLUSHED : 0) | (keys.count >> 8);
    out[1] = keys.count & 0xff;
    out[2] = protocol >> 8;
    out[3] = protocol & 0xff;
    out.set(information, 4);
    const body = out.subarray(2);
    keys.rc4.process(body, body);
    return out;
  }
}

/** A decrypted packet, or why it was dropped; `resetRequest` asks the shell to send a CCP Reset-Request. */
export type MppeDecryptResult =
  | ({ readonly ok: true } & MppeDecrypted)
  | { readonly ok: false; readonly reason: string; readonly resetRequest: boolean };

const drop = (reason: string, resetRequest = false): MppeDecryptResult => ({ ok: false, reason, resetRequest });

export class MppeDecryptor {
  readonly #keys: KeySchedule;
  readonly #stateful: boolean;
  /** Stateful mode after a gap: dropping until a flushed packet (§8.2). */
  #discarding = false;

  constructor(direction: MppeDirection) {
    this.#keys = new KeySchedule(direction);
    this.#stateful = direction.stateful;
  }

  get discarding(): boolean {
    return this.#discarding;
  }

  get state(): MppeCipherState | undefined {
    return this.#stateful ? undefined : this.#keys.state;
  }

  resume(state: MppeCipherState): boolean {
    return !this.#stateful && this.#keys.resume(state);
  }

  /** One MPPE packet (the information field of a 0x00FD frame). Never throws. */
  decrypt(packet: Uint8Array): MppeDecryptResult {
    if (packet.length < 3) return drop('MPPE packet truncated');
    const bits = packet[0]!;
    const count = ((bits & 0x0f) << 8) | packet[1]!;
    const flushed = (bits & MPPE_FLUSHED) !== 0;
    if ((bits & MPPE_ENCRYPTED) === 0) return drop('MPPE packet not encrypted');
    if ((bits & 0x60) !== 0) return drop('MPPC compression bits set');
    const refused = this.#stateful ? this.#syncStateful(count, flushed) : this.#syncStateless(count, flushed);
    return refused ?? this.#open(packet.subarray(2));
  }

  /** §8.1: one key change per count step, lost packets included. */
  #syncStateless(count: number, flushed: boolean): MppeDecryptResult | undefined {
    const keys = this.#keys;
    if (!flushed) return drop('stateless MPPE packet not flushed');
    const ahead = (count - keys.count + COUNT_SPACE) % COUNT_SPACE;
    if (ahead === 0 || ahead > MAX_JUMP) return drop('MPPE packet late or repeated');
    for (let n = 0; n < ahead; n++) keys.rekey();
    keys.count = count;
    return undefined;
  }

  /** §8.2: in step, or discarding until a flushed packet after asking for a reset. */
  #syncStateful(count: number, flushed: boolean): MppeDecryptResult | undefined {
    const keys = this.#keys;
    if ((count & 0xff) === 0xff && !flushed) return drop('MPPE flag packet not flushed');
    if (!this.#discarding) {
      if (count !== (keys.count + 1) % COUNT_SPACE) {
        this.#discarding = true;
        return drop('MPPE packet lost', true);
      }
    } else {
      if (!flushed) return drop('MPPE discarding until flushed');
      // One key change for every flag packet missed; this packet's own follows below.
      while ((count & ~0xff) !== (keys.count & ~0xff)) {
        keys.rekey();
        keys.count = (keys.count + 256) % COUNT_SPACE;
      }
      this.#discarding = false;
    }
    keys.count = count;
    if (flushed) keys.rekey();
    return undefined;
  }

  #open(body: Uint8Array): MppeDecryptResult {
    const plain = this.#keys.rc4.process(body);
    // The sender may have compressed the Protocol field (PFC): an odd first octet is the whole field.
    if ((plain[0]! & 1) === 1) return { ok: true, protocol: plain[0]!, information: plain.subarray(1) };
    if (plain.length < 2) return drop('MPPE payload truncated');
    return { ok: true, protocol: (plain[0]! << 8) | plain[1]!, information: plain.subarray(2) };
  }
}
