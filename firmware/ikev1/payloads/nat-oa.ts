/*
 * NAT original address payload (RFC 3947 §5.2; type 21, 131 in the drafts):
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ! Next Payload  !   RESERVED    !        Payload length         !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !   ID Type     !   RESERVED    !            RESERVED           !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~           IPv4 (4 octets) or IPv6 address (16 octets)         ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ID Type is ID_IPV4_ADDR (1) or ID_IPV6_ADDR (5). The NAT-D payload (§3.2) is a bare hash.
 */
import { fail, ok, type Decoded } from '../../util/decoded.ts';
import { IdType } from '../registry.ts';

export interface NatOriginalAddress {
  readonly idType: number;
  readonly address: Uint8Array;
}

export function decodeNatOa(body: Uint8Array, base = 0): Decoded<NatOriginalAddress> {
  if (body.length < 4) return fail('INVALID_SYNTAX', `a NAT-OA payload needs 4 bytes, got ${body.length}`, base);
  const idType = body[0] as number;
  const want = idType === IdType.ID_IPV4_ADDR ? 4 : idType === IdType.ID_IPV6_ADDR ? 16 : undefined;
  if (want === undefined) return fail('INVALID_SYNTAX', `NAT-OA ID type ${idType} is not an address`, base);
  if (body.length - 4 !== want) return fail('INVALID_SYNTAX', `NAT-OA address of ${body.length - 4} bytes for ID type ${idType}`, base + 4);
  return ok({ idType, address: body.slice(4) });
}

export function encodeNatOa(n: NatOriginalAddress): Uint8Array {
  const b = Buffer.alloc(4 + n.address.length);
  b[0] = n.idType;
  b.set(n.address, 4);
  return b;
}
