// The PPTP client control connection (RFC 2637 §3, we are the PNS) on a simulated clock, talking to
// the server engine (control-connection.ts) byte for byte: start-up, the call with Call IDs bound
// both ways, echo both ways, hang-up (CCRQ → CDN → StopCCRQ → StopCCRP), the server's CDN and
// StopCCRQ, refusals and timeouts; random bytes never throw.
import fc from 'fast-check';
import t from 'tap';
import { CallIdAllocator } from '../../../firmware/pptp/call-ids.ts';
import { PptpClientConnection, type ClientAction } from '../../../firmware/pptp/client-connection.ts';
import { PptpControlConnection, type ConnectionAction } from '../../../firmware/pptp/control-connection.ts';
import { decodePptpMessage, encodePptpMessage, type PptpControlMessage } from '../../../firmware/pptp/control-message.ts';

let seed = 7;
const random = (n: number) => Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
const sent = (actions: readonly (ClientAction | ConnectionAction)[]) => actions.flatMap((a) => (a.kind === 'Send' ? [a.bytes] : []));
const types = (actions: readonly (ClientAction | ConnectionAction)[]) => sent(actions).map((b) => { const d = decodePptpMessage(b); return d.ok ? d.value.type : 'bad'; });
const kinds = (actions: readonly (ClientAction | ConnectionAction)[]) => actions.filter((a) => a.kind !== 'Send' && a.kind !== 'Counted').map((a) => a.kind);

/** Client and server engines wired back to back; `pump` carries bytes both ways until quiet. */
function pair() {
  let now = 0;
  const client = new PptpClientConnection({ hostName: 'branch', callId: 4242 }, now);
  const server = new PptpControlConnection({ hostName: 'hq', callIds: new CallIdAllocator(random) }, now);
  const clientSaw: ClientAction[] = [];
  const serverSaw: ConnectionAction[] = [];
  const pump = (first: ClientAction[]) => {
    let toServer = sent(first);
    clientSaw.push(...first);
    for (let i = 0; i < 20 && toServer.length > 0; i++) {
      const back: Uint8Array[] = [];
      for (const bytes of toServer) {
        const s = server.handle({ kind: 'RcvBytes', bytes }, now);
        serverSaw.push(...s);
        back.push(...sent(s));
      }
      toServer = [];
      for (const bytes of back) {
        const c = client.handle({ kind: 'RcvBytes', bytes }, now);
        clientSaw.push(...c);
        toServer.push(...sent(c));
      }
    }
  };
  return { client, server, clientSaw, serverSaw, pump, at: (ms: number) => (now = ms), get now() { return now; } };
}

t.test('start-up and call against the server engine: Call IDs bound both ways, echo both ways, hang-up in order', async (t) => {
  const p = pair();
  const start = p.client.handle({ kind: 'CmdStart' }, 0);
  t.same(types(start), ['StartControlConnectionRequest']);
  p.pump(start);
  t.equal(p.client.state, 'up');
  t.equal(p.client.peerHostName, 'hq');
  const clientUp = p.clientSaw.find((a) => a.kind === 'CallUp');
  const serverUp = p.serverSaw.find((a) => a.kind === 'CallUp');
  t.ok(clientUp && serverUp);
  if (clientUp?.kind === 'CallUp' && serverUp?.kind === 'CallUp') {
    t.equal(clientUp.callId, 4242, 'our Call ID');
    t.equal(serverUp.peerCallId, 4242, 'the server bound our Call ID');
    t.equal(clientUp.peerCallId, serverUp.callId, 'we bound the server\'s');
  }

  // Quiet for the echo interval: the client asks, the server answers, the call stays.
  p.at(60_000);
  const echo = p.client.handle({ kind: 'Timeout' }, 60_000);
  t.same(types(echo), ['EchoRequest']);
  p.pump(echo);
  t.equal(p.client.state, 'up');
  t.equal(p.client.nextTimeout(), 120_000, 'heard back: the next echo a full interval later');
  // The server's Echo-Request is answered.
  const asked = p.client.handle({ kind: 'RcvBytes', bytes: encodePptpMessage({ type: 'EchoRequest', identifier: 9 }) }, 61_000);
  t.match(sent(asked).map((b) => decodePptpMessage(b)), [{ ok: true, value: { type: 'EchoReply', identifier: 9, resultCode: 1 } }]);

  const hang = p.client.handle({ kind: 'CmdHangUp', reason: 'hang-up' }, 62_000);
  t.same(kinds(hang), ['CallDown']);
  t.same(types(hang), ['CallClearRequest']);
  p.pump(hang);
  t.same(p.clientSaw.filter((a) => a.kind === 'Send').map((a) => a.kind === 'Send' && a.message).slice(-2), ['CallClearRequest', 'StopControlConnectionRequest'], 'CDN answered by StopCCRQ');
  t.equal(p.client.state, 'closed');
  t.equal(p.server.state, 'closed');
  t.ok(p.serverSaw.some((a) => a.kind === 'CallDown'), 'the server dropped the call');
});

