// PPP session accounting: Start/Stop records with one Acct-Session-Id, octets (Gigawords past 4 GiB),
// session time and the RFC 2866 terminate cause read from the shell's reason.
import t from 'tap';
import { Attr, integerOf, ipv4Of, textOf } from '../../../firmware/radius/attributes.ts';
import type { RadiusResult } from '../../../firmware/radius/client-engine.ts';
import type { RadiusAttribute } from '../../../firmware/radius/packet.ts';
import { SessionAccounting, terminateCauseOf } from '../../../firmware/radius/session-accounting.ts';

t.test('terminate causes from the shell\'s reasons', async (t) => {
  t.equal(terminateCauseOf('the client closed the connection'), 'UserRequest');
  t.equal(terminateCauseOf('the client cleared the call'), 'UserRequest', 'PPTP: the client\'s Call-Clear-Request (RFC 2866 §5.10: the user ended it)');
  t.equal(terminateCauseOf('peer sent CDN, result 3'), 'UserRequest', 'L2TP: the client\'s CDN');
  t.equal(terminateCauseOf('peer sent StopCCN, result 1'), 'UserRequest', 'L2TP: the client\'s StopCCN');
  t.equal(terminateCauseOf('disconnected by the administrator'), 'AdminReset');
  t.equal(terminateCauseOf('SSTP stopped'), 'AdminReboot');
  t.equal(terminateCauseOf('no echo reply: peer dead'), 'LostCarrier');
  t.equal(terminateCauseOf('the user lost access'), 'LostCarrier');
  t.equal(terminateCauseOf('something else'), 'NasRequest');
});

t.test('Start and Stop share the Acct-Session-Id; Stop carries time, octets and cause', async (t) => {
  const sent: RadiusAttribute[][] = [];
  let answer: RadiusResult['outcome'] = 'accounting-response';
  const client = { account: async (a: readonly RadiusAttribute[]) => { sent.push([...a]); return (answer === 'timeout' ? { outcome: 'timeout', tried: [] } : { outcome: answer, server: 's', packet: { code: 5, identifier: 0, authenticator: new Uint8Array(16), attributes: [] }, microsoft: { malformed: 0 } }) as RadiusResult; } };
  let now = 1_000_000;
  const acct = new SessionAccounting({ client, nas: { identifier: 'gw' }, runId: 'abcd', now: () => now });
  const session = { id: 7, user: 'alice', ipv4: '10.10.0.1', peer: '192.0.2.10', since: now, bytesIn: 5_000_000_000, bytesOut: 12 };
  t.equal(await acct.start(session), true);
  now += 90_500;
  t.equal(await acct.stop(session, 'the client closed the connection'), true);
  const [start, stop] = sent;
  t.equal(textOf(start!, Attr.AcctSessionId), 'abcd-7');
  t.equal(textOf(stop!, Attr.AcctSessionId), 'abcd-7');
  t.equal(ipv4Of(start!, Attr.FramedIpAddress), '10.10.0.1');
  t.equal(textOf(start!, Attr.CallingStationId), '192.0.2.10');
  t.equal(integerOf(stop!, Attr.AcctSessionTime), 91);
  t.equal(integerOf(stop!, Attr.AcctInputGigawords), 1);
  t.equal(integerOf(stop!, Attr.AcctOutputOctets), 12);
  t.equal(integerOf(stop!, Attr.AcctTerminateCause), 1, 'User-Request');
  answer = 'timeout';
  t.equal(await acct.start({ ...session, id: 8 }), false, 'unacknowledged: reported as not sent');
});

t.test('a CoA\'s Acct-Interim-Interval starts Interim-Updates for a session that had none, and stop ends them', async (t) => {
  const sent: RadiusAttribute[][] = [];
  const client = { account: async (a: readonly RadiusAttribute[]) => { sent.push([...a]); return { outcome: 'accounting-response', server: 's', packet: { code: 5, identifier: 0, authenticator: new Uint8Array(16), attributes: [] }, microsoft: { malformed: 0 } } as RadiusResult; } };
  const acct = new SessionAccounting({ client, nas: { identifier: 'gw' }, runId: 'abcd', interimMinimumSeconds: 0 });
  const session = { id: 3, user: 'alice', ipv4: '10.10.0.1', peer: '192.0.2.10', since: Date.now(), bytesIn: 100, bytesOut: 200 };
  await acct.start(session, () => session);
  t.equal(acct.interimSessions, 0, 'no interval from the server nor the config: no Interim-Updates');
  acct.changeInterim(session, 1, () => ({ ...session, bytesIn: 4242 }));
  t.equal(acct.interimSessions, 1, 'the CoA\'s interval runs');
  const interims = () => sent.filter((a) => integerOf(a, Attr.AcctStatusType) === 3);
  for (let i = 0; i < 100 && interims().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
  t.equal(integerOf(interims()[0]!, Attr.AcctInputOctets), 4242, 'an Interim-Update with the live counters');
  acct.changeInterim(session, 3600, () => session);
  t.equal(acct.interimSessions, 1, 'changed again: one timer, not two');
  await acct.stop(session, 'the client closed the connection');
  t.equal(acct.interimSessions, 0, 'Stop ends them');
});
