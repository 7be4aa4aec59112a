// The RADIUS client engine on a simulated clock against fake servers built from the codec:
// PAP with the password hidden per server, retransmission with backoff, failover and dead-server
// marking, revival by Status-Server (RFC 5997) or dead time, responses refused for every reason
// (counted, the request still waiting), accounting with Acct-Delay-Time and a new Identifier on
// retransmission, Identifier exhaustion, and a property: no event sequence throws or strands a request.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import t from 'tap';
import { accountingAttributes } from '../../../firmware/radius/accounting.ts';
import { Attr, integerOf, textAttr, textOf } from '../../../firmware/radius/attributes.ts';
import { signResponse } from '../../../firmware/radius/authenticators.ts';
import { RadiusClientEngine, type RadiusAction, type RadiusClientOptions, type RadiusEvent } from '../../../firmware/radius/client-engine.ts';
import { encodeVendorAttribute } from '../../../firmware/radius/vendor-specific.ts';
import { MsAttr, VENDOR_MICROSOFT } from '../../../firmware/radius/microsoft.ts';
import { Code, decodeRadiusPacket, type RadiusAttribute, type RadiusPacket } from '../../../firmware/radius/packet.ts';
import { encryptSaltedKey } from '../../../firmware/radius/salted-key.ts';
import { unhideUserPassword } from '../../../firmware/radius/user-password.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const secret = (s: string) => new Secret<Uint8Array>(Buffer.from(s));
const servers = [
  { name: 'hq1', address: '10.0.0.1', authPort: 1812, acctPort: 1813, secret: secret('one') },
  { name: 'hq2', address: '10.0.0.2', authPort: 1812, acctPort: 1813, secret: secret('two') },
];
let counter = 0;
const random = { bytes: (n: number) => { counter++; return Uint8Array.from({ length: n }, (_, i) => (counter * 31 + i) & 0xff); }, fraction: () => 0.5 };
const engine = (o: Partial<RadiusClientOptions> = {}) => new RadiusClientEngine({ servers, random, initialTimeoutMs: 1000, maxRetransmits: 2, statusServerIntervalMs: 5000, ...o });
const sends = (actions: RadiusAction[]) => actions.filter((a): a is Extract<RadiusAction, { type: 'Send' }> => a.type === 'Send');
const completes = (actions: RadiusAction[]) => actions.filter((a): a is Extract<RadiusAction, { type: 'Complete' }> => a.type === 'Complete');
const decode = (bytes: Uint8Array): RadiusPacket => { const d = decodeRadiusPacket(bytes); if (!d.ok) throw new Error(d.error.message); return d.value; };
/** A server's answer to a request it received. */
const answer = (request: Uint8Array, code: number, key: string, attributes: RadiusAttribute[] = [], withMa = true) =>
  signResponse(code, request[1]!, attributes, request.subarray(4, 20), secret(key), withMa);
const from = (name: 'hq1' | 'hq2', port: number, bytes: Uint8Array): RadiusEvent => ({ type: 'RcvDatagram', address: name === 'hq1' ? '10.0.0.1' : '10.0.0.2', port, bytes });
const pap: RadiusEvent = { type: 'CmdAccessRequest', id: 'alice', attributes: [textAttr(Attr.UserName, 'alice')], userPassword: new Secret(Buffer.from('Alice-Pass-1')) };

t.test('PAP: Message-Authenticator first, the password hidden with that server\'s secret; an Accept completes with MPPE keys decrypted', async (t) => {
  const e = engine();
  const [send] = sends(e.handle(pap, 0));
  t.match(send, { server: 'hq1', address: '10.0.0.1', port: 1812 });
  const p = decode(send!.bytes);
  t.equal(p.code, Code.AccessRequest);
  t.equal(p.attributes[0]!.type, Attr.MessageAuthenticator);
  const pw = unhideUserPassword(p.attributes.find((a) => a.type === Attr.UserPassword)!.value, secret('one'), p.authenticator);
  t.ok(pw.ok && Buffer.from(pw.value).toString() === 'Alice-Pass-1');
  const recvKey = Buffer.alloc(16, 0x5a);
  const reply = answer(send!.bytes, Code.AccessAccept, 'one', [encodeVendorAttribute(VENDOR_MICROSOFT, MsAttr.MsMppeRecvKey, encryptSaltedKey(recvKey, 7, secret('one'), p.authenticator))]);
  const [done] = completes(e.handle(from('hq1', 1812, reply), 10));
  t.equal(done?.result.outcome, 'accept');
  t.ok(done?.result.outcome === 'accept' && Buffer.from(done.result.microsoft.recvKey!.reveal()).equals(recvKey));
  t.match(e.counters()['hq1'], { requests: 1, accepts: 1, alive: true });
  t.equal(e.pending, 0);
});