t.test('the server ends the call (CDN) or the connection (StopCCRQ): the call goes down and the connection closes', async (t) => {
  const p = pair();
  p.pump(p.client.handle({ kind: 'CmdStart' }, 0));
  const cdn = p.client.handle({ kind: 'RcvBytes', bytes: encodePptpMessage({ type: 'CallDisconnectNotify', callId: 4242, resultCode: 3, errorCode: 0, causeCode: 0, callStatistics: new Uint8Array(128) }) }, 1000);
  t.same(kinds(cdn), ['CallDown']);
  t.same(types(cdn), ['StopControlConnectionRequest']);
  t.equal(p.client.state, 'stopping');
  t.same(kinds(p.client.handle({ kind: 'Timeout' }, 4000)), ['Close'], 'no StopCCRP: closed after the stop timeout');

  const q = pair();
  q.pump(q.client.handle({ kind: 'CmdStart' }, 0));
  const stop = q.client.handle({ kind: 'RcvBytes', bytes: encodePptpMessage({ type: 'StopControlConnectionRequest', reason: 3 }) }, 1000);
  t.same(types(stop), ['StopControlConnectionReply']);
  t.same(kinds(stop), ['CallDown', 'Close']);
  t.same(q.client.handle({ kind: 'Timeout' }, 1e9), [], 'nothing after closed');
});

t.test('refusals and timeouts close with why', async (t) => {
  const scc = new PptpClientConnection({ hostName: 'b', callId: 1 }, 0);
  scc.handle({ kind: 'CmdStart' }, 0);
  const refused = scc.handle({ kind: 'RcvBytes', bytes: encodePptpMessage({ type: 'StartControlConnectionReply', protocolVersion: 0x0100, resultCode: 5, errorCode: 0, framingCapabilities: 3, bearerCapabilities: 3, maximumChannels: 1, firmwareRevision: 1, hostName: 'x', vendorString: 'y' }) }, 10);
  t.match(refused.at(-1), { kind: 'Close', reason: /refused the control connection \(result 5/ });

  const silent = new PptpClientConnection({ hostName: 'b', callId: 1 }, 0);
  silent.handle({ kind: 'CmdStart' }, 0);
  t.same(silent.handle({ kind: 'Timeout' }, 9_999), [], 'not yet');
  t.match(silent.handle({ kind: 'Timeout' }, 10_000), [{ kind: 'Close', reason: 'no Start-Control-Connection-Reply in time' }]);

  const call = new PptpClientConnection({ hostName: 'b', callId: 77 }, 0);
  call.handle({ kind: 'CmdStart' }, 0);
  call.handle({ kind: 'RcvBytes', bytes: encodePptpMessage({ type: 'StartControlConnectionReply', protocolVersion: 0x0100, resultCode: 1, errorCode: 0, framingCapabilities: 3, bearerCapabilities: 3, maximumChannels: 1, firmwareRevision: 1, hostName: 'x', vendorString: 'y' }) }, 10);
  const ocrp = (peerCallId: number, resultCode: number): PptpControlMessage => ({ type: 'OutgoingCallReply', callId: 500, peerCallId, resultCode, errorCode: 0, causeCode: 0, connectSpeed: 1, packetRecvWindowSize: 64, packetProcessingDelay: 0, physicalChannelId: 0 });
  t.match(call.handle({ kind: 'RcvBytes', bytes: encodePptpMessage(ocrp(78, 1)) }, 20), [{ kind: 'Counted', what: 'OCRP for no call of ours' }], 'another Call ID is not ours');
  const busy = call.handle({ kind: 'RcvBytes', bytes: encodePptpMessage(ocrp(77, 4)) }, 30);
  t.same(types(busy), ['StopControlConnectionRequest']);
  const closed = call.handle({ kind: 'RcvBytes', bytes: encodePptpMessage({ type: 'StopControlConnectionReply', resultCode: 1, errorCode: 0 }) }, 40);
  t.match(closed, [{ kind: 'Close', reason: /refused the call \(busy/ }]);

  // Echo unanswered: the call goes down.
  const p = pair();
  p.pump(p.client.handle({ kind: 'CmdStart' }, 0));
  t.same(types(p.client.handle({ kind: 'Timeout' }, 60_000)), ['EchoRequest']);
  t.match(p.client.handle({ kind: 'Timeout' }, 120_000), [{ kind: 'Counted' }, { kind: 'CallDown' }, { kind: 'Close', reason: /no Echo-Reply/ }]);
});

t.test('a stream out of step closes the connection; random bytes never throw', async (t) => {
  const c = new PptpClientConnection({ hostName: 'b', callId: 1 }, 0);
  c.handle({ kind: 'CmdStart' }, 0);
  t.match(c.handle({ kind: 'RcvBytes', bytes: new Uint8Array([0, 20, 0, 1, 1, 2, 3, 4, 0, 0, 0, 0]) }, 1).at(-1), { kind: 'Close', reason: /malformed/ });
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (chunks) => {
    const x = new PptpClientConnection({ hostName: 'b', callId: 1 }, 0);
    x.handle({ kind: 'CmdStart' }, 0);
    let now = 0;
    for (const bytes of chunks) {
      now += 1000;
      for (const a of [...x.handle({ kind: 'RcvBytes', bytes }, now), ...x.handle({ kind: 'Timeout' }, now)]) if (a.kind === 'Send' && !decodePptpMessage(a.bytes).ok) return false;
    }
    return true;
  }), { numRuns: 300 });
});
