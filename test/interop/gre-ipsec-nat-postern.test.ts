// GRE over IPsec through a NAT (issue 25): gwA sits behind the lab's masquerading router (its own
// WAN address 172.16.1.2, seen as 203.0.113.1), gwB on the outside. gwA dials the IKEv2 transport
// child for GRE; gwB substitutes the address it sees for gwA's selector (RFC 7296 §2.23.1) and the
// child is ESP in UDP 4500. gwB's site names gwA by its ID and an out-of-date address: its GRE
// follows the SA to the NAT's address. A raw capture on gwB's WAN from before the start: UDP 500
// and 4500 between the gateways and nothing else, not one GRE or raw ESP packet. Both sites come up
// by keepalives, each side's own come back (gwA's asks to return to the address gwB sees it at).
// No static routes: FRR's ospfd in each gateway's namespace runs over the gre-<site> interfaces
// (point-to-point, hellos to 224.0.0.5: multicast crosses the GRE interface and the SA), reaches
// Full and learns the other LAN, and LAN to LAN traffic follows those routes both ways. The LANs have
// IPv6 too: ospf6d runs over the interfaces' link-local addresses (OSPFv3), learns the other LAN's
// IPv6 prefix, and LAN to LAN IPv6 follows it through the same GRE over IPsec.
// The gateways prove themselves with certificates (the site's auth: certificate), each from its own
// built-in CA, which the other trusts (certificates.trusted): no pre-shared key anywhere.
import { existsSync, readFileSync } from 'node:fs';

import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { loadOrCreatePki } from '../../firmware/pki/pki-store.ts';
import { startPostern, type PosternDaemon } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { hasFrr, startFrrOspf, type FrrOspf } from '../lab/peers/frr-ospf.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesBehindNat } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const readLog = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');

const DRIVER = 'drivers/build/Release/postern_dp.node';
const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(DRIVER) ? 'the native driver is not built (make drivers)' : !hasBinary('curl') ? 'curl is not installed' : !hasBinary('python3') ? 'python3 is not installed' : !hasFrr() ? 'FRR is not installed (scripts/install-deps.sh --lab)' : false);
const ADMIN = 'Field-Tech-Pass-77';
const NAT = '203.0.113.1';
const GW_B = '203.0.113.2';
/** What gwB was told of gwA's address: out of date (a dynamic address); the ID finds the site. */
const STALE = '203.0.113.99';

/** `peerCa`: the other gateway's CA certificate (PEM), trusted for the site's certificate authentication. */
function gateway(side: 'A' | 'B', peerCa: string): PosternConfig {
  const a = side === 'A';
  const c = defaultConfig();
  const name = a ? 'gwa.example' : 'gwb.example';
  c.certificates.ca.commonName = `Postern CA ${side}`;
  c.certificates.server = { commonName: name, sans: [name] };
  c.certificates.trusted = [{ name: `gateway-${a ? 'b' : 'a'}`, certificate: peerCa, revocation: 'off' }];
  c.system.wan = a ? { interface: 'wan', mode: 'static', address: '172.16.1.2/24', gateway: '172.16.1.1' } : { interface: 'out', mode: 'static', address: `${GW_B}/24` };
  c.system.lan = { interface: a ? 'lan' : 'lanb', address: a ? '10.1.0.1/24' : '10.2.0.1/24' };
  c.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  c.listeners.ikev2.enabled = false;
  c.listeners.sstp.enabled = false;
  c.sites = [{
    name: a ? 'to-b' : 'to-a', protocol: 'gre', remote: a ? GW_B : STALE, localSubnets: [], remoteSubnets: [], // OSPF routes the LANs
    auth: 'certificate', initiate: a, enabled: true, localId: name, remoteId: a ? 'gwb.example' : 'gwa.example',
    gre: { address: a ? '10.255.0.1/30' : '10.255.0.2/30', key: 9, keepaliveSeconds: 1, keepaliveRetries: 3, ipsec: true },
  }];
  return c;
}

