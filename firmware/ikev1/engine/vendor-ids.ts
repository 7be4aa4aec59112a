import { createHash } from 'node:crypto';
import { FRAGMENTATION_VID } from '../fragments.ts';

/**
 * Vendor IDs this engine sends or reacts to. NAT-T: RFC 3947 §2 is MD5("RFC 3947"); the drafts
 * announce MD5 of their names (draft-02 both with and without the trailing newline some
 * implementations hashed). DPD: RFC 3706 §5.1 gives its 16 bytes.
 */
const md5 = (text: string) => createHash('md5').update(text, 'latin1').digest();

export const VendorId = {
  NAT_T_RFC3947: md5('RFC 3947'),
  NAT_T_DRAFT_02: md5('draft-ietf-ipsec-nat-t-ike-02'),
  NAT_T_DRAFT_02_N: md5('draft-ietf-ipsec-nat-t-ike-02\n'),
  NAT_T_DRAFT_03: md5('draft-ietf-ipsec-nat-t-ike-03'),
  DPD: Buffer.from('afcad71368a1f1c96b8696fc77570100', 'hex'),
} as const;

const equal = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/** Which NAT-T the peer speaks, from its vendor IDs: the RFC if it says so, else a draft, else none. */
export function natTraversalOf(vendorIds: readonly Uint8Array[]): 'rfc' | 'draft' | 'none' {
  if (vendorIds.some((v) => equal(v, VendorId.NAT_T_RFC3947))) return 'rfc';
  if (vendorIds.some((v) => [VendorId.NAT_T_DRAFT_02, VendorId.NAT_T_DRAFT_02_N, VendorId.NAT_T_DRAFT_03].some((d) => equal(v, d)))) return 'draft';
  return 'none';
}

export const peerSupportsDpd = (vendorIds: readonly Uint8Array[]): boolean => vendorIds.some((v) => equal(v, VendorId.DPD));

/** What an initiator announces: RFC 3947 and the drafts (older responders), DPD, IKE fragmentation. */
export const initiatorVendorIds = (): Uint8Array[] => [VendorId.NAT_T_RFC3947, VendorId.NAT_T_DRAFT_03, VendorId.NAT_T_DRAFT_02_N, VendorId.DPD, FRAGMENTATION_VID];

/** What a responder answers: the one NAT-T dialect chosen, DPD, and fragmentation if the peer offered it. */
export function responderVendorIds(nat: 'rfc' | 'draft' | 'none', fragmentation = false, draftId?: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (nat === 'rfc') out.push(VendorId.NAT_T_RFC3947);
  if (nat === 'draft') out.push(draftId ?? VendorId.NAT_T_DRAFT_02_N);
  out.push(VendorId.DPD);
  if (fragmentation) out.push(FRAGMENTATION_VID);
  return out;
}
