import type { IkePayload } from '../message.ts';
import { idFromString, idToString, type IdPayload } from '../payloads/identity.ts';
import { ExchangeType, NotifyType } from '../registry/numbers.ts';
import { certRequest, checkPeerAuth, ourAuthPayloads } from './authenticators.ts';
import { acceptChild, answerChild, childOfferPayloads, chooseChild, withoutDh } from './child-sa.ts';
import { cpReply, cpRequest, readReply, requested } from './config-payload.ts';
import type { EngineContext } from './context.ts';
import { continueEapClient, continueEapServer, startEapServer } from './eap-rounds.ts';
import { startDeleteChildren } from './informational.ts';
import { additionalAddresses, mobikeSupported, peerSupportsMobike } from './mobike.ts';
import type { IkeSa } from './ike-sa.ts';
import { errorNotify, first, notify, notifyName } from './payload-helpers.ts';
import type { IkeConnection } from './types.ts';

/**
 * IKE_AUTH (RFC 7296 §1.2, §2.15): a shared key on both sides, or EAP for the initiator (§2.16,
 * eap-rounds.ts) with the responder's shared key first; the first child SA and the configuration
 * payload ride on the last exchange.
 */

/** Initiator: IDi [IDr] [AUTH] [CP] SA TSi TSr. Without AUTH the responder starts EAP. */
export function startAuth(ctx: EngineContext, sa: IkeSa, conn: IkeConnection): void {
  const idi = idFromString(conn.eap?.identity ?? conn.localId ?? sa.local.address);
  const spi = ctx.allocateChildSpi();
  const offer = childOfferPayloads(sa, conn, spi, withoutDh(conn.espProposals));
  sa.childOffer = { spi, proposals: offer.proposals };
  const payloads: IkePayload[] = [
    { kind: 'IDi', id: idi },
    // §2.8.3: a reauthentication keeps the old SA until the new one is up, so no INITIAL_CONTACT.
    ...(sa.reauthOf === undefined ? [notify(NotifyType.INITIAL_CONTACT)] : []),
    ...certRequest(conn),
    ...(conn.remoteId ? [{ kind: 'IDr', id: idFromString(conn.remoteId) } as const] : []),
    ...(conn.eap ? [] : ourAuthPayloads(sa, 'i', idi)),
    ...(conn.requestVirtualIp ? [cpRequest()] : []),
    ...offer.payloads,
    ...(conn.mobike === false ? [] : [mobikeSupported()]),
  ];
  sa.setState('auth-sent', 'IKE_SA_INIT done');
  ctx.sendRequest(sa, ExchangeType.IKE_AUTH, payloads, 'ike-auth');
}

/** Refuses an IKE_AUTH request: AUTHENTICATION_FAILED, and the SA goes (nothing half-open). */
export function refuseAuth(ctx: EngineContext, sa: IkeSa, messageId: number, why: string, fields: Record<string, unknown> = {}): void {
  ctx.log('warn', `IKE_AUTH refused: ${why}`, { remote: `${sa.remote.address}:${sa.remote.port}`, ...fields });
  ctx.sendResponse(sa, ExchangeType.IKE_AUTH, messageId, [notify(NotifyType.AUTHENTICATION_FAILED)]);
  // The reason names the failure so the service raises its auth-failure event (a revoked client too).
  ctx.close(sa, `authentication failed: ${why}`);
}

