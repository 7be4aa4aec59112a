import { deriveRekeyedIkeSaKeys } from '../crypto/key-derivation.ts';
import { cipherSuite, prfAlgorithm } from '../crypto/transforms.ts';
import type { IkePayload } from '../message.ts';
import type { Proposal } from '../payloads/sa.ts';
import { describeProposals, describeSpecs, selectProposal, type ProposalSpec } from '../proposals.ts';
import { DhId, ExchangeType, NotifyType, ProtocolId, TransformType } from '../registry/numbers.ts';
import { acceptChild, answerChild, chooseChild, childOfferPayloads, pfsGroupsOf, type ChildKeying } from './child-sa.ts';
import type { EngineContext } from './context.ts';
import { IkeSa, type CreateChildState } from './ike-sa.ts';
import { startDeleteChildren } from './informational.ts';
import { errorNotify, first, notifies, notify, notifyName, proposalsFromSpecs, spiBytes32, spiFromBytes, transformOf } from './payload-helpers.ts';
import type { ChildSaInfo, IkeConnection } from './types.ts';

/**
 * CREATE_CHILD_SA (RFC 7296 §1.3): another child SA, a child rekey (N(REKEY_SA), §1.3.3) with or
 * without PFS, and the IKE SA rekey (§1.3.2, keys per §2.18). The old SA stays until its delete,
 * so traffic never stops (§2.8).
 */

const ikeSpiBytes = (spi: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(spi);
  return b;
};
const ikeSpiOf = (b: Uint8Array): bigint | undefined => (b.length === 8 ? Buffer.from(b).readBigUInt64BE(0) : undefined);
/** The DH group a proposal carries; NONE (§3.3.2) counts as no group. */
const dhGroupOf = (p: Proposal) => {
  const id = transformOf(p, TransformType.DH)?.id;
  return id === DhId.NONE ? undefined : id;
};

/** Initiator: a new child for the connection, or the rekey of `old`; `group` after INVALID_KE_PAYLOAD. */
export function startCreateChild(ctx: EngineContext, sa: IkeSa, old?: ChildSaInfo, group?: number): void {
  const conn = sa.connection;
  if (!conn || sa.creating || sa.state !== 'established') return;
  const plan = pfsPlan(sa, conn, group);
  const dh = plan.group === undefined ? undefined : ctx.crypto.createDh(plan.group);
  const ni = ctx.crypto.randomBytes(ctx.options.nonceLength);
  const spi = ctx.allocateChildSpi();
  const offer = childOfferPayloads(sa, conn, spi, plan.specs, plan.group);
  const [saPayload, ...selectors] = offer.payloads.filter((p) => p.kind === 'SA' || p.kind === 'TSi' || p.kind === 'TSr');
  const payloads: IkePayload[] = [
    ...(old ? [notify(NotifyType.REKEY_SA, new Uint8Array(), ProtocolId.ESP, spiBytes32(old.inbound.spi))] : []),
    ...(conn.mode === 'transport' ? [notify(NotifyType.USE_TRANSPORT_MODE)] : []),
    saPayload!, { kind: 'Nonce', nonce: ni }, ...(dh ? [{ kind: 'KE', ke: { group: dh.group, data: dh.publicValue } } as const] : []), ...selectors,
  ];
  sa.creating = { kind: 'child', ni, dh, proposals: offer.proposals, spi, pfsOptional: plan.optional, ...(old ? { old } : {}) };
  ctx.sendRequest(sa, ExchangeType.CREATE_CHILD_SA, payloads, 'create-child');
}

/**
 * The child proposals and the KE group of our CREATE_CHILD_SA (§1.3.1). Proposals that name groups
 * require them; the others get the IKE SA's group (then the connection's other groups) and, in
 * 'auto', NONE too, so a peer that requires PFS and one that refuses it both find a match.
 */
function pfsPlan(sa: IkeSa, conn: IkeConnection, asked?: number): { specs: ProposalSpec[]; group?: number; optional: boolean } {
  const named = conn.espProposals.find((s) => s.has(TransformType.DH))?.get(TransformType.DH)?.[0]?.id;
  const mode = conn.pfs ?? 'auto';
  if (named === undefined && (mode === 'off' || (mode === 'auto' && sa.pfsDeclined))) return { specs: [...conn.espProposals], optional: false };
  const ikeGroup = sa.crypto ? dhGroupOf(sa.crypto.proposal) : undefined;
  const groups = [...new Set([asked, named, ikeGroup, ...pfsGroupsOf(conn)].filter((g): g is number => g !== undefined && g !== DhId.NONE))];
  const group = groups[0];
  if (group === undefined) return { specs: [...conn.espProposals], optional: false };
  const optional = mode === 'auto' && named === undefined;
  const dhTransforms = [...groups, ...(optional ? [DhId.NONE] : [])].map((id) => ({ type: TransformType.DH, id }));
  const specs = conn.espProposals.map((s) => (s.has(TransformType.DH) ? s : new Map([...s, [TransformType.DH, dhTransforms]])));
  return { specs, group, optional };
}

