import { timingSafeEqual } from 'node:crypto';
import { cookieBytes, quickModeHash1 } from '../crypto/keys.ts';
import type { Ikev1Payload } from '../message.ts';
import { DOI_IPSEC, notifyName, NotifyType, ProtocolId } from '../registry.ts';
import type { Ikev1Context } from './context.ts';
import type { Phase1Sa } from './ikev1-sa.ts';
import { sealInformational, type Opened } from './protect.ts';
import { dpdAcknowledged } from './dpd.ts';
import { responderLifetime } from './lifetimes.ts';
import { quickModeConnected } from './quick-mode.ts';

/**
 * Protected informational exchanges (RFC 2409 §5.7): HDR*, HASH(1), N or D. Deletes (RFC 2408
 * §3.15) remove children or the ISAKMP SA itself; DPD (RFC 3706 §5) R-U-THERE gets its ACK.
 */

/** Why an SA closes when the peer deletes it (the engine may keep its children a while: lifetimes.ts). */
export const PEER_DELETED_ISAKMP = 'the peer deleted the ISAKMP SA';

const randomId = (ctx: Ikev1Context) => Buffer.from(ctx.crypto.randomBytes(4)).readUInt32BE() || 1;

export function sendInformational(ctx: Ikev1Context, sa: Phase1Sa, payloads: readonly Ikev1Payload[]): void {
  ctx.send(sa, sealInformational(sa, randomId(ctx), payloads));
}

/** Our deletes for the children and the ISAKMP SA, sent once when we close an established SA. */
export function deletePayloads(sa: Phase1Sa): Ikev1Payload[] {
  const out: Ikev1Payload[] = [];
  if (sa.children.length) {
    out.push({ kind: 'D', delete: { doi: DOI_IPSEC, protocolId: ProtocolId.IPSEC_ESP, spiSize: 4, spis: sa.children.map((c) => { const b = Buffer.alloc(4); b.writeUInt32BE(c.inbound.spi); return b; }) } });
  }
  out.push({ kind: 'D', delete: { doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, spiSize: 16, spis: [Buffer.concat([cookieBytes(sa.ckyI), cookieBytes(sa.ckyR)])] } });
  return out;
}

/**
 * An authenticated error notify refuses our Quick Modes still waiting for QM2 (strongSwan names
 * no message ID in it): they stop retransmitting instead of timing out.
 */
function abandonQuickModes(ctx: Ikev1Context, sa: Phase1Sa, why: string): void {
  for (const qm of [...sa.quickModes.values()]) {
    if (!qm.initiator || qm.state !== 'qm1') continue;
    sa.quickModes.delete(qm.messageId);
    ctx.log('warn', `Quick Mode ${qm.messageId.toString(16)} with ${sa.remote.address} refused by the peer: ${why} (connection ${sa.connection?.name ?? '?'})`);
  }
}

/** A verified informational from the peer; returns a reason when the SA must close. */
export function handleInformational(ctx: Ikev1Context, sa: Phase1Sa, mid: number, opened: Opened): string | undefined {
  const c = sa.crypto!;
  const first = opened.payloads[0];
  const want = quickModeHash1(c.prf, c.keys!.skeyidA, mid, opened.afterFirst);
  if (first?.kind !== 'HASH' || first.data.length !== want.length || !timingSafeEqual(want, first.data)) {
    ctx.log('warn', `informational from ${sa.remote.address} dropped: its HASH does not match`);
    return undefined;
  }
  // RFC 2407 §4.6.3.1: the peer keeps the ISAKMP SA for less time than offered; we renew before then.
  sa.peerLifeSeconds = responderLifetime(opened.payloads, ProtocolId.ISAKMP) ?? sa.peerLifeSeconds;
  for (const p of opened.payloads.slice(1)) {
    if (p.kind === 'N') {
      const n = p.notification;
      if (n.type === NotifyType.R_U_THERE) {
        sendInformational(ctx, sa, [{ kind: 'N', notification: { ...n, type: NotifyType.R_U_THERE_ACK } }]);
      } else if (n.type === NotifyType.R_U_THERE_ACK) {
        dpdAcknowledged(sa, n.data);
      } else if (n.type === NotifyType.CONNECTED) {
        quickModeConnected(ctx, sa, mid);
      } else {
        ctx.log(n.type < 16384 ? 'warn' : 'info', `${sa.remote.address} notifies ${notifyName(n.type)}`);
        if (n.type < 16384) abandonQuickModes(ctx, sa, notifyName(n.type));
      }
    }
    if (p.kind === 'D') {
      const d = p.delete;
      if (d.protocolId === ProtocolId.ISAKMP) return PEER_DELETED_ISAKMP;
      if (d.protocolId !== ProtocolId.IPSEC_ESP || d.spiSize !== 4) continue;
      for (const spi of d.spis) {
        const value = Buffer.from(spi).readUInt32BE();
        const i = sa.children.findIndex((ch) => ch.outbound.spi === value);
        if (i < 0) continue;
        const [child] = sa.children.splice(i, 1);
        sa.childBorn.delete(child!.inbound.spi);
        sa.childSelectors.delete(child!.inbound.spi);
        sa.retiring.delete(child!.inbound.spi);
        ctx.emit({ type: 'delete-child', child: child! });
        ctx.log('info', `${sa.remote.address} deleted the child with SPIs in ${child!.inbound.spi.toString(16)} out ${value.toString(16)}`);
      }
    }
  }
  return undefined;
}
