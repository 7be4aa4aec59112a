// A site's Test end to end (issue 17): `postern run` in a lab namespace dials a strongSwan site. With
// the wrong shared key the Test stops at authentication, in the connection doctor's words, and the
// Sites list shows the last error and the next retry; with the right key every step passes, the ping
// through the tunnel included.
import { existsSync } from 'node:fs';
import t, { type Test } from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);
const ADMIN = 'Field-Tech-Pass-77';
const RIGHT = 'the-right-site-key-0123456789';
const WRONG = 'not-the-site-key-9876543210';

// Inside the gateway's namespace: setup, login, then the Test and the list, before and after the key is fixed.
const SITE = { name: 'branch', protocol: 'ikev2', remote: '192.0.2.1', localSubnets: ['10.2.0.0/24'], remoteSubnets: ['10.1.0.0/24'], auth: 'psk', psk: WRONG, initiate: true, enabled: true } as const;

const SCRIPT = `
const SITE = ${JSON.stringify(SITE)};
const base = 'http://127.0.0.1:18080/api/v1';
const json = { 'content-type': 'application/json' };
(async () => {
  await fetch(base + '/setup', { method: 'POST', headers: json, body: JSON.stringify({ password: '${ADMIN}' }) });
  const login = await fetch(base + '/login', { method: 'POST', headers: json, body: JSON.stringify({ password: '${ADMIN}' }) });
  const cookie = (login.headers.get('set-cookie') || '').split(';')[0];
  const csrf = (await login.json()).csrfToken;
  const h = { ...json, cookie, 'x-csrf-token': csrf };
  const call = async (method, path, body) => (await fetch(base + path, { method, headers: h, ...(body ? { body: JSON.stringify(body) } : {}) })).json();
  const out = {};
  out.wrong = await call('POST', '/sites/branch/test');
  out.listed = (await call('GET', '/sites')).sites[0];
  out.fixed = await call('PUT', '/sites/branch', { ...SITE, psk: '${RIGHT}' });
  out.right = await call('POST', '/sites/branch/test');
  out.missing = await fetch(base + '/sites/nope/test', { method: 'POST', headers: h }).then((r) => r.status);
  process.stdout.write(JSON.stringify(out));
})();`;

/**
 * gwA: strongSwan speaking `version` (LAN 10.1.0.0/24) with the right key; gwB: `postern run` with the
 * site of that protocol (LAN 10.2.0.0/24), listening once the IKE engine says so.
 */
async function setUp(t: Test, version: 1 | 2) {
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  await StrongSwan.start(lab, 'gwA', {
    connections: {
      site: {
        version, localAddrs: ['192.0.2.1'], remoteAddrs: ['192.0.2.2'], proposals: ['aes256-sha256-modp2048'],
        local: { auth: 'psk', id: '192.0.2.1' }, remote: { auth: 'psk', id: '192.0.2.2' },
        children: { net: { localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256gcm16'] } },
      },
    },
    secrets: [{ kind: 'ike', ids: ['192.0.2.1', '192.0.2.2'], secret: RIGHT }],
  });
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'static', address: '192.0.2.2/24' };
  config.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.listeners.sstp.enabled = false;
  config.sites = [{ ...SITE, ...(version === 1 ? { protocol: 'ikev1' as const } : {}), localSubnets: [...SITE.localSubnets], remoteSubnets: [...SITE.remoteSubnets] }];
  const service = await startPostern(lab, 'gwB', config, (log) => log.includes(version === 1 ? 'IKEv1 listening' : 'IKEv2 listening'));
  return { lab, service };
}

t.test('the Test button of an IKEv2 site against strongSwan: wrong key explained, then every step passes', { skip }, async (t) => {
  const { lab, service } = await setUp(t, 2);
  const run = await lab.exec('gwB', [process.execPath, '-e', SCRIPT], 60_000);
  const out = JSON.parse(run.stdout || '{}') as Record<string, { ok?: boolean; steps?: Array<{ id: string; outcome: string; detail?: string }>; problem?: { cause: string; explanation: string }; lastError?: { cause: string; explanation: string }; nextRetry?: string; state?: string }>;
  const outcomes = (r: typeof out[string] | undefined) => r?.steps?.map((s) => `${s.id}:${s.outcome}`);
  t.same(outcomes(out['wrong']), ['peer:ok', 'ike-sa-init:ok', 'auth:failed', 'child:not-reached', 'ping:not-reached'], `a wrong key stops at authentication: ${JSON.stringify(out['wrong'])}\n${run.stderr}`);
  t.match(out['wrong']?.problem, { cause: 'peer-refused', explanation: /refused this gateway's login/ }, 'explained by the connection doctor');
  t.match(out['listed'], { state: 'down', lastError: { cause: 'peer-refused', problemId: Number, count: Number } }, 'the Sites list shows the last error in words, with its Connection problems entry');
  t.ok(out['listed']?.nextRetry && Date.parse(out['listed'].nextRetry) > Date.now() - 60_000, `and when it is tried next: ${out['listed']?.nextRetry}`);
  t.same(outcomes(out['right']), ['peer:ok', 'ike-sa-init:ok', 'auth:ok', 'child:ok', 'ping:ok'], `with the right key every step passes, ping included: ${JSON.stringify(out['right'])}\n${service.log().split('\n').slice(-15).join('\n')}`);
  t.equal(out['right']?.ok, true);
  t.equal(out['missing'] as unknown, 404, 'an unknown site is 404');
  t.notOk(service.log().includes(RIGHT) || service.log().includes(WRONG), 'the keys never reach the log');
});

// Issue 19: the same Test for an IKEv1 site (strongSwan speaking IKEv1): Main Mode, Quick Mode, ping.
t.test('the Test button of an IKEv1 site against strongSwan: wrong key at Main Mode, then every step passes', { skip }, async (t) => {
  const { lab, service } = await setUp(t, 1);
  const run = await lab.exec('gwB', [process.execPath, '-e', SCRIPT.replace(JSON.stringify(SITE), JSON.stringify({ ...SITE, protocol: 'ikev1' }))], 60_000);
  const out = JSON.parse(run.stdout || '{}') as Record<string, { ok?: boolean; protocol?: string; steps?: Array<{ id: string; outcome: string; detail?: string }>; problem?: { cause: string } }>;
  const outcomes = (r: typeof out[string] | undefined) => r?.steps?.map((s) => `${s.id}:${s.outcome}`);
  t.same(outcomes(out['wrong']), ['peer:ok', 'phase1:failed', 'quick-mode:not-reached', 'ping:not-reached'], `a wrong key stops at Main Mode: ${JSON.stringify(out['wrong'])}\n${run.stderr}`);
  t.match(out['wrong']?.problem, { cause: 'psk-mismatch' }, 'explained as a key mismatch');
  t.same(outcomes(out['right']), ['peer:ok', 'phase1:ok', 'quick-mode:ok', 'ping:ok'], `with the right key every step passes: ${JSON.stringify(out['right'])}\n${service.log().split('\n').slice(-15).join('\n')}`);
  t.match(out['right'], { ok: true, protocol: 'ikev1' });
  t.notOk(service.log().includes(RIGHT) || service.log().includes(WRONG), 'the keys never reach the log');
});
