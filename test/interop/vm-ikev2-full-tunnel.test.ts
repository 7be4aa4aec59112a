// Full-tunnel remote access, the way Windows' built-in client does it: strongSwan's charon in the VM
// lab's guest with the guest kernel's ESP, against `postern run` (the whole service: IKEv2 listener,
// EAP-MSCHAPv2, the gateway's certificate from its own CA, the default pool). The client asks for
// 0.0.0.0/0 (remote_ts), gets an address from the pool, and with every destination routed into the
// tunnel reaches a host on Postern's LAN and a host beyond the gateway (`internet`, behind Postern's
// WAN side and not on the client's own path): ping and a 1 MB TCP transfer to each, checked at the
// receiving end byte for byte. Topology: vmRemoteAccess.
//
// Postern itself neither turns on IPv4 forwarding nor masquerades the pool's traffic out of its WAN:
// the lab's gw host forwards (the scenario), and this test adds the masquerade rule a deployment needs
// for clients to reach the Internet (unless the service has put one there itself).
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { ntHashHex } from '../../firmware/crypto/user-credential.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { CHARON } from '../lab/peers/strongswan.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { VM_REMOTE, vmRemoteAccess } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { GUEST_CHARON_SCRIPT, guestCharonFiles } from '../lab/vm/guest-charon.ts';
import { Vm, vmMissing } from '../lab/vm/vm.ts';
import { labSkip } from '../lab/skip.ts';

const missing = vmMissing() ?? (existsSync(CHARON) ? null : 'strongSwan (charon) is not installed, so the guest image has none');
const skip = labSkip(missing);

const PASSWORD = 'Correct-Horse-Battery-7';
const POOL = '10.10.0.0/24';
const LAN_PORT = 5001;
const NET_PORT = 5002;
const BLOB_BYTES = 1024 * 1024;

// The guest: nothing beyond its home router's path before the tunnel; charon up; then everything
// through the tunnel. `send NAME HOST PORT` sends the same 1 MB blob and prints its SHA-256.
const SCRIPT = `${GUEST_CHARON_SCRIPT}
send() { start=\${EPOCHREALTIME/./}; socat -u OPEN:/tmp/blob TCP:$2:$3,connect-timeout=10; rc=$?; end=\${EPOCHREALTIME/./}; echo "ms=$(( (end - start) / 1000 ))"; return $rc; }
export -f send
sh_step blob 'head -c ${BLOB_BYTES} /dev/urandom > /tmp/blob && sha256sum /tmp/blob'
sh_step direct-before '! ping -c 1 -W 2 ${VM_REMOTE.internetHost} && ! ping -c 1 -W 2 ${VM_REMOTE.lanHost}'
step charon charon_start
step load swan --load-all
step initiate swan --initiate --child full --timeout 30
sh_step client-state 'ip -4 addr show; echo "-- table 220"; ip -4 route show table 220; echo "-- policies"; /usr/bin/ip xfrm policy show | grep -E "^src|dir"'
step ping-lan ping -c 3 -W 3 ${VM_REMOTE.lanHost}
step ping-internet ping -c 3 -W 3 ${VM_REMOTE.internetHost}
sh_step tcp-lan 'send lan ${VM_REMOTE.lanHost} ${LAN_PORT}'
sh_step tcp-internet 'send internet ${VM_REMOTE.internetHost} ${NET_PORT}'
step sas swan --list-sas
step states /usr/bin/ip -s xfrm state
step terminate swan --terminate --ike full --timeout 10
step initiate-win swan --initiate --child win --timeout 30
step ping-lan-win ping -c 3 -W 3 ${VM_REMOTE.lanHost}
step ping-internet-win ping -c 3 -W 3 ${VM_REMOTE.internetHost}
step states-win /usr/bin/ip -s xfrm state
step terminate-win swan --terminate --ike win --timeout 10
sh_step charon-log 'charon_log 120'
`;

interface GuestSa {
  readonly src: string;
  readonly dst: string;
  readonly packets: number;
  readonly failed: number;
}

