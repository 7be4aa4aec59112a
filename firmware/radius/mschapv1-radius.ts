/**
 * MS-CHAPv1 through RADIUS (RFC 2548): what a PPP authenticator sends for a peer's Response packet
 * (MS-CHAP-Challenge with our 8-octet challenge, MS-CHAP-Response with the NT-Response and the
 * "use NT" flag) and what the answer means. v1 has no mutual authentication: an Access-Accept is
 * the verdict. Its MPPE keys come as MS-CHAP-MPPE-Keys (the NT-Key is PasswordHashHash, from which
 * the NAS derives the start key with its challenge, RFC 3079 §2.3) or, from servers that send them,
 * as MS-MPPE-Send-Key and MS-MPPE-Recv-Key. MS-CHAP-Error on a Reject gives the peer its error number.
 */
import { mschapv1StartKey } from '../crypto/mschapv1.ts';
import { Secret } from '../util/secret.ts';
import { Attr, textAttr } from './attributes.ts';
import type { RadiusResult } from './client-engine.ts';
import { msChapChallenge, msChapResponse, parseMsChapError } from './microsoft.ts';
import type { RadiusAttribute } from './packet.ts';

export interface Mschapv1Attempt {
  readonly userName: string;
  /** The CHAP Identifier of our Challenge (MS-CHAP-Response's Ident). */
  readonly identifier: number;
  /** Our 8-octet challenge. */
  readonly challenge: Uint8Array;
  readonly ntResponse: Uint8Array;
}

export function mschapv1Attributes(a: Mschapv1Attempt): RadiusAttribute[] {
  return [textAttr(Attr.UserName, a.userName), msChapChallenge(a.challenge), msChapResponse({ ident: a.identifier, ntResponse: a.ntResponse })];
}

/** MPPE keys from the NAS's side (send, receive), or undefined when the Accept carried none usable. */
export type Mschapv1Keys = { readonly send: Secret<Uint8Array>; readonly receive: Secret<Uint8Array> };

export type Mschapv1Verdict =
  | { readonly ok: true; readonly mppe?: Mschapv1Keys }
  | { readonly ok: false; readonly reason: string; readonly error: number; readonly noServer: boolean };

export function mschapv1Verdict(result: RadiusResult, challenge: Uint8Array): Mschapv1Verdict {
  if (result.outcome === 'timeout' || result.outcome === 'overloaded') return { ok: false, reason: `no RADIUS server answered (${result.outcome})`, error: 691, noServer: true };
  const ms = result.microsoft;
  if (result.outcome === 'accept') {
    const mppe = mppeKeysOf(ms.chapNtKey, ms.sendKey, ms.recvKey, challenge);
    return mppe ? { ok: true, mppe } : { ok: true };
  }
  const parsed = ms.error ? parseMsChapError(ms.error.text) : undefined;
  return { ok: false, reason: `${result.server}: ${result.outcome}${parsed?.message ? ` (${parsed.message})` : ''}`, error: parsed?.error ?? 691, noServer: false };
}

function mppeKeysOf(ntKey: Secret<Uint8Array> | undefined, send: Secret<Uint8Array> | undefined, receive: Secret<Uint8Array> | undefined, challenge: Uint8Array): Mschapv1Keys | undefined {
  if (ntKey) {
    const start = new Secret(Uint8Array.from(mschapv1StartKey(ntKey.reveal(), challenge)));
    return { send: start, receive: start };
  }
  if (send && receive && send.reveal().length >= 16 && receive.reveal().length >= 16) return { send: new Secret(send.reveal().subarray(0, 16)), receive: new Secret(receive.reveal().subarray(0, 16)) };
  return undefined;
}
