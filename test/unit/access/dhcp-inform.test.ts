// DHCPINFORM over PPP (issue 20, RFC 2131 §4.3.5, RFC 3442): Windows' request read from an IPv4
// packet, the DHCPACK built with classless routes (121 and Microsoft's 249), DNS and the server
// identifier, checksums right; anything else is left alone, and no input makes the reader throw.
import fc from 'fast-check';
import t from 'tap';
import { answerDhcpInform, classlessRoutes, readDhcpInform } from '../../../firmware/access/dhcp-inform.ts';

const sum16 = (b: Uint8Array, initial = 0) => {
  let s = initial;
  for (let i = 0; i < b.length; i += 2) s += ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
};

/** A DHCPINFORM as Windows sends it over PPP: from its PPP address to 255.255.255.255, 68 → 67. */
function inform(options: number[] = [53, 1, 8, 55, 3, 121, 249, 15, 255], to = [255, 255, 255, 255]): Uint8Array {
  const dhcp = new Uint8Array(240 + options.length);
  dhcp.set([1, 1, 6, 0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0x80, 0], 0); // op BOOTREQUEST, Ethernet, xid, flags: broadcast
  dhcp.set([10, 10, 0, 7], 12); // ciaddr: the client's PPP address
  dhcp.set([0x02, 0x00, 0x4c, 0x4f, 0x4f, 0x50], 28); // chaddr
  dhcp.set([99, 130, 83, 99], 236);
  dhcp.set(options, 240);
  const packet = new Uint8Array(28 + dhcp.length);
  packet.set([0x45, 0, (packet.length >> 8) & 0xff, packet.length & 0xff, 0, 1, 0, 0, 128, 17, 0, 0, 10, 10, 0, 7, ...to], 0);
  packet.set([0, 68, 0, 67, ((8 + dhcp.length) >> 8) & 0xff, (8 + dhcp.length) & 0xff, 0, 0], 20);
  packet.set(dhcp, 28);
  return packet;
}

function options(dhcp: Uint8Array): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (let at = 240; at < dhcp.length && dhcp[at] !== 255;) {
    const code = dhcp[at]!;
    const length = dhcp[at + 1]!;
    out.set(code, [...(out.get(code) ?? []), ...dhcp.subarray(at + 2, at + 2 + length)]);
    at += 2 + length;
  }
  return out;
}

t.test('a DHCPINFORM is answered with a DHCPACK: routes in 121 and 249, DNS, server identifier, to ciaddr:68', async (t) => {
  const request = readDhcpInform(inform(), '10.2.0.1');
  t.ok(request, 'read');
  t.same([...request!.xid], [0xde, 0xad, 0xbe, 0xef]);
  const ack = answerDhcpInform(request!, { serverAddress: '10.2.0.1', routes: ['10.2.0.1/24', '192.168.50.0/23'], dns: ['10.10.0.1', '2001:db8::53'] });
  t.same([...ack.subarray(12, 20)], [10, 2, 0, 1, 10, 10, 0, 7], 'from the gateway\'s link address to the client\'s');
  t.same([ack[9], (ack[20]! << 8) | ack[21]!, (ack[22]! << 8) | ack[23]!], [17, 67, 68], 'UDP 67 → 68');
  t.equal(sum16(ack.subarray(0, 20)), 0xffff, 'IPv4 header checksum');
  const pseudo = new Uint8Array([...ack.subarray(12, 20), 0, 17, ack[24]!, ack[25]!]);
  t.equal(sum16(ack.subarray(20), sum16(pseudo)), 0xffff, 'UDP checksum over the pseudo-header');
  const dhcp = ack.subarray(28);
  t.same([dhcp[0], ...dhcp.subarray(4, 8), ...dhcp.subarray(12, 16), ...dhcp.subarray(16, 20)], [2, 0xde, 0xad, 0xbe, 0xef, 10, 10, 0, 7, 0, 0, 0, 0], 'BOOTREPLY, same xid, ciaddr kept, yiaddr 0 (§4.3.5)');
  const o = options(dhcp);
  t.same(o.get(53), [5], 'DHCPACK');
  t.same(o.get(54), [10, 2, 0, 1], 'server identifier');
  const routes = [24, 10, 2, 0, 10, 2, 0, 1, 23, 192, 168, 50, 10, 2, 0, 1];
  t.same(o.get(121), routes, 'classless static routes (RFC 3442): the LAN /24 (host bits dropped) and a /23, via the gateway');
  t.same(o.get(249), routes, "Microsoft's 249, the same");
  t.same(o.get(6), [10, 10, 0, 1], 'IPv4 DNS only');
  t.notOk(o.has(15), 'no domain unless configured');
  t.same(options(answerDhcpInform(request!, { serverAddress: '10.2.0.1', routes: [], dns: [], domain: 'corp.example' }).subarray(28)).get(15), [...Buffer.from('corp.example')], 'the domain when configured (15)');
});

