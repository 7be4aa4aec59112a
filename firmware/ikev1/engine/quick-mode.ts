import { timingSafeEqual } from 'node:crypto';
import { tsFromPrefix, tsToString, type TrafficSelectorEntry } from '../../ike/payloads/traffic-selector.ts';
import { within } from '../../ike/engine/narrowing.ts';
import { TransformType } from '../../ike/registry/numbers.ts';
import type { ChildSaHalf, ChildSaInfo } from '../../ike/engine/types.ts';
import { Secret } from '../../util/secret.ts';
import { espAlgorithms } from '../crypto/algorithms.ts';
import { keymat, quickModeHash1, quickModeHash2, quickModeHash3 } from '../crypto/keys.ts';
import { encodePayloads, type Ikev1Payload, type ReceivedPayload } from '../message.ts';
import type { Identification } from '../payloads/identification.ts';
import type { IsakmpProposal, IsakmpTransform } from '../payloads/sa.ts';
import { ExchangeType, NotifyType, ProtocolId } from '../registry.ts';
import type { Ikev1Context } from './context.ts';
import type { Phase1Sa, QuickMode } from './ikev1-sa.ts';
import { describePhase2Offer, encapsulationMode, lifetimeFor, modeOf, phase2Answer, phase2Offer, phase2Params, selectPhase2, type Phase2Choice } from './proposals.ts';
import { describeSpecs } from '../../ike/proposals.ts';
import { exchangeIv, seal, sealInformational, type Opened } from './protect.ts';
import { idToTs, prefixToId, tsToId } from './selectors.ts';
import { natOaPayloads, receivedOriginalAddresses, transportSelectorsAcrossNat, wantsNatOa, type OriginalAddresses } from './nat-oa.ts';
import { responderLifetime, shorterLifetime } from './lifetimes.ts';
import { cookieBytes } from '../crypto/keys.ts';

/**
 * Quick Mode (RFC 2409 §5.5):
 *   QM1 I→R  HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr]
 *   QM2 R→I  HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr]
 *   QM3 I→R  HDR*, HASH(3)
 * The responder resends QM2 until QM3 arrives. The initiator installs the child when it sends QM3
 * and may send on it at once, so the responder accepts the new inbound SA as QM2 goes out (nothing
 * the peer sends on it is lost) and sends on it only once QM3's HASH(3) proves the peer holds it.
 */

const spiBytes = (spi: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(spi >>> 0); return b; };
const hashOk = (want: Uint8Array, got: Uint8Array | undefined) => got !== undefined && got.length === want.length && timingSafeEqual(want, got);
const opaque = (payloads: readonly ReceivedPayload[], kind: 'KE' | 'NONCE' | 'HASH') => payloads.flatMap((p) => (p.kind === kind ? [p.data] : []));
const ids = (payloads: readonly ReceivedPayload[]) => payloads.flatMap((p) => (p.kind === 'ID' ? [p.id] : []));

/** PFS: a group the ESP proposals name, else none (RFC 2409 §5.5: KE only with PFS). */
function pfsGroup(sa: Phase1Sa): number | undefined {
  const conn = sa.connection!;
  const named = conn.espProposals.flatMap((s) => s.get(TransformType.DH) ?? []).find((t) => t.id !== 0);
  if (named) return named.id;
  return conn.pfs === 'on' ? sa.crypto!.choice.group : undefined;
}

export interface SelectorPair {
  readonly local: Identification;
  readonly remote: Identification;
}

/**
 * Our selector pairs, one Quick Mode each (an IKEv1 child has one pair, RFC 2409 §5.5): tunnel
 * mode every configured local subnet with every remote one, transport mode the two hosts.
 */