/** Initiator: the IKE SA's replacement, with a fresh DH and new SPIs. */
export function startRekeyIke(ctx: EngineContext, sa: IkeSa, group?: number): void {
  const conn = sa.connection;
  if (!conn || sa.creating || sa.state !== 'established') return;
  const g = group ?? conn.ikeProposals[0]?.get(TransformType.DH)?.[0]?.id ?? 0;
  const dh = ctx.crypto.createDh(g);
  if (!dh) return;
  const newIkeSpi = ctx.newIkeSpi();
  const ni = ctx.crypto.randomBytes(ctx.options.nonceLength);
  const proposals = proposalsFromSpecs(conn.ikeProposals, ProtocolId.IKE, ikeSpiBytes(newIkeSpi), g);
  sa.creating = { kind: 'ike', ni, dh, proposals, spi: 0, newIkeSpi };
  ctx.sendRequest(sa, ExchangeType.CREATE_CHILD_SA, [{ kind: 'SA', proposals }, { kind: 'Nonce', nonce: ni }, { kind: 'KE', ke: { group: g, data: dh.publicValue } }], 'rekey-ike');
}

/** The secret of a PFS exchange from the peer's KE, or why not. */
function pfsSecret(st: Pick<CreateChildState, 'dh'>, chosenGroup: number | undefined, ke: PayloadKe | undefined): Uint8Array | undefined | 'mismatch' {
  if (chosenGroup === undefined) return undefined;
  if (!st.dh || !ke || ke.group !== chosenGroup || st.dh.group !== chosenGroup) return 'mismatch';
  return st.dh.computeSecret(ke.data) ?? 'mismatch';
}
type PayloadKe = { group: number; data: Uint8Array };

/** Initiator: the answer to our CREATE_CHILD_SA. */
export function processCreateChildResponse(ctx: EngineContext, sa: IkeSa, payloads: readonly IkePayload[]): void {
  const st = sa.creating;
  sa.creating = undefined;
  if (!st) return;
  const error = errorNotify(payloads);
  if (error !== undefined) {
    const wanted = notifies(payloads).find((n) => n.type === NotifyType.INVALID_KE_PAYLOAD)?.data;
    ctx.log('warn', `CREATE_CHILD_SA refused: ${notifyName(error)}`, { connection: sa.connection?.name, rekey: st.kind });
    if (wanted?.length === 2 && st.dh && ((wanted[0]! << 8) | wanted[1]!) !== st.dh.group) {
      const group = (wanted[0]! << 8) | wanted[1]!;
      return st.kind === 'ike' ? startRekeyIke(ctx, sa, group) : startCreateChild(ctx, sa, st.old, group);
    }
    if (st.kind === 'child' && st.pfsOptional && error === NotifyType.NO_PROPOSAL_CHOSEN) {
      // A peer that cannot take DH NONE beside a group: this IKE SA's children go without PFS from now on.
      ctx.log('info', 'the peer refused optional PFS; offering the child without a DH group', { connection: sa.connection?.name });
      sa.pfsDeclined = true;
      return startCreateChild(ctx, sa, st.old);
    }
    // Try again in 30 to 55 s; the jitter breaks the tie when both ends rekey at once (§2.8.1).
    const retryMs = 30_000 + (ctx.crypto.randomBytes(1)[0] ?? 0) * 100;
    if (st.old) sa.childBorn.set(st.old.inbound.spi, ctx.now - (sa.connection?.rekeySeconds ?? 0) * 1000 + retryMs);
    return;
  }
  if (st.kind === 'ike') return finishRekeyIke(ctx, sa, st, payloads);
  const nonce = first(payloads, 'Nonce');
  if (!nonce) return ctx.log('warn', 'CREATE_CHILD_SA response without a nonce', { connection: sa.connection?.name });
  const ke = first(payloads, 'KE')?.ke;
  const keyingFor = (chosen: Proposal): ChildKeying | undefined => {
    const secret = pfsSecret(st, dhGroupOf(chosen), ke);
    if (secret === 'mismatch') return undefined;
    return { weInitiated: true, ni: st.ni, nr: nonce.nonce, ...(secret ? { pfsSecret: secret } : {}) };
  };
  const answer = acceptChild(sa, sa.connection!, st.proposals, st.spi, payloads, keyingFor);
  if (!answer.ok) return ctx.log('warn', `CREATE_CHILD_SA answer not acceptable: ${notifyName(answer.error)}`, { connection: sa.connection?.name });
  adoptChild(ctx, sa, answer.child, st.old, true);
  if (st.old) startDeleteChildren(ctx, sa, [st.old.inbound.spi]); // §1.3.3: the rekey's initiator deletes the old SA
}

