/*
 * MS-CHAPv1 (RFC 2433) on the gateway, as CHAP algorithm 0x80: a Challenge with 8 random octets; the
 * peer's NT-Response is checked by the listener's `PasswordVerifier` (auth/: local users from the NT
 * hash, RADIUS with MS-CHAP-Challenge and MS-CHAP-Response, or RADIUS then local). Offered only where
 * a listener allows legacy methods: v1 has no mutual authentication and its responses can be cracked
 * offline. A peer that sends only a LAN Manager response (the "use NT" flag clear) is refused.
 *
 * Success carries free text (v1 has no authenticator response), Failure "E=691 R=0" or RADIUS's error
 * number. The outcome's MPPE keys (RFC 3079 §2.3: one start key, the same both ways) come from the
 * verdict; an Accept without them leaves MPPE unkeyed, and a link that requires MPPE ends, saying so.
 * Retransmission and late verdicts: `chap-verdict-authenticator.ts`, shared with CHAP-MD5.
 */
import { MSCHAPV1_CHALLENGE_LENGTH } from '../../crypto/mschapv1.ts';
import { ChapVerdictAuthenticator, type ChapVerdictMethod, type ChapVerdictOptions } from './chap-verdict-authenticator.ts';
import { decodeMschapv1Response, encodeMschapv1Failure } from './mschapv1-messages.ts';

export type Mschapv1AuthenticatorOptions = ChapVerdictOptions;

const AUTHENTICATION_FAILURE = 691;

const MSCHAPV1: ChapVerdictMethod = {
  challengeLength: MSCHAPV1_CHALLENGE_LENGTH,
  attempt({ name, value }, identifier, challenge) {
    const response = decodeMschapv1Response(value);
    if (!response.ok) return { refuse: 'malformed MS-CHAPv1 response' };
    if (!response.value.useNt) return { refuse: 'a LAN Manager response only (not accepted: use NT)' };
    return { method: 'mschapv1', userName: name, identifier, challenge, ntResponse: response.value.ntResponse };
  },
  failureMessage: (verdict) => encodeMschapv1Failure(verdict.error ?? AUTHENTICATION_FAILURE),
  keyed: true,
};

export class Mschapv1Authenticator extends ChapVerdictAuthenticator {
  constructor(options: Mschapv1AuthenticatorOptions) {
    super(MSCHAPV1, options);
  }
}
