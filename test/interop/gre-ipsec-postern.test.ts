// GRE over IPsec (issue 25): two `postern run`s in lab namespaces, each with a GRE site to the other
// protected by IPsec (gre.ipsec, PSK): gwA dials an IKEv2 child SA in transport mode for GRE only
// (TS: the two WAN addresses, protocol 47), gwB answers. A raw packet capture on gwB's WAN runs from
// before either gateway starts to the end: it sees ESP and IKE, and not one plain GRE packet, not
// even the keepalives the sites send before the SA is up (the guard rules drop those; gwA counts
// them as failed sends). Keepalives bring both sites up through the SA; LAN to LAN through the GRE
// interface; the API shows the protection up and the configuration has no plain-GRE warning. gwA
// restarted: the site goes down, gwA dials a new SA and the site comes back, LAN to LAN again.
import { existsSync, readFileSync } from 'node:fs';

import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { crossFieldErrors, insecureChoices } from '../../firmware/config/rules.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import { startPostern, type PosternDaemon } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const readLog = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');

const DRIVER = 'drivers/build/Release/postern_dp.node';
const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(DRIVER) ? 'the native driver is not built (make drivers)' : !hasBinary('curl') ? 'curl is not installed' : !hasBinary('python3') ? 'python3 is not installed' : false);
const ADMIN = 'Field-Tech-Pass-77';
const PSK = 'gre-over-ipsec-site-key-1';

function gateway(side: 'A' | 'B'): PosternConfig {
  const a = side === 'A';
  const c = defaultConfig();
  c.system.wan = { interface: 'wan', mode: 'static', address: a ? '192.0.2.1/24' : '192.0.2.2/24' };
  c.system.lan = { interface: a ? 'lan' : 'lanb', address: a ? '10.1.0.1/24' : '10.2.0.1/24' };
  c.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  c.listeners.ikev2.enabled = false;
  c.listeners.sstp.enabled = false;
  c.sites = [{
    name: a ? 'to-b' : 'to-a', protocol: 'gre', remote: a ? '192.0.2.2' : '192.0.2.1', localSubnets: [], remoteSubnets: [a ? '10.2.0.0/24' : '10.1.0.0/24'],
    auth: 'psk', psk: PSK, initiate: a, enabled: true, gre: { address: a ? '10.255.0.1/30' : '10.255.0.2/30', key: 7, keepaliveSeconds: 1, keepaliveRetries: 3, ipsec: true },
  }];
  return c;
}

/** Every IPv4 packet on one interface, a line each: "<protocol> <source> <destination> <time> <length>" (AF_PACKET, python3). */
const CAPTURE = `
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
print('capturing', flush=True)
while True:
    f = s.recv(2048)
    if len(f) >= 34 and f[12:14] == b'\\x08\\x00':
        print(f[23], socket.inet_ntoa(f[26:30]), socket.inet_ntoa(f[30:34]), time.time(), len(f), flush=True)
`;

/** The management API inside a gateway's namespace through curl: first-boot setup and login once, then GETs with the session. */
function apiOf(lab: Lab, host: string) {
  const base = 'http://127.0.0.1:18080/api/v1';
  let cookie: string | undefined;
  const curl = async (method: string, path: string, body: unknown, headers: string[] = [], include = false) =>
    (await lab.exec(host, ['curl', '-s', '--max-time', '20', ...(include ? ['-i'] : []), '-X', method, '-H', 'content-type: application/json', ...headers.flatMap((h) => ['-H', h]), ...(body === undefined ? [] : ['--data', JSON.stringify(body)]), `${base}${path}`], 25_000)).stdout;
  return async (path: string): Promise<string> => {
    if (!cookie) {
      await curl('POST', '/setup', { password: ADMIN });
      cookie = /^set-cookie: ([^;\r\n]+)/im.exec(await curl('POST', '/login', { password: ADMIN }, [], true))?.[1] ?? '';
    }
    return curl('GET', path, undefined, [`cookie: ${cookie}`]);
  };
}

t.test('the configuration: no plain-GRE warning when protected; a protected PSK site needs its key', async (t) => {
  const plain = gateway('A');
  plain.sites[0]!.gre = { ...plain.sites[0]!.gre!, ipsec: false };
  t.ok(insecureChoices(plain).some((w) => /plain GRE is not encrypted/.test(w.message)), 'plain GRE is flagged');
  t.notOk(insecureChoices(gateway('A')).some((w) => /plain GRE/.test(w.message)), 'GRE over IPsec is not');
  t.same(crossFieldErrors(gateway('A')), [], 'a protected site with its PSK is valid');
  const keyless = gateway('A');
  delete keyless.sites[0]!.psk;
  t.match(crossFieldErrors(keyless), [{ path: 'sites[0].psk', code: 'required' }], 'without the PSK it is refused');
});

