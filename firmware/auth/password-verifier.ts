/**
 * Who checks PAP (RFC 1334), CHAP-MD5 (RFC 1994) and MS-CHAPv1 (RFC 2433) logins for the PPP
 * authenticators, when a listener allows those legacy methods: the local users, a RADIUS server, or
 * RADIUS then local users when no server answers (the same rule as MS-CHAPv2, mschapv2-verifier.ts).
 *
 * Through RADIUS (RFC 2865): PAP sends the password as User-Password, hidden by the client engine
 * (§5.2); CHAP-MD5 sends CHAP-Password (the peer's CHAP Identifier then its 16-byte response, §5.3)
 * and the challenge as CHAP-Challenge (§5.40), so the NAS never sees the password; MS-CHAPv1 sends
 * MS-CHAP-Challenge and MS-CHAP-Response (RFC 2548, radius/mschapv1-radius.ts). PAP and CHAP-MD5
 * make no keys (the Accept's MPPE attributes, if any, are not used); MS-CHAPv1 keys MPPE (RFC 3079 §2.3).
 */
import { timingSafeEqual } from 'node:crypto';
import { passwordMatches, type UserCredential, type UserLookup } from '../crypto/user-credential.ts';
import type { Logger } from '../log/logger.ts';
import { Attr, octetsAttr, textAttr } from '../radius/attributes.ts';
import type { RadiusResult } from '../radius/client-engine.ts';
import type { RadiusAttribute } from '../radius/packet.ts';
import { sessionAuthorizationOf, type SessionAuthorization } from '../radius/session-authorization.ts';
import { USER_PASSWORD_MAX } from '../radius/user-password.ts';
import { Secret } from '../util/secret.ts';
import { chapMd5Response } from '../crypto/chap-md5.ts';
import { mschapUserName } from '../crypto/mschapv2.ts';
import { mschapv1StartKeyOf, ntChallengeResponse } from '../crypto/mschapv1.ts';
import { mschapv1Attributes, mschapv1Verdict, type Mschapv1Attempt } from '../radius/mschapv1-radius.ts';
import { verifierFor, type AuthSource } from './verifier-source.ts';

export type PasswordAttempt =
  | { readonly method: 'pap'; readonly userName: string; readonly password: Secret<Uint8Array> }
  | {
      readonly method: 'chap-md5';
      readonly userName: string;
      /** The CHAP Identifier of our Challenge (hashed into the response). */
      readonly identifier: number;
      readonly challenge: Uint8Array;
      readonly response: Uint8Array;
    }
  | ({ readonly method: 'mschapv1' } & Mschapv1Attempt);

/** MPPE start keys from the authenticator's side (MS-CHAPv1 only: the one legacy method that makes them). */
export type MppeStartKeys = { readonly send: Secret<Uint8Array>; readonly receive: Secret<Uint8Array> };

export type PasswordVerification =
  | { readonly ok: true; readonly user: string; readonly source: 'local' | 'radius'; readonly authorization?: SessionAuthorization; readonly mppe?: MppeStartKeys }
  | {
      readonly ok: false;
      readonly user: string;
      readonly source: 'local' | 'radius';
      readonly reason: string;
      readonly noServer: boolean;
      /** MS-CHAPv1's error number for the Failure packet (RADIUS's MS-CHAP-Error); 691 when absent. */
      readonly error?: number;
    };

export interface PasswordVerifier {
  verify(attempt: PasswordAttempt): PasswordVerification | Promise<PasswordVerification>;
}

export interface RadiusPasswordClient {
  authenticate(attributes: readonly RadiusAttribute[], userPassword?: Secret<Uint8Array>): Promise<RadiusResult>;
}

/** Stands in for an unknown user so that the same work is done. */
const NO_USER: UserCredential = { ntHash: new Secret(new Uint8Array(16)) };

export function localPasswordVerifier(users: UserLookup): PasswordVerifier {
  return {
    verify(a) {
      if (a.method === 'mschapv1') return checkMschapv1(users, a);
      const credential = users(a.userName);
      if (a.method === 'pap') {
        // Only the NT hash is stored: the given password is hashed the same way and compared in constant time.
        const good = passwordMatches(credential ?? NO_USER, Buffer.from(a.password.reveal()).toString('utf8')) && credential !== undefined;
        return good ? { ok: true, user: a.userName, source: 'local' } : { ok: false, user: a.userName, source: 'local', reason: credential ? 'wrong password' : 'unknown user', noServer: false };
      }
      // RFC 1994 §4.1 hashes the secret itself: only a user allowed CHAP-MD5 has it kept in clear.
      const secret = credential?.password;
      const expected = secret ? chapMd5Response(a.identifier, secret, a.challenge) : Buffer.alloc(16);
      const good = secret !== undefined && a.response.length === 16 && timingSafeEqual(expected, Buffer.from(a.response));
      if (good) return { ok: true, user: a.userName, source: 'local' };
      const reason = !credential ? 'unknown user' : !secret ? 'CHAP-MD5 is not allowed for this user (no password kept in clear)' : 'wrong password';
      return { ok: false, user: a.userName, source: 'local', reason, noServer: false };
    },
  };
}

