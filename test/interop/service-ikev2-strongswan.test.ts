// The product end to end: `postern run` (the whole service, from its configuration document) in a
// lab namespace as the gateway; a strongSwan client connects the Windows way (EAP-MSCHAPv2, the
// gateway's certificate from the CA Postern made at first boot), gets a pool address, reaches the LAN.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ConfigStore } from '../../firmware/config/store.ts';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { cleanEnv } from '../helpers/env.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { Mosquitto } from '../lab/peers/mosquitto.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { hashPassword } from '../../firmware/control/password-hash.ts';
import { labSkip } from '../lab/skip.ts';
import { tsEntry } from '../helpers/ts-entry.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);

t.test('postern run as the gateway: a Windows-style client connects and reaches the LAN', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect); // gwA: the client; gwB: Postern; lanB behind it
  t.teardown(() => lab.teardown());
  const state = lab.subdir('postern-state');
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'static', address: '192.0.2.2/24' };
  config.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false }; // inside the namespace
  config.admin.passwordHash = hashPassword('Admin-Pass-1234');
  config.users = [storedUser({ name: 'alice', password: 'Correct-Horse-Battery-7', enabled: true })];
  config.certificates.server = { commonName: 'vpn.example.com', sans: ['192.0.2.2', 'vpn.example.com'] };
  config.listeners.sstp.enabled = false;
  // The fleet console's broker sits on the LAN behind the gateway.
  config.telemetry.mqtt = { enabled: true, url: 'mqtt://10.2.0.10:1883', username: 'fleet', password: 'Fleet-Pass-1', prefix: 'postern', deviceId: 'gw-test', intervalSeconds: 5, commandsEnabled: true };
  await Mosquitto.start(lab, 'lanB', { address: '10.2.0.10', users: { fleet: 'Fleet-Pass-1' } });
  const store = await ConfigStore.open(join(state, 'config'), { logger: createLogger({ sink: () => {} }) });
  await store.write(config, { author: 'test' });
  const service = lab.spawnDaemon('gwB', 'postern', [process.execPath, ...tsEntry('firmware/main.ts'), 'run', '--state', state], cleanEnv());
  await waitUntil('Postern listens for IKE', 40_000, () => existsSync(service.logFile) && readFileSync(service.logFile, 'utf8').includes('IKEv2 listening'));
  const caPem = readFileSync(join(state, 'pki', 'ca.pem'), 'utf8');
  const road = await StrongSwan.start(lab, 'gwA', {
    files: { 'x509ca/postern-ca.pem': caPem },
    connections: {
      vpn: {
        localAddrs: ['192.0.2.1'], remoteAddrs: ['192.0.2.2'], proposals: ['aes256-sha1-modp1024'], vips: ['0.0.0.0'],
        local: { auth: 'eap-mschapv2', id: '192.0.2.1', eapId: 'alice' }, remote: { auth: 'pubkey', id: '192.0.2.2' },
        children: { lan: { localTs: ['dynamic'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256-sha1'] } },
      },
    },
    secrets: [{ kind: 'eap', ids: ['alice'], secret: 'Correct-Horse-Battery-7' }],
  });
  const auth = ['-h', '10.2.0.10', '-u', 'fleet', '-P', 'Fleet-Pass-1'];
  await waitUntil('the gateway reports online', 15_000, async () => (await lab.exec('lanB', ['mosquitto_sub', ...auth, '-t', 'postern/gw-test/state', '-C', '1', '-W', '2'])).stdout.includes('"online"'));
  const events = lab.exec('lanB', ['mosquitto_sub', ...auth, '-t', 'postern/gw-test/events', '-C', '1', '-W', '60'], 70_000);
  await new Promise((done) => setTimeout(done, 1000)); // subscribed before the session comes up
  const r = await road.initiate('lan', 30); // generous: the IKE_AUTH signs with RSA, slow on a loaded 2-core box
  if (r.code !== 0) t.fail(`the client could not connect:\n${r.stdout}\n${readFileSync(service.logFile, 'utf8').slice(-3000)}`);
  t.match(r.stdout, /authentication of '192\.0\.2\.2' with RSA[^\n]*successful/, 'the client trusts the certificate Postern issued itself at first boot');
  t.match(r.stdout, /installing new virtual IP 10\.10\.0\.1\b/, 'an address from the default pool');
  t.match(r.stdout, /10\.2\.0\.0\/24/, 'the LAN as the remote selector');
  const ping = await lab.exec('gwA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '-I', '10.10.0.1', '10.2.0.10']);
  t.equal(ping.code, 0, `the client reaches the LAN through the service:\n${ping.stdout}`);
  const health = JSON.parse((await lab.exec('gwB', [process.execPath, '-e', "fetch('http://127.0.0.1:18080/healthz').then((r) => r.text()).then((b) => process.stdout.write(b))"])).stdout || '{}') as { subsystems?: Record<string, { counters?: Record<string, number> }> };
  t.match(health.subsystems?.['ikev2']?.counters, { 'ike.established': 1, 'dataplane.sas': 2, 'dataplane.policies': 2 }, `/healthz shows the IKE SA and its child's SAs in the data plane: ${JSON.stringify(health.subsystems?.['ikev2']?.counters)}`);
  const lines = readFileSync(service.logFile, 'utf8').split('\n');
  t.ok(lines.some((l) => l.includes('"msg":"IKE SA up"') && l.includes('"peer":"alice"')), 'the service logs the session by user');
  t.notOk(readFileSync(service.logFile, 'utf8').includes('Correct-Horse-Battery-7'), 'and never the password');
  t.notOk(readFileSync(service.logFile, 'utf8').includes('Fleet-Pass-1'), 'nor the broker password');
  const event = JSON.parse((await events).stdout.trim() || '{}') as { type?: string; details?: { user?: string; protocol?: string; address?: string } };
  t.match(event, { type: 'session-up', details: { protocol: 'ikev2', user: 'alice', address: '10.10.0.1' } }, 'the fleet console heard of the session over MQTT');
  // The fleet console asks for a report now: the reply, and a status counting the IKEv2 session.
  const status = lab.exec('lanB', ['mosquitto_sub', ...auth, '-t', 'postern/gw-test/status', '-C', '1', '-W', '15']);
  const reply = lab.exec('lanB', ['mosquitto_sub', ...auth, '-t', 'postern/gw-test/reply', '-C', '1', '-W', '15']);
  await new Promise((done) => setTimeout(done, 500));
  await lab.exec('lanB', ['mosquitto_pub', ...auth, '-t', 'postern/gw-test/cmd', '-m', JSON.stringify({ id: 'r1', command: 'report-now' })]);
  t.match(JSON.parse((await reply).stdout.trim() || '{}'), { id: 'r1', ok: true }, 'the command is answered');
  t.match(JSON.parse((await status).stdout.trim() || '{}'), { sessions: { ikev2: 1, sstp: 0 } }, 'the status counts the IKEv2 session');

  // The technician adds a user while alice is connected: IKE takes the new list without a restart,
  // alice stays up; disabling alice then ends her session alone (one Delete to her client).
  let csrf = '';
  const api = async (method: string, path: string, body?: unknown) => {
    const args = ['curl', '-sS', '--max-time', '20', '-b', join(state, 'jar'), '-c', join(state, 'jar'), '-X', method, '-H', 'Content-Type: application/json'];
    if (csrf) args.push('-H', `X-CSRF-Token: ${csrf}`);
    if (body !== undefined) args.push('--data', JSON.stringify(body));
    return JSON.parse((await lab.exec('gwB', [...args, `http://127.0.0.1:18080${path}`], 30_000)).stdout || '{}') as Record<string, unknown>;
  };
  csrf = String((await api('POST', '/api/v1/login', { password: 'Admin-Pass-1234' }))['csrfToken']);
  const spiBefore = (await road.listSas())[0];
  t.match(await api('POST', '/api/v1/users', { name: 'bob', password: 'Another-Horse-Battery-8', enabled: true }), { revision: Number }, 'a user added');
  await waitUntil('IKE takes the new user list', 10_000, () => readFileSync(service.logFile, 'utf8').includes('IKE took the new user list without a restart'));
  const after = await lab.exec('gwA', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '-I', '10.10.0.1', '10.2.0.10']);
  t.equal(after.code, 0, 'alice still reaches the LAN');
  const childAfter = (await road.listSas())[0]?.children[0];
  t.equal(childAfter?.packetsIn, (spiBefore?.children[0]?.packetsIn ?? NaN) + 2, 'on the same child SA, its counters running on: nothing was restarted');
  // A site added (it dials a peer that is not there) and removed again: alice stays up through both.
  const branch = { name: 'branch', protocol: 'ikev2', remote: '192.0.2.99', localSubnets: ['10.2.0.0/24'], remoteSubnets: ['10.50.0.0/24'], auth: 'psk', psk: 'Branch-Key-Long-Enough-42', initiate: true, enabled: true };
  t.match(await api('POST', '/api/v1/sites', branch), { revision: Number }, 'a site added');
  t.match(await api('DELETE', '/api/v1/sites/branch'), { revision: Number }, 'and removed');
  await waitUntil('IKE takes both site changes', 10_000, () => readFileSync(service.logFile, 'utf8').split('IKE took the site changes without a restart').length === 3);
  t.match(readFileSync(service.logFile, 'utf8'), /"dialed":\["branch"\][^\n]*"msg":"IKE took the site changes/, 'the new site was dialed at once');
  const afterSites = await lab.exec('gwA', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '-I', '10.10.0.1', '10.2.0.10']);
  t.equal(afterSites.code, 0, 'alice still reaches the LAN');
  t.equal((await road.listSas())[0]?.children[0]?.packetsIn, (spiBefore?.children[0]?.packetsIn ?? NaN) + 4, 'on the same child SA still');
  t.match(await api('PUT', '/api/v1/users/alice', { name: 'alice', enabled: false }), { revision: Number }, 'alice disabled');
  await waitUntil("alice's client is told her session ended", 10_000, async () => (await road.listSas()).length === 0);
  t.match(readFileSync(service.logFile, 'utf8'), /"user":"alice"[^\n]*"msg":"ending the session of a user who lost access"/, 'the log says whose session ended and why');

  // A change that restarts IKE (MOBIKE off): the client hears a Delete and can reconnect at once,
  // instead of sitting on a dead SA until its dead-peer detection gives up.
  t.match(await api('PUT', '/api/v1/users/alice', { name: 'alice', enabled: true }), { revision: Number }, 'alice enabled again');
  const again = await road.initiate('lan', 30);
  t.equal(again.code, 0, `alice connects again:\n${again.stdout.slice(-800)}`);
  t.match(await api('PUT', '/api/v1/listeners/ikev2', { mobike: false }), { revision: Number }, 'an IKE setting changed: IKE restarts');
  await waitUntil("the client is told of the restart (a Delete)", 10_000, async () => (await road.listSas()).length === 0);
  t.match(readFileSync(service.logFile, 'utf8'), /"sas":1[^\n]*"msg":"IKE stopping: a Delete sent to every peer"/, 'Postern says it told its peer');
});