t.test('what is not a DHCPINFORM to us is left alone', async (t) => {
  t.equal(readDhcpInform(inform([53, 1, 1, 255]), '10.2.0.1'), undefined, 'a DHCPDISCOVER');
  t.equal(readDhcpInform(inform(undefined, [10, 2, 0, 99]), '10.2.0.1'), undefined, 'to another DHCP server');
  t.ok(readDhcpInform(inform(undefined, [10, 2, 0, 1]), '10.2.0.1'), 'to the gateway itself: answered');
  t.equal(readDhcpInform(inform([53, 9, 8]), '10.2.0.1'), undefined, 'an option running past the message');
  t.equal(readDhcpInform(inform().subarray(0, 200), '10.2.0.1'), undefined, 'truncated');
  t.same(classlessRoutes(['10.2.0.129/25', '0.0.0.0/0', '2001:db8::/32', 'nonsense'], '10.2.0.1'), [25, 10, 2, 0, 128, 10, 2, 0, 1, 0, 10, 2, 0, 1], 'a /25 keeps 4 octets with host bits off; a default route has none; IPv6 and nonsense skipped');
});

t.test('property: random and mutated packets never make the reader throw; an answer is always well-formed', async (t) => {
  const valid = inform();
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => void readDhcpInform(bytes, '10.2.0.1')), { numRuns: 500 });
  fc.assert(fc.property(fc.array(fc.tuple(fc.nat(valid.length - 1), fc.nat(255)), { maxLength: 8 }), fc.nat(valid.length), (edits, cut) => {
    const bytes = valid.slice(0, Math.max(cut, 1));
    for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
    const request = readDhcpInform(bytes, '10.2.0.1');
    if (!request) return true;
    const ack = answerDhcpInform(request, { serverAddress: '10.2.0.1', routes: ['10.2.0.0/24'], dns: ['10.10.0.1'] });
    return sum16(ack.subarray(0, 20)) === 0xffff && ack.length === ((ack[2]! << 8) | ack[3]!);
  }), { numRuns: 500 });
  t.pass('no throw');
});

t.test("a pool's routes and domain for DHCPINFORM (config), the LAN when it names none", async (t) => {
  const { defaultConfig } = await import('../../../firmware/config/defaults.ts');
  const { validateConfig } = await import('../../../firmware/config/validate.ts');
  const { dhcpInformAnswer } = await import('../../../firmware/access/ppp-session.ts');
  const c = defaultConfig();
  c.system.lan = { ...c.system.lan, address: '10.2.0.1/24' };
  t.same(dhcpInformAnswer(c, 'clients'), { routes: ['10.2.0.1/24'], dns: c.pools[0]!.dns }, 'the LAN, no domain');
  c.pools[0] = { ...c.pools[0]!, routes: ['10.2.0.0/24', '172.20.0.0/16'], domain: 'corp.example' };
  t.ok(validateConfig(c).ok, JSON.stringify(validateConfig(c)));
  t.same(dhcpInformAnswer(c, 'clients'), { routes: ['10.2.0.0/24', '172.20.0.0/16'], dns: c.pools[0]!.dns, domain: 'corp.example' });
  c.pools[0] = { ...c.pools[0]!, routes: ['10.2.0.0/33'] };
  const refused = validateConfig(c);
  t.ok(!refused.ok && refused.errors.some((e) => e.path.startsWith('pools[0].routes')), 'a bad route is refused at its field');
});
