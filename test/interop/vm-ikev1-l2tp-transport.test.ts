// IKEv1 transport mode keyed for L2TP (issue 19), the way Windows' and Linux's native L2TP/IPsec
// clients do it: strongSwan's charon in the VM lab's guest (its kernel does the ESP) initiates IKEv1
// Main Mode with PSK and a transport-mode Quick Mode for UDP 1701 both ends (`dynamic[17/1701]`; the
// guest has no /etc/protocols to spell it `udp`) to Postern's IKEv1 engine with the C data plane. UDP
// datagrams from the guest's port 1701 reach an echo server on Postern's host at port 1701 through
// ESP and come back through ESP. Once directly (raw ESP); once with Postern behind a port forward
// (`isp` DNATs 192.0.2.200 to it): NAT-D finds Postern behind the NAT, ESP goes into UDP 4500, the
// NAT-OA payloads cross, and Postern installs the child between the addresses the packets really
// carry; once more with the guest also behind its home router's masquerade (the Windows client at
// home); and Postern initiating to the guest, its IDs naming the hosts with UDP 1701. Topology:
// vmRemoteAccess; one VM boot (about 75 s).
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { LinePeer } from '../lab/peers/line-peer.ts';
import type { Ikev1PeerConfig } from '../lab/peers/postern-ikev1-peer.ts';
import { CHARON } from '../lab/peers/strongswan.ts';
import { VM_REMOTE, vmRemoteAccess } from '../lab/scenarios.ts';
import { Lab } from '../lab/topology.ts';
import { GUEST_CHARON_SCRIPT, guestCharonFiles } from '../lab/vm/guest-charon.ts';
import { Vm, vmMissing } from '../lab/vm/vm.ts';
import { labSkip } from '../lab/skip.ts';

const missing = vmMissing() ?? (existsSync(CHARON) ? null : 'strongSwan (charon) is not installed, so the guest image has none');
const skip = labSkip(missing);

const PSK = 'l2tp-lab-preshared-9f3b';
const SERVER = VM_REMOTE.server; // Postern, 192.0.2.2
const FORWARDED = '192.0.2.200'; // Postern's address behind isp's port forward
const GUEST = VM_REMOTE.guest;
const BOTH = '192.0.2.201'; // Postern behind the port forward with the guest also behind its home router's masquerade
const HOME = '172.16.1.2'; // the home router's address, the guest's as Postern sees it through the masquerade

// `echo1701 TAG HOST`: three datagrams from port 1701 to HOST:1701, each answer printed.
const SCRIPT = `${GUEST_CHARON_SCRIPT}
echo1701() { for i in 1 2 3; do echo "$1-$i" | socat -t 3 - UDP4:$2:1701,sourceport=1701,reuseaddr || return 1; done; }
export -f echo1701
step charon charon_start
step load swan --load-all
step initiate swan --initiate --child direct --timeout 30
sh_step echo 'sleep 2; echo1701 direct ${SERVER}'
step states /usr/bin/ip -s xfrm state
step terminate swan --terminate --ike direct --timeout 10
step initiate-nat swan --initiate --child nat --timeout 30
sh_step echo-nat 'sleep 2; echo1701 nat ${FORWARDED}'
step states-nat /usr/bin/ip -s xfrm state
step terminate-nat swan --terminate --ike nat --timeout 10
step initiate-both swan --initiate --child both --timeout 30
sh_step echo-both 'sleep 2; echo1701 both ${BOTH}'
step states-both /usr/bin/ip -s xfrm state
step terminate-both swan --terminate --ike both --timeout 10
sh_step postern-initiates 'for _ in $(seq 80); do swanctl --list-sas | grep -q INSTALLED && break; sleep 0.25; done; swanctl --list-sas'
sh_step echo-out 'sleep 2; echo1701 out ${SERVER}'
step states-out /usr/bin/ip -s xfrm state
sh_step charon-log 'charon_log 150'
`;

