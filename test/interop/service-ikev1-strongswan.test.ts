// IKEv1 in the product (issue 19): `postern run` in a lab namespace with an IKEv1 site
// (`protocol: ikev1`) against strongSwan speaking IKEv1 (`version = 1`), and at the same time an
// IKEv2 remote-access client on the same UDP 500/4500: the daemon routes each message by its ISAKMP
// version. Postern dials the IKEv1 site (initiator), then answers strongSwan's Main Mode (responder);
// LAN to LAN pings and an iperf3 flow both times, the site's state and IKE version in the API, and MQTT events naming
// the version.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { SITE_PSK } from '../lab/ike-sites.ts';
import { iperf3 } from '../lab/peers/iperf3.ts';
import { Mosquitto } from '../lab/peers/mosquitto.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoBranchesOneHub } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : !hasBinary('mosquitto') ? 'mosquitto is not installed' : !hasBinary('iperf3') ? 'iperf3 is not installed' : false);
const ADMIN = 'Field-Tech-Pass-77';
const BRANCH = '198.51.100.2'; // gwA1: strongSwan, IKEv1 site (lanA1 10.1.0.0/24)
const ROAD = '198.51.101.2'; // gwA2: strongSwan, IKEv2 remote-access client
const POSTERN = '192.0.2.2'; // gwB: postern run (lanB 10.2.0.0/24)

// Inside the gateway's namespace: first-boot setup, login, the sites list as JSON.
const SITES = `
const base = 'http://127.0.0.1:18080/api/v1';
const json = { 'content-type': 'application/json' };
(async () => {
  await fetch(base + '/setup', { method: 'POST', headers: json, body: JSON.stringify({ password: '${ADMIN}' }) });
  const login = await fetch(base + '/login', { method: 'POST', headers: json, body: JSON.stringify({ password: '${ADMIN}' }) });
  const cookie = (login.headers.get('set-cookie') || '').split(';')[0];
  const sites = await fetch(base + '/sites', { headers: { cookie } }).then((r) => r.json());
  process.stdout.write(JSON.stringify(sites));
})();`;

