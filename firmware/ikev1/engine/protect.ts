import { createHash } from 'node:crypto';
import { openMessage, phase2Iv, sealMessage } from '../crypto/cbc.ts';
import { decodeIsakmpMessage, decodePayloads, encodePayloads, type Ikev1Payload, type ReceivedPayload } from '../message.ts';
import { ISAKMP_HEADER_LENGTH, type IsakmpHeader } from '../payloads/header.ts';
import { ExchangeType } from '../registry.ts';
import { quickModeHash1 } from '../crypto/keys.ts';
import type { Phase1Sa } from './ikev1-sa.ts';

/**
 * Encryption of the messages an ISAKMP SA protects (RFC 2409 Appendix B): Main Mode 5 and 6 on the
 * phase 1 chain, Quick Mode and informational exchanges on chains of their own message ID.
 */

export interface IvHolder {
  iv: Uint8Array;
}

function keyOf(sa: Phase1Sa) {
  const c = sa.crypto;
  if (!c?.keys) throw new Error('no phase 1 keys yet');
  return { cipher: c.cipher, key: c.keys.encryptionKey };
}

/** Encrypts `payloads` on `chain` (the SA itself for Main Mode, or a Quick Mode) and moves its IV on. */
export function seal(sa: Phase1Sa, chain: IvHolder, exchangeType: number, messageId: number, payloads: readonly Ikev1Payload[], commit = false): Uint8Array {
  const { first, bytes } = encodePayloads(payloads);
  const sealed = sealMessage(keyOf(sa), chain.iv, { initiatorCookie: sa.ckyI, responderCookie: sa.ckyR, nextPayload: first, exchangeType, messageId, commit }, bytes);
  chain.iv = sealed.nextIv;
  sealedNames.set(sealed.packet, payloadNames(payloads));
  return sealed.packet;
}

/** What each sealed packet carried, for the one log line per message (never its contents). */
const sealedNames = new WeakMap<Uint8Array, string>();

/** "Quick Mode* [HASH, SA, NONCE, ID, ID]" for a packet we send; `*` marks encryption. */
export function describeOutgoing(packet: Uint8Array): string {
  const m = decodeIsakmpMessage(packet);
  if (!m.ok) return 'unreadable';
  const name = EXCHANGE_NAMES[m.value.header.exchangeType] ?? String(m.value.header.exchangeType);
  return m.value.encrypted ? `${name}* [${sealedNames.get(packet) ?? '?'}]` : `${name} [${payloadNames(m.value.payloads)}]`;
}

export const EXCHANGE_NAMES: Record<number, string> = { [ExchangeType.IDENTITY_PROTECTION]: 'Main Mode', [ExchangeType.AGGRESSIVE]: 'Aggressive Mode', [ExchangeType.INFORMATIONAL]: 'Informational', [ExchangeType.QUICK_MODE]: 'Quick Mode' };

export interface Opened {
  readonly payloads: readonly ReceivedPayload[];
  /** The chain's bytes after its first payload, up to its end (padding excluded): what HASH(1)/(2) cover. */
  readonly afterFirst: Uint8Array;
  readonly nextIv: Uint8Array;
}

/** Decrypts and parses; undefined when the plaintext is not a valid chain (a wrong key garbles it). */
export function open(sa: Phase1Sa, iv: Uint8Array, header: IsakmpHeader, ciphertext: Uint8Array): Opened | { readonly error: string } {
  const o = openMessage(keyOf(sa), iv, ciphertext);
  if (!o.ok) return { error: o.reason };
  const d = decodePayloads(header.nextPayload, o.plain, ISAKMP_HEADER_LENGTH, true);
  if (!d.ok) return { error: d.error.message };
  const total = d.value.reduce((n, p) => n + 4 + p.body.length, 0);
  const firstLength = d.value[0] ? 4 + d.value[0].body.length : 0;
  return { payloads: d.value, afterFirst: o.plain.subarray(firstLength, total), nextIv: o.nextIv };
}

/** The first IV of a Quick Mode or informational exchange. */
export function exchangeIv(sa: Phase1Sa, messageId: number): Uint8Array {
  const c = sa.crypto!;
  return phase2Iv(c.prf.hash, c.cipher, sa.iv, messageId);
}

/**
 * An informational exchange (RFC 2409 §5.7): HDR*, HASH(1), N/D with
 * HASH(1) = prf(SKEYID_a, M-ID | N/D); a fresh random message ID and its own IV.
 */
export function sealInformational(sa: Phase1Sa, messageId: number, payloads: readonly Ikev1Payload[]): Uint8Array {
  const after = encodePayloads(payloads).bytes;
  const hash = quickModeHash1(sa.crypto!.prf, sa.crypto!.keys!.skeyidA, messageId, after);
  return seal(sa, { iv: exchangeIv(sa, messageId) }, ExchangeType.INFORMATIONAL, messageId, [{ kind: 'HASH', data: hash }, ...payloads]);
}

/** How duplicates are recognised: Main Mode has no message IDs, so by the hash of the whole message. */
export const messageHash = (raw: Uint8Array): string => createHash('sha256').update(raw).digest('hex');

/** "SA, VID, VID" — the payloads of a message for the one log line per message. */
export const payloadNames = (payloads: readonly Ikev1Payload[]): string => payloads.map((p) => (p.kind === 'N' ? `N(${p.notification.type})` : p.kind === 'unknown' ? `type ${p.type}` : p.kind)).join(', ');