// Postern's host: a UDP echo on port 1701 that answers "echo <data>" and prints who sent what.
const ECHO = `const s = require('node:dgram').createSocket('udp4');
s.on('message', (m, r) => { console.log(JSON.stringify({ from: r.address, port: r.port, data: m.toString().trim() })); s.send('echo ' + m.toString(), r.port, r.address); });
s.bind(1701, '${SERVER}', () => console.log('listening'));`;

interface GuestSa { readonly src: string; readonly dst: string; readonly packets: number; readonly failed: number; readonly block: string }

function parseStates(text: string): GuestSa[] {
  return text.split(/^src /m).slice(1).map((block) => ({
    src: /^(\S+)/.exec(block)?.[1] ?? '', dst: / dst (\S+)/.exec(block)?.[1] ?? '',
    packets: Number(/(\d+)\(packets\)/.exec(block)?.[1] ?? -1), failed: Number(/ failed (\d+)/.exec(block)?.[1] ?? -1), block,
  }));
}

t.test('charon (IKEv1, transport mode, UDP 1701) in the VM guest against Postern\'s IKEv1 engine and data plane, directly, with Postern behind a NAT, with both behind NATs, and Postern initiating', { skip }, async (t) => {
  t.setTimeout(300_000);
  const started = Date.now();
  const lab = Lab.create(vmRemoteAccess);
  t.teardown(() => lab.teardown());

  // The port forward in front of Postern: 192.0.2.200 (IKE, NAT-T, ESP in UDP) to 192.0.2.2.
  const forward = `table ip lab_fwd {\n  chain pre {\n    type nat hook prerouting priority -100;\n    ip daddr { ${FORWARDED}, ${BOTH} } dnat to ${SERVER}\n  }\n}\n`;
  lab.execSync('isp', ['sh', '-c', `printf '%s' '${forward}' | nft -f -`]);
  // The guest's home router masquerades what it sends to 192.0.2.201 only (the other cases see the guest's own address).
  const home = `table ip lab_home {\n  chain post {\n    type nat hook postrouting priority 100;\n    ip daddr ${BOTH} masquerade\n  }\n}\n`;
  lab.execSync(VM_REMOTE.host, ['sh', '-c', `printf '%s' '${home}' | nft -f -`]);
  for (const key of ['all', 'default']) lab.execSync('gw', ['sysctl', '-qw', `net.ipv4.conf.${key}.rp_filter=0`]);

  const echo = lab.spawnDaemon('gw', 'udp-echo', [process.execPath, '-e', ECHO]);
  const config: Ikev1PeerConfig = {
    address: SERVER, dataplane: { tunnelAddress: '10.255.0.2' },
    connections: [{
      name: 'l2tp', localId: 'l2tp.example', remoteId: 'client.example', psk: PSK, // any address: the clients come from wherever they are
      ike: ['aes256-sha256-modp2048', 'aes128-sha1-modp2048'], esp: ['aes256gcm16', 'aes256-sha1'],
      localTs: [], remoteTs: [], mode: 'transport', transportSelector: { protocol: 17, port: 1701 }, dpdSeconds: 0,
    }, {
      // Postern initiating to the guest (charon answers with its 'direct' connection): our IDs with UDP 1701.
      name: 'l2tp-out', localId: 'l2tp.example', remoteId: 'client.example', remoteAddress: GUEST, psk: PSK,
      ike: ['aes256-sha256-modp2048'], esp: ['aes256gcm16'],
      localTs: [], remoteTs: [], mode: 'transport', transportSelector: { protocol: 17, port: 1701 }, dpdSeconds: 0,
    }],
  };
  const { peer } = await LinePeer.spawn(lab, 'gw', 'postern-ikev1-l2tp', 'postern-ikev1-peer.ts', config);

  // Postern's echo answers go into the child's TUN: port 1701 to the peer the child names, by policy
  // routing (the steering a transport-mode deployment needs), into whichever TUN the newest child has.
  const steered: string[] = [];
  const ruled = new Set<string>();
  let stopSteering = false;
  const steering = (async () => {
    for (let n = 0; n < 4 && !stopSteering; n++) {
      const ev = await peer.waitEvent((e) => e['type'] === 'install-child' && !steered.includes(String(e['inSpi'])), 200_000).catch(() => undefined);
      if (!ev) return;
      steered.push(String(ev['inSpi']));
      const peerAddress = /^([\d.]+)\//.exec(String((ev['remoteTs'] as string[] | undefined)?.[0] ?? ''))?.[1];
      const tun = lab.execSync('gw', ['ip', '-o', 'link', 'show']).split('\n').map((l) => /^\d+: (pst\d+)[:@]/.exec(l)?.[1]).filter(Boolean).pop();
      if (!tun || !peerAddress) continue;
      lab.execSync('gw', ['ip', 'route', 'replace', `${peerAddress}/32`, 'dev', tun, 'src', SERVER, 'table', '100']);
      if (!ruled.has(peerAddress)) lab.execSync('gw', ['ip', 'rule', 'add', 'to', `${peerAddress}/32`, 'ipproto', 'udp', 'sport', '1701', 'lookup', '100', 'priority', '100']);
      ruled.add(peerAddress);
    }
  })();

  const spec = {
    localAddrs: [GUEST], proposals: ['aes256-sha256-modp2048'], version: 1 as const,
    local: { auth: 'psk' as const, id: 'client.example' }, remote: { auth: 'psk' as const, id: 'l2tp.example' },
  };
  const child = { localTs: ['dynamic[17/1701]'], remoteTs: ['dynamic[17/1701]'], espProposals: ['aes256gcm16'], mode: 'transport' as const };
  const vm = await Vm.boot(lab, VM_REMOTE.host, {
    address: VM_REMOTE.guestAddress, hostAddress: VM_REMOTE.hostAddress, gateway: VM_REMOTE.router,
    modules: ['esp4', 'xfrm_user', 'gcm', 'ghash_generic', 'seqiv', 'echainiv', 'authenc'],
    files: guestCharonFiles({
      connections: {
        direct: { ...spec, remoteAddrs: [SERVER], children: { direct: child } },
        nat: { ...spec, remoteAddrs: [FORWARDED], children: { nat: child } },
        both: { ...spec, remoteAddrs: [BOTH], children: { both: child } },
      },
      secrets: [{ kind: 'ike', ids: ['client.example', 'l2tp.example'], secret: PSK }],
    }),
    script: SCRIPT,
  });
  t.comment(`boot to READY in ${vm.bootMs} ms`);
  // The guest waits for Postern's initiative once the three client cases are done.
  const initiated = vm.waitFor(/^@@STEP postern-initiates BEGIN/m, 200_000).then(() => peer.command('initiate l2tp-out')).catch((e: unknown) => String(e));
  const result = await vm.waitForExit(200_000);
  stopSteering = true;
  await Promise.race([steering, new Promise((r) => setTimeout(r, 100))]);
  const step = (name: string) => result.steps.get(name);
  const out = (name: string) => step(name)?.output ?? '';
  const diag = () => `\n--- charon ---\n${out('charon-log').split('\n').slice(-60).join('\n')}\n--- postern ---\n${readFileSync(peer.daemon.logFile, 'utf8').split('\n').slice(-40).join('\n')}`;

  t.equal(step('charon')?.code, 0, `charon starts in the guest: ${out('charon')}`);
  t.equal(step('load')?.code, 0, `swanctl loads the connections${step('load')?.code === 0 ? '' : `: ${out('load')}`}`);
  const childs = peer.events.filter((e) => e['type'] === 'install-child');
  const echoed = readFileSync(echo.logFile, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { from: string; port: number; data: string });

  // Directly: raw ESP.
  t.equal(step('initiate')?.code, 0, `charon brings up IKEv1 Main Mode and a transport-mode Quick Mode with Postern${step('initiate')?.code === 0 ? '' : `:\n${out('initiate')}${diag()}`}`);
  t.match(out('initiate'), /CHILD_SA direct\{\d+\} established with SPIs [0-9a-f]+_i [0-9a-f]+_o and TS 198\.51\.100\.2\/32\[(?:udp|17)\/(?:l2f|l2tp|1701)\] === 192\.0\.2\.2\/32\[(?:udp|17)\/(?:l2f|l2tp|1701)\]/, 'the child: the two hosts, UDP 1701 both ends');
  t.same(childs[0] && { mode: childs[0]['mode'], localTs: childs[0]['localTs'], remoteTs: childs[0]['remoteTs'], encapsulation: childs[0]['encapsulation'] },
    { mode: 'transport', localTs: [`${SERVER}/32[17/1701]`], remoteTs: [`${GUEST}/32[17/1701]`], encapsulation: null }, 'Postern installs the same selectors, raw ESP');
  t.equal(step('echo')?.code, 0, `three datagrams to port 1701 come back: ${out('echo')}${step('echo')?.code === 0 ? '' : diag()}`);
  t.same(out('echo').split('\n').filter((l) => l.startsWith('echo ')), ['echo direct-1', 'echo direct-2', 'echo direct-3'], 'each answered by the echo on Postern\'s host');
  t.same(echoed.filter((e) => e.data.startsWith('direct')).map((e) => `${e.from}:${e.port}`), [1, 2, 3].map(() => `${GUEST}:1701`), 'the echo saw the guest\'s own address and port 1701');
  const direct = parseStates(out('states')).filter((s) => [s.src, s.dst].includes(SERVER));
  t.equal(direct.length, 2, 'two SAs with Postern in the guest\'s kernel');
  for (const sa of direct) {
    t.ok(sa.packets >= 3 && sa.failed === 0, `${sa.src} → ${sa.dst}: ${sa.packets} packets through the guest's kernel ESP, ${sa.failed} failed`);
    t.match(sa.block, /mode transport/, 'in transport mode');
    t.notMatch(sa.block, /encap type espinudp/, 'raw ESP (no NAT)');
  }

  // Through the port forward: ESP in UDP 4500, NAT-OA.
  t.equal(step('initiate-nat')?.code, 0, `through the NAT too${step('initiate-nat')?.code === 0 ? '' : `:\n${out('initiate-nat')}${diag()}`}`);
  t.match(out('initiate-nat'), /remote host is behind NAT/, 'charon finds Postern behind the NAT');
  t.match(out('initiate-nat'), /CHILD_SA nat\{\d+\} established with SPIs [0-9a-f]+_i [0-9a-f]+_o and TS 198\.51\.100\.2\/32\[(?:udp|17)\/(?:l2f|l2tp|1701)\] === 192\.0\.2\.200\/32\[(?:udp|17)\/(?:l2f|l2tp|1701)\]/, 'charon\'s child names Postern by its public address');
  t.same(childs[1] && { localTs: childs[1]['localTs'], remoteTs: childs[1]['remoteTs'], encapsulation: childs[1]['encapsulation'] },
    { localTs: [`${SERVER}/32[17/1701]`], remoteTs: [`${GUEST}/32[17/1701]`], encapsulation: { localPort: 4500, remotePort: 4500 } }, 'Postern installs its own address (not the public one), ESP in UDP');
  t.ok(/NAT-OA, NAT-OA/.test(readFileSync(peer.daemon.logFile, 'utf8')), 'NAT-OA payloads crossed in Quick Mode');
  t.equal(step('echo-nat')?.code, 0, `three datagrams through the NAT come back: ${out('echo-nat')}${step('echo-nat')?.code === 0 ? '' : diag()}`);
  t.same(out('echo-nat').split('\n').filter((l) => l.startsWith('echo ')), ['echo nat-1', 'echo nat-2', 'echo nat-3'], 'each answered (checksums right for the addresses each side sees)');
  t.same(echoed.filter((e) => e.data.startsWith('nat')).map((e) => `${e.from}:${e.port}`), [1, 2, 3].map(() => `${GUEST}:1701`), 'the echo saw the guest\'s address and port 1701');
  const natted = parseStates(out('states-nat')).filter((s) => [s.src, s.dst].includes(FORWARDED));
  t.equal(natted.length, 2, 'two SAs with Postern\'s public address in the guest\'s kernel');
  for (const sa of natted) {
    t.ok(sa.packets >= 3 && sa.failed === 0, `${sa.src} → ${sa.dst}: ${sa.packets} packets, ${sa.failed} failed`);
    t.match(sa.block, /encap type espinudp sport 4500 dport 4500/, 'ESP in UDP 4500');
    t.match(sa.block, /mode transport/, 'in transport mode');
  }
  t.equal(step('terminate-nat')?.code, 0, 'charon disconnects');

  // Both behind NATs: Postern reads the guest's IDci (its private address) as the masquerade's.
  t.equal(step('initiate-both')?.code, 0, `with the guest behind its home router's masquerade as well${step('initiate-both')?.code === 0 ? '' : `:\n${out('initiate-both')}${diag()}`}`);
  t.match(out('initiate-both'), /local host is behind NAT/, 'charon finds itself behind a NAT too');
  t.same(childs[2] && { localTs: childs[2]['localTs'], remoteTs: childs[2]['remoteTs'] }, { localTs: [`${SERVER}/32[17/1701]`], remoteTs: [`${HOME}/32[17/1701]`] }, 'Postern installs the child between its own address and the masquerade\'s');
  t.ok(readFileSync(peer.daemon.logFile, 'utf8').includes(`transport mode across a NAT: ${GUEST}/32[17/1701] === ${BOTH}/32[17/1701] taken as ${HOME}/32[17/1701] === ${SERVER}/32[17/1701]`), 'and logs what it substituted');
  t.equal(step('echo-both')?.code, 0, `three datagrams through both NATs come back: ${out('echo-both')}${step('echo-both')?.code === 0 ? '' : diag()}`);
  t.same(out('echo-both').split('\n').filter((l) => l.startsWith('echo ')), ['echo both-1', 'echo both-2', 'echo both-3'], 'each answered');
  t.same(echoed.filter((e) => e.data.startsWith('both')).map((e) => `${e.from}:${e.port}`), [1, 2, 3].map(() => `${HOME}:1701`), 'the echo saw them from the masquerade\'s address, port 1701 (the inner UDP checksum fixed for it)');
  const both = parseStates(out('states-both')).filter((s) => [s.src, s.dst].includes(BOTH));
  t.ok(both.length === 2 && both.every((sa) => sa.packets >= 3 && sa.failed === 0 && /espinudp/.test(sa.block)), `two SAs in UDP, each with the datagrams and no failure: ${JSON.stringify(both.map(({ block: _b, ...x }) => x))}`);
  t.equal(step('terminate-both')?.code, 0, 'charon disconnects');

  // Postern initiates: its IDci/IDcr name the hosts with UDP 1701, charon accepts them.
  t.equal(await initiated, 'ok', 'Postern initiates to the guest');
  t.match(out('postern-initiates'), /INSTALLED, TRANSPORT[^\n]*\n(?:.*\n)*?\s+local\s+198\.51\.100\.2\/32\[(?:udp|17)\/(?:l2f|l2tp|1701)\]\s*\n\s+remote\s+192\.0\.2\.2\/32\[(?:udp|17)\/(?:l2f|l2tp|1701)\]/, `charon holds a transport-mode child for UDP 1701 that Postern started: ${out('postern-initiates')}`);
  t.same(childs[3] && { connection: childs[3]['connection'], localTs: childs[3]['localTs'], remoteTs: childs[3]['remoteTs'] }, { connection: 'l2tp-out', localTs: [`${SERVER}/32[17/1701]`], remoteTs: [`${GUEST}/32[17/1701]`] }, 'Postern\'s child');
  t.same(out('echo-out').split('\n').filter((l) => l.startsWith('echo ')), ['echo out-1', 'echo out-2', 'echo out-3'], `the datagrams come back through it: ${out('echo-out')}`);
  const out3 = parseStates(out('states-out')).filter((s) => [s.src, s.dst].includes(SERVER));
  t.ok(out3.length === 2 && out3.every((sa) => sa.packets >= 3 && sa.failed === 0 && /mode transport/.test(sa.block)), `two transport-mode SAs carrying them: ${JSON.stringify(out3.map(({ block: _b, ...x }) => x))}`);
  if (!t.passing()) t.comment(`${diag()}\n--- guest ---\n${result.console.slice(-4000)}`);
  t.comment(`whole test in ${Date.now() - started} ms`);
  peer.daemon.child.stdin?.end();
});