function adoptChild(ctx: EngineContext, sa: IkeSa, child: ChildSaInfo, old: ChildSaInfo | undefined, initiated: boolean): void {
  sa.children.push(child);
  sa.childBorn.set(child.inbound.spi, ctx.now);
  ctx.emit(old ? { type: 'rekey-child', old, child, initiated } : { type: 'install-child', child });
  ctx.log('info', old ? `child SA rekeyed: ${old.inbound.spi.toString(16)} -> ${child.inbound.spi.toString(16)}` : 'child SA created', { connection: child.connection, inSpi: child.inbound.spi.toString(16), outSpi: child.outbound.spi.toString(16) });
}

/** Responder: a CREATE_CHILD_SA request. */
export function answerCreateChild(ctx: EngineContext, sa: IkeSa, messageId: number, request: readonly IkePayload[]): void {
  const reply = (payloads: IkePayload[]) => ctx.sendResponse(sa, ExchangeType.CREATE_CHILD_SA, messageId, payloads);
  const conn = sa.connection!;
  const saPayload = first(request, 'SA');
  const nonce = first(request, 'Nonce');
  if (!saPayload || !nonce) return reply([notify(NotifyType.INVALID_SYNTAX)]);
  if (saPayload.proposals[0]?.protocolId === ProtocolId.IKE) return answerRekeyIke(ctx, sa, request, reply);
  const rekey = notifies(request).find((n) => n.type === NotifyType.REKEY_SA && n.protocolId === ProtocolId.ESP);
  const old = rekey ? sa.children.find((c) => c.outbound.spi === spiFromBytes(rekey.spi)) : undefined;
  if (rekey && !old) return reply([notify(NotifyType.CHILD_SA_NOT_FOUND, new Uint8Array(), ProtocolId.ESP, rekey.spi)]);
  // §2.8.1: both ends rekeying the same child at once; the simplest correct answer is "later".
  if (old && sa.creating?.old === old) return reply([notify(NotifyType.TEMPORARY_FAILURE)]);
  const choice = chooseChild(sa, conn, request, conn.espProposals);
  if (!choice.ok) {
    ctx.log('warn', `CREATE_CHILD_SA refused: ${notifyName(choice.error)}${choice.reason ? `: ${choice.reason}` : ''}`, { connection: conn.name, rekey: old !== undefined });
    return reply([notify(choice.error)]);
  }
  const group = dhGroupOf(choice.chosen);
  const ke = first(request, 'KE')?.ke;
  let secret: Uint8Array | undefined;
  let ours: IkePayload[] = [];
  if (group !== undefined) {
    if (ke?.group !== group) return reply([notify(NotifyType.INVALID_KE_PAYLOAD, Uint8Array.of(group >> 8, group & 0xff))]);
    const dh = ctx.crypto.createDh(group);
    secret = dh?.computeSecret(ke.data);
    if (!dh || !secret) return reply([notify(NotifyType.NO_PROPOSAL_CHOSEN)]);
    ours = [{ kind: 'KE', ke: { group, data: dh.publicValue } }];
  }
  const nr = ctx.crypto.randomBytes(ctx.options.nonceLength);
  const answer = answerChild(sa, conn, choice, ctx.allocateChildSpi(), { weInitiated: false, ni: nonce.nonce, nr, ...(secret ? { pfsSecret: secret } : {}) }, [{ kind: 'Nonce', nonce: nr }, ...ours]);
  if (!answer.ok) return reply([notify(answer.error)]);
  // The child goes in before the answer leaves: the peer may send on it as soon as it reads the answer.
  adoptChild(ctx, sa, answer.child, old, false);
  reply(answer.payloads);
}