export function ourSelectorPairs(sa: Phase1Sa): SelectorPair[] {
  const conn = sa.connection!;
  if (conn.mode === 'transport') {
    const { protocol = 0, port } = conn.transportSelector ?? {};
    const host = (address: string) => tsToId(tsFromPrefix(address, protocol, port));
    return [{ local: host(sa.local.address), remote: host(sa.remote.address) }];
  }
  const locals = conn.localTs.length ? conn.localTs : [sa.local.address];
  const remotes = conn.remoteTs.length ? conn.remoteTs : [sa.remote.address];
  return locals.flatMap((l) => remotes.map((r) => ({ local: prefixToId(l), remote: prefixToId(r) })));
}

function randomMessageId(ctx: Ikev1Context, sa: Phase1Sa): number {
  for (;;) {
    const mid = Buffer.from(ctx.crypto.randomBytes(4)).readUInt32BE();
    if (mid !== 0 && !sa.quickModes.has(mid)) return mid;
  }
}

/** Initiator: QM1 for one selector pair; `replaces` when this is a rekey of that child. */
export function startQuickMode(ctx: Ikev1Context, sa: Phase1Sa, sel: SelectorPair, replaces?: ChildSaInfo): QuickMode {
  const conn = sa.connection!;
  const mid = randomMessageId(ctx, sa);
  const group = pfsGroup(sa);
  const qm: QuickMode = { messageId: mid, initiator: true, state: 'qm1', iv: exchangeIv(sa, mid), ni: ctx.crypto.randomBytes(ctx.options.nonceLength), nr: new Uint8Array(), spi: ctx.newSpi() };
  qm.offer = phase2Offer(conn.espProposals, { spi: spiBytes(qm.spi), encapsulation: encapsulationMode(conn.mode, sa.natDetected ? sa.nat : 'none'), lifeSeconds: lifetimeFor(conn.rekeySeconds, ctx.options.phase2LifeSeconds), ...(group !== undefined ? { group } : {}) });
  if (replaces) qm.replaces = replaces;
  qm.idci = sel.local;
  qm.idcr = sel.remote;
  const rest: Ikev1Payload[] = [{ kind: 'SA', sa: qm.offer }, { kind: 'NONCE', data: qm.ni }];
  if (group !== undefined) {
    qm.dh = ctx.crypto.createDh(group);
    rest.push({ kind: 'KE', data: qm.dh!.publicValue });
  }
  rest.push({ kind: 'ID', id: sel.local }, { kind: 'ID', id: sel.remote });
  if (wantsNatOa(sa)) rest.push(...natOaPayloads(sa, true));
  const hash = quickModeHash1(sa.crypto!.prf, sa.crypto!.keys!.skeyidA, mid, encodePayloads(rest).bytes);
  sa.quickModes.set(mid, qm);
  ctx.send(sa, seal(sa, qm, ExchangeType.QUICK_MODE, mid, [{ kind: 'HASH', data: hash }, ...rest]), qm);
  return qm;
}

/** One of our offered ESP transforms with the same algorithms (the responder may rebuild it, see sameSuite). */
function sameEspSuite(proposal: IsakmpProposal, offered: IsakmpTransform, chosen: Phase2Choice): boolean {
  const o = phase2Params(proposal, offered);
  return !!o && o.transformId === chosen.transformId && o.keyBits === chosen.keyBits && o.auth === chosen.auth && o.group === chosen.group && o.mode === chosen.mode;
}

function notifyPeer(ctx: Ikev1Context, sa: Phase1Sa, type: number): void {
  const mid = Buffer.from(ctx.crypto.randomBytes(4)).readUInt32BE();
  ctx.send(sa, sealInformational(sa, mid, [{ kind: 'N', notification: { doi: 1, protocolId: ProtocolId.ISAKMP, type, spi: Buffer.concat([cookieBytes(sa.ckyI), cookieBytes(sa.ckyR)]), data: new Uint8Array() } }]));
}

