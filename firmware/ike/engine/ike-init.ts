import { timingSafeEqual } from 'node:crypto';
import { deriveIkeSaKeys } from '../crypto/key-derivation.ts';
import { OUR_HASHES, readHashes } from '../crypto/signature-auth.ts';
import { cipherSuite, prfAlgorithm } from '../crypto/transforms.ts';
import type { IkePayload } from '../message.ts';
import type { Proposal } from '../payloads/sa.ts';
import { describeProposals, describeSpecs, groupToAskFor, selectProposal, type ProposalSpec } from '../proposals.ts';
import { ExchangeType, NotifyType, ProtocolId, TransformType } from '../registry/numbers.ts';
import type { EngineContext } from './context.ts';
import type { IkeSa } from './ike-sa.ts';
import { first, natHash, notifies, notify, notifyName, proposalsFromSpecs, transformOf } from './payload-helpers.ts';

/** IKE_SA_INIT (RFC 7296 §1.2): proposals, Diffie-Hellman, nonces, NAT detection (§2.23). */

const NAT_PORT = 4500;

export function natPayloads(sa: IkeSa): IkePayload[] {
  return [
    notify(NotifyType.NAT_DETECTION_SOURCE_IP, natHash(sa.spiI, sa.spiR, sa.local)),
    notify(NotifyType.NAT_DETECTION_DESTINATION_IP, natHash(sa.spiI, sa.spiR, sa.remote)),
  ];
}

/** Compares the peer's NAT_DETECTION hashes with what we see; either side may be behind a NAT. */
export function detectNat(sa: IkeSa, payloads: readonly IkePayload[], spiR: bigint): void {
  const list = notifies(payloads);
  const sources = list.filter((n) => n.type === NotifyType.NAT_DETECTION_SOURCE_IP).map((n) => n.data);
  const destination = list.find((n) => n.type === NotifyType.NAT_DETECTION_DESTINATION_IP)?.data;
  if (!sources.length || !destination) return; // the peer does not do NAT-T
  const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && timingSafeEqual(a, b);
  sa.natRemote = !sources.some((s) => same(s, natHash(sa.spiI, spiR, sa.remote)));
  sa.natLocal = !same(destination, natHash(sa.spiI, spiR, sa.local));
}

/** Both sides: keys from the chosen proposal, the peer's KE and both nonces. */
function deriveKeys(ctx: EngineContext, sa: IkeSa, chosen: Proposal, peerKe: Uint8Array): string | undefined {
  const prfT = transformOf(chosen, TransformType.PRF);
  const prf = prfT && prfAlgorithm(prfT);
  const suite = cipherSuite(chosen.transforms);
  if (!prf || !suite || !sa.dh) return 'the chosen proposal is not implemented';
  const secret = sa.dh.computeSecret(peerKe);
  if (!secret) return 'the peer sent an invalid Diffie-Hellman public value';
  const { keys } = deriveIkeSaKeys(prf, suite, sa.ni, sa.nr, secret, sa.spiI, sa.spiR);
  sa.crypto = { prf, suite, keys, proposal: chosen };
  sa.dh = undefined;
  ctx.log('debug', 'IKE SA keys derived', { spi: sa.spiI.toString(16), prf: prf.hash, encr: suite.encr.cipher });
  return undefined;
}

/**
 * Responder: the keys whose secret was computed elsewhere (`DhExchange.prepare`), derived when the
 * first protected message needs them. A reason when the secret cannot be had (a point OpenSSL
 * refused): the SA is then closed.
 */
export function completeKeys(ctx: EngineContext, sa: IkeSa): string | undefined {
  const pending = sa.keysToDerive;
  if (!pending || sa.crypto) return undefined;
  sa.keysToDerive = undefined;
  return deriveKeys(ctx, sa, pending.proposal, pending.peerKe);
}

