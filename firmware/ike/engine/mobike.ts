import { isIPv4 } from 'node:net';
import type { IkePayload } from '../message.ts';
import { ipv4Bytes, ipv6Bytes } from '../payloads/identity.ts';
import { ExchangeType, NotifyType } from '../registry/numbers.ts';
import type { EngineContext } from './context.ts';
import { detectNat, natPayloads } from './ike-init.ts';
import type { IkeSa } from './ike-sa.ts';
import { notify } from './payload-helpers.ts';
import type { Endpoint } from './types.ts';

/**
 * MOBIKE (RFC 4555): the client (always the original initiator, §3.1) moves to a new address and
 * tells the gateway with UPDATE_SA_ADDRESSES from there; both sides redo NAT detection (§3.5) and
 * the IKE SA and its children follow, without a new negotiation.
 */

/** Announced in IKE_AUTH by both sides when the connection allows it (§3.2). */
export const mobikeSupported = (): IkePayload => notify(NotifyType.MOBIKE_SUPPORTED);

/**
 * §3.6: our other addresses (the WAN's other family), announced with MOBIKE_SUPPORTED; the one the
 * SA runs on is never listed. Nothing when we have no other: the peer knows the address it uses.
 */
export function additionalAddresses(addresses: readonly string[] | undefined, inUse: string): IkePayload[] {
  return (addresses ?? []).filter((a) => a !== inUse && a !== '0.0.0.0' && a !== '::').map((a) =>
    isIPv4(a) ? notify(NotifyType.ADDITIONAL_IP4_ADDRESS, ipv4Bytes(a)) : notify(NotifyType.ADDITIONAL_IP6_ADDRESS, ipv6Bytes(a)));
}

export const peerSupportsMobike = (payloads: readonly IkePayload[]) => payloads.some((p) => p.kind === 'N' && p.notify.type === NotifyType.MOBIKE_SUPPORTED);

/** Initiator: we have a new local address; tell the peer from it (NAT-T port 4500, §3.3). */
export function startAddressUpdate(ctx: EngineContext, sa: IkeSa, local: Endpoint): void {
  sa.local = { address: local.address, port: 4500 };
  sa.remote = { address: sa.remote.address, port: 4500 };
  ctx.sendRequest(sa, ExchangeType.INFORMATIONAL, [notify(NotifyType.UPDATE_SA_ADDRESSES), ...natPayloads(sa)], 'mobike');
}

/** Responder: the packet came from the new address (the engine took it); answer with our NAT-D. */
export function answerAddressUpdate(ctx: EngineContext, sa: IkeSa, messageId: number, request: readonly IkePayload[]): void {
  detectNat(sa, request, sa.spiR);
  ctx.sendResponse(sa, ExchangeType.INFORMATIONAL, messageId, [...natPayloads(sa), ...echoCookie2(request)]);
  ctx.log('info', `peer '${sa.remoteId}' moved to ${sa.remote.address}:${sa.remote.port} (MOBIKE)`, { connection: sa.connection?.name, nat: sa.natDetected });
  emitMove(ctx, sa);
}

/** Initiator: the gateway confirmed; its NAT-D tells whether we are behind a NAT now. */
export function finishAddressUpdate(ctx: EngineContext, sa: IkeSa, response: readonly IkePayload[]): void {
  detectNat(sa, response, sa.spiR);
  ctx.log('info', `moved to ${sa.local.address} (MOBIKE)`, { connection: sa.connection?.name, nat: sa.natDetected });
  emitMove(ctx, sa);
}

/** Every child SA follows the IKE SA to the new addresses. */
export function emitMove(ctx: EngineContext, sa: IkeSa): void {
  for (const child of sa.children) {
    // The framing stays as negotiated (a data plane cannot switch it under traffic); ports follow.
    const encapsulation = child.encapsulation ? { encapsulation: { localPort: sa.local.port, remotePort: sa.remote.port } } : {};
    const moved = { ...child, inbound: { ...child.inbound, source: sa.remote.address, destination: sa.local.address }, outbound: { ...child.outbound, source: sa.local.address, destination: sa.remote.address }, ...encapsulation };
    sa.children.splice(sa.children.indexOf(child), 1, moved);
    ctx.emit({ type: 'move-child', child: moved });
  }
}

/** §3.5: a COOKIE2 in a request comes back unchanged in the response (return routability). */
export function echoCookie2(request: readonly IkePayload[]): IkePayload[] {
  const cookie2 = request.find((p) => p.kind === 'N' && p.notify.type === NotifyType.COOKIE2);
  return cookie2 ? [cookie2] : [];
}
