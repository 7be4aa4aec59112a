// L2TP remote access against `postern run` (issue 20), with Linux's own client in the VM lab's guest:
// xl2tpd (kernel L2TP) and pppd with MS-CHAPv2. First plain L2TP, which Postern takes only with
// listeners.l2tp.allowPlain (flagged insecure): the tunnel, the session and PPP come up, the client
// gets a pool address and DNS, asks with DHCPINFORM and gets the pool's routes and domain, pings a host on Postern's LAN; the session is listed in the API and
// the API's disconnect ends it. Then Postern restarts requiring IPsec (the default): a fresh plain
// dial is refused and counted, and charon in the guest keys IKEv1 Main Mode (PSK) and a
// transport-mode Quick Mode for UDP 1701 with Postern's IKEv1 responder; a fresh xl2tpd dials again,
// now inside ESP (the guest kernel's), PPP comes up and the LAN host answers; 10 MB each way through
// the driver's PPP data path while charon rekeys the Quick Mode SA in each direction (new SPIs on both
// ends, the session still in the driver, hashes intact). One VM boot.
// Then the client at home, behind its router's masquerade (NAT-T), and a second laptop at the same
// home (a third guest address, the same masquerade) dialing beside it: two IKEv1 SAs and transport
// children from one NAT address, two L2TP tunnels that both look like NAT:1701 once decrypted, each
// kept apart by the SA it came in on (issue 20); both ping the LAN host, both sessions listed.
// Then the second laptop vanishes (its home router drops it; no hang-up, no Delete): Postern's DPD
// (listeners.l2tp.ipsec.dpdSeconds/dpdTimeoutSeconds) finds it dead, its L2TP tunnel closes with the
// SA, and the session and its pool address are released within delay + timeout. Last, Postern
// restarts with listeners.l2tp.ipsec.auth 'certificate': a third laptop keys IKEv1 Main Mode with a
// client certificate issued through Postern's API by its CA, dials, gets PPP up and pings the LAN;
// in that last phase PPP passwords are checked by FreeRADIUS on the LAN host (listeners.l2tp.auth =
// radius, issue 21): dave, known only to it, logs in with MS-CHAPv2, the call's accounting Start and
// Stop reach its detail file with the session's counters, and FreeRADIUS's radclient ends the call with
// an RFC 5176 Disconnect-Request to the gateway's DAS (Stop with Admin-Reset).
// Topology: vmRemoteAccess (the guest behind its home router, Postern's WAN 192.0.2.2, LAN 10.2.0.0/24).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { ntHashHex } from '../../firmware/crypto/user-credential.ts';
import { importPkcs12 } from '../../firmware/pki/pkcs12.ts';
import { Secret } from '../../firmware/util/secret.ts';
import { startPostern, type PosternDaemon } from '../helpers/postern-daemon.ts';
import { FreeRadius } from '../lab/peers/freeradius.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { CHARON } from '../lab/peers/strongswan.ts';
import { hasBinary } from '../lab/command.ts';
import { VM_REMOTE, vmRemoteAccess } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { GUEST_CHARON_SCRIPT, guestCharonFiles } from '../lab/vm/guest-charon.ts';
import { Vm, vmMissing } from '../lab/vm/vm.ts';
import { labSkip } from '../lab/skip.ts';

const missing = vmMissing() ?? (existsSync(CHARON) ? null : 'strongSwan (charon) is not installed, so the guest image has none');
const skip = labSkip(missing ?? (hasBinary('freeradius') ? null : 'not installed: freeradius'));

const PASSWORD = 'Correct-Horse-Battery-7';
const ADMIN = 'Field-Tech-Pass-77';
const PSK = 'l2tp-lab-preshared-9f3b';
const SERVER = VM_REMOTE.server;
const LAN_HOST = VM_REMOTE.lanHost;
/** Addresses the test puts on Postern's host to tell the guest that the next phase may start. */
const GO_API = '192.0.2.98';
const GO_IPSEC = '192.0.2.99';
const GO_TWO = '192.0.2.97';
const GO_DATA = '192.0.2.96';
const GO_CERT = '192.0.2.95';
/** Issue 20: 10 MB each way through the C data path, checked by hash on both ends. */
const TRANSFER_BYTES = 10 * 1024 * 1024;
/** Issue 20: short DPD, so the laptop that vanishes is found dead within the test (delay + timeout). */
const DPD = { dpdSeconds: 5, dpdTimeoutSeconds: 8 };

const XL2TPD_CONF = `[global]
port = 1701
access control = no
[lac plain]
lns = ${SERVER}
pppoptfile = /lab/l2tp/options
length bit = yes
require authentication = no
redial = no
[lac ipsec]
lns = ${SERVER}
pppoptfile = /lab/l2tp/options
length bit = yes
require authentication = no
redial = no
[lac wrong]
lns = ${SERVER}
pppoptfile = /lab/l2tp/options-wrong
length bit = yes
require authentication = no
redial = no
`;

/** The client at home: a second guest address that its home router masquerades, xl2tpd sending from it. */
const AT_HOME = '198.51.100.3';
const HOME_ROUTER = '172.16.1.2';
const XL2TPD_HOME_CONF = `[global]
port = 1701
listen-addr = ${AT_HOME}
access control = no
[lac home]
lns = ${SERVER}
pppoptfile = /lab/l2tp/options
length bit = yes
require authentication = no
redial = no
`;

/** The second laptop at home: its own xl2tpd on its own address, behind the same masquerade. */
const AT_HOME2 = '198.51.100.4';
const XL2TPD_HOME2_CONF = XL2TPD_HOME_CONF.replace(`listen-addr = ${AT_HOME}`, `listen-addr = ${AT_HOME2}`).replace('[lac home]', '[lac home2]').replace('/lab/l2tp/options', '/lab/l2tp/options2');
/** A third laptop, not behind the NAT, that keys IKEv1 with a certificate from Postern's CA (issue 20). */
const CERT_LAPTOP = '198.51.100.5';
const XL2TPD_CERT_CONF = XL2TPD_HOME_CONF.replace(`listen-addr = ${AT_HOME}`, `listen-addr = ${CERT_LAPTOP}`).replace('[lac home]', '[lac cert]').replace('/lab/l2tp/options', '/lab/l2tp/options-radius');
/** Issue 21: the certificate laptop's user is known to FreeRADIUS only; the DAS is radclient on the LAN host. */
const RADIUS_USER = { name: 'dave', password: 'Dave-Radius-Pass-21' };
const RADIUS_SECRET = 'l2tp-radius-shared-secret';
const DAS_SECRET = 'l2tp-das-secret-21';
const CERT_PASSWORD = 'Laptop-Bundle-Pass-3';
/** Its user (pool leases are per user: one user dialing twice at once gets one address). */
const PASSWORD2 = 'Second-Laptop-Battery-5';

