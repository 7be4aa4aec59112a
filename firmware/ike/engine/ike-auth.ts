import { timingSafeEqual } from 'node:crypto';
import { sharedKeyAuth, signedOctets } from '../crypto/auth-octets.ts';
import type { IkePayload } from '../message.ts';
import { AuthMethod } from '../payloads/auth.ts';
import { encodeId, idFromString, idToString, type IdPayload } from '../payloads/identity.ts';
import { ExchangeType, NotifyType } from '../registry/numbers.ts';
import { acceptChild, answerChild, childOfferPayloads, chooseChild, withoutDh } from './child-sa.ts';
import { cpReply, cpRequest, readReply, requested } from './config-payload.ts';
import type { EngineContext } from './context.ts';
import { startDeleteChildren } from './informational.ts';
import type { IkeSa } from './ike-sa.ts';
import { errorNotify, first, notify, notifyName } from './payload-helpers.ts';
import type { IkeConnection } from './types.ts';

/** IKE_AUTH (RFC 7296 §1.2, §2.15) with a shared key, carrying the first child SA. */

/** AUTH for `side` ('i' or 'r'): what that side MACs with the shared key. */
function pskAuth(sa: IkeSa, conn: IkeConnection, side: 'i' | 'r', id: IdPayload): Buffer {
  const c = sa.crypto!;
  const octets = side === 'i'
    ? signedOctets(c.prf, sa.initRequest, sa.nr, c.keys.skPi, encodeId(id))
    : signedOctets(c.prf, sa.initResponse, sa.ni, c.keys.skPr, encodeId(id));
  return sharedKeyAuth(c.prf, Buffer.from(conn.psk.reveal(), 'utf8'), octets);
}

const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && timingSafeEqual(a, b);

/** Initiator: IDi [IDr] AUTH N(INITIAL_CONTACT) SA TSi TSr. */
export function startAuth(ctx: EngineContext, sa: IkeSa, conn: IkeConnection): void {
  const idi = idFromString(conn.localId ?? sa.local.address);
  const spi = ctx.allocateChildSpi();
  const offer = childOfferPayloads(sa, conn, spi, withoutDh(conn.espProposals));
  sa.childOffer = { spi, proposals: offer.proposals };
  const payloads: IkePayload[] = [
    { kind: 'IDi', id: idi },
    notify(NotifyType.INITIAL_CONTACT),
    ...(conn.remoteId ? [{ kind: 'IDr', id: idFromString(conn.remoteId) } as const] : []),
    { kind: 'AUTH', auth: { method: AuthMethod.SHARED_KEY_MIC, data: pskAuth(sa, conn, 'i', idi) } },
    ...(conn.requestVirtualIp ? [cpRequest()] : []),
    ...offer.payloads,
  ];
  sa.setState('auth-sent', 'IKE_SA_INIT done');
  ctx.sendRequest(sa, ExchangeType.IKE_AUTH, payloads, 'ike-auth');
}

