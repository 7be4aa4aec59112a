import { cookieBytes } from '../crypto/keys.ts';
import { DOI_IPSEC, NotifyType, ProtocolId } from '../registry.ts';
import type { Ikev1Context } from './context.ts';
import type { Phase1Sa } from './ikev1-sa.ts';
import { sendInformational } from './informational.ts';

/**
 * Dead peer detection (RFC 3706 §5): after the connection's DPD delay without hearing from a peer
 * that announced DPD, an R-U-THERE with the next sequence number; each retry a new one, and after
 * the engine's retransmission tries without R-U-THERE-ACK the peer is declared dead, or sooner when
 * the connection sets a DPD timeout (from the first unanswered R-U-THERE), so that a vanished L2TP
 * client's session and address are freed in a time the administrator chose.
 */

function rUThere(ctx: Ikev1Context, sa: Phase1Sa): void {
  const seq = Buffer.alloc(4);
  seq.writeUInt32BE(++sa.dpdSequence >>> 0);
  const spi = Buffer.concat([cookieBytes(sa.ckyI), cookieBytes(sa.ckyR)]);
  sendInformational(ctx, sa, [{ kind: 'N', notification: { doi: DOI_IPSEC, protocolId: ProtocolId.ISAKMP, type: NotifyType.R_U_THERE, spi, data: seq } }]);
}

/** When the next DPD step is due for this SA, or undefined when none is. */
export function dpdDue(ctx: { readonly options: Ikev1Context['options'] }, sa: Phase1Sa): number | undefined {
  const delay = (sa.connection?.dpdSeconds ?? 0) * 1000;
  if (!delay || !sa.peerDpd || sa.state !== 'established' || sa.parkedAt !== undefined) return undefined;
  const p = sa.dpdPending;
  if (!p) return sa.lastHeard + delay;
  const retry = p.sentAt + ctx.options.retransmitBaseMs * 2 ** (p.tries - 1);
  const timeout = (sa.connection?.dpdTimeoutSeconds ?? 0) * 1000;
  return timeout ? Math.min(retry, p.firstAt + timeout) : retry;
}

/** Runs DPD for one SA; returns a reason when the peer is to be declared dead. */
export function runDpd(ctx: Ikev1Context, sa: Phase1Sa): string | undefined {
  const due = dpdDue(ctx, sa);
  if (due === undefined || ctx.now < due) return undefined;
  const p = sa.dpdPending;
  if (p && p.tries > ctx.options.retransmitTries) return `dead peer: no R-U-THERE-ACK after ${p.tries} tries (RFC 3706)`;
  const timeout = (sa.connection?.dpdTimeoutSeconds ?? 0) * 1000;
  if (p && timeout && ctx.now >= p.firstAt + timeout) return `dead peer: no R-U-THERE-ACK in ${timeout / 1000} s (${p.tries} tries, RFC 3706)`;
  rUThere(ctx, sa);
  sa.dpdPending = p ? { ...p, sentAt: ctx.now, tries: p.tries + 1 } : { firstAt: ctx.now, sentAt: ctx.now, tries: 1 };
  return undefined;
}

/** An R-U-THERE-ACK with our last sequence number clears the check (older ones are ignored). */
export function dpdAcknowledged(sa: Phase1Sa, data: Uint8Array): void {
  if (data.length === 4 && Buffer.from(data).readUInt32BE() === sa.dpdSequence >>> 0) sa.dpdPending = undefined;
}
