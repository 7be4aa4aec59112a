/**
 * Who checks an MS-CHAPv2 Response (RFC 2759) for the PPP authenticator (SSTP, L2TP, PPTP) and
 * IKEv2's EAP-MSCHAPv2 server: the local users, a RADIUS server (RFC 2548), or RADIUS then local
 * users when no server answers. Either way the caller gets the same verdict: the "S=" authenticator response for the
 * peer's Success packet (the peer checks it: mutual authentication) and the MPPE start keys from
 * the server's side (RFC 3079 §3.4), which key MPPE and SSTP's crypto binding.
 *
 * `radius-then-local` falls back only when no server answered at all, never after a Reject, and
 * says so in the log: an operator must be able to see that RADIUS was bypassed.
 */
import { verifierFor, type AuthSource } from './verifier-source.ts';
import { timingSafeEqual } from 'node:crypto';
import { generateAuthenticatorResponse, generateNtResponse, getAsymmetricStartKey, getMasterKey, hashNtPasswordHash, mschapUserName, ntPasswordHash } from '../crypto/mschapv2.ts';
import type { UserLookup } from '../crypto/user-credential.ts';
import type { Logger } from '../log/logger.ts';
import type { RadiusResult } from '../radius/client-engine.ts';
import { mschapv2Attributes, mschapv2Verdict, type Mschapv2Attempt } from '../radius/mschapv2-radius.ts';
import type { RadiusAttribute } from '../radius/packet.ts';
import { sessionAuthorizationOf, type SessionAuthorization } from '../radius/session-authorization.ts';
import { Secret } from '../util/secret.ts';

export type { AuthSource } from './verifier-source.ts';

export type Mschapv2Verification =
  | {
      readonly ok: true;
      readonly user: string;
      readonly source: 'local' | 'radius';
      /** "S=<40 hex>" for the Success packet. */
      readonly authenticatorResponse: string;
      /** Server side's MPPE start keys: send = MasterSendKey, receive = MasterReceiveKey. */
      readonly sendKey: Secret<Uint8Array>;
      readonly recvKey: Secret<Uint8Array>;
      /** What the Access-Accept said about the session (RADIUS only). */
      readonly authorization?: SessionAuthorization;
    }
  | {
      readonly ok: false;
      readonly user: string;
      readonly source: 'local' | 'radius';
      readonly reason: string;
      /** RFC 2759 §6 error for the Failure packet. */
      readonly error: number;
      /** No RADIUS server answered (what `radius-then-local` falls back on). */
      readonly noServer: boolean;
    };

/** The local users answer at once (no promise: the PPP exchange stays as it always was); RADIUS later. */
export interface Mschapv2Verifier {
  verify(attempt: Mschapv2Attempt): Mschapv2Verification | Promise<Mschapv2Verification>;
}

/** What the RADIUS verifier needs of a client (`RadiusClient.authenticate`). */
export interface RadiusAuthenticate {
  authenticate(attributes: readonly RadiusAttribute[]): Promise<RadiusResult>;
}

const AUTHENTICATION_FAILURE = 691;

export function localMschapv2Verifier(users: UserLookup): Mschapv2Verifier {
  return {
    verify(a) {
      const user = mschapUserName(a.userName);
      const credential = users(user);
      // Unknown users and wrong passwords cost the same work and get the same answer.
      const expected = generateNtResponse(a.authenticatorChallenge, a.peerChallenge, user, credential ?? '\u0000no such user');
      if (!credential || !timingSafeEqual(expected, Buffer.from(a.ntResponse))) {
        return { ok: false, user, source: 'local', reason: credential ? 'wrong password' : 'unknown user', error: AUTHENTICATION_FAILURE, noServer: false };
      }
      const masterKey = getMasterKey(hashNtPasswordHash(ntPasswordHash(credential)), a.ntResponse);
      return {
        ok: true,
        user,
        source: 'local',
        authenticatorResponse: generateAuthenticatorResponse(credential, a.ntResponse, a.peerChallenge, a.authenticatorChallenge, user),
        sendKey: new Secret(Uint8Array.from(getAsymmetricStartKey(masterKey, 16, true, true))),
        recvKey: new Secret(Uint8Array.from(getAsymmetricStartKey(masterKey, 16, false, true))),
      };
    },
  };
}

/** `nas`: the NAS attributes every Access-Request carries (NAS-Identifier, NAS-Port-Type, Tunnel-Type…). */
export function radiusMschapv2Verifier(client: RadiusAuthenticate, nas: readonly RadiusAttribute[]): Mschapv2Verifier {
  return {
    async verify(a) {
      const user = a.userName;
      const result = await client.authenticate([...mschapv2Attributes(a), ...nas]);
      const v = mschapv2Verdict(result);
      if (!v.ok) return { ok: false, user, source: 'radius', reason: v.reason, error: v.error, noServer: v.noServer };
      // MPPE and SSTP's crypto binding need both keys; an Accept without them cannot key the tunnel.
      if (!v.sendKey || !v.recvKey || v.sendKey.reveal().length < 16 || v.recvKey.reveal().length < 16) {
        return { ok: false, user, source: 'radius', reason: 'Access-Accept without 16-byte MS-MPPE-Send-Key and MS-MPPE-Recv-Key', error: AUTHENTICATION_FAILURE, noServer: false };
      }
      return { ok: true, user, source: 'radius', authenticatorResponse: v.authenticatorResponse, sendKey: new Secret(v.sendKey.reveal().subarray(0, 16)), recvKey: new Secret(v.recvKey.reveal().subarray(0, 16)),
        ...(result.outcome === 'accept' ? { authorization: sessionAuthorizationOf(result.packet.attributes, result.server) } : {}) };
    },
  };
}

export function mschapv2VerifierFor(source: AuthSource, verifiers: { readonly local: Mschapv2Verifier; readonly radius?: Mschapv2Verifier; readonly log?: Logger }): Mschapv2Verifier {
  return verifierFor(source, verifiers, (a) => ({ user: a.userName }));
}
