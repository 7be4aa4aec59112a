import { DhId, EncrId, IntegId, PrfId, TransformType } from './registry/numbers.ts';
import type { Proposal, Transform } from './payloads/sa.ts';

/**
 * Configured proposals ("aes256-sha256-modp2048", the strongSwan spelling the configuration uses)
 * and the responder's choice among what an initiator offers (RFC 7296 §2.7, §3.3.6).
 */

/** Acceptable transforms by type: any one of each listed type must be present in a chosen proposal. */
export type ProposalSpec = ReadonlyMap<number, readonly Transform[]>;

const WORDS: Record<string, ReadonlyArray<Transform>> = {
  aes128: [{ type: TransformType.ENCR, id: EncrId.ENCR_AES_CBC, keyLength: 128 }],
  aes256: [{ type: TransformType.ENCR, id: EncrId.ENCR_AES_CBC, keyLength: 256 }],
  aes128gcm16: [{ type: TransformType.ENCR, id: EncrId.ENCR_AES_GCM_16, keyLength: 128 }],
  aes256gcm16: [{ type: TransformType.ENCR, id: EncrId.ENCR_AES_GCM_16, keyLength: 256 }],
  chacha20poly1305: [{ type: TransformType.ENCR, id: EncrId.ENCR_CHACHA20_POLY1305 }],
  '3des': [{ type: TransformType.ENCR, id: EncrId.ENCR_3DES }],
  md5: [{ type: TransformType.INTEG, id: IntegId.AUTH_HMAC_MD5_96 }, { type: TransformType.PRF, id: PrfId.PRF_HMAC_MD5 }],
  sha1: [{ type: TransformType.INTEG, id: IntegId.AUTH_HMAC_SHA1_96 }, { type: TransformType.PRF, id: PrfId.PRF_HMAC_SHA1 }],
  sha256: [{ type: TransformType.INTEG, id: IntegId.AUTH_HMAC_SHA2_256_128 }, { type: TransformType.PRF, id: PrfId.PRF_HMAC_SHA2_256 }],
  sha384: [{ type: TransformType.INTEG, id: IntegId.AUTH_HMAC_SHA2_384_192 }, { type: TransformType.PRF, id: PrfId.PRF_HMAC_SHA2_384 }],
  sha512: [{ type: TransformType.INTEG, id: IntegId.AUTH_HMAC_SHA2_512_256 }, { type: TransformType.PRF, id: PrfId.PRF_HMAC_SHA2_512 }],
  prfsha1: [{ type: TransformType.PRF, id: PrfId.PRF_HMAC_SHA1 }],
  prfsha256: [{ type: TransformType.PRF, id: PrfId.PRF_HMAC_SHA2_256 }],
  prfsha384: [{ type: TransformType.PRF, id: PrfId.PRF_HMAC_SHA2_384 }],
  prfsha512: [{ type: TransformType.PRF, id: PrfId.PRF_HMAC_SHA2_512 }],
  modp1024: [{ type: TransformType.DH, id: DhId.MODP_1024 }],
  modp2048: [{ type: TransformType.DH, id: DhId.MODP_2048 }],
  modp3072: [{ type: TransformType.DH, id: DhId.MODP_3072 }],
  modp4096: [{ type: TransformType.DH, id: DhId.MODP_4096 }],
  ecp256: [{ type: TransformType.DH, id: DhId.ECP_256 }],
  ecp384: [{ type: TransformType.DH, id: DhId.ECP_384 }],
  curve25519: [{ type: TransformType.DH, id: DhId.CURVE25519 }],
  x25519: [{ type: TransformType.DH, id: DhId.CURVE25519 }],
  esn: [{ type: TransformType.ESN, id: 1 }],
  noesn: [{ type: TransformType.ESN, id: 0 }],
};

const AEAD: ReadonlySet<number> = new Set([EncrId.ENCR_AES_GCM_16, EncrId.ENCR_AES_GCM_12, EncrId.ENCR_AES_GCM_8, EncrId.ENCR_CHACHA20_POLY1305]);

/**
 * Parses one proposal string for IKE or ESP; undefined when a word is unknown. Rules: a hash word
 * gives integrity and, for IKE without a prf word, the PRF; AEAD ciphers take no integrity; ESP
 * takes no PRF, a DH group only for PFS, and no ESN unless asked (then "noesn" too if both are listed).
 */
export function parseProposal(text: string, protocol: 'ike' | 'esp'): ProposalSpec | undefined {
  const byType = new Map<number, Transform[]>();
  const add = (t: Transform) => {
    const list = byType.get(t.type) ?? [];
    if (!list.some((x) => x.id === t.id && x.keyLength === t.keyLength)) list.push(t);
    byType.set(t.type, list);
  };
  const words = text.split('-');
  const explicitPrf = words.some((w) => w.startsWith('prf'));
  for (const word of words) {
    const transforms = WORDS[word];
    if (!transforms) return undefined;
    for (const t of transforms) {
      if (t.type === TransformType.PRF && (protocol === 'esp' || (explicitPrf && !word.startsWith('prf')))) continue;
      add(t);
    }
  }
  const aead = (byType.get(TransformType.ENCR) ?? []).every((t) => AEAD.has(t.id));
  if (aead) byType.delete(TransformType.INTEG);
  if (protocol === 'esp' && !byType.has(TransformType.ESN)) add({ type: TransformType.ESN, id: 0 });
  if (!byType.has(TransformType.ENCR)) return undefined;
  if (protocol === 'ike' && (!byType.has(TransformType.PRF) || !byType.has(TransformType.DH))) return undefined;
  return byType;
}

export interface Choice {
  /** What goes back in the responder's SA payload: the initiator's number, one transform per type. */
  readonly proposal: Proposal;
}

const matches = (offered: Transform, wanted: readonly Transform[]) =>
  wanted.some((w) => w.id === offered.id && (w.keyLength === undefined || w.keyLength === offered.keyLength));

/** The first of `offered` that one of `accepted` allows (the initiator's order, as RFC 7296 §2.7 suggests). */
export function selectProposal(offered: readonly Proposal[], accepted: readonly ProposalSpec[], protocolId: number): Choice | undefined {
  for (const p of offered) {
    if (p.protocolId !== protocolId) continue;
    for (const spec of accepted) {
      const chosen: Transform[] = [];
      let complete = true;
      for (const [type, wanted] of spec) {
        const pick = p.transforms.find((t) => t.type === type && matches(t, wanted));
        if (!pick) {
          complete = false;
          break;
        }
        chosen.push(pick);
      }
      // Every transform type offered must be one we accept too: no silent drop of, say, a DH group.
      if (complete && p.transforms.every((t) => spec.has(t.type))) {
        return { proposal: { number: p.number, protocolId: p.protocolId, spi: p.spi, transforms: chosen } };
      }
    }
  }
  return undefined;
}

/**
 * RFC 7296 §1.2: when the chosen proposal's group differs from the KE the initiator sent, answer
 * INVALID_KE_PAYLOAD naming the group wanted. Returns that group, or undefined when the KE fits.
 */
export function groupToAskFor(choice: Choice, keGroup: number): number | undefined {
  const dh = choice.proposal.transforms.find((t) => t.type === TransformType.DH);
  return dh && dh.id !== keGroup ? dh.id : undefined;
}