// Debian's /etc/ppp/options says `auth`: a client must say noauth. MS-CHAPv2 only, as Windows does.
const PPP_OPTIONS = `name alice
password ${PASSWORD}
noauth
refuse-pap
refuse-chap
refuse-eap
refuse-mschap
noipdefault
nodefaultroute
usepeerdns
mtu 1380
mru 1380
debug
logfile /tmp/pppd.log
`;

// `dial LAC`: connect and wait (20 s at most) for ppp0's address; `hangup LAC`; `wait_go ADDR`: until the host says so (90 s at most).
const SCRIPT = `${GUEST_CHARON_SCRIPT}
ctl() { timeout 3 bash -c "echo '$1' > /run/xl2tpd/l2tp-control" || echo "xl2tpd control: no reader"; }
dial() { ctl "c $1"; for _ in $(seq 40); do if [ -e /sys/class/net/ppp0 ]; then a=$(/usr/bin/ip -4 -o addr show dev ppp0 | awk '{print $4}'); [ -n "$a" ] && { echo "ppp0 $a"; /usr/bin/ip route replace 10.2.0.0/24 dev ppp0; return 0; }; fi; sleep 0.5; done; echo "no ppp0"; tail -20 /tmp/xl2tpd.log; tail -30 /tmp/pppd.log; return 1; }
hangup() { ctl "d $1"; for _ in $(seq 40); do [ -e /sys/class/net/ppp0 ] || return 0; sleep 0.25; done; return 1; }
wait_go() { for _ in $(seq 60); do ping -c 1 -W 1 $1 > /dev/null 2>&1 && return 0; done; return 1; }
gone() { for _ in $(seq 60); do [ -e /sys/class/net/ppp0 ] || { echo "ppp0 gone"; return 0; }; sleep 0.25; done; return 1; }
# A fresh xl2tpd per phase, as each dial of a real client is: one still closing its previous tunnel to the
# same server holds a second UDP socket connected to it, which takes the new tunnel's data (xl2tpd 1.3.18).
start_xl2tpd() { xl2tpd -c /lab/l2tp/\${1:-xl2tpd}.conf -p /run/xl2tpd.pid -C /run/xl2tpd/l2tp-control -D >> /tmp/xl2tpd.log 2>&1 & echo $! > /tmp/xl2tpd.pid; for _ in $(seq 50); do [ -p /run/xl2tpd/l2tp-control ] && return 0; sleep 0.1; done; cat /tmp/xl2tpd.log; return 1; }
restart_xl2tpd() { p=$(cat /tmp/xl2tpd.pid); kill $p; for _ in $(seq 40); do kill -0 $p 2> /dev/null || break; sleep 0.25; done; rm -f /run/xl2tpd/l2tp-control; start_xl2tpd "$@"; }
# The second laptop: its own xl2tpd (control pipe l2tp-control2); \`dial2 LAC\` waits for ppp1's address.
start_second() { xl2tpd -c /lab/l2tp/xl2tpd-home2.conf -p /run/xl2tpd2.pid -C /run/xl2tpd/l2tp-control2 -D >> /tmp/xl2tpd2.log 2>&1 & for _ in $(seq 50); do [ -p /run/xl2tpd/l2tp-control2 ] && return 0; sleep 0.1; done; cat /tmp/xl2tpd2.log; return 1; }
dial2() { timeout 3 bash -c "echo 'c $1' > /run/xl2tpd/l2tp-control2"; for _ in $(seq 40); do if [ -e /sys/class/net/ppp1 ]; then a=$(/usr/bin/ip -4 -o addr show dev ppp1 | awk '{print $4}'); [ -n "$a" ] && { echo "ppp1 $a"; return 0; }; fi; sleep 0.5; done; echo "no ppp1"; tail -20 /tmp/xl2tpd2.log; tail -30 /tmp/pppd.log; return 1; }
export -f ctl dial hangup wait_go gone start_xl2tpd restart_xl2tpd start_second dial2
sh_step xl2tpd start_xl2tpd
sh_step plain-dial 'dial plain'
step plain-ping ping -c 3 -W 3 ${LAN_HOST}
sh_step plain-inform 'printf "\\x01\\x01\\x06\\x00\\xde\\xad\\xbe\\xef\\x00\\x00\\x00\\x00" > /tmp/inform; head -c 224 /dev/zero >> /tmp/inform; printf "\\x63\\x82\\x53\\x63\\x35\\x01\\x08\\x37\\x03\\x79\\xf9\\x0f\\xff" >> /tmp/inform; socat -t 4 STDIO UDP4-DATAGRAM:255.255.255.255:67,broadcast,bind=0.0.0.0:68,so-bindtodevice=ppp0 < /tmp/inform > /tmp/ack; echo "ack $(od -An -tx1 -v /tmp/ack | tr -d " \\n")"'
sh_step plain-ppp-log 'grep -E "CHAP|MS-CHAP|DNS|local  IP|remote IP" /tmp/pppd.log'
step plain-go wait_go ${GO_API}
sh_step plain-disconnected gone
# Issue 20: MS-CHAPv2 with a wrong password: refused, no ppp0 (a fresh xl2tpd: the last tunnel may still be closing).
sh_step plain-wrong 'restart_xl2tpd; ctl "c wrong"; for _ in $(seq 60); do grep -qi "authentication failed" /tmp/pppd-wrong.log 2> /dev/null && break; sleep 0.25; done; sleep 1; if [ -e /sys/class/net/ppp0 ]; then echo "ppp0 came up"; exit 1; fi; ctl "d wrong"; grep -i "authentication failed" /tmp/pppd-wrong.log || { tail -20 /tmp/pppd-wrong.log; exit 1; }'
step ipsec-go wait_go ${GO_IPSEC}
sh_step refused 'restart_xl2tpd; ctl "c plain"; sleep 6; if [ -e /sys/class/net/ppp0 ]; then echo "ppp0 came up"; exit 1; fi; ctl "d plain"; echo "no ppp0"'
step charon charon_start
step load swan --load-all
step initiate swan --initiate --child l2tp --timeout 30
sh_step ipsec-dial 'restart_xl2tpd && dial ipsec'
step ipsec-ping ping -c 3 -W 3 ${LAN_HOST}
step states-before /usr/bin/ip xfrm state
# Issue 20: charon rekeys the Quick Mode SA in the middle of each direction (rekeyN: its status, and when it ended in ms into that direction).
sh_step ipsec-transfer 'head -c ${TRANSFER_BYTES} /dev/urandom > /tmp/up; echo "up $(sha256sum < /tmp/up | cut -c1-64)"; rekey() { sleep 0.3; swan --rekey --child l2tp > /tmp/rekey$1.out 2>&1; echo "rekey$1 $? $(( (\${EPOCHREALTIME/./} - $2) / 1000 ))" >> /tmp/rekeys; }; s=\${EPOCHREALTIME/./}; rekey 1 $s & timeout 30 socat -u OPEN:/tmp/up TCP:${LAN_HOST}:5001 || exit 1; m=\${EPOCHREALTIME/./}; wait; rekey 2 $m & echo "down $(timeout 30 socat -u TCP:${LAN_HOST}:5002 STDOUT | sha256sum | cut -c1-64)"; e=\${EPOCHREALTIME/./}; wait; echo "ms $(( (m - s) / 1000 )) $(( (e - m) / 1000 ))"; cat /tmp/rekeys; tail -3 /tmp/rekey1.out /tmp/rekey2.out'
step ipsec-data-go wait_go ${GO_DATA}
step states /usr/bin/ip -s xfrm state
sh_step ipsec-hangup 'hangup ipsec'
sh_step home-address '/usr/bin/ip addr add ${AT_HOME}/24 dev eth0'
step home-initiate swan --initiate --child home --timeout 30
sh_step home-dial 'restart_xl2tpd xl2tpd-home && dial home'
step home-ping ping -c 3 -W 3 ${LAN_HOST}
step home-states /usr/bin/ip -s xfrm state
sh_step two-address '/usr/bin/ip addr add ${AT_HOME2}/24 dev eth0'
step two-initiate swan --initiate --child home2 --timeout 30
sh_step two-dial 'start_second && dial2 home2'
sh_step two-ping 'ping -c 3 -W 3 -I ppp0 ${LAN_HOST} && ping -c 3 -W 3 -I ppp1 ${LAN_HOST}'
step two-states /usr/bin/ip -s xfrm state
step two-go wait_go ${GO_TWO}
sh_step home-hangup 'hangup home'
# Meanwhile the second laptop has vanished (its router drops it) and DPD frees it; then IKEv1 by certificate.
step cert-go wait_go ${GO_CERT}
sh_step cert-address '/usr/bin/ip addr add ${CERT_LAPTOP}/24 dev eth0'
step cert-initiate swan --initiate --child cert --timeout 30
sh_step cert-dial 'restart_xl2tpd xl2tpd-cert && dial cert'
step cert-ping ping -c 3 -W 3 -I ppp0 ${LAN_HOST}
sh_step cert-das 'for _ in $(seq 120); do [ -e /sys/class/net/ppp0 ] || { echo "ppp0 gone"; exit 0; }; sleep 0.25; done; exit 1'
sh_step logs 'echo "--- xl2tpd"; grep -v "tty is not open" /tmp/xl2tpd.log | tail -60; echo "data for no kernel session: $(grep -c "tty is not open" /tmp/xl2tpd.log)"; cat /proc/net/pppol2tp 2>/dev/null | head -20; echo "--- pppd"; tail -30 /tmp/pppd.log; echo "--- charon"; charon_log 40'
`;

