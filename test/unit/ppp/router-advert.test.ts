import fc from 'fast-check';
import t from 'tap';
import { isDeepStrictEqual } from 'node:util';
import { decodeRouterAdvertisement, encodeRouterAdvertisement, icmpv6Checksum, parseRouterSolicitation, type RouterAdvertisementInput } from '../../../firmware/ppp/router-advert.ts';

const hex = (s: string) => Uint8Array.from(s.replace(/#[^\n]*/g, '').split(/\s+/).filter(Boolean).map((b) => parseInt(b, 16)));
const ip6 = (groups: string): Uint8Array => {
  // Only for the fixed addresses below: "fe80::1" style with one "::".
  const [head = '', tail = ''] = groups.split('::');
  const hs = head ? head.split(':') : [];
  const ts = tail ? tail.split(':') : [];
  const all = [...hs, ...Array<string>(8 - hs.length - ts.length).fill('0'), ...ts].map((g) => parseInt(g, 16));
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 0xff]));
};

/** An independent checksum: plain 32-bit sum of the pseudo-header and message words, folded at the end. */
function naiveChecksum(source: Uint8Array, destination: Uint8Array, icmp: Uint8Array): number {
  const len = icmp.length;
  const bytes = [...source, ...destination, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, 0, 0, 0, 58, ...icmp];
  bytes[40 + 2] = 0;
  bytes[40 + 3] = 0;
  if (bytes.length % 2) bytes.push(0);
  let sum = 0;
  for (let i = 0; i < bytes.length; i += 2) sum += bytes[i]! * 256 + bytes[i + 1]!;
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return 0xffff - sum;
}

const FIXED: RouterAdvertisementInput = {
  source: ip6('fe80::1'),
  destination: ip6('ff02::1'),
  curHopLimit: 64,
  routerLifetime: 1800,
  prefix: { prefix: ip6('2001:db8:1:2::'), length: 64, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400 },
  mtu: 1400,
  rdnss: { lifetime: 600, servers: [ip6('2001:db8::53')] },
};

// The same Router Advertisement, byte by byte (RFC 8200 §3, RFC 4861 §4.2, §4.6.2, §4.6.4, RFC 8106 §5.1).
// Checksum 0xe5c4 was computed separately (Python: ones' complement sum over pseudo-header + message).
const FIXED_BYTES = hex(`
  60 00 00 00  00 50 3a ff                          # IPv6, Payload Length 80, Next Header 58, Hop Limit 255
  fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 01   # fe80::1
  ff 02 00 00 00 00 00 00 00 00 00 00 00 00 00 01   # ff02::1
  86 00 e5 c4  40 00 07 08  00 00 00 00  00 00 00 00  # RA, checksum, hop limit 64, M=O=0, lifetime 1800, timers 0
  03 04 40 c0  00 01 51 80  00 00 38 40  00 00 00 00  # Prefix Information /64 L A, 86400, 14400
  20 01 0d b8 00 01 00 02 00 00 00 00 00 00 00 00   # 2001:db8:1:2::
  05 01 00 00  00 00 05 78                          # MTU 1400
  19 03 00 00  00 00 02 58                          # RDNSS lifetime 600
  20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 53   # 2001:db8::53
`);

// A Router Solicitation from fe80::2 to all-routers, no options (RFC 4861 §4.1); checksum 0x7d35 computed separately.
const RS = hex(`
  60 00 00 00  00 08 3a ff
  fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 02
  ff 02 00 00 00 00 00 00 00 00 00 00 00 00 00 02
  85 00 7d 35  00 00 00 00
`);

t.test('RA: the fixed advertisement encodes to the annotated bytes, checksum 0xe5c4', async (t) => {
  const packet = encodeRouterAdvertisement(FIXED);
  t.same([...packet], [...FIXED_BYTES]);
  t.equal(icmpv6Checksum(FIXED.source, FIXED.destination, packet.subarray(40)), 0xe5c4);
  t.equal(naiveChecksum(FIXED.source, FIXED.destination, packet.subarray(40)), 0xe5c4, 'the independent sum agrees');
});

