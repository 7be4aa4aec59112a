// The site Test's steps (issue 17): how far a dial got becomes ok / failed / not reached, and a failure
// carries the connection doctor's explanation.
import t from 'tap';
import { l2tpTestResult } from '../../../firmware/sites/l2tp-site-test.ts';
import { ikeTestResult, notAvailable, sstpTestResult } from '../../../firmware/sites/site-test.ts';
import { redialDelay, REDIAL_MAX_MS, SiteRedial } from '../../../firmware/sites/site-redial.ts';
import { pingPlan } from '../../../firmware/sites/tunnel-ping.ts';

const outcomes = (r: { steps: readonly { id: string; outcome: string }[] }) => r.steps.map((s) => `${s.id}:${s.outcome}`);

t.test('IKEv2: no answer to IKE_SA_INIT fails the second step, explained as no-answer', async (t) => {
  const r = ikeTestResult('branch', { address: '198.51.100.7', reached: 'init-sent', children: 0, timedOut: true, elapsedMs: 12_000 });
  t.same(outcomes(r), ['peer:ok', 'ike-sa-init:failed', 'auth:not-reached', 'child:not-reached', 'ping:not-reached']);
  t.equal(r.ok, false);
  t.equal(r.problem?.cause, 'no-answer');
  t.match(r.problem?.fix, /UDP 500 and 4500/);
});

t.test('IKEv2: a PSK refused by the peer fails at authentication with the doctor\'s words', async (t) => {
  const r = ikeTestResult('branch', { address: '198.51.100.7', reached: 'init-done', children: 0, closedReason: 'the peer refused IKE_AUTH: AUTHENTICATION_FAILED', timedOut: false, elapsedMs: 80 });
  t.same(outcomes(r), ['peer:ok', 'ike-sa-init:ok', 'auth:failed', 'child:not-reached', 'ping:not-reached']);
  t.equal(r.problem?.cause, 'peer-refused');
  t.match(r.steps[2]?.detail, /AUTHENTICATION_FAILED/);
});

t.test('IKEv2: all the way, ping answered or not', async (t) => {
  const up = ikeTestResult('branch', { address: '198.51.100.7', reached: 'established', children: 1, timedOut: false, elapsedMs: 90, ping: { target: '10.20.0.1', sent: 2, received: 2 } });
  t.same(outcomes(up), ['peer:ok', 'ike-sa-init:ok', 'auth:ok', 'child:ok', 'ping:ok']);
  t.equal(up.ok, true);
  t.equal(up.problem, undefined);
  const silent = ikeTestResult('branch', { address: '198.51.100.7', reached: 'established', children: 1, timedOut: false, elapsedMs: 90, ping: { target: '10.20.0.1', sent: 2, received: 0 } });
  t.equal(silent.ok, true, 'a host that ignores ping does not fail the tunnel');
  t.match(silent.steps[4], { outcome: 'skipped', detail: /0 of 2/ });
  const established = ikeTestResult('branch', { address: '198.51.100.7', reached: 'established', children: 0, timedOut: true, elapsedMs: 12_000 });
  t.same(outcomes(established).slice(0, 4), ['peer:ok', 'ike-sa-init:ok', 'auth:ok', 'child:failed']);
});

