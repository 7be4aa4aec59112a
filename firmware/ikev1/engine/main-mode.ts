import { isIPv4 } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { Endpoint, IkeConnection } from '../../ike/engine/types.ts';
import { phase1Cipher, phase1Prf } from '../crypto/algorithms.ts';
import { phase1Iv } from '../crypto/cbc.ts';
import { cookieBytes, hashI, hashR, natDetectionHash, phase1Keys, skeyidPsk, skeyidSignature } from '../crypto/keys.ts';
import { encodeIsakmpMessage, encodePayloadBody, type Ikev1Payload, type ReceivedPayload } from '../message.ts';
import { identificationFrom, identificationText } from '../payloads/identification.ts';
import type { IsakmpTransform } from '../payloads/sa.ts';
import { AuthMethod, DOI_IPSEC, ExchangeType, NotifyType, ProtocolId } from '../registry.ts';
import type { Ikev1Context } from './context.ts';
import { Phase1Sa } from './ikev1-sa.ts';
import { describeSpecs } from '../../ike/proposals.ts';
import { describePhase1Offer, lifetimeFor, phase1Answer, phase1Offer, phase1Params, selectPhase1 } from './proposals.ts';
import { seal, type Opened } from './protect.ts';
import { announcesFragmentation } from '../fragments.ts';
import { initiatorVendorIds, natTraversalOf, peerSoftware, peerSupportsDpd, responderVendorIds } from './vendor-ids.ts';
import { certificatePayloads, certificateRequests, checkPeerSignature, isSignatureMethod, phase1AuthMethod, signHash } from './signature-auth.ts';
import { sameAddressText } from '../../util/ip.ts';

/**
 * Main Mode with pre-shared keys (RFC 2409 §5, §5.4):
 *   1 I→R  HDR, SA, VID…            2 R→I  HDR, SA, VID…
 *   3 I→R  HDR, KE, Ni, NAT-D…      4 R→I  HDR, KE, Nr, NAT-D…
 *   5 I→R  HDR*, IDii, HASH_I       6 R→I  HDR*, IDir, HASH_R
 * NAT-D (RFC 3947 §3.2) rides in 3 and 4 when both sent a NAT-T vendor ID; behind a NAT the
 * initiator moves to port 4500 for message 5 (§4).
 */

export const NAT_PORT = 4500;

export const opaque = (payloads: readonly ReceivedPayload[], kind: 'KE' | 'NONCE' | 'HASH' | 'VID'): Uint8Array[] =>
  payloads.flatMap((p) => (p.kind === kind ? [p.data] : []));

export function header(sa: Phase1Sa) {
  return { initiatorCookie: sa.ckyI, responderCookie: sa.ckyR, exchangeType: ExchangeType.IDENTITY_PROTECTION, messageId: 0 };
}

/** An unencrypted informational with one error notify (before keys exist, RFC 2408 §5). */
export function plainNotify(ckyI: bigint, ckyR: bigint, type: number, messageId: number): Uint8Array {
  return encodeIsakmpMessage({ initiatorCookie: ckyI, responderCookie: ckyR, exchangeType: ExchangeType.INFORMATIONAL, messageId },
    [{ kind: 'N', notification: { doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, type, spi: new Uint8Array(), data: new Uint8Array() } }]);
}

export const cookieOf = (ctx: Ikev1Context): bigint => Buffer.from(ctx.crypto.randomBytes(8)).readBigUInt64BE() || 1n;
export const lifeOf = (ctx: Ikev1Context, conn: IkeConnection) => lifetimeFor(conn.ikeRekeySeconds, ctx.options.phase1LifeSeconds);