t.test('RA: decode gives back what was encoded', async (t) => {
  const d = decodeRouterAdvertisement(FIXED_BYTES);
  t.ok(d.ok);
  if (!d.ok) return;
  t.same(d.value, {
    source: FIXED.source,
    destination: FIXED.destination,
    curHopLimit: 64,
    managed: false,
    other: false,
    routerLifetime: 1800,
    reachableTime: 0,
    retransTimer: 0,
    prefixes: [FIXED.prefix],
    mtu: 1400,
    rdnss: [FIXED.rdnss],
  });
});

t.test('RA: optional parts, flags and masking of the prefix\'s host bits (§4.6.2)', async (t) => {
  const { mtu: _mtu, rdnss: _rdnss, ...withoutOptions } = FIXED;
  const bare = encodeRouterAdvertisement({ ...withoutOptions, managed: true, other: true, reachableTime: 30000, retransTimer: 1000 });
  const d = decodeRouterAdvertisement(bare);
  t.ok(d.ok && d.value.mtu === undefined && d.value.rdnss.length === 0 && d.value.managed && d.value.other);
  t.ok(d.ok && d.value.reachableTime === 30000 && d.value.retransTimer === 1000);
  const dirty = encodeRouterAdvertisement({ ...FIXED, prefix: { ...FIXED.prefix, prefix: ip6('2001:db8:1:2:ffff::1'), length: 56 } });
  const m = decodeRouterAdvertisement(dirty);
  t.same(m.ok && [...m.value.prefixes[0]!.prefix], [...ip6('2001:db8:1::')], 'bits after /56 sent as zero');
  t.throws(() => encodeRouterAdvertisement({ ...FIXED, source: new Uint8Array(4) }));
  t.throws(() => encodeRouterAdvertisement({ ...FIXED, routerLifetime: 70000 }));
  t.throws(() => encodeRouterAdvertisement({ ...FIXED, rdnss: { lifetime: 1, servers: [] } }));
});

const address = fc.uint8Array({ minLength: 16, maxLength: 16 });
const linkLocal = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((id) => Uint8Array.from([0xfe, 0x80, 0, 0, 0, 0, 0, 0, ...id]));
const u32 = fc.nat({ max: 0xffffffff });
const input = fc.record({
  source: linkLocal,
  destination: address,
  curHopLimit: fc.nat({ max: 255 }),
  routerLifetime: fc.nat({ max: 0xffff }),
  prefix: fc.record({ prefix: fc.constant(ip6('2001:db8:aa::')), length: fc.integer({ min: 48, max: 128 }), onLink: fc.boolean(), autonomous: fc.boolean(), validLifetime: u32, preferredLifetime: u32 }),
  mtu: u32,
  rdnss: fc.record({ lifetime: u32, servers: fc.array(address, { minLength: 1, maxLength: 4 }) }),
});

t.test('RA: random advertisements round-trip and their checksums match the independent sum', async (t) => {
  fc.assert(
    fc.property(input, (o) => {
      const packet = encodeRouterAdvertisement(o);
      const d = decodeRouterAdvertisement(packet);
      const stored = (packet[42]! << 8) | packet[43]!;
      const expected = { source: o.source, destination: o.destination, curHopLimit: o.curHopLimit, managed: false, other: false, routerLifetime: o.routerLifetime, reachableTime: 0, retransTimer: 0, prefixes: [{ ...o.prefix }], mtu: o.mtu, rdnss: [{ ...o.rdnss }] };
      return d.ok && stored === naiveChecksum(o.source, o.destination, packet.subarray(40)) && isDeepStrictEqual(d.value, expected);
    }),
    { numRuns: 300 },
  );
  t.pass('round trip');
});

/** Puts a correct checksum back into a packet we edited. */
function resum(b: Uint8Array): Uint8Array {
  const sum = icmpv6Checksum(b.subarray(8, 24), b.subarray(24, 40), b.subarray(40));
  b[42] = sum >> 8;
  b[43] = sum & 0xff;
  return b;
}

