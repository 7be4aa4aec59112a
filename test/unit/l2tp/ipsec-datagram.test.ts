// L2TP datagrams that come up from an IPsec transport SA tagged with it (issue 20): the rebuilt IPv4
// datagram decoded (vectors, fast-check: built ones round trip, random and mutated ones never
// throw), peers keyed `address:port@sa`, and two clients behind one NAT (both NAT:1701 with the same
// Assigned Tunnel ID) kept apart by the table with each answer going back through its own SA, and
// when one laptop's path loses its SA, only its tunnel closed.
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { ipv6Bytes } from '../../../firmware/ike/payloads/identity.ts';
import { L2tpTunnel, type TunnelAction } from '../../../firmware/l2tp/control-connection.ts';
import { decodeIpsecDatagram, formatL2tpPeer, parseL2tpPeer, tunnelsOnPath } from '../../../firmware/l2tp/ipsec-datagram.ts';
import { L2tpTunnelTable, type TableAction } from '../../../firmware/l2tp/tunnel-table.ts';

/** What the driver hands up (drivers/lib/transport.c): IPv4 header, UDP header, payload. */
function datagram(source: number[], sourcePort: number, destinationPort: number, payload: Uint8Array, mutate: { flags?: number; udpLength?: number; protocol?: number } = {}): Uint8Array {
  const b = new Uint8Array(28 + payload.length);
  const v = new DataView(b.buffer);
  b[0] = 0x45;
  v.setUint16(2, b.length);
  v.setUint16(6, mutate.flags ?? 0);
  b[8] = 64;
  b[9] = mutate.protocol ?? 17;
  b.set(source, 12);
  b.set([203, 0, 113, 1], 16);
  v.setUint16(20, sourcePort);
  v.setUint16(22, destinationPort);
  v.setUint16(24, mutate.udpLength ?? 8 + payload.length);
  b.set(payload, 28);
  return b;
}