/** Initiator, message 1. */
export function startMainMode(ctx: Ikev1Context, conn: IkeConnection, local: Endpoint, remote: Endpoint): Phase1Sa {
  const sa = new Phase1Sa(true, cookieOf(ctx), 0n, local, remote, ctx.now, 'mm1');
  sa.connection = conn;
  const method = phase1AuthMethod(conn);
  if (method === undefined) throw new Error(`${conn.name}: IKEv1 certificate authentication needs our certificate with an RSA key`);
  sa.offer = phase1Offer(conn.ikeProposals, lifeOf(ctx, conn), method);
  sa.saiB = encodePayloadBody({ kind: 'SA', sa: sa.offer });
  const payloads: Ikev1Payload[] = [{ kind: 'SA', sa: sa.offer }, ...initiatorVendorIds().map((data) => ({ kind: 'VID' as const, data }))];
  ctx.send(sa, encodeIsakmpMessage(header(sa), payloads), sa);
  return sa;
}

/** Responder, message 1 → 2: the first connection for this address whose proposals fit. */
export function respondMm1(ctx: Ikev1Context, ckyI: bigint, payloads: readonly ReceivedPayload[], from: Endpoint, to: Endpoint): Phase1Sa | undefined {
  const saPayload = payloads.find((p) => p.kind === 'SA');
  if (!saPayload || saPayload.kind !== 'SA') {
    ctx.log('warn', `Main Mode message 1 from ${from.address} has no SA payload`);
    return undefined;
  }
  const candidates = ctx.connectionsFor(from);
  for (const conn of candidates) {
    const method = phase1AuthMethod(conn);
    if (method === undefined) ctx.log('warn', `${conn.name}: IKEv1 certificate authentication needs an RSA certificate (ECDSA is not used with IKEv1)`);
    const choice = method === undefined ? undefined : selectPhase1(saPayload.sa, conn.ikeProposals, method);
    if (!choice) continue;
    const sa = new Phase1Sa(false, ckyI, cookieOf(ctx), to, from, ctx.now, 'mm2');
    sa.connection = conn;
    sa.saiB = saPayload.body;
    const prf = phase1Prf(choice.hash);
    const cipher = phase1Cipher(choice.encryption, choice.keyBits);
    if (!prf || !cipher) continue;
    sa.crypto = { choice, prf, cipher };
    const vids = opaque(payloads, 'VID');
    sa.nat = natTraversalOf(vids);
    sa.peerDpd = peerSupportsDpd(vids);
    sa.peerFragmentation = vids.some(announcesFragmentation);
    const answer: Ikev1Payload[] = [{ kind: 'SA', sa: phase1Answer(saPayload.sa, choice) }, ...responderVendorIds(sa.nat, sa.peerFragmentation).map((data) => ({ kind: 'VID' as const, data }))];
    ctx.reply(sa, encodeIsakmpMessage(header(sa), answer));
    const software = peerSoftware(vids);
    ctx.log('info', `Main Mode from ${from.address}:${from.port}${software ? ` (${software})` : ''} for ${conn.name}: chose ${describePhase1Offer({ ...saPayload.sa, proposals: [{ number: 1, protocolId: 1, spi: new Uint8Array(), transforms: [choice.transform] }] })}`);
    return sa;
  }
  const why = candidates.length === 0 ? 'no connection accepts this address' : `none of the offered transforms is acceptable (offered: ${describePhase1Offer(saPayload.sa)}; accepted: ${describeSpecs(candidates.flatMap((c) => c.ikeProposals))})`;
  ctx.log('warn', `Main Mode from ${from.address} refused with NO-PROPOSAL-CHOSEN: ${why}`);
  ctx.emit({ type: 'send', packet: plainNotify(ckyI, 0n, NotifyType.NO_PROPOSAL_CHOSEN, Buffer.from(ctx.crypto.randomBytes(4)).readUInt32BE()), from: to, to: from });
  return undefined;
}

export function natDetection(sa: Phase1Sa): Ikev1Payload[] {
  if (sa.nat === 'none') return [];
  const hash = sa.crypto!.prf.hash;
  const at = (e: Endpoint) => natDetectionHash(hash, sa.ckyI, sa.ckyR, addressBytes(e.address), e.port);
  const draft = sa.nat === 'draft' ? { draft: true } : {};
  // §3.2: the first is the destination (the peer) as we see it, then our own source.
  return [{ kind: 'NAT-D', data: at(sa.remote), ...draft }, { kind: 'NAT-D', data: at(sa.local), ...draft }];
}

