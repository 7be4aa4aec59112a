// RFC 5176 dynamic authorization, the NAS side (das-engine.ts), against requests built from the
// codec as a DAC builds them: Disconnect by Acct-Session-Id, User-Name (every session of the user),
// Framed-IP-Address, Framed-IPv6-Prefix and Framed-IPv6-Address; CoA changing Session-Timeout,
// Idle-Timeout and Acct-Interim-Interval (all or nothing: 401 when one session cannot take a change,
// or for an attribute applied at login only); each NAK's Error-Cause; the Request
// Authenticator and Message-Authenticator checks (§3.5), Event-Timestamp freshness, duplicates
// answered from the cache without acting twice, unknown clients dropped; answers signed as the RFC
// says (checked with the client's own response check). Fuzzed: no input throws.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import t, { type Test } from 'tap';
import { Attr, integerAttr, integerOf, ipv4Attr, octetsAttr, textAttr } from '../../../firmware/radius/attributes.ts';
import { checkResponse, signRequest } from '../../../firmware/radius/authenticators.ts';
import { DasEngine, ErrorCause, type DasAction, type DasSession } from '../../../firmware/radius/das-engine.ts';
import { Code, decodeRadiusPacket, encodeRadiusPacket, type RadiusAttribute } from '../../../firmware/radius/packet.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { parseIp } from '../../../firmware/util/ip.ts';

const secret = (s: string) => new Secret<Uint8Array>(Buffer.from(s));
const KEY = 'das-shared-secret';
const NOW = 1_800_000_000_000;
const PPP = ['sessionTimeoutSeconds', 'idleTimeoutSeconds', 'interimSeconds'] as const;
const sessions: DasSession[] = [
  { id: 'sstp-1', acctSessionId: 'ab12-1', user: 'alice', framedIp: '10.10.0.1', framedIpv6Prefix: '2001:db8:5::/64', framedIpv6Address: '2001:db8:5::a:1', peer: '192.0.2.10', changeable: PPP },
  // Written in a non-canonical form: matched after normalising (RFC 5952).
  { id: 'l2tp-4', acctSessionId: 'cd34-4', user: 'alice', framedIp: '10.10.0.2', framedIpv6Prefix: '2001:0db8:0006:0000::/64', peer: '192.0.2.11', changeable: PPP },
  { id: 'ikev2-00000000000000aa', acctSessionId: 'ef56-1', user: 'bob', framedIp: '10.10.0.3', peer: '192.0.2.12' },
];
const engine = () => new DasEngine({ clients: [{ name: 'hq', address: '10.9.1.1', secret: secret(KEY) }], nasIdentifier: 'branch1', nasAddresses: () => ['10.9.1.2'], sessions: () => sessions });
/** A request as a DAC signs it: Message-Authenticator first (or none), Request Authenticator computed (RFC 5176 §3.5). */
function request(code: number, attributes: RadiusAttribute[], options: { key?: string; identifier?: number; messageAuthenticator?: boolean } = {}): Uint8Array {
  const key = secret(options.key ?? KEY);
  if (options.messageAuthenticator !== false) return signRequest({ code, identifier: options.identifier ?? 7, attributes }, key, new Uint8Array(16));
  const bytes = encodeRadiusPacket({ code, identifier: options.identifier ?? 7, authenticator: new Uint8Array(16), attributes });
  bytes.set(createHash('md5').update(bytes).update(key.reveal()).digest(), 4);
  return bytes;
}
const fromHq = (bytes: Uint8Array) => ({ type: 'RcvDatagram' as const, address: '10.9.1.1', port: 40000, bytes });
const sent = (actions: DasAction[]) => actions.filter((a): a is Extract<DasAction, { type: 'Send' }> => a.type === 'Send');
/** The answer, checked as the DAC checks it; its code and Error-Cause. */
function answer(t: Test, req: Uint8Array, actions: DasAction[]): { code: number; errorCause: number | undefined; attributes: readonly RadiusAttribute[] } {
  const [send] = sent(actions);
  if (!send) throw new Error('no answer');
  t.equal(checkResponse(send.bytes, req.subarray(4, 20), secret(KEY)), 'ok', 'Response Authenticator and Message-Authenticator right');
  const d = decodeRadiusPacket(send.bytes);
  if (!d.ok) throw new Error(d.error.message);
  t.equal(d.value.identifier, req[1], 'same Identifier');
  return { code: d.value.code, errorCause: integerOf(d.value.attributes, Attr.ErrorCause), attributes: d.value.attributes };
}
const acted = (actions: DasAction[]) => actions.filter((a) => a.type === 'Disconnect' || a.type === 'Change');
/** Framed-IPv6-Prefix as servers send it (RFC 3162 §2.3): reserved, length, the prefix's octets. */
const v6Prefix = (address: string, length: number, octets = 16) => octetsAttr(Attr.FramedIpv6Prefix, Uint8Array.from([0, length, ...ipv6Bytes(address).subarray(0, octets)]));
const ipv6Bytes = (address: string) => parseIp(address)!.bytes;