t.test('Postern ↔ Postern GRE over IPsec: only ESP on the wire, keepalives through the SA, LAN to LAN, restart and back', { skip }, async (t) => {
  t.setTimeout(120_000);
  const lab = Lab.create(twoSitesDirect);
  t.teardown(() => lab.teardown());
  const started = Date.now();
  const capture = lab.spawnDaemon('gwB', 'capture', ['python3', '-u', '-c', CAPTURE, 'wan']);
  await waitUntil('the capture runs', 5_000, () => readLog(capture.logFile).includes('capturing'));
  const wire = () => readLog(capture.logFile).split('\n').filter((l) => /^\d+ /.test(l)).map((l) => l.split(' ') as [string, string, string, string, string]);
  const ups = (d: PosternDaemon) => (d.log().match(/GRE site up/g) ?? []).length;
  const downs = (d: PosternDaemon) => (d.log().match(/GRE site down/g) ?? []).length;
  const ready = (log: string) => log.includes('GRE site started') && log.includes('IKEv2 listening');
  // Both at once: gwA's IKE retransmits until gwB answers.
  const [firstA, gwB] = await Promise.all([startPostern(lab, 'gwA', gateway('A'), ready, { name: 'gwa' }), startPostern(lab, 'gwB', gateway('B'), ready, { name: 'gwb' })]);
  let gwA = firstA;
  const tail = () => `\n--- gwA:\n${gwA.log().split('\n').slice(-15).join('\n')}\n--- gwB:\n${gwB.log().split('\n').slice(-15).join('\n')}`;
  const apiB = apiOf(lab, 'gwB');
  type Site = { name: string; state: string; counters?: Record<string, number> };
  const siteOnB = async (): Promise<Site | undefined> => (JSON.parse(await apiB('/sites')) as { sites: Site[] }).sites[0];

  // 1. The SA comes up (gwA dials), then both sites by keepalives through it.
  await waitUntil('both GRE sites up', 20_000, () => ups(gwA) >= 1 && ups(gwB) >= 1, tail);
  t.comment(`sites up ${Date.now() - started} ms after start`);
  t.match(gwB.log(), /child SA installed/, 'gwB installed the transport child');
  t.match(lab.execSync('gwA', ['ip', 'rule']), /to 192\.0\.2\.2 ipproto (gre|47) lookup 7350/, "gwA steers GRE to the peer into the SA's data plane");
  t.match(lab.execSync('gwA', ['ip', 'rule']), /to 192\.0\.2\.2 ipproto (gre|47) blackhole/, 'and drops what the SA does not take');

  // 2. LAN to LAN through the GRE interface, and the API's view.
  const ping = await lab.exec('lanA', ['ping', '-c', '5', '-i', '0.2', '-W', '2', '10.2.0.10']);
  t.equal(ping.code, 0, `lanA → lanB through GRE over IPsec:\n${ping.stdout}${tail()}`);
  const site = await siteOnB();
  t.match(site, { name: 'to-a', state: 'up', counters: { ipsec: 1, ipsecUp: 1 } }, `gwB's site, protected and up: ${JSON.stringify(site)}`);
  t.ok((site?.counters?.['greKeepalivesHeard'] ?? 0) >= 1, 'its keepalives came back through the SA');
  t.notOk((JSON.parse(await apiB('/sites')) as { sites: Site[] }).sites.some((s) => s.name !== 'to-a'), 'the SA is not listed as a site of its own');

  // 3. gwA restarted: gwB's site goes down by keepalives, gwA dials a new SA, the site is back.
  const downAt = Date.now();
  await gwA.stop();
  await waitUntil('gwB sees the site down', 15_000, () => downs(gwB) >= 1, tail);
  gwA = await startPostern(lab, 'gwA', gateway('A'), ready, { name: 'gwa2', stateDir: gwA.stateDir });
  await waitUntil('both GRE sites up again', 20_000, () => ups(gwA) >= 1 && ups(gwB) >= 2, tail);
  t.comment(`down and back up in ${Date.now() - downAt} ms`);
  const again = await lab.exec('lanB', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']);
  t.equal(again.code, 0, `lanB → lanA over the new SA:\n${again.stdout}${tail()}`);

  // 4. The wire, from before the start: ESP and IKE between the gateways, never plain GRE.
  const packets = wire();
  const gre = packets.filter(([protocol]) => protocol === '47');
  const esp = packets.filter(([protocol]) => protocol === '50');
  t.equal(gre.length, 0, `no plain GRE on gwB's WAN: ${JSON.stringify(gre.slice(0, 5))}${tail()}`);
  t.ok(esp.length >= 16, `ESP both ways (${esp.length} packets)`);
  t.ok(esp.some(([, from]) => from === '192.0.2.1') && esp.some(([, from]) => from === '192.0.2.2'), 'from both gateways');
  const aCounters = gwA.log();
  t.comment(`gwA (second run) log has ${aCounters.split('\n').length} lines; capture saw ${packets.length} IPv4 packets`);
  await gwB.stop();
  await gwA.stop();
  t.comment(`GRE over IPsec lab sequence took ${Date.now() - started} ms`);
});
