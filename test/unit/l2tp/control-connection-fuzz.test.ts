// The L2TP control connection under fast-check: any sequence of control messages (any type, with or
// without the AVPs they need, in sequence so that the engine reads them), random datagrams and
// timeouts never makes it throw, and it never leaves `closed` once there.
import fc from 'fast-check';
import t from 'tap';
import { L2tpTunnel } from '../../../firmware/l2tp/control-connection.ts';
import { MessageType, type MessageTypeValue } from '../../../firmware/l2tp/avp-types.ts';
import { encodeControlMessage } from '../../../firmware/l2tp/control-message.ts';
import { encodeL2tpPacket } from '../../../firmware/l2tp/header.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const full = { protocolVersion: { version: 1, revision: 0 }, hostName: 'peer', framingCapabilities: 3, assignedTunnelId: 9, resultCode: { result: 1 }, assignedSessionId: 3, callSerialNumber: 1, txConnectSpeed: 1, framingType: 1, minimumBps: 1, maximumBps: 1, bearerType: 1, calledNumber: '1', callErrors: { crcErrors: 0, framingErrors: 0, hardwareOverruns: 0, bufferOverruns: 0, timeoutErrors: 0, alignmentErrors: 0 }, accm: { sendAccm: 0, receiveAccm: 0 }, challenge: Uint8Array.of(1), challengeResponse: new Uint8Array(16) };
const step = fc.oneof(
  fc.record({ kind: fc.constant('msg' as const), type: fc.constantFrom(...(Object.values(MessageType) as MessageTypeValue[])), complete: fc.boolean(), sessionId: fc.nat(3) }),
  fc.record({ kind: fc.constant('raw' as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.nat(40_000) }),
  fc.record({ kind: fc.constant('cmd' as const), which: fc.nat(3) }),
);

t.test('property: no sequence of peer messages, commands and time makes the engine throw', async (t) => {
  fc.assert(fc.property(fc.constantFrom('lac' as const, 'lns' as const), fc.boolean(), fc.array(step, { maxLength: 25 }), (role, withSecret, steps) => {
    const tunnel = new L2tpTunnel({ role, hostName: 'me', localTunnelId: 5, random: (n) => new Uint8Array(n), ...(withSecret ? { secret: new Secret<Uint8Array>(Buffer.from('k')) } : {}) });
    let now = 0;
    let ns = 0;
    let wasClosed = false;
    for (const s of steps) {
      if (s.kind === 'msg') {
        const body = encodeControlMessage(s.type, s.complete ? full : {});
        tunnel.handle({ kind: 'RcvDatagram', bytes: encodeL2tpPacket({ type: 'control', tunnelId: 5, sessionId: s.sessionId, ns: ns++ & 0xffff, nr: 0 }, body) }, now);
      } else if (s.kind === 'raw') tunnel.handle({ kind: 'RcvDatagram', bytes: s.bytes }, now);
      else if (s.kind === 'wait') (now += s.ms, tunnel.handle({ kind: 'Timeout' }, now));
      else tunnel.handle([{ kind: 'CmdOpen' as const }, { kind: 'CmdOpenSession' as const, localSessionId: 1, callSerialNumber: 1 }, { kind: 'CmdCloseSession' as const, localSessionId: 100, resultCode: { result: 3 } }, { kind: 'CmdClose' as const, resultCode: { result: 1 } }][s.which]!, now);
      if (wasClosed && tunnel.state !== 'closed') return false;
      wasClosed ||= tunnel.state === 'closed';
    }
    return true;
  }), { numRuns: 500 });
  t.pass('500 sequences');
});
