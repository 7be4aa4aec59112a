// The PPTP server control connection (RFC 2637 §3) on a simulated clock: start-up and its refusals,
// outgoing and incoming calls with Call IDs bound to the peer's, limits, clearing either way, SLI
// and WEN, echo keepalive both ways, stop either way, setup and idle timeouts; random input never throws.
import fc from 'fast-check';
import t from 'tap';
import { CallIdAllocator, ConnectionLimits } from '../../../firmware/pptp/call-ids.ts';
import { PptpControlConnection, type ConnectionAction } from '../../../firmware/pptp/control-connection.ts';
import { decodePptpMessage, encodePptpMessage, type PptpControlMessage } from '../../../firmware/pptp/control-message.ts';

let seed = 1;
const random = (n: number) => Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
const SCCRQ: PptpControlMessage = { type: 'StartControlConnectionRequest', protocolVersion: 0x0100, framingCapabilities: 1, bearerCapabilities: 1, maximumChannels: 0, firmwareRevision: 1, hostName: 'client', vendorString: 'test' };
const ocrq = (callId: number): PptpControlMessage => ({ type: 'OutgoingCallRequest', callId, callSerialNumber: 1, minimumBps: 2400, maximumBps: 10_000_000, bearerType: 3, framingType: 3, packetRecvWindowSize: 64, packetProcessingDelay: 0, phoneNumberLength: 0, phoneNumber: '', subaddress: '' });

function harness(options: { maxCalls?: number; ids?: CallIdAllocator } = {}) {
  const ids = options.ids ?? new CallIdAllocator(random);
  const c = new PptpControlConnection({ hostName: 'postern', callIds: ids, ...(options.maxCalls ? { maxCalls: options.maxCalls } : {}) }, 0);
  let now = 0;
  const sent = (actions: ConnectionAction[]) => actions.filter((a) => a.kind === 'Send').map((a) => { const d = decodePptpMessage(a.kind === 'Send' ? a.bytes : new Uint8Array()); return d.ok ? d.value : undefined; });
  const rcv = (m: PptpControlMessage) => c.handle({ kind: 'RcvBytes', bytes: encodePptpMessage(m) }, now);
  const at = (ms: number) => { now = ms; return c.handle({ kind: 'Timeout' }, now); };
  return { c, ids, sent, rcv, at, kinds: (a: ConnectionAction[]) => a.map((x) => x.kind) };
}

t.test('SCCRQ answered with SCCRP: version 1.0, host name postern', async (t) => {
  const h = harness();
  const out = h.rcv(SCCRQ);
  t.match(h.sent(out), [{ type: 'StartControlConnectionReply', protocolVersion: 0x0100, resultCode: 1, errorCode: 0, hostName: 'postern', framingCapabilities: 3, bearerCapabilities: 3 }]);
  t.equal(h.c.state, 'established');
  t.equal(h.c.peerHostName, 'client');
  t.ok(h.c.started, 'started: a real client');
  t.notOk(harness().c.started, 'a connection that never spoke is not');
});

t.test('start-up refusals: wrong version, another message first, setup timeout, garbage', async (t) => {
  const v = harness();
  const again = harness();
  again.rcv(SCCRQ);
  t.match(again.sent(again.rcv(SCCRQ)), [{ type: 'StartControlConnectionReply', resultCode: 3 }], 'a second SCCRQ: already exists');
  t.equal(again.c.state, 'established', 'and the connection stays');
  const out = v.rcv({ ...SCCRQ, protocolVersion: 0x0200 });
  t.match(v.sent(out), [{ type: 'StartControlConnectionReply', resultCode: 5 }], 'version not supported');
  t.equal(v.kinds(out).at(-1), 'Close');
  const first = harness();
  t.same(first.kinds(first.rcv({ type: 'EchoRequest', identifier: 1 })), ['Close'], 'an Echo-Request before SCCRQ closes');
  const slow = harness();
  t.equal(slow.c.nextTimeout(), 10_000);
  t.same(slow.at(9_999), [], 'nothing before the setup deadline');
  t.match(slow.at(10_000), [{ kind: 'Counted', what: 'setup timeout' }, { kind: 'Close', reason: /no Start-Control-Connection-Request/ }]);
  const junk = harness();
  t.match(junk.c.handle({ kind: 'RcvBytes', bytes: new Uint8Array(16).fill(0x41) }, 0), [{ kind: 'Counted' }, { kind: 'Close' }], 'a stream out of step closes');
});

