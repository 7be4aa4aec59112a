/*
 * The MPPE CCP option (RFC 3078 §2.1), CCP option 18 shared with MPPC:
 *
 *  |  Type 18 | Length 6 |          Supported Bits (32)              |
 *  Supported Bits: H = 0x01000000 stateless, M = 0x80 56-bit, S = 0x40 128-bit, L = 0x20 40-bit,
 *                  D = 0x10 (obsolete), C = 0x01 MPPC compression.
 *
 * A Configure-Request lists what its sender can do; the other side Naks with exactly one strength
 * (and H when it wants stateless) and the sender asks again with that (RFC 3078 §2; pppd, Windows).
 */
import { optionUint, uintOption, type PppOption } from '../control-packet.ts';
import type { MppeStrength } from './mppe-keys.ts';

export const MPPE_OPTION = 18;
export const MppeBit = { stateless: 0x01000000, s56: 0x80, s128: 0x40, s40: 0x20, obsoleteD: 0x10, mppc: 0x01 } as const;

const STRENGTH_BITS: ReadonlyArray<readonly [MppeStrength, number]> = [
  [128, MppeBit.s128],
  [56, MppeBit.s56],
  [40, MppeBit.s40],
];

/** What the link's configuration allows. 'require' ends the link when MPPE cannot be agreed. */
export interface MppePolicy {
  readonly mode: 'allow' | 'require';
  /** Strengths allowed; the strongest both sides allow wins. */
  readonly strengths: readonly MppeStrength[];
  /** Allow stateful mode when the peer will not do stateless (stateless is always preferred). */
  readonly allowStateful: boolean;
}

/** One agreed direction: a single strength, and whether RC4 restarts every packet. */
export interface MppeChoice {
  readonly strength: MppeStrength;
  readonly stateless: boolean;
}

export function mppeBits(choice: MppeChoice): number {
  const bit = STRENGTH_BITS.find(([s]) => s === choice.strength)![1];
  return (choice.stateless ? MppeBit.stateless : 0) | bit;
}

export function mppeOption(bits: number): PppOption {
  return uintOption(MPPE_OPTION, bits, 4);
}

/** The bits of an MPPE option, or undefined when its Length is not 6. */
export function mppeOptionBits(option: PppOption): number | undefined {
  return option.type === MPPE_OPTION ? optionUint(option, 4) : undefined;
}

/** Every strength and mode the policy allows: what our Configure-Request offers. */
export function offeredBits(policy: MppePolicy): number {
  let bits = MppeBit.stateless;
  for (const [strength, bit] of STRENGTH_BITS) if (policy.strengths.includes(strength)) bits |= bit;
  return bits;
}

/** The best choice within `bits` (a request or a Nak) that the policy allows, if any. */
export function chooseMppe(bits: number, policy: MppePolicy): MppeChoice | undefined {
  const strength = STRENGTH_BITS.find(([s, bit]) => (bits & bit) !== 0 && policy.strengths.includes(s))?.[0];
  if (strength === undefined) return undefined;
  const stateless = (bits & MppeBit.stateless) !== 0 || !policy.allowStateful;
  return { strength, stateless };
}

/** Whether `bits` say exactly `choice` (one strength, no compression, H as chosen). */
export function isExactly(bits: number, choice: MppeChoice): boolean {
  return bits === mppeBits(choice);
}
