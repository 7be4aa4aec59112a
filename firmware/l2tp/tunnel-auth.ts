/*
 * Tunnel authentication (RFC 2661 §4.2, §5.1.1): CHAP-like, one way or both. The side that wants
 * to authenticate its peer sends a Challenge AVP (SCCRQ or SCCRP); the peer answers in its next
 * message (SCCRP or SCCCN) with a Challenge Response AVP:
 *
 *   Response = MD5(ID | secret | challenge)   ID: the one-byte Message Type of the message carrying it
 *
 * so a response in an SCCRP (2) cannot be replayed as one in an SCCCN (3).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../util/secret.ts';
import { MessageType } from './avp-types.ts';

export type ResponseCarrier = typeof MessageType.SCCRP | typeof MessageType.SCCCN;

export function challengeResponse(carrier: ResponseCarrier, secret: Secret<Uint8Array>, challenge: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('md5').update(Uint8Array.of(carrier)).update(secret.reveal()).update(challenge).digest());
}

/** Compares in constant time; a response of the wrong length is simply wrong. */
export function checkChallengeResponse(carrier: ResponseCarrier, secret: Secret<Uint8Array>, challenge: Uint8Array, response: Uint8Array | undefined): boolean {
  if (!response || response.length !== 16) return false;
  return timingSafeEqual(challengeResponse(carrier, secret, challenge), response);
}
