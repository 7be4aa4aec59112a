// GRE sites (issue 25): two `postern run`s in lab namespaces, each with a GRE site to the other
// (keyed, keepalives every second). Each site is an interface gre-<site> with its tunnel address:
// ping between the tunnel addresses (IPv4, and IPv6 inside: gre.address6) and LAN to LAN (IPv4, and IPv6
// by the sites' IPv6 remote networks, routed into the interfaces); non-IP crosses
// too (an MPLS frame written to one interface by a packet socket arrives at the other's, EtherType 0x8847
// both ways: the interfaces carry the GRE protocol type); the API shows the site up with its counters;
// keepalives are Cisco GRE keepalives sent by the driver and reflected by the peer (counted both
// ways, no ICMP fallback);
// the peer gone (its WAN link down) takes the site down by keepalives and up when it returns; the
// peer's key changed through its API, its packets are dropped and counted and the site goes down;
// the key set back, it comes up again. The fleet console hears each tunnel-up and tunnel-down (gre).
// Both sites send and require checksums and sequence numbers (RFC 2784/2890). A third host (rogue,
// behind gwB) sends GRE with the right key: from its own address it is dropped as another source;
// spoofing gwA's address, a bad checksum, no sequence number and a wrong key are each dropped and
// counted, and none reaches lanB; a good one is delivered (the injector works), its duplicates are
// dropped, and gwA's own numbering, now behind, is followed again at the 4th (as after a peer's restart).
import { existsSync, readFileSync } from 'node:fs';
import t, { type Test } from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../firmware/config/types.ts';
import { startPostern, type PosternDaemon } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { Mosquitto } from '../lab/peers/mosquitto.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab, type TopologySpec } from '../lab/topology.ts';
import { GRE_PROTOCOL } from '../../firmware/gre/gre-header.ts';
import { icmpEcho, icmpInEchos, injectGre, type GreInjection } from '../lab/peers/gre-injector.ts';

const DRIVER = 'drivers/build/Release/postern_dp.node';
const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(DRIVER) ? 'the native driver is not built (make drivers)' : !hasBinary('mosquitto') ? 'mosquitto is not installed' : !hasBinary('curl') ? 'curl is not installed' : false);
const ADMIN = 'Field-Tech-Pass-77';
const MQTT = ['-h', '10.2.0.10', '-u', 'fleet', '-P', 'Fleet-Pass-1'];
/** The two sites, and a third host behind gwB that can reach its WAN address. */
const withRogue: TopologySpec = {
  hosts: { ...twoSitesDirect.hosts, rogue: { gateway: '198.51.100.1' } },
  links: { ...twoSitesDirect.links, rogue: { a: ['gwB', '198.51.100.1/24'], b: ['rogue', '198.51.100.66/24'] } },
};

function gateway(side: 'A' | 'B', key: number): PosternConfig {
  const a = side === 'A';
  const c = defaultConfig();
  c.system.wan = { interface: 'wan', mode: 'static', address: a ? '192.0.2.1/24' : '192.0.2.2/24' };
  c.system.lan = { interface: a ? 'lan' : 'lanb', address: a ? '10.1.0.1/24' : '10.2.0.1/24' };
  c.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  c.listeners.ikev2.enabled = false;
  c.listeners.sstp.enabled = false;
  c.sites = [{
    name: a ? 'to-b' : 'to-a', protocol: 'gre', remote: a ? '192.0.2.2' : '192.0.2.1', localSubnets: [], remoteSubnets: a ? ['10.2.0.0/24', 'fd00:b::/64'] : ['10.1.0.0/24', 'fd00:a::/64'],
    auth: 'psk', initiate: true, enabled: true, gre: { address: a ? '10.255.0.1/30' : '10.255.0.2/30', address6: a ? 'fd00:255::1/64' : 'fd00:255::2/64', key, checksum: true, sequence: true, keepaliveSeconds: 1, keepaliveRetries: 3 },
  }];
  if (!a) c.telemetry.mqtt = { enabled: true, url: 'mqtt://10.2.0.10:1883', username: 'fleet', password: 'Fleet-Pass-1', prefix: 'postern', deviceId: 'gw-gre', intervalSeconds: 5, commandsEnabled: false };
  return c;
}

