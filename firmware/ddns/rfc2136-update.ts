/*
 * The dynamic update (RFC 2136 §2) that points the gateway's public name at a new WAN address:
 *   Zone:    <zone> SOA IN
 *   Update:  <name> A ANY, TTL 0, no RDATA   -- delete the name's A RRset (§2.5.2)
 *            <name> A IN <ttl> <address>     -- add the new one (§2.5.1)
 * (AAAA alike for an IPv6 address), signed with TSIG. No prerequisites: the update says what the
 * name is to be, whatever it was.
 */
import { parseIp } from '../util/ip.ts';
import { DnsClass, DnsType, Opcode, Rcode, type DnsMessage, type DnsRecord } from './dns-message.ts';
import { rcodeName, signRequest, verifyResponse, type TsigKey } from './tsig.ts';

export interface AddressUpdate {
  readonly zone: string;
  readonly name: string;
  readonly address: string;
  readonly ttl: number;
}

export function updateMessage(id: number, u: AddressUpdate): DnsMessage {
  const ip = parseIp(u.address);
  if (!ip) throw new RangeError(`not an IP address: ${u.address}`);
  const type = ip.family === 4 ? DnsType.A : DnsType.AAAA;
  const updates: DnsRecord[] = [
    { name: u.name, type, class: DnsClass.ANY, ttl: 0, rdata: Buffer.alloc(0) },
    { name: u.name, type, class: DnsClass.IN, ttl: u.ttl, rdata: Buffer.from(ip.bytes) },
  ];
  return {
    id, qr: false, opcode: Opcode.UPDATE, aa: false, tc: false, rd: false, ra: false, rcode: 0,
    questions: [{ name: u.zone, type: DnsType.SOA, class: DnsClass.IN }], answers: [], authorities: updates, additionals: [],
  };
}

export interface SignedUpdate {
  readonly id: number;
  readonly wire: Buffer;
  /** Checks the server's answer: undefined when the update was applied, else why not. */
  check(answer: Uint8Array, nowSeconds: number): string | undefined;
}

export function signedUpdate(id: number, u: AddressUpdate, key: TsigKey, nowSeconds: number): SignedUpdate {
  const { wire, mac } = signRequest(updateMessage(id, u), key, nowSeconds);
  return {
    id, wire,
    check(answer, now) {
      const r = verifyResponse(answer, key, mac, now);
      if (!r.ok) return r.error;
      if (r.message.id !== id || !r.message.qr || r.message.opcode !== Opcode.UPDATE) return 'not the answer to this update';
      return r.message.rcode === Rcode.NOERROR ? undefined : `the server refused the update: ${rcodeName(r.message.rcode)}`;
    },
  };
}