/** `ip -s xfrm state`: outer addresses, `lifetime current` packets and integrity failures of each SA. */
function parseStates(text: string): GuestSa[] {
  return text.split(/^src /m).slice(1).map((block) => ({
    src: /^(\S+)/.exec(block)?.[1] ?? '',
    dst: / dst (\S+)/.exec(block)?.[1] ?? '',
    packets: Number(/(\d+)\(packets\)/.exec(block)?.[1] ?? -1),
    failed: Number(/ failed (\d+)/.exec(block)?.[1] ?? -1),
  }));
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

t.test('charon in the VM guest (kernel ESP) against postern run: full tunnel to the LAN and beyond the gateway', { skip }, async (t) => {
  const started = Date.now();
  const lab = Lab.create(vmRemoteAccess);
  t.teardown(() => lab.teardown());

  const config = defaultConfig();
  config.system.wan = { interface: VM_REMOTE.wanInterface, mode: 'static', address: `${VM_REMOTE.server}/24` };
  config.system.lan = { interface: VM_REMOTE.lanInterface, address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.users = [{ name: 'alice', ntHash: ntHashHex(PASSWORD), enabled: true }];
  config.certificates.server = { commonName: 'vpn.example.com', sans: [VM_REMOTE.server, 'vpn.example.com'] };
  config.listeners.sstp.enabled = false;
  t.equal(config.listeners.ikev2.auth, 'eap-mschapv2', 'the IKEv2 listener\'s default authentication: EAP-MSCHAPv2');
  t.equal(config.pools[0]?.ipv4, POOL, 'the default pool');
  const postern = await startPostern(lab, 'gw', config, (log) => log.includes('IKEv2 listening'));
  t.pass('IKEv2 listens on the WAN address before the guest exists');

  // What the service leaves to the host: forwarding (on in the scenario) and NAT of the pool out of the WAN.
  t.equal(lab.execSync('gw', ['sysctl', '-n', 'net.ipv4.ip_forward']).trim(), '1', 'the gateway host forwards (set by the lab, not by Postern)');
  const ruleset = lab.execSync('gw', ['nft', 'list', 'ruleset']);
  if (/masquerade/.test(ruleset)) {
    t.comment('Postern masquerades out of the WAN itself: no rule added by the test');
  } else {
    t.comment(`Postern does not masquerade the pool (${POOL}) out of its WAN: the test adds the rule a deployment needs`);
    const rules = `table ip lab_pool_nat {\n  chain post {\n    type nat hook postrouting priority 100;\n    ip saddr ${POOL} oifname "${VM_REMOTE.wanInterface}" masquerade\n  }\n}\n`;
    lab.execSync('gw', ['sh', '-c', `printf '%s' '${rules}' | nft -f -`]);
  }

  // Receivers: one connection each, the bytes to a file, the peer's address in socat's log.
  const lanFile = join(lab.subdir('lan-sink'), 'blob');
  const netFile = join(lab.subdir('net-sink'), 'blob');
  const lanSink = lab.spawnDaemon('lanB', 'lan-sink', ['socat', '-d', '-d', '-u', `TCP-LISTEN:${LAN_PORT},reuseaddr`, `OPEN:${lanFile},creat,trunc`]);
  const netSink = lab.spawnDaemon('internet', 'net-sink', ['socat', '-d', '-d', '-u', `TCP-LISTEN:${NET_PORT},reuseaddr`, `OPEN:${netFile},creat,trunc`]);

  const caPem = readFileSync(join(postern.stateDir, 'pki', 'ca.pem'), 'utf8');
  const vm = await Vm.boot(lab, VM_REMOTE.host, {
    address: VM_REMOTE.guestAddress, hostAddress: VM_REMOTE.hostAddress, gateway: VM_REMOTE.router,
    modules: ['esp4', 'xfrm_user', 'gcm', 'ghash_generic', 'seqiv', 'echainiv', 'authenc'],
    files: guestCharonFiles({
      files: { 'x509ca/postern-ca.pem': caPem },
      connections: {
        // strongSwan's own defaults for IKE, AES-GCM for ESP (the kernel's seqiv IVs).
        full: {
          localAddrs: [VM_REMOTE.guest], remoteAddrs: [VM_REMOTE.server], proposals: ['default'], vips: ['0.0.0.0'],
          local: { auth: 'eap-mschapv2', id: VM_REMOTE.guest, eapId: 'alice' }, remote: { auth: 'pubkey', id: VM_REMOTE.server },
          children: { full: { localTs: ['dynamic'], remoteTs: ['0.0.0.0/0'], espProposals: ['aes256gcm16'] } },
        },
        // Then as Windows' built-in client offers by default: AES-CBC with SHA-1 and MODP-1024 (echainiv IVs).
        win: {
          localAddrs: [VM_REMOTE.guest], remoteAddrs: [VM_REMOTE.server], proposals: ['aes256-sha1-modp1024'], vips: ['0.0.0.0'],
          local: { auth: 'eap-mschapv2', id: VM_REMOTE.guest, eapId: 'alice' }, remote: { auth: 'pubkey', id: VM_REMOTE.server },
          children: { win: { localTs: ['dynamic'], remoteTs: ['0.0.0.0/0'], espProposals: ['aes256-sha1'] } },
        },
      },
      secrets: [{ kind: 'eap', ids: ['alice'], secret: PASSWORD }],
    }),
    script: SCRIPT,
  });
  t.comment(`boot to READY in ${vm.bootMs} ms`);
  const result = await vm.waitForExit(150_000);
  const step = (name: string) => result.steps.get(name);
  const out = (name: string) => step(name)?.output ?? '';

  t.equal(step('direct-before')?.code, 0, `before the tunnel the guest reaches neither the LAN nor the internet host: ${out('direct-before')}`);
  t.equal(step('charon')?.code, 0, `charon starts in the guest: ${out('charon')}`);
  t.equal(step('load')?.code, 0, `swanctl loads the connection: ${out('load')}`);
  const up = step('initiate')?.code === 0;
  const refusal = out('initiate').split('\n').filter((l) => /received|failed|refus|NO_PROPOSAL|TS_UNACCEPTABLE|AUTHENTICATION_FAILED|INVALID|unable|error/i.test(l)).slice(0, 20).join('\n');
  t.ok(up, up ? 'the guest\'s charon establishes the IKE SA and the full-tunnel child with Postern' : `POSTERN DEFECT? the guest's charon could not bring the tunnel up against postern run:\n${refusal}\n--- charon ---\n${out('charon-log')}\n--- postern ---\n${postern.log().split('\n').slice(-40).join('\n')}`);
  t.match(out('initiate'), /authentication of '192\.0\.2\.2' with RSA[^\n]*successful/, 'the client trusts the certificate Postern issued itself');
  t.match(out('initiate'), /EAP method EAP_MSCHAPV2 succeeded/, 'EAP-MSCHAPv2 succeeds');
  for (const line of out('initiate').split('\n').filter((l) => /selected proposal|received (unknown|un)/i.test(l))) t.comment(`charon: ${line.trim()}`);
  const vip = /installing new virtual IP (\d+\.\d+\.\d+\.\d+)/.exec(out('initiate'))?.[1];
  t.match(vip ?? '', /^10\.10\.0\.\d+$/, `a virtual IP from the pool (${vip})`);
  t.match(out('initiate'), /CHILD_SA full\{\d+\} established with SPIs [0-9a-f]+_i [0-9a-f]+_o and TS [\d./]+ === 0\.0\.0\.0\/0/, 'the child covers every destination (0.0.0.0/0)');
  t.match(out('client-state'), new RegExp(`^default via ${VM_REMOTE.router.replace(/\./g, '\\.')} dev eth0 .*src ${(vip ?? 'none').replace(/\./g, '\\.')}`, 'm'), `the guest routes 0.0.0.0/0 from its virtual IP (charon's table 220): ${out('client-state')}`);

  t.equal(step('ping-lan')?.code, 0, `the client pings the LAN host through the tunnel: ${out('ping-lan')}`);
  t.equal(step('ping-internet')?.code, 0, `the client pings the host beyond the gateway through the tunnel: ${out('ping-internet')}`);
  t.equal(step('tcp-lan')?.code, 0, `1 MB over TCP to the LAN host: ${out('tcp-lan')}`);
  t.equal(step('tcp-internet')?.code, 0, `1 MB over TCP to the internet host: ${out('tcp-internet')}`);
  const sent = /^([0-9a-f]{64}) /m.exec(out('blob'))?.[1];
  // Each receiver exits after its one connection (bounded: a transfer that failed leaves it waiting).
  await Promise.race([Promise.all([lanSink.exited, netSink.exited]), sleep(10_000)]);
  for (const [what, file, sink, from] of [['LAN', lanFile, lanSink, vip ?? 'none'], ['internet', netFile, netSink, VM_REMOTE.server]] as const) {
    const size = existsSync(file) ? statSync(file).size : 0;
    t.equal(size, BLOB_BYTES, `the ${what} host received 1 MB`);
    if (size === BLOB_BYTES) t.equal(sha256(file), sent, `byte for byte (SHA-256 as the guest sent it)`);
    const log = readFileSync(sink.logFile, 'utf8');
    t.match(log, new RegExp(`accepting connection from AF=2 ${from.replace(/\./g, '\\.')}:`), `the ${what} host sees the connection from ${from}${what === 'internet' ? ' (the gateway\'s WAN: masqueraded)' : ' (the client\'s virtual IP)'}`);
  }
  for (const what of ['lan', 'internet']) {
    const ms = Number(/ms=(\d+)/.exec(out(`tcp-${what}`))?.[1] ?? 0);
    if (ms > 0) t.comment(`1 MB to the ${what} host in ${ms} ms (${(8 * 1.048576 / (ms / 1000)).toFixed(1)} Mbit/s, guest under TCG)`);
  }

  // The guest's kernel did the ESP: its two SAs with Postern carried the traffic, no integrity failure.
  const sas = parseStates(out('states')).filter((s) => [s.src, s.dst].includes(VM_REMOTE.server));
  t.equal(sas.length, 2, 'one SA each way between the guest and Postern in the guest\'s kernel');
  // Out: 2 MB in segments of at most ~1400 bytes, and the pings; in: the ACKs and the echo replies.
  const least = (sa: GuestSa) => (sa.src === VM_REMOTE.guest ? Math.floor((2 * BLOB_BYTES) / 1400) : 100);
  for (const sa of sas) {
    t.ok(sa.packets >= least(sa), `${sa.src} → ${sa.dst}: ${sa.packets} packets through the guest's kernel ESP (at least ${least(sa)})`);
    t.equal(sa.failed, 0, `${sa.src} → ${sa.dst}: no integrity failure`);
  }
  t.match(out('sas'), /full: #\d+, ESTABLISHED, IKEv2/, 'the IKE SA is still up after the transfers');
  t.match(out('states'), /aead rfc4106\(gcm\(aes\)\) 0x[0-9a-f]{72} \(288 bits\)/, 'the kernel ESP is AES-256-GCM');
  t.equal(step('terminate')?.code, 0, `the client disconnects: ${out('terminate')}`);

  // The same guest again with Windows' default proposals.
  t.equal(step('initiate-win')?.code, 0, `with Windows' proposals (aes256-sha1-modp1024, ESP aes256-sha1) the tunnel comes up too: ${out('initiate-win').split('\n').slice(-15).join('\n')}`);
  t.match(out('initiate-win'), new RegExp(`installing new virtual IP ${(vip ?? 'none').replace(/\./g, '\\.')}\\b`), 'the same pool address again (the lease is the user\'s)');
  t.equal(step('ping-lan-win')?.code, 0, `the LAN host answers: ${out('ping-lan-win')}`);
  t.equal(step('ping-internet-win')?.code, 0, `the internet host answers: ${out('ping-internet-win')}`);
  t.match(out('states-win'), /auth-trunc hmac\(sha1\) 0x[0-9a-f]{40} \(160 bits\) 96\s+enc cbc\(aes\) 0x[0-9a-f]{64} \(256 bits\)/, 'the kernel ESP is AES-256-CBC with HMAC-SHA1-96');
  const winSas = parseStates(out('states-win')).filter((sa) => [sa.src, sa.dst].includes(VM_REMOTE.server));
  t.ok(winSas.length === 2 && winSas.every((sa) => sa.packets >= 6 && sa.failed === 0), `both SAs carried the pings without an integrity failure: ${JSON.stringify(winSas)}`);
  t.equal(step('terminate-win')?.code, 0, 'and disconnects');

  const log = postern.log();
  t.ok(log.split('\n').some((l) => l.includes('"msg":"IKE SA up"') && l.includes('"peer":"alice"') && l.includes(`"virtualIp":"${vip}"`)), 'Postern logs the session by user, with its virtual IP');
  await waitUntil('Postern logs the IKE SA down', 10_000, () => postern.log().includes('"msg":"IKE SA down"')).catch(() => undefined);
  t.match(postern.log(), /"msg":"IKE SA down"/, 'and its end when the client disconnects');
  t.notOk(log.includes(PASSWORD), 'never the password');
  const warnings = postern.log().split('\n').filter((l) => /"level":"(warn|error)"/.test(l));
  if (warnings.length > 0) t.comment(`Postern's warnings and errors:\n${warnings.slice(0, 15).join('\n')}`);
  if (!t.passing()) t.comment(`--- guest ---\n${result.console.slice(-6000)}\n--- postern ---\n${postern.log().split('\n').slice(-60).join('\n')}`);
  t.comment(`whole test in ${Date.now() - started} ms`);
});