t.test('Disconnect-Request by Acct-Session-Id, User-Name, Framed-IP-Address: ACK, the matching sessions ended', async (t) => {
  const e = engine();
  let req = request(Code.DisconnectRequest, [textAttr(Attr.AcctSessionId, 'ab12-1')]);
  let actions = e.handle(fromHq(req), NOW);
  t.equal(answer(t, req, actions).code, Code.DisconnectAck);
  t.same(acted(actions), [{ type: 'Disconnect', sessions: ['sstp-1'], client: 'hq' }]);
  req = request(Code.DisconnectRequest, [textAttr(Attr.UserName, 'alice')], { identifier: 8 });
  actions = e.handle(fromHq(req), NOW);
  t.equal(answer(t, req, actions).code, Code.DisconnectAck);
  t.same(acted(actions), [{ type: 'Disconnect', sessions: ['sstp-1', 'l2tp-4'], client: 'hq' }], 'every session of the user (any protocol)');
  req = request(Code.DisconnectRequest, [ipv4Attr(Attr.FramedIpAddress, '10.10.0.3'), textAttr(Attr.NasIdentifier, 'branch1'), ipv4Attr(Attr.NasIpAddress, '10.9.1.2')], { identifier: 9, messageAuthenticator: false });
  actions = e.handle(fromHq(req), NOW);
  t.equal(answer(t, req, actions).code, Code.DisconnectAck, 'without Message-Authenticator too; NAS identification ours');
  t.same(acted(actions), [{ type: 'Disconnect', sessions: ['ikev2-00000000000000aa'], client: 'hq' }]);
  req = request(Code.DisconnectRequest, [textAttr(Attr.UserName, 'alice'), ipv4Attr(Attr.FramedIpAddress, '10.10.0.2')], { identifier: 10 });
  t.same(acted(e.handle(fromHq(req), NOW)), [{ type: 'Disconnect', sessions: ['l2tp-4'], client: 'hq' }], 'all attributes present must match');
  t.match(e.counters(), { disconnectRequests: 4, disconnectAcks: 4, disconnectNaks: 0 });
});

t.test('NAKs with the Error-Cause RFC 5176 §3.6 names, nothing acted on', async (t) => {
  const cases: Array<[string, number, RadiusAttribute[], number, number]> = [
    ['no such session', Code.DisconnectRequest, [textAttr(Attr.AcctSessionId, 'nope-9')], Code.DisconnectNak, ErrorCause.SessionContextNotFound],
    ['no identification at all', Code.DisconnectRequest, [textAttr(Attr.NasIdentifier, 'branch1')], Code.DisconnectNak, ErrorCause.MissingAttribute],
    ['another NAS-Identifier', Code.DisconnectRequest, [textAttr(Attr.UserName, 'alice'), textAttr(Attr.NasIdentifier, 'branch2')], Code.DisconnectNak, ErrorCause.NasIdentificationMismatch],
    ['another NAS-IP-Address', Code.DisconnectRequest, [textAttr(Attr.UserName, 'alice'), ipv4Attr(Attr.NasIpAddress, '10.9.9.9')], Code.DisconnectNak, ErrorCause.NasIdentificationMismatch],
    ['an authorization change in a Disconnect', Code.DisconnectRequest, [textAttr(Attr.UserName, 'alice'), integerAttr(Attr.SessionTimeout, 5)], Code.DisconnectNak, ErrorCause.UnsupportedAttribute],
    ['a Filter-Id this NAS does not apply', Code.CoaRequest, [textAttr(Attr.UserName, 'alice'), textAttr(Attr.FilterId, 'guests')], Code.CoaNak, ErrorCause.UnsupportedAttribute],
    ['Authorize-Only', Code.CoaRequest, [textAttr(Attr.UserName, 'alice'), integerAttr(Attr.ServiceType, 17)], Code.CoaNak, ErrorCause.UnsupportedService],
    ['a CoA changing nothing', Code.CoaRequest, [textAttr(Attr.UserName, 'alice')], Code.CoaNak, ErrorCause.InvalidRequest],
    ['Session-Timeout 0', Code.CoaRequest, [textAttr(Attr.UserName, 'alice'), integerAttr(Attr.SessionTimeout, 0)], Code.CoaNak, ErrorCause.InvalidAttributeValue],
    ['Session-Timeout of 2 bytes', Code.CoaRequest, [textAttr(Attr.UserName, 'alice'), octetsAttr(Attr.SessionTimeout, Uint8Array.of(0, 5))], Code.CoaNak, ErrorCause.InvalidAttributeValue],
    ['a CoA for no session', Code.CoaRequest, [textAttr(Attr.UserName, 'carol'), integerAttr(Attr.SessionTimeout, 60)], Code.CoaNak, ErrorCause.SessionContextNotFound],
  ];
  const e = engine();
  for (const [what, code, attributes, nak, cause] of cases) {
    const req = request(code, attributes, { identifier: cases.findIndex((c) => c[0] === what) });
    const actions = e.handle(fromHq(req), NOW);
    const a = answer(t, req, actions);
    t.same([a.code, a.errorCause], [nak, cause], what);
    t.same(acted(actions), [], `${what}: nothing done`);
  }
  t.match(e.counters(), { disconnectNaks: 5, coaNaks: 6 });
});

