import type { IkePayload } from '../message.ts';
import { ExchangeType, NotifyType, ProtocolId } from '../registry/numbers.ts';
import { answerAddressUpdate, echoCookie2, finishAddressUpdate } from './mobike.ts';
import type { EngineContext } from './context.ts';
import type { IkeSa, PendingRequest } from './ike-sa.ts';
import { spiBytes32, spiFromBytes } from './payload-helpers.ts';
import type { ChildSaInfo } from './types.ts';

/** INFORMATIONAL (RFC 7296 §1.4, §1.5, §2.4): deletes and liveness checks. */

function removeChildren(ctx: EngineContext, sa: IkeSa, match: (c: ChildSaInfo) => boolean, emit = true): ChildSaInfo[] {
  const gone = sa.children.filter(match);
  for (const child of gone) {
    sa.children.splice(sa.children.indexOf(child), 1);
    sa.childBorn.delete(child.inbound.spi);
    if (emit) ctx.emit({ type: 'delete-child', child });
  }
  return gone;
}

/** Responder side of any INFORMATIONAL request. */
export function answerInformational(ctx: EngineContext, sa: IkeSa, messageId: number, request: readonly IkePayload[]): void {
  if (sa.mobike && !sa.initiator && request.some((p) => p.kind === 'N' && p.notify.type === NotifyType.UPDATE_SA_ADDRESSES)) return answerAddressUpdate(ctx, sa, messageId, request);
  const deletes = request.filter((p) => p.kind === 'D').map((p) => p.delete);
  if (deletes.some((d) => d.protocolId === ProtocolId.IKE)) {
    // §1.4.1: the IKE SA goes, and every child SA with it; the answer is empty.
    ctx.sendResponse(sa, ExchangeType.INFORMATIONAL, messageId, []);
    ctx.close(sa, 'deleted by the peer');
    return;
  }
  // §1.4.1: for each child the peer deletes (named by its inbound SPI, our outbound), name ours back.
  const ours: Uint8Array[] = [];
  for (const d of deletes.filter((x) => x.protocolId === ProtocolId.ESP)) {
    const spis = new Set(d.spis.map(spiFromBytes));
    for (const child of removeChildren(ctx, sa, (c) => spis.has(c.outbound.spi))) ours.push(spiBytes32(child.inbound.spi));
  }
  if (ours.length) ctx.log('info', `child SA deleted by the peer`, { connection: sa.connection?.name, count: ours.length });
  ctx.sendResponse(sa, ExchangeType.INFORMATIONAL, messageId, [...(ours.length ? [{ kind: 'D', delete: { protocolId: ProtocolId.ESP, spis: ours } } as const] : []), ...echoCookie2(request)]);
}

/** An empty INFORMATIONAL request: the peer must answer if it is alive (§2.4). */
export function startLivenessCheck(ctx: EngineContext, sa: IkeSa): void {
  ctx.sendRequest(sa, ExchangeType.INFORMATIONAL, [], 'dpd');
}

/** `why`: the reason the close gives once the peer answered (or never did): a session timeout's, for accounting. */
export function startDeleteIke(ctx: EngineContext, sa: IkeSa, why?: string): void {
  sa.deleteReason = why;
  sa.setState('deleting', why ?? 'delete requested');
  ctx.sendRequest(sa, ExchangeType.INFORMATIONAL, [{ kind: 'D', delete: { protocolId: ProtocolId.IKE, spis: [] } }], 'delete-ike');
}

/**
 * Deletes child SAs by our inbound SPI (what the peer knows them by). They stop being ours at once,
 * but their inbound SAs stay in the data plane until the peer answers (§1.4.1): until then it may
 * still send on them (after a rekey, until it switches to the new SA).
 */
export function startDeleteChildren(ctx: EngineContext, sa: IkeSa, inboundSpis: readonly number[]): void {
  const wanted = new Set(inboundSpis);
  sa.childrenDeleting.push(...removeChildren(ctx, sa, (c) => wanted.has(c.inbound.spi), false));
  ctx.sendRequest(sa, ExchangeType.INFORMATIONAL, [{ kind: 'D', delete: { protocolId: ProtocolId.ESP, spis: inboundSpis.map(spiBytes32) } }], 'delete-child');
}

export function processInformationalResponse(ctx: EngineContext, sa: IkeSa, purpose: PendingRequest['purpose'], response: readonly IkePayload[]): void {
  if (purpose === 'delete-ike') ctx.close(sa, sa.deleteReason ?? 'deleted');
  if (purpose === 'mobike') finishAddressUpdate(ctx, sa, response);
  if (purpose === 'delete-child') for (const child of sa.childrenDeleting.splice(0)) ctx.emit({ type: 'delete-child', child });
}