/** Responder: every IKE_AUTH request, first or during EAP. */
export function answerAuth(ctx: EngineContext, sa: IkeSa, messageId: number, request: readonly IkePayload[]): void {
  if (sa.state === 'eap') return continueEapServer(ctx, sa, messageId, request);
  const idi = first(request, 'IDi');
  const auth = first(request, 'AUTH');
  if (!idi) return refuseAuth(ctx, sa, messageId, 'no IDi payload');
  const peerId = idToString(idi.id);
  const conn = ctx.connectionFor(peerId, sa.remote);
  if (!conn) return refuseAuth(ctx, sa, messageId, `no connection for peer ID '${peerId}'`, { peerId });
  sa.connection = conn;
  sa.fragmentation &&= conn.fragmentation !== false;
  if (!auth) {
    if (conn.peerAuth !== 'eap-mschapv2') return refuseAuth(ctx, sa, messageId, `peer '${peerId}' asked for EAP, which connection ${conn.name} does not offer`, { peerId });
    return startEapServer(ctx, sa, messageId, request, idr(sa, conn));
  }
  if (conn.peerAuth === 'eap-mschapv2') return refuseAuth(ctx, sa, messageId, `peer '${peerId}' must use EAP on connection ${conn.name}`, { peerId });
  const failed = checkPeerAuth(ctx, sa, 'i', idi.id, request);
  if (typeof failed === 'object') {
    ctx.log('info', `IKE_AUTH of '${peerId}' held: ${failed.wait}; answered when it is retransmitted`, { connection: conn.name });
    return ctx.holdRequest(sa);
  }
  if (failed) return refuseAuth(ctx, sa, messageId, `${failed} for peer '${peerId}' (connection ${conn.name})`, { peerId });
  const id = idr(sa, conn);
  completeResponder(ctx, sa, messageId, request, peerId, [{ kind: 'IDr', id }, ...ourAuthPayloads(sa, 'r', id)], conn.peerAuth === 'certificate' ? 'a certificate' : 'a shared key');
}

export const idr = (sa: IkeSa, conn: IkeConnection): IdPayload => idFromString(conn.localId ?? sa.local.address);

/** Responder, authentication done: CP, the child SA, and the SA established. `request` carries SA/TSi/TSr/CP. */
export function completeResponder(ctx: EngineContext, sa: IkeSa, messageId: number, request: readonly IkePayload[], peerId: string, ours: IkePayload[], how: string): void {
  const conn = sa.connection!;
  sa.remoteId = peerId;
  // §3.10.1: INITIAL_CONTACT says the peer kept no state; its older SAs here are stale. They go
  // before the pool lease, so a reconnecting client gets its address back at once.
  if (request.some((p) => p.kind === 'N' && p.notify.type === NotifyType.INITIAL_CONTACT)) {
    for (const old of ctx.sameIdentity(sa)) ctx.close(old, `replaced by a new IKE SA of '${peerId}' (INITIAL_CONTACT)`);
  }
  const config = giveVirtualIp(ctx, sa, conn, peerId, request);
  const choice = 'error' in config ? { ok: false as const, error: config.error } : chooseChild(sa, conn, request, withoutDh(conn.espProposals), 'auth');
  const child = choice.ok ? answerChild(sa, conn, choice, ctx.allocateChildSpi(), { weInitiated: false, ni: sa.ni, nr: sa.nr }) : choice;
  const cp = 'payload' in config && config.payload ? [config.payload] : [];
  sa.mobike = conn.mobike !== false && peerSupportsMobike(request);
  const extra = sa.mobike ? [mobikeSupported(), ...additionalAddresses(conn.localAddresses, sa.local.address)] : [];
  ctx.sendResponse(sa, ExchangeType.IKE_AUTH, messageId, child.ok ? [...ours, ...cp, ...child.payloads, ...extra] : [...ours, notify(child.error), ...extra]);
  sa.setState('established', `authenticated '${peerId}' with ${how}`);
  sa.establishedAt = ctx.now;
  // RADIUS Session-Timeout (RFC 2865 §5.27): the engine deletes the IKE SA then (engine.ts tick).
  const limit = sa.eap.authorization?.sessionTimeoutSeconds;
  if (limit !== undefined) sa.sessionEnds = { at: ctx.now + limit * 1000, reason: `session timeout (RADIUS Session-Timeout ${limit} s)` };
  // After our answer, so a peer reauthenticating make-before-break has its new SA before the delete.
  replaceDuplicates(ctx, sa);
  ctx.emit({ type: 'ike-up', spi: sa.spiI, connection: conn.name, remoteId: peerId, remote: sa.remote, ...(sa.virtualIp ? { virtualIp: sa.virtualIp.address } : {}), ...(sa.eap.authorization ? { authorization: sa.eap.authorization } : {}) });
  if (child.ok) {
    sa.children.push(child.child);
    sa.childBorn.set(child.child.inbound.spi, ctx.now);
    ctx.emit({ type: 'install-child', child: child.child });
  } else {
    ctx.log('warn', `child SA refused: ${notifyName(child.error)}${'reason' in child && child.reason ? `: ${child.reason}` : ''}`, { connection: conn.name, peerId });
  }
}

