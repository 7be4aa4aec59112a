// PPTP remote access against `postern run` (issue 22), with Linux's own client in the VM lab's guest:
// pptp-linux (control connection on TCP 1723, enhanced GRE on a raw socket) under pppd with
// MS-CHAPv2 (and EAP-MSCHAPv2) and `require-mppe-128`. A wrong password is refused and counted; the right one brings
// PPP up with MPPE-128, a pool address and the pool's DNS, a DHCPINFORM answered with the LAN's route; a host on Postern's LAN answers pings
// through the tunnel, 10 MB each way to and from it intact (BULK_MB), carried by the driver's PPP data
// path with MPPE in C (issue 22: its counters rise, hardly a packet crosses JavaScript); the session is in the API (a user added leaves it up) and the API's disconnect
// ends it in the guest; the client dials again and hangs up. All of it under a TCP 1723 flood from
// another host (4 addresses, 200 idle connections that never send SCCRQ, reopened when closed): the
// per-source limit and the 10 s setup timeout keep it from stopping the real client. Last, PPTP is
// switched to RADIUS through the API (listeners.pptp.auth = radius, issue 21): FreeRADIUS on the LAN
// checks carol's MS-CHAPv2, its MPPE keys key MPPE-128, and it records the call's Start and Stop;
// with legacyAuth (and MPPE optional) set in the same request, pppd logging in with PAP only
// (User-Password) and with CHAP-MD5 only (CHAP-Password + CHAP-Challenge) is refused with a wrong
// password and let in with the right one, FreeRADIUS deciding; carol's MS-CHAPv2 call is then ended by
// FreeRADIUS's radclient (RFC 5176 Disconnect-Request to the gateway's DAS): Stop with Admin-Reset
// and the ping's packets counted (the legacy logins come after it). Then MS-CHAPv1 (RFC 2433) only,
// with `require-mppe-128`: refused with a wrong password, up with the right one and MPPE-128 keyed
// from FreeRADIUS's MS-CHAP-MPPE-Keys; last, PPTP switched back to the local users through the API,
// alice's MS-CHAPv1 call with MPPE-128 keyed from her NT hash. One VM boot.
// Topology: vmRemoteAccess (the guest behind its home router, Postern's WAN 192.0.2.2, LAN 10.2.0.0/24).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { ntHashHex } from '../../firmware/crypto/user-credential.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary } from '../lab/command.ts';
import { FreeRadius } from '../lab/peers/freeradius.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { VM_REMOTE, vmRemoteAccess } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { Vm, vmMissing } from '../lab/vm/vm.ts';
import { labSkip } from '../lab/skip.ts';

const skip = labSkip(vmMissing() ?? (hasBinary('freeradius') ? null : 'not installed: freeradius'));

const PASSWORD = 'Correct-Horse-Battery-7';
const ADMIN = 'Field-Tech-Pass-77';
const SERVER = VM_REMOTE.server;
const LAN_HOST = VM_REMOTE.lanHost;
/** An address the test puts on Postern's host to tell the guest that the API is done with the session. */
const GO_API = '192.0.2.98';
/** And that PPTP now checks passwords with RADIUS. */
const GO_RADIUS = '192.0.2.97';
/** And that it is back to the local users (MS-CHAPv1 from an NT hash). */
const GO_LOCAL = '192.0.2.96';
const RADIUS_SECRET = 'pptp-radius-shared-secret';
const RADIUS_PASSWORD = 'Radius-Pass-22';
const DAS_SECRET = 'pptp-das-secret-21';
/** Idle connections to TCP 1723 from 4 addresses of the `internet` host: more than the per-source limit (32) lets in. */
const FLOOD = { count: 200, reopenPerSecond: 50, seconds: 90 };
/** Bulk data each way through the driver's PPP data path (PPP, MPPE, enhanced GRE in C): issue 22's proof, 10 MB each way. */
const BULK_MB = 10;
/**
 * Calls at once from the guest, one user each (a pool lease is per user): pptp-linux's call manager
 * puts them all on one control connection. The first is up before the others start: pptp processes
 * started together race to start that call manager and all but one give up (a client limit).
 */
const CALLS = 20;
// The second half dial as one shared account (one login on every cash register of a shop): each call
// still gets its own address.
const SHARED = { name: 'kiosk', password: 'Shared-Kiosk-Pass-1' };
const callUser = (i: number) => (i > CALLS / 2 ? SHARED : { name: `user${i}`, password: `Many-Calls-Pass-${i}` });
const FLOOD_SOURCES = Array.from({ length: 4 }, (_, i) => `203.0.113.${100 + i}`);

// Debian's /etc/ppp/options says `auth`: a client must say noauth. MS-CHAPv2 only, MPPE-128 required, as Windows' "Required" level.
const pppOptions = (password: string, mppe = 'require-mppe-128', auth = 'refuse-eap', name = 'alice') => `name ${name}
password ${password}
noauth
refuse-pap
refuse-chap
${auth}
refuse-mschap
${mppe}
nobsdcomp
nodeflate
noipdefault
nodefaultroute
usepeerdns
mtu 1400
mru 1400
lcp-echo-interval 0
debug
`;

