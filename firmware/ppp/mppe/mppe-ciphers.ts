/*
 * The two directions of MPPE from one CCP opening (RFC 3078), and whether the driver holds them
 * (issue 22): a PPTP call's data path in C takes stateless MPPE over with where each direction
 * stands (drivers/lib/mppe.h) and gives it back when it stops. While the driver holds them, the
 * link encrypts nothing itself. A CCP that goes down or opens again makes a new MppeCiphers, so a
 * shell holding the old one knows the driver's state is void.
 */
import { MppeDecryptor, MppeEncryptor, type MppeCipherState, type MppeDirection } from './mppe-cipher.ts';

export interface MppeHandover {
  readonly send: MppeCipherState;
  readonly receive: MppeCipherState;
}

export class MppeCiphers {
  readonly encryptor: MppeEncryptor;
  readonly decryptor: MppeDecryptor;
  #inDriver = false;

  constructor(send: MppeDirection, receive: MppeDirection) {
    this.encryptor = new MppeEncryptor(send);
    this.decryptor = new MppeDecryptor(receive);
  }

  get inDriver(): boolean {
    return this.#inDriver;
  }

  /** Both directions' state for the driver; undefined when either is stateful (its RC4 stream stays here) or already handed over. */
  handOver(): MppeHandover | undefined {
    const send = this.encryptor.state;
    const receive = this.decryptor.state;
    if (!send || !receive || this.#inDriver) return undefined;
    this.#inDriver = true;
    return { send, receive };
  }

  /** The driver's state back: encryption carries on here from it. False (and still held) for a state that is not these ciphers'. */
  takeBack(state: MppeHandover): boolean {
    if (!this.#inDriver || !this.encryptor.resume(state.send) || !this.decryptor.resume(state.receive)) return false;
    this.#inDriver = false;
    return true;
  }
}
