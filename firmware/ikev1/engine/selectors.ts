import { tsFromPrefix, TsType, type TrafficSelectorEntry } from '../../ike/payloads/traffic-selector.ts';
import { prefixLength } from '../../ike/payloads/traffic-selector.ts';
import type { Identification } from '../payloads/identification.ts';
import { IdType } from '../registry.ts';

/**
 * Quick Mode ID payloads as selectors (RFC 2409 §5.5, RFC 2407 §4.6.2): an address, subnet or
 * range with protocol and port, translated to and from the IKEv2 traffic-selector shape so the
 * shared narrowing checks apply.
 */

export function idToTs(id: Identification): TrafficSelectorEntry | undefined {
  const d = id.data;
  const port = id.port === 0 ? { startPort: 0, endPort: 0xffff } : { startPort: id.port, endPort: id.port };
  const base = { protocol: id.protocolId, ...port };
  switch (id.idType) {
    case IdType.ID_IPV4_ADDR:
    case IdType.ID_IPV6_ADDR:
      return { type: d.length === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE, ...base, start: d.slice(), end: d.slice() };
    case IdType.ID_IPV4_ADDR_SUBNET:
    case IdType.ID_IPV6_ADDR_SUBNET: {
      const half = d.length / 2;
      const mask = d.subarray(half);
      const start = d.slice(0, half).map((b, i) => b & (mask[i] as number));
      const end = start.map((b, i) => b | (~(mask[i] as number) & 0xff));
      return { type: half === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE, ...base, start, end };
    }
    case IdType.ID_IPV4_ADDR_RANGE:
    case IdType.ID_IPV6_ADDR_RANGE: {
      const half = d.length / 2;
      return { type: half === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE, ...base, start: d.slice(0, half), end: d.slice(half) };
    }
    default:
      return undefined;
  }
}

/** A selector as the ID an initiator sends: an address, a subnet, else a range. One port or any. */
export function tsToId(ts: TrafficSelectorEntry): Identification {
  const v4 = ts.start.length === 4;
  const protocolId = ts.protocol;
  const port = ts.startPort === ts.endPort ? ts.startPort : 0;
  const bits = prefixLength(ts.start, ts.end);
  if (bits === ts.start.length * 8) return { idType: v4 ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR, protocolId, port, data: ts.start.slice() };
  if (bits !== undefined) {
    const mask = new Uint8Array(ts.start.length);
    for (let i = 0; i < bits; i++) mask[i >> 3]! |= 0x80 >> (i & 7);
    return { idType: v4 ? IdType.ID_IPV4_ADDR_SUBNET : IdType.ID_IPV6_ADDR_SUBNET, protocolId, port, data: Buffer.concat([ts.start, mask]) };
  }
  return { idType: v4 ? IdType.ID_IPV4_ADDR_RANGE : IdType.ID_IPV6_ADDR_RANGE, protocolId, port, data: Buffer.concat([ts.start, ts.end]) };
}

export const prefixToId = (prefix: string): Identification => tsToId(tsFromPrefix(prefix));
