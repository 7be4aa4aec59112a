import type { Proposal, Transform } from '../../ike/payloads/sa.ts';
import { selectProposal, type ProposalSpec } from '../../ike/proposals.ts';
import { DhId, EncrId, IntegId, PrfId, ProtocolId as V2Protocol, TransformType } from '../../ike/registry/numbers.ts';
import { attributeNumber, numberAttribute, type DataAttribute } from '../payloads/attributes.ts';
import type { IsakmpProposal, IsakmpTransform, SaPayload } from '../payloads/sa.ts';
import { AuthAlgorithm, AuthMethod, DOI_IPSEC, EncapsulationMode, EncryptionAlgorithm, EspTransformId, HashAlgorithm, KEY_IKE, LifeType, Phase1Attr, Phase2Attr, ProtocolId, SIT_IDENTITY_ONLY } from '../registry.ts';

/**
 * IKEv1 offers and choices, from the same configured proposals as IKEv2 ("aes256-sha1-modp2048",
 * parsed by firmware/ike/proposals.ts). An IKEv1 transform carries a whole suite in its attributes
 * (RFC 2409 Appendix A, RFC 2407 §4.5); each is translated to the IKEv2 shape so the shared
 * selection decides, and the chosen transform goes back exactly as offered (RFC 2408 §4.2).
 */

const V1_ENCR: Record<number, number> = { [EncrId.ENCR_3DES]: 5, [EncrId.ENCR_AES_CBC]: 7 };
const V1_HASH: Record<number, number> = { [PrfId.PRF_HMAC_MD5]: HashAlgorithm.MD5, [PrfId.PRF_HMAC_SHA1]: HashAlgorithm.SHA, [PrfId.PRF_HMAC_SHA2_256]: HashAlgorithm.SHA2_256, [PrfId.PRF_HMAC_SHA2_384]: HashAlgorithm.SHA2_384, [PrfId.PRF_HMAC_SHA2_512]: HashAlgorithm.SHA2_512 };
const HASH_INTEG: Record<number, number> = { [HashAlgorithm.MD5]: IntegId.AUTH_HMAC_MD5_96, [HashAlgorithm.SHA]: IntegId.AUTH_HMAC_SHA1_96, [HashAlgorithm.SHA2_256]: IntegId.AUTH_HMAC_SHA2_256_128, [HashAlgorithm.SHA2_384]: IntegId.AUTH_HMAC_SHA2_384_192, [HashAlgorithm.SHA2_512]: IntegId.AUTH_HMAC_SHA2_512_256 };
/** RFC 2407 §4.5 authentication algorithm for an IKEv2 integrity transform. */
const V1_AUTH: Record<number, number> = { [IntegId.AUTH_HMAC_MD5_96]: 1, [IntegId.AUTH_HMAC_SHA1_96]: 2, [IntegId.AUTH_HMAC_SHA2_256_128]: 5, [IntegId.AUTH_HMAC_SHA2_384_192]: 6, [IntegId.AUTH_HMAC_SHA2_512_256]: 7 };
const invert = (m: Record<number, number>) => Object.fromEntries(Object.entries(m).map(([k, v]) => [v, Number(k)])) as Record<number, number>;
const V2_ENCR = invert(V1_ENCR);
const V2_PRF = invert(V1_HASH);
const V2_INTEG = invert(V1_AUTH);
/** ESP transform IDs (RFC 2407 §4.4.4) and IKEv2 ENCR IDs share their numbers: 3DES 3, AES 12, AES-GCM 18..20. */
const ESP_IDS: ReadonlySet<number> = new Set([EncrId.ENCR_3DES, EncrId.ENCR_AES_CBC, EncrId.ENCR_AES_GCM_8, EncrId.ENCR_AES_GCM_12, EncrId.ENCR_AES_GCM_16]);
const AEAD: ReadonlySet<number> = new Set([EncrId.ENCR_AES_GCM_8, EncrId.ENCR_AES_GCM_12, EncrId.ENCR_AES_GCM_16]);

const listOf = (spec: ProposalSpec, type: number): readonly (Transform | undefined)[] => spec.get(type) ?? [undefined];
const attr = (t: IsakmpTransform, type: number): number | undefined => {
  const a = t.attributes.find((x) => x.type === type);
  return a ? attributeNumber(a) : undefined;
};

/** Phase 1 attributes as negotiated. */
export interface Phase1Choice {
  readonly transform: IsakmpTransform;
  readonly encryption: number;
  readonly keyBits: number;
  readonly hash: number;
  readonly authMethod: number;
  readonly group: number;
  readonly lifeSeconds: number | undefined;
}

