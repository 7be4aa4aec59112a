// Framed-IPv6-Prefix and Framed-Interface-Id (RFC 3162 §2.2, §2.3; issue 21): the decoder takes a full
// or trimmed prefix, refuses one with bits set past its length, a length over 128 or too few octets,
// never throws (fuzzed, counted); an Access-Accept's one prefix becomes the session's, several are
// refused; accounting records carry the session's /64 and its interface identifier.
import fc from 'fast-check';
import t from 'tap';
import { Attr, findAttr, integerAttr } from '../../../firmware/radius/attributes.ts';
import { accountingAttributes } from '../../../firmware/radius/accounting.ts';
import { decodeFramedIpv6Prefix, framedInterfaceIdAttr, framedIpv6PrefixAttr } from '../../../firmware/radius/framed-ipv6-prefix.ts';
import { sessionAuthorizationOf } from '../../../firmware/radius/session-authorization.ts';

const value = (...bytes: number[]) => Uint8Array.from(bytes);
const DB8_5 = [0x20, 0x01, 0x0d, 0xb8, 0, 5, 0, 0];

t.test('decoding: full and trimmed prefixes, and what is refused', async (t) => {
  t.same(decodeFramedIpv6Prefix(value(0, 64, ...DB8_5, 0, 0, 0, 0, 0, 0, 0, 0)), { prefix: '2001:db8:5::/64', length: 64 }, 'sixteen octets');
  t.same(decodeFramedIpv6Prefix(value(0, 64, ...DB8_5)), { prefix: '2001:db8:5::/64', length: 64 }, 'only the octets the length covers (FreeRADIUS\'s form)');
  t.same(decodeFramedIpv6Prefix(value(0, 48, 0x20, 0x01, 0x0d, 0xb8, 0, 5)), { prefix: '2001:db8:5::/48', length: 48 }, 'other lengths decode (the session refuses them)');
  t.same(decodeFramedIpv6Prefix(value(0, 0)), { prefix: '::/0', length: 0 });
  t.match(decodeFramedIpv6Prefix(value(0, 64, ...DB8_5, 0, 0, 0, 0, 0, 0, 0, 1)), { refused: /bits set past its length/ }, 'RFC 3162 §2.3: bits past the length are zero');
  t.match(decodeFramedIpv6Prefix(value(0, 129, ...DB8_5)), { refused: /length 129/ });
  t.match(decodeFramedIpv6Prefix(value(0, 64, 0x20, 0x01)), { refused: /\/64 in 2 octets/ });
  t.match(decodeFramedIpv6Prefix(value(0)), { refused: /1 value octets/ });
  t.match(decodeFramedIpv6Prefix(new Uint8Array(19)), { refused: /19 value octets/ });
});

t.test('encoding for accounting: the prefix in full, the identifier as 8 octets', async (t) => {
  t.same([...framedIpv6PrefixAttr('2001:db8:5::/64').value], [0, 64, ...DB8_5, 0, 0, 0, 0, 0, 0, 0, 0]);
  t.equal(framedIpv6PrefixAttr('2001:db8:5::/64').type, 97);
  t.same(decodeFramedIpv6Prefix(framedIpv6PrefixAttr('fd00:10:0:7::/64').value), { prefix: 'fd00:10:0:7::/64', length: 64 }, 'round trip');
  t.same(framedInterfaceIdAttr('fd00:10:0:7::7'), { type: 96, value: value(0, 0, 0, 0, 0, 0, 0, 7) });
  t.throws(() => framedIpv6PrefixAttr('10.0.0.0/8'), RangeError);
  t.throws(() => framedInterfaceIdAttr('10.0.0.1'), RangeError);
  const record = accountingAttributes({ status: 'Start', nas: { identifier: 'gw' }, sessionId: 'a-1', framedIpAddress: '10.10.0.7', framedIpv6Prefix: 'fd00:10:0:7::/64', framedIpv6Address: 'fd00:10:0:7::7' });
  t.same([...findAttr(record, Attr.FramedIpv6Prefix)!.value], [...framedIpv6PrefixAttr('fd00:10:0:7::/64').value], 'Framed-IPv6-Prefix in the record');
  t.same([...findAttr(record, Attr.FramedInterfaceId)!.value], [0, 0, 0, 0, 0, 0, 0, 7], 'Framed-Interface-Id too');
  t.equal(findAttr(accountingAttributes({ status: 'Start', nas: { identifier: 'gw' }, sessionId: 'a-2', framedIpAddress: '10.10.0.8' }), Attr.FramedIpv6Prefix), undefined, 'none for a session without a /64');
});

t.test('the Access-Accept: one prefix is the session\'s, several or an unreadable one refused', async (t) => {
  const prefix = (bytes: number[]) => ({ type: Attr.FramedIpv6Prefix, value: Uint8Array.from(bytes) });
  t.same(sessionAuthorizationOf([prefix([0, 64, ...DB8_5]), integerAttr(Attr.SessionTimeout, 60)]), { framedIpv6Prefix: '2001:db8:5::/64', sessionTimeoutSeconds: 60, class: [] });
  t.match(sessionAuthorizationOf([prefix([0, 64, ...DB8_5]), prefix([0, 64, 0x20, 1, 0xd, 0xb8, 0, 6, 0, 0])]), { refusedIpv6Prefix: /2 Framed-IPv6-Prefix attributes/ });
  t.match(sessionAuthorizationOf([prefix([0, 200])]), { refusedIpv6Prefix: /length 200/ });
  t.equal(sessionAuthorizationOf([]).framedIpv6Prefix, undefined);
});

t.test('the decoder never throws on any value (fuzzed, counted)', async (t) => {
  let decoded = 0;
  let refused = 0;
  fc.assert(fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
    const r = decodeFramedIpv6Prefix(bytes);
    if ('prefix' in r) {
      decoded++;
      // What decodes encodes back to itself.
      const again = decodeFramedIpv6Prefix(framedIpv6PrefixAttr(r.prefix).value);
      return 'prefix' in again && again.prefix === r.prefix;
    }
    refused++;
    return r.refused.length > 0;
  }), { numRuns: 3000 });
  // Lengths biased to what the attribute carries, so the accepting path is exercised too.
  fc.assert(fc.property(fc.integer({ min: 0, max: 130 }), fc.uint8Array({ maxLength: 16 }), (length, prefix) => {
    const r = decodeFramedIpv6Prefix(Uint8Array.from([0, length, ...prefix]));
    if ('prefix' in r) decoded++;
    else refused++;
    return true;
  }), { numRuns: 3000 });
  t.equal(decoded + refused, 6000, `6000 values, ${decoded} decoded and ${refused} refused`);
  t.ok(decoded > 0 && refused > 0, 'both paths taken');
});
