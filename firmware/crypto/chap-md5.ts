/** CHAP with MD5 (RFC 1994 §4.1): Response = MD5(Identifier | secret | Challenge). */
import { createHash } from 'node:crypto';
import type { Secret } from '../util/secret.ts';

export function chapMd5Response(identifier: number, secret: Secret<string>, challenge: Uint8Array): Buffer {
  return createHash('md5').update(Uint8Array.of(identifier & 0xff)).update(Buffer.from(secret.reveal(), 'utf8')).update(challenge).digest();
}