/** The same over IPv6 (issue 24): the fixed 40-byte header, then UDP (the driver refuses extension headers). */
function datagram6(source: number[], sourcePort: number, destinationPort: number, payload: Uint8Array, mutate: { payloadLength?: number; udpLength?: number; next?: number } = {}): Uint8Array {
  const b = new Uint8Array(48 + payload.length);
  const v = new DataView(b.buffer);
  b[0] = 0x60;
  v.setUint16(4, mutate.payloadLength ?? 8 + payload.length);
  b[6] = mutate.next ?? 17;
  b[7] = 64;
  b.set(source, 8);
  b.set([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 24);
  v.setUint16(40, sourcePort);
  v.setUint16(42, destinationPort);
  v.setUint16(44, mutate.udpLength ?? 8 + payload.length);
  b.set(payload, 48);
  return b;
}

const V6_PEER = [0x20, 0x01, 0x0d, 0xb8, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

t.test('issue 24: the rebuilt IPv6 datagram: its source in RFC 5952 text, ports and payload; a bad one refused', async (t) => {
  const l2tp = Uint8Array.of(0xc8, 0x02, 0x00, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0);
  const d = decodeIpsecDatagram(datagram6(V6_PEER, 1701, 1701, l2tp));
  t.same(d && { ...d, payload: [...d.payload] }, { source: '2001:db8:20::2', sourcePort: 1701, destinationPort: 1701, payload: [...l2tp] });
  t.equal(decodeIpsecDatagram(datagram6(V6_PEER, 1701, 1701, l2tp, { next: 6 })), undefined, 'not UDP');
  t.equal(decodeIpsecDatagram(datagram6(V6_PEER, 1701, 1701, l2tp, { next: 44 })), undefined, 'an extension header (a fragment) first');
  t.equal(decodeIpsecDatagram(datagram6(V6_PEER, 1701, 1701, l2tp, { udpLength: 9 })), undefined, 'a UDP length that disagrees');
  t.equal(decodeIpsecDatagram(datagram6(V6_PEER, 1701, 1701, l2tp, { payloadLength: 21 })), undefined, 'a payload length that disagrees');
  t.equal(decodeIpsecDatagram(datagram6(V6_PEER, 1701, 1701, l2tp).subarray(0, 47)), undefined, 'shorter than its headers');
});

t.test('the rebuilt datagram: source, ports and payload; anything else refused', async (t) => {
  const l2tp = Uint8Array.of(0xc8, 0x02, 0x00, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0);
  const d = decodeIpsecDatagram(datagram([198, 51, 100, 7], 1701, 1701, l2tp));
  t.same(d && { ...d, payload: [...d.payload] }, { source: '198.51.100.7', sourcePort: 1701, destinationPort: 1701, payload: [...l2tp] });
  t.equal(decodeIpsecDatagram(datagram([198, 51, 100, 7], 1701, 1701, l2tp, { protocol: 6 })), undefined, 'not UDP');
  t.equal(decodeIpsecDatagram(datagram([198, 51, 100, 7], 1701, 1701, l2tp, { flags: 0x2000 })), undefined, 'a fragment');
  t.equal(decodeIpsecDatagram(datagram([198, 51, 100, 7], 1701, 1701, l2tp, { udpLength: 9 })), undefined, 'a UDP length that disagrees');
  t.equal(decodeIpsecDatagram(datagram([198, 51, 100, 7], 1701, 1701, l2tp).subarray(0, 30)), undefined, 'cut short (IP total length disagrees)');
  t.equal(decodeIpsecDatagram(new Uint8Array(10)), undefined, 'too short');
  const offset = new Uint8Array(40);
  offset.set(datagram([10, 0, 0, 2], 1702, 1701, Uint8Array.of(1, 2)), 3);
  t.equal(decodeIpsecDatagram(offset.subarray(3, 33))?.sourcePort, 1702, 'read at its byteOffset');
});

t.test('property: built datagrams round trip (IPv4 and IPv6); random and mutated bytes never throw', async (t) => {
  const octet = fc.integer({ min: 0, max: 255 });
  const port = fc.integer({ min: 0, max: 0xffff });
  fc.assert(fc.property(fc.tuple(octet, octet, octet, octet), port, port, fc.uint8Array({ maxLength: 200 }), (source, sp, dp, payload) => {
    const d = decodeIpsecDatagram(datagram(source, sp, dp, payload));
    return d !== undefined && d.source === source.join('.') && d.sourcePort === sp && d.destinationPort === dp && Buffer.compare(d.payload, payload) === 0;
  }));
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), port, port, fc.uint8Array({ maxLength: 200 }), (source, sp, dp, payload) => {
    const d = decodeIpsecDatagram(datagram6([...source], sp, dp, payload));
    return d !== undefined && Buffer.compare(ipv6Bytes(d.source), source) === 0 &&
      d.sourcePort === sp && d.destinationPort === dp && Buffer.compare(d.payload, payload) === 0;
  }));
  let decoded = 0;
  fc.assert(fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => void decodeIpsecDatagram(bytes)));
  fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 60 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (payload, at, value) => {
    const b = datagram6(V6_PEER, 1701, 1701, payload);
    b[at % b.length] = value;
    if (decodeIpsecDatagram(b)) decoded++;
  }));
  t.ok(decoded > 0, `mutated IPv6 datagrams: ${decoded} of 100 still decode (a mutated address or payload byte), none threw`);
  fc.assert(fc.property(fc.uint8Array({ minLength: 1, maxLength: 60 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (payload, at, value) => {
    const b = datagram([192, 0, 2, 9], 1701, 1701, payload);
    b[at % b.length] = value;
    void decodeIpsecDatagram(b);
  }));
});

t.test('peers: address:port, with @sa when they came inside IPsec', async (t) => {
  t.equal(formatL2tpPeer({ address: '198.51.100.7', port: 1701, via: 12 }), '198.51.100.7:1701@12');
  t.same(parseL2tpPeer('198.51.100.7:1701@12'), { address: '198.51.100.7', port: 1701, via: 12 });
  t.same(parseL2tpPeer('192.0.2.1:4000'), { address: '192.0.2.1', port: 4000 }, 'plain L2TP has no SA');
  t.equal(formatL2tpPeer({ address: '2001:db8:20::2', port: 1701, via: 3 }), '[2001:db8:20::2]:1701@3', 'issue 24: an IPv6 address bracketed');
  t.same(parseL2tpPeer('[2001:db8:20::2]:1701@3'), { address: '2001:db8:20::2', port: 1701, via: 3 });
  for (const bad of ['', '192.0.2.1', '192.0.2.1:70000', '192.0.2.1:1701@', '192.0.2.1:1701@99999999999', 'x:1', '2001:db8::2:1701', '[2001:db8::zz]:1701', '[192.0.2.1]:1701', '[]:1701'])
    t.equal(parseL2tpPeer(bad), undefined, `refused: '${bad}'`);
  fc.assert(fc.property(fc.ipV4(), fc.integer({ min: 0, max: 0xffff }), fc.option(fc.integer({ min: 0, max: 0xffff_ffff }), { nil: undefined }), (address, port, via) => {
    const p = via === undefined ? { address, port } : { address, port, via };
    t.same(parseL2tpPeer(formatL2tpPeer(p)), p);
    return true;
  }), { numRuns: 200 });
  fc.assert(fc.property(fc.ipV6(), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff_ffff }), (address, port, via) => {
    const p = parseL2tpPeer(formatL2tpPeer({ address, port, via }));
    return p !== undefined && Buffer.compare(ipv6Bytes(p.address), ipv6Bytes(address)) === 0 && p.port === port && p.via === via;
  }), { numRuns: 200 });
  fc.assert(fc.property(fc.string({ maxLength: 60 }), (text) => void parseL2tpPeer(`[${text}]:1701@1`)));
});

