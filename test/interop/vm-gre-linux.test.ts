// A Postern GRE site against Linux's own GRE (issue 25): the VM lab's guest runs
// `ip tunnel add … mode gre key 7 csum seq` (the kernel's ip_gre: checksums and sequence numbers sent
// and required both ways), Postern's site has the same key, checksums and sequence numbers, with
// Cisco keepalives every second. Pings cross both ways, tunnel address to tunnel address and LAN to
// the guest's own network; Linux reflects Postern's keepalives (forwarding, accept_local) and keeps
// the site up; neither side counts a checksum, sequence or key error (each verified the other's);
// the guest's tunnel removed, the site goes down by keepalives; back with another key, Linux's GRE
// is dropped and counted as a wrong key and the site stays down; back with the right key (a new
// tunnel numbering from 0 again), the site comes up and Postern follows the new numbering. Then GRE
// over IPsec (gre.ipsec) with strongSwan's charon in the guest, its kernel doing the ESP: a second
// guest address dials Postern's second GRE site, an IKEv2 transport-mode child for GRE only
// (dynamic[47] both ways), Linux's gre2 pings Postern's tunnel address through it, Postern's keepalives
// come back through it and the site is up and protected; the guest's SAs counted the packets. One VM boot.
// Topology: vmRemoteAccess (the guest 198.51.100.2 behind its home router, Postern's WAN 192.0.2.2,
// its LAN 10.2.0.0/24; the guest's network is 10.20.0.1 on its lo).
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import { startPostern, type PosternDaemon } from '../helpers/postern-daemon.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { VM_REMOTE, vmRemoteAccess } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';
import { Vm, vmMissing } from '../lab/vm/vm.ts';
import { CHARON } from '../lab/peers/strongswan.ts';
import { GUEST_CHARON_SCRIPT, guestCharonFiles } from '../lab/vm/guest-charon.ts';

const skip = labSkip(vmMissing() ?? (existsSync(CHARON) ? null : 'strongSwan (charon) is not installed, so the guest image has none'));

const SERVER = VM_REMOTE.server;
const GUEST = VM_REMOTE.guest;
const KEY = 7;
/** An address the test puts on Postern's host to tell the guest it has checked Postern's side. */
const GO = '192.0.2.97';
/** And that it saw the site go down. */
const GO_AGAIN = '192.0.2.96';
/** GRE over IPsec: the guest's second address, dialing Postern's protected site with charon. */
const GUEST_IPSEC = '198.51.100.3';
const IPSEC_KEY = 8;
const PSK = 'gre-over-ipsec-vm-key-31';