t.test('retransmission doubles the timeout, keeps bytes and Identifier; then failover marks the first server dead', async (t) => {
  const e = engine();
  const first = sends(e.handle(pap, 0))[0]!;
  const times: number[] = [];
  let now = 0;
  const resent: Uint8Array[] = [];
  for (let i = 0; i < 2; i++) {
    now = e.nextTimeout()!;
    times.push(now);
    const actions = e.handle({ type: 'Timeout' }, now);
    resent.push(sends(actions)[0]!.bytes);
  }
  t.same(times, [1000, 3000], 'IRT, then 2·RT (jitter fixed at 0)');
  t.ok(resent.every((b) => Buffer.from(b).equals(Buffer.from(first.bytes))), 'a retransmission is the same packet');
  now = e.nextTimeout()!;
  t.equal(now, 7000);
  const actions = e.handle({ type: 'Timeout' }, now);
  t.match(actions.find((a) => a.type === 'ServerDown'), { server: 'hq1' });
  const moved = sends(actions)[0]!;
  t.equal(moved.server, 'hq2');
  const p = decode(moved.bytes);
  const pw = unhideUserPassword(p.attributes.find((a) => a.type === Attr.UserPassword)!.value, secret('two'), p.authenticator);
  t.ok(pw.ok && Buffer.from(pw.value).toString() === 'Alice-Pass-1', 're-hidden with the second server\'s secret');
  t.equal(completes(e.handle(from('hq2', 1812, answer(moved.bytes, Code.AccessReject, 'two')), now + 5))[0]?.result.outcome, 'reject');
  t.match(e.counters(), { hq1: { timeouts: 1, retransmissions: 2, alive: false }, hq2: { rejects: 1 } });
  t.equal(sends(e.handle({ ...pap, id: 'bob' }, now + 10))[0]?.server, 'hq2', 'the dead server is skipped');
});

t.test('a server\'s own timeout and retries: a dead first server costs a login 1 s + 2 s, not the client\'s 1 + 2 + 4 s', async (t) => {
  const quick = [{ ...servers[0]!, initialTimeoutMs: 1000, maxRetransmits: 1 }, { ...servers[1]!, initialTimeoutMs: 4000 }];
  const e = new RadiusClientEngine({ servers: quick, random, initialTimeoutMs: 2000, maxRetransmits: 2, statusServerIntervalMs: 0 });
  t.equal(sends(e.handle(pap, 0))[0]?.server, 'hq1');
  t.equal(e.nextTimeout(), 1000, 'hq1\'s own IRT, not the client\'s 2 s');
  t.equal(sends(e.handle({ type: 'Timeout' }, 1000))[0]?.server, 'hq1', 'its one retry');
  t.equal(e.nextTimeout(), 3000);
  const moved = e.handle({ type: 'Timeout' }, 3000);
  t.match(moved.find((a) => a.type === 'ServerDown'), { server: 'hq1' }, 'dead after one retry');
  t.equal(sends(moved)[0]?.server, 'hq2');
  t.equal(e.nextTimeout(), 7000, 'hq2 waits its own 4 s');
  t.equal(sends(e.handle({ type: 'Timeout' }, 7000))[0]?.server, 'hq2', 'and retries twice, the client\'s count');
  t.equal(e.nextTimeout(), 15_000);
});

t.test('responses are refused for every reason, counted, and the request still completes on the right one', async (t) => {
  const e = engine();
  const send = sends(e.handle(pap, 0))[0]!;
  const refused = [
    from('hq1', 1812, answer(send.bytes, Code.AccessAccept, 'wrong-secret')),
    from('hq1', 1812, answer(send.bytes, Code.AccessAccept, 'one', [], false)),
    from('hq1', 1812, answer(Uint8Array.from([1, (send.bytes[1]! + 1) & 0xff, ...send.bytes.subarray(2)]), Code.AccessAccept, 'one')),
    from('hq1', 1812, answer(send.bytes, Code.AccountingResponse, 'one')),
    from('hq1', 1812, Uint8Array.of(2, 0, 0)),
    { type: 'RcvDatagram', address: '10.6.6.6', port: 1812, bytes: answer(send.bytes, Code.AccessAccept, 'one') } as RadiusEvent,
  ];
  for (const ev of refused) t.same(completes(e.handle(ev, 5)), [], 'dropped');
  t.match(e.counters()['hq1'], { badAuthenticators: 1, missingMessageAuthenticator: 1, unknownIdentifier: 1, malformed: 2, accepts: 0 });
  t.equal(completes(e.handle(from('hq1', 1812, answer(send.bytes, Code.AccessAccept, 'one')), 6))[0]?.result.outcome, 'accept');
});