t.test('outgoing call: OCRP with our random Call ID bound to the peer\'s; refusals', async (t) => {
  const h = harness({ maxCalls: 2 });
  h.rcv(SCCRQ);
  const out = h.rcv(ocrq(0x4242));
  const [ocrp] = h.sent(out);
  t.match(ocrp, { type: 'OutgoingCallReply', peerCallId: 0x4242, resultCode: 1, errorCode: 0, connectSpeed: 10_000_000 });
  const callId = ocrp?.type === 'OutgoingCallReply' ? ocrp.callId : -1;
  t.ok(callId > 0 && callId <= 0xffff, `our Call ID ${callId}`);
  t.match(out.find((a) => a.kind === 'CallUp'), { callId, peerCallId: 0x4242 }, 'the call is up, bound to the peer\'s ID');
  t.match(h.sent(h.rcv(ocrq(0x4242))), [{ type: 'OutgoingCallReply', resultCode: 2, errorCode: 5 }], 'a peer Call ID in use is refused (Bad-Call ID)');
  h.rcv(ocrq(7));
  const over = h.rcv(ocrq(8));
  t.match(h.sent(over), [{ type: 'OutgoingCallReply', resultCode: 2, errorCode: 4 }], 'over the per-connection limit: No-Resource');
  t.match(over, [{ kind: 'Counted', what: /call limit/ }]);
  t.equal(h.ids.size, 2);
});

t.test('Call IDs are unique across connections and released when calls end', async (t) => {
  const ids = new CallIdAllocator(() => new Uint8Array([0, 5])); // a random source stuck on one value
  const a = harness({ ids });
  const b = harness({ ids });
  a.rcv(SCCRQ);
  b.rcv(SCCRQ);
  const idOf = (out: ConnectionAction[]) => out.find((x) => x.kind === 'CallUp')?.kind === 'CallUp' ? (out.find((x) => x.kind === 'CallUp') as { callId: number }).callId : -1;
  const first = idOf(a.rcv(ocrq(1)));
  const second = idOf(b.rcv(ocrq(1)));
  t.not(first, second, `two connections, two IDs (${first}, ${second}) even with a stuck random source`);
  const cleared = a.rcv({ type: 'CallClearRequest', callId: 1 });
  t.match(a.sent(cleared), [{ type: 'CallDisconnectNotify', callId: 1, resultCode: 4 }], 'CCRQ answered with CDN naming the client\'s Call ID');
  t.match(cleared, [{ kind: 'CallDown', callId: first }]);
  t.equal(ids.size, 1, 'the cleared call\'s ID is free again');
  t.match(a.sent(a.rcv({ type: 'CallClearRequest', callId: 99 })), [{ type: 'CallDisconnectNotify', callId: 99 }], 'an unknown call is answered too (the client waits)');
});

