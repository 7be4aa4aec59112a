// What an Access-Accept says about a session (issue 21): Framed-IP-Address (the NAS's choice kept
// as the pool's), Session-Timeout, Idle-Timeout, Class in order, Acct-Interim-Interval with the
// RFC 2869 §5.16 floor; malformed values ignored, never thrown. Accounting echoes Class in every
// record and sends Interim-Updates with octets, packets and Gigawords until Stop.
import fc from 'fast-check';
import t from 'tap';
import { allAttrs, Attr, integerAttr, integerOf, ipv4Attr, octetsAttr, textAttr } from '../../../firmware/radius/attributes.ts';
import type { RadiusResult } from '../../../firmware/radius/client-engine.ts';
import type { RadiusAttribute } from '../../../firmware/radius/packet.ts';
import { encodeVendorAttribute } from '../../../firmware/radius/vendor-specific.ts';
import { interimSecondsOf, sessionAuthorizationOf } from '../../../firmware/radius/session-authorization.ts';
import { SessionAccounting } from '../../../firmware/radius/session-accounting.ts';

t.test('the reply attributes a session is built from', async (t) => {
  const a = sessionAuthorizationOf([
    ipv4Attr(Attr.FramedIpAddress, '10.10.0.77'),
    integerAttr(Attr.SessionTimeout, 10),
    integerAttr(Attr.IdleTimeout, 300),
    octetsAttr(Attr.Class, Uint8Array.of(1, 2, 3)),
    octetsAttr(Attr.Class, Uint8Array.of(9)),
    integerAttr(Attr.AcctInterimInterval, 600),
    textAttr(Attr.ReplyMessage, 'hello'),
  ]);
  t.same(a, { framedIpAddress: '10.10.0.77', sessionTimeoutSeconds: 10, idleTimeoutSeconds: 300, class: [Uint8Array.of(1, 2, 3), Uint8Array.of(9)], interimSeconds: 600, replyMessage: 'hello' });
  t.same(sessionAuthorizationOf([ipv4Attr(Attr.FramedIpAddress, '255.255.255.254')]), { class: [] }, 'NAS chooses: the pool as usual');
  t.same(sessionAuthorizationOf([ipv4Attr(Attr.FramedIpAddress, '255.255.255.255')]), { class: [] }, 'user chooses: the pool too');
  t.same(sessionAuthorizationOf([integerAttr(Attr.SessionTimeout, 0), { type: Attr.IdleTimeout, value: Uint8Array.of(1, 2) }, { type: Attr.FramedIpAddress, value: Uint8Array.of(10, 0) }]), { class: [] }, 'zero and wrong-size values ignored');
});

t.test('Framed-Pool and the Microsoft DNS servers (primary first)', async (t) => {
  const ms = (type: number, v: number[]) => encodeVendorAttribute(311, type, Uint8Array.from(v));
  t.same(sessionAuthorizationOf([ms(29, [10, 0, 0, 2]), textAttr(Attr.FramedPool, 'staff'), ms(28, [10, 0, 0, 1])]), { framedPool: 'staff', dnsServers: ['10.0.0.1', '10.0.0.2'], class: [] });
  t.same(sessionAuthorizationOf([ms(28, [0, 0, 0, 0]), ms(29, [10, 0, 2]), textAttr(Attr.FramedPool, ' ')]), { class: [] }, 'an unset or short address and a blank pool ignored');
  t.same(sessionAuthorizationOf([encodeVendorAttribute(9, 28, Uint8Array.of(10, 0, 0, 1))]), { class: [] }, 'another vendor\'s 28 is not a DNS server');
});