function addressBytes(address: string): Uint8Array {
  return identificationFrom(address)?.data ?? new Uint8Array(isIPv4(address) ? 4 : 16);
}

/** Checks the peer's NAT-D payloads against the addresses of the packet that carried them. */
export function checkNat(sa: Phase1Sa, payloads: readonly ReceivedPayload[], from: Endpoint, to: Endpoint): void {
  const hashes = payloads.flatMap((p) => (p.kind === 'NAT-D' ? [Buffer.from(p.data)] : []));
  if (hashes.length < 2) return;
  const hash = sa.crypto!.prf.hash;
  const mine = natDetectionHash(hash, sa.ckyI, sa.ckyR, addressBytes(to.address), to.port);
  const theirs = natDetectionHash(hash, sa.ckyI, sa.ckyR, addressBytes(from.address), from.port);
  sa.natLocal = !hashes[0]!.equals(mine);
  sa.natRemote = !hashes.slice(1).some((h) => h.equals(theirs));
}

function keyExchange(ctx: Ikev1Context, sa: Phase1Sa): Ikev1Payload[] {
  sa.dh = ctx.crypto.createDh(sa.crypto!.choice.group);
  const nonce = ctx.crypto.randomBytes(ctx.options.nonceLength);
  if (sa.initiator) { sa.gxi = sa.dh!.publicValue; sa.ni = nonce; } else { sa.gxr = sa.dh!.publicValue; sa.nr = nonce; }
  const requests = signing(sa) ? certificateRequests(sa.connection!) : [];
  return [{ kind: 'KE', data: sa.dh!.publicValue }, { kind: 'NONCE', data: nonce }, ...requests, ...natDetection(sa)];
}

/** Initiator, message 2 → 3: the responder's choice must be one of ours. */
export function handleMm2(ctx: Ikev1Context, sa: Phase1Sa, ckyR: bigint, payloads: readonly ReceivedPayload[]): string | undefined {
  const answer = payloads.find((p) => p.kind === 'SA');
  if (!answer || answer.kind !== 'SA') return 'message 2 has no SA payload';
  const transforms = answer.sa.proposals.flatMap((p) => p.transforms);
  const offered = sa.offer!.proposals[0]!.transforms;
  const chosen = transforms.length === 1 ? selectPhase1(answer.sa, sa.connection!.ikeProposals, phase1AuthMethod(sa.connection!)) : undefined;
  const ours = chosen && offered.some((t) => sameSuite(t, chosen.transform));
  const prf = chosen && phase1Prf(chosen.hash);
  const cipher = chosen && phase1Cipher(chosen.encryption, chosen.keyBits);
  if (!chosen || !ours || !prf || !cipher) return 'the responder chose a transform we did not offer';
  sa.ckyR = ckyR;
  sa.crypto = { choice: chosen, prf, cipher };
  const vids = opaque(payloads, 'VID');
  sa.nat = natTraversalOf(vids);
  sa.peerDpd = peerSupportsDpd(vids);
  sa.peerFragmentation = vids.some(announcesFragmentation);
  sa.retransmit = undefined;
  sa.setState('mm3', 'SA chosen, KE sent');
  ctx.send(sa, encodeIsakmpMessage(header(sa), keyExchange(ctx, sa)), sa);
  return undefined;
}

/**
 * The same suite as one we offered. RFC 2408 §4.2 asks the responder to return the chosen
 * transform unchanged, but strongSwan rebuilds it (its own attribute order and lifetime), so the
 * algorithms are compared, not the bytes; the lifetime is the responder's to shorten.
 */
export function sameSuite(a: IsakmpTransform, b: IsakmpTransform): boolean {
  const x = phase1Params(a);
  const y = phase1Params(b);
  return !!x && !!y && x.encryption === y.encryption && x.keyBits === y.keyBits && x.hash === y.hash && x.authMethod === y.authMethod && x.group === y.group;
}