t.test('postern run: an IKEv1 site both ways and an IKEv2 client on the same UDP 500/4500', { skip }, async (t) => {
  const lab = Lab.create(twoBranchesOneHub);
  t.teardown(() => lab.teardown());
  const mqtt = ['-h', '10.2.0.10', '-u', 'fleet', '-P', 'Fleet-Pass-1'];
  const [branch] = await Promise.all([
    StrongSwan.start(lab, 'gwA1', {
      connections: {
        site: {
          version: 1, localAddrs: [BRANCH], remoteAddrs: [POSTERN], proposals: ['aes256-sha256-modp2048'],
          local: { auth: 'psk', id: BRANCH }, remote: { auth: 'psk', id: POSTERN },
          children: { net: { localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256-sha256'] } },
        },
      },
      secrets: [{ kind: 'ike', ids: [BRANCH, POSTERN], secret: SITE_PSK }],
    }),
    Mosquitto.start(lab, 'lanB', { address: '10.2.0.10', users: { fleet: 'Fleet-Pass-1' } }),
  ]);
  const config = defaultConfig();
  config.system.wan = { interface: 'core', mode: 'static', address: `${POSTERN}/24` };
  config.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.listeners.sstp.enabled = false;
  config.users = [storedUser({ name: 'alice', password: 'Correct-Horse-Battery-7', enabled: true })];
  config.certificates.server = { commonName: 'vpn.example.com', sans: [POSTERN, 'vpn.example.com'] };
  config.telemetry.mqtt = { enabled: true, url: 'mqtt://10.2.0.10:1883', username: 'fleet', password: 'Fleet-Pass-1', prefix: 'postern', deviceId: 'gw-v1', intervalSeconds: 5, commandsEnabled: false };
  config.sites = [{ name: 'branch1', protocol: 'ikev1', remote: BRANCH, localSubnets: ['10.2.0.0/24'], remoteSubnets: ['10.1.0.0/24'], auth: 'psk', psk: SITE_PSK, initiate: true, enabled: true }];
  // The fleet console listens before the daemon dials, so it hears the first tunnel-up.
  const events = lab.exec('lanB', ['mosquitto_sub', ...mqtt, '-t', 'postern/gw-v1/events', '-C', '4', '-W', '45'], 50_000);
  await new Promise((done) => setTimeout(done, 500));
  const service = await startPostern(lab, 'gwB', config, (log) => log.includes('IKEv1 listening'));
  const swanLog = () => branch.log(300).split('\n').filter((l) => /\[(IKE|ENC|CFG)\]/.test(l) && !/ +[0-9]+: /.test(l)).slice(-15).join('\n');
  const tail = () => `\n--- postern:\n${service.log().split('\n').slice(-20).join('\n')}\n--- charon:\n${swanLog()}`;

  // 1. Postern dials the IKEv1 site at start.
  await waitUntil('strongSwan holds the IKEv1 site Postern dialed', 20_000, async () => (await branch.listSas()).some((s) => s.state === 'ESTABLISHED' && s.children.some((c) => c.state === 'INSTALLED')), tail);
  t.match(service.log(), /initiating Main Mode to 198\.51\.100\.2 for site:branch1/, 'Postern initiated Main Mode');
  const ping1 = await lab.exec('lanA1', ['ping', '-c', '5', '-i', '0.2', '-W', '2', '10.2.0.10']);
  t.equal(ping1.code, 0, `lanA1 → lanB through the IKEv1 site Postern dialed:\n${ping1.stdout}${tail()}`);
  const flow = await iperf3(lab, { host: 'lanA1', address: '10.1.0.10' }, 'lanB', { seconds: 2 });
  t.ok(flow.mbitPerSecond > 1, `iperf3 TCP lanB → lanA1 through the site Postern dialed (PSK): ${flow.mbitPerSecond.toFixed(0)} Mbit/s`);

  // 2. The IKEv2 client connects to the same daemon while the IKEv1 site is up.
  const caPem = readFileSync(join(service.stateDir, 'pki', 'ca.pem'), 'utf8');
  const road = await StrongSwan.start(lab, 'gwA2', {
    files: { 'x509ca/postern-ca.pem': caPem },
    connections: {
      vpn: {
        localAddrs: [ROAD], remoteAddrs: [POSTERN], proposals: ['aes256-sha256-modp2048'], vips: ['0.0.0.0'],
        local: { auth: 'eap-mschapv2', id: ROAD, eapId: 'alice' }, remote: { auth: 'pubkey', id: POSTERN },
        children: { lan: { localTs: ['dynamic'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256gcm16'] } },
      },
    },
    secrets: [{ kind: 'eap', ids: ['alice'], secret: 'Correct-Horse-Battery-7' }],
  });
  const r = await road.initiate('lan');
  t.equal(r.code, 0, `the IKEv2 client connected:\n${r.stdout.slice(-1500)}${tail()}`);
  const ping2 = await lab.exec('gwA2', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '-I', '10.10.0.1', '10.2.0.10']);
  t.equal(ping2.code, 0, `the IKEv2 client reaches the LAN:\n${ping2.stdout}`);
  const ping3 = await lab.exec('lanB', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']);
  t.equal(ping3.code, 0, `lanB → lanA1 still through the IKEv1 site beside it:\n${ping3.stdout}`);

  // 3. strongSwan ends the site and dials it itself: Postern answers Main Mode.
  // At once: Postern would dial the site again itself two seconds after it went down.
  t.equal((await branch.swanctl(['--terminate', '--ike', 'site'])).code, 0, 'strongSwan terminates the site');
  const again = await branch.initiate('net');
  t.equal(again.code, 0, `strongSwan dialed Postern over IKEv1:\n${again.stdout.slice(-1500)}${tail()}`);
  t.match(service.log(), /Main Mode from 198\.51\.100\.2:500 for site:branch1: chose/, 'Postern answered as responder');
  t.ok(service.log().split('\n').some((l) => l.includes('"msg":"IKE SA down"') && l.includes('site:branch1')), 'after the first SA went down');
  const ping4 = await lab.exec('lanA1', ['ping', '-c', '5', '-i', '0.2', '-W', '2', '10.2.0.10']);
  t.equal(ping4.code, 0, `lanA1 → lanB through the IKEv1 site strongSwan dialed:\n${ping4.stdout}${tail()}`);
  const answered = await iperf3(lab, { host: 'lanB', address: '10.2.0.10' }, 'lanA1', { seconds: 2 });
  t.ok(answered.mbitPerSecond > 1, `iperf3 TCP lanA1 → lanB through the site Postern answered: ${answered.mbitPerSecond.toFixed(0)} Mbit/s`);
  t.ok((await road.listSas()).some((s) => s.state === 'ESTABLISHED'), 'the IKEv2 client stayed connected throughout');

  // 4. What the technician and the fleet console see.
  const api = await lab.exec('gwB', [process.execPath, '-e', SITES], 20_000);
  const listed = (JSON.parse(api.stdout || '{}') as { sites?: Array<{ name: string; protocol: string; state: string; rxPackets: number }> }).sites?.find((s) => s.name === 'branch1');
  t.match(listed, { protocol: 'ikev1', state: 'up' }, `the API lists the site up, speaking IKEv1: ${api.stdout}${api.stderr}`);
  t.ok((listed?.rxPackets ?? 0) >= 5, `with the packets it carried (${listed?.rxPackets})`);
  const health = JSON.parse((await lab.exec('gwB', [process.execPath, '-e', "fetch('http://127.0.0.1:18080/healthz').then((r) => r.text()).then((b) => process.stdout.write(b))"])).stdout || '{}') as { subsystems?: Record<string, { counters?: Record<string, number> }> };
  t.match(health.subsystems?.['ikev2']?.counters, { 'ikev1.established': 1, 'ike.established': 1 }, `/healthz counts one SA of each version: ${JSON.stringify(health.subsystems?.['ikev2']?.counters)}`);
  t.equal(health.subsystems?.['ikev2']?.counters?.['dropped.ikev1'] ?? 0, 0, 'no IKEv1 message was refused');
  const heard = (await events).stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; details?: Record<string, string> });
  t.ok(heard.some((e) => e.type === 'tunnel-up' && e.details?.['site'] === 'branch1' && e.details?.['protocol'] === 'ikev1'), `MQTT tunnel-up names IKEv1: ${JSON.stringify(heard)}`);
  t.ok(heard.some((e) => e.type === 'tunnel-down' && e.details?.['protocol'] === 'ikev1'), 'and tunnel-down');
  t.ok(heard.some((e) => e.type === 'session-up' && e.details?.['protocol'] === 'ikev2'), 'the IKEv2 client\'s session-up beside them');
  t.notOk(service.log().includes(SITE_PSK), 'the site key never reaches the log');
  await service.stop();
});
