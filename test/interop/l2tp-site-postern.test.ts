// L2TP/IPsec site-to-site between two Postern gateways (issue 20): gwA, behind a masquerading NAT,
// keys an IKEv1 transport SA to gwB with the PSK of gwB's L2TP listener (NAT-T), dials gwB's LNS
// through it and logs in as the site's user; each side routes the other's LAN through the call.
// Both LANs reach each other; a wrong password is refused and retried with backoff; when gwB
// restarts, gwA keys IPsec again and redials by itself. Issue 24: the same site over IPv6-only WANs
// (neither gateway has an IPv4 WAN address, as behind DS-Lite): the transport SA, the L2TP tunnel and
// the call's data all over IPv6 (raw ESP), the router between them counting ESP and never plain UDP
// 1701; plain L2TP to gwB's IPv6 address refused; then gwA behind NAT66: UDP 4500 and NAT-OA over IPv6.
import t from 'tap';
import { apiGetIn, apiIn } from '../helpers/namespace-api.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { answeringL2tpGateway, dialingL2tpGateway } from '../lab/l2tp-site-configs.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesBehindNat } from '../lab/scenarios.ts';
import { Lab, type TopologySpec } from '../lab/topology.ts';

// Two labs in one file (the IPv4 one with a NAT and a restart, the IPv6-only one): past tap's 120 s per file on a loaded machine.
t.setTimeout(240_000);

const PASSWORD = 'Branch-A-L2tp-Pass-42';
const PSK = 'hq-l2tp-group-key-77';
const count = (text: string, msg: string) => text.split('\n').filter((l) => l.includes(`"msg":"${msg}"`)).length;
const lineWith = (text: string, msg: string, part: RegExp) => text.split('\n').find((l) => l.includes(`"msg":"${msg}"`) && part.test(l));

const answering = () => answeringL2tpGateway({ wan: { interface: 'out', mode: 'static', address: '203.0.113.2/24' }, lanInterface: 'lanb', branchAddress: '203.0.113.1', psk: PSK, password: PASSWORD });
const dialing = (password: string) => dialingL2tpGateway({ wan: { interface: 'wan', mode: 'static', address: '172.16.1.2/24', gateway: '172.16.1.1' }, hqAddress: '203.0.113.2', psk: PSK, password });

