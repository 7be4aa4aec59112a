import { isIPv4, isIPv6 } from 'node:net';
import type { IkePayload } from '../message.ts';
import { CfgType, ConfigAttribute } from '../payloads/config.ts';
import { ipv4Bytes, ipv6Bytes, ipv6String } from '../payloads/identity.ts';
import type { VirtualAddress } from './types.ts';

/**
 * The configuration payload (RFC 7296 §2.19, §3.15): a remote-access client asks for an address
 * and DNS servers in IKE_AUTH; the gateway answers from its pool, and may name the subnets behind
 * it (INTERNAL_IP4_SUBNET) for split tunnelling.
 */

const empty = new Uint8Array();

/** Initiator: what a client asks for (as Windows, Apple and strongSwan clients do). */
export function cpRequest(): IkePayload {
  return {
    kind: 'CP',
    config: {
      cfgType: CfgType.CFG_REQUEST,
      attributes: [
        { type: ConfigAttribute.INTERNAL_IP4_ADDRESS, value: empty },
        { type: ConfigAttribute.INTERNAL_IP4_DNS, value: empty },
        { type: ConfigAttribute.INTERNAL_IP6_ADDRESS, value: empty },
        { type: ConfigAttribute.INTERNAL_IP6_DNS, value: empty },
      ],
    },
  };
}

/** What the client's CFG_REQUEST asks for (empty when there is none). */
export function requested(payloads: readonly IkePayload[]): { ipv4: boolean; ipv6: boolean; subnets: boolean } | undefined {
  const cp = payloads.find((p) => p.kind === 'CP');
  if (cp?.kind !== 'CP' || cp.config.cfgType !== CfgType.CFG_REQUEST) return undefined;
  const types = new Set(cp.config.attributes.map((a) => a.type));
  return {
    ipv4: types.has(ConfigAttribute.INTERNAL_IP4_ADDRESS),
    ipv6: types.has(ConfigAttribute.INTERNAL_IP6_ADDRESS),
    subnets: types.has(ConfigAttribute.INTERNAL_IP4_SUBNET),
  };
}

function subnetValue(prefix: string): Uint8Array {
  const [address = '', bits = '32'] = prefix.split('/');
  const n = Number(bits);
  const mask = n === 0 ? 0 : (0xffffffff << (32 - n)) >>> 0;
  return Uint8Array.from([...ipv4Bytes(address), mask >>> 24, (mask >>> 16) & 0xff, (mask >>> 8) & 0xff, mask & 0xff]);
}

/** Responder: the CFG_REPLY for a lease. INTERNAL_IP4_SUBNET is sent whenever split subnets are set. */
export function cpReply(lease: VirtualAddress, wanted: { ipv4: boolean; ipv6: boolean }, split: readonly string[]): IkePayload {
  const attributes: Array<{ type: number; value: Uint8Array }> = [];
  if (wanted.ipv4 && lease.ipv4) attributes.push({ type: ConfigAttribute.INTERNAL_IP4_ADDRESS, value: ipv4Bytes(lease.ipv4) });
  if (wanted.ipv6 && lease.ipv6) attributes.push({ type: ConfigAttribute.INTERNAL_IP6_ADDRESS, value: Uint8Array.from([...ipv6Bytes(lease.ipv6), 128]) });
  for (const dns of lease.dns) {
    if (isIPv4(dns)) attributes.push({ type: ConfigAttribute.INTERNAL_IP4_DNS, value: ipv4Bytes(dns) });
    else if (isIPv6(dns)) attributes.push({ type: ConfigAttribute.INTERNAL_IP6_DNS, value: ipv6Bytes(dns) });
  }
  for (const prefix of split) if (isIPv4(prefix.split('/')[0] ?? '')) attributes.push({ type: ConfigAttribute.INTERNAL_IP4_SUBNET, value: subnetValue(prefix) });
  return { kind: 'CP', config: { cfgType: CfgType.CFG_REPLY, attributes } };
}

/** Initiator: the address, DNS servers and subnets in a CFG_REPLY; undefined when there is none. */
export function readReply(payloads: readonly IkePayload[]): (VirtualAddress & { subnets: string[] }) | undefined {
  const cp = payloads.find((p) => p.kind === 'CP');
  if (cp?.kind !== 'CP' || cp.config.cfgType !== CfgType.CFG_REPLY) return undefined;
  let ipv4: string | undefined;
  let ipv6: string | undefined;
  const dns: string[] = [];
  const subnets: string[] = [];
  for (const a of cp.config.attributes) {
    const v = a.value;
    if (a.type === ConfigAttribute.INTERNAL_IP4_ADDRESS && v.length === 4) ipv4 = [...v].join('.');
    else if (a.type === ConfigAttribute.INTERNAL_IP6_ADDRESS && v.length === 17) ipv6 = ipv6String(v.subarray(0, 16));
    else if (a.type === ConfigAttribute.INTERNAL_IP4_DNS && v.length === 4) dns.push([...v].join('.'));
    else if (a.type === ConfigAttribute.INTERNAL_IP6_DNS && v.length >= 16) dns.push(ipv6String(v.subarray(0, 16)));
    else if (a.type === ConfigAttribute.INTERNAL_IP4_SUBNET && v.length === 8) {
      const mask = Buffer.from(v.subarray(4)).readUInt32BE(0);
      subnets.push(`${[...v.subarray(0, 4)].join('.')}/${32 - Math.log2((~mask >>> 0) + 1)}`);
    }
  }
  return { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}), dns, subnets };
}