/** The management API inside a gateway's namespace through curl (a node per call costs seconds on a loaded box): first-boot setup and login once, then requests with the session. */
function apiOf(lab: Lab, host: string) {
  const base = 'http://127.0.0.1:18080/api/v1';
  let session: { cookie: string; csrf: string } | undefined;
  const curl = async (method: string, path: string, body: unknown, headers: string[] = [], include = false) => {
    const r = await lab.exec(host, ['curl', '-s', '--max-time', '20', ...(include ? ['-i'] : []), '-X', method, '-H', 'content-type: application/json', ...headers.flatMap((h) => ['-H', h]), ...(body === undefined ? [] : ['--data', JSON.stringify(body)]), `${base}${path}`], 25_000);
    return r.stdout;
  };
  return async (method: string, path: string, body?: unknown): Promise<string> => {
    if (!session) {
      await curl('POST', '/setup', { password: ADMIN });
      const login = await curl('POST', '/login', { password: ADMIN }, [], true);
      const cookie = /^set-cookie: ([^;\r\n]+)/im.exec(login)?.[1] ?? '';
      const csrf = /"csrfToken":"([^"]+)"/.exec(login)?.[1] ?? '';
      session = { cookie, csrf };
    }
    return curl(method, path, body, [`cookie: ${session.cookie}`, `x-csrf-token: ${session.csrf}`]);
  };
}