/**
 * Our phase 1 SA payload: one ISAKMP proposal, one transform per combination (RFC 2409 §5), all
 * with the one auth method the connection uses (the pre-shared key, or our key's signature).
 */
export function phase1Offer(specs: readonly ProposalSpec[], lifeSeconds: number, authMethod: number = AuthMethod.PRE_SHARED_KEY): SaPayload {
  const transforms: IsakmpTransform[] = [];
  for (const spec of specs) {
    for (const e of listOf(spec, TransformType.ENCR)) for (const p of listOf(spec, TransformType.PRF)) for (const d of listOf(spec, TransformType.DH)) {
      const encr = e && V1_ENCR[e.id];
      const hash = p && V1_HASH[p.id];
      if (encr === undefined || hash === undefined || !d) continue;
      const attributes: DataAttribute[] = [
        { type: Phase1Attr.ENCRYPTION_ALGORITHM, basic: true, value: encr },
        ...(e?.keyLength ? [{ type: Phase1Attr.KEY_LENGTH, basic: true as const, value: e.keyLength }] : []),
        { type: Phase1Attr.HASH_ALGORITHM, basic: true, value: hash },
        { type: Phase1Attr.AUTHENTICATION_METHOD, basic: true, value: authMethod },
        { type: Phase1Attr.GROUP_DESCRIPTION, basic: true, value: d.id },
        { type: Phase1Attr.LIFE_TYPE, basic: true, value: LifeType.SECONDS },
        numberAttribute(Phase1Attr.LIFE_DURATION, lifeSeconds),
      ];
      transforms.push({ number: transforms.length + 1, id: KEY_IKE, attributes });
    }
  }
  return { doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY, proposals: [{ number: 1, protocolId: ProtocolId.ISAKMP, spi: new Uint8Array(), transforms }] };
}

export function phase1Params(t: IsakmpTransform): Phase1Choice | undefined {
  const encryption = attr(t, Phase1Attr.ENCRYPTION_ALGORITHM);
  const hash = attr(t, Phase1Attr.HASH_ALGORITHM);
  const authMethod = attr(t, Phase1Attr.AUTHENTICATION_METHOD);
  const group = attr(t, Phase1Attr.GROUP_DESCRIPTION);
  if (encryption === undefined || hash === undefined || authMethod === undefined || group === undefined || t.id !== KEY_IKE) return undefined;
  // A private group (prime, generator, curves) or a PRF attribute is not implemented (Appendix A).
  if ([Phase1Attr.GROUP_PRIME, Phase1Attr.GROUP_GENERATOR_ONE, Phase1Attr.PRF].some((type) => attr(t, type) !== undefined)) return undefined;
  const lifeType = attr(t, Phase1Attr.LIFE_TYPE);
  const life = attr(t, Phase1Attr.LIFE_DURATION);
  return { transform: t, encryption, keyBits: attr(t, Phase1Attr.KEY_LENGTH) ?? 0, hash, authMethod, group, lifeSeconds: lifeType === LifeType.SECONDS ? life : undefined };
}

function asV2(p: Phase1Choice, number: number): Proposal | undefined {
  const encr = V2_ENCR[p.encryption];
  const prf = V2_PRF[p.hash];
  const integ = HASH_INTEG[p.hash];
  if (encr === undefined || prf === undefined || integ === undefined) return undefined;
  return { number, protocolId: V2Protocol.IKE, spi: new Uint8Array(), transforms: [
    { type: TransformType.ENCR, id: encr, ...(p.keyBits ? { keyLength: p.keyBits } : {}) },
    { type: TransformType.PRF, id: prf }, { type: TransformType.INTEG, id: integ }, { type: TransformType.DH, id: p.group },
  ] };
}

/** The first offered transform our specs accept with our auth method; undefined: NO-PROPOSAL-CHOSEN. */
export function selectPhase1(offer: SaPayload, specs: readonly ProposalSpec[], authMethod: number = AuthMethod.PRE_SHARED_KEY): Phase1Choice | undefined {
  const params = offer.proposals.filter((p) => p.protocolId === ProtocolId.ISAKMP).flatMap((p) => p.transforms).map(phase1Params);
  const v2 = params.flatMap((p, i) => (p && p.authMethod === authMethod ? [asV2(p, i + 1)].filter((x): x is Proposal => x !== undefined) : []));
  const chosen = selectProposal(v2, specs, V2Protocol.IKE);
  return chosen ? params[chosen.proposal.number - 1] : undefined;
}

/** The responder's SA payload: the initiator's proposal with only the chosen transform. */
export function phase1Answer(offer: SaPayload, chosen: Phase1Choice): SaPayload {
  const proposal = offer.proposals.find((p) => p.transforms.includes(chosen.transform)) as IsakmpProposal;
  return { doi: offer.doi, situation: offer.situation, proposals: [{ ...proposal, transforms: [chosen.transform] }] };
}

