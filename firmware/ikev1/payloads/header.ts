/*
 * ISAKMP header (RFC 2408 §3.1):
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                          Initiator                            !
 * !                            Cookie                             !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                          Responder                            !
 * !                            Cookie                             !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !  Next Payload ! MjVer ! MnVer ! Exchange Type !     Flags     !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                          Message ID                           !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !                            Length                             !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * Flags: E(ncryption) bit 0, C(ommit) bit 1, A(uthentication only) bit 2.
 */
import { fail, ok, type Decoded } from '../../util/decoded.ts';
import { HeaderFlag } from '../registry.ts';

export const ISAKMP_HEADER_LENGTH = 28;

export interface IsakmpHeader {
  readonly initiatorCookie: bigint;
  readonly responderCookie: bigint;
  readonly nextPayload: number;
  readonly majorVersion: number;
  readonly minorVersion: number;
  readonly exchangeType: number;
  readonly encryption: boolean;
  readonly commit: boolean;
  readonly authenticationOnly: boolean;
  readonly messageId: number;
  readonly length: number;
}

/**
 * Checks the 28 octets and the declared length against what arrived. Version 1.x only: an IKEv2
 * message is refused here (INVALID-MAJOR-VERSION), a higher minor version is accepted (§5.2 step 2
 * leaves it to the implementation; strongSwan does the same).
 */
export function decodeIsakmpHeader(bytes: Uint8Array): Decoded<IsakmpHeader> {
  if (bytes.length < ISAKMP_HEADER_LENGTH) return fail('TRUNCATED', `an ISAKMP header needs 28 bytes, got ${bytes.length}`, 0);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = v.getUint8(17);
  const flags = v.getUint8(19);
  const length = v.getUint32(24);
  if (version >> 4 !== 1) return fail('INVALID_MAJOR_VERSION', `major version ${version >> 4}`, 17);
  if (length < ISAKMP_HEADER_LENGTH || length > bytes.length) return fail('INVALID_SYNTAX', `length ${length} does not match the ${bytes.length} bytes received`, 24);
  return ok({
    initiatorCookie: v.getBigUint64(0),
    responderCookie: v.getBigUint64(8),
    nextPayload: v.getUint8(16),
    majorVersion: 1,
    minorVersion: version & 0x0f,
    exchangeType: v.getUint8(18),
    encryption: (flags & HeaderFlag.E) !== 0,
    commit: (flags & HeaderFlag.C) !== 0,
    authenticationOnly: (flags & HeaderFlag.A) !== 0,
    messageId: v.getUint32(20),
    length,
  });
}

export type IsakmpHeaderFields = Omit<IsakmpHeader, 'majorVersion' | 'minorVersion' | 'commit' | 'authenticationOnly'> & {
  readonly minorVersion?: number;
  readonly commit?: boolean;
  readonly authenticationOnly?: boolean;
};

export function encodeIsakmpHeader(h: IsakmpHeaderFields): Uint8Array {
  const out = new Uint8Array(ISAKMP_HEADER_LENGTH);
  const v = new DataView(out.buffer);
  v.setBigUint64(0, h.initiatorCookie);
  v.setBigUint64(8, h.responderCookie);
  v.setUint8(16, h.nextPayload);
  v.setUint8(17, 0x10 | ((h.minorVersion ?? 0) & 0x0f));
  v.setUint8(18, h.exchangeType);
  v.setUint8(19, (h.encryption ? HeaderFlag.E : 0) | (h.commit ? HeaderFlag.C : 0) | (h.authenticationOnly ? HeaderFlag.A : 0));
  v.setUint32(20, h.messageId);
  v.setUint32(24, h.length);
  return out;
}