// The API from Postern's host: sessions listed, then the L2TP one disconnected.
const API = `const base = 'http://127.0.0.1:18080/api/v1';
const json = { 'content-type': 'application/json' };
(async () => {
  await fetch(base + '/setup', { method: 'POST', headers: json, body: JSON.stringify({ password: '${ADMIN}' }) });
  const login = await fetch(base + '/login', { method: 'POST', headers: json, body: JSON.stringify({ password: '${ADMIN}' }) });
  const h = { ...json, cookie: (login.headers.get('set-cookie') || '').split(';')[0], 'x-csrf-token': (await login.json()).csrfToken };
  const listed = await (await fetch(base + '/sessions', { headers: h })).json();
  const l2tp = (listed.sessions || listed).filter((s) => s.protocol === 'l2tp');
  // A user added: L2TP takes the new list in place, the session stays.
  const added = (await fetch(base + '/users', { method: 'POST', headers: h, body: JSON.stringify({ name: 'bob', password: 'Another-Horse-Battery-8', enabled: true }) })).status;
  const kept = (await (await fetch(base + '/sessions', { headers: h })).json()).sessions.filter((s) => s.protocol === 'l2tp').map((s) => s.id);
  const gone = l2tp[0] ? (await fetch(base + '/sessions/' + l2tp[0].id, { method: 'DELETE', headers: h })).status : 0;
  process.stdout.write(JSON.stringify({ l2tp, added, kept, gone }));
})();`;

// The API from Postern's host again: the L2TP sessions of both laptops.
const SESSIONS = API.replace(/const listed = [\s\S]*$/, `const listed = await (await fetch(base + '/sessions', { headers: h })).json();
  process.stdout.write(JSON.stringify((listed.sessions || listed).filter((s) => s.protocol === 'l2tp')));
})();`);

// Before the guest boots: the administrator set up, and a client certificate for laptop-1 (base64 PKCS#12).
const ISSUE = API.replace(/const listed = [\s\S]*$/, `const p12 = await fetch(base + '/certificates/clients', { method: 'POST', headers: h, body: JSON.stringify({ name: 'laptop-1', password: '${CERT_PASSWORD}' }) });
  process.stdout.write(Buffer.from(await p12.arrayBuffer()).toString('base64'));
})();`);

interface GuestSa { readonly src: string; readonly dst: string; readonly spi: number; readonly packets: number; readonly failed: number; readonly block: string }
const parseStates = (text: string): GuestSa[] => text.split(/^src /m).slice(1).map((block) => ({
  src: /^(\S+)/.exec(block)?.[1] ?? '', dst: / dst (\S+)/.exec(block)?.[1] ?? '', spi: Number.parseInt(/ spi 0x([0-9a-f]+)/.exec(block)?.[1] ?? '-1', 16),
  packets: Number(/(\d+)\(packets\)/.exec(block)?.[1] ?? -1), failed: Number(/ failed (\d+)/.exec(block)?.[1] ?? -1), block,
}));

