import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { EspSuite } from '../../dataplane/types.ts';
import type { IkePayload } from '../message.ts';
import { ipv4Bytes, ipv6Bytes } from '../payloads/identity.ts';
import type { Proposal, Transform } from '../payloads/sa.ts';
import type { ProposalSpec } from '../proposals.ts';
import { EncrId, IntegId, NotifyType, ProtocolId, TransformType } from '../registry/numbers.ts';
import type { Endpoint } from './types.ts';

/** Small readers and builders shared by the exchanges. */

export type PayloadOf<K extends IkePayload['kind']> = Extract<IkePayload, { kind: K }>;

export function first<K extends IkePayload['kind']>(payloads: readonly IkePayload[], kind: K): PayloadOf<K> | undefined {
  return payloads.find((p): p is PayloadOf<K> => p.kind === kind);
}

export function notifies(payloads: readonly IkePayload[]): PayloadOf<'N'>['notify'][] {
  return payloads.filter((p): p is PayloadOf<'N'> => p.kind === 'N').map((p) => p.notify);
}

export function notify(type: number, data: Uint8Array = new Uint8Array(), protocolId = 0, spi: Uint8Array = new Uint8Array()): IkePayload {
  return { kind: 'N', notify: { protocolId, type, spi, data } };
}

/** The first error notify (types below 16384), if any. */
export function errorNotify(payloads: readonly IkePayload[]): number | undefined {
  return notifies(payloads).find((n) => n.type < 16384)?.type;
}

const NOTIFY_NAMES = new Map<number, string>(Object.entries(NotifyType).map(([name, n]) => [n, name]));
export const notifyName = (type: number) => NOTIFY_NAMES.get(type) ?? `NOTIFY(${type})`;

/** RFC 7296 §2.23: SHA-1(SPIi | SPIr | IP | port). */
export function natHash(spiI: bigint, spiR: bigint, at: Endpoint): Uint8Array {
  const ip = isIPv4(at.address) ? ipv4Bytes(at.address) : ipv6Bytes(at.address);
  const data = Buffer.allocUnsafe(18 + ip.length); // SPIi | SPIr | IP | port, in one buffer
  data.writeBigUInt64BE(spiI, 0);
  data.writeBigUInt64BE(spiR, 8);
  data.set(ip, 16);
  data.writeUInt16BE(at.port, 16 + ip.length);
  return createHash('sha1').update(data).digest();
}

/** Our configured proposals as SA payload proposals: every acceptable transform of each type. */
export function proposalsFromSpecs(specs: readonly ProposalSpec[], protocolId: number, spi: Uint8Array, dhFirst?: number): Proposal[] {
  return specs.map((spec, i) => {
    const transforms: Transform[] = [];
    for (const [type, list] of spec) {
      // The group we send a KE for goes first, so a responder that takes the first one matches it.
      const ordered = type === TransformType.DH && dhFirst !== undefined ? [...list].sort((a, b) => Number(b.id === dhFirst) - Number(a.id === dhFirst)) : list;
      transforms.push(...ordered);
    }
    return { number: i + 1, protocolId, spi, transforms };
  });
}

export const transformOf = (p: Proposal, type: number): Transform | undefined => p.transforms.find((t) => t.type === type);

export function spiBytes32(spi: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(spi >>> 0);
  return b;
}

export const spiFromBytes = (b: Uint8Array): number => (b.length === 4 ? Buffer.from(b).readUInt32BE(0) : -1);

const TRIPLE_DES_SUITES: Partial<Record<number, EspSuite>> = {
  [IntegId.AUTH_HMAC_SHA1_96]: '3des-cbc-hmac-sha1-96', [IntegId.AUTH_HMAC_SHA2_256_128]: '3des-cbc-hmac-sha256-128', [IntegId.AUTH_HMAC_SHA2_384_192]: '3des-cbc-hmac-sha384-192',
};

/** The data plane's suite name for a chosen ESP proposal, if the data plane has it. */
export function espSuiteOf(p: Proposal): EspSuite | undefined {
  const e = transformOf(p, TransformType.ENCR);
  const i = transformOf(p, TransformType.INTEG);
  const integ = i?.id ?? IntegId.NONE;
  if (!e) return undefined;
  if (e.id === EncrId.ENCR_AES_GCM_16 && integ === IntegId.NONE) return e.keyLength === 128 ? 'aes-gcm-128' : e.keyLength === 256 ? 'aes-gcm-256' : undefined;
  if (e.id === EncrId.ENCR_CHACHA20_POLY1305 && integ === IntegId.NONE) return 'chacha20-poly1305';
  if (e.id === EncrId.ENCR_3DES && (e.keyLength === undefined || e.keyLength === 192)) return TRIPLE_DES_SUITES[integ];
  if (e.id !== EncrId.ENCR_AES_CBC || (e.keyLength !== 128 && e.keyLength !== 256)) return undefined;
  if (integ === IntegId.AUTH_HMAC_SHA1_96) return e.keyLength === 128 ? 'aes-cbc-128-hmac-sha1-96' : 'aes-cbc-256-hmac-sha1-96';
  if (integ === IntegId.AUTH_HMAC_SHA2_256_128) return e.keyLength === 128 ? 'aes-cbc-128-hmac-sha256-128' : 'aes-cbc-256-hmac-sha256-128';
  return undefined;
}

export const isEspProposal = (p: Proposal) => p.protocolId === ProtocolId.ESP;

/** One line per message naming its payloads, as strongSwan logs them: "IKE_AUTH request 1 [ IDi AUTH SA TSi TSr ]". */
export function describe(exchange: string, response: boolean, messageId: number, payloads: readonly IkePayload[]): string {
  const names = payloads.map((p) => (p.kind === 'N' ? `N(${notifyName(p.notify.type)})` : p.kind === 'raw' ? `P(${p.type})` : p.kind === 'encrypted' ? 'SK' : p.kind));
  return `${exchange} ${response ? 'response' : 'request'} ${messageId} [ ${names.join(' ')} ]`;
}