/** Every IPv4 packet on one interface: "<protocol> <source> <destination> <source port> <destination port> <length>" (ports 0 but for UDP). */
const CAPTURE = `
import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
print('capturing', flush=True)
while True:
    f = s.recv(2048)
    if len(f) >= 34 and f[12:14] == b'\\x08\\x00':
        ihl = (f[14] & 15) * 4
        udp = f[23] == 17 and len(f) >= 18 + ihl
        ports = (int.from_bytes(f[14 + ihl:16 + ihl], 'big'), int.from_bytes(f[16 + ihl:18 + ihl], 'big')) if udp else (0, 0)
        print(f[23], socket.inet_ntoa(f[26:30]), socket.inet_ntoa(f[30:34]), ports[0], ports[1], len(f), flush=True)
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

type Site = { name: string; state: string; counters?: Record<string, number> };

t.test('Postern ↔ Postern GRE over IPsec through a NAT: UDP 4500 only, the observed address in the selectors, keepalives both ways, OSPF across it, LAN to LAN', { skip }, async (t) => {
  t.setTimeout(120_000);
  const lab = Lab.create(twoSitesBehindNat);
  t.teardown(() => lab.teardown());
  const started = Date.now();
  const capture = lab.spawnDaemon('gwB', 'capture', ['python3', '-u', '-c', CAPTURE, 'out']);
  await waitUntil('the capture runs', 5_000, () => readLog(capture.logFile).includes('capturing'));
  const ups = (d: PosternDaemon) => (d.log().match(/GRE site up/g) ?? []).length;
  const ready = (log: string) => log.includes('GRE site started') && log.includes('IKEv2 listening');
  // All at once: gwA's IKE retransmits until gwB answers; ospfd takes the GRE interfaces as they appear.
  const ospf = (side: 'A' | 'B') => startFrrOspf(lab, `gw${side}`, {
    routerId: side === 'A' ? '10.255.0.1' : '10.255.0.2', pointToPoint: [side === 'A' ? 'gre-to-b' : 'gre-to-a'], passive: [side === 'A' ? 'lan' : 'lanb'],
    networks: ['10.255.0.0/30', side === 'A' ? '10.1.0.0/24' : '10.2.0.0/24'], ospf6: true,
  });
  // IPv6 on both LANs, for OSPFv3 to announce.
  for (const [gw, host, link, prefix] of [['gwA', 'lanA', 'lan', 'fd00:a::'], ['gwB', 'lanB', 'lanb', 'fd00:b::']] as const) {
    lab.execSync(gw, ['ip', '-6', 'addr', 'add', `${prefix}1/64`, 'dev', link, 'nodad']);
    lab.execSync(host, ['ip', '-6', 'addr', 'add', `${prefix}10/64`, 'dev', link, 'nodad']);
    lab.execSync(host, ['ip', '-6', 'route', 'add', 'default', 'via', `${prefix}1`]);
  }
  // Each gateway's CA and certificate made first (as on its first boot), so that each may trust the other's CA.
  const states = { A: lab.subdir('gwa-state'), B: lab.subdir('gwb-state') };
  const quiet = createLogger({ sink: () => {} });
  const caOf = (side: 'A' | 'B') => loadOrCreatePki(states[side], gateway(side, '').certificates, quiet).ca.certificatePem;
  const cas = { A: caOf('A'), B: caOf('B') };
  const start = (side: 'A' | 'B') => startPostern(lab, `gw${side}`, gateway(side, cas[side === 'A' ? 'B' : 'A']), ready, { name: `gw${side.toLowerCase()}`, stateDir: states[side] });
  const [gwA, gwB, ospfA, ospfB] = await Promise.all([start('A'), start('B'), ospf('A'), ospf('B')]);
  t.teardown(async () => {
    await ospfA.stop();
    await ospfB.stop();
    await gwA.stop();
    await gwB.stop();
  });
  const tail = () => `\n--- gwA:\n${gwA.log().split('\n').slice(-15).join('\n')}\n--- gwB:\n${gwB.log().split('\n').slice(-15).join('\n')}`;

  // 1. The SA (ESP in UDP), then both sites up by keepalives through it.
  await waitUntil('both GRE sites up', 30_000, () => ups(gwA) >= 1 && ups(gwB) >= 1, tail);
  t.comment(`sites up ${Date.now() - started} ms after start`);
  for (const [gw, peer] of [[gwA, 'gwb'], [gwB, 'gwa']] as const) t.match(gw.log(), new RegExp(`'CN=${peer}\\.example' signed with RSA`), `${peer === 'gwa' ? 'gwB' : 'gwA'} authenticated ${peer} by its certificate (no PSK is configured)`);
  t.match(gwB.log(), new RegExp(`"from":"${STALE.replace(/\./g, '\\.')}","to":"${NAT.replace(/\./g, '\\.')}".*GRE site follows its IPsec SA`), "gwB's GRE follows the SA from the stale address to the NAT's");
  const rulesB = lab.execSync('gwB', ['ip', 'rule']);
  t.match(rulesB, new RegExp(`to ${NAT.replace(/\./g, '\\.')} ipproto (gre|47) lookup 7350`), 'gwB steers GRE to the address it sees into the SA: its selector was substituted');
  t.match(rulesB, new RegExp(`to ${NAT.replace(/\./g, '\\.')} ipproto (gre|47) blackhole`), 'and guards it');
  t.notMatch(rulesB, new RegExp(STALE.replace(/\./g, '\\.')), 'nothing is left for the stale address');
  t.match(lab.execSync('gwA', ['ip', 'rule']), new RegExp(`to ${GW_B.replace(/\./g, '\\.')} ipproto (gre|47) lookup 7350`), 'gwA steers GRE to gwB into the SA');

  // 2. OSPF over the GRE interfaces: Full, each LAN learned through the tunnel, and nothing static.
  const full = async (o: FrrOspf) => (await o.neighborStates()).some((state) => state.startsWith('Full'));
  await waitUntil('OSPF adjacency Full on both gateways', 20_000, async () => (await full(ospfA)) && (await full(ospfB)), tail);
  t.comment(`OSPF Full ${Date.now() - started} ms after start`);
  const learned = (host: string, lan: string) => lab.execSync(host, ['ip', 'route', 'show', lan]);
  await waitUntil('the LAN routes from OSPF', 10_000, () => /proto ospf/.test(learned('gwA', '10.2.0.0/24')) && /proto ospf/.test(learned('gwB', '10.1.0.0/24')));
  t.match(learned('gwA', '10.2.0.0/24'), /via 10\.255\.0\.2 dev gre-to-b proto ospf/, "gwA learned lanB's prefix through the GRE interface");
  t.match(learned('gwB', '10.1.0.0/24'), /via 10\.255\.0\.1 dev gre-to-a proto ospf/, "gwB learned lanA's");
  t.match(await ospfA.vtysh('show ip ospf interface gre-to-b'), /Network Type POINTOPOINT/, 'a point-to-point OSPF interface: its hellos go to 224.0.0.5 through GRE over IPsec');

  // 2b. OSPFv3 over the same interfaces, from their link-local addresses (fe80::<tunnel IPv4>).
  const full6 = async (o: FrrOspf) => (await o.ospf6NeighborStates()).some((state) => state.startsWith('Full'));
  await waitUntil('OSPFv3 adjacency Full on both gateways', 20_000, async () => (await full6(ospfA)) && (await full6(ospfB)), tail);
  const learned6 = (host: string, lan: string) => lab.execSync(host, ['ip', '-6', 'route', 'show', lan]);
  await waitUntil('the IPv6 LAN routes from OSPFv3', 10_000, () => /proto ospf/.test(learned6('gwA', 'fd00:b::/64')) && /proto ospf/.test(learned6('gwB', 'fd00:a::/64')));
  t.match(learned6('gwA', 'fd00:b::/64'), /via fe80::aff:2 dev gre-to-b proto ospf/, "gwA learned lanB's IPv6 prefix from gwB's link-local address on the GRE interface");
  t.match(learned6('gwB', 'fd00:a::/64'), /via fe80::aff:1 dev gre-to-a proto ospf/, "gwB learned lanA's");
  const ping6 = await lab.exec('lanA', ['ping', '-6', '-c', '4', '-i', '0.2', '-W', '2', 'fd00:b::10']);
  t.equal(ping6.code, 0, `lanA → lanB over IPv6 through GRE over IPsec, routed by OSPFv3:\n${ping6.stdout}${ping6.stderr}${tail()}`);

  // 3. LAN to LAN both ways, following the OSPF routes.
  const ping = await lab.exec('lanA', ['ping', '-c', '4', '-i', '0.2', '-W', '2', '10.2.0.10']);
  t.equal(ping.code, 0, `lanA → lanB through GRE over IPsec through the NAT:\n${ping.stdout}${tail()}`);
  const back = await lab.exec('lanB', ['ping', '-c', '4', '-i', '0.2', '-W', '2', '10.1.0.10']);
  t.equal(back.code, 0, `lanB → lanA:\n${back.stdout}${tail()}`);

  // 4. Each side's own keepalives come back: gwA's asked to return to the NAT's address, not its own.
  const site = async (host: string, api: (p: string) => Promise<string>): Promise<Site | undefined> => (JSON.parse(await api('/sites')) as { sites: Site[] }).sites.find((s) => s.name === (host === 'gwA' ? 'to-b' : 'to-a'));
  const apiA = apiOf(lab, 'gwA');
  const apiB = apiOf(lab, 'gwB');
  let a: Site | undefined;
  await waitUntil("gwA's keepalives come back", 10_000, async () => ((a = await site('gwA', apiA))?.counters?.['greKeepalivesHeard'] ?? 0) >= 2, () => `${JSON.stringify(a)}${tail()}`);
  t.match(a, { state: 'up', counters: { ipsec: 1, ipsecUp: 1 } }, `gwA's site, protected and up: ${JSON.stringify(a)}`);
  const b = await site('gwB', apiB);
  t.match(b, { state: 'up', counters: { ipsec: 1, ipsecUp: 1 } }, `gwB's site: ${JSON.stringify(b)}`);
  t.ok((b?.counters?.['greKeepalivesHeard'] ?? 0) >= 2, "gwB's keepalives come back too");
  // The site looks at its SA every half second: what came in that moment before it followed is all it may drop.
  t.ok((b?.counters?.['otherSource'] ?? 0) <= 3, `gwB dropped no GRE but what came before it followed (${b?.counters?.['otherSource'] ?? 0})`);

  // 5. The wire on gwB's side of the NAT: UDP 500 then 4500, nothing else between the gateways.
  const packets = readLog(capture.logFile).split('\n').filter((l) => /^\d+ /.test(l)).map((l) => l.split(' ') as [string, string, string, string, string, string]);
  // ICMP aside: gwB's kernel answers port unreachable when gwA's first IKE_SA_INIT beats gwB's listener.
  const between = packets.filter(([protocol, from, to]) => protocol !== '1' && ((from === NAT && to === GW_B) || (from === GW_B && to === NAT)));
  const other = between.filter(([protocol, , , sport, dport]) => protocol !== '17' || !['500', '4500'].includes(sport) || !['500', '4500'].includes(dport));
  t.same(other.slice(0, 5), [], `only IKE and UDP 4500 between the gateways (${between.length} packets)${tail()}`);
  const on4500 = between.filter(([, , , sport, dport]) => sport === '4500' || dport === '4500');
  t.ok(on4500.length >= 20 && on4500.some(([, from]) => from === NAT) && on4500.some(([, from]) => from === GW_B), `ESP in UDP 4500 both ways (${on4500.length} packets)`);
  const firstOn4500 = between.findIndex(([, , , sport, dport]) => sport === '4500' || dport === '4500');
  t.notOk(between.slice(firstOn4500).some(([, , , sport, dport]) => sport === '500' || dport === '500'), 'once on 4500, never back to 500');
  t.notOk(packets.some(([protocol]) => protocol === '47' || protocol === '50'), 'no GRE or raw ESP on the wire at all');
  t.comment(`GRE over IPsec through a NAT: ${between.length} packets between the gateways; lab sequence ${Date.now() - started} ms`);
});
