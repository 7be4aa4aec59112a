import type { Endpoint, IkeConnection } from '../../ike/engine/types.ts';
import { phase1Cipher, phase1Prf } from '../crypto/algorithms.ts';
import { hashI, hashR } from '../crypto/keys.ts';
import { encodeIsakmpMessage, encodePayloadBody, type Ikev1Payload, type ReceivedPayload } from '../message.ts';
import { identificationText } from '../payloads/identification.ts';
import { AuthMethod, ExchangeType, NotifyType } from '../registry.ts';
import type { Ikev1Context } from './context.ts';
import { sameAddressText } from '../../util/ip.ts';
import { Phase1Sa } from './ikev1-sa.ts';
import { checkHash, checkNat, cookieOf, deriveKeys, lifeOf, NAT_PORT, natDetection, opaque, ourId, peerIdRefused, plainNotify, sameSuite } from './main-mode.ts';
import { describeSpecs } from '../../ike/proposals.ts';
import { describePhase1Offer, phase1Answer, phase1Offer, phase1Params, selectPhase1 } from './proposals.ts';
import { seal } from './protect.ts';
import { initiatorVendorIds, natTraversalOf, peerSupportsDpd, responderVendorIds } from './vendor-ids.ts';
import { announcesFragmentation } from '../fragments.ts';

/**
 * Aggressive Mode with pre-shared keys (RFC 2409 §5.4), for the sites that need it (a peer with a
 * changing address that must be told apart by its ID before any key is known):
 *   1 I→R  HDR, SA, KE, Ni, IDii            2 R→I  HDR, SA, KE, Nr, IDir, HASH_R, NAT-D…
 *   3 I→R  HDR*, HASH_I, NAT-D…
 * It is off unless a connection sets `aggressive`, and flagged wherever it is on: message 2 carries
 * HASH_R in the clear, from which anyone who saw it can try pre-shared keys offline.
 */

export const AGGRESSIVE_WARNING = 'Aggressive Mode sends a hash of the pre-shared key in the clear: it can be cracked offline; use Main Mode or certificates where the peer allows';

const header = (sa: Phase1Sa) => ({ initiatorCookie: sa.ckyI, responderCookie: sa.ckyR, exchangeType: ExchangeType.AGGRESSIVE, messageId: 0 });
const inputs = (sa: Phase1Sa) => ({ gxi: sa.gxi, gxr: sa.gxr, ckyI: sa.ckyI, ckyR: sa.ckyR, saiB: sa.saiB });

/** Initiator, message 1: the KE goes out at once, so every transform offered names the same group. */
export function startAggressiveMode(ctx: Ikev1Context, conn: IkeConnection, local: Endpoint, remote: Endpoint): Phase1Sa {
  const sa = new Phase1Sa(true, cookieOf(ctx), 0n, local, remote, ctx.now, 'am1');
  sa.connection = conn;
  const full = phase1Offer(conn.ikeProposals, lifeOf(ctx, conn), AuthMethod.PRE_SHARED_KEY);
  const group = phase1Params(full.proposals[0]!.transforms[0]!)?.group;
  const transforms = full.proposals[0]!.transforms.filter((t) => phase1Params(t)?.group === group).map((t, i) => ({ ...t, number: i + 1 }));
  if (group === undefined || transforms.length === 0) throw new Error(`${conn.name}: no IKE proposal for Aggressive Mode`);
  sa.offer = { ...full, proposals: [{ ...full.proposals[0]!, transforms }] };
  sa.saiB = encodePayloadBody({ kind: 'SA', sa: sa.offer });
  const dh = ctx.crypto.createDh(group);
  if (!dh) throw new Error(`${conn.name}: DH group ${group} is not available`);
  sa.dh = dh;
  sa.gxi = dh.publicValue;
  sa.ni = ctx.crypto.randomBytes(ctx.options.nonceLength);
  const id = ourId(sa);
  sa.aggressiveIdB = encodePayloadBody({ kind: 'ID', id });
  const payloads: Ikev1Payload[] = [{ kind: 'SA', sa: sa.offer }, { kind: 'KE', data: sa.gxi }, { kind: 'NONCE', data: sa.ni }, { kind: 'ID', id }, ...initiatorVendorIds().map((data) => ({ kind: 'VID' as const, data }))];
  ctx.log('warn', `${conn.name}: ${AGGRESSIVE_WARNING}`);
  ctx.send(sa, encodeIsakmpMessage(header(sa), payloads), sa);
  return sa;
}