t.test('accounting: Acct-Delay-Time grows on retransmission with a new Identifier; an answer to the old one still counts', async (t) => {
  const e = engine({ initialTimeoutMs: 2000 });
  const attributes = accountingAttributes({ status: 'Stop', nas: { identifier: 'postern' }, sessionId: 's-1', userName: 'alice', inputOctets: 5_000_000_000n, outputOctets: 10n, sessionTimeSeconds: 60, terminateCause: 'UserRequest' });
  const first = sends(e.handle({ type: 'CmdAccountingRequest', id: 'acct-1', attributes }, 0))[0]!;
  t.equal(first.port, 1813);
  const p1 = decode(first.bytes);
  t.equal(integerOf(p1.attributes, Attr.AcctDelayTime), 0);
  t.equal(textOf(p1.attributes, Attr.AcctSessionId), 's-1');
  t.equal(integerOf(p1.attributes, Attr.AcctInputGigawords), 1);
  t.equal(integerOf(p1.attributes, Attr.AcctInputOctets), 5_000_000_000 - 2 ** 32);
  const zeroed = Buffer.from(first.bytes);
  zeroed.fill(0, 4, 20);
  t.ok(createHash('md5').update(zeroed).update('one').digest().equals(Buffer.from(p1.authenticator)), 'RFC 2866 Request Authenticator');
  const second = sends(e.handle({ type: 'Timeout' }, e.nextTimeout()!))[0]!;
  const p2 = decode(second.bytes);
  t.equal(integerOf(p2.attributes, Attr.AcctDelayTime), 2);
  t.not(p2.identifier, p1.identifier, 'a changed packet takes a new Identifier');
  t.equal(completes(e.handle(from('hq1', 1813, answer(first.bytes, Code.AccountingResponse, 'one', [], false)), 2500))[0]?.result.outcome, 'accounting-response');
  t.equal(e.pending, 0);
});

t.test('a dead server is probed with Status-Server and comes back on its Access-Accept', async (t) => {
  const e = engine({ maxRetransmits: 0 });
  sends(e.handle(pap, 0));
  const moved = e.handle({ type: 'Timeout' }, 1000);
  t.ok(moved.some((a) => a.type === 'ServerDown'));
  e.handle(from('hq2', 1812, answer(sends(moved)[0]!.bytes, Code.AccessAccept, 'two')), 1001);
  const probe = sends(e.handle({ type: 'Timeout' }, e.nextTimeout()!))[0]!;
  t.equal(probe.server, 'hq1');
  const pp = decode(probe.bytes);
  t.equal(pp.code, Code.StatusServer);
  t.equal(pp.attributes[0]!.type, Attr.MessageAuthenticator, 'RFC 5997: Status-Server carries Message-Authenticator');
  t.match(e.handle(from('hq1', 1812, answer(probe.bytes, Code.AccessAccept, 'one')), 6100), [{ type: 'ServerUp', server: 'hq1' }]);
  t.equal(sends(e.handle({ ...pap, id: 'bob' }, 6200))[0]?.server, 'hq1', 'back in first place');
});

t.test('without probes a dead server comes back after the dead time; with every server dead each is tried once', async (t) => {
  const e = engine({ maxRetransmits: 0, statusServerIntervalMs: 0, deadTimeMs: 30000, maxDurationMs: 60000 });
  e.handle(pap, 0);
  e.handle({ type: 'Timeout' }, 1000);
  const gaveUp = e.handle({ type: 'Timeout' }, 2000);
  t.match(completes(gaveUp)[0]?.result, { outcome: 'timeout', tried: ['hq1', 'hq2'] });
  t.match(e.counters(), { hq1: { alive: false }, hq2: { alive: false } });
  const last = e.handle({ ...pap, id: 'bob' }, 3000);
  t.equal(sends(last)[0]?.server, 'hq1', 'last resort: the dead ones, in order, once each');
  t.equal(sends(e.handle({ type: 'Timeout' }, 4000))[0]?.server, 'hq2');
  t.equal(completes(e.handle({ type: 'Timeout' }, 5000))[0]?.result.outcome, 'timeout');
  t.equal(e.nextTimeout(), 31000);
  t.match(e.handle({ type: 'Timeout' }, 31000), [{ type: 'ServerUp', server: 'hq1' }]);
});