/** Both sides after the KE exchange: g^xy, SKEYID and its children, the first IV (§5, Appendix B). */
export function deriveKeys(sa: Phase1Sa, peerKe: Uint8Array, peerNonce: Uint8Array): string | undefined {
  const c = sa.crypto!;
  if (sa.initiator) { sa.gxr = peerKe; sa.nr = peerNonce; } else { sa.gxi = peerKe; sa.ni = peerNonce; }
  const gxy = sa.dh?.computeSecret(peerKe);
  if (!gxy) return 'the peer\'s KE is not a valid public value of the group';
  if (peerNonce.length < 8 || peerNonce.length > 256) return `a nonce of ${peerNonce.length} bytes`;
  const skeyid = signing(sa) ? skeyidSignature(c.prf, sa.ni, sa.nr, gxy) : skeyidPsk(c.prf, Buffer.from(sa.connection!.psk.reveal(), 'utf8'), sa.ni, sa.nr);
  c.keys = phase1Keys(c.prf, skeyid, gxy, sa.ckyI, sa.ckyR, c.cipher.keyLength);
  sa.iv = phase1Iv(c.prf.hash, c.cipher, sa.gxi, sa.gxr);
  return undefined;
}

/** Responder, message 3 → 4. */
export function respondMm3(ctx: Ikev1Context, sa: Phase1Sa, payloads: readonly ReceivedPayload[], from: Endpoint, to: Endpoint): string | undefined {
  const [ke] = opaque(payloads, 'KE');
  const [nonce] = opaque(payloads, 'NONCE');
  if (!ke || !nonce) return 'message 3 lacks KE or nonce';
  const ours = keyExchange(ctx, sa);
  const failed = deriveKeys(sa, ke, nonce);
  if (failed) return failed;
  checkNat(sa, payloads, from, to);
  sa.setState('mm4', 'keys derived');
  ctx.reply(sa, encodeIsakmpMessage(header(sa), payloads.some((p) => p.kind === 'NAT-D') ? ours : ours.filter((p) => p.kind !== 'NAT-D')));
  return undefined;
}

const signing = (sa: Phase1Sa): boolean => isSignatureMethod(sa.crypto!.choice.authMethod);

/** What proves our identity after the ID payload: HASH for a pre-shared key, or our certificates and SIG over it (§5.1). */
function proof(sa: Phase1Sa, hash: Uint8Array): Ikev1Payload[] {
  if (!signing(sa)) return [{ kind: 'HASH', data: hash }];
  const conn = sa.connection!;
  return [...certificatePayloads(conn), { kind: 'SIG', data: signHash(conn.certificate!.key.reveal(), sa.crypto!.choice.authMethod, hash) }];
}

/**
 * The peer's proof against the HASH it must have computed: compared for a pre-shared key, or its
 * certificate and signature checked. Undefined when it holds; why not; or `wait` for a revocation fetch.
 */
function peerProofRefused(ctx: Ikev1Context, sa: Phase1Sa, id: ReceivedPayload & { kind: 'ID' }, payloads: readonly ReceivedPayload[], want: Uint8Array, name: string): string | { readonly wait: string } | undefined {
  if (!signing(sa)) return checkHash(want, opaque(payloads, 'HASH')[0]) ? undefined : `${name} does not match: the pre-shared keys differ`;
  const check = checkPeerSignature(sa.connection!, sa.crypto!.choice.authMethod, id.id, payloads, want, ctx.wallClock(), ctx.options.revocation);
  if ('wait' in check) return check;
  if (!check.ok) return `certificate refused: ${check.reason}`;
  if (check.note) ctx.log('warn', check.note, { connection: sa.connection!.name });
  sa.peerCertificate = { certificate: check.certificate, issuer: check.issuer, chain: check.chain };
  ctx.log('info', `'${check.subject}' signed ${name} with its certificate`, { connection: sa.connection!.name });
  return undefined;
}