t.test('incoming call: ICRP, ICCN, and a missing ICCN', async (t) => {
  const h = harness();
  h.rcv(SCCRQ);
  const icrq: PptpControlMessage = { type: 'IncomingCallRequest', callId: 300, callSerialNumber: 1, callBearerType: 1, physicalChannelId: 0, dialedNumberLength: 0, dialingNumberLength: 0, dialedNumber: '', dialingNumber: '', subaddress: '' };
  const out = h.rcv(icrq);
  const [icrp] = h.sent(out);
  t.match(icrp, { type: 'IncomingCallReply', peerCallId: 300, resultCode: 1 });
  t.notOk(out.some((a) => a.kind === 'CallUp'), 'not up before ICCN');
  const callId = icrp?.type === 'IncomingCallReply' ? icrp.callId : -1;
  t.match(h.rcv({ type: 'IncomingCallConnected', peerCallId: callId, connectSpeed: 1, packetRecvWindowSize: 64, packetTransmitDelay: 0, framingType: 1 }), [{ kind: 'CallUp', callId, peerCallId: 300 }]);
  const peer = h.sent(h.c.handle({ kind: 'CmdCloseCall', callId, reason: 'x' }, 0));
  t.match(peer, [{ type: 'CallClearRequest', callId }], 'we are PNS here: we clear with CCRQ');
  h.rcv({ ...icrq, callId: 301 });
  const late = h.at(60_000);
  t.ok(late.some((a) => a.kind === 'Counted' && a.what === 'no ICCN in time'), 'no ICCN in time: counted');
  t.ok(h.sent(late).some((m) => m?.type === 'CallClearRequest'), 'and the waiting call cleared with CCRQ');
});

t.test('SLI, WEN, CDN from the client, admin hang-up', async (t) => {
  const h = harness();
  h.rcv(SCCRQ);
  const up = h.rcv(ocrq(55)).find((a) => a.kind === 'CallUp') as { callId: number };
  t.match(h.rcv({ type: 'SetLinkInfo', peerCallId: up.callId, sendAccm: 0xffffffff, receiveAccm: 0xffffffff }), [{ kind: 'LinkInfo', callId: up.callId, sendAccm: 0xffffffff }]);
  t.match(h.rcv({ type: 'SetLinkInfo', peerCallId: 1234, sendAccm: 0, receiveAccm: 0 }), [{ kind: 'Counted', what: 'SLI for an unknown call' }]);
  t.match(h.rcv({ type: 'WanErrorNotify', peerCallId: up.callId, crcErrors: 1, framingErrors: 0, hardwareOverruns: 0, bufferOverruns: 0, timeoutErrors: 0, alignmentErrors: 0 }), [{ kind: 'Counted', what: 'WAN-Error-Notify' }]);
  const admin = h.c.handle({ kind: 'CmdCloseCall', callId: up.callId, reason: 'disconnected by the administrator', admin: true }, 0);
  t.match(h.sent(admin), [{ type: 'CallDisconnectNotify', callId: 55, resultCode: 3 }], 'CDN Admin Shutdown with the client\'s Call ID');
  t.match(admin, [{ kind: 'Send' }, { kind: 'CallDown', callId: up.callId }]);
  const other = h.rcv(ocrq(56)).find((a) => a.kind === 'CallUp') as { callId: number };
  t.match(h.rcv({ type: 'CallDisconnectNotify', callId: 56, resultCode: 1, errorCode: 0, causeCode: 0, callStatistics: new Uint8Array(128) }), [{ kind: 'CallDown', callId: other.callId }], 'a CDN from the client ends its call');
});

t.test('echo keepalive both ways', async (t) => {
  const h = harness();
  h.rcv(SCCRQ);
  const up = h.rcv(ocrq(9)).find((a) => a.kind === 'CallUp') as { callId: number };
  t.match(h.sent(h.rcv({ type: 'EchoRequest', identifier: 0xdeadbeef })), [{ type: 'EchoReply', identifier: 0xdeadbeef, resultCode: 1 }], 'the client\'s echo answered');
  t.equal(h.c.nextTimeout(), 60_000);
  t.match(h.sent(h.at(60_000)), [{ type: 'EchoRequest' }], 'ours after 60 s of silence');
  t.equal(h.c.nextTimeout(), 120_000);
  h.at(70_000);
  h.rcv({ type: 'EchoReply', identifier: 1, resultCode: 1, errorCode: 0 });
  t.equal(h.c.nextTimeout(), 130_000, 'answered: the next echo 60 s after the reply');
  t.same(h.at(129_999), [], 'nothing before');
  t.match(h.sent(h.at(130_000)), [{ type: 'EchoRequest' }]);
  const dead = h.at(190_000);
  t.match(dead, [{ kind: 'Counted', what: 'echo timeout' }, { kind: 'CallDown', callId: up.callId }, { kind: 'Close', reason: /no Echo-Reply/ }], 'unanswered: the connection and its call end');
  t.equal(h.c.state, 'closed');
  t.same(h.rcv({ type: 'EchoRequest', identifier: 1 }), [], 'nothing after closed');
});

