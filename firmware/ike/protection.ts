import { openSkBody, sealSkBody, skBodyLength, type SkKeys } from './crypto/sk-cipher.ts';
import { decodePayloads, encodePayloads, type IkeMessage, type IkePayload } from './message.ts';
import { encodeIkeHeader, IKE_HEADER_LENGTH, type IkeHeader } from './payloads/header.ts';
import { PayloadType } from './registry/numbers.ts';

/**
 * Messages after IKE_SA_INIT carry everything inside one Encrypted payload (RFC 7296 §3.14).
 * These two functions wrap and unwrap it; the keys are the sender's direction (SK_ei/SK_ai for the
 * original initiator, SK_er/SK_ar for the responder).
 */

export type HeaderFields = Omit<IkeHeader, 'nextPayload' | 'length' | 'majorVersion' | 'minorVersion'>;

export function encodeProtectedMessage(header: HeaderFields, inner: readonly IkePayload[], keys: SkKeys, iv: Uint8Array): Uint8Array {
  const chain = encodePayloads(inner);
  const bodyLength = skBodyLength(keys.suite, chain.bytes.length);
  const total = IKE_HEADER_LENGTH + 4 + bodyLength;
  const prefix = Buffer.alloc(IKE_HEADER_LENGTH + 4);
  prefix.set(encodeIkeHeader({ ...header, nextPayload: PayloadType.SK, length: total }));
  prefix[IKE_HEADER_LENGTH] = chain.first;
  prefix.writeUInt16BE(4 + bodyLength, IKE_HEADER_LENGTH + 2);
  return Buffer.concat([prefix, sealSkBody(keys, prefix, chain.bytes, iv)]);
}

export type Unprotected =
  | { readonly ok: true; readonly payloads: IkePayload[] }
  | { readonly ok: false; readonly reason: 'not-encrypted' | 'short' | 'integrity' | 'padding' | 'syntax'; readonly detail?: string };

/**
 * Checks the ICV and decrypts the SK payload of a decoded message; `bytes` is the message as
 * received. Payloads before the SK payload are not allowed in the exchanges that use it.
 */
export function openProtectedMessage(bytes: Uint8Array, message: IkeMessage, keys: SkKeys): Unprotected {
  const sk = message.payloads.at(-1);
  if (message.payloads.length !== 1 || sk?.kind !== 'encrypted' || sk.type !== PayloadType.SK) return { ok: false, reason: 'not-encrypted' };
  const whole = bytes.subarray(0, message.header.length);
  const opened = openSkBody(keys, whole, whole.length - sk.body.length);
  if (!opened.ok) return opened;
  const inner = decodePayloads(opened.inner, 0, sk.inner);
  return inner.ok ? { ok: true, payloads: inner.value } : { ok: false, reason: 'syntax', detail: inner.error.message };
}