t.test('CoA-Request: Session-Timeout changed on the matching sessions; Proxy-State echoed in order', async (t) => {
  const e = engine();
  const proxy = [octetsAttr(Attr.ProxyState, Uint8Array.of(1, 2)), octetsAttr(Attr.ProxyState, Uint8Array.of(3))];
  const req = request(Code.CoaRequest, [textAttr(Attr.AcctSessionId, 'ef56-1'), integerAttr(Attr.SessionTimeout, 30), integerAttr(Attr.ServiceType, 2), ...proxy]);
  const actions = e.handle(fromHq(req), NOW);
  const a = answer(t, req, actions);
  t.equal(a.code, Code.CoaAck);
  t.same(a.attributes.filter((x) => x.type === Attr.ProxyState).map((x) => [...x.value]), [[1, 2], [3]]);
  t.same(acted(actions), [{ type: 'Change', sessions: ['ikev2-00000000000000aa'], change: { sessionTimeoutSeconds: 30 }, client: 'hq' }]);
  t.match(e.counters(), { coaRequests: 1, coaAcks: 1 });
});

t.test('CoA-Request: Idle-Timeout and Acct-Interim-Interval changed with Session-Timeout; 401 when a session cannot take one', async (t) => {
  const e = engine();
  let req = request(Code.CoaRequest, [textAttr(Attr.UserName, 'alice'), integerAttr(Attr.IdleTimeout, 600), integerAttr(Attr.AcctInterimInterval, 120), integerAttr(Attr.SessionTimeout, 3600)]);
  let actions = e.handle(fromHq(req), NOW);
  t.equal(answer(t, req, actions).code, Code.CoaAck);
  t.same(acted(actions), [{ type: 'Change', sessions: ['sstp-1', 'l2tp-4'], change: { sessionTimeoutSeconds: 3600, idleTimeoutSeconds: 600, interimSeconds: 120 }, client: 'hq' }], 'all three, on both PPP sessions');
  req = request(Code.CoaRequest, [textAttr(Attr.AcctSessionId, 'cd34-4'), integerAttr(Attr.IdleTimeout, 30)], { identifier: 8 });
  t.same(acted(e.handle(fromHq(req), NOW)), [{ type: 'Change', sessions: ['l2tp-4'], change: { idleTimeoutSeconds: 30 }, client: 'hq' }], 'Idle-Timeout alone');
  const naks: Array<[string, RadiusAttribute[], number]> = [
    ['Idle-Timeout on an IKEv2 session (Session-Timeout only)', [textAttr(Attr.UserName, 'bob'), integerAttr(Attr.IdleTimeout, 60)], ErrorCause.UnsupportedAttribute],
    ['Acct-Interim-Interval on sessions where one cannot take it', [textAttr(Attr.CallingStationId, '192.0.2.12'), integerAttr(Attr.AcctInterimInterval, 300), integerAttr(Attr.SessionTimeout, 60)], ErrorCause.UnsupportedAttribute],
    ['a Framed-Route (applied at login only)', [textAttr(Attr.UserName, 'alice'), textAttr(Attr.FramedRoute, '10.20.0.0/16'), integerAttr(Attr.IdleTimeout, 60)], ErrorCause.UnsupportedAttribute],
    ['a Framed-Pool (applied at login only)', [textAttr(Attr.UserName, 'alice'), textAttr(Attr.FramedPool, 'vip')], ErrorCause.UnsupportedAttribute],
    ['Idle-Timeout 0', [textAttr(Attr.UserName, 'alice'), integerAttr(Attr.IdleTimeout, 0)], ErrorCause.InvalidAttributeValue],
    ['Acct-Interim-Interval of 3 bytes', [textAttr(Attr.UserName, 'alice'), octetsAttr(Attr.AcctInterimInterval, Uint8Array.of(0, 0, 60))], ErrorCause.InvalidAttributeValue],
  ];
  for (const [i, [what, attributes, cause]] of naks.entries()) {
    req = request(Code.CoaRequest, attributes, { identifier: 20 + i });
    actions = e.handle(fromHq(req), NOW);
    const a = answer(t, req, actions);
    t.same([a.code, a.errorCause], [Code.CoaNak, cause], what);
    t.same(acted(actions), [], `${what}: nothing changed on any session`);
  }
  t.match(e.counters(), { coaAcks: 2, coaNaks: naks.length });
});