/** Phase 2: what the chosen ESP transform says. */
export interface Phase2Choice {
  readonly proposal: IsakmpProposal;
  readonly transform: IsakmpTransform;
  readonly transformId: number;
  readonly keyBits: number;
  readonly auth: number | undefined;
  readonly group: number | undefined;
  readonly mode: number;
  readonly lifeSeconds: number | undefined;
}

export interface Phase2OfferOptions {
  readonly spi: Uint8Array;
  readonly encapsulation: number;
  readonly lifeSeconds: number;
  readonly group?: number;
}

/** Our Quick Mode SA payload: one ESP proposal, one transform per combination (RFC 2407 §4.5). */
export function phase2Offer(specs: readonly ProposalSpec[], o: Phase2OfferOptions): SaPayload {
  const transforms: IsakmpTransform[] = [];
  for (const spec of specs) for (const e of listOf(spec, TransformType.ENCR)) for (const i of AEAD.has(e?.id ?? -1) ? [undefined] : listOf(spec, TransformType.INTEG)) {
    if (!e || !ESP_IDS.has(e.id)) continue;
    const auth = i && V1_AUTH[i.id];
    if (!AEAD.has(e.id) && auth === undefined) continue;
    const attributes: DataAttribute[] = [
      { type: Phase2Attr.SA_LIFE_TYPE, basic: true, value: LifeType.SECONDS },
      numberAttribute(Phase2Attr.SA_LIFE_DURATION, o.lifeSeconds),
      ...(o.group !== undefined ? [{ type: Phase2Attr.GROUP_DESCRIPTION, basic: true as const, value: o.group }] : []),
      { type: Phase2Attr.ENCAPSULATION_MODE, basic: true, value: o.encapsulation },
      ...(auth !== undefined ? [{ type: Phase2Attr.AUTHENTICATION_ALGORITHM, basic: true as const, value: auth }] : []),
      ...(e.keyLength ? [{ type: Phase2Attr.KEY_LENGTH, basic: true as const, value: e.keyLength }] : []),
    ];
    transforms.push({ number: transforms.length + 1, id: e.id, attributes });
  }
  return { doi: DOI_IPSEC, situation: SIT_IDENTITY_ONLY, proposals: [{ number: 1, protocolId: ProtocolId.IPSEC_ESP, spi: o.spi, transforms }] };
}

export function phase2Params(proposal: IsakmpProposal, t: IsakmpTransform): Phase2Choice | undefined {
  const mode = attr(t, Phase2Attr.ENCAPSULATION_MODE);
  if (mode === undefined || proposal.protocolId !== ProtocolId.IPSEC_ESP || proposal.spi.length !== 4) return undefined;
  const lifeType = attr(t, Phase2Attr.SA_LIFE_TYPE);
  const life = attr(t, Phase2Attr.SA_LIFE_DURATION);
  return {
    proposal, transform: t, transformId: t.id, keyBits: attr(t, Phase2Attr.KEY_LENGTH) ?? 0, auth: attr(t, Phase2Attr.AUTHENTICATION_ALGORITHM),
    group: attr(t, Phase2Attr.GROUP_DESCRIPTION), mode, lifeSeconds: lifeType === LifeType.SECONDS ? life : undefined,
  };
}

function phase2AsV2(p: Phase2Choice, number: number): Proposal | undefined {
  if (!ESP_IDS.has(p.transformId)) return undefined;
  const integ = p.auth === undefined ? undefined : V2_INTEG[p.auth];
  if (p.auth !== undefined && integ === undefined) return undefined;
  const keyLength = p.keyBits || (p.transformId === EncrId.ENCR_AES_CBC ? 128 : 0);
  return { number, protocolId: V2Protocol.ESP, spi: new Uint8Array(4), transforms: [
    { type: TransformType.ENCR, id: p.transformId, ...(keyLength ? { keyLength } : {}) },
    ...(integ !== undefined ? [{ type: TransformType.INTEG, id: integ }] : []),
    ...(p.group !== undefined ? [{ type: TransformType.DH, id: p.group }] : []),
    { type: TransformType.ESN, id: 0 },
  ] };
}

/** Whether an encapsulation mode names tunnel or transport, with or without UDP (RFC 3947 and drafts). */
export function modeOf(mode: number): 'tunnel' | 'transport' | undefined {
  if (mode === EncapsulationMode.TUNNEL || mode === EncapsulationMode.UDP_ENCAPSULATED_TUNNEL || mode === EncapsulationMode.UDP_ENCAPSULATED_TUNNEL_DRAFT) return 'tunnel';
  if (mode === EncapsulationMode.TRANSPORT || mode === EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT || mode === EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT_DRAFT) return 'transport';
  return undefined;
}

