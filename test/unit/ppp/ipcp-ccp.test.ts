import t from 'tap';
import { ControlCode, decodeControlPacket, decodeOptions, encodeConfigure, encodeControlPacket, type PppOption } from '../../../firmware/ppp/control-packet.ts';
import { PppProtocol } from '../../../firmware/ppp/frame.ts';
import { Fsm, FsmState } from '../../../firmware/ppp/fsm.ts';
import type { PppAction } from '../../../firmware/ppp/fsm-protocol.ts';
import { CcpHandler, CcpOption } from '../../../firmware/ppp/ccp.ts';
import { IpcpHandler, IpcpOption, type IpcpAssignment } from '../../../firmware/ppp/ipcp.ts';

const hex = (s: string) => Uint8Array.from(s.split(/\s+/).filter(Boolean).map((b) => parseInt(b, 16)));
const sent = (actions: PppAction[]) => actions.flatMap((a) => (a.type === 'send' ? [a.packet] : []));
const optionsOf = (packet: Uint8Array | undefined): PppOption[] => {
  const p = packet && decodeControlPacket(packet);
  const o = p?.ok ? decodeOptions(p.value.data) : undefined;
  return o?.ok ? o.value : [];
};
const shown = (options: PppOption[]) => options.map((o) => `${o.type}:${[...o.data].join('.')}`);
const addr = (type: number, a: string): PppOption => ({ type, data: Uint8Array.from(a.split('.').map(Number)) });

function ipcp(assignment: IpcpAssignment | 'none' = { ip: '10.10.0.2', dns1: '10.2.0.53', dns2: '10.2.0.54' }) {
  let calls = 0;
  const allocate = () => {
    calls++;
    return assignment === 'none' ? undefined : assignment;
  };
  const handler = new IpcpHandler({ localAddress: '10.10.0.1', allocate });
  const fsm = new Fsm(handler);
  fsm.up(0);
  const request = sent(fsm.open(0))[0]!;
  return { handler, fsm, request, calls: () => calls };
}

// What Windows and pppd clients send first (RFC 1332 §3.3, RFC 1877): "give me everything".
const CLIENT_ASKS = hex(`
  01 05 00 16           Configure-Request, Identifier 5, Length 22
  03 06 00 00 00 00     IP-Address 0.0.0.0
  81 06 00 00 00 00     Primary-DNS 0.0.0.0
  83 06 00 00 00 00     Secondary-DNS 0.0.0.0
`.replace(/[A-Z][^\n]*/g, ''));

t.test('IPCP: a peer asking 0.0.0.0 for address and DNS gets the assigned ones', async (t) => {
  const { handler, fsm, request, calls } = ipcp();
  t.same(shown(optionsOf(request)), ['3:10.10.0.1'], 'our request carries our address (option 3)');
  const nak = sent(fsm.receive(CLIENT_ASKS, 1))[0]!;
  t.equal(nak[0], ControlCode.ConfigureNak);
  t.equal(nak[1], 5, 'the identifier of the request');
  t.same(shown(optionsOf(nak)), ['3:10.10.0.2', '129:10.2.0.53', '131:10.2.0.54']);
  const agreed = [addr(3, '10.10.0.2'), addr(129, '10.2.0.53'), addr(131, '10.2.0.54')];
  const ack = sent(fsm.receive(encodeConfigure(1, 6, agreed), 2))[0]!;
  t.equal(ack[0], ControlCode.ConfigureAck);
  const up = fsm.receive(encodeControlPacket({ code: ControlCode.ConfigureAck, identifier: request[1]!, data: request.subarray(4) }), 3);
  t.equal(fsm.state, FsmState.Opened);
  t.ok(up.some((a) => a.type === 'layer-up' && a.protocol === PppProtocol.IPCP), 'This-Layer-Up');
  t.same(handler.negotiated, { localAddress: '10.10.0.1', peerAddress: '10.10.0.2', dns1: '10.2.0.53', dns2: '10.2.0.54' });
  t.equal(calls(), 1, 'the allocator is asked once');
});