t.test('Framed-Route (RFC 2865 §5.22): networks behind the user, in either notation; wide or unreadable ones left out', async (t) => {
  const a = sessionAuthorizationOf([
    textAttr(Attr.FramedRoute, '192.168.50.0/24 0.0.0.0 1'),
    textAttr(Attr.FramedRoute, '172.16.8.0 255.255.252.0 0.0.0.0 1'),
    textAttr(Attr.FramedRoute, '10.99.1.7/16 10.10.0.5 1 2 -1 3 400'),
    textAttr(Attr.FramedRoute, '192.168.50.0/24 0.0.0.0 5'),
    textAttr(Attr.FramedRoute, '0.0.0.0/0 0.0.0.0 1'),
    textAttr(Attr.FramedRoute, 'garbage'),
    textAttr(Attr.FramedRoute, '10.0.0.0 255.0.255.0 0.0.0.0'),
  ]);
  t.same(a.framedRoutes, ['192.168.50.0/24', '172.16.8.0/22', '10.99.0.0/16'], 'prefix/length or a dotted mask; host bits cleared; the gateway and metrics ignored; duplicates once');
  t.equal(a.refusedRoutes?.length, 3, `a default route, garbage and a non-contiguous mask are left out: ${JSON.stringify(a.refusedRoutes)}`);
  t.match(a.refusedRoutes, [/wider than a \/8/, /not an IPv4 route/, /not an IPv4 route/]);
  t.equal(sessionAuthorizationOf([]).framedRoutes, undefined, 'none without the attribute');
});

t.test('the interim interval: the server\'s, not below the floor, else the configured one', async (t) => {
  t.equal(interimSecondsOf(undefined, undefined), undefined, 'off by default');
  t.equal(interimSecondsOf(undefined, 300), 300);
  t.equal(interimSecondsOf(600, 300), 600, 'the server wins');
  t.equal(interimSecondsOf(10, 300), 60, 'RFC 2869 §5.16: not below 60 s');
  t.equal(interimSecondsOf(2, undefined, 1), 2, 'a test floor');
});

t.test('decoding any attribute list never throws', async () => {
  const attr = fc.record({ type: fc.integer({ min: 0, max: 255 }), value: fc.uint8Array({ maxLength: 20 }) });
  fc.assert(fc.property(fc.array(attr, { maxLength: 30 }), (attrs) => {
    const a = sessionAuthorizationOf(attrs);
    return Array.isArray(a.class) && (a.sessionTimeoutSeconds === undefined || a.sessionTimeoutSeconds > 0);
  }));
});

t.test('Class echoed in every record; Interim-Updates with packets until Stop', async (t) => {
  const sent: RadiusAttribute[][] = [];
  const client = { account: async (a: readonly RadiusAttribute[]) => { sent.push([...a]); return { outcome: 'accounting-response', server: 's', packet: { code: 5, identifier: 0, authenticator: new Uint8Array(16), attributes: [] }, microsoft: { malformed: 0 } } as RadiusResult; } };
  const acct = new SessionAccounting({ client, nas: { identifier: 'gw' }, runId: 'ab', interimMinimumSeconds: 0.05 });
  let bytesIn = 0;
  const klass = [Uint8Array.of(0xc1, 0xa5)];
  const live = () => ({ id: 1, user: 'alice', ipv4: '10.10.0.5', peer: '192.0.2.10', since: Date.now(), bytesIn, bytesOut: 7, packetsIn: bytesIn / 100, packetsOut: 1, class: klass, interimSeconds: 0.05 });
  await acct.start(live(), live);
  t.equal(acct.interimSessions, 1);
  bytesIn = 4_294_967_300;
  await new Promise((resolve) => setTimeout(resolve, 180));
  await acct.stop(live(), 'session timeout (RADIUS Session-Timeout 10 s)');
  t.equal(acct.interimSessions, 0, 'the timer ends with the session');
  const statuses = sent.map((a) => integerOf(a, Attr.AcctStatusType));
  t.equal(statuses[0], 1, 'Start first');
  t.equal(statuses.at(-1), 2, 'Stop last');
  const interims = sent.filter((a) => integerOf(a, Attr.AcctStatusType) === 3);
  t.ok(interims.length >= 1, `${interims.length} Interim-Updates`);
  t.equal(integerOf(interims[0]!, Attr.AcctInputGigawords), 1, 'Gigawords past 4 GiB');
  t.equal(integerOf(interims[0]!, Attr.AcctInputOctets), 4);
  t.equal(integerOf(interims[0]!, Attr.AcctInputPackets), 42949673);
  for (const record of sent) t.same(allAttrs(record, Attr.Class).map((a) => [...a.value]), [[0xc1, 0xa5]], 'Class echoed');
  t.equal(integerOf(sent.at(-1)!, Attr.AcctTerminateCause), 5, 'Session-Timeout');
  const count = sent.length;
  await new Promise((resolve) => setTimeout(resolve, 120));
  t.equal(sent.length, count, 'nothing after Stop');
});