t.test('Disconnect-Request by Framed-IPv6-Prefix or Framed-IPv6-Address ends the session holding it', async (t) => {
  const e = engine();
  const cases: Array<[string, RadiusAttribute[], string[] | number]> = [
    ['the /64 in 16 octets', [v6Prefix('2001:db8:5::', 64)], ['sstp-1']],
    ['the /64 in the 8 octets it covers', [v6Prefix('2001:db8:6::', 64, 8)], ['l2tp-4']],
    ['the session address (RFC 6911)', [octetsAttr(Attr.FramedIpv6Address, ipv6Bytes('2001:db8:5::a:1'))], ['sstp-1']],
    ['prefix and user together', [v6Prefix('2001:db8:6::', 64), textAttr(Attr.UserName, 'alice')], ['l2tp-4']],
    ['a /48 around it: not the session\'s prefix', [v6Prefix('2001:db8::', 48)], ErrorCause.SessionContextNotFound],
    ['a /64 no session holds', [v6Prefix('2001:db8:7::', 64)], ErrorCause.SessionContextNotFound],
    ['prefix of one session, user of none', [v6Prefix('2001:db8:5::', 64), textAttr(Attr.UserName, 'bob')], ErrorCause.SessionContextNotFound],
    ['bits set past the length', [v6Prefix('2001:db8:5::1', 64)], ErrorCause.InvalidAttributeValue],
    ['an address of 4 octets', [octetsAttr(Attr.FramedIpv6Address, Uint8Array.of(10, 0, 0, 1))], ErrorCause.InvalidAttributeValue],
  ];
  for (const [i, [what, attributes, expected]] of cases.entries()) {
    const req = request(Code.DisconnectRequest, attributes, { identifier: i });
    const actions = e.handle(fromHq(req), NOW);
    const a = answer(t, req, actions);
    if (typeof expected === 'number') {
      t.same([a.code, a.errorCause], [Code.DisconnectNak, expected], what);
      t.same(acted(actions), [], `${what}: nothing ended`);
    } else {
      t.equal(a.code, Code.DisconnectAck, what);
      t.same(acted(actions), [{ type: 'Disconnect', sessions: expected, client: 'hq' }], `${what}: ${expected.join(', ')} ended`);
    }
  }
});

