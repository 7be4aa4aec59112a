/*
 * The MS-CHAPv2 values inside CHAP packets (RFC 2759):
 *   §4 Challenge: a 16-octet Authenticator Challenge.
 *   §4 Response (49 octets): Peer-Challenge (16) | Reserved, zero (8) | NT-Response (24) | Flags, zero (1).
 *   §5 Success message: "S=<auth_string> M=<message>" (40 hex digits, upper case).
 *   §6 Failure message: "E=eeeeeeeeee R=r C=cccccccccccccccccccccccccccccccc V=vvvvvvvvvv M=<msg>".
 */
import { fail, ok, type Decoded } from '../../util/decoded.ts';

export const MSCHAPV2_RESPONSE_LENGTH = 49;
export const CHALLENGE_LENGTH = 16;

export interface Mschapv2Response {
  readonly peerChallenge: Uint8Array;
  readonly ntResponse: Uint8Array;
}

export function decodeMschapv2Response(value: Uint8Array): Decoded<Mschapv2Response> {
  if (value.length !== MSCHAPV2_RESPONSE_LENGTH) return fail('INVALID_SYNTAX', `an MS-CHAPv2 Response value has 49 octets, not ${value.length}`, 0);
  return ok({ peerChallenge: value.slice(0, 16), ntResponse: value.slice(24, 48) });
}

export function encodeMschapv2Response(response: Mschapv2Response): Uint8Array {
  const out = new Uint8Array(MSCHAPV2_RESPONSE_LENGTH);
  out.set(response.peerChallenge, 0);
  out.set(response.ntResponse, 24);
  return out;
}

/** §6 error codes. */
export const MschapError = { RestrictedLogonHours: 646, AccountDisabled: 647, PasswordExpired: 648, NoDialinPermission: 649, AuthenticationFailure: 691, ChangingPassword: 709 } as const;

export function encodeFailureMessage(error: number, challenge: Uint8Array, message: string): string {
  return `E=${error} R=0 C=${Buffer.from(challenge).toString('hex').toUpperCase()} V=3 M=${message}`;
}

export interface FailureMessage {
  readonly error: number;
  readonly retry: boolean;
  readonly message: string;
}

/** Lenient: clients show what the server said; a malformed message is still a failure. */
export function parseFailureMessage(text: string): FailureMessage {
  const error = Number(/(?:^|\s)E=(\d+)/.exec(text)?.[1] ?? NaN);
  return { error: Number.isFinite(error) ? error : 0, retry: /(?:^|\s)R=1/.test(text), message: /(?:^|\s)M=(.*)$/.exec(text)?.[1] ?? text };
}

/** The S= part of a Success message (§5), or undefined. */
export function authenticatorResponseOf(message: string): string | undefined {
  return /^(S=[0-9A-Fa-f]{40})(?:\s|$)/.exec(message)?.[1];
}
