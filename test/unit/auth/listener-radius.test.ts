// Issue 21, L2TP through RADIUS: listeners.l2tp.auth = radius opens the RADIUS client for the
// listener, and the one PPP MS-CHAPv2 authenticator (pppAuthenticatorFor, as the L2TP shell builds
// it) asks a RADIUS server on loopback (a small one built from the codec, answering as FreeRADIUS's
// mschap module does): the real MS-CHAPv2 peer accepts the Success and both sides hold the same keys;
// the Access-Request carries L2TP's NAS attributes and the caller's address; the local password is
// refused by the server; accounting Start and Stop reach it with the address and the cause.
import { createSocket, type Socket } from 'node:dgram';
import t from 'tap';
import { pppAuthenticatorFor } from '../../../firmware/access/ppp-authenticators.ts';
import { calledStationOf, listenerAuthOf, openListenerRadius } from '../../../firmware/auth/listener-radius.ts';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { generateAuthenticatorResponse, generateNtResponse, getAsymmetricStartKey, getMasterKey, hashNtPasswordHash, ntPasswordHash } from '../../../firmware/crypto/mschapv2.ts';
import { credentialFromPassword } from '../../../firmware/crypto/user-credential.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { Mschapv2Peer } from '../../../firmware/ppp/chap/mschapv2-peer.ts';
import { Attr, integerOf, ipv4Of, textAttr, textOf } from '../../../firmware/radius/attributes.ts';
import { replyMessageOf } from '../../../firmware/radius/reply-message.ts';
import { signResponse } from '../../../firmware/radius/authenticators.ts';
import { decodeMsChap2Response, MsAttr, VENDOR_MICROSOFT } from '../../../firmware/radius/microsoft.ts';
import { Code, decodeRadiusPacket, type RadiusAttribute, type RadiusPacket } from '../../../firmware/radius/packet.ts';
import { encryptSaltedKey } from '../../../firmware/radius/salted-key.ts';
import { encodeVendorAttribute, vendorAttributes } from '../../../firmware/radius/vendor-specific.ts';
import { Secret } from '../../../firmware/util/secret.ts';

const SECRET = new Secret<Uint8Array>(Buffer.from('l2tp-radius-secret'));
const RADIUS_PASSWORD = credentialFromPassword('Radius-Pass-21');

const bind = (s: Socket) => new Promise<number>((resolve) => s.bind(0, '127.0.0.1', () => resolve(s.address().port)));

/** An MS-CHAPv2 RADIUS server on loopback: alice's password is Radius-Pass-21; accounting acknowledged. */
async function miniRadius() {
  const seen: RadiusPacket[] = [];
  const auth = createSocket('udp4');
  const acct = createSocket('udp4');
  const answer = (s: Socket, bytes: Uint8Array, port: number, build: (p: RadiusPacket) => [number, RadiusAttribute[]]) => {
    const d = decodeRadiusPacket(bytes);
    if (!d.ok) return;
    seen.push(d.value);
    const [code, attributes] = build(d.value);
    s.send(signResponse(code, d.value.identifier, attributes, d.value.authenticator, SECRET, code !== Code.AccountingResponse), port, '127.0.0.1');
  };
  auth.on('message', (bytes, from) => answer(auth, bytes, from.port, (p) => {
    const ms = (type: number) => vendorAttributes(p.attributes).attributes.find((a) => a.vendorId === VENDOR_MICROSOFT && a.vendorType === type)?.value;
    const user = textOf(p.attributes, Attr.UserName) ?? '';
    const challenge = ms(MsAttr.MsChapChallenge)!;
    const r = decodeMsChap2Response(ms(MsAttr.MsChap2Response)!);
    if (!r.ok || user !== 'alice' || !Buffer.from(generateNtResponse(challenge, r.value.peerChallenge, user, RADIUS_PASSWORD)).equals(Buffer.from(r.value.ntResponse))) {
      return [Code.AccessReject, [encodeVendorAttribute(VENDOR_MICROSOFT, MsAttr.MsChapError, Buffer.from('\x01E=691 R=0 V=3', 'latin1')),
        textAttr(Attr.ReplyMessage, 'Password expired:'), textAttr(Attr.ReplyMessage, '\ncall the helpdesk')]];
    }
    const success = `S=${generateAuthenticatorResponse(RADIUS_PASSWORD, r.value.ntResponse, r.value.peerChallenge, challenge, user).slice(2)}`;
    const master = getMasterKey(hashNtPasswordHash(ntPasswordHash(RADIUS_PASSWORD)), r.value.ntResponse);
    // RFC 2548 §2.4.2-3: the keys as the NAS uses them (send = the server side's MasterSendKey).
    const key = (type: number, send: boolean, salt: number) => encodeVendorAttribute(VENDOR_MICROSOFT, type, encryptSaltedKey(getAsymmetricStartKey(master, 16, send, true), salt, SECRET, p.authenticator));
    return [Code.AccessAccept, [
      encodeVendorAttribute(VENDOR_MICROSOFT, MsAttr.MsChap2Success, Buffer.concat([Uint8Array.of(r.value.ident), Buffer.from(success, 'latin1')])),
      key(MsAttr.MsMppeSendKey, true, 0x8001), key(MsAttr.MsMppeRecvKey, false, 0x8002),
    ]];
  }));
  acct.on('message', (bytes, from) => answer(acct, bytes, from.port, () => [Code.AccountingResponse, []]));
  const [authPort, acctPort] = [await bind(auth), await bind(acct)];
  return { seen, authPort, acctPort, close: () => { auth.close(); acct.close(); } };
}

