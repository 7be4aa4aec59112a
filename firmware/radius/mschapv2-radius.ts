/**
 * MS-CHAPv2 through RADIUS (RFC 2548 §2.3): what a PPP authenticator (SSTP, L2TP, PPTP) sends for a
 * peer's Response packet, and what the server's answer means for it. The NAS never sees the
 * password: the server's MS-CHAP2-Success carries the "S=" authenticator response the peer checks
 * (RFC 2759 §5), and MS-MPPE-Send/Recv-Key the MPPE master keys (RFC 3079) the NAS sends/receives with.
 */
import type { Secret } from '../util/secret.ts';
import { Attr, textAttr } from './attributes.ts';
import type { RadiusResult } from './client-engine.ts';
import { authenticatorResponseOf, msChap2Response, msChapChallenge, parseMsChapError } from './microsoft.ts';
import type { RadiusAttribute } from './packet.ts';

export interface Mschapv2Attempt {
  readonly userName: string;
  /** The 16-byte challenge the authenticator sent in its Challenge packet. */
  readonly authenticatorChallenge: Uint8Array;
  /** From the peer's Response packet (RFC 2759 §4). */
  readonly ident: number;
  readonly peerChallenge: Uint8Array;
  readonly ntResponse: Uint8Array;
  readonly flags?: number;
}

export function mschapv2Attributes(a: Mschapv2Attempt): RadiusAttribute[] {
  return [
    textAttr(Attr.UserName, a.userName),
    msChapChallenge(a.authenticatorChallenge),
    msChap2Response({ ident: a.ident, flags: a.flags ?? 0, peerChallenge: a.peerChallenge, ntResponse: a.ntResponse }),
  ];
}

export type Mschapv2Verdict =
  | {
      readonly ok: true;
      /** "S=<40 hex>" for the peer's Success packet. */
      readonly authenticatorResponse: string;
      readonly sendKey?: Secret<Uint8Array>;
      readonly recvKey?: Secret<Uint8Array>;
    }
  | {
      readonly ok: false;
      /** Why, in the operator's words. */
      readonly reason: string;
      /** RFC 2759 §6 error to give the peer (691 authentication failure when the server sent none). */
      readonly error: number;
      readonly retry: boolean;
      /** True when no server answered: `radius-then-local` may fall back. */
      readonly noServer: boolean;
    };

export function mschapv2Verdict(result: RadiusResult): Mschapv2Verdict {
  if (result.outcome === 'timeout' || result.outcome === 'overloaded') return { ok: false, reason: `no RADIUS server answered (${result.outcome})`, error: 691, retry: false, noServer: true };
  const ms = result.microsoft;
  if (result.outcome === 'accept') {
    const text = ms.success?.text ?? '';
    // An Accept without a well-formed authenticator response cannot prove the server knew the password.
    if (!/^S=[0-9A-Fa-f]{40}/.test(text)) return { ok: false, reason: `${result.server} accepted without MS-CHAP2-Success`, error: 691, retry: false, noServer: false };
    return { ok: true, authenticatorResponse: authenticatorResponseOf(text), ...(ms.sendKey ? { sendKey: ms.sendKey } : {}), ...(ms.recvKey ? { recvKey: ms.recvKey } : {}) };
  }
  const parsed = ms.error ? parseMsChapError(ms.error.text) : undefined;
  return { ok: false, reason: `${result.server}: ${result.outcome}${parsed?.message ? ` (${parsed.message})` : ''}`, error: parsed?.error ?? 691, retry: parsed?.retry ?? false, noServer: false };
}
