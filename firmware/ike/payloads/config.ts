/*
 * Configuration payload body (RFC 7296 §3.15):
 * | CFG Type | RESERVED (24 bits) | Configuration Attributes ... |
 * Each attribute: |R| Attribute Type (15) | Length (16) | Value ... |
 */
import { fail, ok, type Decoded } from './result.ts';

export const CfgType = { CFG_REQUEST: 1, CFG_REPLY: 2, CFG_SET: 3, CFG_ACK: 4 } as const;
export const ConfigAttribute = {
  INTERNAL_IP4_ADDRESS: 1, INTERNAL_IP4_NETMASK: 2, INTERNAL_IP4_DNS: 3, INTERNAL_IP4_NBNS: 4,
  INTERNAL_IP6_ADDRESS: 8, INTERNAL_IP6_DNS: 10, INTERNAL_IP4_SUBNET: 13, SUPPORTED_ATTRIBUTES: 14, INTERNAL_IP6_SUBNET: 15,
} as const;

export interface ConfigPayload {
  readonly cfgType: number;
  readonly attributes: ReadonlyArray<{ readonly type: number; readonly value: Uint8Array }>;
}

export function decodeConfig(body: Uint8Array): Decoded<ConfigPayload> {
  if (body.length < 4) return fail('INVALID_SYNTAX', 'CP payload shorter than its fixed part', 0);
  const attributes: Array<{ type: number; value: Uint8Array }> = [];
  let at = 4;
  while (at < body.length) {
    if (at + 4 > body.length) return fail('INVALID_SYNTAX', 'attribute header past the payload', at);
    const type = (((body[at] as number) << 8) | (body[at + 1] as number)) & 0x7fff;
    const length = ((body[at + 2] as number) << 8) | (body[at + 3] as number);
    if (at + 4 + length > body.length) return fail('INVALID_SYNTAX', `attribute ${type} of ${length} bytes past the payload`, at + 2);
    attributes.push({ type, value: body.slice(at + 4, at + 4 + length) });
    at += 4 + length;
  }
  return ok({ cfgType: body[0] as number, attributes });
}

export function encodeConfig(cp: ConfigPayload): Uint8Array {
  const out = new Uint8Array(4 + cp.attributes.reduce((n, a) => n + 4 + a.value.length, 0));
  out[0] = cp.cfgType;
  let at = 4;
  for (const a of cp.attributes) {
    out[at] = (a.type >> 8) & 0x7f;
    out[at + 1] = a.type & 0xff;
    out[at + 2] = a.value.length >> 8;
    out[at + 3] = a.value.length & 0xff;
    out.set(a.value, at + 4);
    at += 4 + a.value.length;
  }
  return out;
}