const authenticatedWith = (sa: Phase1Sa) => (signing(sa) ? 'a certificate' : 'the pre-shared key');

export function ourId(sa: Phase1Sa) {
  return identificationFrom(sa.connection!.localId ?? sa.local.address)!;
}

/** Initiator, message 4 → 5: keys, NAT detection and the move to port 4500, then our identity. */
export function handleMm4(ctx: Ikev1Context, sa: Phase1Sa, payloads: readonly ReceivedPayload[], from: Endpoint, to: Endpoint): string | undefined {
  const [ke] = opaque(payloads, 'KE');
  const [nonce] = opaque(payloads, 'NONCE');
  if (!ke || !nonce) return 'message 4 lacks KE or nonce';
  const failed = deriveKeys(sa, ke, nonce);
  if (failed) return failed;
  checkNat(sa, payloads, from, to);
  if (sa.natDetected) {
    sa.local = { address: sa.local.address, port: NAT_PORT };
    sa.remote = { address: sa.remote.address, port: NAT_PORT };
  }
  const id = ourId(sa);
  const idB = encodePayloadBody({ kind: 'ID', id });
  const c = sa.crypto!;
  const hash = hashI(c.prf, c.keys!.skeyid, { gxi: sa.gxi, gxr: sa.gxr, ckyI: sa.ckyI, ckyR: sa.ckyR, saiB: sa.saiB }, idB);
  sa.retransmit = undefined;
  sa.setState('mm5', 'keys derived, identity sent');
  const message5: Ikev1Payload[] = [{ kind: 'ID', id }, ...proof(sa, hash)];
  // RFC 2407 §4.6.3.3: no other SA with this peer, so it may drop whatever it still holds of ours.
  if (!ctx.others(sa).some((o) => o.state === 'established')) message5.push(initialContact(sa));
  ctx.send(sa, seal(sa, sa, ExchangeType.IDENTITY_PROTECTION, 0, message5), sa);
  return undefined;
}

function initialContact(sa: Phase1Sa): Ikev1Payload {
  const spi = Buffer.concat([cookieBytes(sa.ckyI), cookieBytes(sa.ckyR)]);
  return { kind: 'N', notification: { doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, type: NotifyType.INITIAL_CONTACT, spi, data: new Uint8Array() } };
}

export function checkHash(want: Uint8Array, got: Uint8Array | undefined): boolean {
  return got !== undefined && got.length === want.length && timingSafeEqual(want, got);
}

/** The peer's ID against the connection's remote ID (or its address); text for the log when refused. */
export function peerIdRefused(sa: Phase1Sa, idText: string): string | undefined {
  if (sa.connection!.anyRemoteId) return undefined;
  const expected = sa.connection!.remoteId ?? sa.remote.address;
  // Addresses compare by value: "2001:db8::2" is "2001:db8:0:0:0:0:0:2".
  return sameAddressText(idText, expected) ? undefined : `the peer's ID ${idText} is not the expected ${expected}`;
}

/**
 * Message 1 picked the connection by address, before the peer's ID was known; peers behind one NAT
 * share that address (and differ in port), so message 5's ID moves the SA to the connection that
 * expects it, when that one makes the same keys: the same method, PSK and chosen transform.
 */
function switchToConnectionFor(ctx: Ikev1Context, sa: Phase1Sa, idText: string): void {
  const current = sa.connection!;
  if (!peerIdRefused(sa, idText)) return;
  const method = phase1AuthMethod(current);
  const chosen = { doi: DOI_IPSEC, situation: 1, proposals: [{ number: 1, protocolId: ProtocolId.ISAKMP, spi: new Uint8Array(), transforms: [sa.crypto!.choice.transform] }] };
  const fits = (conn: IkeConnection) => conn !== current && conn.remoteId === idText && phase1AuthMethod(conn) === method
    && (method !== AuthMethod.PRE_SHARED_KEY || conn.psk.reveal() === current.psk.reveal()) && selectPhase1(chosen, conn.ikeProposals, method) !== undefined;
  const other = ctx.connectionsFor(sa.remote).find(fits);
  if (!other) return;
  ctx.log('info', `Main Mode from ${sa.remote.address}:${sa.remote.port}: ${idText} belongs to ${other.name}, not ${current.name}; switched`);
  sa.connection = other;
}