/** Initiator: the first request, or a retry with another group or a cookie. */
export function startInit(ctx: EngineContext, sa: IkeSa, specs: readonly ProposalSpec[], group: number): boolean {
  // After a COOKIE the request is repeated as it was (§2.6: the cookie covers Ni); a new group needs a new KE.
  if (!sa.dh || sa.dh.group !== group) sa.dh = ctx.crypto.createDh(group);
  if (!sa.dh) return false;
  if (!sa.ni.length) sa.ni = ctx.crypto.randomBytes(ctx.options.nonceLength);
  const payloads: IkePayload[] = [
    ...(sa.cookie ? [notify(NotifyType.COOKIE, sa.cookie)] : []),
    { kind: 'SA', proposals: proposalsFromSpecs(specs, ProtocolId.IKE, new Uint8Array(), group) },
    { kind: 'KE', ke: { group, data: sa.dh.publicValue } },
    { kind: 'Nonce', nonce: sa.ni },
    ...natPayloads(sa),
    ...(sa.connection?.fragmentation === false ? [] : [notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED)]),
    notify(NotifyType.SIGNATURE_HASH_ALGORITHMS, OUR_HASHES),
  ];
  ctx.sendRequest(sa, ExchangeType.IKE_SA_INIT, payloads, 'ike-init');
  return true;
}

export type InitOutcome = { readonly next: 'auth' } | { readonly next: 'retry'; readonly group?: number } | { readonly next: 'fail'; readonly reason: string };

/** Initiator: the response. INVALID_KE_PAYLOAD and COOKIE restart the exchange (§1.2, §2.6). */
export function processInitResponse(ctx: EngineContext, sa: IkeSa, spiR: bigint, payloads: readonly IkePayload[], raw: Uint8Array, specs: readonly ProposalSpec[]): InitOutcome {
  const list = notifies(payloads);
  const cookie = list.find((n) => n.type === NotifyType.COOKIE);
  if (cookie) {
    sa.cookie = cookie.data;
    return { next: 'retry' };
  }
  const invalidKe = list.find((n) => n.type === NotifyType.INVALID_KE_PAYLOAD);
  if (invalidKe && invalidKe.data.length === 2) {
    const group = (invalidKe.data[0]! << 8) | invalidKe.data[1]!;
    const offered = specs.some((s) => (s.get(TransformType.DH) ?? []).some((t) => t.id === group));
    return offered && group !== sa.dh?.group ? { next: 'retry', group } : { next: 'fail', reason: `the peer asked for DH group ${group}, which we do not offer` };
  }
  const error = list.find((n) => n.type < 16384);
  if (error) return { next: 'fail', reason: `the peer answered ${notifyName(error.type)}` };
  const saPayload = first(payloads, 'SA');
  const ke = first(payloads, 'KE');
  const nonce = first(payloads, 'Nonce');
  if (!saPayload || !ke || !nonce || saPayload.proposals.length !== 1 || spiR === 0n) return { next: 'fail', reason: 'IKE_SA_INIT response without SA, KE or nonce' };
  const chosen = saPayload.proposals[0]!;
  // The answer must be one of our proposals, narrowed to one transform per type (§2.7).
  if (!selectProposal([chosen], specs, ProtocolId.IKE) || ke.ke.group !== transformOf(chosen, TransformType.DH)?.id || ke.ke.group !== sa.dh?.group) {
    return { next: 'fail', reason: 'the peer chose a proposal or group we did not offer' };
  }
  sa.spiR = spiR;
  sa.nr = nonce.nonce;
  sa.peerHashes = peerHashes(payloads);
  sa.fragmentation = sa.connection?.fragmentation !== false && announcesFragmentation(payloads);
  sa.initResponse = raw;
  const failed = deriveKeys(ctx, sa, chosen, ke.ke.data);
  if (failed) return { next: 'fail', reason: failed };
  detectNat(sa, payloads, spiR);
  if (sa.natDetected && sa.remote.port !== NAT_PORT) {
    // §2.23: once a NAT is seen, the initiator moves to port 4500 for everything that follows.
    sa.local = { ...sa.local, port: NAT_PORT };
    sa.remote = { ...sa.remote, port: NAT_PORT };
  }
  return { next: 'auth' };
}