t.test('L2TP/IPsec site-to-site through NAT: both LANs reach each other; a wrong password is refused; gwA redials after gwB restarts', async (t) => {
  t.setTimeout(150_000);
  const lab = Lab.create(twoSitesBehindNat);
  t.teardown(() => lab.teardown());
  const hq = await startPostern(lab, 'gwB', answering(), (log) => log.includes('L2TP listening') && log.includes('IKEv1 listening'), { name: 'postern-hq' });

  // A wrong password first: IPsec and the tunnel come up, the login is refused, the site waits and dials again.
  const wrong = await startPostern(lab, 'gwA', dialing('Not-The-Password-1'), (log) => count(log, 'L2TP site down') >= 1, { name: 'postern-branch-wrong' });
  t.ok(lineWith(hq.log(), 'PPP authentication failed', /"protocol":"l2tp","user":"branch-a"/), 'gwB refused the login (MS-CHAPv2)');
  // Issue 17: the connection doctor on gwB explains the refusal, under the user who dialled.
  const problems = (await apiGetIn(lab, 'gwB', '/problems?user=branch-a'))['problems'] as unknown[] | undefined;
  t.match(problems?.[0], { protocol: 'l2tp', stage: 'ppp-auth', cause: 'l2tp-wrong-password', user: 'branch-a', source: '203.0.113.1', client: { windows: /^Error 691/ }, fix: /Users page/ }, `gwB's Connection problems list it: ${JSON.stringify(problems)}`);
  t.ok(lineWith(wrong.log(), 'L2TP site down', /"redialInMs":\d+/), `the call ended and the site is dialed again later: ${lineWith(wrong.log(), 'L2TP site down', /./)}`);
  // Issue 17: the site's Test on gwA dials now and shows where it stops: IPsec and the tunnel up, the login refused.
  const tested = await apiIn(lab, 'gwA', 'POST', '/sites/hq/test', undefined, undefined, 40_000) as { ok?: boolean; steps?: Array<{ id: string; outcome: string }>; problem?: { cause: string; detail: string } };
  t.same(tested.steps?.map((s) => `${s.id}:${s.outcome}`), ['ipsec:ok', 'tunnel:ok', 'ppp:failed'], `the Test: IPsec and tunnel pass, PPP fails: ${JSON.stringify(tested)}`);
  t.match(tested, { ok: false, problem: { cause: 'peer-refused', explanation: /refused this gateway's login/ } }, 'explained as the peer refusing the login');
  await wrong.stop();
  // Issue 17: plain L2TP where gwB takes it only inside IPsec is a recorded problem, explained.
  lab.execSync('nat', [process.execPath, '-e', "const s = require('node:dgram').createSocket('udp4'); s.send(Buffer.from([0xc8, 2, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0]), 1701, '203.0.113.2', () => s.close());"]);
  await waitUntil('gwB records the plain L2TP', 10_000, async () => ((await apiGetIn(lab, 'gwB', '/problems'))['problems'] as Array<{ cause?: string }> | undefined)?.some((p) => p.cause === 'l2tp-without-ipsec') === true);
  const plain = ((await apiGetIn(lab, 'gwB', '/problems'))['problems'] as unknown[]).find((p) => (p as { cause?: string }).cause === 'l2tp-without-ipsec');
  t.match(plain, { protocol: 'l2tp', stage: 'l2tp-tunnel', source: '203.0.113.1', fix: /L2TP\/IPsec/ }, 'plain L2TP refused and explained, with its source');

  const branch = await startPostern(lab, 'gwA', dialing(PASSWORD), (log) => log.includes('"msg":"L2TP site up"'), { name: 'postern-branch', stateDir: wrong.stateDir });
  t.match(branch.log(), /"msg":"Quick Mode with 203\.0\.113\.2 done: [^"]*transport/, 'gwA keyed IKEv1 transport mode to gwB');
  await waitUntil('gwB routes the branch', 10_000, () => lab.execSync('gwB', ['ip', 'route', 'show', '10.1.0.0/24']).includes('postern0'));

  const p1 = await lab.exec('lanA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.10']);
  if (p1.code !== 0) {
    const hz = async (h: string) => (await lab.exec(h, ['curl', '-s', 'http://127.0.0.1:18080/healthz'])).stdout;
    t.comment(`DIAG A routes ${lab.execSync('gwA', ['ip', 'route'])}\nB routes ${lab.execSync('gwB', ['ip', 'route'])}\nA hz ${await hz('gwA')}\nB hz ${await hz('gwB')}\nA log ${branch.log().split('\n').slice(-25).join('\n')}\nB log ${hq.log().split('\n').slice(-25).join('\n')}`);
  }
  t.equal(p1.code, 0, 'lanA reaches lanB');
  t.match(lab.execSync('lanB', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']), / 0% packet loss/, 'lanB reaches lanA (the answering side routes the branch LAN)');
  t.match(lab.execSync('gwA', ['ip', 'route', 'show', '10.2.0.0/24']), /dev postern0/, 'gwA routes the HQ subnet into its call');
  t.ok(lineWith(hq.log(), 'L2TP tunnel up', /"peer":"203\.0\.113\.1:1701@\d+"/), 'gwB took the tunnel from the NAT\'s address, inside IPsec (tagged with its SA)');
  // Issue 20: both sides carry the call's IP in their drivers (the other LAN's sources allowed); gwB's counters say so.
  const hqHealth = (await lab.exec('gwB', ['curl', '-s', 'http://127.0.0.1:18080/healthz'])).stdout;
  const hqCounter = (name: string) => Number(new RegExp(`"${name.replace(/\./g, '\\.')}":(\\d+)`).exec(hqHealth)?.[1] ?? -1);
  t.ok(hqCounter('l2tp.dataPath.sessions') === 1 && hqCounter('l2tp.dataPath.packetsIn') >= 6 && hqCounter('l2tp.dataPath.packetsOut') >= 6 && hqCounter('l2tp.dataPath.dropSource') === 0,
    `gwB's driver carried both LANs' pings (in ${hqCounter('l2tp.dataPath.packetsIn')}, out ${hqCounter('l2tp.dataPath.packetsOut')}, JavaScript ${hqCounter('l2tp.javascriptPackets')})`);
  t.notMatch(branch.log(), /the driver cannot carry this L2TP call/, 'gwA\'s dialer handed its call to the driver too');
  // The dialing site's counters include what its driver carried (the pings never crossed JavaScript at gwA).
  const site = ((await apiGetIn(lab, 'gwA', '/sites'))['sites'] as Array<{ name: string; rxPackets: number; txPackets: number }> | undefined)?.find((s) => s.name === 'hq');
  t.ok((site?.rxPackets ?? 0) >= 6 && (site?.txPackets ?? 0) >= 6, `gwA's site counts the pings its driver carried: ${JSON.stringify(site)}`);

  await hq.stop();
  await waitUntil('gwA sees the call go', 20_000, () => count(branch.log(), 'L2TP site down') >= 1);
  const again = await startPostern(lab, 'gwB', undefined, (log) => log.includes('L2TP listening'), { name: 'postern-hq-2', stateDir: hq.stateDir });
  await waitUntil('gwA keys IPsec again and redials', 60_000, () => count(branch.log(), 'L2TP site up') >= 2, () => branch.log().split('\n').slice(-15).join('\n'));
  await waitUntil('gwB routes the branch again', 10_000, () => lab.execSync('gwB', ['ip', 'route', 'show', '10.1.0.0/24']).includes('postern0'));
  t.match(lab.execSync('lanA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.10']), / 0% packet loss/, 'and the LANs reach each other again');
  t.notMatch(wrong.log() + branch.log() + hq.log() + again.log(), new RegExp(`${PASSWORD}|${PSK}`), 'neither the password nor the PSK reaches a log');
});

/** lanA – gwA – inet – gwB – lanB: both WANs IPv6 only, the LANs IPv4. */
const ipv6OnlyWans: TopologySpec = {
  hosts: {
    lanA: { gateway: '10.1.0.1' },
    gwA: { forwarding: true, gateway: '2001:db8:a::1' },
    inet: { forwarding: true },
    gwB: { forwarding: true, gateway: '2001:db8:b::1' },
    lanB: { gateway: '10.2.0.1' },
  },
  links: {
    lan: { a: ['lanA', '10.1.0.10/24'], b: ['gwA', '10.1.0.1/24'] },
    wan: { a: ['gwA', '2001:db8:a::2/64'], b: ['inet', '2001:db8:a::1/64'] },
    out: { a: ['inet', '2001:db8:b::1/64'], b: ['gwB', '2001:db8:b::2/64'] },
    lanb: { a: ['gwB', '10.2.0.1/24'], b: ['lanB', '10.2.0.10/24'] },
  },
};

t.test('issue 24: L2TP/IPsec site-to-site over IPv6-only WANs: both LANs reach each other, the ESP and the L2TP inside it over IPv6', async (t) => {
  t.setTimeout(90_000);
  const lab = Lab.create(ipv6OnlyWans);
  t.teardown(() => lab.teardown());
  // The router counts what it forwards between the gateways: ESP (protocol 50) over IPv6, and any L2TP in the clear.
  lab.execSync('inet', ['nft', 'add', 'table', 'ip6', 'seen']);
  lab.execSync('inet', ['nft', 'add', 'chain', 'ip6', 'seen', 'passed', '{ type filter hook forward priority 0; }']);
  for (const match of [['meta', 'l4proto', 'esp'], ['udp', 'dport', '1701'], ['udp', 'dport', '4500']]) lab.execSync('inet', ['nft', 'add', 'rule', 'ip6', 'seen', 'passed', ...match, 'counter']);
  // No IPv4 on either WAN: DHCP never answers there, so each gateway has only its IPv6 address.
  const hq = await startPostern(lab, 'gwB', answeringL2tpGateway({ wan: { interface: 'out', mode: 'dhcp' }, lanInterface: 'lanb', branchAddress: '2001:db8:a::2', psk: PSK, password: PASSWORD }),
    (log) => log.includes('L2TP listening') && log.includes('IKEv1 listening'), { name: 'postern-hq6' });
  t.match(hq.log(), /"address6":"2001:db8:b::2"[^\n]*"msg":"L2TP listening"/, 'gwB\'s L2TP listener binds UDP 1701 on its IPv6 WAN address too');
  const branch = await startPostern(lab, 'gwA', dialingL2tpGateway({ wan: { interface: 'wan', mode: 'dhcp' }, hqAddress: '2001:db8:b::2', psk: PSK, password: PASSWORD }),
    (log) => log.includes('"msg":"L2TP site up"'), { name: 'postern-branch6' });
  t.match(branch.log(), /"msg":"Quick Mode with 2001:db8:b::2 done: [^"]*transport/, 'gwA keyed IKEv1 transport mode to gwB\'s IPv6 address');
  t.ok(lineWith(hq.log(), 'L2TP tunnel up', /"peer":"\[2001:db8:a::2\]:1701@\d+"/), `gwB took the tunnel from gwA's IPv6 address, inside IPsec (tagged with its SA): ${lineWith(hq.log(), 'L2TP tunnel up', /./)}`);
  await waitUntil('gwB routes the branch', 10_000, () => lab.execSync('gwB', ['ip', 'route', 'show', '10.1.0.0/24']).includes('postern0'));

  t.match(lab.execSync('lanA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.10']), / 0% packet loss/, 'lanA reaches lanB');
  t.match(lab.execSync('lanB', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']), / 0% packet loss/, 'lanB reaches lanA');
  // Full-size packets too (1328 bytes of IP, DF): inside the IPv6 call's MRU (1340, 20 below IPv4's for the longer header), never fragmented.
  t.match(lab.execSync('lanA', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '-s', '1300', '-M', 'do', '10.2.0.10']), / 0% packet loss/, 'lanA reaches lanB with 1328-byte packets (DF)');
  t.match(lab.execSync('lanB', ['ping', '-c', '2', '-i', '0.2', '-W', '2', '-s', '1300', '-M', 'do', '10.1.0.10']), / 0% packet loss/, 'and lanB lanA');
  const hqHealth = (await lab.exec('gwB', ['curl', '-s', 'http://127.0.0.1:18080/healthz'])).stdout;
  const hqCounter = (name: string) => Number(new RegExp(`"${name.replace(/\./g, '\\.')}":(\\d+)`).exec(hqHealth)?.[1] ?? -1);
  t.ok(hqCounter('l2tp.dataPath.sessions') === 1 && hqCounter('l2tp.dataPath.packetsIn') >= 10 && hqCounter('l2tp.dataPath.packetsOut') >= 10,
    `gwB's driver carried both LANs' pings in the call over IPv6 (in ${hqCounter('l2tp.dataPath.packetsIn')}, out ${hqCounter('l2tp.dataPath.packetsOut')})`);
  t.notMatch(branch.log(), /the driver cannot carry this L2TP call/, 'gwA\'s dialer handed its call to the driver too (PPP data over the IPv6 transport SA)');
  const counters = lab.execSync('inet', ['nft', 'list', 'chain', 'ip6', 'seen', 'passed']);
  const packets = (match: RegExp) => Number(new RegExp(`${match.source} counter packets (\\d+)`).exec(counters)?.[1] ?? -1);
  const esp = packets(/l4proto esp/);
  t.ok(esp >= 12 && packets(/udp dport 1701/) === 0, `the router forwarded ${esp} ESP packets over IPv6 (raw ESP, no NAT between the gateways), ${packets(/udp dport 4500/)} in UDP 4500, and no plain L2TP: ${counters.replace(/\s+/g, ' ')}`);
  // Plain L2TP to gwB's IPv6 address reaches its IPv6 socket and is refused there, recorded with its IPv6 source.
  lab.execSync('inet', [process.execPath, '-e', "const s = require('node:dgram').createSocket('udp6'); s.send(Buffer.from([0xc8, 2, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0]), 1701, '2001:db8:b::2', () => s.close());"]);
  await waitUntil('gwB records the plain L2TP over IPv6', 10_000, async () => ((await apiGetIn(lab, 'gwB', '/problems'))['problems'] as Array<{ cause?: string }> | undefined)?.some((p) => p.cause === 'l2tp-without-ipsec') === true);
  const plain = ((await apiGetIn(lab, 'gwB', '/problems'))['problems'] as unknown[]).find((p) => (p as { cause?: string }).cause === 'l2tp-without-ipsec');
  t.match(plain, { protocol: 'l2tp', stage: 'l2tp-tunnel', source: '2001:db8:b::1' }, 'plain L2TP over IPv6 refused on the IPv6 socket and explained, with its IPv6 source');

  // NAT66 (RFC 3947 with IPv6 addresses): gwA dials again from a new address that the router masquerades.
  // NAT detection moves ESP into UDP 4500, NAT-OA carries 16-byte addresses, and gwB keys the call by the NAT's address.
  await branch.stop();
  lab.execSync('inet', ['nft', 'add', 'table', 'ip6', 'nat66']);
  lab.execSync('inet', ['nft', 'add', 'chain', 'ip6', 'nat66', 'post', '{ type nat hook postrouting priority 100; }']);
  lab.execSync('inet', ['nft', 'add', 'rule', 'ip6', 'nat66', 'post', 'oifname', 'out', 'masquerade']);
  // A new source address: the old one's conntrack entries (not NATed) would otherwise carry its IKE on.
  lab.execSync('gwA', ['ip', '-6', 'addr', 'add', '2001:db8:a::3/64', 'dev', 'wan', 'nodad']);
  lab.execSync('gwA', ['ip', '-6', 'addr', 'del', '2001:db8:a::2/64', 'dev', 'wan']);
  lab.execSync('gwA', ['ip', '-6', 'route', 'replace', 'default', 'via', '2001:db8:a::1']);
  const natted = await startPostern(lab, 'gwA', undefined, (log) => log.includes('"msg":"L2TP site up"'), { name: 'postern-branch6-nat66', stateDir: branch.stateDir });
  t.match(natted.log(), /"msg":"Quick Mode with 2001:db8:b::2 done: [^"]*transport[^"]*2001:db8:a::3\/128\[17\/1701\]/, 'gwA keyed transport mode from its new address');
  await waitUntil('gwB takes the tunnel from the NAT', 10_000, () => lineWith(hq.log(), 'L2TP tunnel up', /"peer":"\[2001:db8:b::1\]:1701@\d+"/) !== undefined);
  t.ok(lineWith(hq.log(), 'L2TP tunnel up', /"peer":"\[2001:db8:b::1\]:1701@\d+"/), 'gwB took the tunnel from the NAT66 address, inside IPsec');
  t.match(hq.log(), /transport mode across a NAT: 2001:db8:a::3\/128\[17\/1701\] === 2001:db8:b::2\/128\[17\/1701\] taken as 2001:db8:b::1\/128\[17\/1701\]/, 'gwB read gwA\'s IPv6 selectors as the NAT\'s address (NAT-OA, RFC 3947 §5.2)');
  await waitUntil('gwB routes the branch again', 10_000, () => lab.execSync('gwB', ['ip', 'route', 'show', '10.1.0.0/24']).includes('postern0'));
  t.match(lab.execSync('lanA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.10']), / 0% packet loss/, 'lanA reaches lanB through NAT66');
  t.match(lab.execSync('lanB', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']), / 0% packet loss/, 'lanB reaches lanA through NAT66');
  const natCounters = lab.execSync('inet', ['nft', 'list', 'chain', 'ip6', 'seen', 'passed']);
  const natPackets = (match: RegExp) => Number(new RegExp(`${match.source} counter packets (\\d+)`).exec(natCounters)?.[1] ?? -1);
  t.ok(natPackets(/udp dport 4500/) >= 12 && natPackets(/udp dport 1701/) === 0, `across NAT66 the ESP went in UDP 4500 (${natPackets(/udp dport 4500/)} packets), still no plain L2TP: ${natCounters.replace(/\s+/g, ' ')}`);
  t.notMatch(branch.log() + natted.log() + hq.log(), new RegExp(`${PASSWORD}|${PSK}`), 'neither the password nor the PSK reaches a log');
});
