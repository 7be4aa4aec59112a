import type { ChildSaInfo } from '../../ike/engine/types.ts';
import { cookieBytes } from '../crypto/keys.ts';
import type { Ikev1Payload, ReceivedPayload } from '../message.ts';
import { attributeNumber, decodeAttributes, encodeAttributes, numberAttribute } from '../payloads/attributes.ts';
import { sendInformational } from './informational.ts';
import { lifetimeFor } from './proposals.ts';
import { idToTs } from './selectors.ts';
import { tsToString } from '../../ike/payloads/traffic-selector.ts';
import { DOI_IPSEC, LifeType, NotifyType, Phase1Attr, Phase2Attr, ProtocolId } from '../registry.ts';
import type { Ikev1Context } from './context.ts';
import type { Phase1Sa } from './ikev1-sa.ts';
import type { SelectorPair } from './quick-mode.ts';
import { startMainMode } from './main-mode.ts';

/**
 * Lifetimes of IKEv1 SAs (RFC 2407 §4.5, §4.6.3.1; RFC 2409 §5): when phase 1 and phase 2 are
 * renewed, the peer's shorter lifetime honoured. IKEv1 has no phase 1 rekey exchange: a new Main
 * Mode with the same peer, whose children are then carried over from the old ISAKMP SA (children
 * are not bound to the ISAKMP SA that made them), and the old one deleted without its children,
 * as strongSwan does (its Main Mode responder adopts the old SA's children).
 */

/** How much of a negotiated lifetime passes before we renew: the rest is margin for the exchange. */
const RENEW_AT = 0.9;
/** The old ISAKMP SA is deleted this long after its successor is up: the peer adopts the children first. */
export const RETIRE_OLD_MS = 5000;

/**
 * The seconds a RESPONDER-LIFETIME notify (RFC 2407 §4.6.3.1) gives for `protocolId`: its data
 * are SA life attributes (phase 2 classes for ESP, phase 1 classes for ISAKMP). Kilobyte lifetimes
 * are not used (the data plane counts, the engine does not).
 */
export function responderLifetime(payloads: readonly ReceivedPayload[], protocolId: number): number | undefined {
  const [typeClass, durationClass] = protocolId === ProtocolId.ISAKMP ? [Phase1Attr.LIFE_TYPE, Phase1Attr.LIFE_DURATION] : [Phase2Attr.SA_LIFE_TYPE, Phase2Attr.SA_LIFE_DURATION];
  let shortest: number | undefined;
  for (const p of payloads) {
    if (p.kind !== 'N' || p.notification.type !== NotifyType.RESPONDER_LIFETIME || p.notification.protocolId !== protocolId) continue;
    const attrs = decodeAttributes(p.notification.data);
    if (!attrs.ok) continue;
    let seconds = false;
    for (const a of attrs.value) {
      if (a.type === typeClass) seconds = attributeNumber(a) === LifeType.SECONDS;
      const value = a.type === durationClass && seconds ? attributeNumber(a) : undefined;
      if (value) shortest = Math.min(shortest ?? Infinity, value);
    }
  }
  return shortest;
}

/**
 * When to renew: at our rekey time, or, when the lifetime in force is no longer than that (the
 * peer shortened it), at 90 % of the lifetime. Seconds; undefined never.
 */
function renewAfter(ours: number | undefined, life: number | undefined): number | undefined {
  if (life && (!ours || life <= ours)) return life * RENEW_AT;
  return ours || undefined;
}

/**
 * Responder: a RESPONDER-LIFETIME notify (RFC 2407 §4.6.3.1) when the initiator offered a longer
 * lifetime than we keep, so it renews in time; undefined when the offer is not longer.
 */