/**
 * MS-CHAPv1 from the NT hash alone (RFC 2433 Appendix A: NtChallengeResponse needs no password in
 * clear). As for MS-CHAPv2, a DOMAIN\\ prefix is left out of the lookup.
 */
function checkMschapv1(users: UserLookup, a: Extract<PasswordAttempt, { method: 'mschapv1' }>): PasswordVerification {
  const user = mschapUserName(a.userName);
  const credential = users(user);
  // Unknown users and wrong passwords cost the same work and get the same answer.
  const expected = ntChallengeResponse(a.challenge, credential ?? NO_USER);
  if (!credential || a.ntResponse.length !== 24 || !timingSafeEqual(expected, Buffer.from(a.ntResponse))) {
    return { ok: false, user, source: 'local', reason: credential ? 'wrong password' : 'unknown user', noServer: false };
  }
  const start = new Secret(Uint8Array.from(mschapv1StartKeyOf(credential, a.challenge)));
  return { ok: true, user, source: 'local', mppe: { send: start, receive: start } };
}

/** The attributes of an Access-Request for a CHAP-MD5 attempt (RFC 2865 §5.3, §5.40). */
export function chapMd5RadiusAttributes(a: Extract<PasswordAttempt, { method: 'chap-md5' }>): RadiusAttribute[] {
  const chapPassword = new Uint8Array(1 + a.response.length);
  chapPassword[0] = a.identifier & 0xff;
  chapPassword.set(a.response, 1);
  return [textAttr(Attr.UserName, a.userName), octetsAttr(Attr.ChapPassword, chapPassword), octetsAttr(Attr.ChapChallenge, Uint8Array.from(a.challenge))];
}

/** `nas`: the NAS attributes every Access-Request carries (NAS-Identifier, Service-Type, Tunnel-Type…). */
export function radiusPasswordVerifier(client: RadiusPasswordClient, nas: readonly RadiusAttribute[]): PasswordVerifier {
  return {
    async verify(a) {
      const user = a.userName;
      if (a.method === 'mschapv1') return radiusMschapv1(client, nas, a);
      if (a.method === 'chap-md5' && a.response.length !== 16) return { ok: false, user, source: 'radius', reason: `a CHAP-MD5 response of ${a.response.length} bytes, not 16`, noServer: false };
      if (a.method === 'pap' && (a.password.reveal().length === 0 || a.password.reveal().length > USER_PASSWORD_MAX)) {
        return { ok: false, user, source: 'radius', reason: `a PAP password of ${a.password.reveal().length} bytes cannot be sent as User-Password (1..128)`, noServer: false };
      }
      const result = a.method === 'pap'
        ? await client.authenticate([textAttr(Attr.UserName, user), ...nas], a.password)
        : await client.authenticate([...chapMd5RadiusAttributes(a), ...nas]);
      if (result.outcome === 'timeout' || result.outcome === 'overloaded') return { ok: false, user, source: 'radius', reason: `no RADIUS server answered (${result.outcome})`, noServer: true };
      if (result.outcome !== 'accept') return { ok: false, user, source: 'radius', reason: `${result.server}: ${result.outcome}`, noServer: false };
      return { ok: true, user, source: 'radius', authorization: sessionAuthorizationOf(result.packet.attributes, result.server) };
    },
  };
}

async function radiusMschapv1(client: RadiusPasswordClient, nas: readonly RadiusAttribute[], a: Extract<PasswordAttempt, { method: 'mschapv1' }>): Promise<PasswordVerification> {
  const user = a.userName;
  const result = await client.authenticate([...mschapv1Attributes(a), ...nas]);
  const v = mschapv1Verdict(result, a.challenge);
  if (!v.ok) return { ok: false, user, source: 'radius', reason: v.reason, noServer: v.noServer, error: v.error };
  return { ok: true, user, source: 'radius', ...(v.mppe ? { mppe: v.mppe } : {}), ...(result.outcome === 'accept' ? { authorization: sessionAuthorizationOf(result.packet.attributes, result.server) } : {}) };
}

export function passwordVerifierFor(source: AuthSource, verifiers: { readonly local: PasswordVerifier; readonly radius?: PasswordVerifier; readonly log?: Logger }): PasswordVerifier {
  return verifierFor(source, verifiers, (a) => ({ user: a.userName, method: a.method }));
}