t.test('Postern ↔ Postern over GRE: tunnel and LAN pings, API, keepalives down and up, a wrong key dropped and counted', { skip }, async (t) => {
  t.setTimeout(180_000);
  const lab = Lab.create(withRogue);
  t.teardown(() => lab.teardown());
  await Mosquitto.start(lab, 'lanB', { address: '10.2.0.10', users: { fleet: 'Fleet-Pass-1' } });
  const events = lab.spawnDaemon('lanB', 'events', ['mosquitto_sub', ...MQTT, '-t', 'postern/gw-gre/events']);
  const status = lab.spawnDaemon('lanB', 'status', ['mosquitto_sub', ...MQTT, '-t', 'postern/gw-gre/status', '-C', '2']);
  // Events are not retained: the gateways start only once the subscriber hears a probe (under load it subscribed late).
  await waitUntil('the events subscriber listens', 15_000, async () => {
    await lab.exec('lanB', ['mosquitto_pub', ...MQTT, '-t', 'postern/gw-gre/events', '-m', '{"probe":true}']);
    return readFileSync(events.logFile, 'utf8').includes('"probe"');
  });
  await new Promise((done) => setTimeout(done, 300));
  const started = Date.now();
  const upsOf = (d: PosternDaemon) => (d.log().match(/GRE site up/g) ?? []).length;
  const downsOf = (d: PosternDaemon) => (d.log().match(/GRE site down/g) ?? []).length;
  const [gwA, gwB] = await Promise.all([startPostern(lab, 'gwA', gateway('A', 42), (log) => log.includes('GRE site started'), { name: 'gwa' }), startPostern(lab, 'gwB', gateway('B', 42), (log) => log.includes('GRE site started'), { name: 'gwb' })]);
  const tail = () => `\n--- gwA:\n${gwA.log().split('\n').slice(-12).join('\n')}\n--- gwB:\n${gwB.log().split('\n').slice(-12).join('\n')}`;
  const apiA = apiOf(lab, 'gwA');
  const apiB = apiOf(lab, 'gwB');
  type Site = { name: string; state: string; reason?: string; rxPackets: number; txPackets: number; counters?: Record<string, number> };
  const sitesOnB = async (): Promise<Site[]> => {
    const r = await apiB('GET', '/sites');
    try {
      return (JSON.parse(r) as { sites: Site[] }).sites;
    } catch {
      throw new Error(`GET /sites on gwB: ${r}${tail()}`);
    }
  };

  t.comment(`step 1 at ${Date.now() - started} ms`);
  // 1. Both sites come up by keepalives; the interface is there with its address and MTU.
  await waitUntil('both GRE sites up', 15_000, () => upsOf(gwA) >= 1 && upsOf(gwB) >= 1, tail);
  const link = lab.execSync('gwA', ['ip', '-o', 'addr', 'show', 'dev', 'gre-to-b']);
  t.match(link, /inet 10\.255\.0\.1\/30/, 'gre-to-b holds the tunnel address');
  t.match(link, /inet6 fd00:255::1\/64/, 'and its IPv6 one');
  t.match(lab.execSync('gwA', ['ip', '-o', 'link', 'show', 'dev', 'gre-to-b']), /mtu 1464/, 'key, checksum and sequence number: MTU 1464');
  t.match(lab.execSync('gwA', ['ip', 'route', 'show', '10.2.0.0/24']), /dev gre-to-b/, 'the remote subnet is routed into the interface');

  t.comment(`step 2 at ${Date.now() - started} ms`);
  // 2. Tunnel address to tunnel address, and LAN to LAN.
  const tunnelPing = await lab.exec('gwA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.255.0.2']);
  t.equal(tunnelPing.code, 0, `gwA → gwB's tunnel address:\n${tunnelPing.stdout}${tail()}`);
  // IPv6 inside the tunnel: GRE protocol type 0x86DD both ways.
  const ping6 = await lab.exec('gwA', ['ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', 'fd00:255::2']);
  t.equal(ping6.code, 0, `gwA → gwB's IPv6 tunnel address:\n${ping6.stdout}${ping6.stderr}${tail()}`);
  const lanPing = await lab.exec('lanA', ['ping', '-c', '5', '-i', '0.2', '-W', '2', '10.2.0.10']);
  t.equal(lanPing.code, 0, `lanA → lanB through GRE:\n${lanPing.stdout}${tail()}`);
  for (const [gw, host, link, prefix] of [['gwA', 'lanA', 'lan', 'fd00:a::'], ['gwB', 'lanB', 'lanb', 'fd00:b::']] as const) {
    lab.execSync(gw, ['ip', '-6', 'addr', 'add', `${prefix}1/64`, 'dev', link, 'nodad']);
    lab.execSync(host, ['ip', '-6', 'addr', 'add', `${prefix}10/64`, 'dev', link, 'nodad']);
    lab.execSync(host, ['ip', '-6', 'route', 'add', 'default', 'via', `${prefix}1`]);
  }
  t.match(lab.execSync('gwA', ['ip', '-6', 'route', 'show', 'fd00:b::/64']), /dev gre-to-b/, "the site's IPv6 remote network is routed into the interface");
  const lanPing6 = await lab.exec('lanA', ['ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', 'fd00:b::10']);
  t.equal(lanPing6.code, 0, `lanA → lanB over IPv6 through GRE:\n${lanPing6.stdout}${lanPing6.stderr}${tail()}`);
  // Too big for the tunnel: IPv6 is never fragmented on the way, so the sender learns the tunnel's MTU
  // from an ICMPv6 Packet Too Big (RFC 8201) sent at the GRE interface.
  const big = await lab.exec('lanA', ['ping', '-6', '-c', '1', '-W', '2', '-M', 'do', '-s', '1450', 'fd00:b::10']);
  t.match(`${big.stdout}${big.stderr}`, /[Pp]acket too big[^\n]*mtu\s*=\s*1464|mtu=1464/, `a packet too big for the tunnel gets an ICMPv6 Packet Too Big naming its MTU (1464):\n${big.stdout}${big.stderr}`);
  await nonIpCrosses(t, lab, tail);

  t.comment(`step 3 at ${Date.now() - started} ms`);
  // 3. The API: up, with packets both ways and the site's counters.
  const [up] = await sitesOnB();
  t.match(up, { name: 'to-a', state: 'up', counters: { keepalivesSent: Number } }, JSON.stringify(up));
  t.ok((up?.rxPackets ?? 0) >= 8 && (up?.txPackets ?? 0) >= 8, `packets counted both ways: ${JSON.stringify(up)}`);
  // Keepalives are Cisco GRE keepalives from the driver, reflected by the peer's kernel and heard back as GRE type 0.
  const onA = (JSON.parse(await apiA('GET', '/sites')) as { sites: Site[] }).sites[0];
  for (const [who, site] of [['gwA', onA], ['gwB', up]] as const) {
    const c = site?.counters ?? {};
    t.ok((c['greKeepalivesSent'] ?? 0) >= 2 && (c['greKeepalivesSent'] ?? 0) >= (c['keepalivesSent'] ?? 0) - 1, `${who}: every probe a GRE keepalive: ${JSON.stringify(c)}`);
    t.ok((c['greKeepalivesHeard'] ?? 0) >= 1, `${who}: its GRE keepalives came back from the peer: ${JSON.stringify(c)}`);
    t.equal(c['icmpProbes'], 0, `${who}: no ICMP fallback`);
  }

  t.comment(`step 3b at ${Date.now() - started} ms`);
  // 3b. Checksums and sequence numbers on the wire both ways; GRE from elsewhere, or not what the site requires, never reaches lanB.
  for (const [who, site] of [['gwA', onA], ['gwB', up]] as const) t.match(site?.counters, { badChecksum: 0, badKey: 0, outOfOrder: 0 }, `${who}: checksummed, numbered GRE taken: ${JSON.stringify(site?.counters)}`);
  await rogueInjections(t, lab, sitesOnB, tail);

  t.comment(`step 4 at ${Date.now() - started} ms`);
  // 4. The peer goes (its WAN link down): keepalives take the site down (1 s interval, 3 retries); back when it returns.
  const goneAt = Date.now();
  lab.execSync('gwA', ['ip', 'link', 'set', 'dev', 'wan', 'down']);
  await waitUntil('gwB sees the site down', 15_000, () => downsOf(gwB) >= 1, tail);
  t.comment(`down ${Date.now() - goneAt} ms after the peer went (3 keepalives at 1 s unanswered)`);
  t.match((await sitesOnB())[0], { state: 'down' });
  lab.execSync('gwA', ['ip', 'link', 'set', 'dev', 'wan', 'up']);
  await waitUntil('gwB sees the site up again', 10_000, () => upsOf(gwB) >= 2, tail);

  t.comment(`step 5 at ${Date.now() - started} ms`);
  // 5. gwA's key changed to 43 (through its API, the subsystem reconfigured in place): gwB drops and counts its packets, and goes down.
  const before5 = (await sitesOnB())[0]?.counters ?? {};
  const droppedBefore = before5['dropped'] ?? 0;
  const wrongKey = await apiA('PUT', '/sites/to-b', gateway('A', 43).sites[0]);
  t.match(wrongKey, /"revision":\d+/, `key 43 applied on gwA: ${wrongKey}`);
  const wrong = await lab.exec('gwA', ['ping', '-c', '3', '-i', '0.2', '-W', '1', '10.255.0.2']);
  t.not(wrong.code, 0, 'no answer through a wrong key');
  await waitUntil('gwB sees the site down again', 10_000, () => downsOf(gwB) >= 2, tail);
  const refused = (await sitesOnB())[0];
  t.ok((refused?.counters?.['dropped'] ?? 0) >= droppedBefore + 3, `wrong-key packets dropped and counted: ${JSON.stringify(refused?.counters)}`);
  t.ok((refused?.counters?.['badKey'] ?? 0) >= (before5['badKey'] ?? 0) + 3, 'counted as a wrong key');
  t.equal(refused?.state, 'down', 'down with the wrong key');
  const heardWhileWrong = refused?.counters?.['greKeepalivesHeard'] ?? 0;

  t.comment(`step 6 at ${Date.now() - started} ms`);
  // 6. The right key again: up at the first answer, LAN to LAN again.
  const fixed = await apiA('PUT', '/sites/to-b', gateway('A', 42).sites[0]);
  t.match(fixed, /"revision":\d+/, `key 42 applied on gwA: ${fixed}`);
  await waitUntil('gwB sees the site up a third time', 10_000, () => upsOf(gwB) >= 3, tail);
  const again = await lab.exec('lanB', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.1.0.10']);
  t.equal(again.code, 0, `lanB → lanA after the peer came back:\n${again.stdout}${tail()}`);
  await waitUntil('gwB hears its GRE keepalives again', 5_000, async () => ((await sitesOnB())[0]?.counters?.['greKeepalivesHeard'] ?? 0) > heardWhileWrong, tail);
  // gwA's site was restarted twice by those changes and kept numbering where it stopped: nothing out of order at gwB, no resync.
  const after6 = (await sitesOnB())[0]?.counters ?? {};
  t.same([after6['outOfOrder'], after6['sequenceResyncs']], [before5['outOfOrder'], before5['sequenceResyncs']], `a restarted site continues its sequence numbers: ${JSON.stringify(after6)}`);

  t.comment(`step 7 at ${Date.now() - started} ms`);
  // 7. The fleet console heard it.
  await gwB.stop();
  await gwA.stop();
  const heard = readFileSync(events.logFile, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; details?: Record<string, string> }).filter((e) => e.details?.['protocol'] === 'gre');
  t.same(heard.map((e) => `${e.type} ${String(e.details?.['site'])}`), ['tunnel-up to-a', 'tunnel-down to-a', 'tunnel-up to-a', 'tunnel-down to-a', 'tunnel-up to-a'], 'MQTT events');
  // The status report (every 5 s) carried the GRE site with its state and counters.
  const reports = readFileSync(status.logFile, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { tunnels?: Array<{ name: string; state: string; reason?: string }> });
  t.ok(reports.length > 0, 'status reports heard');
  t.match(reports.at(-1)?.tunnels, [{ name: 'to-a', state: /^(up|down)$/, counters: { otherSource: Number, badChecksum: Number, outOfOrder: Number } }], JSON.stringify(reports.at(-1)?.tunnels));
  t.comment(`GRE lab sequence took ${Date.now() - started} ms`);
});