/** The selectors a responder accepts: inside the configured subnets (tunnel) or the hosts themselves (transport). */
function acceptSelectors(sa: Phase1Sa, ci: TrafficSelectorEntry, cr: TrafficSelectorEntry): boolean {
  const conn = sa.connection!;
  const [remote, local] = conn.mode === 'transport' ? [[`${sa.remote.address}`], [`${sa.local.address}`]] : [conn.remoteTs, conn.localTs];
  return within([ci], remote.map((p) => tsFromPrefix(p))) && within([cr], local.map((p) => tsFromPrefix(p)));
}

/**
 * L2TP/IPsec (`transportSelector`, RFC 3193 §4): the SA carries only L2TP, so our ID must be that
 * protocol and port and the peer's that protocol on that port or any port (a LAC may pick its
 * source port). Quick Mode cannot narrow (IKEv1 has no TS_UNACCEPTABLE narrowing), so anything
 * wider or other is refused. Returns why, or undefined when the IDs fit.
 */
function transportSelectorRefusal(sa: Phase1Sa, ci: TrafficSelectorEntry, cr: TrafficSelectorEntry, sentIds: boolean): string | undefined {
  const want = sa.connection!.transportSelector;
  if (!want) return undefined;
  const exact = (ts: TrafficSelectorEntry) => ts.protocol === want.protocol && ts.startPort === want.port && ts.endPort === want.port;
  const anyPort = (ts: TrafficSelectorEntry) => ts.protocol === want.protocol && ts.startPort === 0 && ts.endPort === 0xffff;
  if (sentIds && exact(cr) && (exact(ci) || anyPort(ci))) return undefined;
  const asked = sentIds ? `${tsToString(ci)} === ${tsToString(cr)}` : 'no IDs (all traffic between the hosts)';
  return `the peer asked for ${asked}, but ${sa.connection!.name} carries only protocol ${want.protocol} port ${want.port} (L2TP: UDP 1701) in transport mode`;
}