function posternConfig(): PosternConfig {
  const config = defaultConfig();
  config.system.wan = { interface: VM_REMOTE.wanInterface, mode: 'static', address: `${SERVER}/24` };
  config.system.lan = { interface: VM_REMOTE.lanInterface, address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.listeners.sstp.enabled = false;
  config.listeners.ikev2.enabled = false;
  config.sites = [{
    name: 'linux', protocol: 'gre', remote: GUEST, localSubnets: [], remoteSubnets: ['10.20.0.0/24'], auth: 'psk', initiate: true, enabled: true,
    gre: { address: '10.255.0.1/30', key: KEY, checksum: true, sequence: true, keepaliveSeconds: 1, keepaliveRetries: 5 },
  }, {
    // Answered: charon in the guest dials the transport SA for GRE.
    name: 'linux-ipsec', protocol: 'gre', remote: GUEST_IPSEC, localSubnets: [], remoteSubnets: [], auth: 'psk', psk: PSK, initiate: false, enabled: true,
    localId: 'gre.example', remoteId: 'guest.example', gre: { address: '10.255.1.1/30', key: IPSEC_KEY, keepaliveSeconds: 1, keepaliveRetries: 5, ipsec: true },
  }];
  return config;
}

// The guest: Linux's GRE to Postern, forwarding on so Postern's keepalives (an inner packet from the
// guest's own address back to Postern) are routed back, which accept_local lets in on gre1.
const SCRIPT = `${GUEST_CHARON_SCRIPT}
wait_go() { for _ in $(seq 60); do ping -c 1 -W 1 $1 > /dev/null 2>&1 && return 0; done; return 1; }
tun() {
  ip tunnel add gre1 mode gre remote ${SERVER} local ${GUEST} key $1 csum seq ttl 64 && ip addr add 10.255.0.2/30 dev gre1 && ip link set gre1 up &&
  echo 1 > /proc/sys/net/ipv4/conf/gre1/accept_local && echo 0 > /proc/sys/net/ipv4/conf/gre1/rp_filter && ip route add 10.2.0.0/24 dev gre1 src 10.20.0.1
}
export -f wait_go tun
sh_step tunnel 'set -e
ip addr add 10.20.0.1/32 dev lo
echo 1 > /proc/sys/net/ipv4/ip_forward
echo 0 > /proc/sys/net/ipv4/conf/all/rp_filter
tun ${KEY}
ip -d tunnel show gre1; ip -o link show gre1'
step ping-tunnel ping -c 3 -W 3 10.255.0.1
step ping-lan ping -c 3 -W 3 -I 10.20.0.1 ${VM_REMOTE.lanHost}
step go wait_go ${GO}
sh_step stats 'ip -s -s link show gre1; grep Icmp: /proc/net/snmp'
step del ip tunnel del gre1
step go2 wait_go ${GO_AGAIN}
sh_step wrong-key 'tun ${KEY + 1}; ping -c 3 -W 1 10.255.0.1; true'
sh_step right-key 'ip tunnel del gre1; tun ${KEY}; ping -c 6 -i 0.3 -W 2 10.255.0.1'
step address ip addr add ${GUEST_IPSEC}/24 dev eth0
step charon charon_start
step load swan --load-all
step initiate swan --initiate --child gre --timeout 30
sh_step gre-ipsec 'ip tunnel add gre2 mode gre remote ${SERVER} local ${GUEST_IPSEC} key ${IPSEC_KEY} ttl 64 && ip addr add 10.255.1.2/30 dev gre2 && ip link set gre2 up &&
echo 1 > /proc/sys/net/ipv4/conf/gre2/accept_local && echo 0 > /proc/sys/net/ipv4/conf/gre2/rp_filter && ping -c 4 -i 0.3 -W 3 10.255.1.1'
sh_step states-ipsec 'sleep 3; /usr/bin/ip -s xfrm state; /usr/bin/ip xfrm policy'
sh_step charon-log 'charon_log 60'
sleep 60
`;

/**
 * The guest's kernel leaves its GRE checksum to the NIC (CHECKSUM_PARTIAL: virtio-net offers checksum
 * offload), and the lab's virtual links pass it on unfinished, so a raw socket on this host would read
 * a checksum nobody computed; a real NIC computes it on the wire. Turning TX checksumming off on the
 * guest's home router's uplink makes the kernel finish it there (SIOCETHTOOL ETHTOOL_STXCSUM: no
 * ethtool binary needed).
 */
const TX_CHECKSUM_OFF = `import ctypes, fcntl, socket, struct, sys
value = ctypes.create_string_buffer(struct.pack('II', 0x17, 0), 8)
fcntl.ioctl(socket.socket(), 0x8946, struct.pack('16sP', sys.argv[1].encode(), ctypes.addressof(value)))
`;

/** `ip -s -s link show`: the RX counters (packets, errors, dropped; crc and fifo, which ip_gre uses for checksum and sequence failures). */
function rxStats(text: string): Record<string, number> {
  const lines = text.split('\n').map((l) => l.trim());
  const at = (header: RegExp) => lines.findIndex((l) => header.test(l));
  const row = (i: number) => (lines[i + 1] ?? '').split(/\s+/).map(Number);
  const rx = row(at(/^RX:\s+bytes\s+packets\s+errors/));
  const rxErrors = row(at(/^RX errors:\s+length\s+crc\s+frame\s+fifo/));
  return { packets: rx[1] ?? NaN, errors: rx[2] ?? NaN, dropped: rx[3] ?? NaN, crc: rxErrors[1] ?? NaN, fifo: rxErrors[3] ?? NaN };
}

/** The GRE site's counters from Postern's /healthz (no login needed). */
function siteCounters(lab: Lab): Record<string, number> {
  const health = JSON.parse(lab.execSync('gw', ['curl', '-s', '--max-time', '10', 'http://127.0.0.1:18080/healthz'])) as { subsystems?: Record<string, { counters?: Record<string, number> }> };
  const all = health.subsystems?.['gre-sites']?.counters ?? {};
  return Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith('linux.')).map(([k, v]) => [k.slice('linux.'.length), v]));
}