t.test('RA: damaged advertisements are refused with a reason', async (t) => {
  const bad = (edit: (b: Uint8Array) => Uint8Array, why: RegExp, name: string) => {
    const d = decodeRouterAdvertisement(edit(FIXED_BYTES.slice()));
    t.ok(!d.ok && why.test(d.error.message), `${name}: ${d.ok ? 'accepted' : d.error.message}`);
  };
  bad((b) => ((b[50] = b[50]! ^ 1), b), /checksum/, 'one bit flipped');
  bad((b) => ((b[7] = 64), b), /Hop Limit/, 'hop limit 64');
  bad((b) => ((b[41] = 1), b), /Code/, 'code 1');
  bad((b) => ((b[6] = 17), b), /Next Header/, 'UDP');
  bad((b) => b.subarray(0, 100), /Payload Length/, 'cut short');
  bad((b) => resum(((b[8] = 0x20), b)), /link-local/, 'global source, checksum fixed up');
  bad((b) => b.subarray(0, 39), /IPv6 packet/, 'no header');
  bad((b) => ((b[0] = 0x40), b), /version/, 'IPv4');
  t.notOk(decodeRouterAdvertisement(RS).ok, 'a solicitation is not an advertisement');
  // A zero-length option with a checksum that holds: rejected for the option, not the checksum.
  const zeroLen = FIXED_BYTES.slice();
  zeroLen[97] = 0; // the MTU option's Length
  const z = decodeRouterAdvertisement(resum(zeroLen));
  t.ok(!z.ok && /Length 0/.test(z.error.message));
});

t.test('RS: a well-formed solicitation gives its source', async (t) => {
  t.equal(icmpv6Checksum(ip6('fe80::2'), ip6('ff02::2'), RS.subarray(40)), 0x7d35);
  const r = parseRouterSolicitation(RS);
  t.same(r, { ok: true, source: ip6('fe80::2') });
  const unspecified = RS.slice();
  unspecified.fill(0, 8, 24);
  t.same(parseRouterSolicitation(resum(unspecified)), { ok: true, source: new Uint8Array(16) }, 'from :: too (§6.1.1)');
});

t.test('RS: bad solicitations are refused with a reason', async (t) => {
  const bad = (b: Uint8Array, why: RegExp, name: string) => {
    const r = parseRouterSolicitation(b);
    t.ok(!r.ok && why.test(r.reason), `${name}: ${r.ok ? 'accepted' : r.reason}`);
  };
  const edit = (at: number, value: number) => {
    const b = RS.slice();
    b[at] = value;
    return b;
  };
  bad(edit(7, 1), /Hop Limit/, 'hop limit 1');
  bad(edit(43, 0x36), /checksum/, 'checksum off by one');
  bad(edit(41, 1), /Code/, 'code 1');
  bad(edit(40, 128), /Type/, 'echo request');
  bad(RS.subarray(0, 44), /Payload Length/, 'cut short');
  bad(new Uint8Array(0), /IPv6 packet/, 'empty');
  bad(encodeRouterAdvertisement(FIXED), /Type 134/, 'an advertisement');
  const withZeroOption = Uint8Array.from([...RS, 1, 0, 0, 0, 0, 0, 0, 0]);
  withZeroOption[5] = 16;
  bad(resum(withZeroOption), /Length 0/, 'an option of Length 0 (§6.1.1)');
});

t.test('never throws on 2,000 random and 2,000 mutated packets', async (t) => {
  const seeds = [RS, FIXED_BYTES];
  const mutated = fc
    .record({
      seed: fc.constantFrom(...seeds),
      edits: fc.array(fc.tuple(fc.nat({ max: 140 }), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
      cut: fc.option(fc.nat({ max: 140 }), { nil: undefined }),
      tail: fc.uint8Array({ maxLength: 20 }),
    })
    .map(({ seed, edits, cut, tail }) => {
      const out = Uint8Array.from([...seed.subarray(0, cut ?? seed.length), ...tail]);
      for (const [at, value] of edits) if (at < out.length) out[at] = value;
      return out;
    });
  const check = (b: Uint8Array) => {
    parseRouterSolicitation(b);
    decodeRouterAdvertisement(b);
  };
  fc.assert(fc.property(fc.uint8Array({ maxLength: 160 }), check), { numRuns: 2000 });
  fc.assert(fc.property(mutated, check), { numRuns: 2000 });
  t.pass('nothing threw');
});