/**
 * Uniqueness (strongSwan's `unique`): a peer that authenticates again without INITIAL_CONTACT or a
 * delete (a site that restarted, a client that lost its state) replaces its older IKE SAs and their
 * children, unless the connection keeps duplicates. Our own reauthentication retires its old SA itself.
 */
function replaceDuplicates(ctx: EngineContext, sa: IkeSa): void {
  if ((sa.connection?.unique ?? 'replace') !== 'replace') return;
  for (const old of ctx.sameIdentity(sa)) {
    if (old.spiI === sa.reauthOf) continue;
    ctx.replace(old, `replaced by IKE SA ${sa.spiI.toString(16)} of '${sa.remoteId}' (unique)`);
  }
}

/**
 * Responder, remote access: a virtual address from the connection's pool for the peer's identity
 * (§2.19). A pool without a request is FAILED_CP_REQUIRED; an empty pool INTERNAL_ADDRESS_FAILURE;
 * either way the IKE SA stands and only the child is refused (§3.15.4).
 */
function giveVirtualIp(ctx: EngineContext, sa: IkeSa, conn: IkeConnection, peerId: string, request: readonly IkePayload[]): { payload?: IkePayload } | { error: number } {
  if (!conn.pool) return {};
  const wanted = requested(request);
  if (!wanted) return { error: NotifyType.FAILED_CP_REQUIRED };
  // RADIUS (issue 21): Framed-Pool picks the pool, Framed-IP-Address the address in it (else refused),
  // MS-Primary/Secondary-DNS-Server the DNS servers, as for PPP sessions (access/ppp-session.ts).
  const radius = sa.eap.authorization;
  const pool = radius?.framedPool ?? conn.pool;
  const fixed = radius?.framedIpAddress;
  const refused = (why: string) => {
    ctx.log('warn', `${why} for '${peerId}': refused`, { connection: conn.name, pool });
    return { error: NotifyType.INTERNAL_ADDRESS_FAILURE };
  };
  if (radius?.framedPool !== undefined && ctx.addresses?.holds?.(pool) !== true) return refused(`RADIUS Framed-Pool '${pool}' is no configured pool`);
  if (fixed !== undefined && ctx.addresses?.holds?.(pool, fixed) !== true) return refused(`RADIUS Framed-IP-Address ${fixed} is outside pool '${pool}'`);
  const lease = ctx.addresses?.lease(pool, peerId, fixed);
  if (!lease) return refused(fixed === undefined ? `no address left in pool '${pool}'` : `RADIUS Framed-IP-Address ${fixed} is taken`);
  // A lease the identity already holds (another SA of it) is returned whatever was asked: not ours to release.
  if (fixed !== undefined && lease.ipv4 !== fixed) return refused(`RADIUS Framed-IP-Address ${fixed} differs from the address '${peerId}' holds (${lease.ipv4})`);
  const address = radius?.dnsServers ? { ...lease, dns: radius.dnsServers } : lease;
  sa.virtualIp = { pool, identity: peerId, address };
  ctx.log('info', `virtual address ${[lease.ipv4, lease.ipv6].filter(Boolean).join(', ')} for '${peerId}'`, { connection: conn.name, pool, ...(radius?.dnsServers ? { dns: radius.dnsServers.join(' ') } : {}) });
  return { payload: cpReply(address, wanted, conn.splitSubnets ?? []) };
}