/** Packet sockets for one EtherType on a GRE interface: `listen` prints each payload received (hex), `send` writes one. */
const MPLS = 0x8847;
const LISTEN = `import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(${MPLS}))
s.bind((sys.argv[1], ${MPLS}))
print('capturing', flush=True)
while True:
    print(s.recv(4096).hex(), flush=True)
`;
const SEND = `import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(${MPLS}))
s.sendto(bytes.fromhex(sys.argv[2]), (sys.argv[1], ${MPLS}))
`;

/**
 * Step 2b: non-IP over the site. An MPLS frame (label 100 and the IPv4 packet under it), written to
 * one gateway's GRE interface by a packet socket, leaves as GRE protocol type 0x8847 and comes out of
 * the other's interface with that EtherType, both ways. This lab's kernel has no MPLS forwarding
 * (no mpls_router module): a packet socket, like a routing daemon's, is what consumes it.
 */
async function nonIpCrosses(t: Test, lab: Lab, tail: () => string): Promise<void> {
  for (const [from, fromIf, to, toIf] of [['gwA', 'gre-to-b', 'gwB', 'gre-to-a'], ['gwB', 'gre-to-a', 'gwA', 'gre-to-b']] as const) {
    const capture = lab.spawnDaemon(to, `mpls-${to}`, ['python3', '-u', '-c', LISTEN, toIf]);
    const heard = () => (existsSync(capture.logFile) ? readFileSync(capture.logFile, 'utf8') : '');
    await waitUntil(`the MPLS capture on ${to}`, 5_000, () => heard().includes('capturing'));
    const frame = Buffer.concat([Buffer.from([0x00, 0x06, 0x41, 0x40]), Buffer.from(icmpEcho('10.9.0.1', '10.9.0.2', 0x2547, from === 'gwA' ? 1 : 2))]).toString('hex');
    const sent = await lab.exec(from, ['python3', '-c', SEND, fromIf, frame], 10_000);
    t.equal(sent.code, 0, `an MPLS frame written to ${from}'s ${fromIf}: ${sent.stderr}`);
    await waitUntil(`the MPLS frame out of ${to}'s ${toIf}`, 5_000, () => heard().includes(frame), tail);
    t.pass(`${from} → ${to}: the MPLS frame crossed the GRE site as it was sent (EtherType 0x8847)`);
    capture.child.kill('SIGTERM');
  }
}