export type InitAnswer = { readonly ok: true } | { readonly ok: false; readonly reply?: IkePayload[]; readonly reason: string };

/** Responder: choose, compute keys and answer; or answer with the notify that refuses (no SA kept). */
const announcesFragmentation = (payloads: readonly IkePayload[]) => notifies(payloads).some((n) => n.type === NotifyType.IKEV2_FRAGMENTATION_SUPPORTED);

const peerHashes = (payloads: readonly IkePayload[]) => readHashes(notifies(payloads).find((n) => n.type === NotifyType.SIGNATURE_HASH_ALGORITHMS)?.data ?? new Uint8Array());

export function answerInit(ctx: EngineContext, sa: IkeSa, payloads: readonly IkePayload[], raw: Uint8Array, specs: readonly ProposalSpec[], certRequests: readonly IkePayload[] = []): InitAnswer {
  const saPayload = first(payloads, 'SA');
  const ke = first(payloads, 'KE');
  const nonce = first(payloads, 'Nonce');
  if (!saPayload || !ke || !nonce) return { ok: false, reply: [notify(NotifyType.INVALID_SYNTAX)], reason: 'IKE_SA_INIT request without SA, KE or nonce' };
  // A proposal that fits the KE sent wins over an earlier one that would need INVALID_KE_PAYLOAD.
  const choice = selectProposal(saPayload.proposals, specs, ProtocolId.IKE, { keGroup: ke.ke.group });
  if (!choice) return { ok: false, reply: [notify(NotifyType.NO_PROPOSAL_CHOSEN)], reason: `no acceptable IKE proposal: offered ${describeProposals(saPayload.proposals)}; accepted ${describeSpecs(specs)}` };
  const wanted = groupToAskFor(choice, ke.ke.group);
  if (wanted !== undefined) {
    return { ok: false, reply: [notify(NotifyType.INVALID_KE_PAYLOAD, Uint8Array.of(wanted >> 8, wanted & 0xff))], reason: `KE for group ${ke.ke.group}, asking for ${wanted}` };
  }
  sa.dh = ctx.crypto.createDh(ke.ke.group);
  if (!sa.dh) return { ok: false, reply: [notify(NotifyType.NO_PROPOSAL_CHOSEN)], reason: `group ${ke.ke.group} not implemented` };
  sa.ni = nonce.nonce;
  sa.nr = ctx.crypto.randomBytes(ctx.options.nonceLength);
  sa.initRequest = raw;
  const publicValue = sa.dh.publicValue;
  if (sa.dh.prepare) {
    // The secret is computed elsewhere while this answer goes out; the keys follow with IKE_AUTH (completeKeys).
    if (!sa.dh.prepare(ke.ke.data)) return { ok: false, reply: [notify(NotifyType.INVALID_SYNTAX)], reason: 'the peer sent an invalid Diffie-Hellman public value' };
    sa.keysToDerive = { proposal: choice.proposal, peerKe: ke.ke.data };
  } else {
    const failed = deriveKeys(ctx, sa, choice.proposal, ke.ke.data);
    if (failed) return { ok: false, reply: [notify(NotifyType.INVALID_SYNTAX)], reason: failed };
  }
  detectNat(sa, payloads, 0n);
  sa.peerHashes = peerHashes(payloads);
  // The connection is not known yet: answer the announcement; a connection can refuse to send fragments later.
  sa.fragmentation = announcesFragmentation(payloads);
  ctx.sendResponse(sa, ExchangeType.IKE_SA_INIT, 0, [
    { kind: 'SA', proposals: [choice.proposal] },
    { kind: 'KE', ke: { group: ke.ke.group, data: publicValue } },
    { kind: 'Nonce', nonce: sa.nr },
    ...natPayloads(sa),
    // §3.7: ask for certificates here when a connection expects them (strongSwan sends its own only when asked).
    ...certRequests,
    ...(sa.fragmentation ? [notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED)] : []),
    ...(sa.peerHashes.length ? [notify(NotifyType.SIGNATURE_HASH_ALGORITHMS, OUR_HASHES)] : []),
  ]);
  return { ok: true };
}