t.test('L2TP with auth radius: MS-CHAPv2 checked by the RADIUS server, its keys used, accounting sent', async (t) => {
  const server = await miniRadius();
  t.teardown(server.close);
  const config = defaultConfig();
  t.equal(listenerAuthOf(config, 'l2tp'), 'local', 'local users unless configured');
  config.listeners.l2tp.auth = 'radius';
  config.radius = { nasIdentifier: 'branch-7', nasIpAddress: '192.0.2.77', servers: [{ name: 'lab', address: '127.0.0.1', authPort: server.authPort, acctPort: server.acctPort, secret: 'l2tp-radius-secret' }] };
  const logs = memorySink();
  const localUsers = (name: string) => (name === 'alice' ? credentialFromPassword('Local-Pass-21') : undefined);
  const radius = await openListenerRadius(config, 'l2tp', localUsers, createLogger({ sink: logs.sink }), undefined, '203.0.113.1');
  t.ok(radius, 'a RADIUS client for the listener');
  t.teardown(() => radius?.close());
  let n = 0;
  const random = (len: number) => Uint8Array.from({ length: len }, () => (n++ * 29) & 0xff);

  const login = async (password: string) => {
    let woken: () => void = () => {};
    const wake = new Promise<void>((resolve) => (woken = resolve));
    const auth = pppAuthenticatorFor('mschapv2', { users: localUsers, random, verifier: radius!.verifier('198.51.100.7'), wake: () => woken() })!;
    const peer = new Mschapv2Peer({ user: 'alice', password: new Secret(password), random });
    t.same(auth.receive(peer.receive(auth.start(0).send[0]!).send[0]!, 0).send, [], 'nothing sent while RADIUS decides');
    await wake;
    const verdict = auth.tick(1);
    return { verdict, peer: peer.receive(verdict.send[0]!) };
  };

  const ok = await login('Radius-Pass-21');
  t.match(ok.verdict.outcome, { ok: true, user: 'alice' }, 'the RADIUS password is accepted');
  t.ok(ok.peer.outcome?.ok, 'the peer checked the S= that came from the server (mutual authentication)');
  const ours = ok.verdict.outcome?.ok ? ok.verdict.outcome.keys?.hlak?.reveal() : undefined;
  const theirs = ok.peer.outcome?.ok ? ok.peer.outcome.keys?.hlak?.reveal() : undefined;
  t.ok(ours && theirs && Buffer.from(ours).equals(Buffer.from(theirs)), 'the same master keys on both sides (ours from MS-MPPE-Send/Recv-Key)');
  const request = server.seen[0]!;
  t.equal(request.code, Code.AccessRequest);
  t.equal(textOf(request.attributes, Attr.CallingStationId), '198.51.100.7', 'Calling-Station-Id: the caller\'s address');
  t.equal(textOf(request.attributes, Attr.NasIdentifier), 'branch-7');
  t.equal(ipv4Of(request.attributes, Attr.NasIpAddress), '192.0.2.77', 'NAS-IP-Address beside it, as configured');
  t.equal(integerOf(request.attributes, Attr.FramedProtocol), 1, 'Framed-Protocol PPP');
  t.same(Array.from(request.attributes.find((a) => a.type === Attr.TunnelType)!.value), [0, 0, 0, 3], 'Tunnel-Type L2TP (RFC 2868, untagged)');
  t.equal(textOf(request.attributes, Attr.CalledStationId), '203.0.113.1', 'Called-Station-Id: the address the listener answers on');
  t.equal(integerOf(request.attributes, Attr.NasPortType), 5, 'NAS-Port-Type Virtual');
  t.equal(integerOf(request.attributes, Attr.ServiceType), 2, 'Service-Type Framed');
  t.same(Array.from(request.attributes.find((a) => a.type === Attr.TunnelMediumType)!.value), [0, 0, 0, 1], 'Tunnel-Medium-Type IPv4');

  const refused = await login('Local-Pass-21');
  t.match(refused.verdict.outcome, { ok: false, user: 'alice', reason: /lab: reject.*\(radius\)/ }, 'the local password is not the server\'s: refused by it');
  t.match(refused.peer.outcome, { ok: false, reason: /E=691/ });
  t.match(logs.records.find((r) => r.msg === 'RADIUS Reply-Message'), { answer: 'reject', user: 'alice', server: 'lab', message: 'Password expired: call the helpdesk' }, 'the Reject\'s Reply-Message logged, both parts in order, the newline a space');

  const session = { id: 1, user: 'alice', ipv4: '10.10.0.5', peer: '198.51.100.7', since: Date.now() - 2000, bytesIn: 1234, bytesOut: 5678 };
  t.ok(await radius!.accounting.start(session), 'Start acknowledged');
  t.ok(await radius!.accounting.stop(session, 'the client closed the session'), 'Stop acknowledged');
  // The gateway's Accounting-On (RFC 2866 §5.1) came first, once: this process's first listener to open RADIUS.
  const accounting = server.seen.filter((p) => p.code === Code.AccountingRequest);
  t.equal(accounting.filter((p) => integerOf(p.attributes, Attr.AcctStatusType) === 7).length, 1, 'one Accounting-On');
  const [start, stop] = accounting.filter((p) => integerOf(p.attributes, Attr.AcctStatusType) !== 7);
  t.equal(integerOf(start!.attributes, Attr.AcctStatusType), 1);
  t.equal(ipv4Of(start!.attributes, Attr.FramedIpAddress), '10.10.0.5', 'Framed-IP-Address');
  for (const record of [start!, stop!]) t.same([textOf(record.attributes, Attr.CallingStationId), textOf(record.attributes, Attr.CalledStationId)], ['198.51.100.7', '203.0.113.1'], 'Calling- and Called-Station-Id in every record');
  for (const record of accounting) t.equal(ipv4Of(record.attributes, Attr.NasIpAddress), '192.0.2.77', 'NAS-IP-Address in every accounting record, Accounting-On included');
  t.equal(integerOf(stop!.attributes, Attr.AcctStatusType), 2);
  t.equal(integerOf(stop!.attributes, Attr.AcctInputOctets), 1234);
  t.equal(integerOf(stop!.attributes, Attr.AcctTerminateCause), 1, 'User-Request');
  t.equal(textOf(start!.attributes, Attr.AcctSessionId), textOf(stop!.attributes, Attr.AcctSessionId), 'one Acct-Session-Id');
  t.notMatch(JSON.stringify(logs.records), /l2tp-radius-secret|Radius-Pass-21/, 'no secret or password in the log');
});

t.test('Called-Station-Id: the address a listener is bound to, none when it listens on every address', async (t) => {
  t.equal(calledStationOf('192.0.2.1'), '192.0.2.1');
  t.equal(calledStationOf('2001:db8::1'), '2001:db8::1');
  t.equal(calledStationOf('0.0.0.0'), undefined);
  t.equal(calledStationOf('::'), undefined);
});

t.test('Reply-Message for the log: none without one, control characters and length bounded', async (t) => {
  t.equal(replyMessageOf([textAttr(Attr.UserName, 'alice')]), undefined);
  t.equal(replyMessageOf([textAttr(Attr.ReplyMessage, 'a\r\n{"msg":"forged"}\u0007')]), 'a {"msg":"forged"}', 'a forged log line stays on the one line');
  const long = Array.from({ length: 6 }, () => textAttr(Attr.ReplyMessage, 'x'.repeat(250)));
  t.equal(replyMessageOf(long)!.length, 1001, '1,500 characters logged as 1,000 and an ellipsis');
});