/** carol with one legacy method only (pppd's `refuse-*` for every other), no MPPE: what such a device does. */
const legacyOptions = (method: 'pap' | 'chap', password: string) => pppOptions(password, 'nomppe', 'refuse-eap\nrefuse-mschap-v2', 'carol').replace(`refuse-${method}\n`, '');
/** MS-CHAPv1 only (every other method refused), MPPE-128 required: keyed from v1 (RFC 3079 §2.3). */
const mschapv1Options = (password: string, name = 'carol') => pppOptions(password, 'require-mppe-128', 'refuse-eap\nrefuse-mschap-v2', name).replace('refuse-mschap\n', '');

const PPTP = `pptp ${SERVER} --nolaunchpppd --loglevel 1`;
// `dial FILE LOG`: pppd in the background until ppp0 has an address (25 s at most).
const SCRIPT = `
dial() { pppd pty "${PPTP}" file "$1" logfile "$2" & for _ in $(seq 50); do a=$(/usr/bin/ip -4 -o addr show dev ppp0 2>/dev/null | awk '{print $4}'); [ -n "$a" ] && { echo "ppp0 $a"; /usr/bin/ip route replace 10.2.0.0/24 dev ppp0; return 0; }; sleep 0.5; done; echo "no ppp0"; tail -40 "$2"; return 1; }
wait_go() { for _ in $(seq 60); do ping -c 1 -W 1 $1 > /dev/null 2>&1 && return 0; done; return 1; }
gone() { for _ in $(seq 60); do [ -e /sys/class/net/ppp0 ] || { echo "ppp0 gone"; return 0; }; sleep 0.25; done; return 1; }
timed() { start=\${EPOCHREALTIME/./}; "$@"; rc=$?; end=\${EPOCHREALTIME/./}; echo "ms=$(( (end - start) / 1000 ))"; return $rc; }
export -f dial wait_go gone timed
sh_step wrong 'timeout 25 pppd pty "${PPTP}" file /lab/pptp/wrong logfile /tmp/wrong.log nodetach; rc=$?; echo "pppd exit $rc"; [ -e /sys/class/net/ppp0 ] && /usr/bin/ip -4 -o addr show dev ppp0; grep -E "CHAP|MS-CHAP|failed" /tmp/wrong.log | tail -5; [ $rc = 19 ]'
sh_step nomppe 'timeout 25 pppd pty "${PPTP}" file /lab/pptp/nomppe logfile /tmp/nomppe.log nodetach; rc=$?; echo "pppd exit $rc"; grep -E "CCP|TermReq|MPPE" /tmp/nomppe.log | tail -6; [ $rc != 124 ] && [ ! -e /sys/class/net/ppp0 ]'
sh_step dial 'dial /lab/pptp/options /tmp/pppd.log'
step ping ping -c 3 -W 3 ${LAN_HOST}
sh_step inform 'printf "\\x01\\x01\\x06\\x00\\xde\\xad\\xbe\\xef\\x00\\x00\\x00\\x00" > /tmp/inform; head -c 224 /dev/zero >> /tmp/inform; printf "\\x63\\x82\\x53\\x63\\x35\\x01\\x08\\x37\\x03\\x79\\xf9\\x0f\\xff" >> /tmp/inform; socat -t 4 STDIO UDP4-DATAGRAM:255.255.255.255:67,broadcast,bind=0.0.0.0:68,so-bindtodevice=ppp0 < /tmp/inform > /tmp/ack; echo "ack $(od -An -tx1 -v /tmp/ack | tr -d " \\n")"'
sh_step upload 'head -c ${BULK_MB * 1048576} /dev/urandom > /tmp/up; echo "sha $(sha256sum < /tmp/up | cut -c1-64)"; timed socat -u OPEN:/tmp/up TCP:${LAN_HOST}:5001,connect-timeout=10'
sh_step download 'timed timeout 120 socat -u TCP:${LAN_HOST}:5002,connect-timeout=10 OPEN:/tmp/down,creat,trunc; echo "sha $(sha256sum < /tmp/down | cut -c1-64) bytes $(wc -c < /tmp/down)"'
sh_step ppp-log 'grep -E "CHAP|MPPE|DNS|local  IP|remote IP" /tmp/pppd.log'
step api-go wait_go ${GO_API}
sh_step disconnected gone
sh_step redial 'sleep 1; dial /lab/pptp/options /tmp/pppd2.log'
step reping ping -c 3 -W 3 ${LAN_HOST}
sh_step hangup 'kill $(cat /run/ppp0.pid) && gone'
sh_step eap-dial 'dial /lab/pptp/eap /tmp/eap.log'
step eap-ping ping -c 2 -W 3 ${LAN_HOST}
sh_step eap-log 'grep -E "EAP|MPPE" /tmp/eap.log'
sh_step eap-hangup 'kill $(cat /run/ppp0.pid) && gone'
sh_step many 'for i in $(seq ${CALLS}); do if [ $i -gt ${CALLS / 2} ]; then printf "name ${SHARED.name}\npassword ${SHARED.password}\nunit %d\n" $((i + 10)); else printf "name user%d\npassword Many-Calls-Pass-%d\nunit %d\n" $i $i $((i + 10)); fi | cat - /lab/pptp/many > /tmp/many$i; pppd pty "${PPTP}" file /tmp/many$i logfile /tmp/many$i.log & if [ $i = 1 ]; then for _ in $(seq 40); do /usr/bin/ip -4 -o addr show dev ppp11 2>/dev/null | grep -q inet && break; sleep 0.5; done; else sleep 0.1; fi; done; for _ in $(seq 120); do n=$(/usr/bin/ip -4 -o addr show | grep -c " ppp[1-3][0-9] "); [ "$n" = ${CALLS} ] && break; sleep 0.5; done; echo "up $n"; /usr/bin/ip -4 -o addr show | grep " ppp[1-3][0-9] " | awk "{print \$4}" | sort -u | wc -l | sed "s/^/distinct /"; ok=0; for i in $(seq ${CALLS}); do ping -c 1 -W 3 -I ppp$((i + 10)) ${LAN_HOST} > /dev/null 2>&1 && ok=$((ok + 1)); done; echo "pinged $ok"; [ "$n" = ${CALLS} ] && [ $ok = ${CALLS} ] || { grep -h -v -E "^(sent|rcvd) " /tmp/many*.log | sort | uniq -c | sort -rn | head -25; false; }'
sh_step many-hangup 'kill $(cat /run/ppp1[1-9].pid /run/ppp2[0-9].pid /run/ppp30.pid 2>/dev/null); for _ in $(seq 60); do /usr/bin/ip -o link show | grep -q " ppp[1-3][0-9]" || { echo "all down"; exit 0; }; sleep 0.5; done; exit 1'
step radius-go wait_go ${GO_RADIUS}
sh_step radius-dial 'dial /lab/pptp/carol /tmp/carol.log'
step radius-ping ping -c 4 -W 3 ${LAN_HOST}
sh_step radius-log 'grep -E "CHAP|MPPE" /tmp/carol.log'
sh_step radius-das 'for _ in $(seq 120); do [ -e /sys/class/net/ppp0 ] || { echo "ppp0 gone"; exit 0; }; sleep 0.25; done; exit 1'
sh_step pap-wrong 'timeout 25 pppd pty "${PPTP}" file /lab/pptp/pap-wrong logfile /tmp/pap-wrong.log nodetach; rc=$?; echo "pppd exit $rc"; tail -12 /tmp/pap-wrong.log; [ $rc = 19 ]'
sh_step pap-dial 'dial /lab/pptp/pap /tmp/pap.log && grep -E "PAP" /tmp/pap.log | tail -3'
step pap-ping ping -c 2 -W 3 ${LAN_HOST}
sh_step pap-hangup 'kill $(cat /run/ppp0.pid) && gone'
sh_step chap-wrong 'timeout 25 pppd pty "${PPTP}" file /lab/pptp/chap-wrong logfile /tmp/chap-wrong.log nodetach; rc=$?; echo "pppd exit $rc"; tail -12 /tmp/chap-wrong.log; [ $rc = 19 ]'
sh_step chap-dial 'dial /lab/pptp/chap /tmp/chap.log && grep -E "CHAP" /tmp/chap.log | tail -3'
step chap-ping ping -c 2 -W 3 ${LAN_HOST}
sh_step chap-hangup 'kill $(cat /run/ppp0.pid) && gone'
sh_step v1-wrong 'timeout 25 pppd pty "${PPTP}" file /lab/pptp/v1-wrong logfile /tmp/v1-wrong.log nodetach; rc=$?; echo "pppd exit $rc"; grep -E "CHAP|failed" /tmp/v1-wrong.log | tail -6; [ $rc = 19 ]'
sh_step v1-dial 'dial /lab/pptp/v1 /tmp/v1.log && grep -E "CHAP|MPPE" /tmp/v1.log | tail -6'
step v1-ping ping -c 2 -W 3 ${LAN_HOST}
sh_step v1-hangup 'kill $(cat /run/ppp0.pid) && gone'
step local-go wait_go ${GO_LOCAL}
sh_step v1-local 'dial /lab/pptp/v1-local /tmp/v1-local.log && grep -E "CHAP|MPPE" /tmp/v1-local.log | tail -6'
step v1-local-ping ping -c 2 -W 3 ${LAN_HOST}
sh_step v1-local-hangup 'kill $(cat /run/ppp0.pid) && gone'
sh_step logs 'echo "--- pppd"; tail -30 /tmp/pppd.log; echo "--- pppd again"; tail -20 /tmp/pppd2.log'
`;

