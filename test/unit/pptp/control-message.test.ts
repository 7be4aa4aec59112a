// PPTP control-message codec (RFC 2637 §2) against hand-built packets: the SCCRQ pptp-linux sends,
// our SCCRP byte by byte, an OCRQ, every message's fixed length, and each refusal (short header,
// wrong Length, management message type, bad cookie, unknown type, short body); the TCP stream
// reader splits and joins messages and gives up on a stream out of step.
import t from 'tap';
import { decodePptpMessage, encodePptpMessage, MESSAGE_LAYOUTS, messageLength, type PptpMessageName } from '../../../firmware/pptp/control-message.ts';
import { PptpControlStream } from '../../../firmware/pptp/control-stream.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const str64 = (s: string) => Buffer.concat([Buffer.from(s, 'latin1'), Buffer.alloc(64 - s.length)]).toString('hex');

// pptp-linux's SCCRQ: version 1.0, async+sync framing, analog+digital bearer, 65535 channels, firmware 1, host "local", vendor "cananian".
const SCCRQ = hex(`009c 0001 1a2b3c4d 0001 0000  0100 0000 00000003 00000003 ffff 0001 ${str64('local')} ${str64('cananian')}`);

t.test('SCCRQ as pptp-linux sends it', async (t) => {
  const d = decodePptpMessage(SCCRQ);
  t.ok(d.ok);
  t.same(d.ok && d.value, { type: 'StartControlConnectionRequest', protocolVersion: 0x0100, framingCapabilities: 3, bearerCapabilities: 3, maximumChannels: 65535, firmwareRevision: 1, hostName: 'local', vendorString: 'cananian' });
  t.same(encodePptpMessage(d.ok ? d.value : (undefined as never)), SCCRQ, 'and back to the same bytes');
});

t.test('SCCRP byte by byte', async (t) => {
  const bytes = encodePptpMessage({ type: 'StartControlConnectionReply', protocolVersion: 0x0100, resultCode: 1, errorCode: 0, framingCapabilities: 1, bearerCapabilities: 1, maximumChannels: 0, firmwareRevision: 1, hostName: 'postern', vendorString: 'Postern' });
  t.same(bytes, hex(`009c 0001 1a2b3c4d 0002 0000  0100 01 00 00000001 00000001 0000 0001 ${str64('postern')} ${str64('Postern')}`));
});

t.test('OCRQ and CDN fields', async (t) => {
  const ocrq = hex(`00a8 0001 1a2b3c4d 0007 0000  1234 0001 00002710 05f5e100 00000003 00000003 0040 0000 0000 0000 ${str64('')} ${str64('')}`);
  const d = decodePptpMessage(ocrq);
  t.same(d.ok && d.value, { type: 'OutgoingCallRequest', callId: 0x1234, callSerialNumber: 1, minimumBps: 10000, maximumBps: 100000000, bearerType: 3, framingType: 3, packetRecvWindowSize: 64, packetProcessingDelay: 0, phoneNumberLength: 0, phoneNumber: '', subaddress: '' });
  const cdn = encodePptpMessage({ type: 'CallDisconnectNotify', callId: 0x1234, resultCode: 4, errorCode: 0, causeCode: 0, callStatistics: new Uint8Array(128) });
  t.equal(cdn.length, 148);
  t.same(cdn.subarray(12, 16), hex('1234 04 00'));
});

t.test('every message has its RFC length', async (t) => {
  const expected: Record<PptpMessageName, number> = {
    StartControlConnectionRequest: 156, StartControlConnectionReply: 156, StopControlConnectionRequest: 16, StopControlConnectionReply: 16,
    EchoRequest: 16, EchoReply: 20, OutgoingCallRequest: 168, OutgoingCallReply: 32, IncomingCallRequest: 220, IncomingCallReply: 24,
    IncomingCallConnected: 28, CallClearRequest: 16, CallDisconnectNotify: 148, WanErrorNotify: 40, SetLinkInfo: 24,
  };
  for (const name of Object.keys(MESSAGE_LAYOUTS) as PptpMessageName[]) t.equal(messageLength(name), expected[name], name);
});

t.test('refusals', async (t) => {
  const echo = encodePptpMessage({ type: 'EchoRequest', identifier: 7 });
  const code = (b: Uint8Array) => { const d = decodePptpMessage(b); return d.ok ? 'ok' : d.error.code; };
  t.equal(code(echo), 'ok');
  t.equal(code(echo.subarray(0, 10)), 'TRUNCATED', 'shorter than a header');
  t.equal(code(echo.subarray(0, 14)), 'INVALID_SYNTAX', 'Length disagrees with the bytes');
  const mgmt = echo.slice(); mgmt[3] = 2;
  t.equal(code(mgmt), 'INVALID_SYNTAX', 'management message type');
  const cookie = echo.slice(); cookie[7] = 0;
  t.equal(code(cookie), 'INVALID_SYNTAX', 'bad magic cookie');
  const unknown = echo.slice(); unknown[9] = 99;
  t.equal(code(unknown), 'INVALID_SYNTAX', 'unknown control message type');
  const short = hex('000c 0001 1a2b3c4d 0005 0000');
  t.equal(code(short), 'TRUNCATED', 'Echo-Request without its identifier');
  const long = Buffer.concat([echo, Buffer.alloc(4)]); long.writeUInt16BE(20, 0);
  t.same(decodePptpMessage(long), { ok: true, value: { type: 'EchoRequest', identifier: 7 } }, 'a longer Length is accepted, the tail ignored');
});

t.test('the stream reader splits, joins and gives up when out of step', async (t) => {
  const a = encodePptpMessage({ type: 'EchoRequest', identifier: 1 });
  const b = encodePptpMessage({ type: 'SetLinkInfo', peerCallId: 9, sendAccm: 0xffffffff, receiveAccm: 0 });
  const s = new PptpControlStream();
  const both = Buffer.concat([a, b]);
  t.same(s.push(both.subarray(0, 5)), [], 'half a header: nothing yet');
  const items = s.push(both.subarray(5, 30));
  t.same(items.map((i) => i.ok && i.message.type), ['EchoRequest'], 'the first message once whole');
  t.equal(s.pending, 14);
  t.same(s.push(both.subarray(30)).map((i) => i.ok && i.message.type), ['SetLinkInfo'], 'the second when its tail arrives');
  const unknown = encodePptpMessage({ type: 'EchoRequest', identifier: 1 }); unknown[9] = 40;
  const after = s.push(Buffer.concat([unknown, a]));
  t.same(after.map((i) => (i.ok ? i.message.type : i.fatal)), [false, 'EchoRequest'], 'an unknown type is reported, the stream goes on');
  const bad = s.push(hex('0004 0001 1a2b3c4d'));
  t.same(bad.map((i) => !i.ok && i.fatal), [true], 'a Length below the header is fatal');
  t.same(s.push(a), [], 'and nothing is read after it');
  const s2 = new PptpControlStream();
  t.same(s2.push(hex('0010 0001 deadbeef 0005 0000 00000001')).map((i) => !i.ok && i.fatal), [true], 'a bad cookie is fatal');
});
