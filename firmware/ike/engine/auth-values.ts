import { timingSafeEqual } from 'node:crypto';
import { sharedKeyAuth, signedOctets } from '../crypto/auth-octets.ts';
import { encodeId, type IdPayload } from '../payloads/identity.ts';
import type { IkeSa } from './ike-sa.ts';

/**
 * AUTH values (RFC 7296 §2.15) for `side` ('i' or 'r'): what that side MACs with a shared key.
 * The key is the PSK, or after EAP the MSK (§2.16).
 */
export function sharedKeyAuthFor(sa: IkeSa, side: 'i' | 'r', id: IdPayload, key: Uint8Array): Buffer {
  return sharedKeyAuth(sa.crypto!.prf, key, authOctets(sa, side, id));
}

/** What `side` signs or MACs (§2.15). */
export function authOctets(sa: IkeSa, side: 'i' | 'r', id: IdPayload): Buffer {
  const c = sa.crypto!;
  return side === 'i'
    ? signedOctets(c.prf, sa.initRequest, sa.nr, c.keys.skPi, encodeId(id))
    : signedOctets(c.prf, sa.initResponse, sa.ni, c.keys.skPr, encodeId(id));
}

export const pskBytes = (sa: IkeSa) => Buffer.from(sa.connection!.psk.reveal(), 'utf8');

export const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && timingSafeEqual(a, b);
