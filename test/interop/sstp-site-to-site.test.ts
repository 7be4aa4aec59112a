// SSTP site-to-site between two Postern gateways: gwA, behind a masquerading NAT, dials gwB over TLS
// on 443 as the site's user (gwB's certificate pinned by its SHA-256 fingerprint); each side routes the
// other's LAN through the call. Both LANs reach each other, through gwB's driver and gwA's (issue 23:
// TLS and IP in C at both ends, JavaScript carrying hardly a packet); when gwB restarts, gwA redials by itself.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesBehindNat } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { kernelHasTls } from '../helpers/kernel-tls.ts';
import { storedUser } from '../../firmware/config/users.ts';

const PASSWORD = 'Branch-A-Site-Pass-42';
const count = (text: string, msg: string) => text.split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).length;

function answering(): PosternConfig {
  const c = defaultConfig();
  c.system.wan = { interface: 'out', mode: 'static', address: '203.0.113.2/24' };
  c.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  c.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  c.certificates.server = { commonName: '203.0.113.2', sans: ['203.0.113.2'] };
  c.listeners.ikev2.enabled = false;
  c.pools = [{ name: 'clients', ipv4: '10.10.0.0/24', dns: [] }];
  c.users = [storedUser({ name: 'branch-a', password: PASSWORD, enabled: true })];
  c.sites = [{ name: 'branch-a', protocol: 'sstp', remote: '203.0.113.1', username: 'branch-a', localSubnets: ['10.2.0.0/24'], remoteSubnets: ['10.1.0.0/24'], auth: 'psk', initiate: false, enabled: true }];
  return c;
}

function dialing(fingerprint: string): PosternConfig {
  const c = defaultConfig();
  c.system.wan = { interface: 'wan', mode: 'static', address: '172.16.1.2/24', gateway: '172.16.1.1' };
  c.system.lan = { interface: 'lan', address: '10.1.0.1/24' };
  c.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  c.listeners.ikev2.enabled = false;
  c.listeners.sstp.enabled = false;
  c.sites = [{ name: 'hq', protocol: 'sstp', remote: '203.0.113.2', username: 'branch-a', password: PASSWORD, serverFingerprint: fingerprint, localSubnets: ['10.1.0.0/24'], remoteSubnets: ['10.2.0.0/24'], auth: 'psk', initiate: true, enabled: true }];
  return c;
}

t.test('SSTP site-to-site through NAT: both LANs reach each other; gwA redials after gwB restarts', async (t) => {
  const lab = Lab.create(twoSitesBehindNat);
  t.teardown(() => lab.teardown());
  const hq = await startPostern(lab, 'gwB', answering(), (log) => log.includes('SSTP listening'), { name: 'postern-hq' });
  const fingerprint = new X509Certificate(readFileSync(join(hq.stateDir, 'pki', 'server.pem'))).fingerprint256;
  const branch = await startPostern(lab, 'gwA', dialing(fingerprint), (log) => log.includes('"msg":"SSTP site up"'), { name: 'postern-branch' });
  t.pass(`gwA dialed gwB (pinned ${fingerprint.slice(0, 11)}…)`);
  await waitUntil('gwB routes the branch', 10_000, () => hq.log().includes('"msg":"SSTP site up"'));

  t.match(lab.execSync('lanA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.10']), / 0% packet loss/, 'lanA reaches lanB');
  t.match(lab.execSync('lanB', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']), / 0% packet loss/, 'lanB reaches lanA (the answering side routes the branch LAN)');
  t.match(lab.execSync('gwB', ['ip', 'route', 'show', '10.1.0.0/24']), /dev postern0/, 'gwB routes exactly the branch subnet into the call');
  t.match(lab.execSync('gwA', ['ip', 'route', 'show', '10.2.0.0/24']), /dev postern0/, 'gwA routes the HQ subnet into its call');
  // Issue 23: gwB runs the call's TLS in the driver and its IP in C (the default data path).
  const health = await lab.exec('gwB', [process.execPath, '-e', "fetch('http://127.0.0.1:18080/healthz').then((r) => r.json()).then((h) => console.log(JSON.stringify(h.subsystems.sstp.counters)))"], 15_000);
  const counters = JSON.parse(health.stdout.trim() || '{}') as Record<string, number>;
  t.ok(counters['driverHandovers']! >= 1 && counters['sstp.dataPath.sessions'] === 1, `gwB carries the call in the driver: ${health.stdout.trim()}`);
  t.ok(counters['sstp.dataPath.packetsIn']! >= 6 && counters['sstp.dataPath.packetsOut']! >= 6, 'the pings each way crossed the driver at gwB');
  t.ok((counters['sstp.javascriptPackets'] ?? 99) < 6, `hardly any IP crossed JavaScript at gwB (${counters['sstp.javascriptPackets']})`);
  // kTLS (issue 23): where the kernel has no tls module (this CI's), gwB's call stays on the driver's OpenSSL, counted and said once.
  if (kernelHasTls()) t.ok(counters['ktlsCalls']! >= 1 && counters['ktlsFallbacks'] === 0, `gwB's call is on kTLS: ${health.stdout.trim()}`);
  else {
    t.ok(counters['ktlsCalls'] === 0 && counters['ktlsFallbacks']! >= 1, `no tls module: gwB's call stays on the driver's OpenSSL (ktlsCalls ${counters['ktlsCalls']}, ktlsFallbacks ${counters['ktlsFallbacks']})`);
    t.equal(count(hq.log(), 'kTLS unavailable: the kernel has no tls module (ENOENT); SSTP records stay in the driver\'s OpenSSL'), 1, 'and gwB says why, once');
  }
  // And gwA dials on the driver's TLS, its IP in C once the HQ subnet leads to the call.
  t.match(branch.log(), /"msg":"SSTP call's IP in the driver"/, 'gwA carries its call\'s IP in the driver');
  t.match(branch.log(), kernelHasTls() ? /"records":"kTLS"[^\n]*"msg":"SSTP call's IP in the driver"/ : /"records":"OpenSSL: errno 2 \(no tls module\)"[^\n]*"msg":"SSTP call's IP in the driver"/,
    'gwA says who seals its dialed call\'s records (the driver\'s OpenSSL without a tls module)');
  t.notMatch(branch.log(), /SSTP dialing on Node's TLS/, 'gwA did not fall back to Node\'s TLS');

  await hq.stop();
  t.equal(lab.execSync('gwB', ['ip', 'route', 'show', '10.1.0.0/24']).trim(), '', 'a stopped gateway leaves no site route behind');
  await waitUntil('gwA sees the call go', 15_000, () => count(branch.log(), 'SSTP site down') >= 1);
  const again = await startPostern(lab, 'gwB', undefined, (log) => log.includes('SSTP listening'), { name: 'postern-hq-2', stateDir: hq.stateDir });
  await waitUntil('gwA redials', 30_000, () => count(branch.log(), 'SSTP site up') >= 2);
  await waitUntil('gwB routes the branch again', 10_000, () => again.log().includes('"msg":"SSTP site up"'));
  t.match(lab.execSync('lanA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.10']), / 0% packet loss/, 'and the LANs reach each other again');
  t.notMatch(branch.log() + hq.log() + again.log(), new RegExp(PASSWORD), 'the site password never reaches a log');
});