/** Responder, message 1 → 2: the connection is picked by the initiator's ID, which only Aggressive Mode sends this early. */
export function respondAm1(ctx: Ikev1Context, ckyI: bigint, payloads: readonly ReceivedPayload[], from: Endpoint, to: Endpoint): Phase1Sa | undefined {
  const saPayload = payloads.find((p) => p.kind === 'SA');
  const idPayload = payloads.find((p) => p.kind === 'ID');
  const [ke] = opaque(payloads, 'KE');
  const [nonce] = opaque(payloads, 'NONCE');
  const refuse = (why: string) => {
    ctx.log('warn', `Aggressive Mode from ${from.address} refused with NO-PROPOSAL-CHOSEN: ${why}`);
    ctx.emit({ type: 'send', packet: plainNotify(ckyI, 0n, NotifyType.NO_PROPOSAL_CHOSEN, Buffer.from(ctx.crypto.randomBytes(4)).readUInt32BE()), from: to, to: from });
    return undefined;
  };
  if (!saPayload || saPayload.kind !== 'SA' || !idPayload || idPayload.kind !== 'ID' || !ke || !nonce) return refuse('message 1 lacks SA, KE, nonce or ID');
  const idText = identificationText(idPayload.id);
  const allowed = ctx.connectionsFor(from).filter((c) => c.aggressive && sameAddressText(c.remoteId ?? c.remoteAddress ?? '', idText));
  if (allowed.length === 0) return refuse(`Aggressive Mode is not enabled for ${idText} (only Main Mode is; enable it on the site if the peer needs it)`);
  for (const conn of allowed) {
    const choice = selectPhase1(saPayload.sa, conn.ikeProposals, AuthMethod.PRE_SHARED_KEY);
    const prf = choice && phase1Prf(choice.hash);
    const cipher = choice && phase1Cipher(choice.encryption, choice.keyBits);
    if (!choice || !prf || !cipher) continue;
    const sa = new Phase1Sa(false, ckyI, cookieOf(ctx), to, from, ctx.now, 'am2');
    sa.connection = conn;
    sa.saiB = saPayload.body;
    sa.crypto = { choice, prf, cipher };
    const vids = opaque(payloads, 'VID');
    sa.nat = natTraversalOf(vids);
    sa.peerDpd = peerSupportsDpd(vids);
    sa.peerFragmentation = vids.some(announcesFragmentation);
    const dh = ctx.crypto.createDh(choice.group);
    if (!dh) continue;
    sa.dh = dh;
    sa.gxr = dh.publicValue;
    sa.nr = ctx.crypto.randomBytes(ctx.options.nonceLength);
    const failed = deriveKeys(sa, ke, nonce);
    if (failed) return refuse(failed);
    sa.aggressiveIdB = idPayload.body;
    sa.remoteId = idText;
    const id = ourId(sa);
    const hash = hashR(prf, sa.crypto.keys!.skeyid, inputs(sa), encodePayloadBody({ kind: 'ID', id }));
    const answer: Ikev1Payload[] = [
      { kind: 'SA', sa: phase1Answer(saPayload.sa, choice) }, { kind: 'KE', data: sa.gxr }, { kind: 'NONCE', data: sa.nr }, { kind: 'ID', id }, { kind: 'HASH', data: hash },
      ...responderVendorIds(sa.nat, sa.peerFragmentation).map((data) => ({ kind: 'VID' as const, data })), ...natDetection(sa),
    ];
    ctx.log('warn', `Aggressive Mode from ${from.address} (${idText}) for ${conn.name}: ${AGGRESSIVE_WARNING}`);
    ctx.reply(sa, encodeIsakmpMessage(header(sa), answer), sa);
    return sa;
  }
  return refuse(`none of the offered transforms is acceptable (offered: ${describePhase1Offer(saPayload.sa)}; accepted: ${describeSpecs(allowed.flatMap((c) => c.ikeProposals))})`);
}

