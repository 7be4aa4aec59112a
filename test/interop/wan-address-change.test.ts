// Issue 18: the WAN address changes under a live site tunnel (a DHCP lease with a new address, a
// PPPoE redial). `postern run` in a lab namespace gets its WAN address from the interface (mode dhcp),
// dials an IKEv2 site to strongSwan and reports to an MQTT broker on the WAN side. Then the address is
// taken away and another one given (ip addr del/add): the change is logged and sent as the MQTT event
// wan-address-changed (after MQTT reconnected from the new address), IKE and SSTP listen on the new
// address, and the site tunnel comes back from there and carries pings again.
// A remote-access client (strongSwan, PSK, from 192.0.2.10 on the same WAN side) is connected too. IKE
// starts again on the new address, so its session ends with no word to the client (a responder may not
// move an IKE SA, RFC 4555): its SA is left dead, Postern's session list drops it, and the client
// connects again to the new address (as a client whose name now resolves there) and reaches the LAN.
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { hashPassword } from '../../firmware/control/password-hash.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { Mosquitto } from '../lab/peers/mosquitto.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import type { SwanConnection } from '../lab/peers/strongswan-config.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : !hasBinary('mosquitto') ? 'mosquitto is not installed' : false);
const PSK = 'wan-change-site-key-0123456789';
const OLD = '192.0.2.2';
const NEW = '192.0.2.3';
const ROAD = '192.0.2.10'; // the remote-access client, a second address on gwA's WAN side
const ROAD_PSK = 'road-warrior-key-0123456789';