t.test('dropped and counted: unknown client, wrong secret, bad Message-Authenticator, stale Event-Timestamp, not a DAS code, garbage', async (t) => {
  const e = engine();
  const good = [textAttr(Attr.UserName, 'alice')];
  const drops: Array<[string, Uint8Array, string, keyof ReturnType<DasEngine['counters']>]> = [
    ['from another address', request(Code.DisconnectRequest, good), '10.9.1.99', 'unknownClients'],
    ['wrong secret', request(Code.DisconnectRequest, good, { key: 'not-the-secret' }), '10.9.1.1', 'badAuthenticators'],
    ['wrong secret, no Message-Authenticator', request(Code.DisconnectRequest, good, { key: 'not-the-secret', messageAuthenticator: false }), '10.9.1.1', 'badAuthenticators'],
    ['Event-Timestamp 301 s old', request(Code.DisconnectRequest, [...good, integerAttr(Attr.EventTimestamp, NOW / 1000 - 301)]), '10.9.1.1', 'staleTimestamps'],
    ['Event-Timestamp 301 s ahead', request(Code.DisconnectRequest, [...good, integerAttr(Attr.EventTimestamp, NOW / 1000 + 301)], { identifier: 3 }), '10.9.1.1', 'staleTimestamps'],
    ['an Access-Request', request(Code.AccessRequest, good), '10.9.1.1', 'malformed'],
    ['20 bytes claiming 4000', Uint8Array.of(40, 1, 0x0f, 0xa0, ...new Uint8Array(16)), '10.9.1.1', 'malformed'],
  ];
  // A Message-Authenticator that does not verify, under a Request Authenticator that does.
  const forged = request(Code.DisconnectRequest, good, { messageAuthenticator: false });
  const withMa = encodeRadiusPacket({ code: Code.DisconnectRequest, identifier: 7, authenticator: new Uint8Array(16), attributes: [octetsAttr(Attr.MessageAuthenticator, new Uint8Array(16).fill(9)), ...good] });
  withMa.set(createHash('md5').update(withMa).update(KEY).digest(), 4);
  drops.push(['bad Message-Authenticator', withMa, '10.9.1.1', 'badAuthenticators']);
  for (const [what, bytes, address, counter] of drops) {
    const before = e.counters()[counter];
    const actions = e.handle({ type: 'RcvDatagram', address, port: 40000, bytes }, NOW);
    t.same(sent(actions), [], `${what}: no answer`);
    t.same(acted(actions), [], `${what}: nothing done`);
    t.equal(e.counters()[counter], before + 1, `${what}: counted as ${counter}`);
  }
  const fresh = request(Code.DisconnectRequest, [...good, integerAttr(Attr.EventTimestamp, NOW / 1000 - 299)], { identifier: 4 });
  t.equal(answer(t, fresh, e.handle(fromHq(fresh), NOW)).code, Code.DisconnectAck, 'an Event-Timestamp 299 s old is current');
  t.equal(answer(t, forged, e.handle(fromHq(forged), NOW)).code, Code.DisconnectAck, 'the same request without the bad attribute is fine');
});

t.test('a duplicate gets the same answer and ends nothing twice; after the window it is a new request', async (t) => {
  const e = engine();
  const req = request(Code.DisconnectRequest, [textAttr(Attr.AcctSessionId, 'ab12-1')]);
  const first = e.handle(fromHq(req), NOW);
  const again = e.handle(fromHq(req), NOW + 2000);
  t.same(sent(again).map((s) => Buffer.from(s.bytes).toString('hex')), sent(first).map((s) => Buffer.from(s.bytes).toString('hex')), 'byte for byte');
  t.same(acted(again), [], 'not acted on again');
  t.equal(e.counters().duplicates, 1);
  t.equal(acted(e.handle(fromHq(req), NOW + 31_000)).length, 1, 'after 30 s it counts as new');
});

t.test('fuzz: no datagram from a client throws; no one-octet change of a valid request is acted on', async (t) => {
  const e = engine();
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
    e.handle(fromHq(bytes), NOW);
  }), { numRuns: 2000 });
  const valid = request(Code.CoaRequest, [textAttr(Attr.UserName, 'alice'), integerAttr(Attr.SessionTimeout, 60)]);
  fc.assert(fc.property(fc.nat(valid.length - 1), fc.integer({ min: 1, max: 255 }), (at, flip) => {
    const bytes = Uint8Array.from(valid);
    bytes[at]! ^= flip;
    const fresh = engine();
    const actions = fresh.handle(fromHq(bytes), NOW);
    return acted(actions).length === 0 && fresh.counters().disconnectAcks + fresh.counters().coaAcks === 0; // every octet is under the MD5
  }), { numRuns: 1000 });
  // Signed requests whose identification and change attributes carry any bytes: always answered, never thrown.
  const types = [Attr.FramedIpv6Prefix, Attr.FramedIpv6Address, Attr.FramedIpAddress, Attr.SessionTimeout, Attr.IdleTimeout, Attr.AcctInterimInterval, Attr.UserName];
  let answered = 0;
  fc.assert(fc.property(fc.boolean(), fc.array(fc.record({ type: fc.constantFrom(...types), value: fc.uint8Array({ maxLength: 20 }) }), { minLength: 1, maxLength: 4 }), (disconnect, attributes) => {
    const req = request(disconnect ? Code.DisconnectRequest : Code.CoaRequest, attributes);
    if (sent(engine().handle(fromHq(req), NOW)).length === 1) answered++;
  }), { numRuns: 2000 });
  t.equal(answered, 2000, 'every signed request answered (ACK or NAK)');
  t.pass('never threw');
});