t.test('Identifiers: 256 per server and port; the rest wait in order; beyond maxRequests, overloaded', async (t) => {
  const e = engine({ maxRequests: 300 });
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 300; i++) sent.push(...sends(e.handle({ ...pap, id: i }, 0)).map((s) => s.bytes));
  t.equal(sent.length, 256);
  t.equal(new Set(sent.map((b) => b[1])).size, 256);
  t.match(completes(e.handle({ ...pap, id: 'one-too-many' }, 0))[0]?.result, { outcome: 'overloaded' });
  const actions = e.handle(from('hq1', 1812, answer(sent[0]!, Code.AccessReject, 'one')), 1);
  t.equal(completes(actions)[0]?.id, 0);
  t.equal(decode(sends(actions)[0]!.bytes).identifier, sent[0]![1], 'the freed Identifier goes to request 256');
});

t.test('property: no sequence of commands, datagrams and time throws, and every request ends by MRD', async (t) => {
  const event = fc.oneof(
    fc.record({ kind: fc.constant('auth' as const) }),
    fc.record({ kind: fc.constant('acct' as const) }),
    fc.record({ kind: fc.constant('answer' as const), which: fc.nat(), code: fc.constantFrom(2, 3, 5, 11, 99), key: fc.constantFrom('one', 'two', 'x'), ma: fc.boolean() }),
    fc.record({ kind: fc.constant('junk' as const), bytes: fc.uint8Array({ maxLength: 60 }), server: fc.constantFrom('hq1' as const, 'hq2' as const) }),
    fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 8000 }) }),
  );
  fc.assert(fc.property(fc.array(event, { maxLength: 60 }), (events) => {
    const e = engine({ maxDurationMs: 20000 });
    let now = 0;
    let id = 0;
    const outstanding: Extract<RadiusAction, { type: 'Send' }>[] = [];
    const started = new Set<number>();
    const run = (ev: RadiusEvent) => {
      for (const a of e.handle(ev, now)) {
        if (a.type === 'Send') outstanding.push(a);
        if (a.type === 'Complete') started.delete(a.id as number);
      }
    };
    for (const ev of events) {
      if (ev.kind === 'auth') { started.add(id); run({ ...pap, id: id++ }); }
      else if (ev.kind === 'acct') { started.add(id); run({ type: 'CmdAccountingRequest', id: id++, attributes: accountingAttributes({ status: 'Start', nas: { identifier: 'n' }, sessionId: `s${id}` }) }); }
      else if (ev.kind === 'answer' && outstanding.length) { const s = outstanding[ev.which % outstanding.length]!; run({ type: 'RcvDatagram', address: s.address, port: s.port, bytes: answer(s.bytes, ev.code, ev.key, [], ev.ma) }); }
      else if (ev.kind === 'junk') run(from(ev.server, 1812, ev.bytes));
      else if (ev.kind === 'time') { now += ev.ms; run({ type: 'Timeout' }); }
    }
    for (let i = 0; i < 100 && e.nextTimeout() !== undefined && e.pending > 0; i++) { now = Math.max(now, e.nextTimeout()!); run({ type: 'Timeout' }); }
    return e.pending === 0 && started.size === 0;
  }), { numRuns: 300 });
  t.pass('300 runs');
});

t.test('CmdStatusServer (the RADIUS page\'s Test): Status-Server with Message-Authenticator first, an Access-Accept completes it; serverStates says when it answered', async (t) => {
  const e = engine();
  const [send] = sends(e.handle({ type: 'CmdStatusServer', id: 'test' }, 0));
  const p = decode(send!.bytes);
  t.same([p.code, p.attributes[0]?.type, send!.port], [Code.StatusServer, Attr.MessageAuthenticator, 1812]);
  t.same(e.serverStates()[0], { name: 'hq1', alive: true }, 'no answer yet');
  const [done] = completes(e.handle(from('hq1', 1812, answer(send!.bytes, Code.AccessAccept, 'one')), 42));
  t.equal(done?.result.outcome, 'accept');
  t.same(e.serverStates()[0], { name: 'hq1', alive: true, lastResponseAt: 42 });
  const [again] = sends(e.handle({ type: 'CmdStatusServer', id: 'test2' }, 50));
  t.same(completes(e.handle(from('hq1', 1812, answer(again!.bytes, Code.AccessAccept, 'one', [], false)), 60)), [], 'an answer without Message-Authenticator is refused');
});
