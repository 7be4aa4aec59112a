// A dialed call's outcome (SSTP, L2TP and PPTP sites): the reason it closed with is the first failure
// before the call was up, whatever the teardown ended on. CI once saw a PPTP site's Test report "the
// server disconnected the call" for a refused login: the server's CDN arrived before the dialer's own
// PPP had finished closing after the MS-CHAPv2 Failure.
import t from 'tap';
import { PppCallOutcome } from '../../../firmware/ppp/client-call.ts';

t.test('a login refused, then the server disconnects: closed says the login was refused', async (t) => {
  const outcome = new PppCallOutcome();
  outcome.fail(new Error('authentication failed: E=691 wrong password'));
  outcome.fail(new Error('PPP ended: the server disconnected the call (result 2)'));
  outcome.close('the server disconnected the call (result 2)');
  await t.rejects(outcome.ready, /authentication failed/);
  t.equal(await outcome.closed, 'authentication failed: E=691 wrong password');
});

t.test('a call that was up closes with what ended it', async (t) => {
  const outcome = new PppCallOutcome();
  outcome.up({ localAddress: '10.9.0.2' } as never);
  outcome.fail(new Error('PPP ended: echo timeout'));
  outcome.close('PPP ended: echo timeout');
  t.same(await outcome.ready, { localAddress: '10.9.0.2' });
  t.equal(await outcome.closed, 'PPP ended: echo timeout');
});

t.test('no failure before the end: closed carries the end reason', async (t) => {
  const outcome = new PppCallOutcome();
  outcome.close('hang-up');
  t.equal(await outcome.closed, 'hang-up');
});
