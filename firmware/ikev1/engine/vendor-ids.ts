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

/**
 * Vendor IDs that name the peer's software, for the log and the connection doctor. Windows sends
 * "MS NT5 ISAKMPOAKLEY" (MD5 of it) followed by a 4-byte version: 5 is Windows 2000, 6 XP, 7 Server
 * 2003, 8 Vista/2008, 9 Windows 7/2008 R2 and later.
 */
const MS_NT5 = Buffer.from('1e2b516905991c7d7c96fcbfb587e461', 'hex');
const NAMED: ReadonlyArray<readonly [Buffer, string]> = [
  [Buffer.from('fb1de3cdf341b7ea16b7e5be0855f120', 'hex'), 'MS-Negotiation Discovery Capable'],
  [Buffer.from('e3a5966a76379fe707228231e5ce8652', 'hex'), 'IKE CGA version 1'],
  [md5('strongSwan'), 'strongSwan'],
];

/** What the peer's vendor IDs say about it ("Windows (MS NT5 ISAKMPOAKLEY 9)"), or undefined. */
export function peerSoftware(vendorIds: readonly Uint8Array[]): string | undefined {
  const ms = vendorIds.find((v) => v.length === 20 && Buffer.from(v.subarray(0, 16)).equals(MS_NT5));
  if (ms) return `Windows (MS NT5 ISAKMPOAKLEY ${Buffer.from(ms).readUInt32BE(16)})`;
  return NAMED.find(([id]) => vendorIds.some((v) => equal(v, id)))?.[1];
}

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