type Counters = Record<string, number>;
/**
 * Step 3b: hand-made GRE to gwB (192.0.2.2) from the third host, each kind counted where it belongs
 * and none delivered, then a good one delivered (so the drops are the checks, not the injector).
 */
async function rogueInjections(t: Test, lab: Lab, sitesOnB: () => Promise<Array<{ counters?: Counters }>>, tail: () => string): Promise<void> {
  // The spoofed packets arrive on gwB's rogue link from gwA's address: no reverse-path filter in this lab.
  for (const k of ['all', 'rogue']) lab.execSync('gwB', ['sysctl', '-qw', `net.ipv4.conf.${k}.rp_filter=0`]);
  const countersB = async (): Promise<Counters> => (await sitesOnB())[0]?.counters ?? {};
  const echo = (n: number) => icmpEcho('10.1.0.10', '10.2.0.10', 0x4242, n);
  const good = (from: string, sequenceNumber: number, n: number): GreInjection => ({ from, to: '192.0.2.2', header: { protocolType: GRE_PROTOCOL.ipv4, checksum: true, key: 42, sequenceNumber }, inner: echo(n) });
  const far = 0x40000000; // ahead of gwA's numbering in serial arithmetic
  const delta = (before: Counters, after: Counters, k: string) => (after[k] ?? 0) - (before[k] ?? 0);

  const c0 = await countersB();
  const e0 = icmpInEchos(lab, 'lanB');
  // From the third host's own address, everything else right: not gwB's peer.
  await injectGre(lab, 'rogue', [0, 1, 2, 3, 4].map((i) => good('198.51.100.66', far + i, i)));
  // Spoofing gwA: a broken checksum; no sequence number; the wrong key.
  await injectGre(lab, 'rogue', [
    { ...good('192.0.2.1', far, 10), corruptChecksum: true },
    { from: '192.0.2.1', to: '192.0.2.2', header: { protocolType: GRE_PROTOCOL.ipv4, checksum: true, key: 42 }, inner: echo(11) },
    { from: '192.0.2.1', to: '192.0.2.2', header: { protocolType: GRE_PROTOCOL.ipv4, checksum: true, key: 43, sequenceNumber: far }, inner: echo(12) },
  ]);
  await new Promise((done) => setTimeout(done, 300));
  const c1 = await countersB();
  t.ok(delta(c0, c1, 'otherSource') >= 5, `GRE from a third address dropped and counted: ${JSON.stringify(c1)}`);
  t.equal(delta(c0, c1, 'badChecksum'), 1, 'a bad checksum from the peer\'s address dropped and counted');
  t.equal(delta(c0, c1, 'outOfOrder'), 1, 'a packet without the required sequence number dropped and counted');
  t.equal(delta(c0, c1, 'badKey'), 1, 'a wrong key from the peer\'s address dropped and counted');
  t.equal(icmpInEchos(lab, 'lanB'), e0, 'none of them reached lanB');
  const health = JSON.parse(lab.execSync('gwB', ['curl', '-s', '--max-time', '10', 'http://127.0.0.1:18080/healthz'])) as { subsystems?: Record<string, { counters?: Counters }> };
  const unknown = JSON.stringify(health).match(/"unknownSource":(\d+)/)?.[1];
  t.ok(Number(unknown) >= 5, `the GRE subsystem counts GRE from no site's peer (unknownSource ${String(unknown)})`);

  // Spoofing gwA, all right and numbered ahead: delivered once (the checks above were the only difference); its copies are duplicates.
  await injectGre(lab, 'rogue', [good('192.0.2.1', far + 100, 20), good('192.0.2.1', far + 100, 21), good('192.0.2.1', far + 99, 22)]);
  await waitUntil('the good packet reaches lanB', 3_000, () => icmpInEchos(lab, 'lanB') === e0 + 1, tail);
  await new Promise((done) => setTimeout(done, 200));
  t.equal(icmpInEchos(lab, 'lanB'), e0 + 1, 'delivered once');
  t.ok(delta(c1, await countersB(), 'outOfOrder') >= 2, 'a duplicate and a late number dropped and counted');

  // gwA's real numbering is now far behind: its packets are dropped until 4 in a row, then followed (as after a peer's reboot).
  await lab.exec('lanA', ['ping', '-c', '25', '-i', '0.05', '-W', '1', '10.2.0.10']);
  const c2 = await countersB();
  t.ok(delta(c1, c2, 'sequenceResyncs') >= 1, `gwA's numbering followed again: ${JSON.stringify(c2)}`);
  const after = await lab.exec('lanA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.2.0.10']);
  t.equal(after.code, 0, `lanA → lanB after the resync:\n${after.stdout}${tail()}`);
}