/** Responder: QM1 → QM2. Returns why it was refused, if it was. */
export function respondQm1(ctx: Ikev1Context, sa: Phase1Sa, mid: number, opened: Opened, iv: Uint8Array, commit = false): string | undefined {
  const c = sa.crypto!;
  const k = c.keys!;
  if (opened.payloads[0]?.kind !== 'HASH' || !hashOk(quickModeHash1(c.prf, k.skeyidA, mid, opened.afterFirst), opened.payloads[0].data)) return 'HASH(1) does not match';
  const conn = sa.connection!;
  const saPayload = opened.payloads.find((p) => p.kind === 'SA');
  const [ni] = opaque(opened.payloads, 'NONCE');
  if (!saPayload || saPayload.kind !== 'SA' || !ni) return 'QM1 lacks SA or nonce';
  const pfsGroups = conn.pfsGroups ?? conn.ikeProposals.flatMap((s) => (s.get(TransformType.DH) ?? []).map((t) => t.id));
  const choice = selectPhase2(saPayload.sa, conn.espProposals, conn.mode, pfsGroups);
  const [idci, idcr] = ids(opened.payloads);
  let ci = idci ? idToTs(idci) : tsFromPrefix(sa.remote.address);
  let cr = idcr ? idToTs(idcr) : tsFromPrefix(sa.local.address);
  const acrossNat = conn.mode === 'transport' && sa.natDetected && ci && cr ? transportSelectorsAcrossNat(sa, ci, cr) : undefined;
  if (acrossNat) ({ ci, cr } = acrossNat);
  const qm: QuickMode = { messageId: mid, initiator: false, state: 'qm2', iv, ni, nr: ctx.crypto.randomBytes(ctx.options.nonceLength), spi: ctx.newSpi() };
  if (!choice) {
    notifyPeer(ctx, sa, NotifyType.NO_PROPOSAL_CHOSEN);
    return `no acceptable ESP proposal for ${conn.mode} mode (offered: ${describePhase2Offer(saPayload.sa)}; accepted: ${describeSpecs(conn.espProposals)})`;
  }
  if (!ci || !cr || !acceptSelectors(sa, ci, cr)) {
    notifyPeer(ctx, sa, NotifyType.INVALID_ID_INFORMATION);
    return `selectors ${ci ? tsToString(ci) : '?'} === ${cr ? tsToString(cr) : '?'} are outside ${conn.name}'s`;
  }
  const l2tpOnly = transportSelectorRefusal(sa, ci, cr, idci !== undefined && idcr !== undefined);
  if (l2tpOnly) {
    notifyPeer(ctx, sa, NotifyType.INVALID_ID_INFORMATION);
    return l2tpOnly;
  }
  qm.choice = choice;
  if (acrossNat) ctx.log('info', acrossNat.why);
  if (idci && idcr) { qm.idci = idci; qm.idcr = idcr; }
  const rest: Ikev1Payload[] = [{ kind: 'SA', sa: phase2Answer(saPayload.sa, choice, spiBytes(qm.spi)) }, { kind: 'NONCE', data: qm.nr }];
  let gqmxy: Uint8Array | undefined;
  if (choice.group !== undefined) {
    const [ke] = opaque(opened.payloads, 'KE');
    qm.dh = ctx.crypto.createDh(choice.group);
    gqmxy = ke && qm.dh?.computeSecret(ke);
    if (!gqmxy) return 'the PFS KE is missing or invalid';
    rest.push({ kind: 'KE', data: qm.dh!.publicValue });
  }
  if (idci && idcr) rest.push({ kind: 'ID', id: idci }, { kind: 'ID', id: idcr });
  if (wantsNatOa(sa)) rest.push(...natOaPayloads(sa, false));
  const shorter = shorterLifetime(choice.lifeSeconds, lifetimeFor(conn.rekeySeconds, ctx.options.phase2LifeSeconds), ProtocolId.IPSEC_ESP, spiBytes(qm.spi));
  if (shorter) rest.push(shorter);
  const hash = quickModeHash2(c.prf, k.skeyidA, mid, ni, encodePayloads(rest).bytes);
  const child = makeChild(sa, qm, choice, Buffer.from(choice.proposal.spi).readUInt32BE(), cr, ci, gqmxy, receivedOriginalAddresses(opened.payloads, false));
  if (!child) return 'the chosen ESP suite is not installable';
  qm.child = child;
  sa.quickModes.set(mid, qm);
  ctx.reply(sa, seal(sa, qm, ExchangeType.QUICK_MODE, mid, [{ kind: 'HASH', data: hash }, ...rest]), qm);
  if (commit) return awaitConnected(ctx, sa, qm);
  acceptInbound(ctx, sa, child, qm);
  return undefined;
}

const selectorKey = (c: ChildSaInfo) => `${c.localTs.join(',')}|${c.remoteTs.join(',')}`;

/**
 * Responder, as QM2 goes out: the new child's inbound SA goes in now, since the initiator may send
 * on it right after QM2. A rekey (same selectors as a child we hold) keeps sending on the old
 * child until QM3 (`initiated: false` leaves the outbound SA pending); a first child goes in whole,
 * nothing else carries its traffic. Abandoned without QM3, it is taken out again.
 */
function acceptInbound(ctx: Ikev1Context, sa: Phase1Sa, child: ChildSaInfo, qm: QuickMode): void {
  const old = sa.children.find((c) => selectorKey(c) === selectorKey(child) && !sa.retiring.has(c.inbound.spi));
  if (old) qm.replaces = old;
  sa.children.push(child);
  sa.childBorn.set(child.inbound.spi, ctx.now);
  if (qm.idci && qm.idcr) sa.childSelectors.set(child.inbound.spi, { local: qm.idcr, remote: qm.idci });
  ctx.emit(old ? { type: 'rekey-child', old, child, initiated: false } : { type: 'install-child', child });
}