/** Initiator: every IKE_AUTH response, first or during EAP. */
export function processAuthResponse(ctx: EngineContext, sa: IkeSa, response: readonly IkePayload[]): void {
  const conn = sa.connection!;
  if (sa.state === 'eap') return continueEapClient(ctx, sa, response);
  const idrPayload = first(response, 'IDr');
  const auth = first(response, 'AUTH');
  if (!idrPayload || !auth) {
    const error = errorNotify(response);
    return ctx.close(sa, `the peer refused IKE_AUTH: ${error === undefined ? 'no AUTH payload' : notifyName(error)}`);
  }

  const peerId = idToString(idrPayload.id);
  if (conn.remoteId && peerId !== conn.remoteId) return ctx.close(sa, `the peer identified as '${peerId}', expected '${conn.remoteId}'`);
  const checked = checkPeerAuth(ctx, sa, 'r', idrPayload.id, response);
  // As initiator there is nothing to hold: a hard-fail check still fetching fails this attempt, the next finds the answer.
  const failed = typeof checked === 'object' ? `${checked.wait}; the next attempt will know` : checked;
  if (failed) return ctx.close(sa, `the peer '${peerId}' failed authentication: ${failed}`);
  sa.remoteId = peerId;
  if (conn.eap) {
    sa.eap.peerIdr = idrPayload.id;
    sa.setState('eap', `'${peerId}' authenticated with a shared key; EAP next`);
    return continueEapClient(ctx, sa, response);
  }
  completeInitiator(ctx, sa, response, conn.peerAuth === 'certificate' ? 'a certificate' : 'a shared key');
}

/** Initiator, authentication done: CP, the child SA the responder agreed to. */
export function completeInitiator(ctx: EngineContext, sa: IkeSa, response: readonly IkePayload[], how: string): void {
  const conn = sa.connection!;
  sa.mobike = conn.mobike !== false && peerSupportsMobike(response);
  const reply = conn.requestVirtualIp ? readReply(response) : undefined;
  if (reply && (reply.ipv4 || reply.ipv6)) sa.virtualIp = { pool: '', identity: '', address: reply };
  replaceDuplicates(ctx, sa);
  sa.setState('established', `authenticated '${sa.remoteId}' with ${how}`);
  sa.establishedAt = ctx.now;
  ctx.emit({ type: 'ike-up', spi: sa.spiI, connection: conn.name, remoteId: sa.remoteId, remote: sa.remote, ...(sa.virtualIp ? { virtualIp: sa.virtualIp.address } : {}) });
  if (sa.reauthOf !== undefined) ctx.retire(sa.reauthOf, `reauthenticated as ${sa.spiI.toString(16)}`);
  const offer = sa.childOffer;
  sa.childOffer = undefined;
  const error = errorNotify(response);
  if (!offer || error !== undefined) {
    ctx.log('warn', `child SA refused by the peer: ${error === undefined ? 'no offer' : notifyName(error)}`, { connection: conn.name });
    return;
  }
  const child = acceptChild(sa, conn, offer.proposals, offer.spi, response, () => ({ weInitiated: true, ni: sa.ni, nr: sa.nr }));
  if (!child.ok) {
    // The peer installed what it answered; ask it to delete that half (§1.4.1).
    ctx.log('warn', `child SA answer not acceptable: ${notifyName(child.error)}`, { connection: conn.name });
    startDeleteChildren(ctx, sa, [offer.spi]);
    return;
  }
  sa.children.push(child.child);
  sa.childBorn.set(child.child.inbound.spi, ctx.now);
  ctx.emit({ type: 'install-child', child: child.child });
}