/** Initiator, message 2 → 3: the responder's choice, keys, HASH_R; then our HASH_I, encrypted. */
export function handleAm2(ctx: Ikev1Context, sa: Phase1Sa, ckyR: bigint, payloads: readonly ReceivedPayload[], from: Endpoint, to: Endpoint): string | undefined {
  const answer = payloads.find((p) => p.kind === 'SA');
  const idPayload = payloads.find((p) => p.kind === 'ID');
  const [ke] = opaque(payloads, 'KE');
  const [nonce] = opaque(payloads, 'NONCE');
  const [got] = opaque(payloads, 'HASH');
  if (!answer || answer.kind !== 'SA' || !idPayload || idPayload.kind !== 'ID' || !ke || !nonce) return 'message 2 lacks SA, KE, nonce or ID';
  const transforms = answer.sa.proposals.flatMap((p) => p.transforms);
  const chosen = transforms.length === 1 ? selectPhase1(answer.sa, sa.connection!.ikeProposals, AuthMethod.PRE_SHARED_KEY) : undefined;
  const prf = chosen && phase1Prf(chosen.hash);
  const cipher = chosen && phase1Cipher(chosen.encryption, chosen.keyBits);
  if (!chosen || !prf || !cipher || !sa.offer!.proposals[0]!.transforms.some((t) => sameSuite(t, chosen.transform))) return 'the responder chose a transform we did not offer';
  sa.ckyR = ckyR;
  sa.crypto = { choice: chosen, prf, cipher };
  const vids = opaque(payloads, 'VID');
  sa.nat = natTraversalOf(vids);
  sa.peerDpd = peerSupportsDpd(vids);
  sa.peerFragmentation = vids.some(announcesFragmentation);
  const failed = deriveKeys(sa, ke, nonce);
  if (failed) return failed;
  if (!checkHash(hashR(prf, sa.crypto.keys!.skeyid, inputs(sa), idPayload.body), got)) return 'HASH_R does not match: the pre-shared keys differ';
  const idText = identificationText(idPayload.id);
  const refused = peerIdRefused(sa, idText);
  if (refused) return refused;
  checkNat(sa, payloads, from, to);
  if (sa.natDetected) {
    sa.local = { address: sa.local.address, port: NAT_PORT };
    sa.remote = { address: sa.remote.address, port: NAT_PORT };
  }
  sa.remoteId = idText;
  sa.retransmit = undefined;
  const hash = hashI(prf, sa.crypto.keys!.skeyid, inputs(sa), sa.aggressiveIdB!);
  // The answer to message 2: a resent message 2 (our 3 was lost) gets it again.
  ctx.reply(sa, seal(sa, sa, ExchangeType.AGGRESSIVE, 0, [{ kind: 'HASH', data: hash }, ...natDetection(sa)]));
  sa.setState('established', `authenticated ${idText} with the pre-shared key (Aggressive Mode)`);
  return undefined;
}

/** Responder, message 3 (encrypted, as strongSwan and Cisco send it, or in the clear as RFC 2409 draws it). */
export function respondAm3(ctx: Ikev1Context, sa: Phase1Sa, payloads: readonly ReceivedPayload[], from: Endpoint, to: Endpoint): string | undefined {
  const c = sa.crypto!;
  if (!checkHash(hashI(c.prf, c.keys!.skeyid, inputs(sa), sa.aggressiveIdB!), opaque(payloads, 'HASH')[0])) return 'HASH_I does not match: the pre-shared keys differ';
  checkNat(sa, payloads, from, to);
  sa.local = to;
  sa.remote = from;
  sa.retransmit = undefined;
  sa.setState('established', `authenticated ${sa.remoteId} with the pre-shared key (Aggressive Mode)`);
  ctx.log('debug', `Aggressive Mode with ${from.address} complete`);
  return undefined;
}