t.test('SSTP: each step, certificate and login failures told apart', async (t) => {
  const tcp = sstpTestResult('hq', { host: 'hq.example.com', port: 443, reached: 'none', closedReason: 'TLS: connect ECONNREFUSED 198.51.100.9:443', timedOut: false, elapsedMs: 3 });
  t.same(outcomes(tcp), ['tls:failed', 'sstp:not-reached', 'ppp:not-reached']);
  t.equal(tcp.problem?.cause, 'no-answer');
  const dns = sstpTestResult('hq', { host: 'hq.example.invalid', port: 443, reached: 'none', closedReason: 'TLS: getaddrinfo ENOTFOUND hq.example.invalid', timedOut: false, elapsedMs: 3 });
  t.match(dns.problem?.explanation, /name does not resolve/);
  const cert = sstpTestResult('hq', { host: 'hq.example.com', port: 443, reached: 'none', closedReason: 'TLS: self-signed certificate', timedOut: false, elapsedMs: 3 });
  t.equal(cert.problem?.cause, 'untrusted-certificate');
  const login = sstpTestResult('hq', { host: 'hq.example.com', port: 443, reached: 'sstp', closedReason: 'PPP authentication failed', timedOut: false, elapsedMs: 50 });
  t.same(outcomes(login), ['tls:ok', 'sstp:ok', 'ppp:failed']);
  t.match(login.problem?.fix, /user name and password/);
  const up = sstpTestResult('hq', { host: 'hq.example.com', port: 443, reached: 'up', address: '10.0.0.2', timedOut: false, alreadyUp: true, elapsedMs: 0 });
  t.equal(up.ok, true);
  t.match(up.steps[2]?.detail, /already up/);
});

t.test('other protocols: not available in this build', async (t) => {
  t.match(notAvailable('old', 'l2tp'), { available: false, ok: false, reason: 'not available in this build', steps: [] });
});

t.test('redial backoff: 2 s doubling, capped, reset when up; the next try is known', async (t) => {
  t.same([0, 1, 2, 3].map(redialDelay), [2000, 4000, 8000, 16000]);
  t.equal(redialDelay(40), REDIAL_MAX_MS);
  let now = 1_000_000;
  const redial = new SiteRedial(() => now);
  t.equal(redial.schedule('a', () => undefined), now + 2000);
  t.equal(redial.schedule('a', () => undefined), now + 4000, 'a second failure waits longer');
  t.equal(redial.nextAt('a'), now + 4000);
  redial.up('a');
  t.equal(redial.nextAt('a'), undefined);
  now += 10;
  t.equal(redial.schedule('a', () => undefined), now + 2000, 'after being up, from the start again');
  redial.stopAll();
  t.equal(redial.nextAt('a'), undefined);
});

t.test('ping plan: from the LAN address when it is a local network of the site', async (t) => {
  t.same(pingPlan('192.168.1.1/24', ['192.168.1.0/24'], ['10.20.0.0/16']), { source: '192.168.1.1', target: '10.20.0.1' });
  t.equal(pingPlan('192.168.1.1/24', ['10.9.0.0/24'], ['10.20.0.0/16']), undefined, 'the LAN is not in the tunnel');
  t.equal(pingPlan('192.168.1.1/24', ['192.168.1.0/24'], ['2001:db8::/64']), undefined);
});

t.test('an L2TP site\'s Test: IPsec, tunnel, PPP; where it stopped says what to check', async (t) => {
  const refused = l2tpTestResult('hq', '198.51.100.7', { reached: 'tunnel', closedReason: 'L2TP session closed: authentication failed', timedOut: false, elapsedMs: 900 });
  t.same(refused.steps.map((s) => [s.id, s.outcome]), [['ipsec', 'ok'], ['tunnel', 'ok'], ['ppp', 'failed']]);
  t.match(refused, { protocol: 'l2tp', ok: false, problem: { cause: 'peer-refused', detail: /authentication failed/ } });
  const noIpsec = l2tpTestResult('hq', '198.51.100.7', { reached: 'none', timedOut: true, elapsedMs: 25_000 });
  t.same(noIpsec.steps.map((s) => s.outcome), ['failed', 'not-reached', 'not-reached']);
  t.match(noIpsec.problem, { cause: 'no-answer', fix: /pre-shared key/ });
  t.match(l2tpTestResult('hq', '198.51.100.7', { reached: 'up', address: '10.10.0.2', timedOut: false, elapsedMs: 3000 }), { ok: true, steps: [{ detail: '198.51.100.7' }, {}, { detail: 'address 10.10.0.2' }] });
});
