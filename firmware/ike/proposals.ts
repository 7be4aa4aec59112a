import { DhId, EncrId, IntegId, PrfId, ProtocolId, TransformType } from './registry/numbers.ts';
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

/** How Diffie-Hellman transforms in offered proposals are treated beyond what the specs list. */
export interface SelectOptions {
  /** The group of the KE the initiator sent: a proposal that can use it wins (one round trip saved). */
  readonly keGroup?: number;
  /**
   * Child SAs: groups accepted for PFS when a spec names none (RFC 7296 §1.3.1: a peer that requires
   * PFS offers them in CREATE_CHILD_SA). A spec that names groups requires one of them.
   */
  readonly pfsGroups?: readonly number[];
  /** IKE_AUTH carries no KE (§1.2): DH transforms offered there are ignored. */
  readonly ignoreDh?: boolean;
}

const matches = (offered: Transform, wanted: readonly Transform[]) =>
  wanted.some((w) => w.id === offered.id && (w.keyLength === undefined || w.keyLength === offered.keyLength));

/**
 * The first of `offered` that one of `accepted` allows (the initiator's order, as RFC 7296 §2.7
 * suggests); with a KE group, first a proposal that can take that group.
 */
export function selectProposal(offered: readonly Proposal[], accepted: readonly ProposalSpec[], protocolId: number, options: SelectOptions = {}): Choice | undefined {
  const candidates = offered.filter((p) => p.protocolId === protocolId);
  if (options.keGroup !== undefined) {
    const withKe = firstMatch(candidates, accepted, options, options.keGroup);
    if (withKe) return withKe;
  }
  return firstMatch(candidates, accepted, options, undefined);
}

function firstMatch(offered: readonly Proposal[], accepted: readonly ProposalSpec[], options: SelectOptions, group: number | undefined): Choice | undefined {
  for (const p of offered) {
    const transforms = options.ignoreDh ? p.transforms.filter((t) => t.type !== TransformType.DH) : p.transforms;
    for (const spec of accepted) {
      const chosen = choose(transforms, effectiveSpec(spec, transforms, options, p.protocolId), group);
      if (chosen) return { proposal: { number: p.number, protocolId: p.protocolId, spi: p.spi, transforms: chosen } };
    }
  }
  return undefined;
}

/**
 * A spec without DH accepts the PFS groups (or NONE) when the offer carries DH transforms; the offer's
 * NONE (id 0) makes PFS optional, so a spec with groups may then take NONE too.
 */
function effectiveSpec(spec: ProposalSpec, offered: readonly Transform[], options: SelectOptions, protocolId: number): ProposalSpec {
  const offersDh = offered.some((t) => t.type === TransformType.DH);
  if (!offersDh || options.ignoreDh || protocolId === ProtocolId.IKE) return spec;
  const none: Transform = { type: TransformType.DH, id: DhId.NONE };
  const listed = spec.get(TransformType.DH);
  const extended = new Map(spec);
  if (listed) extended.set(TransformType.DH, [...listed, none]);
  else extended.set(TransformType.DH, [...(options.pfsGroups ?? []).map((id) => ({ type: TransformType.DH, id })), none]);
  return extended;
}

/** One transform per type the spec lists, preferring `group` for DH; undefined when incomplete. */
function choose(offered: readonly Transform[], spec: ProposalSpec, group: number | undefined): Transform[] | undefined {
  // Every transform type offered must be one we accept too: no silent drop of, say, a DH group.
  if (!offered.every((t) => spec.has(t.type))) return undefined;
  const chosen: Transform[] = [];
  for (const [type, wanted] of spec) {
    const fits = offered.filter((t) => t.type === type && matches(t, wanted));
    // DH: the KE's group when asked for, else a real group before NONE (PFS when the peer allows it).
    const pick = type === TransformType.DH && group !== undefined ? fits.find((t) => t.id === group) : type === TransformType.DH ? fits.find((t) => t.id !== DhId.NONE) ?? fits[0] : fits[0];
    if (!pick) return undefined;
    chosen.push(pick);
  }
  return chosen;
}

/** "ENCR_AES_GCM_16/256 PRF_HMAC_SHA2_256 DH 19" lists for log lines: what was offered and accepted. */
export function describeProposals(proposals: readonly Proposal[]): string {
  return proposals.map((p) => p.transforms.map(transformName).join('/')).join(', ') || 'nothing';
}

export function describeSpecs(specs: readonly ProposalSpec[]): string {
  return specs.map((s) => [...s.values()].map((list) => list.map(transformName).join('|')).join('/')).join(', ') || 'nothing';
}

const TYPE_NAMES: Record<number, string> = { [TransformType.ENCR]: 'ENCR', [TransformType.PRF]: 'PRF', [TransformType.INTEG]: 'INTEG', [TransformType.DH]: 'DH', [TransformType.ESN]: 'ESN' };

function transformName(t: Transform): string {
  const byType: Record<number, Record<string, number>> = { [TransformType.ENCR]: EncrId, [TransformType.PRF]: PrfId, [TransformType.INTEG]: IntegId, [TransformType.DH]: DhId };
  const name = Object.entries(byType[t.type] ?? {}).find(([, id]) => id === t.id)?.[0] ?? `${TYPE_NAMES[t.type] ?? t.type}:${t.id}`;
  const label = t.type === TransformType.ESN ? (t.id ? 'ESN' : 'NO_ESN') : name;
  return t.keyLength ? `${label}_${t.keyLength}` : label;
}

/**
 * RFC 7296 §1.2: when the chosen proposal's group differs from the KE the initiator sent, answer
 * INVALID_KE_PAYLOAD naming the group wanted. Returns that group, or undefined when the KE fits.
 */
export function groupToAskFor(choice: Choice, keGroup: number): number | undefined {
  const dh = choice.proposal.transforms.find((t) => t.type === TransformType.DH);
  return dh && dh.id !== keGroup ? dh.id : undefined;
}