function posternConfig(allowPlain: boolean, ipsecAuth: 'psk' | 'certificate' = 'psk', radius = false) {
  const config = defaultConfig();
  config.system.wan = { interface: VM_REMOTE.wanInterface, mode: 'static', address: `${SERVER}/24` };
  config.system.lan = { interface: VM_REMOTE.lanInterface, address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.users = [{ name: 'alice', ntHash: ntHashHex(PASSWORD), enabled: true }, { name: 'carol', ntHash: ntHashHex(PASSWORD2), enabled: true }];
  config.listeners.sstp.enabled = false;
  config.listeners.ikev2.enabled = false;
  // The gateway certificate names the WAN address: the certificate laptop's charon expects that ID.
  config.certificates.server = { commonName: 'vpn.example.com', sans: [SERVER, 'vpn.example.com'] };
  config.pools[0] = { ...config.pools[0]!, routes: ['10.2.0.0/24', '172.20.0.0/16'], domain: 'corp.example' };
  config.listeners.l2tp = { ...config.listeners.l2tp, enabled: true, psk: PSK, ipsec: { auth: ipsecAuth, ...DPD }, ...(allowPlain ? { allowPlain: true } : {}), ...(radius ? { auth: 'radius' as const } : {}) };
  // DAS on the LAN address (10.2.0.1:3799), for radclient on the LAN host.
  if (radius) config.radius = { servers: [{ name: 'lab', address: LAN_HOST, authPort: 1812, acctPort: 1813, secret: RADIUS_SECRET }], dynamicAuthorization: { enabled: true, port: 3799, clients: [{ name: 'lab-dac', address: LAN_HOST, secret: DAS_SECRET }] } };
  return config;
}

t.setTimeout(360_000);

t.test('xl2tpd + pppd in the VM guest against postern run: plain L2TP (flagged), then L2TP inside IKEv1 transport-mode ESP', { skip }, async (t) => {
  t.setTimeout(360_000);
  const started = Date.now();
  const lab = Lab.create(vmRemoteAccess);
  t.teardown(() => lab.teardown());
  for (const key of ['all', 'default']) lab.execSync('gw', ['sysctl', '-qw', `net.ipv4.conf.${key}.rp_filter=0`]);
  // The home router masquerades the guest's second address only: the client at home, behind NAT.
  const home = `table ip lab_home {\n  chain post {\n    type nat hook postrouting priority 100;\n    ip saddr { ${AT_HOME}, ${AT_HOME2} } masquerade\n  }\n}\n`;
  lab.execSync(VM_REMOTE.host, ['sh', '-c', `printf '%s' '${home}' | nft -f -`]);

  // Issue 20: the LAN host takes 2 MB up (its hash printed) and serves 2 MB down.
  const down = randomBytes(TRANSFER_BYTES);
  const downFile = join(mkdtempSync(join(tmpdir(), 'l2tp-data-')), 'down.bin');
  writeFileSync(downFile, down);
  t.teardown(() => rmSync(dirname(downFile), { recursive: true, force: true }));
  const upSink = lab.spawnDaemon('lanB', 'up-sink', ['sh', '-c', 'socat -u TCP-LISTEN:5001,reuseaddr STDOUT | sha256sum']);
  lab.spawnDaemon('lanB', 'down-source', ['socat', '-u', `OPEN:${downFile}`, 'TCP-LISTEN:5002,reuseaddr']);

  let postern: PosternDaemon = await startPostern(lab, 'gw', posternConfig(true), (log) => log.includes('L2TP listening'));
  t.match(postern.log(), /"path":"listeners.l2tp.allowPlain","why":"plain L2TP is accepted outside IPsec/, 'plain L2TP is flagged in the log');
  // A client certificate issued by Postern's CA through the API (PKCS#12, as the web UI hands it out).
  const issued = await lab.exec('gw', [process.execPath, '-e', ISSUE], 60_000);
  const bundle = importPkcs12(Buffer.from(issued.stdout, 'base64'), new Secret(CERT_PASSWORD));
  const caPem = readFileSync(join(postern.stateDir, 'pki', 'ca.pem'), 'utf8');

  const vm = await Vm.boot(lab, VM_REMOTE.host, {
    address: VM_REMOTE.guestAddress, hostAddress: VM_REMOTE.hostAddress, gateway: VM_REMOTE.router,
    bootTimeoutMs: 90_000, // a loaded 2-core runner boots the guest slowly
    modules: ['ppp_generic', 'l2tp_core', 'l2tp_ppp', 'l2tp_netlink', 'esp4', 'xfrm_user', 'gcm', 'ghash_generic', 'seqiv', 'echainiv', 'authenc'],
    files: {
      '/lab/l2tp/xl2tpd.conf': XL2TPD_CONF,
      '/lab/l2tp/xl2tpd-home.conf': XL2TPD_HOME_CONF,
      '/lab/l2tp/xl2tpd-home2.conf': XL2TPD_HOME2_CONF,
      '/lab/l2tp/xl2tpd-cert.conf': XL2TPD_CERT_CONF,
      '/lab/l2tp/options': { data: PPP_OPTIONS, mode: 0o600 },
      '/lab/l2tp/options-radius': { data: PPP_OPTIONS.replace('name alice', `name ${RADIUS_USER.name}`).replace(`password ${PASSWORD}`, `password ${RADIUS_USER.password}`), mode: 0o600 },
      // alice with a wrong password (MS-CHAPv2 refused), logging apart.
      '/lab/l2tp/options-wrong': { data: PPP_OPTIONS.replace(`password ${PASSWORD}`, 'password Not-Alices-Password-1').replace('logfile /tmp/pppd.log', 'logfile /tmp/pppd-wrong.log'), mode: 0o600 },
      '/lab/l2tp/options2': { data: PPP_OPTIONS.replace('name alice', 'name carol').replace(`password ${PASSWORD}`, `password ${PASSWORD2}`), mode: 0o600 },
      ...guestCharonFiles({
        connections: {
          l2tp: {
            localAddrs: [VM_REMOTE.guest], remoteAddrs: [SERVER], proposals: ['aes256-sha256-modp2048'], version: 1,
            local: { auth: 'psk', id: VM_REMOTE.guest }, remote: { auth: 'psk', id: SERVER },
            children: { l2tp: { localTs: ['dynamic[17/1701]'], remoteTs: ['dynamic[17/1701]'], espProposals: ['aes256gcm16'], mode: 'transport' } },
          },
          home: {
            localAddrs: [AT_HOME], remoteAddrs: [SERVER], proposals: ['aes256-sha256-modp2048'], version: 1,
            local: { auth: 'psk', id: AT_HOME }, remote: { auth: 'psk', id: SERVER },
            children: { home: { localTs: ['dynamic[17/1701]'], remoteTs: ['dynamic[17/1701]'], espProposals: ['aes256gcm16'], mode: 'transport' } },
          },
          cert: {
            localAddrs: [CERT_LAPTOP], remoteAddrs: [SERVER], proposals: ['aes256-sha256-modp2048'], version: 1,
            local: { auth: 'pubkey', id: 'CN=laptop-1', certs: ['laptop-1.pem'] }, remote: { auth: 'pubkey', id: SERVER },
            children: { cert: { localTs: ['dynamic[17/1701]'], remoteTs: ['dynamic[17/1701]'], espProposals: ['aes256gcm16'], mode: 'transport' } },
          },
          home2: {
            localAddrs: [AT_HOME2], remoteAddrs: [SERVER], proposals: ['aes256-sha256-modp2048'], version: 1,
            local: { auth: 'psk', id: AT_HOME2 }, remote: { auth: 'psk', id: SERVER },
            children: { home2: { localTs: ['dynamic[17/1701]'], remoteTs: ['dynamic[17/1701]'], espProposals: ['aes256gcm16'], mode: 'transport' } },
          },
        },
        secrets: [{ kind: 'ike', ids: [VM_REMOTE.guest, AT_HOME, AT_HOME2, SERVER], secret: PSK }],
        files: { 'x509ca/postern-ca.pem': caPem, 'x509/laptop-1.pem': bundle.certificatePem, 'private/laptop-1.key': bundle.keyPem.reveal() },
      }),
    },
    script: SCRIPT,
  });
  t.comment(`boot to READY in ${vm.bootMs} ms`);

  // Phase 1 over: the API lists the session and disconnects it.
  const early = async (e: unknown) => {
    t.fail(`the guest did not get to the next phase: ${String(e)}\n--- guest ---\n${readFileSync(vm.consoleFile, 'utf8').slice(-4000)}\n--- postern ---\n${postern.log().split('\n').slice(-40).join('\n')}`);
    throw e;
  };
  await vm.waitFor(/^@@STEP plain-go BEGIN/m, 70_000).catch(early);
  const api = await lab.exec('gw', [process.execPath, '-e', API], 30_000);
  const listed = JSON.parse(api.stdout || '{}') as { l2tp?: Array<{ id: string; user: string; address: string; peer: string }>; added?: number; kept?: string[]; gone?: number };
  lab.execSync('gw', ['ip', 'addr', 'add', `${GO_API}/32`, 'dev', VM_REMOTE.wanInterface]);
  t.equal(listed.l2tp?.length, 1, `one L2TP session in the API: ${api.stdout}${api.stderr}`);
  t.match(listed.l2tp?.[0] ?? {}, { user: 'alice', address: /^10\.10\.0\.\d+$/, peer: VM_REMOTE.guest }, 'alice, from the pool, at the guest\'s address');
  t.same([listed.added, listed.kept], [201, [listed.l2tp?.[0]?.id]], 'a user added through the API leaves the L2TP session up (no restart)');
  t.equal(listed.gone, 200, 'the API disconnects it');

  // Phase 2: IPsec required (the default): Postern restarts on the same state without allowPlain.
  await vm.waitFor(/^@@STEP ipsec-go BEGIN/m, 60_000).catch(early);
  const plainLog = postern.log(); // the restarted daemon writes its log afresh
  await postern.stop();
  postern = await startPostern(lab, 'gw', posternConfig(false), (log) => log.includes('L2TP listening') && log.includes('IKEv1 listening'), { stateDir: postern.stateDir });
  lab.execSync('gw', ['ip', 'addr', 'add', `${GO_IPSEC}/32`, 'dev', VM_REMOTE.wanInterface]);

  // Issue 20: after 10 MB each way and two rekeys, the driver's counters for the session (read while it is up).
  await vm.waitFor(/^@@STEP ipsec-data-go BEGIN/m, 120_000).catch(early);
  const healthz = () => lab.exec('gw', [process.execPath, '-e', "fetch('http://127.0.0.1:18080/healthz').then((r) => r.text()).then((t) => process.stdout.write(t))"], 30_000);
  const health = await healthz();
  lab.execSync('gw', ['ip', 'addr', 'add', `${GO_DATA}/32`, 'dev', VM_REMOTE.wanInterface]);
  const counterIn = (text: string, name: string) => Number(new RegExp(`"${name.replace(/\./g, '\\.')}":(\\d+)`).exec(text)?.[1] ?? -1);
  const counter = (name: string) => counterIn(health.stdout, name);

  // Two laptops at the same home, both dialed in: the API lists both sessions.
  await vm.waitFor(/^@@STEP two-go BEGIN/m, 150_000).catch(early);
  const sessionsNow = await lab.exec('gw', [process.execPath, '-e', SESSIONS], 30_000);
  const leasedWithTwo = counterIn((await healthz()).stdout, 'l2tp.pool.leased');
  lab.execSync('gw', ['ip', 'addr', 'add', `${GO_TWO}/32`, 'dev', VM_REMOTE.wanInterface]);

  // Issue 20: carol's laptop vanishes (its home router drops it: no CDN, no Delete, as a laptop leaving
  // the Wi-Fi): DPD finds it dead within delay + timeout, and the session and its address go (bounded: 40 s).
  const vanish = `table ip lab_vanish {\n  chain drop_laptop {\n    type filter hook forward priority 0;\n    ip saddr ${AT_HOME2} drop\n    ip daddr ${AT_HOME2} drop\n  }\n}\n`;
  lab.execSync(VM_REMOTE.host, ['sh', '-c', `printf '%s' '${vanish}' | nft -f -`]);
  const vanished = Date.now();
  let carolGone: number | undefined;
  let afterDpd = '';
  while (Date.now() - vanished < 40_000) {
    afterDpd = (await lab.exec('gw', [process.execPath, '-e', SESSIONS], 30_000)).stdout;
    if (!afterDpd.includes('"carol"')) {
      carolGone = Date.now() - vanished;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  await vm.waitFor(/^@@STEP cert-go BEGIN/m, 30_000).catch(early); // alice has hung up
  const leasedAfter = counterIn((await healthz()).stdout, 'l2tp.pool.leased');

  // Issue 20: L2TP/IPsec clients authenticate IKEv1 with certificates (listeners.l2tp.ipsec.auth).
  const phase2Log = postern.log(); // the restarted daemon writes its log afresh
  await postern.stop();
  // Issue 21: PPP passwords now checked by FreeRADIUS on the LAN host, which is also the DAS client.
  const radius = await FreeRadius.start(lab, 'lanB', { address: LAN_HOST, clients: [{ name: 'postern', network: '10.2.0.0/24', secret: RADIUS_SECRET }], users: [RADIUS_USER], replyMessageAuthenticator: 'always' });
  postern = await startPostern(lab, 'gw', posternConfig(false, 'certificate', true), (log) => log.includes('L2TP listening') && log.includes('IKEv1 listening'), { stateDir: postern.stateDir });
  lab.execSync('gw', ['ip', 'addr', 'add', `${GO_CERT}/32`, 'dev', VM_REMOTE.wanInterface]);
  await vm.waitFor(/^@@STEP cert-das BEGIN/m, 90_000).catch(early);
  const das = (await lab.exec('lanB', ['sh', '-c', `echo 'User-Name = "${RADIUS_USER.name}"' | radclient -x -r 2 -t 3 10.2.0.1:3799 disconnect ${DAS_SECRET}`], 20_000)).stdout;
  const result = await vm.waitForExit(90_000);
  const step = (name: string) => result.steps.get(name);
  const out = (name: string) => step(name)?.output ?? '';
  const diag = () => `\n${out('logs')}\n--- postern ---\n${postern.log().split('\n').slice(-30).join('\n')}`;

  t.equal(step('xl2tpd')?.code, 0, `xl2tpd starts in the guest: ${out('xl2tpd')}`);
  t.equal(step('plain-dial')?.code, 0, `plain L2TP: tunnel, session and PPP up with an address: ${out('plain-dial')}${step('plain-dial')?.code === 0 ? '' : diag()}`);
  t.match(out('plain-dial'), /ppp0 10\.10\.0\.\d+\b/, 'the address is from the pool');
  t.match(out('plain-ppp-log'), /rcvd \[CHAP Success id=0x[0-9a-f]+ "S=[0-9A-F]{40}/, 'pppd authenticated with MS-CHAPv2 (the server proved itself with its authenticator response)');
  t.match(out('plain-ppp-log'), /CHAP authentication succeeded/, 'and accepted it');
  t.match(out('plain-ppp-log'), /primary\s+DNS address 1\.1\.1\.1/, 'and got the pool\'s DNS server');
  // DHCPINFORM over the real link (Windows sends one once PPP is up): answered with the LAN as a classless route.
  const ack = Buffer.from(/ack ([0-9a-f]*)/.exec(out('plain-inform'))?.[1] ?? '', 'hex');
  const dhcpOptions = new Map<number, number[]>();
  for (let at = 240; at + 1 < ack.length && ack[at] !== 255; at += 2 + ack[at + 1]!) dhcpOptions.set(ack[at]!, [...ack.subarray(at + 2, at + 2 + ack[at + 1]!)]);
  t.same([ack[0], ...ack.subarray(4, 8)], [2, 0xde, 0xad, 0xbe, 0xef], `a BOOTREPLY to our DHCPINFORM came back over PPP: ${out('plain-inform').slice(0, 200)}`);
  const routes = [24, 10, 2, 0, 10, 2, 0, 1, 16, 172, 20, 10, 2, 0, 1];
  t.same([dhcpOptions.get(53), dhcpOptions.get(121), dhcpOptions.get(249)], [[5], routes, routes], 'DHCPACK with the pool\'s routes (10.2.0.0/24, 172.20.0.0/16) via the gateway in options 121 and 249');
  t.equal(Buffer.from(dhcpOptions.get(15) ?? []).toString(), 'corp.example', 'and its DNS domain (15)');
  t.equal(step('plain-ping')?.code, 0, `the LAN host answers through plain L2TP: ${out('plain-ping')}`);
  t.equal(step('plain-disconnected')?.code, 0, `the API's disconnect brings ppp0 down in the guest: ${out('plain-disconnected')}`);

  t.equal(step('plain-wrong')?.code, 0, `a wrong MS-CHAPv2 password gets no ppp0, and pppd says the login failed: ${out('plain-wrong')}`);
  t.ok(plainLog.split('\n').some((l) => l.includes('"msg":"PPP authentication failed"') && l.includes('"protocol":"l2tp"') && l.includes('"user":"alice"')), 'Postern refused alice\'s wrong password (MS-CHAPv2 over L2TP)');
  t.equal(step('refused')?.code, 0, `with IPsec required, plain L2TP gets no session: ${out('refused')}`);
  t.equal(step('charon')?.code, 0, `charon starts in the guest: ${out('charon')}`);
  t.equal(step('initiate')?.code, 0, `charon keys IKEv1 Main Mode and a transport-mode Quick Mode for UDP 1701 with Postern: ${out('initiate').split('\n').slice(-12).join('\n')}${step('initiate')?.code === 0 ? '' : diag()}`);
  t.equal(step('ipsec-dial')?.code, 0, `L2TP/IPsec: PPP up with a pool address: ${out('ipsec-dial')}${step('ipsec-dial')?.code === 0 ? '' : diag()}`);
  t.match(out('ipsec-dial'), /ppp0 10\.10\.0\.\d+\b/, 'the address is from the pool');
  t.equal(step('ipsec-ping')?.code, 0, `the LAN host answers through L2TP/IPsec: ${out('ipsec-ping')}${step('ipsec-ping')?.code === 0 ? '' : diag()}`);
  const before = parseStates(out('states-before')).filter((s) => [s.src, s.dst].includes(SERVER));
  t.equal(before.length, 2, 'two SAs with Postern in the guest\'s kernel before the transfer');
  const sas = parseStates(out('states')).filter((s) => [s.src, s.dst].includes(SERVER));
  for (const sa of sas) {
    t.ok(sa.packets >= 10 && sa.failed === 0, `${sa.src} → ${sa.dst} spi ${sa.spi.toString(16)}: ${sa.packets} packets (L2TP control, PPP, pings, data) through the guest's kernel ESP, ${sa.failed} failed`);
    t.match(sa.block, /mode transport/, 'in transport mode');
  }
  // Issue 20: phase 2 rekeyed during the transfer, twice: new SPIs both ways, each carrying the data that followed.
  const rekeys = [...out('ipsec-transfer').matchAll(/^rekey(\d) (\d+) (\d+)$/gm)].map((m) => ({ n: Number(m[1]), rc: Number(m[2]), at: Number(m[3]) }));
  const [upMs, downMs] = (/ms (\d+) (\d+)/.exec(out('ipsec-transfer'))?.slice(1) ?? []).map(Number);
  t.same(rekeys.map((r) => [r.n, r.rc]).sort(), [[1, 0], [2, 0]], `charon rekeyed the Quick Mode SA once in each direction: ${out('ipsec-transfer').split('\n').slice(-10).join(' | ')}`);
  t.ok(rekeys.every((r) => r.at < (r.n === 1 ? upMs! : downMs!)), `each rekey done while its direction was still flowing (${rekeys.map((r) => `${r.at} ms`).join(', ')} into ${upMs} and ${downMs} ms)`);
  // charon keeps a rekeyed child's inbound SA a while but swaps its outbound at once: three new SAs left.
  const fresh = sas.filter((sa) => !before.some((b) => b.spi === sa.spi));
  const freshIn = fresh.filter((sa) => sa.dst === VM_REMOTE.guest);
  const freshOut = fresh.filter((sa) => sa.dst === SERVER);
  const listFresh = fresh.map((sa) => `${sa.src}→${sa.dst} ${sa.spi.toString(16)}: ${sa.packets}`).join(', ');
  t.ok(freshIn.length === 2 && freshIn.every((sa) => sa.packets >= 100), `two new inbound SAs in the guest, each carrying data from Postern after its rekey: ${listFresh}`);
  t.ok(freshOut.length === 1 && freshOut[0]!.packets >= 20, `the guest sends on the newest outbound SA: ${listFresh}`);
  const rekeyedInPostern = phase2Log.split('\n').filter((l) => l.includes('"msg":"child SA rekeyed in place"')).map((l) => Number.parseInt(/"inSpi":"([0-9a-f]+)"/.exec(l)?.[1] ?? '', 16));
  t.ok(rekeyedInPostern.length === 2 && rekeyedInPostern.every((spi) => !before.some((b) => b.spi === spi)) && rekeyedInPostern.at(-1) === freshOut[0]?.spi,
    `Postern rekeyed the child in place twice, onto new SPIs, the last the guest's outbound now (Postern: ${rekeyedInPostern.map((x) => x.toString(16)).join(', ')}; guest: ${listFresh})`);
  // Issue 20: the data went through the driver's PPP data path, not through JavaScript.
  t.equal(step('ipsec-transfer')?.code, 0, `10 MB each way over L2TP/IPsec, with two rekeys: ${out('ipsec-transfer')}${step('ipsec-transfer')?.code === 0 ? '' : diag()}`);
  t.equal(/up ([0-9a-f]{64})/.exec(out('ipsec-transfer'))?.[1], /([0-9a-f]{64})/.exec(readFileSync(upSink.logFile, 'utf8'))?.[1], 'the upload arrived intact (SHA-256 on both ends)');
  t.equal(/down ([0-9a-f]{64})/.exec(out('ipsec-transfer'))?.[1], createHash('sha256').update(down).digest('hex'), 'the download arrived intact');
  t.comment(`transfer times (ms, up and down): ${/ms (\d+ \d+)/.exec(out('ipsec-transfer'))?.[1]}`);
  t.equal(counter('l2tp.dataPath.sessions'), 1, `the session's IP is carried by the driver: ${/"l2tp":\{[^}]*\}[^}]*\}/.exec(health.stdout)?.[0] ?? health.stdout.slice(0, 300)}`);
  t.ok(counter('l2tp.dataPath.packetsIn') > 1000 && counter('l2tp.dataPath.packetsOut') > 1000, `the driver framed and deframed the data (in ${counter('l2tp.dataPath.packetsIn')}, out ${counter('l2tp.dataPath.packetsOut')} packets)`);
  t.ok(counter('l2tp.dataPath.bytesIn') >= TRANSFER_BYTES && counter('l2tp.dataPath.bytesOut') >= TRANSFER_BYTES, 'at least 10 MB each way counted by the driver, across the rekeys');
  t.ok(counter('l2tp.javascriptPackets') >= 0 && counter('l2tp.javascriptPackets') < 20, `hardly any IP packet crossed JavaScript, rekeys included (${counter('l2tp.javascriptPackets')})`);
  t.notMatch(phase2Log, /the driver cannot carry L2TP's PPP data/, 'no fallback to JavaScript');
  t.equal(step('ipsec-hangup')?.code, 0, 'xl2tpd hangs up');

  // The client at home, behind its router's masquerade (Windows' usual case): NAT-T, UDP 4500.
  t.equal(step('home-initiate')?.code, 0, `from behind a NAT, charon keys transport mode again: ${out('home-initiate').split('\n').slice(-6).join('\n')}${step('home-initiate')?.code === 0 ? '' : diag()}`);
  t.equal(step('home-dial')?.code, 0, `L2TP/IPsec through the NAT: PPP up: ${out('home-dial')}${step('home-dial')?.code === 0 ? '' : diag()}`);
  t.match(out('home-dial'), /ppp0 10\.10\.0\.\d+\b/, 'with a pool address');
  t.equal(step('home-ping')?.code, 0, `the LAN host answers through NAT-T L2TP/IPsec: ${out('home-ping')}${step('home-ping')?.code === 0 ? '' : diag()}`);
  const homeSas = parseStates(out('home-states')).filter((sa) => [sa.src, sa.dst].includes(AT_HOME));
  t.equal(homeSas.length, 2, 'two SAs from the home address in the guest\'s kernel');
  for (const sa of homeSas) {
    t.match(sa.block, /encap type espinudp sport 4500 dport 4500/, `${sa.src} → ${sa.dst}: ESP in UDP 4500 (NAT-T)`);
    t.ok(sa.packets >= 5 && sa.failed === 0, `${sa.src} → ${sa.dst}: ${sa.packets} packets, ${sa.failed} failed`);
  }
  t.ok(phase2Log.split('\n').some((l) => l.includes('"msg":"L2TP tunnel up"') && l.includes(`"peer":"${HOME_ROUTER}:1701@`)), 'Postern saw the tunnel from the home router\'s address');

  // The second laptop at the same home (issue 20): its own IKEv1 SA from the same NAT address, its own L2TP tunnel.
  t.equal(step('two-initiate')?.code, 0, `a second client behind the same NAT keys its own transport SA: ${out('two-initiate').split('\n').slice(-6).join('\n')}${step('two-initiate')?.code === 0 ? '' : diag()}`);
  t.equal(step('two-dial')?.code, 0, `and dials L2TP while the first is up: ${out('two-dial')}${step('two-dial')?.code === 0 ? '' : diag()}`);
  t.match(out('two-dial'), /ppp1 10\.10\.0\.\d+\b/, 'with its own pool address');
  t.equal(step('two-ping')?.code, 0, `both laptops reach the LAN host at the same time: ${out('two-ping')}${step('two-ping')?.code === 0 ? '' : diag()}`);
  const both = JSON.parse(sessionsNow.stdout || '[]') as Array<{ user: string; address: string; peer: string }>;
  t.equal(both.length, 2, `two L2TP sessions listed: ${sessionsNow.stdout}${sessionsNow.stderr}`);
  t.ok(both.every((s) => s.peer === HOME_ROUTER) && new Set(both.map((s) => s.address)).size === 2, 'both from the home router\'s address, each with its own pool address');
  t.same(both.map((s) => s.user).sort(), ['alice', 'carol'], 'alice\'s laptop and carol\'s');
  const twoSas = parseStates(out('two-states')).filter((sa) => [sa.src, sa.dst].includes(AT_HOME2));
  t.equal(twoSas.length, 2, 'two SAs from the second address in the guest\'s kernel');
  for (const sa of twoSas) t.ok(sa.packets >= 5 && sa.failed === 0, `${sa.src} → ${sa.dst}: ${sa.packets} packets, ${sa.failed} failed`);
  const tunnelsFromHome = new Set(phase2Log.split('\n').filter((l) => l.includes('"msg":"L2TP tunnel up"') && l.includes(`"peer":"${HOME_ROUTER}:1701@`)).map((l) => /"peer":"([^"]+)"/.exec(l)?.[1]));
  t.ok(tunnelsFromHome.size >= 2, `Postern kept the two tunnels from ${HOME_ROUTER}:1701 apart by their SA: ${[...tunnelsFromHome].join(', ')}`);
  t.equal(step('home-hangup')?.code, 0, 'xl2tpd hangs up');
  t.match(phase2Log, /"msg":"L2TP tunnel up"/, 'Postern logged the L2TP tunnel inside IPsec');

  // The second laptop vanished (the guest powered off, no hang-up, no Delete): DPD frees its session and address.
  t.equal(leasedWithTwo, 2, 'two pool addresses leased while both laptops were up');
  t.ok(carolGone !== undefined, `carol's session left the API's list after her laptop vanished (${carolGone} ms): ${afterDpd}`);
  t.ok((carolGone ?? Infinity) <= (DPD.dpdSeconds + DPD.dpdTimeoutSeconds + 4) * 1000, `within DPD's delay + timeout (+ slack): ${carolGone} ms`);
  t.equal(leasedAfter, 0, 'and its address went back to the pool (alice\'s went at her hang-up)');
  t.equal(step('cert-initiate')?.code, 0, `IKEv1 Main Mode with certificates (laptop-1's from Postern's CA) and transport mode: ${out('cert-initiate').split('\n').slice(-8).join('\n')}${step('cert-initiate')?.code === 0 ? '' : diag()}`);
  t.match(out('cert-initiate'), /CHILD_SA cert\{\d+\} established .* TS 198\.51\.100\.5\/32\[17\/1701\] === 192\.0\.2\.2\/32\[17\/1701\]/, 'the transport child for UDP 1701');
  t.match(postern.log(), /"connection":"l2tp",.*"msg":"'CN=laptop-1' signed HASH_I with its certificate"/, 'Postern checked laptop-1\'s certificate and signature');
  t.match(postern.log(), /"msg":"ISAKMP SA with 198\.51\.100\.5 \((?:9|dn):[0-9a-f]+\) established for l2tp"/, 'and keyed its L2TP connection (the ID a DN, type 9)');
  t.equal(step('cert-dial')?.code, 0, `L2TP/IPsec with a certificate: PPP up: ${out('cert-dial')}${step('cert-dial')?.code === 0 ? '' : diag()}`);
  t.match(out('cert-dial'), /ppp0 10\.10\.0\.\d+\b/, 'with a pool address');
  t.equal(step('cert-ping')?.code, 0, `the LAN host answers through L2TP/IPsec keyed by certificate: ${out('cert-ping')}${step('cert-ping')?.code === 0 ? '' : diag()}`);
  // Issue 21: dave's MS-CHAPv2 checked by FreeRADIUS, his call accounted there and ended by its Disconnect-Request.
  t.match(radius.log(), new RegExp(`Login OK: \\[${RADIUS_USER.name}`), 'FreeRADIUS checked the certificate laptop\'s MS-CHAPv2 login (a user only it knows)');
  t.match(das, /Received Disconnect-ACK/, `radclient's Disconnect-Request naming ${RADIUS_USER.name}: ACK: ${das.slice(-600)}`);
  t.equal(step('cert-das')?.code, 0, `and the call ends in the guest: ${out('cert-das')}`);
  const detail = () => { try { return readFileSync(join(radius.dir, 'detail'), 'utf8'); } catch { return ''; } };
  const daveRecords = () => detail().split(/\n\n+/).filter((r) => r.includes(`User-Name = "${RADIUS_USER.name}"`));
  await waitUntil('dave\'s Stop record', 10_000, () => daveRecords().some((r) => /Acct-Status-Type = Stop/.test(r)), detail).catch(() => {});
  t.match(daveRecords(), [/Acct-Status-Type = Start[\s\S]*Framed-IP-Address = 10\.10\.0\./, /Acct-Status-Type = Stop[\s\S]*Acct-Terminate-Cause = Admin-Reset/], `accounting Start (with the address) and Stop (Admin-Reset): ${daveRecords().join('\n\n').slice(0, 3000)}`);
  const daveStop = daveRecords().find((r) => /Acct-Status-Type = Stop/.test(r)) ?? '';
  const packetsIn = Number(/Acct-Input-Packets = (\d+)/.exec(daveStop)?.[1] ?? -1);
  const octetsIn = Number(/Acct-Input-Octets = (\d+)/.exec(daveStop)?.[1] ?? -1);
  t.ok(packetsIn >= 3 && octetsIn >= 3 * 84, `with the session's counters: ${packetsIn} packets, ${octetsIn} octets in (3 pings of 84 bytes at least)`);
  t.notMatch(postern.log(), new RegExp(`${RADIUS_SECRET}|${DAS_SECRET}|${RADIUS_USER.password}`), 'no RADIUS or DAS secret, nor the password, in Postern\'s log');
  t.match(phase2Log, new RegExp(`l2tp with ${HOME_ROUTER}: dead peer: no R-U-THERE-ACK in ${DPD.dpdTimeoutSeconds} s`), 'found dead by DPD (RFC 3706)');
  t.ok(phase2Log.split('\n').some((l) => l.includes('"msg":"L2TP tunnel closed: its IPsec SA is gone"') && l.includes(`"peer":"${HOME_ROUTER}:1701@`)), 'its L2TP tunnel closed with the SA, not after HELLO timeouts');
  if (!t.passing()) t.comment(`${diag()}\n--- guest ---\n${result.console.slice(-3000)}`);
  t.comment(`whole test in ${Date.now() - started} ms`);
  await postern.stop();
});