// The API from Postern's host: the session listed, a user added (the session stays), the auth failure counted, then the session disconnected.
/** PPTP's passwords to RADIUS, through the listener's API (the PPTP listener restarts with it). */
const TO_RADIUS = `const base = 'http://127.0.0.1:18080/api/v1';
const json = { 'content-type': 'application/json' };
(async () => {
  const login = await fetch(base + '/login', { method: 'POST', headers: json, body: JSON.stringify({ password: '${ADMIN}' }) });
  const h = { ...json, cookie: (login.headers.get('set-cookie') || '').split(';')[0], 'x-csrf-token': (await login.json()).csrfToken };
  const r = await fetch(base + '/listeners/pptp', { method: 'PUT', headers: h, body: JSON.stringify({ auth: 'radius', legacyAuth: true, mppe: 'optional' }) });
  process.stdout.write(String(r.status) + ' ' + (await r.text()));
})();`;
/** And back to the local users, legacy methods still on. */
const TO_LOCAL = TO_RADIUS.replace("auth: 'radius'", "auth: 'local'");

const API = `const base = 'http://127.0.0.1:18080/api/v1';
const json = { 'content-type': 'application/json' };
(async () => {
  await fetch(base + '/setup', { method: 'POST', headers: json, body: JSON.stringify({ password: '${ADMIN}' }) });
  const login = await fetch(base + '/login', { method: 'POST', headers: json, body: JSON.stringify({ password: '${ADMIN}' }) });
  const h = { ...json, cookie: (login.headers.get('set-cookie') || '').split(';')[0], 'x-csrf-token': (await login.json()).csrfToken };
  const listed = await (await fetch(base + '/sessions', { headers: h })).json();
  const pptp = (listed.sessions || listed).filter((s) => s.protocol === 'pptp');
  const status = await (await fetch(base + '/status', { headers: h })).json();
  const counters = status.subsystems && status.subsystems.pptp ? status.subsystems.pptp.counters : {};
  const added = (await fetch(base + '/users', { method: 'POST', headers: h, body: JSON.stringify({ name: 'bob', password: 'Another-Horse-Battery-8', enabled: true }) })).status;
  const kept = (await (await fetch(base + '/sessions', { headers: h })).json()).sessions.filter((s) => s.protocol === 'pptp').map((s) => s.id);
  const gone = pptp[0] ? (await fetch(base + '/sessions/' + pptp[0].id, { method: 'DELETE', headers: h })).status : 0;
  process.stdout.write(JSON.stringify({ pptp, counters, sessionCounts: status.sessions, added, kept, gone }));
})();`;