/**
 * Responder: the first offered ESP transform of our mode our specs accept. PFS groups offered
 * are accepted from `pfsGroups` when a spec names none (as for IKEv2 children).
 */
export function selectPhase2(offer: SaPayload, specs: readonly ProposalSpec[], mode: 'tunnel' | 'transport', pfsGroups: readonly number[]): Phase2Choice | undefined {
  const params = offer.proposals.flatMap((p) => p.transforms.map((t) => phase2Params(p, t)));
  const v2 = params.flatMap((p, i) => (p && modeOf(p.mode) === mode ? [phase2AsV2(p, i + 1)].filter((x): x is Proposal => x !== undefined) : []));
  const chosen = selectProposal(v2, specs, V2Protocol.ESP, { pfsGroups });
  return chosen ? params[chosen.proposal.number - 1] : undefined;
}

/** The responder's answer: the chosen transform in its proposal, with our SPI. */
export function phase2Answer(offer: SaPayload, chosen: Phase2Choice, spi: Uint8Array): SaPayload {
  return { doi: offer.doi, situation: offer.situation, proposals: [{ ...chosen.proposal, spi, transforms: [chosen.transform] }] };
}

/** The encapsulation mode to offer: UDP-encapsulated behind a NAT, in the peer's NAT-T dialect. */
export function encapsulationMode(mode: 'tunnel' | 'transport', nat: 'none' | 'rfc' | 'draft'): number {
  if (nat === 'none') return mode === 'tunnel' ? EncapsulationMode.TUNNEL : EncapsulationMode.TRANSPORT;
  if (nat === 'rfc') return mode === 'tunnel' ? EncapsulationMode.UDP_ENCAPSULATED_TUNNEL : EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT;
  return mode === 'tunnel' ? EncapsulationMode.UDP_ENCAPSULATED_TUNNEL_DRAFT : EncapsulationMode.UDP_ENCAPSULATED_TRANSPORT_DRAFT;
}

/** "AES_CBC-256/SHA2_256/PRE_SHARED_KEY/MODP_2048"-style text of offered transforms, for a NO-PROPOSAL-CHOSEN log line. */
export function describePhase1Offer(offer: SaPayload): string {
  return offer.proposals.flatMap((p) => p.transforms).map((t) => {
    const p = phase1Params(t);
    if (!p) return `transform ${t.number}: unreadable`;
    const encr = `${nameOf(EncryptionAlgorithm, p.encryption) ?? `encr ${p.encryption}`}${p.keyBits ? `-${p.keyBits}` : ''}`;
    return [encr, nameOf(HashAlgorithm, p.hash) ?? `hash ${p.hash}`, nameOf(AuthMethod, p.authMethod) ?? `auth ${p.authMethod}`, groupName(p.group)].join('/');
  }).join(', ') || 'nothing';
}

const nameOf = (table: Record<string, number>, value: number | undefined): string | undefined => Object.entries(table).find(([, v]) => v === value)?.[0];
/** Group Description values are IKEv2's DH numbers (RFC 2409 Appendix A, RFC 5903 §5). */
const groupName = (group: number): string => nameOf(DhId, group) ?? `group ${group}`;

/** "ESP_3DES/HMAC_SHA tunnel, ESP_AES-256/HMAC_SHA2_256/group 14 transport" for a Quick Mode refusal line. */
export function describePhase2Offer(offer: SaPayload): string {
  return offer.proposals.flatMap((p) => p.transforms.map((t) => {
    const c = phase2Params(p, t);
    if (!c) return `transform ${t.number}: unreadable`;
    const encr = `${nameOf(EspTransformId, c.transformId) ?? `ESP transform ${c.transformId}`}${c.keyBits ? `-${c.keyBits}` : ''}`;
    const auth = c.auth === undefined ? [] : [nameOf(AuthAlgorithm, c.auth) ?? `auth ${c.auth}`];
    const group = c.group === undefined ? [] : [groupName(c.group)];
    return `${[encr, ...auth, ...group].join('/')} ${modeOf(c.mode) ?? `mode ${c.mode}`}`;
  })).join(', ') || 'nothing';
}

/**
 * The lifetime offered: past the rekey time by a tenth (at least a minute), so the rekey happens
 * before the peer's hard expiry, as strongSwan's defaults do (rekey 3600 s, life 3960 s).
 */
export function lifetimeFor(rekeySeconds: number | undefined, otherwise: number): number {
  return rekeySeconds ? rekeySeconds + Math.max(60, Math.ceil(rekeySeconds / 10)) : otherwise;
}
