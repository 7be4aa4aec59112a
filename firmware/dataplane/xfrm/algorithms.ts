import { ErrorCode, PosternError } from '../../util/errors.ts';
import type { EspSuite, SaKeys } from '../types.ts';
import { XfrmAttr } from './constants.ts';
import { algorithm } from './structs.ts';
import { attribute } from './netlink.ts';

/** How each ESP suite is named to the kernel's crypto API, and with which ICV/truncation length. */
const KERNEL_SUITES: Record<EspSuite, { aead?: string; crypt?: string; auth?: string; bits: number; keyBytes: number; integrityBytes?: number }> = {
  'aes-gcm-128': { aead: 'rfc4106(gcm(aes))', bits: 128, keyBytes: 16 + 4 },
  'aes-gcm-256': { aead: 'rfc4106(gcm(aes))', bits: 128, keyBytes: 32 + 4 },
  'chacha20-poly1305': { aead: 'rfc7539esp(chacha20,poly1305)', bits: 128, keyBytes: 32 + 4 },
  'aes-cbc-128-hmac-sha1-96': { crypt: 'cbc(aes)', auth: 'hmac(sha1)', bits: 96, keyBytes: 16, integrityBytes: 20 },
  'aes-cbc-256-hmac-sha1-96': { crypt: 'cbc(aes)', auth: 'hmac(sha1)', bits: 96, keyBytes: 32, integrityBytes: 20 },
  'aes-cbc-128-hmac-sha256-128': { crypt: 'cbc(aes)', auth: 'hmac(sha256)', bits: 128, keyBytes: 16, integrityBytes: 32 },
  'aes-cbc-256-hmac-sha256-128': { crypt: 'cbc(aes)', auth: 'hmac(sha256)', bits: 128, keyBytes: 32, integrityBytes: 32 },
  '3des-cbc-hmac-sha1-96': { crypt: 'cbc(des3_ede)', auth: 'hmac(sha1)', bits: 96, keyBytes: 24, integrityBytes: 20 },
  '3des-cbc-hmac-sha256-128': { crypt: 'cbc(des3_ede)', auth: 'hmac(sha256)', bits: 128, keyBytes: 24, integrityBytes: 32 },
  '3des-cbc-hmac-sha384-192': { crypt: 'cbc(des3_ede)', auth: 'hmac(sha384)', bits: 192, keyBytes: 24, integrityBytes: 48 },
};

/** The algorithm attributes of an XFRM_MSG_NEWSA; key lengths are checked, never guessed. */
export function algorithmAttributes(suite: EspSuite, keys: SaKeys): Buffer[] {
  const s = KERNEL_SUITES[suite];
  const encryption = keys.encryption.reveal();
  if (encryption.length !== s.keyBytes) {
    throw new PosternError(ErrorCode.dataplaneInvalid, `${suite} wants a ${s.keyBytes}-byte encryption key, got ${encryption.length}`);
  }
  if (s.aead) return [attribute(XfrmAttr.algAead, algorithm(s.aead, encryption, s.bits))];
  const integrity = keys.integrity?.reveal();
  if (!integrity || integrity.length !== s.integrityBytes) {
    throw new PosternError(ErrorCode.dataplaneInvalid, `${suite} wants a ${s.integrityBytes}-byte integrity key`);
  }
  return [
    attribute(XfrmAttr.algCrypt, algorithm(s.crypt as string, encryption)),
    attribute(XfrmAttr.algAuthTrunc, algorithm(s.auth as string, integrity, s.bits)),
  ];
}
