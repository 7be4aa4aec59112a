import t from 'tap';
import { classify } from '../../../firmware/doctor/classify.ts';
import { ProblemRing } from '../../../firmware/doctor/problem-ring.ts';
import { controlHarness } from '../../helpers/control-harness.ts';

function filled(): ProblemRing {
  const ring = new ProblemRing();
  ring.record(classify({ kind: 'ike-log', level: 'warn', msg: "EAP refused: MS-CHAPv2 authentication of 'alice' failed", fields: { remote: '198.51.100.7:4500', user: 'alice' } })!, Date.UTC(2026, 11, 5, 9));
  ring.record(classify({ kind: 'ike-log', level: 'warn', msg: "IKE_AUTH refused: shared key mismatch for peer 'branch.example' (connection site:branch)", fields: { remote: '203.0.113.9:4500', peerId: 'branch.example' } })!, Date.UTC(2026, 11, 5, 10));
  ring.record(classify({ kind: 'ppp-auth-failure', protocol: 'sstp', user: 'bob', peer: '198.51.100.8:50000' })!, Date.UTC(2026, 11, 5, 11));
  return ring;
}

t.test('GET /api/v1/problems: newest first, each explained with the client error and the fix', async (t) => {
  const h = await controlHarness(t, () => {}, { problems: filled() });
  const res = await h.call('GET', '/api/v1/problems');
  t.equal(res.status, 200);
  t.same(res.json.problems.map((p: { id: number }) => p.id), [3, 2, 1]);
  t.match(res.json.problems[2], {
    id: 1, time: '2026-12-05T09:00:00.000Z', protocol: 'ikev2', stage: 'eap', cause: 'wrong-password', user: 'alice', source: '198.51.100.7',
    explanation: /user name or the password is wrong/, client: { windows: /^Error 691/ }, fix: /Users page/,
  });
  t.match(res.json.problems[0], { protocol: 'sstp', stage: 'ppp-auth', user: 'bob', client: { windows: /691/ } });
});

t.test('per user, per site, only newer ones, and a limit', async (t) => {
  const h = await controlHarness(t, () => {}, { problems: filled() });
  t.same((await h.call('GET', '/api/v1/problems?user=alice')).json.problems.map((p: { id: number }) => p.id), [1]);
  t.match((await h.call('GET', '/api/v1/problems?site=branch')).json.problems, [{ id: 2, cause: 'psk-mismatch', site: 'branch', peer: 'branch.example', client: { windows: /13801/ } }]);
  t.same((await h.call('GET', '/api/v1/problems?after=1')).json.problems.map((p: { id: number }) => p.id), [3, 2]);
  t.same((await h.call('GET', '/api/v1/problems?limit=1')).json.problems.map((p: { id: number }) => p.id), [3]);
  t.same((await h.call('GET', '/api/v1/problems?user=nobody')).json.problems, []);
  const bad = await h.call('GET', '/api/v1/problems?after=x');
  t.equal(bad.status, 400);
  t.match(bad.json.error, { code: 'POSTERN_ERR_BAD_REQUEST', details: { field: 'after' } });
});

t.test('an API without a doctor lists none; the route needs the administrator', async (t) => {
  const h = await controlHarness(t);
  t.same((await h.call('GET', '/api/v1/problems')).json, { problems: [] });
  const m = h.api.router.match('GET', '/api/v1/problems');
  t.ok(m && 'route' in m && !m.route.public, 'not a public route');
});