t.test('two clients behind one NAT: both NAT:1701 with the same Assigned Tunnel ID, each its own tunnel and session, answers through its own SA', async (t) => {
  const random = (n: number) => new Uint8Array(randomBytes(n));
  const table = new L2tpTunnelTable({ hostName: 'postern', random });
  const nat = '198.51.100.7';
  // Windows and xl2tpd both pick small Tunnel IDs: the same one from both laptops.
  const laptops = [1, 2].map((sa) => ({ sa, peer: formatL2tpPeer({ address: nat, port: 1701, via: sa }), lac: new L2tpTunnel({ role: 'lac', hostName: `laptop${sa}`, localTunnelId: 1, random }), events: [] as TunnelAction[] }));
  const events: TableAction[] = [];
  let now = 0;
  const toLns: { peer: string; bytes: Uint8Array }[] = [];
  const lacSends = (l: (typeof laptops)[number], actions: TunnelAction[]) => {
    for (const a of actions) if (a.kind === 'Send') toLns.push({ peer: l.peer, bytes: a.datagram });
    else l.events.push(a);
  };
  const pump = () => {
    for (let i = 0; i < 200 && toLns.length > 0; i++) {
      const p = toLns.shift()!;
      for (const a of table.handle({ kind: 'RcvDatagram', peer: p.peer, bytes: p.bytes }, now)) {
        if (a.kind !== 'Send') { events.push(a); continue; }
        // The shell sends back the way the peer came: the SA named in the peer.
        const via = parseL2tpPeer(a.peer)?.via;
        const l = laptops.find((x) => x.sa === via)!;
        lacSends(l, l.lac.handle({ kind: 'RcvDatagram', bytes: a.datagram }, now));
      }
      now += 5;
    }
  };
  for (const l of laptops) lacSends(l, l.lac.handle({ kind: 'CmdOpen' }, now));
  pump();
  for (const l of laptops) lacSends(l, l.lac.handle({ kind: 'CmdOpenSession', localSessionId: 1, callSerialNumber: 1 }, now));
  pump();
  const ups = events.filter((e): e is Extract<TableAction, { kind: 'TunnelUp' }> => e.kind === 'TunnelUp');
  t.same(ups.map((e) => e.peer).sort(), [`${nat}:1701@1`, `${nat}:1701@2`], 'two tunnels, one per SA');
  t.not(ups[0]!.tunnelId, ups[1]!.tunnelId, 'with their own Tunnel IDs');
  const sessions = events.filter((e): e is Extract<TableAction, { kind: 'SessionUp' }> => e.kind === 'SessionUp');
  t.equal(sessions.length, 2, 'a session in each');
  t.ok(laptops.every((l) => l.lac.state === 'established' && l.events.some((e) => e.kind === 'SessionUp')), 'both laptops have their tunnel and session');
  for (const s of sessions) t.equal(parseL2tpPeer(table.encapsulate(s.tunnelId, s.sessionId, Uint8Array.of(0xff, 0x03, 0x00, 0x21))!.peer)?.via, parseL2tpPeer(s.peer)?.via, 'PPP frames leave through the session\'s own SA');

  // Laptop 1 vanishes: DPD ends its SA, its path goes, and only its tunnel closes, its session at once.
  const gone = tunnelsOnPath(table.tunnels(), 1);
  t.same(gone, ups.filter((u) => u.peer.endsWith('@1')).map((u) => u.tunnelId), 'the tunnels of the path gone, not the other laptop\'s');
  const closed = table.handle({ kind: 'CmdCloseTunnel', tunnelId: gone[0]!, resultCode: { result: 2, error: 0, message: 'IPsec SA gone' } }, now);
  t.same(closed.filter((a) => a.kind === 'SessionDown').map((a) => a.kind === 'SessionDown' && a.tunnelId), [gone[0]], 'its session ends now (its address goes back to the pool)');
  t.same(tunnelsOnPath(table.tunnels(), 1), [], 'a closing tunnel is not closed twice');
  t.equal(tunnelsOnPath(table.tunnels(), 2).length, 1, 'the other laptop\'s tunnel stays');
  t.same(tunnelsOnPath(table.tunnels(), 3), [], 'a path with no tunnel: nothing');
});