/** Responder: find the connection for IDi, check AUTH, answer with ours and the child SA. */
export function answerAuth(ctx: EngineContext, sa: IkeSa, messageId: number, request: readonly IkePayload[]): void {
  const idi = first(request, 'IDi');
  const auth = first(request, 'AUTH');
  const refuse = (why: string, fields: Record<string, unknown> = {}) => {
    ctx.log('warn', `IKE_AUTH refused: ${why}`, { remote: `${sa.remote.address}:${sa.remote.port}`, ...fields });
    ctx.sendResponse(sa, ExchangeType.IKE_AUTH, messageId, [notify(NotifyType.AUTHENTICATION_FAILED)]);
    ctx.close(sa, why);
  };
  if (!idi || !auth) return refuse('no IDi or AUTH payload (EAP is not offered on this connection)');
  const peerId = idToString(idi.id);
  const conn = ctx.connectionFor(peerId, sa.remote);
  if (!conn) return refuse(`no connection for peer ID '${peerId}'`, { peerId });
  if (auth.auth.method !== AuthMethod.SHARED_KEY_MIC) return refuse(`peer '${peerId}' used auth method ${auth.auth.method}, not a shared key`, { peerId });
  if (!same(auth.auth.data, pskAuth(sa, conn, 'i', idi.id))) return refuse(`shared key mismatch for peer '${peerId}' (connection ${conn.name})`, { peerId });
  sa.connection = conn;
  sa.remoteId = peerId;
  const idr = idFromString(conn.localId ?? sa.local.address);
  const ours: IkePayload[] = [{ kind: 'IDr', id: idr }, { kind: 'AUTH', auth: { method: AuthMethod.SHARED_KEY_MIC, data: pskAuth(sa, conn, 'r', idr) } }];
  const config = giveVirtualIp(ctx, sa, conn, peerId, request);
  const choice = 'error' in config ? { ok: false as const, error: config.error } : chooseChild(sa, conn, request, withoutDh(conn.espProposals));
  const child = choice.ok ? answerChild(sa, conn, choice, ctx.allocateChildSpi(), { weInitiated: false, ni: sa.ni, nr: sa.nr }) : choice;
  const cp = 'payload' in config && config.payload ? [config.payload] : [];
  ctx.sendResponse(sa, ExchangeType.IKE_AUTH, messageId, child.ok ? [...ours, ...cp, ...child.payloads] : [...ours, notify(child.error)]);
  sa.setState('established', `authenticated '${peerId}' with a shared key`);
  sa.establishedAt = ctx.now;
  ctx.emit({ type: 'ike-up', spi: sa.spiI, connection: conn.name, remoteId: peerId, remote: sa.remote, ...(sa.virtualIp ? { virtualIp: sa.virtualIp.address } : {}) });
  if (child.ok) {
    sa.children.push(child.child);
    sa.childBorn.set(child.child.inbound.spi, ctx.now);
    ctx.emit({ type: 'install-child', child: child.child });
  } else {
    ctx.log('warn', `child SA refused: ${notifyName(child.error)}`, { connection: conn.name });
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
  const lease = ctx.addresses?.lease(conn.pool, peerId);
  if (!lease) {
    ctx.log('warn', `no address left in pool '${conn.pool}' for '${peerId}'`, { connection: conn.name });
    return { error: NotifyType.INTERNAL_ADDRESS_FAILURE };
  }
  sa.virtualIp = { pool: conn.pool, identity: peerId, address: lease };
  ctx.log('info', `virtual address ${[lease.ipv4, lease.ipv6].filter(Boolean).join(', ')} for '${peerId}'`, { connection: conn.name, pool: conn.pool });
  return { payload: cpReply(lease, wanted, conn.splitSubnets ?? []) };
}

/** Initiator: check the responder's AUTH and install the child SA it agreed to. */
export function processAuthResponse(ctx: EngineContext, sa: IkeSa, response: readonly IkePayload[]): void {
  const conn = sa.connection!;
  const idr = first(response, 'IDr');
  const auth = first(response, 'AUTH');
  if (!idr || !auth) {
    const error = errorNotify(response);
    return ctx.close(sa, `the peer refused IKE_AUTH: ${error === undefined ? 'no AUTH payload' : notifyName(error)}`);
  }
  const peerId = idToString(idr.id);
  if (conn.remoteId && peerId !== conn.remoteId) return ctx.close(sa, `the peer identified as '${peerId}', expected '${conn.remoteId}'`);
  if (auth.auth.method !== AuthMethod.SHARED_KEY_MIC || !same(auth.auth.data, pskAuth(sa, conn, 'r', idr.id))) return ctx.close(sa, `the peer '${peerId}' failed shared key authentication`);
  sa.remoteId = peerId;
  const reply = conn.requestVirtualIp ? readReply(response) : undefined;
  if (reply && (reply.ipv4 || reply.ipv6)) sa.virtualIp = { pool: '', identity: '', address: reply };
  sa.setState('established', `authenticated '${peerId}' with a shared key`);
  sa.establishedAt = ctx.now;
  ctx.emit({ type: 'ike-up', spi: sa.spiI, connection: conn.name, remoteId: peerId, remote: sa.remote, ...(sa.virtualIp ? { virtualIp: sa.virtualIp.address } : {}) });
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