t.test('Postern GRE site ↔ Linux ip_gre in the VM guest: key, checksums, sequence numbers, pings both ways, keepalives up and down', { skip }, async (t) => {
  t.setTimeout(150_000);
  const started = Date.now();
  const lab = Lab.create(vmRemoteAccess);
  t.teardown(() => lab.teardown());
  const postern: PosternDaemon = await startPostern(lab, 'gw', posternConfig(), (log) => log.includes('GRE site started'));
  t.teardown(() => postern.stop());
  const tail = () => `\n--- postern ---\n${postern.log().split('\n').slice(-15).join('\n')}`;
  const changes = (site: string, to: 'up' | 'down') => postern.log().split('\n').filter((l) => l.includes(`"site":"${site}"`) && l.includes(`"msg":"GRE site ${to}"`)).length;
  const ups = () => changes('linux', 'up');
  const downs = () => changes('linux', 'down');
  t.match(lab.execSync('gw', ['ip', '-o', 'link', 'show', 'dev', 'gre-linux']), /mtu 1464/, 'key, checksum and sequence number: MTU 1464, as Linux computes for gre1');

  lab.execSync(VM_REMOTE.host, ['python3', '-c', TX_CHECKSUM_OFF, 'access']);
  const vm = await Vm.boot(lab, VM_REMOTE.host, {
    address: VM_REMOTE.guestAddress, hostAddress: VM_REMOTE.hostAddress, gateway: VM_REMOTE.router, script: SCRIPT,
    modules: ['ip_gre', 'esp4', 'xfrm_user', 'gcm', 'ghash_generic', 'seqiv', 'echainiv', 'authenc'],
    files: guestCharonFiles({
      connections: {
        gre: {
          localAddrs: [GUEST_IPSEC], remoteAddrs: [SERVER], proposals: ['aes256-sha256-modp2048'],
          local: { auth: 'psk', id: 'guest.example' }, remote: { auth: 'psk', id: 'gre.example' },
          // GRE only between the two hosts (no /etc/protocols in the guest: the number).
          children: { gre: { localTs: ['dynamic[47]'], remoteTs: ['dynamic[47]'], espProposals: ['aes256gcm16'], mode: 'transport' } },
        },
      },
      secrets: [{ kind: 'ike', ids: ['guest.example', 'gre.example'], secret: PSK }],
    }),
  });
  t.teardown(() => vm.stop());
  t.comment(`boot to READY in ${vm.bootMs} ms`);
  const guestTail = () => `\n--- guest ---\n${vm.console().slice(-3000)}${tail()}`;

  // 1. The guest's tunnel, its pings to Postern's tunnel address and through it to the LAN host.
  await vm.waitFor(/^@@STEP go BEGIN/m, 60_000).catch((e: unknown) => {
    t.fail(`the guest did not reach its wait: ${String(e)}${guestTail()}`);
    throw e;
  });
  const step = (name: string) => vm.step(name);
  t.equal(step('tunnel')?.code, 0, `ip tunnel add … mode gre key ${KEY} csum seq: ${step('tunnel')?.output ?? ''}`);
  const tunnelText = step('tunnel')?.output ?? '';
  t.match(tunnelText, /gre\/ip remote 192\.0\.2\.2 local 198\.51\.100\.2 ttl 64 key 7\n/, 'keyed both ways (ip prints one key when ikey and okey are equal)');
  for (const line of [/Drop packets out of sequence/, /Checksum in received packet is required/, /Sequence packets on output/, /Checksum output packets/]) t.match(tunnelText, line, `the guest's kernel: ${line.source}`);
  t.match(step('tunnel')?.output ?? '', /gre1@NONE: .* mtu 1464 /, 'Linux gives gre1 the same MTU');
  t.equal(step('ping-tunnel')?.code, 0, `Linux → Postern's tunnel address: ${step('ping-tunnel')?.output ?? ''}${tail()}`);
  t.equal(step('ping-lan')?.code, 0, `the guest's network → Postern's LAN host through GRE: ${step('ping-lan')?.output ?? ''}${tail()}`);

  // 2. Postern's side: up by Linux reflecting its keepalives; pings the other way.
  await waitUntil('the GRE site is up', 10_000, () => ups() >= 1, guestTail);
  const fromGw = await lab.exec('gw', ['ping', '-c', '3', '-i', '0.3', '-W', '2', '10.255.0.2']);
  t.equal(fromGw.code, 0, `Postern's host → the guest's tunnel address:\n${fromGw.stdout}${tail()}`);
  const fromLan = await lab.exec('lanB', ['ping', '-c', '3', '-i', '0.3', '-W', '2', '10.20.0.1']);
  t.equal(fromLan.code, 0, `Postern's LAN host → the guest's network:\n${fromLan.stdout}${tail()}`);
  const c1 = siteCounters(lab);
  await new Promise((done) => setTimeout(done, 3_000));
  const c2 = siteCounters(lab);
  t.equal(downs(), 0, 'the site stayed up (Linux reflects every keepalive)');
  t.ok((c2['greKeepalivesHeard'] ?? 0) >= (c1['greKeepalivesHeard'] ?? 0) + 2, `Postern's Cisco keepalives come back through Linux: ${JSON.stringify(c2)}`);
  t.match(c2, { badChecksum: 0, outOfOrder: 0, badKey: 0, dropped: 0, icmpProbes: 0 }, 'Postern took every packet of Linux\'s: checksums verified, numbers in order, key right');
  t.ok((c2['rxPackets'] ?? 0) >= 12, `packets from Linux delivered: ${String(c2['rxPackets'])}`);

  // 3. The guest's counters: ip_gre verified Postern's checksums (crc) and numbers (fifo) on everything it took.
  lab.execSync('gw', ['ip', 'addr', 'add', `${GO}/32`, 'dev', VM_REMOTE.wanInterface]);
  await vm.waitFor(/^@@STEP del END/m, 30_000).catch((e: unknown) => {
    t.fail(`the guest did not remove its tunnel: ${String(e)}${guestTail()}`);
    throw e;
  });
  const rx = rxStats(step('stats')?.output ?? '');
  t.match(rx, { errors: 0, dropped: 0, crc: 0, fifo: 0 }, `Linux counted no checksum or sequence error on Postern's GRE: ${step('stats')?.output ?? ''}`);
  t.ok(rx['packets']! >= 9, `and took Postern's packets (${String(rx['packets'])}: echoes, replies, keepalives)`);

  // 4. The guest's tunnel gone: Postern's keepalives go unanswered and the site goes down (1 s, 5 retries: a guest under TCG on a loaded machine can be slow to reflect).
  const goneAt = Date.now();
  await waitUntil('the GRE site goes down', 15_000, () => downs() >= 1, guestTail);
  t.comment(`site down ${Date.now() - goneAt} ms after the guest removed its tunnel`);

  // 5. The guest's tunnel back with another key: its GRE dropped and counted as a wrong key, the site stays down.
  const c3 = siteCounters(lab);
  lab.execSync('gw', ['ip', 'addr', 'add', `${GO_AGAIN}/32`, 'dev', VM_REMOTE.wanInterface]);
  await vm.waitFor(/^@@STEP wrong-key END/m, 30_000).catch((e: unknown) => {
    t.fail(`the guest did not try the wrong key: ${String(e)}${guestTail()}`);
    throw e;
  });
  const c4 = siteCounters(lab);
  t.ok((c4['badKey'] ?? 0) >= (c3['badKey'] ?? 0) + 3, `Linux's GRE with key ${KEY + 1} dropped and counted as a wrong key: ${JSON.stringify(c4)}`);
  t.equal(ups(), 1, 'the site stays down with the wrong key');

  // 6. And with the right key again (a new tunnel: Linux numbers from 0 again): up at the first keepalive, its numbering followed.
  await waitUntil('the GRE site comes back up', 15_000, () => ups() >= 2, guestTail);
  const again = await lab.exec('gw', ['ping', '-c', '3', '-i', '0.3', '-W', '2', '10.255.0.2']);
  t.equal(again.code, 0, `Postern → Linux again:\n${again.stdout}${tail()}`);
  const c5 = siteCounters(lab);
  t.ok((c5['sequenceResyncs'] ?? 0) >= 1, `Linux's restarted numbering followed (${String(c5['sequenceResyncs'])} resync, ${String((c5['outOfOrder'] ?? 0) - (c4['outOfOrder'] ?? 0))} packets dropped first)`);

  // 7. GRE over IPsec with charon in the guest: the transport child for GRE, Linux's gre2 through it.
  await vm.waitFor(/^@@STEP charon-log END/m, 90_000).catch((e: unknown) => {
    t.fail(`the guest did not get through GRE over IPsec: ${String(e)}${guestTail()}`);
    throw e;
  });
  t.equal(step('initiate')?.code, 0, `charon's transport child for GRE with Postern: ${step('initiate')?.output ?? ''}\n${step('charon-log')?.output ?? ''}${tail()}`);
  t.equal(step('gre-ipsec')?.code, 0, `Linux's gre2 → Postern's tunnel address through the SA: ${step('gre-ipsec')?.output ?? ''}${tail()}`);
  const states = step('states-ipsec')?.output ?? '';
  t.match(states, new RegExp(`src ${SERVER.replace(/\./g, '\\.')} dst ${GUEST_IPSEC.replace(/\./g, '\\.')}\\s+proto esp spi \\S+ reqid \\S+ mode transport`), `the guest's kernel holds a transport-mode ESP SA from Postern: ${states}`);
  t.match(states, /proto 47/, 'its policies select GRE only');
  const sasPackets = [...states.matchAll(/(\d+)\(packets\)/g)].map((m) => Number(m[1]));
  t.ok(sasPackets.length >= 2 && sasPackets.every((n) => n >= 3), `both SAs carried packets: ${JSON.stringify(sasPackets)}`);
  await waitUntil('the protected GRE site is up', 15_000, () => changes('linux-ipsec', 'up') >= 1, guestTail);
  const protectedSite = JSON.parse(lab.execSync('gw', ['curl', '-s', '--max-time', '10', 'http://127.0.0.1:18080/healthz'])) as { subsystems?: Record<string, { counters?: Record<string, number> }> };
  const pc = protectedSite.subsystems?.['gre-sites']?.counters ?? {};
  t.match({ ipsec: pc['linux-ipsec.ipsec'], ipsecUp: pc['linux-ipsec.ipsecUp'] }, { ipsec: 1, ipsecUp: 1 }, 'Postern\'s site: protected, its SA up');
  t.ok((pc['linux-ipsec.greKeepalivesHeard'] ?? 0) >= 1, `Postern's keepalives came back through Linux and the SA: ${JSON.stringify(pc)}`);
  const overIpsec = await lab.exec('gw', ['ping', '-c', '3', '-i', '0.3', '-W', '2', '10.255.1.2']);
  t.equal(overIpsec.code, 0, `Postern → Linux's gre2 through GRE over IPsec:\n${overIpsec.stdout}${tail()}`);
  vm.stop();
  t.comment(`GRE with Linux took ${Date.now() - started} ms`);
  t.notMatch(readFileSync(vm.consoleFile, 'utf8'), /@@VM FAILED/, 'the guest set up without a failure');
});