/** A Quick Mode we answered never got its QM3: the child accepted at QM2 goes again (no Delete: the peer never confirmed it). */
export function abandonAnswered(ctx: Ikev1Context, sa: Phase1Sa, qm: QuickMode): void {
  const child = qm.child;
  const i = child ? sa.children.indexOf(child) : -1;
  if (!child || qm.initiator || qm.state !== 'qm2' || i < 0) return;
  sa.children.splice(i, 1);
  sa.childBorn.delete(child.inbound.spi);
  sa.childSelectors.delete(child.inbound.spi);
  ctx.emit({ type: 'delete-child', child });
}

/** Initiator: QM2 → QM3, and the child is installed. */
export function handleQm2(ctx: Ikev1Context, sa: Phase1Sa, qm: QuickMode, opened: Opened, commit = false): string | undefined {
  const c = sa.crypto!;
  const k = c.keys!;
  if (opened.payloads[0]?.kind !== 'HASH' || !hashOk(quickModeHash2(c.prf, k.skeyidA, qm.messageId, qm.ni, opened.afterFirst), opened.payloads[0].data)) return 'HASH(2) does not match';
  const saPayload = opened.payloads.find((p) => p.kind === 'SA');
  const [nr] = opaque(opened.payloads, 'NONCE');
  if (!saPayload || saPayload.kind !== 'SA' || !nr) return 'QM2 lacks SA or nonce';
  const proposal = saPayload.sa.proposals[0];
  const transform = proposal?.transforms[0];
  const choice = proposal && transform && phase2Params(proposal, transform);
  const offered = qm.offer!.proposals[0]!.transforms;
  if (!choice || saPayload.sa.proposals.length !== 1 || proposal.transforms.length !== 1 || !offered.some((t) => sameEspSuite(qm.offer!.proposals[0]!, t, choice))) return 'the responder chose an ESP transform we did not offer';
  if (modeOf(choice.mode) !== sa.connection!.mode) return 'the responder chose another encapsulation mode';
  qm.nr = nr;
  let gqmxy: Uint8Array | undefined;
  if (qm.dh) {
    const [ke] = opaque(opened.payloads, 'KE');
    gqmxy = ke && qm.dh.computeSecret(ke);
    if (!gqmxy) return 'the PFS KE is missing or invalid';
  }
  const [idci, idcr] = ids(opened.payloads);
  const ci = idToTs(idci ?? qm.idci!);
  const cr = idToTs(idcr ?? qm.idcr!);
  if (!ci || !cr) return 'unreadable selectors in QM2';
  const child = makeChild(sa, qm, choice, Buffer.from(proposal.spi).readUInt32BE(), ci, cr, gqmxy, receivedOriginalAddresses(opened.payloads, true));
  if (!child) return 'the chosen ESP suite is not installable';
  qm.child = child;
  qm.retransmit = undefined;
  qm.state = 'done';
  // The lifetime the responder chose, or the shorter one its RESPONDER-LIFETIME names (RFC 2407 §4.6.3.1).
  const life = Math.min(choice.lifeSeconds ?? Infinity, responderLifetime(opened.payloads, ProtocolId.IPSEC_ESP) ?? Infinity);
  if (Number.isFinite(life)) sa.childLife.set(child.inbound.spi, life);
  const hash3 = quickModeHash3(c.prf, k.skeyidA, qm.messageId, qm.ni, qm.nr);
  ctx.reply(sa, seal(sa, qm, ExchangeType.QUICK_MODE, qm.messageId, [{ kind: 'HASH', data: hash3 }]));
  if (commit) return awaitConnected(ctx, sa, qm);
  install(ctx, sa, child, qm, false);
  return undefined;
}

/** Responder: QM3 proves the initiator has the keys; the child goes in. */
export function handleQm3(ctx: Ikev1Context, sa: Phase1Sa, qm: QuickMode, opened: Opened): string | undefined {
  const c = sa.crypto!;
  const want = quickModeHash3(c.prf, c.keys!.skeyidA, qm.messageId, qm.ni, qm.nr);
  if (opened.payloads[0]?.kind !== 'HASH' || !hashOk(want, opened.payloads[0].data)) return 'HASH(3) does not match';
  qm.retransmit = undefined;
  qm.state = 'done';
  ctx.reply(sa, new Uint8Array());
  if (!qm.awaitingConnected) confirmAnswered(ctx, sa, qm.child!, qm);
  return undefined;
}