export function shorterLifetime(offered: number | undefined, ours: number, protocolId: number, spi: Uint8Array): Ikev1Payload | undefined {
  if (!offered || offered <= ours) return undefined;
  const [typeClass, durationClass] = protocolId === ProtocolId.ISAKMP ? [Phase1Attr.LIFE_TYPE, Phase1Attr.LIFE_DURATION] : [Phase2Attr.SA_LIFE_TYPE, Phase2Attr.SA_LIFE_DURATION];
  const data = encodeAttributes([{ type: typeClass, basic: true, value: LifeType.SECONDS }, numberAttribute(durationClass, ours)]);
  return { kind: 'N', notification: { doi: DOI_IPSEC, protocolId, type: NotifyType.RESPONDER_LIFETIME, spi, data } };
}

/** Responder, phase 1 up: the same for the ISAKMP SA, in a protected informational (as Cisco does). */
export function announcePhase1Lifetime(ctx: Ikev1Context, sa: Phase1Sa): void {
  const conn = sa.connection;
  if (sa.initiator || !conn) return;
  const n = shorterLifetime(sa.crypto?.choice.lifeSeconds, lifetimeFor(conn.ikeRekeySeconds, ctx.options.phase1LifeSeconds), ProtocolId.ISAKMP, Buffer.concat([cookieBytes(sa.ckyI), cookieBytes(sa.ckyR)]));
  if (n) sendInformational(ctx, sa, [n]);
}

/** After how long a child is renewed (milliseconds, 0 never). */
export function childRekeyAfterMs(sa: Phase1Sa, child: ChildSaInfo): number {
  const seconds = renewAfter(sa.connection?.rekeySeconds, sa.childLife.get(child.inbound.spi));
  return seconds ? Math.round(seconds * 1000) : 0;
}

/** The phase 1 lifetime in force: the negotiated one, or the peer's shorter RESPONDER-LIFETIME. */
export function phase1Life(sa: Phase1Sa): number | undefined {
  const negotiated = sa.crypto?.choice.lifeSeconds;
  const both = [negotiated, sa.peerLifeSeconds].filter((s): s is number => !!s);
  return both.length ? Math.min(...both) : undefined;
}

/**
 * When the Main Mode initiator renews phase 1: at the connection's IKE rekey time, or at 90 % of
 * the lifetime in force when that is sooner. Only the side that started phase 1 renews it, so the
 * two ends do not race; undefined when nothing is due (not established, already being renewed).
 */
export function phase1RekeyAt(sa: Phase1Sa): number | undefined {
  if (!sa.initiator || sa.state !== 'established' || sa.successor !== undefined || sa.replacedBy !== undefined || sa.parkedAt !== undefined) return undefined;
  const seconds = renewAfter(sa.connection?.ikeRekeySeconds, phase1Life(sa));
  return seconds ? sa.establishedAt + Math.round(seconds * 1000) : undefined;
}

/** A new Main Mode with the same peer; the old SA keeps working until the new one is up. */
export function startPhase1Rekey(ctx: Ikev1Context, sa: Phase1Sa): Phase1Sa {
  const conn = sa.connection!;
  const fresh = startMainMode(ctx, conn, { address: sa.local.address, port: 500 }, { address: conn.remoteAddress ?? sa.remote.address, port: 500 });
  sa.successor = fresh.ckyI;
  fresh.renewing = sa.ckyI;
  ctx.log('info', `renewing ISAKMP SA ${sa.ckyI.toString(16)} with ${sa.remote.address} (${conn.name}): new Main Mode ${fresh.ckyI.toString(16)}`);
  return fresh;
}

/** The children of `old` go under `fresh`, with their times and selectors; `old` is marked replaced. */
function moveChildren(old: Phase1Sa, fresh: Phase1Sa): void {
  for (const child of old.children.splice(0)) {
    fresh.children.push(child);
    for (const map of ['childBorn', 'childSelectors', 'retiring', 'childLife'] as const) moveEntry(old[map] as Map<number, unknown>, fresh[map] as Map<number, unknown>, child.inbound.spi);
  }
  old.replacedBy = fresh.ckyI;
}