/**
 * Responder, message 5 → 6. A payload chain that does not parse after decryption, or a HASH_I
 * that does not match, almost always means the two sides have different pre-shared keys.
 */
export function respondMm5(ctx: Ikev1Context, sa: Phase1Sa, opened: Opened): string | { readonly wait: string } | undefined {
  const idPayload = opened.payloads.find((p) => p.kind === 'ID');
  if (!idPayload || idPayload.kind !== 'ID') return 'message 5 has no ID payload';
  const c = sa.crypto!;
  const inputs = { gxi: sa.gxi, gxr: sa.gxr, ckyI: sa.ckyI, ckyR: sa.ckyR, saiB: sa.saiB };
  const idText = identificationText(idPayload.id);
  switchToConnectionFor(ctx, sa, idText);
  const refused = peerProofRefused(ctx, sa, idPayload, opened.payloads, hashI(c.prf, c.keys!.skeyid, inputs, idPayload.body), 'HASH_I') ?? peerIdRefused(sa, idText);
  if (refused) return refused;
  sa.iv = opened.nextIv;
  sa.remoteId = idText;
  const id = ourId(sa);
  const hash = hashR(c.prf, c.keys!.skeyid, inputs, encodePayloadBody({ kind: 'ID', id }));
  ctx.reply(sa, seal(sa, sa, ExchangeType.IDENTITY_PROTECTION, 0, [{ kind: 'ID', id }, ...proof(sa, hash)]));
  sa.setState('established', `authenticated ${idText} with ${authenticatedWith(sa)}`);
  // unique 'never' (several devices under one identity, as with IKEv2) keeps the others.
  if (sa.connection!.unique !== 'never' && opened.payloads.some((p) => p.kind === 'N' && p.notification.type === NotifyType.INITIAL_CONTACT)) {
    // The peer restarted: what we still hold with it is stale (RFC 2407 §4.6.3.3); no deletes sent.
    // Not those it deleted itself: their children are parked for this new SA (lifetimes.ts, strongSwan's reauthentication).
    for (const old of ctx.others(sa).filter((o) => o.remoteId === idText && o.parkedAt === undefined)) ctx.close(old, `replaced: ${idText} sent INITIAL-CONTACT`);
  }
  return undefined;
}

/** Initiator, message 6: the responder proves the same keys; phase 1 is up. */
export function handleMm6(ctx: Ikev1Context, sa: Phase1Sa, opened: Opened): string | { readonly wait: string } | undefined {
  const idPayload = opened.payloads.find((p) => p.kind === 'ID');
  if (!idPayload || idPayload.kind !== 'ID') return 'message 6 has no ID payload';
  const c = sa.crypto!;
  const inputs = { gxi: sa.gxi, gxr: sa.gxr, ckyI: sa.ckyI, ckyR: sa.ckyR, saiB: sa.saiB };
  const idText = identificationText(idPayload.id);
  // A wait drops message 6: our retransmitted message 5 brings it again once the fetch is done.
  const refused = peerProofRefused(ctx, sa, idPayload, opened.payloads, hashR(c.prf, c.keys!.skeyid, inputs, idPayload.body), 'HASH_R') ?? peerIdRefused(sa, idText);
  if (refused) return refused;
  sa.iv = opened.nextIv;
  sa.remoteId = idText;
  sa.retransmit = undefined;
  sa.setState('established', `authenticated ${idText} with ${authenticatedWith(sa)}`);
  ctx.log('debug', `Main Mode with ${sa.remote.address} complete`);
  return undefined;
}
