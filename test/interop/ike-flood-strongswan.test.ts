// Issue 15.2: IKE_SA_INIT over the per-source rate is answered with a cookie instead of dropped, so
// a flood from behind the victim's NAT (or forged in its name) cannot keep a real initiator out.
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { hasBinary, isRoot } from '../lab/command.ts';
import { posternSite, swanSecrets, swanSite } from '../lab/ike-sites.ts';
import { ikeStatus, startPosternIke } from '../lab/peers/postern-ike.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { twoSitesBehindNat } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';
import { cleanEnv } from '../helpers/env.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);

t.test('issue 15.2: a 200/s IKE_SA_INIT flood from behind the same NAT does not keep strongSwan out', { skip }, async (t) => {
  const lab = Lab.create(twoSitesBehindNat); // lanA (the flooder) and gwA (strongSwan) share the NAT's address
  t.teardown(() => lab.teardown());
  const [gwA, gwB] = await Promise.all([
    StrongSwan.start(lab, 'gwA', { connections: { site: swanSite({ local: '172.16.1.2', remote: '203.0.113.2', proposals: ['aes256-sha256-modp2048'], esp: ['aes256gcm16'] }) }, secrets: swanSecrets() }),
    startPosternIke(lab, 'gwB', { address: '203.0.113.2', connections: [posternSite('203.0.113.1')], logLevel: 'info' }),
  ]);
  const flood = lab.spawnDaemon('lanA', 'ike-flood', [process.execPath, ...tsEntry('test/lab/peers/ike-init-flood.ts'), JSON.stringify({ target: '203.0.113.2', rate: 200, seconds: 20 })], cleanEnv());
  await waitUntil('the flood runs', 20_000, () => existsSync(flood.logFile) && readFileSync(flood.logFile, 'utf8').includes('flooding'));
  // The flood past the per-source rate and its admitted half-open SAs at the cookie threshold (100),
  // so every IKE_SA_INIT needs a cookie: on the per-source rate alone a token freed between two of
  // the flood's bursts lets about one INIT in ten through without one, strongSwan's too.
  await waitUntil('the flood has 100 SAs half-open', 20_000, async () => (await ikeStatus(gwB)).sas.filter((s) => s.state !== 'established').length >= 100);
  const started = Date.now();
  const r = await gwA.initiate('net', 15);
  const seconds = (Date.now() - started) / 1000;
  if (r.code !== 0) t.fail(`strongSwan could not connect under the flood:\n${r.stdout.slice(-2000)}`);
  t.match(gwA.log(400), /received COOKIE notify|N\(COOKIE\)/, 'strongSwan went through the COOKIE round trip');
  t.ok(seconds < 5, `up in ${seconds.toFixed(1)} s while the flood went on (no retransmission needed)`);
  const status = await ikeStatus(gwB);
  t.ok((status.drops['rate-limited'] ?? 0) > 100, `the flood was over the rate: ${status.drops['rate-limited']} requests answered with a cookie`);
  t.equal(status.sas.filter((s) => s.state === 'established').length, 1, 'the real peer is the one established SA');
  process.kill(flood.pid, 'SIGTERM');
  t.notMatch(readFileSync(gwB.daemon.logFile, 'utf8'), /"level":"error"/, 'no errors in Postern');
});