/**
 * A new ISAKMP SA with a peer we already hold one with (our renewal, or the peer's): the older
 * SA's children move over (traffic goes on untouched), and the older SA is deleted shortly after,
 * alone. Returns the SA the children came from. Under unique 'never' one identity may hold
 * several SAs at once (devices sharing it, or the bench's many initiators from one address), so
 * a new SA replaces only our own renewal's predecessor or one the peer already deleted; a peer's
 * renewal is recognised when it deletes the old SA (`handOverOnDelete`).
 */
export function adoptChildren(ctx: Ikev1Context, fresh: Phase1Sa): Phase1Sa | undefined {
  const parallel = fresh.connection?.unique === 'never';
  const older = ctx.others(fresh).filter((o) => o.state === 'established' && o.remoteId === fresh.remoteId && o.replacedBy === undefined
    && (!parallel || o.successor === fresh.ckyI || o.parkedAt !== undefined));
  let from: Phase1Sa | undefined;
  for (const old of older) {
    moveChildren(old, fresh);
    from = old;
    // One the peer deleted already goes now; our own old one once the peer has adopted the children.
    if (old.parkedAt !== undefined) ctx.close(old, `deleted by the peer, its children taken over by ${fresh.ckyI.toString(16)}`);
    else old.retireAt = ctx.now + RETIRE_OLD_MS;
  }
  return from;
}

/**
 * Unique 'never': the peer deleted an ISAKMP SA with children after it had set up a newer one with
 * the same identity (its renewal, new SA first): the newest takes the children now. Returns it.
 */
export function handOverOnDelete(ctx: Ikev1Context, sa: Phase1Sa): Phase1Sa | undefined {
  if (sa.connection?.unique !== 'never' || !sa.children.length || sa.state !== 'established') return undefined;
  const newer = ctx.others(sa).filter((o) => o.state === 'established' && o.remoteId === sa.remoteId && o.replacedBy === undefined && o.parkedAt === undefined && o.establishedAt >= sa.establishedAt);
  const heir = newer.at(-1);
  if (!heir) return undefined;
  moveChildren(sa, heir);
  ctx.log('info', `${sa.remote.address} deleted ISAKMP SA ${sa.ckyI.toString(16)}: its ${heir.children.length} children go on under ${heir.ckyI.toString(16)}`);
  return heir;
}

/**
 * The peer deleted an ISAKMP SA that still has children. RFC 2408 ties no IPsec SA to the ISAKMP
 * SA that negotiated it, and strongSwan's IKEv1 reauthentication deletes the old ISAKMP SA first,
 * keeps its CHILD_SAs, and brings them under a new Main Mode (with INITIAL-CONTACT): so the
 * children run on for the grace period, and the peer's new ISAKMP SA adopts them. Returns false
 * when there is nothing to keep.
 */
export function parkChildren(ctx: Ikev1Context, sa: Phase1Sa): boolean {
  if (!sa.children.length || sa.replacedBy !== undefined || sa.state !== 'established') return false;
  sa.parkedAt = ctx.now;
  sa.retireAt = ctx.now + ctx.options.rekeyedGraceMs;
  sa.retransmit = undefined;
  ctx.log('info', `${sa.remote.address} deleted ISAKMP SA ${sa.ckyI.toString(16)}: its ${sa.children.length} children run on for ${ctx.options.rekeyedGraceMs / 1000} s, for the peer's new ISAKMP SA to take over`);
  return true;
}

function moveEntry(from: Map<number, unknown>, to: Map<number, unknown>, key: number): void {
  if (!from.has(key)) return;
  to.set(key, from.get(key));
  from.delete(key);
}

/** Our selector pairs that no child carried over already covers: only those need a Quick Mode. */
export function uncovered(sa: Phase1Sa, pairs: readonly SelectorPair[]): SelectorPair[] {
  const text = (id: SelectorPair['local']) => { const ts = idToTs(id); return ts ? tsToString(ts) : ''; };
  const held = new Set(sa.children.map((c) => `${c.localTs.join(',')}|${c.remoteTs.join(',')}`));
  return pairs.filter((p) => !held.has(`${text(p.local)}|${text(p.remote)}`));
}