function posternConfig() {
  const config = defaultConfig();
  config.system.wan = { interface: VM_REMOTE.wanInterface, mode: 'static', address: `${SERVER}/24` };
  config.system.lan = { interface: VM_REMOTE.lanInterface, address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.users = [{ name: 'alice', ntHash: ntHashHex(PASSWORD), enabled: true }, ...Array.from({ length: CALLS / 2 + 1 }, (_, i) => ({ name: callUser(i + 1).name, ntHash: ntHashHex(callUser(i + 1).password), enabled: true }))];
  config.listeners.sstp.enabled = false;
  config.listeners.ikev2.enabled = false;
  config.listeners.pptp = { ...config.listeners.pptp, enabled: true };
  // Used once listeners.pptp.auth says radius (the last phase); local users until then.
  // DAS on the LAN address (10.2.0.1:3799), for FreeRADIUS's radclient on the LAN host.
  config.radius = { servers: [{ name: 'lab', address: LAN_HOST, authPort: 1812, acctPort: 1813, secret: RADIUS_SECRET }], dynamicAuthorization: { enabled: true, port: 3799, clients: [{ name: 'lab-dac', address: LAN_HOST, secret: DAS_SECRET }] } };
  return config;
}

t.setTimeout(420_000);

t.test('pptp-linux + pppd in the VM guest against postern run: MS-CHAPv2, MPPE-128, LAN ping, API, wrong password refused', { skip }, async (t) => {
  t.setTimeout(420_000);
  const started = Date.now();
  const lab = Lab.create(vmRemoteAccess);
  t.teardown(() => lab.teardown());
  for (const key of ['all', 'default']) lab.execSync('gw', ['sysctl', '-qw', `net.ipv4.conf.${key}.rp_filter=0`]);

  const postern = await startPostern(lab, 'gw', posternConfig(), (log) => log.includes('PPTP listening'));
  t.teardown(() => postern.stop());
  t.match(postern.log(), /"path":"listeners.pptp.enabled","why":"PPTP \(MS-CHAPv2 \+ MPPE\) can be broken offline/, 'PPTP is flagged insecure in the log');

  for (const a of FLOOD_SOURCES) lab.execSync('internet', ['ip', 'addr', 'add', `${a}/24`, 'dev', 'net']);
  const { peer: flood } = await LinePeer.spawn(lab, 'internet', 'pptp-flood', 'tcp-flood-peer.ts', { host: SERVER, port: 1723, sources: FLOOD_SOURCES, ...FLOOD });
  const flooding = await flood.waitEvent((e) => e['type'] === 'flooding', 30_000);
  t.comment(`flood: ${FLOOD.count} attempts from ${FLOOD_SOURCES.length} addresses answered in ${String(flooding['ms'])} ms, ${String(flooding['open'])} open then`);

  // The LAN host takes the upload into a file and serves the download from one (one connection each).
  const upFile = join(lab.subdir('pptp-bulk'), 'up');
  const downFile = join(lab.subdir('pptp-bulk'), 'down');
  const download = randomBytes(BULK_MB * 1048576);
  writeFileSync(downFile, download);
  lab.spawnDaemon('lanB', 'pptp-sink', ['socat', '-u', 'TCP-LISTEN:5001,reuseaddr', `OPEN:${upFile},creat,trunc`]);
  lab.spawnDaemon('lanB', 'pptp-source', ['socat', '-u', `OPEN:${downFile}`, 'TCP-LISTEN:5002,reuseaddr']);

  const vm = await Vm.boot(lab, VM_REMOTE.host, {
    address: VM_REMOTE.guestAddress, hostAddress: VM_REMOTE.hostAddress, gateway: VM_REMOTE.router,
    modules: ['ppp_generic', 'ppp_async', 'ppp_mppe'],
    files: {
      '/lab/pptp/options': { data: pppOptions(PASSWORD), mode: 0o600 },
      '/lab/pptp/wrong': { data: pppOptions('Wrong-Horse-Battery-0'), mode: 0o600 },
      '/lab/pptp/many': { data: pppOptions('').replace(/^name .*\n|^password .*\n|^debug\n/gm, ''), mode: 0o600 },
      '/lab/pptp/carol': { data: pppOptions(RADIUS_PASSWORD).replace('name alice', 'name carol'), mode: 0o600 },
      '/lab/pptp/pap': { data: legacyOptions('pap', RADIUS_PASSWORD), mode: 0o600 },
      '/lab/pptp/pap-wrong': { data: legacyOptions('pap', 'Not-Radius-Pass'), mode: 0o600 },
      '/lab/pptp/chap': { data: legacyOptions('chap', RADIUS_PASSWORD), mode: 0o600 },
      '/lab/pptp/chap-wrong': { data: legacyOptions('chap', 'Not-Radius-Pass'), mode: 0o600 },
      '/lab/pptp/v1': { data: mschapv1Options(RADIUS_PASSWORD), mode: 0o600 },
      '/lab/pptp/v1-wrong': { data: mschapv1Options('Not-Radius-Pass'), mode: 0o600 },
      '/lab/pptp/v1-local': { data: mschapv1Options(PASSWORD, 'alice'), mode: 0o600 },
      '/lab/pptp/nomppe': { data: pppOptions(PASSWORD, 'nomppe'), mode: 0o600 },
      // Windows' "EAP-MSCHAPv2" setting: MS-CHAPv2 refused, EAP taken, MPPE keyed from it.
      '/lab/pptp/eap': { data: pppOptions(PASSWORD, 'require-mppe-128', 'refuse-mschap-v2'), mode: 0o600 },
    },
    script: SCRIPT,
  });
  t.comment(`boot to READY in ${vm.bootMs} ms`);

  await vm.waitFor(/^@@STEP api-go BEGIN/m, 180_000).catch((e: unknown) => {
    t.fail(`the guest did not reach the API step: ${String(e)}\n--- guest ---\n${readFileSync(vm.consoleFile, 'utf8').slice(-4000)}\n--- postern ---\n${postern.log().split('\n').slice(-40).join('\n')}`);
    throw e;
  });
  const api = await lab.exec('gw', [process.execPath, '-e', API], 30_000);
  const during = await flood.call('stats') as Record<string, number>;
  lab.execSync('gw', ['ip', 'addr', 'add', `${GO_API}/32`, 'dev', VM_REMOTE.wanInterface]);
  const listed = JSON.parse(api.stdout || '{}') as { pptp?: Array<{ id: string; user: string; address: string; peer: string; bytesIn?: number; bytesOut?: number }>; counters?: Record<string, number>; sessionCounts?: Record<string, number>; added?: number; kept?: string[]; gone?: number };

  // Last phase: FreeRADIUS on the LAN host, PPTP switched to it through the API.
  const radius = await FreeRadius.start(lab, 'lanB', { address: LAN_HOST, clients: [{ name: 'postern', network: '10.2.0.0/24', secret: RADIUS_SECRET }], users: [{ name: 'carol', password: RADIUS_PASSWORD }], replyMessageAuthenticator: 'always' });
  await vm.waitFor(/^@@STEP radius-go BEGIN/m, 120_000);
  const switched = await lab.exec('gw', [process.execPath, '-e', TO_RADIUS], 30_000);
  await waitUntil('PPTP listening with RADIUS', 20_000, () => /"msg":"PPTP listening".*"auth":"radius"|"auth":"radius".*"msg":"PPTP listening"/.test(postern.log()));
  lab.execSync('gw', ['ip', 'addr', 'add', `${GO_RADIUS}/32`, 'dev', VM_REMOTE.wanInterface]);
  // RFC 5176: FreeRADIUS's radclient on the LAN host ends carol's MS-CHAPv2 call once the guest waits for it.
  await vm.waitFor(/^@@STEP radius-das BEGIN/m, 120_000);
  const das = (await lab.exec('lanB', ['sh', '-c', `echo 'User-Name = "carol"' | radclient -x -r 2 -t 3 10.2.0.1:3799 disconnect ${DAS_SECRET}`], 20_000)).stdout;
  // Back to the local users for alice's MS-CHAPv1 call.
  await vm.waitFor(/^@@STEP local-go BEGIN/m, 180_000);
  const listening = () => postern.log().split('\n').filter((l) => /"msg":"PPTP listening"/.test(l)).length;
  const before = listening();
  const toLocal = await lab.exec('gw', [process.execPath, '-e', TO_LOCAL], 30_000);
  await waitUntil('PPTP listening with the local users again', 20_000, () => listening() > before);
  lab.execSync('gw', ['ip', 'addr', 'add', `${GO_LOCAL}/32`, 'dev', VM_REMOTE.wanInterface]);

  const result = await vm.waitForExit(120_000);
  await flood.call('stop');
  const step = (name: string) => result.steps.get(name);
  const out = (name: string) => step(name)?.output ?? '';
  const diag = () => `\n${out('logs')}\n--- postern ---\n${postern.log().split('\n').slice(-30).join('\n')}`;

  t.equal(step('wrong')?.code, 0, `a wrong password: pppd ends with exit 19 (authentication failed): ${out('wrong')}`);
  t.equal(step('nomppe')?.code, 0, `a client refusing MPPE is turned away (the link ends, no ppp0): ${out('nomppe')}`);
  t.match(postern.log(), /"reason":"MPPE required[^"]*"/, 'Postern ended that link because MPPE is required');
  t.equal(step('dial')?.code, 0, `PPTP control, GRE and PPP up with an address: ${out('dial')}${step('dial')?.code === 0 ? '' : diag()}`);
  t.match(out('dial'), /ppp0 10\.10\.0\.\d+\b/, 'the address is from the pool');
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  const rate = (text: string) => { const ms = Number(/ms=(\d+)/.exec(text)?.[1] ?? 0); return ms > 0 ? `${ms} ms, ${((BULK_MB * 8 * 1.048576) / (ms / 1000)).toFixed(1)} Mbit/s` : 'no time'; };
  t.equal(step('upload')?.code, 0, `${BULK_MB} MB up from the guest: ${out('upload')}`);
  t.equal(/sha ([0-9a-f]{64})/.exec(out('upload'))?.[1], sha(readFileSync(upFile)), `the LAN host received them intact (${rate(out('upload'))})`);
  t.equal(step('download')?.code, 0, `${BULK_MB} MB down to the guest: ${out('download')}`);
  t.equal(/sha ([0-9a-f]{64})/.exec(out('download'))?.[1], sha(download), `the guest received them intact (${rate(out('download'))})`);
  t.match(out('ppp-log'), /rcvd \[CHAP Success id=0x[0-9a-f]+ "S=[0-9A-F]{40}/, 'pppd authenticated with MS-CHAPv2 (the server proved itself)');
  t.match(out('ppp-log'), /MPPE 128-bit stateless compression enabled/, 'MPPE-128, stateless');
  t.match(out('ppp-log'), /primary\s+DNS address 1\.1\.1\.1/, 'the pool\'s DNS server');
  t.equal(step('ping')?.code, 0, `the LAN host answers through PPTP: ${out('ping')}`);
  // DHCPINFORM over the call (Windows sends one once PPP is up): the driver's data path passes it up and the
  // answer goes back through the call's MPPE in C; the pool names no routes, so the LAN is the classless route.
  const ack = Buffer.from(/ack ([0-9a-f]*)/.exec(out('inform'))?.[1] ?? '', 'hex');
  const dhcpOptions = new Map<number, number[]>();
  for (let at = 240; at + 1 < ack.length && ack[at] !== 255; at += 2 + ack[at + 1]!) dhcpOptions.set(ack[at]!, [...ack.subarray(at + 2, at + 2 + ack[at + 1]!)]);
  t.same([ack[0], ...ack.subarray(4, 8)], [2, 0xde, 0xad, 0xbe, 0xef], `a BOOTREPLY to the guest's DHCPINFORM came back over PPTP: ${out('inform').slice(0, 200)}`);
  t.same([dhcpOptions.get(53), dhcpOptions.get(121)?.slice(0, 4), dhcpOptions.get(249)?.slice(0, 4)], [[5], [24, 10, 2, 0], [24, 10, 2, 0]], `a DHCPACK with the LAN (10.2.0.0/24) as a classless route in options 121 and 249: ${JSON.stringify([...dhcpOptions])}`);

  t.equal(listed.pptp?.length, 1, `one PPTP session in the API: ${api.stdout}${api.stderr}`);
  t.match(listed.pptp?.[0] ?? {}, { id: /^pptp-\d+$/, user: 'alice', address: /^10\.10\.0\.\d+$/, peer: VM_REMOTE.guest }, 'alice, from the pool, at the guest\'s address');
  t.equal(listed.sessionCounts?.['pptp'], 1, 'counted among the sessions by protocol');
  // Issue 22: the bulk data went through the driver's PPP data path (MPPE in C), not through JavaScript.
  const counter = (name: string) => listed.counters?.[name] ?? -1;
  t.equal(counter('pptp.dataPath.sessions'), 1, `the session's IP and MPPE are carried by the driver: ${JSON.stringify(listed.counters)}`);
  t.ok(counter('pptp.dataPath.packetsIn') > 1000 && counter('pptp.dataPath.packetsOut') > 1000, `the driver decrypted and encrypted the data (in ${counter('pptp.dataPath.packetsIn')}, out ${counter('pptp.dataPath.packetsOut')} packets)`);
  t.ok(counter('pptp.dataPath.bytesIn') >= BULK_MB * 1048576 && counter('pptp.dataPath.bytesOut') >= BULK_MB * 1048576, `at least ${BULK_MB} MB each way counted by the driver`);
  t.ok(counter('pptp.javascriptPackets') >= 0 && counter('pptp.javascriptPackets') < 20, `hardly any IP packet crossed JavaScript (${counter('pptp.javascriptPackets')})`);
  t.ok(counter('pptp.gre.mppeLate') >= 0 && counter('pptp.gre.mppeMalformed') === 0, `no malformed MPPE (late: ${counter('pptp.gre.mppeLate')})`);
  t.ok((listed.pptp?.[0]?.bytesIn ?? 0) >= BULK_MB * 1048576 && (listed.pptp?.[0]?.bytesOut ?? 0) >= BULK_MB * 1048576, `the session's own counters in the API include the driver's (${listed.pptp?.[0]?.bytesIn} in, ${listed.pptp?.[0]?.bytesOut} out)`);
  t.ok((listed.counters?.['pptp.authentication failures'] ?? 0) >= 1, `the wrong password is counted: ${JSON.stringify(listed.counters)}`);
  t.same([listed.added, listed.kept], [201, [listed.pptp?.[0]?.id]], 'a user added through the API leaves the PPTP session up (no restart)');
  t.equal(listed.gone, 200, 'the API disconnects it');
  t.equal(step('disconnected')?.code, 0, `the API's disconnect brings ppp0 down in the guest: ${out('disconnected')}`);
  t.match(postern.log(), /"msg":"PPP authentication failed".*"protocol":"pptp"|"protocol":"pptp".*"msg":"PPP authentication failed"/, 'Postern logged the failed login');
  t.equal(step('redial')?.code, 0, `after the disconnect the client dials again: ${out('redial')}`);
  t.equal(step('reping')?.code, 0, `and reaches the LAN again: ${out('reping')}`);
  t.equal(step('hangup')?.code, 0, `the client hangs up: ${out('hangup')}`);
  t.equal(step('eap-dial')?.code, 0, `a client that refuses MS-CHAPv2 logs in with EAP: ${out('eap-dial')}${step('eap-dial')?.code === 0 ? '' : `\n${out('eap-log')}`}`);
  t.match(out('eap-log'), /sent \[EAP Response id=0x[0-9a-f]+ MSCHAPv2 Success\][\s\S]*EAP authentication succeeded/, 'EAP-MSCHAPv2: pppd checked our authenticator response (it looks it up by the MS-CHAPv2-ID) and succeeded');
  t.match(out('eap-log'), /MPPE 128-bit stateless compression enabled/, 'MPPE-128 keyed from EAP-MSCHAPv2');
  t.equal(step('eap-ping')?.code, 0, `and reaches the LAN: ${out('eap-ping')}`);
  t.equal(step('eap-hangup')?.code, 0, 'and hangs up');
  t.equal(step('many')?.code, 0, `${CALLS} calls at once from the guest (half of them as one shared account), each with its own pool address, each reaching the LAN: ${out('many')}`);
  if (step('many')?.code !== 0) t.comment(postern.log().split('\n').filter((l) => /"sub":"pptp"/.test(l) && !/203\.0\.113\./.test(l)).slice(-60).join('\n'));
  t.match(out('many'), new RegExp(`up ${CALLS}\\b[\\s\\S]*distinct ${CALLS}\\b[\\s\\S]*pinged ${CALLS}\\b`), 'all up, distinct addresses, all pinged');
  t.equal(step('many-hangup')?.code, 0, `and all hang up: ${out('many-hangup')}`);
  t.match(switched.stdout, /^200 /, `PPTP switched to RADIUS through the API: ${switched.stdout.slice(0, 300)}`);
  t.equal(step('radius-dial')?.code, 0, `carol, known only to FreeRADIUS, gets her call: ${out('radius-dial')}`);
  t.match(out('radius-log'), /MPPE 128-bit stateless compression enabled/, 'MPPE-128 keyed from the keys FreeRADIUS sent');
  t.equal(step('radius-ping')?.code, 0, `and reaches the LAN: ${out('radius-ping')}`);
  t.match(das, /Received Disconnect-ACK/, `radclient's Disconnect-Request naming carol: ACK: ${das.slice(-600)}`);
  t.equal(step('radius-das')?.code, 0, `and her call ends in the guest: ${out('radius-das')}`);
  t.equal(step('pap-wrong')?.code, 0, `PAP only, a wrong password: FreeRADIUS rejects, pppd ends with exit 19: ${out('pap-wrong')}`);
  t.equal(step('pap-dial')?.code, 0, `PAP only, the right password: the call is up: ${out('pap-dial')}`);
  t.equal(step('pap-ping')?.code, 0, `and reaches the LAN: ${out('pap-ping')}`);
  t.equal(step('pap-hangup')?.code, 0, 'and hangs up');
  t.equal(step('chap-wrong')?.code, 0, `CHAP-MD5 only, a wrong password: rejected, exit 19: ${out('chap-wrong')}`);
  t.equal(step('chap-dial')?.code, 0, `CHAP-MD5 only, the right password: the call is up: ${out('chap-dial')}`);
  t.equal(step('chap-ping')?.code, 0, `and reaches the LAN: ${out('chap-ping')}`);
  t.equal(step('chap-hangup')?.code, 0, 'and hangs up');
  t.equal(step('v1-wrong')?.code, 0, `MS-CHAPv1 only, a wrong password: FreeRADIUS rejects, exit 19: ${out('v1-wrong')}`);
  t.match(out('v1-wrong'), /rcvd \[CHAP Failure id=0x[0-9a-f]+ "E=691 R=0"\]/, 'the Failure says E=691 R=0');
  t.equal(step('v1-dial')?.code, 0, `MS-CHAPv1 only, the right password: the call is up: ${out('v1-dial')}`);
  t.match(out('v1-dial'), /rcvd \[CHAP Challenge id=0x[0-9a-f]+ <[0-9a-f]{16}>, name = "postern"\]/, 'an 8-octet challenge: MS-CHAPv1 (CHAP 0x80)');
  t.match(out('v1-dial'), /MPPE 128-bit stateless compression enabled/, 'MPPE-128 keyed from FreeRADIUS\'s MS-CHAP-MPPE-Keys');
  t.equal(step('v1-ping')?.code, 0, `and reaches the LAN: ${out('v1-ping')}`);
  t.equal(step('v1-hangup')?.code, 0, 'and hangs up');
  t.match(toLocal.stdout, /^200 /, `PPTP back to the local users through the API: ${toLocal.stdout.slice(0, 300)}`);
  t.equal(step('v1-local')?.code, 0, `alice, a local user kept as an NT hash, with MS-CHAPv1 only: the call is up: ${out('v1-local')}`);
  t.match(out('v1-local'), /MPPE 128-bit stateless compression enabled/, 'MPPE-128 keyed from her NT hash');
  t.equal(step('v1-local-ping')?.code, 0, `and reaches the LAN: ${out('v1-local-ping')}`);
  t.equal(step('v1-local-hangup')?.code, 0, 'and hangs up');
  t.match(postern.log(), /"user":"alice","method":"mschapv1".*"msg":"PPP authenticated"/, 'Postern logged alice\'s MS-CHAPv1 login');
  t.equal(radius.log().match(/Login OK: \[carol/g)?.length, 4, `FreeRADIUS logged four logins (PAP, CHAP-MD5, MS-CHAPv2, MS-CHAPv1): ${radius.log().split('\n').filter((l) => /Login|Auth/.test(l)).join('\n')}`);
  t.equal(radius.log().match(/Login incorrect.*\[carol/g)?.length, 3, 'and refused the three wrong passwords');
  t.match(postern.log(), /"reason":"lab: reject \(radius\)"/, 'Postern logged the refusals as RADIUS\'s');
  const detail = () => { try { return readFileSync(join(radius.dir, 'detail'), 'utf8'); } catch { return ''; } };
  const carolRecords = () => detail().split(/\n\n+/).filter((r) => /User-Name = "carol"/.test(r));
  await waitUntil('four Stop records', 10_000, () => carolRecords().filter((r) => /Acct-Status-Type = Stop/.test(r)).length >= 4, detail).catch(() => {});
  t.match(carolRecords(), [/Acct-Status-Type = Start[\s\S]*Framed-IP-Address = 10\.10\.0\./, /Acct-Status-Type = Stop/, /Start/, /Stop[\s\S]*User-Request/, /Start/, /Stop[\s\S]*User-Request/, /Start/, /Stop[\s\S]*User-Request/], 'accounting Start (with the address) and Stop for each of her four calls (MS-CHAPv2, PAP, CHAP-MD5, MS-CHAPv1)');
  const dasStop = carolRecords().find((r) => /Acct-Status-Type = Stop/.test(r)) ?? '';
  t.match(dasStop, /Acct-Terminate-Cause = Admin-Reset/, 'the disconnected call\'s Stop: Admin-Reset');
  const packetsIn = Number(/Acct-Input-Packets = (\d+)/.exec(dasStop)?.[1] ?? -1);
  const octetsIn = Number(/Acct-Input-Octets = (\d+)/.exec(dasStop)?.[1] ?? -1);
  t.ok(packetsIn >= 4 && octetsIn >= 4 * 84, `with the session's counters: ${packetsIn} packets, ${octetsIn} octets in (4 pings of 84 bytes at least)`);
  t.notMatch(postern.log(), new RegExp(`${RADIUS_SECRET}|${DAS_SECRET}|${RADIUS_PASSWORD}`), 'the RADIUS and DAS secrets and the password are not in Postern\'s log');
  t.ok(during['attempts']! > FLOOD.count && during['closedByServer']! > 0, `the flood went on throughout, its connections refused or timed out by Postern: ${JSON.stringify(during)}`);
  t.ok((listed.counters?.['pptp.connections refused (limit)'] ?? 0) > 0 && (listed.counters?.['pptp.setup timeout'] ?? 0) > 0, 'Postern counted the refused and the timed-out flood connections');
  let counters: Record<string, number> = {};
  const health = async () => {
    const r = await lab.exec('gw', [process.execPath, '-e', "fetch('http://127.0.0.1:18080/healthz').then((r) => r.json()).then((h) => console.log(JSON.stringify(h.subsystems.pptp.counters)))"], 15_000);
    counters = JSON.parse(r.stdout.trim() || '{}') as Record<string, number>;
    return counters['pptp.sessions'] === 0 && counters['pptp.connections'] === 0;
  };
  await waitUntil('no PPTP connection left', 15_000, health).catch(() => {});
  t.match(counters, { 'pptp.sessions': 0, 'pptp.connections': 0 }, `no call or control connection left after the hang-up and the flood's end: ${JSON.stringify(counters)}`);
  if (!t.passing()) t.comment(`${diag()}\n--- guest ---\n${result.console.slice(-3000)}`);
  t.comment(`whole test in ${Date.now() - started} ms`);
});