t.test('IPCP: the wrong address is Nak\'d, compression and NBNS rejected, a silent peer told its address', async (t) => {
  const { fsm } = ipcp();
  const wrong = sent(fsm.receive(encodeConfigure(1, 1, [addr(3, '192.168.1.9')]), 1))[0]!;
  t.same(shown(optionsOf(wrong)), ['3:10.10.0.2']);
  const vj = { type: IpcpOption.IpCompressionProtocol, data: hex('00 2d 0f 01') };
  const rej = sent(fsm.receive(encodeConfigure(1, 2, [addr(3, '0.0.0.0'), vj, addr(130, '0.0.0.0'), addr(132, '0.0.0.0')]), 2))[0]!;
  t.equal(rej[0], ControlCode.ConfigureReject);
  t.same(shown(optionsOf(rej)), ['2:0.45.15.1', '130:0.0.0.0', '132:0.0.0.0'], 'only the rejected ones, as received');
  const silent = sent(fsm.receive(encodeConfigure(1, 3, []), 3))[0]!;
  t.equal(silent[0], ControlCode.ConfigureNak);
  t.same(shown(optionsOf(silent)), ['3:10.10.0.2'], 'an unsolicited Nak with its address (§5.3)');
});

t.test('IPCP: DNS we do not have is rejected', async (t) => {
  const { fsm } = ipcp({ ip: '10.10.0.3' });
  const rej = sent(fsm.receive(CLIENT_ASKS, 1))[0]!;
  t.equal(rej[0], ControlCode.ConfigureReject);
  t.same(shown(optionsOf(rej)), ['129:0.0.0.0', '131:0.0.0.0']);
});

t.test('IPCP: no address left closes IPCP', async (t) => {
  const { fsm } = ipcp('none');
  const out = fsm.receive(CLIENT_ASKS, 1);
  t.equal(sent(out)[0]![0], ControlCode.TerminateRequest);
  t.equal(new TextDecoder().decode(sent(out)[0]!.subarray(4)), 'no address to assign to the peer');
  t.equal(fsm.state, FsmState.Closing);
});

t.test('IPCP: a peer rejecting our address gets a request without it', async (t) => {
  const { fsm, request } = ipcp();
  const next = sent(fsm.receive(encodeConfigure(ControlCode.ConfigureReject, request[1]!, optionsOf(request)), 1))[0]!;
  t.equal(next[0], ControlCode.ConfigureRequest);
  t.same(optionsOf(next), []);
});

t.test('IPCP speaks codes 1 to 7 only: an Echo-Request is an unknown code (RFC 1332 §2)', async (t) => {
  const { fsm } = ipcp();
  const out = sent(fsm.receive(hex('09 01 00 08 00 00 00 00'), 1))[0]!;
  t.equal(out[0], ControlCode.CodeReject);
});

// pppd's CCP request: MPPE (18), Deflate (26), BSD-Compress (21).
const PPPD_CCP = hex(`
  01 01 00 11           Configure-Request, Identifier 1, Length 17
  12 06 01 00 00 e0     MPPE: stateless, 128/56/40-bit
  1a 04 78 00           Deflate, window 15
  15 03 2f              BSD-Compress v1, 15 bits
`.replace(/[A-Z][^\n]*/g, ''));

t.test('CCP: every proposed algorithm is rejected, an empty request acknowledged, Opened with none', async (t) => {
  const fsm = new Fsm(new CcpHandler());
  fsm.up(0);
  const ours = sent(fsm.open(0))[0]!;
  t.same(optionsOf(ours), [], 'we propose nothing');
  const rej = sent(fsm.receive(PPPD_CCP, 1))[0]!;
  t.equal(rej[0], ControlCode.ConfigureReject);
  t.same(optionsOf(rej).map((o) => o.type), [CcpOption.MicrosoftPpc, CcpOption.Deflate, CcpOption.BsdLzwCompress]);
  t.same([...rej.subarray(4)], [...PPPD_CCP.subarray(4)], 'exactly as received');
  t.equal(sent(fsm.receive(hex('01 02 00 04'), 2))[0]![0], ControlCode.ConfigureAck);
  fsm.receive(encodeControlPacket({ code: ControlCode.ConfigureAck, identifier: ours[1]!, data: new Uint8Array(0) }), 3);
  t.equal(fsm.state, FsmState.Opened);
  t.same(sent(fsm.receive(hex('0e 07 00 04'), 4)), [], 'a Reset-Request means nothing without an algorithm');
});
