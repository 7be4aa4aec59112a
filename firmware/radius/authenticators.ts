/**
 * The authenticators that make RADIUS packets trustworthy:
 * - Access-Request / Status-Server: a random Request Authenticator (RFC 2865 §3), and
 *   Message-Authenticator = HMAC-MD5(secret, packet with the attribute's value zeroed) (RFC 3579 §3.2).
 * - Accounting-Request: Message-Authenticator computed with the Authenticator field zeroed, then
 *   Request Authenticator = MD5(Code+Identifier+Length+16 zero octets+Attributes+Secret) (RFC 2866 §3).
 * - Responses: Message-Authenticator computed with the request's authenticator in the field, then
 *   Response Authenticator = MD5(Code+ID+Length+RequestAuth+Attributes+Secret) (RFC 2865 §3).
 * Message-Authenticator goes first in every request and is required on every Access-* response: the
 * Blast-RADIUS forgery (CVE-2024-3596) works only against packets without it.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { Secret } from '../util/secret.ts';
import { Attr } from './attributes.ts';
import { Code, encodeRadiusPacket, RADIUS_HEADER_LENGTH, type RadiusAttribute } from './packet.ts';

const ZERO16 = new Uint8Array(16);

/** Offset of the first Message-Authenticator's 16-byte value in an encoded packet, or -1. */
export function messageAuthenticatorOffset(bytes: Uint8Array): number {
  const length = Math.min(bytes.length, ((bytes[2] ?? 0) << 8) | (bytes[3] ?? 0));
  for (let at = RADIUS_HEADER_LENGTH; at + 2 <= length;) {
    const attrLength = bytes[at + 1] ?? 0;
    if (attrLength < 2 || at + attrLength > length) return -1;
    if (bytes[at] === Attr.MessageAuthenticator) return attrLength === 18 ? at + 2 : -1;
    at += attrLength;
  }
  return -1;
}

const hmacMd5 = (secret: Secret<Uint8Array>, data: Uint8Array) => createHmac('md5', secret.reveal()).update(data).digest();
const md5 = (...parts: Uint8Array[]) => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};

export interface RequestToSign {
  readonly code: number;
  readonly identifier: number;
  /** Without Message-Authenticator: it is added first. */
  readonly attributes: readonly RadiusAttribute[];
}

/**
 * The bytes of a request, Message-Authenticator first. `requestAuthenticator` (16 random bytes) is
 * used for Access-Request and Status-Server; Accounting-Request (and CoA/Disconnect) compute theirs.
 */
export function signRequest(request: RequestToSign, secret: Secret<Uint8Array>, requestAuthenticator: Uint8Array): Uint8Array {
  const computed = request.code !== Code.AccessRequest && request.code !== Code.StatusServer;
  const bytes = encodeRadiusPacket({
    code: request.code,
    identifier: request.identifier,
    authenticator: computed ? ZERO16 : requestAuthenticator,
    attributes: [{ type: Attr.MessageAuthenticator, value: ZERO16 }, ...request.attributes],
  });
  bytes.set(hmacMd5(secret, bytes), RADIUS_HEADER_LENGTH + 2);
  if (computed) bytes.set(md5(bytes, secret.reveal()), 4);
  return bytes;
}

export type ResponseCheck = 'ok' | 'bad-response-authenticator' | 'bad-message-authenticator' | 'missing-message-authenticator';

/**
 * Checks a response against the request it answers. Message-Authenticator is verified whenever
 * present and is required on Access-Accept/Reject/Challenge unless `requireMessageAuthenticator`
 * is false.
 */
export function checkResponse(response: Uint8Array, requestAuthenticator: Uint8Array, secret: Secret<Uint8Array>, requireMessageAuthenticator = true): ResponseCheck {
  const length = ((response[2] ?? 0) << 8) | (response[3] ?? 0);
  const bytes = Uint8Array.from(response.subarray(0, length));
  const expected = md5(bytes.subarray(0, 4), requestAuthenticator, bytes.subarray(RADIUS_HEADER_LENGTH), secret.reveal());
  if (!timingSafeEqual(expected, bytes.subarray(4, 20))) return 'bad-response-authenticator';
  const at = messageAuthenticatorOffset(bytes);
  const code = bytes[0];
  const accessResponse = code === Code.AccessAccept || code === Code.AccessReject || code === Code.AccessChallenge;
  if (at < 0) return accessResponse && requireMessageAuthenticator ? 'missing-message-authenticator' : 'ok';
  const received = Uint8Array.from(bytes.subarray(at, at + 16));
  bytes.set(requestAuthenticator, 4);
  bytes.set(ZERO16, at);
  return timingSafeEqual(hmacMd5(secret, bytes), received) ? 'ok' : 'bad-message-authenticator';
}

/** Response Authenticator for a response built by us (tests' fake servers, a future DAS). */
export function signResponse(code: number, identifier: number, attributes: readonly RadiusAttribute[], requestAuthenticator: Uint8Array, secret: Secret<Uint8Array>, withMessageAuthenticator = true): Uint8Array {
  const bytes = encodeRadiusPacket({
    code,
    identifier,
    authenticator: requestAuthenticator,
    attributes: withMessageAuthenticator ? [{ type: Attr.MessageAuthenticator, value: ZERO16 }, ...attributes] : attributes,
  });
  if (withMessageAuthenticator) bytes.set(hmacMd5(secret, bytes), RADIUS_HEADER_LENGTH + 2);
  bytes.set(md5(bytes, secret.reveal()), 4);
  return bytes;
}

export type RequestCheck = 'ok' | 'bad-request-authenticator' | 'bad-message-authenticator';

/**
 * Checks a request whose Request Authenticator is computed (Accounting-Request, RFC 2866 §3;
 * CoA-Request and Disconnect-Request, RFC 5176 §3.5): MD5 over the packet with 16 zero octets in
 * the field, then the secret. A Message-Authenticator, when present, is verified too, computed
 * over the packet with the Authenticator field zeroed (RFC 5176 §3.5, RFC 3579 §3.2).
 */
export function checkComputedRequest(request: Uint8Array, secret: Secret<Uint8Array>): RequestCheck {
  const length = ((request[2] ?? 0) << 8) | (request[3] ?? 0);
  const bytes = Uint8Array.from(request.subarray(0, length));
  const received = Uint8Array.from(bytes.subarray(4, 20));
  bytes.set(ZERO16, 4);
  if (!timingSafeEqual(md5(bytes, secret.reveal()), received)) return 'bad-request-authenticator';
  const at = messageAuthenticatorOffset(bytes);
  if (at < 0) return 'ok';
  const mac = Uint8Array.from(bytes.subarray(at, at + 16));
  bytes.set(ZERO16, at);
  return timingSafeEqual(hmacMd5(secret, bytes), mac) ? 'ok' : 'bad-message-authenticator';
}