/**
 * The peer set the commit bit (RFC 2408 §3.1): the side that did not set it must not use the SA
 * until the setter's informational with N(CONNECTED) under the Quick Mode's message ID arrives. The
 * setter sends nothing on it before then, so the child goes in whole on CONNECTED (Postern never
 * sets the bit itself).
 */
function awaitConnected(ctx: Ikev1Context, sa: Phase1Sa, qm: QuickMode): undefined {
  qm.awaitingConnected = true;
  ctx.log('info', `Quick Mode ${qm.messageId.toString(16)} with ${sa.remote.address}: the peer set the commit bit; the child waits for its CONNECTED`);
  return undefined;
}

/** N(CONNECTED) for a Quick Mode whose child waited for it: the child goes in. */
export function quickModeConnected(ctx: Ikev1Context, sa: Phase1Sa, mid: number): void {
  const qm = sa.quickModes.get(mid);
  if (!qm?.awaitingConnected || qm.state !== 'done' || !qm.child) {
    ctx.log('debug', `CONNECTED from ${sa.remote.address} for no Quick Mode waiting (${mid.toString(16)})`);
    return;
  }
  qm.awaitingConnected = false;
  install(ctx, sa, qm.child, qm, true);
}

/** Responder, QM3 checked: the peer holds the child, so a rekey now sends on it too (its inbound went in at QM2). */
function confirmAnswered(ctx: Ikev1Context, sa: Phase1Sa, child: ChildSaInfo, qm: QuickMode): void {
  const what = `${child.suite} ${child.mode}, SPIs in ${child.inbound.spi.toString(16)} out ${child.outbound.spi.toString(16)}, ${child.localTs.join(',')} === ${child.remoteTs.join(',')}`;
  const old = qm.replaces;
  if (!old || !sa.children.includes(old)) {
    // A first child is whole since QM2; an old one deleted meanwhile already handed its outbound SA over.
    ctx.log('info', `Quick Mode with ${sa.remote.address} done: ${what}`);
    return;
  }
  ctx.emit({ type: 'rekey-child', old, child, initiated: true, confirmed: true });
  ctx.log('info', `child ${old.inbound.spi.toString(16)} with ${sa.remote.address} rekeyed: ${what}`);
  sa.retiring.set(old.inbound.spi, ctx.now + ctx.options.rekeyedGraceMs);
}

/**
 * Puts a new child in. A child with the same selectors as one we hold is its rekey (RFC 2409 has
 * no rekey exchange: a new Quick Mode, then maybe a Delete). `peerHasIt`: the peer said it holds the
 * new SA (its CONNECTED). Otherwise we just sent QM3, and a responder such as strongSwan installs the
 * SA only when QM3 arrives: our new inbound SA goes in now, but we go on sending on the old one
 * (`initiated: false`) until the old child goes, `rekeyDrainMs` later, when the installer switches to
 * the new outbound SA. Sending on it at once lost a packet now and then on a loaded box. The side that
 * started the rekey deletes the old child then; the other keeps it for the peer's Delete, or retires
 * it itself after a grace period (strongSwan keeps rekeyed IKEv1 children until expiry).
 */