t.test('the WAN address changes under a live IKEv2 site tunnel and a remote-access client: event, listeners, tunnel and client follow', { skip }, async (t) => {
  t.setTimeout(90_000);
  const started = Date.now();
  const lab = Lab.create(twoSitesDirect); // gwA: strongSwan + broker (WAN side); gwB: Postern, WAN 'wan'
  t.teardown(() => lab.teardown());
  await lab.exec('gwA', ['ip', 'addr', 'add', `${ROAD}/24`, 'dev', 'wan']);
  // One charon on gwA: the site's responder on 192.0.2.1 and the remote-access client on ROAD, which
  // knows the gateway under the old address and (after the change) the new one.
  const road = (remote: string): SwanConnection => ({
    localAddrs: [ROAD], remoteAddrs: [remote], proposals: ['aes256gcm16-prfsha256-ecp256'], vips: ['0.0.0.0'],
    local: { auth: 'psk', id: 'road@example.com' }, remote: { auth: 'psk', id: '%any' },
    children: { [remote === OLD ? 'lan' : 'lan-new']: { localTs: ['dynamic'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256gcm16'] } },
  });
  const gwA = await StrongSwan.start(lab, 'gwA', {
    connections: {
      site: {
        // The branch may dial from any address: that is what a DHCP WAN does.
        localAddrs: ['192.0.2.1'], remoteAddrs: ['%any'], proposals: ['aes256gcm16-prfsha256-ecp256'],
        local: { auth: 'psk', id: '192.0.2.1' }, remote: { auth: 'psk', id: '%any' },
        children: { net: { localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256gcm16'] } },
      },
      vpn: road(OLD),
      'vpn-new': road(NEW),
    },
    secrets: [{ kind: 'ike', ids: ['192.0.2.1', OLD, NEW], secret: PSK }, { kind: 'ike', ids: ['road@example.com'], secret: ROAD_PSK }],
  });
  await Mosquitto.start(lab, 'gwA', { address: '192.0.2.1', users: { fleet: 'Fleet-Pass-1' } });
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'dhcp' }; // the address is whatever the interface has
  config.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.admin.passwordHash = hashPassword('Admin-Pass-1234');
  config.listeners.ikev2 = { ...config.listeners.ikev2, enabled: true, auth: 'psk', psk: ROAD_PSK };
  config.sites = [{ name: 'hq', protocol: 'ikev2', remote: '192.0.2.1', localSubnets: ['10.2.0.0/24'], remoteSubnets: ['10.1.0.0/24'], auth: 'psk', psk: PSK, initiate: true, enabled: true }];
  config.telemetry.mqtt = { enabled: true, url: 'mqtt://192.0.2.1:1883', username: 'fleet', password: 'Fleet-Pass-1', prefix: 'postern', deviceId: 'branch', intervalSeconds: 30, commandsEnabled: false };
  const postern = await startPostern(lab, 'gwB', config, (log) => log.includes('"msg":"IKE SA up"') && log.includes('"msg":"telemetry connected"') && log.includes('"msg":"SSTP listening"'));
  const lines = () => postern.log().split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l) as Record<string, unknown>; } catch { return {}; } });
  t.ok(lines().some((r) => r['msg'] === 'IKEv2 listening' && r['address'] === OLD), `IKE bound the WAN interface's address ${OLD}`);
  t.ok(lines().some((r) => r['msg'] === 'SSTP listening' && r['address'] === OLD), 'SSTP bound the same address');
  const ping = () => lab.exec('lanB', ['ping', '-c', '2', '-i', '0.2', '-W', '1', '10.1.0.10']);
  await waitUntil('pings through the site tunnel', 10_000, async () => (await ping()).code === 0);
  t.pass('the site tunnel carries pings');
  const roadStarted = Date.now();
  const roadUp = await gwA.initiate('lan');
  t.equal(roadUp.code, 0, `the remote-access client connects to ${OLD}`);
  const roadPing = () => lab.exec('gwA', ['ping', '-c', '1', '-W', '1', '-I', '10.10.0.1', '10.2.0.10']);
  t.equal((await roadPing()).code, 0, 'and reaches the LAN from its pool address');
  const jar = `${lab.subdir('api')}/cookies`;
  let csrf = '';
  const api = async (method: string, path: string, body?: unknown) => {
    const args = ['curl', '-sS', '--max-time', '10', '-b', jar, '-c', jar, '-X', method, '-H', 'Content-Type: application/json'];
    if (csrf) args.push('-H', `X-CSRF-Token: ${csrf}`);
    if (body !== undefined) args.push('--data', JSON.stringify(body));
    return JSON.parse((await lab.exec('gwB', [...args, `http://127.0.0.1:18080${path}`], 15_000)).stdout || '{}') as Record<string, unknown>;
  };
  csrf = String((await api('POST', '/api/v1/login', { password: 'Admin-Pass-1234' }))['csrfToken']);
  type Session = { id: string; protocol: string; user: string; peer: string; address?: string };
  const sessions = async () => ((await api('GET', '/api/v1/sessions'))['sessions'] ?? []) as Session[];
  const before = await sessions(); // the site's IKE SA is listed too (peer 192.0.2.1)
  t.match(before.filter((s) => s.peer === ROAD), [{ protocol: 'ikev2', user: 'road@example.com', address: '10.10.0.1' }], 'Postern lists the client\'s session');

  let roadMs = Date.now() - roadStarted; // the client's steps alone, for the wall time comment
  const events = lab.spawnDaemon('gwA', 'events', ['mosquitto_sub', '-h', '192.0.2.1', '-u', 'fleet', '-P', 'Fleet-Pass-1', '-t', 'postern/branch/events']);
  await new Promise((r) => setTimeout(r, 500)); // subscribed before the change
  const changedAt = Date.now();
  await lab.exec('gwB', ['ip', 'addr', 'del', `${OLD}/24`, 'dev', 'wan']);
  await lab.exec('gwB', ['ip', 'addr', 'add', `${NEW}/24`, 'dev', 'wan']);

  await waitUntil('the change is seen', 10_000, () => lines().some((r) => r['msg'] === 'WAN address changed' && r['address'] === NEW));
  const seenMs = Date.now() - changedAt;
  t.match(lines().find((r) => r['msg'] === 'WAN address changed'), { interface: 'wan', previous: OLD, address: NEW }, `logged within ${seenMs} ms`);
  await waitUntil('IKE and SSTP on the new address', 10_000, () => lines().some((r) => r['msg'] === 'IKEv2 listening' && r['address'] === NEW) && lines().some((r) => r['msg'] === 'SSTP listening' && r['address'] === NEW));
  t.pass('IKE and SSTP listen on the new address');
  const sstp = await lab.exec('gwA', [process.execPath, '-e', `require('net').connect(443, '${NEW}').on('connect', () => { process.stdout.write('open'); process.exit(0); }).on('error', (e) => { process.stdout.write(e.code); process.exit(1); })`]);
  t.equal(sstp.stdout, 'open', 'the SSTP listener answers on the new address');
  await waitUntil('the tunnel is back', 30_000, async () => (await ping()).code === 0);
  const backMs = Date.now() - changedAt;
  t.pass(`the site tunnel is back from the new address and carries pings (${backMs} ms after the change)`);
  t.ok((await gwA.swanctl(['--list-sas'])).stdout.includes(NEW), 'strongSwan has the IKE SA with the new address');

  // The remote-access client: its session ended with IKE's restart on the new address, unannounced.
  const roadAgainAt = Date.now();
  const listed = await sessions();
  t.ok(listed.some((s) => s.peer === '192.0.2.1'), 'the session list answers (it shows the site\'s new IKE SA)');
  const stale = listed.filter((s) => s.peer === ROAD || before.some((b) => b.id === s.id));
  t.same(stale, [], 'Postern\'s session list no longer shows the stale session (nor any other from before the change)');
  t.ok((await gwA.listSas()).some((sa) => sa.name === 'vpn' && sa.state === 'ESTABLISHED'), 'the client still holds its old SA (Postern sent it nothing)');
  t.not((await roadPing()).code, 0, 'and nothing passes through it');
  await gwA.swanctl(['--terminate', '--ike', 'vpn', '--force', '--timeout', '1']);
  const roadBack = await gwA.initiate('lan-new');
  t.equal(roadBack.code, 0, `the client connects again, to the new address ${NEW}`);
  await waitUntil('the client reaches the LAN again', 5_000, async () => (await roadPing()).code === 0);
  t.pass('and reaches the LAN through the new session');
  const after = (await sessions()).filter((s) => s.peer === ROAD);
  t.match(after, [{ protocol: 'ikev2', user: 'road@example.com', address: '10.10.0.1' }], 'Postern lists the client\'s new session, once');
  t.notOk(before.some((b) => b.id === after[0]?.id), 'a new session, not the stale one');
  roadMs += Date.now() - roadAgainAt;
  const eventLog = () => (existsSync(events.logFile) ? readFileSync(events.logFile, 'utf8') : '');
  await waitUntil('the MQTT event', 20_000, () => eventLog().includes('wan-address-changed'));
  const event = JSON.parse(eventLog().split('\n').find((l) => l.includes('wan-address-changed')) ?? '{}') as { type?: string; details?: Record<string, unknown> };
  t.match(event, { type: 'wan-address-changed', details: { interface: 'wan', previous: OLD, address: NEW } }, 'the fleet console hears of the change over MQTT');
  t.ok(lines().filter((r) => r['msg'] === 'telemetry connected').length >= 2, 'MQTT reconnected from the new address');
  t.comment(`wall ${Date.now() - started} ms, of which the remote-access client's steps ${roadMs} ms`);
});