/** Responder: rekeying the IKE SA itself. */
function answerRekeyIke(ctx: EngineContext, sa: IkeSa, request: readonly IkePayload[], reply: (p: IkePayload[]) => void): void {
  const conn = sa.connection!;
  const offered = first(request, 'SA')!.proposals;
  const ni = first(request, 'Nonce')!.nonce;
  const ke = first(request, 'KE')?.ke;
  const choice = selectProposal(offered, conn.ikeProposals, ProtocolId.IKE, ke ? { keGroup: ke.group } : {});
  const peerSpi = choice && ikeSpiOf(choice.proposal.spi);
  if (!choice || peerSpi === undefined || peerSpi === 0n) {
    ctx.log('warn', `IKE SA rekey refused: no acceptable proposal: offered ${describeProposals(offered)}; accepted ${describeSpecs(conn.ikeProposals)}`, { connection: conn.name });
    return reply([notify(NotifyType.NO_PROPOSAL_CHOSEN)]);
  }
  const group = dhGroupOf(choice.proposal)!;
  if (ke?.group !== group) return reply([notify(NotifyType.INVALID_KE_PAYLOAD, Uint8Array.of(group >> 8, group & 0xff))]);
  if (sa.creating?.kind === 'ike') return reply([notify(NotifyType.TEMPORARY_FAILURE)]);
  const dh = ctx.crypto.createDh(group);
  const secret = dh?.computeSecret(ke.data);
  if (!dh || !secret) return reply([notify(NotifyType.NO_PROPOSAL_CHOSEN)]);
  const ourSpi = ctx.newIkeSpi();
  const nr = ctx.crypto.randomBytes(ctx.options.nonceLength);
  const fresh = successor(ctx, sa, false, peerSpi, ourSpi, ni, nr, choice.proposal, secret);
  if (!fresh) return reply([notify(NotifyType.NO_PROPOSAL_CHOSEN)]);
  reply([{ kind: 'SA', proposals: [{ ...choice.proposal, spi: ikeSpiBytes(ourSpi) }] }, { kind: 'Nonce', nonce: nr }, { kind: 'KE', ke: { group, data: dh.publicValue } }]);
  // The old SA stays until the initiator deletes it.
}

function finishRekeyIke(ctx: EngineContext, sa: IkeSa, st: CreateChildState, payloads: readonly IkePayload[]): void {
  const saPayload = first(payloads, 'SA');
  const nonce = first(payloads, 'Nonce');
  const ke = first(payloads, 'KE')?.ke;
  const chosen = saPayload?.proposals.length === 1 ? saPayload.proposals[0]! : undefined;
  const peerSpi = chosen && ikeSpiOf(chosen.spi);
  const mine = chosen && st.proposals.find((p) => p.number === chosen.number);
  const secret = chosen && pfsSecret(st, dhGroupOf(chosen), ke);
  if (!chosen || !nonce || !peerSpi || !mine || !secret || secret === 'mismatch' || !chosen.transforms.every((t) => mine.transforms.some((m) => m.type === t.type && m.id === t.id && m.keyLength === t.keyLength))) {
    return ctx.log('warn', 'IKE SA rekey answer not acceptable', { connection: sa.connection?.name });
  }
  if (!successor(ctx, sa, true, st.newIkeSpi!, peerSpi, st.ni, nonce.nonce, chosen, secret)) return;
  // §1.3.2: the initiator of the rekey deletes the old IKE SA; its children already moved.
  sa.setState('deleting', 'rekeyed');
  ctx.sendRequest(sa, ExchangeType.INFORMATIONAL, [{ kind: 'D', delete: { protocolId: ProtocolId.IKE, spis: [] } }], 'delete-ike');
}

/** The new IKE SA (§2.18): keys from the old SK_d, the children and the peer's identity moved over. */
function successor(ctx: EngineContext, old: IkeSa, weInitiated: boolean, spiI: bigint, spiR: bigint, ni: Uint8Array, nr: Uint8Array, chosen: Proposal, secret: Uint8Array): IkeSa | undefined {
  const prfT = transformOf(chosen, TransformType.PRF);
  const prf = prfT && prfAlgorithm(prfT);
  const suite = cipherSuite(chosen.transforms);
  if (!prf || !suite || !old.crypto) return undefined;
  const { keys } = deriveRekeyedIkeSaKeys(old.crypto.prf, old.crypto.keys.skD, prf, suite, ni, nr, secret, spiI, spiR);
  const fresh = new IkeSa(weInitiated, spiI, old.local, old.remote, ctx.now, 'established');
  fresh.spiR = spiR;
  fresh.ni = ni;
  fresh.nr = nr;
  fresh.crypto = { prf, suite, keys, proposal: chosen };
  fresh.connection = old.connection;
  fresh.remoteId = old.remoteId;
  fresh.peerCertificate = old.peerCertificate;
  fresh.natLocal = old.natLocal;
  fresh.natRemote = old.natRemote;
  fresh.virtualIp = old.virtualIp;
  fresh.sessionEnds = old.sessionEnds;
  fresh.mobike = old.mobike;
  fresh.establishedAt = ctx.now;
  for (const child of old.children.splice(0)) fresh.children.push({ ...child, ikeSpi: spiI });
  for (const [spi, born] of old.childBorn) fresh.childBorn.set(spi, born);
  old.childBorn.clear();
  old.rekeyedTo = spiI;
  ctx.adopt(fresh);
  ctx.emit({ type: 'ike-rekeyed', oldSpi: old.spiI, spi: spiI, connection: old.connection?.name ?? '' });
  ctx.log('info', `IKE SA rekeyed: ${old.spiI.toString(16)} -> ${spiI.toString(16)}`, { connection: old.connection?.name });
  return fresh;
}
