/*
 * Identification payload, IPsec DOI form (RFC 2407 §4.6.2):
 *                      1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !  Next Payload !   RESERVED    !        Payload Length         !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * !   ID Type     !  Protocol ID  !             Port              !
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * ~                     Identification Data                       ~
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * The body (IDii_b, IDci_b in the hashes) starts at ID Type. Address types have fixed lengths
 * (§4.6.2.2..): an address 4/16, a subnet address | mask 8/32, a range start | end 8/32.
 */
import { isIP } from 'node:net';
import { fail, ok, type Decoded } from '../../util/decoded.ts';
import { ipText } from '../../util/ip.ts';
import { IdType } from '../registry.ts';

export interface Identification {
  readonly idType: number;
  /** The IP protocol (17 for UDP), 0 for any (§4.6.2). */
  readonly protocolId: number;
  readonly port: number;
  readonly data: Uint8Array;
}

const FIXED: Record<number, number> = {
  [IdType.ID_IPV4_ADDR]: 4, [IdType.ID_IPV4_ADDR_SUBNET]: 8, [IdType.ID_IPV4_ADDR_RANGE]: 8,
  [IdType.ID_IPV6_ADDR]: 16, [IdType.ID_IPV6_ADDR_SUBNET]: 32, [IdType.ID_IPV6_ADDR_RANGE]: 32,
};

export function decodeIdentification(body: Uint8Array, base = 0): Decoded<Identification> {
  if (body.length < 4) return fail('INVALID_SYNTAX', `an ID payload needs 4 bytes, got ${body.length}`, base);
  const idType = body[0] as number;
  const data = body.slice(4);
  const want = FIXED[idType];
  if (want !== undefined && data.length !== want) return fail('INVALID_SYNTAX', `ID type ${idType} needs ${want} bytes of data, got ${data.length}`, base + 4);
  if ((idType === IdType.ID_FQDN || idType === IdType.ID_USER_FQDN) && data.length === 0) return fail('INVALID_SYNTAX', 'an empty name', base + 4);
  return ok({ idType, protocolId: body[1] as number, port: ((body[2] as number) << 8) | (body[3] as number), data });
}

export function encodeIdentification(id: Identification): Uint8Array {
  const b = Buffer.alloc(4 + id.data.length);
  b[0] = id.idType;
  b[1] = id.protocolId;
  b.writeUInt16BE(id.port, 2);
  b.set(id.data, 4);
  return b;
}


function ipBytes(text: string): Uint8Array | undefined {
  const family = isIP(text);
  if (family === 4) return Uint8Array.from(text.split('.').map(Number));
  if (family !== 6) return undefined;
  const [head = '', tail] = text.split('::');
  const words = (s: string) => (s === '' ? [] : s.split(':').map((w) => parseInt(w, 16)));
  const h = words(head);
  const t = tail === undefined ? [] : words(tail);
  const all = [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = new Uint8Array(16);
  all.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  return out;
}

/** The prefix length of a contiguous mask, or undefined. */
function prefixOf(mask: Uint8Array): number | undefined {
  let bits = 0;
  let ended = false;
  for (const byte of mask) {
    for (let i = 7; i >= 0; i--) {
      const set = (byte >> i) & 1;
      if (set && ended) return undefined;
      if (set) bits++;
      else ended = true;
    }
  }
  return bits;
}

/**
 * The identity as text for logs and matching: "192.0.2.1", "10.1.0.0/16", "10.0.0.1-10.0.0.9",
 * "vpn.example.com", "user@example.com", a DN as "dn:<DER hex>"; other types as hex with their number.
 */
export function identificationText(id: Identification): string {
  const d = id.data;
  switch (id.idType) {
    case IdType.ID_IPV4_ADDR:
    case IdType.ID_IPV6_ADDR:
      return ipText(d);
    case IdType.ID_IPV4_ADDR_SUBNET:
    case IdType.ID_IPV6_ADDR_SUBNET: {
      const half = d.length / 2;
      const prefix = prefixOf(d.subarray(half));
      return `${ipText(d.subarray(0, half))}/${prefix ?? ipText(d.subarray(half))}`;
    }
    case IdType.ID_IPV4_ADDR_RANGE:
    case IdType.ID_IPV6_ADDR_RANGE:
      return `${ipText(d.subarray(0, d.length / 2))}-${ipText(d.subarray(d.length / 2))}`;
    case IdType.ID_FQDN:
    case IdType.ID_USER_FQDN:
      return Buffer.from(d).toString('latin1');
    // IKEv2's spelling (ike/payloads/identity.ts), so one configured remote ID fits either version.
    case IdType.ID_DER_ASN1_DN:
      return `dn:${Buffer.from(d).toString('hex')}`;
    default:
      return `${id.idType}:${Buffer.from(d).toString('hex')}`;
  }
}

/**
 * An ID from configuration text: an address, a prefix ("10.1.0.0/16"; a /32 or /128 becomes an
 * address, as strongSwan sends it), "user@domain", "dn:<DER hex>" or a name. Undefined for malformed addresses.
 */
export function identificationFrom(text: string, protocolId = 0, port = 0): Identification | undefined {
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const address = ipBytes(text.slice(0, slash));
    const bits = Number(text.slice(slash + 1));
    if (!address || !Number.isInteger(bits) || bits < 0 || bits > address.length * 8) return undefined;
    if (bits === address.length * 8) return { idType: address.length === 4 ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR, protocolId, port, data: address };
    const mask = new Uint8Array(address.length);
    for (let i = 0; i < bits; i++) mask[i >> 3]! |= 0x80 >> (i & 7);
    const network = address.map((b, i) => b & (mask[i] as number));
    return { idType: address.length === 4 ? IdType.ID_IPV4_ADDR_SUBNET : IdType.ID_IPV6_ADDR_SUBNET, protocolId, port, data: Buffer.concat([network, mask]) };
  }
  const address = ipBytes(text);
  if (address) return { idType: address.length === 4 ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR, protocolId, port, data: address };
  if (isIP(text) === 0 && /^[0-9.]+$/.test(text)) return undefined;
  if (/^dn:([0-9a-f]{2})+$/i.test(text)) return { idType: IdType.ID_DER_ASN1_DN, protocolId, port, data: Buffer.from(text.slice(3), 'hex') };
  return { idType: text.includes('@') ? IdType.ID_USER_FQDN : IdType.ID_FQDN, protocolId, port, data: Buffer.from(text, 'latin1') };
}

/** The selector an address ID stands for, as a prefix ("192.0.2.1/32"), for child SAs. */
export function identificationSelector(id: Identification): string | undefined {
  const text = identificationText(id);
  switch (id.idType) {
    case IdType.ID_IPV4_ADDR: return `${text}/32`;
    case IdType.ID_IPV6_ADDR: return `${text}/128`;
    case IdType.ID_IPV4_ADDR_SUBNET:
    case IdType.ID_IPV6_ADDR_SUBNET:
    case IdType.ID_IPV4_ADDR_RANGE:
    case IdType.ID_IPV6_ADDR_RANGE: return text;
    default: return undefined;
  }
}