function install(ctx: Ikev1Context, sa: Phase1Sa, child: ChildSaInfo, qm: QuickMode, peerHasIt: boolean): void {
  const key = (c: ChildSaInfo) => `${c.localTs.join(',')}|${c.remoteTs.join(',')}`;
  const old = qm.replaces ?? sa.children.find((c) => key(c) === key(child) && !sa.retiring.has(c.inbound.spi));
  sa.children.push(child);
  sa.childBorn.set(child.inbound.spi, ctx.now);
  if (qm.idci && qm.idcr) sa.childSelectors.set(child.inbound.spi, qm.initiator ? { local: qm.idci, remote: qm.idcr } : { local: qm.idcr, remote: qm.idci });
  const what = `${child.suite} ${child.mode}, SPIs in ${child.inbound.spi.toString(16)} out ${child.outbound.spi.toString(16)}, ${child.localTs.join(',')} === ${child.remoteTs.join(',')}`;
  if (!old) {
    ctx.emit({ type: 'install-child', child });
    ctx.log('info', `Quick Mode with ${sa.remote.address} done: ${what}`);
    return;
  }
  ctx.emit({ type: 'rekey-child', old, child, initiated: peerHasIt });
  ctx.log('info', `child ${old.inbound.spi.toString(16)} with ${sa.remote.address} rekeyed: ${what}`);
  // The initiator deletes the old child once the peer has surely processed QM3 (it sends on the old
  // SA until then); the other side keeps it for the peer's Delete, or retires it after the grace.
  sa.retiring.set(old.inbound.spi, ctx.now + (qm.initiator ? ctx.options.rekeyDrainMs : ctx.options.rekeyedGraceMs));
}

/** Removes a child of ours and tells the peer with a Delete naming our inbound SPI (RFC 2408 §3.15). */
export function retireChild(ctx: Ikev1Context, sa: Phase1Sa, old: ChildSaInfo): void {
  const i = sa.children.indexOf(old);
  if (i < 0) return;
  sa.children.splice(i, 1);
  sa.childBorn.delete(old.inbound.spi);
  sa.childSelectors.delete(old.inbound.spi);
  sa.retiring.delete(old.inbound.spi);
  ctx.emit({ type: 'delete-child', child: old });
  const spi = Buffer.alloc(4);
  spi.writeUInt32BE(old.inbound.spi);
  ctx.send(sa, sealInformational(sa, randomMessageId(ctx, sa), [{ kind: 'D', delete: { doi: 1, protocolId: ProtocolId.IPSEC_ESP, spiSize: 4, spis: [spi] } }]));
}

function half(spi: number, source: string, destination: string, material: Buffer, encLength: number): ChildSaHalf {
  const integrity = material.subarray(encLength);
  return { spi, source, destination, encryption: new Secret(Buffer.from(material.subarray(0, encLength))), ...(integrity.length ? { integrity: new Secret(Buffer.from(integrity)) } : {}) };
}

/** KEYMAT for both directions (§5.5): each direction keyed with the SPI its receiver chose. */
function makeChild(sa: Phase1Sa, qm: QuickMode, choice: Phase2Choice, peerSpi: number, local: TrafficSelectorEntry, remote: TrafficSelectorEntry, gqmxy: Uint8Array | undefined, original?: OriginalAddresses): ChildSaInfo | undefined {
  const alg = espAlgorithms(choice.transformId, choice.keyBits, choice.auth);
  if (!alg) return undefined;
  const c = sa.crypto!;
  const length = alg.encryptionKeyLength + alg.integrityKeyLength;
  const material = (spi: number) => keymat(c.prf, c.keys!.skeyidD, ProtocolId.IPSEC_ESP, spi, qm.ni, qm.nr, length, gqmxy);
  return {
    ikeSpi: sa.ckyI, connection: sa.connection!.name, suite: alg.suite, esn: false, mode: sa.connection!.mode,
    inbound: half(qm.spi, sa.remote.address, sa.local.address, material(qm.spi), alg.encryptionKeyLength),
    outbound: half(peerSpi, sa.local.address, sa.remote.address, material(peerSpi), alg.encryptionKeyLength),
    localTs: [tsToString(local)], remoteTs: [tsToString(remote)],
    ...(sa.natDetected ? { encapsulation: { localPort: sa.local.port, remotePort: sa.remote.port } } : {}),
    ...(original && sa.natDetected && sa.connection!.mode === 'transport' ? { originalAddresses: original } : {}),
  };
}