t.test('stop either way; idle connections stopped', async (t) => {
  const a = harness();
  a.rcv(SCCRQ);
  const up = a.rcv(ocrq(9)).find((x) => x.kind === 'CallUp') as { callId: number };
  const stopped = a.rcv({ type: 'StopControlConnectionRequest', reason: 1 });
  t.match(a.sent(stopped), [{ type: 'StopControlConnectionReply', resultCode: 1 }]);
  t.match(stopped, [{ kind: 'Send' }, { kind: 'CallDown', callId: up.callId }, { kind: 'Close' }]);
  t.equal(a.ids.size, 0);
  const b = harness();
  b.rcv(SCCRQ);
  b.rcv(ocrq(9));
  const ours = b.c.handle({ kind: 'CmdStop', reason: 'PPTP stopped' }, 0);
  t.match(b.sent(ours), [{ type: 'StopControlConnectionRequest', reason: 3 }]);
  t.equal(b.c.state, 'stopping');
  t.match(b.rcv({ type: 'StopControlConnectionReply', resultCode: 1, errorCode: 0 }), [{ kind: 'Close', reason: 'stopped' }]);
  const c = harness();
  c.rcv(SCCRQ);
  c.c.handle({ kind: 'CmdStop', reason: 'x' }, 0);
  t.match(c.at(3_000), [{ kind: 'Close', reason: /no Stop-Control-Connection-Reply/ }], 'no StopCCRP: closed after 3 s');
  const idle = harness();
  idle.rcv(SCCRQ);
  const out = idle.at(60_000);
  t.match(idle.sent(out), [{ type: 'EchoRequest' }, { type: 'StopControlConnectionRequest' }], 'no call for 60 s: stopped');
  t.match(out, [{ kind: 'Send' }, { kind: 'Counted', what: 'idle timeout' }, { kind: 'Send' }]);
  const closed = harness();
  closed.rcv(SCCRQ);
  closed.rcv(ocrq(1));
  t.match(closed.c.handle({ kind: 'TransportClosed' }, 0), [{ kind: 'CallDown' }, { kind: 'Close' }], 'TCP gone: calls down');
});

t.test('connection limits per source and in all', async (t) => {
  const l = new ConnectionLimits(2, 3);
  t.same([l.admit('a'), l.admit('a'), l.admit('a'), l.admit('b'), l.admit('c')], [true, true, false, true, false]);
  l.release('a');
  t.same([l.admit('c'), l.open], [true, 3]);
});

t.test('random and mutated control streams never throw', async () => {
  fc.assert(fc.property(fc.array(fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.constantFrom(encodePptpMessage(SCCRQ), encodePptpMessage(ocrq(3)), encodePptpMessage({ type: 'CallClearRequest', callId: 3 }))), { maxLength: 8 }), fc.array(fc.nat(200_000), { maxLength: 4 }), (chunks, times) => {
    const h = harness();
    for (const bytes of chunks) h.c.handle({ kind: 'RcvBytes', bytes }, 0);
    for (const ms of times.sort((x, y) => x - y)) h.at(ms);
    h.c.handle({ kind: 'TransportClosed' }, 200_001);
    return h.ids.size === 0;
  }), { numRuns: 500 });
});
