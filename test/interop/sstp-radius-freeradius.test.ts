// Issue 21: SSTP's MS-CHAPv2 checked by FreeRADIUS. `postern run` with listeners.sstp.auth = radius
// and a local alice whose password differs from FreeRADIUS's: Postern's own SSTP client dials with
// the RADIUS password and gets its call (MS-CHAP2-Success passed through and checked by the client,
// the crypto binding keyed from the MPPE keys FreeRADIUS sent, IPCP); the local password is refused;
// FreeRADIUS logged the login and recorded the call's accounting Start and Stop; the shared secret
// never appears in Postern's log. A client set to EAP (Windows' "secured password") gets its call
// too, its EAP relayed to FreeRADIUS's EAP server and the crypto binding keyed from the MSK.
// The Access-Accept's attributes apply to the session: bob's reply names Framed-IP-Address
// 10.10.0.50 (he gets it, not the pool's next), Session-Timeout 10 (the gateway ends his call
// after ~10 s, Acct-Terminate-Cause Session-Timeout), Acct-Interim-Interval 2 (interim floor
// lowered to 1 s for the test: Interim-Updates with octets and packets) and a Class echoed in
// every accounting record, and a Framed-Route routed to his call while it is up. carol's reply names a Framed-Pool and MS-Primary/Secondary-DNS-Server:
// her address comes from that pool, IPCP gives her those DNS servers.
// Dynamic authorization (RFC 5176) from FreeRADIUS's radclient on the RADIUS host: a
// Disconnect-Request naming alice ends her call (Stop with Acct-Terminate-Cause Admin-Reset), a
// CoA-Request setting Session-Timeout 1 ends the next call ~1 s later (cause Session-Timeout), an
// unknown Acct-Session-Id is NAKed with Error-Cause 503, and a wrong secret gets no answer (counted).
// dave (Framed-IPv6-Prefix 2001:db8:78::/64): a CoA naming a Framed-Route is NAKed 401 and changes
// nothing, a Disconnect-Request naming only his /64 ends his call (Admin-Reset); on his next call a
// CoA's Acct-Interim-Interval starts Interim-Updates (the Accept named none) and a CoA's Idle-Timeout
// ends the call (cause Idle-Timeout). Framed-IPv6-Prefix is in bob's and dave's detail records.
// 200 concurrent logins as whole SSTP sessions, the first server listed dead (as in every phase here): with a steady call up and pinging the gateway every
// 100 ms, one client process dials 200 calls at once (users known only to FreeRADIUS); all 200 get
// IPCP and distinct addresses, FreeRADIUS records a Start for each, and the steady call loses at
// most 2% of its echoes and is never dropped (SSTP carries IP over TCP: an echo can only be lost
// by the gateway dropping it, which a burst of logins must not cause; 2% leaves room for a machine
// so loaded that an answer is still on its way when counted). The burst hung up, each call's Stop arrives.
// The handshake timeout is set to 5 s: the first login's 14 s failover is the server's time, not the client's (one attempt).
// MQTT (mosquitto on the RADIUS host): with FreeRADIUS killed under a live call, the hang-up's Stop
// waits in the spool and the status report says so (radius.backlog, the server named); the events
// topic carries radius-server-down for it once the gateway's clients have found it dead.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { FreeRadius } from '../lab/peers/freeradius.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { Mosquitto } from '../lab/peers/mosquitto.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !hasBinary('freeradius') ? 'not installed: freeradius' : false);
const GATEWAY = '192.0.2.1';
const SECRET = 'sstp-radius-shared-secret';
const DAS_SECRET = 'das-radclient-secret-21';
const BURST = 200;
const dialed = (label: string) => (e: Record<string, unknown>) => e['type'] === 'dialed' && e['label'] === label;

// 119 s of 120 once on a loaded 2-core machine (load 20), before the 200-call burst: room like the VM files.
t.setTimeout(360_000);
t.test('SSTP with auth radius: MS-CHAPv2 checked by FreeRADIUS, keys from its MPPE attributes', { skip }, async (t) => {
  t.setTimeout(360_000);
  const lab = Lab.create({
    hosts: { client: { gateway: GATEWAY }, gw: {}, radius: {} },
    links: {
      wan: { a: ['client', '192.0.2.10/24'], b: ['gw', `${GATEWAY}/24`] },
      rad: { a: ['gw', '10.9.1.2/24'], b: ['radius', '10.9.1.1/24'] },
    },
  });
  t.teardown(() => lab.teardown());
  const radius = await FreeRadius.start(lab, 'radius', {
    address: '10.9.1.1',
    clients: [{ name: 'postern', network: '10.9.1.0/24', secret: SECRET }],
    users: [
      { name: 'alice', password: 'Radius-Pass-21' },
      { name: 'bob', password: 'Bob-Radius-21', reply: { 'Framed-IP-Address': '10.10.0.50', 'Session-Timeout': '10', 'Acct-Interim-Interval': '2', Class: 'postern-class-21', 'Framed-Route': '192.168.77.0/24 0.0.0.0 1', 'Framed-IPv6-Prefix': '2001:db8:77::/64' } },
      // Her Framed-IPv6-Prefix is a /64 of the clients pool (leased to others): refused, the call goes on without IPv6.
      { name: 'carol', password: 'Carol-Radius-21', reply: { 'Framed-Pool': 'staff', 'MS-Primary-DNS-Server': '10.9.1.53', 'MS-Secondary-DNS-Server': '10.9.1.54', 'Framed-IPv6-Prefix': 'fd00:10:0:9::/64' } },
      { name: 'dave', password: 'Dave-Radius-21', reply: { 'Framed-IPv6-Prefix': '2001:db8:78::/64' } },
      ...Array.from({ length: BURST }, (_, i) => ({ name: `burst${i}`, password: 'Burst-Radius-21' })),
    ],
    replyMessageAuthenticator: 'always',
    eap: true,
  });
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'static', address: `${GATEWAY}/24` };
  config.system.lan = { interface: 'rad', address: '10.9.1.2/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.certificates.server = { commonName: GATEWAY, sans: [GATEWAY] };
  config.listeners.ikev2.enabled = false;
  config.listeners.sstp.auth = 'radius';
  // The burst's 200 calls come from one lab address: the per-source handshake budget (32, a flood guard) would refuse most.
  // The handshake timeout (5 s) is shorter than the first login's failover (14 s): that wait is the server's, not the client's.
  config.listeners.sstp.limits = { perSource: 256, handshakeSeconds: 5 };
  config.radius = {
    interimMinimumSeconds: 1, servers: [
      // Issue 21's burst "with one server dead": the first server listed never answers (no host has its
      // address), so every phase runs after a failover and the 200 logins go to the live one.
      { name: 'down', address: '10.9.1.99', authPort: 1812, acctPort: 1813, secret: SECRET },
      { name: 'lab', address: '10.9.1.1', authPort: 1812, acctPort: 1813, secret: SECRET },
    ],
    // On the LAN address (10.9.1.2), inside the lab's namespace.
    dynamicAuthorization: { enabled: true, port: 3799, clients: [{ name: 'lab-dac', address: '10.9.1.1', secret: DAS_SECRET }] },
  };
  config.pools = [{ name: 'clients', ipv4: '10.10.0.0/24', ipv6: 'fd00:10::/48', dns: ['10.9.1.1'] }, { name: 'staff', ipv4: '10.10.1.0/24', ipv6: 'fd00:11::/48', dns: [] }];
  config.users = [storedUser({ name: 'alice', password: 'Local-Pass-21', enabled: true })];
  await Mosquitto.start(lab, 'radius', { address: '10.9.1.1', users: { fleet: 'Fleet-Pass-21' } });
  config.telemetry.mqtt = { enabled: true, url: 'mqtt://10.9.1.1:1883', username: 'fleet', password: 'Fleet-Pass-21', prefix: 'postern', deviceId: 'gw-radius', intervalSeconds: 5, commandsEnabled: false };
  const gw = await startPostern(lab, 'gw', config, (log) => log.includes('SSTP listening'));
  const fingerprint = new X509Certificate(readFileSync(join(gw.stateDir, 'pki', 'server.pem'))).fingerprint256;
  const dial = async (label: string, password: string, deadlineMs: number, auth: 'mschapv2' | 'eap' = 'mschapv2', user = 'alice') => {
    const { peer } = await LinePeer.spawn(lab, 'client', `sstp-${label}`, 'sstp-dial-peer.ts', { host: GATEWAY, port: 443, fingerprint, user, password, auth });
    // One attempt may take the whole deadline: a stalled attempt retried under load left two calls up.
    await peer.call('dial', label, deadlineMs, 250, deadlineMs);
    const result = await peer.waitEvent(dialed(label), deadlineMs + 5000);
    await peer.call('hangup');
    return result;
  };

  // The first login pays the failover: 'down' leaves it unanswered through its retransmissions (2 + 4 + 8 s,
  // RFC 5080's IRT), then it is marked dead and 'lab' answers; every later request skips it.
  const ok = await dial('radius-password', 'Radius-Pass-21', 30_000);
  t.match(ok, { ok: true, address: /^10\.10\.0\./ }, `the RADIUS password gets the call: ${JSON.stringify(ok)}`);
  t.equal(ok['attempts'], 1, 'at the first attempt: the 14 s failover did not count against the 5 s handshake timeout');
  // 2 + 4 + 8 s, each ±10 % (RFC 5080's jitter): twice the handshake timeout at the least.
  t.ok(Number(ok['ms']) >= 10_000, `the failover's retransmissions were waited out: ${ok['ms']} ms`);
  t.same(ok['dns'], ['10.9.1.1'], 'the pool\'s DNS when the server names none');
  t.comment(`call up in ${ok['ms']} ms (TLS, SSTP, MS-CHAPv2 through RADIUS, crypto binding, IPCP)`);
  const refused = await dial('local-password', 'Local-Pass-21', 3000);
  t.equal(refused['ok'], false, 'the local password is not RADIUS\'s: refused');
  t.match(radius.log(), /Login OK: \[alice/, 'FreeRADIUS logged the login');
  t.match(gw.log(), /"reason":"lab: reject \(Authentication rejected\) \(radius\)".*"msg":"PPP authentication failed"/, 'refused by the RADIUS server, not by the local users');
  // Accounting: the call's Start and Stop in FreeRADIUS's detail file (the client hung up).
  const detail = () => { try { return readFileSync(join(radius.dir, 'detail'), 'utf8'); } catch { return ''; } };
  await waitUntil('the Stop record', 5000, async () => /Acct-Status-Type = Stop/.test(detail()), detail);
  const records = detail().split(/\n\n+/).filter((r) => /User-Name = "alice"/.test(r));
  t.match(records, [/Acct-Status-Type = Start[\s\S]*Framed-IP-Address = 10\.10\.0\.1/, /Acct-Status-Type = Stop[\s\S]*Acct-Terminate-Cause = User-Request/], `Start then Stop, with the address and why it ended: ${gw.log().split('\n').filter((l) => l.includes('SSTP call ended')).join('\n')}`);
  const ids = records.map((r) => /Acct-Session-Id = "([^"]+)"/.exec(r)?.[1]);
  t.ok(ids[0] && ids[0] === ids[1], `one Acct-Session-Id for both: ${ids.join(', ')}`);
  // The RADIUS server's counters in the SSTP subsystem's status, as /healthz shows them.
  const script = "fetch('http://127.0.0.1:18080/healthz').then((r) => r.json()).then((h) => console.log(JSON.stringify(h.subsystems.sstp.counters ?? {})))";
  const counters = JSON.parse((await lab.exec('gw', [process.execPath, '-e', script])).stdout.trim() || '{}') as Record<string, number>;
  t.match(counters, { 'radius.lab.accepts': 1, 'radius.lab.alive': 1, 'radius.lab.badAuthenticators': 0 }, '/healthz: per-server RADIUS counters');
  t.ok(counters['radius.lab.rejects']! >= 1, 'the rejects counted');
  // EAP: relayed to FreeRADIUS (its EAP-MSCHAPv2), the HLAK from the MSK its MPPE keys make.
  const eap = await dial('radius-eap', 'Radius-Pass-21', 10_000, 'eap');
  t.match(eap, { ok: true, address: /^10\.10\.0\./ }, `EAP through RADIUS gets the call: ${JSON.stringify(eap)}`);
  t.equal(radius.log().match(/Login OK: \[alice/g)?.length, 2, 'FreeRADIUS logged the second login');
  // carol: the server's Framed-Pool and DNS servers.
  const carol = await dial('carol', 'Carol-Radius-21', 10_000, 'mschapv2', 'carol');
  t.match(carol, { ok: true, address: /^10\.10\.1\./ }, `carol's address from her Framed-Pool: ${JSON.stringify(carol)}`);
  t.same(carol['dns'], ['10.9.1.53', '10.9.1.54'], 'IPCP gives her the MS-Primary/Secondary-DNS-Server');
  // The daemon's output reaches the test a moment after the call is up (as for bob's prefix below).
  const carolRefused = () => gw.log().split('\n').some((l) => l.includes('"msg":"RADIUS Framed-IPv6-Prefix refused: no IPv6 for the session"') && l.includes('"user":"carol"') && l.includes('overlaps the pool prefix fd00:10::/48'));
  await waitUntil('her refused prefix logged', 5000, carolRefused);
  t.ok(carolRefused(), 'her Framed-IPv6-Prefix inside a pool is refused and logged (issue 21)');
  // bob: the server's Framed-IP-Address, Session-Timeout, Acct-Interim-Interval and Class.
  const { peer: bob } = await LinePeer.spawn(lab, 'client', 'sstp-bob', 'sstp-dial-peer.ts', { host: GATEWAY, port: 443, fingerprint, user: 'bob', password: 'Bob-Radius-21', auth: 'mschapv2' });
  await bob.call('dial', 'bob', 10_000, 250, 10_000);
  const bobCall = await bob.waitEvent(dialed('bob'), 15_000);
  t.match(bobCall, { ok: true, address: '10.10.0.50' }, `bob gets the Framed-IP-Address FreeRADIUS sent: ${JSON.stringify(bobCall)}`);
  // His Framed-Route: the network behind him is routed into the shared TUN while his call is up.
  const framedRoute = () => lab.execSync('gw', ['ip', 'route', 'show', '192.168.77.0/24']);
  // The client sees IPCP open a moment before the gateway's session-up handler routes it.
  await waitUntil('the Framed-Route in the routing table', 5000, () => /192\.168\.77\.0\/24 dev \S+/.test(framedRoute()), () => framedRoute());
  t.match(framedRoute(), /192\.168\.77\.0\/24 dev \S+/, `the Framed-Route 192.168.77.0/24 routed to the gateway's sessions while bob is up: ${framedRoute()}`);
  // His Framed-IPv6-Prefix (RFC 3162) is his session's /64: outside every pool, so routed into the shared TUN too.
  const framedPrefix = () => lab.execSync('gw', ['ip', '-6', 'route', 'show', '2001:db8:77::/64']);
  await waitUntil('the Framed-IPv6-Prefix in the routing table', 5000, () => /2001:db8:77::\/64 dev \S+/.test(framedPrefix()), () => framedPrefix());
  // The line is written as the route goes in; the daemon's output reaches the test a moment later.
  const prefixLogged = /"prefix":"2001:db8:77::\/64".*"msg":"SSTP session IPv6 prefix from RADIUS"/;
  await waitUntil('the Framed-IPv6-Prefix logged', 5000, () => prefixLogged.test(gw.log()));
  t.match(gw.log(), prefixLogged, 'and logged');
  const bobRecords = () => detail().split(/\n\n+/).filter((r) => /User-Name = "bob"/.test(r));
  await waitUntil('bob\'s Stop record', 16_000, async () => bobRecords().some((r) => /Acct-Status-Type = Stop/.test(r)), () => bobRecords().join('\n\n'));
  await bob.call('hangup');
  const stop = bobRecords().find((r) => /Acct-Status-Type = Stop/.test(r))!;
  t.match(stop, /Acct-Terminate-Cause = Session-Timeout/, 'ended by the gateway at Session-Timeout');
  t.equal(framedRoute().trim(), '', 'and unrouted when his call ended');
  t.equal(framedPrefix().trim(), '', 'his /64 too');
  const time = Number(/Acct-Session-Time = (\d+)/.exec(stop)?.[1]);
  t.ok(time >= 9 && time <= 13, `after ~10 s: Acct-Session-Time ${time}`);
  const interims = bobRecords().filter((r) => /Acct-Status-Type = Interim-Update/.test(r));
  t.ok(interims.length >= 2, `${interims.length} Interim-Updates at the server's 2 s`);
  // The dialer moves no IP traffic here: the counters are present (the unit test checks their values).
  t.match(interims.at(-1), /Acct-Session-Time = \d+[\s\S]*Acct-Input-Octets = \d+[\s\S]*Acct-Input-Gigawords = 0[\s\S]*Acct-Output-Packets = \d+/, 'interim time, octets, Gigawords and packets');
  const classHex = `0x${Buffer.from('postern-class-21').toString('hex')}`;
  t.ok(bobRecords().every((r) => r.includes(`Class = ${classHex}`)), `Class echoed in all ${bobRecords().length} records`);
  t.match(bobRecords()[0], /Acct-Status-Type = Start[\s\S]*Framed-IP-Address = 10\.10\.0\.50/, 'Start with the fixed address');
  t.ok(bobRecords().every((r) => r.includes('Framed-IPv6-Prefix = 2001:db8:77::/64')), `his Framed-IPv6-Prefix in all ${bobRecords().length} records (RFC 3162 accounting)`);
  t.match(gw.log(), /session timeout \(RADIUS Session-Timeout 10 s\)/, 'the gateway logged why');
  // RFC 5176: radclient as the Dynamic Authorization Client.
  const radclient = async (kind: 'disconnect' | 'coa', attrs: string, secret = DAS_SECRET, seconds = 3) =>
    (await lab.exec('radius', ['sh', '-c', `echo '${attrs}' | radclient -x -r 1 -t ${seconds} 10.9.1.2:3799 ${kind} ${secret}`], 15_000)).stdout;
  const aliceRecords = () => detail().split(/\n\n+/).filter((r) => /User-Name = "alice"/.test(r));
  const dialAlice = async (label: string) => {
    const { peer } = await LinePeer.spawn(lab, 'client', `sstp-${label}`, 'sstp-dial-peer.ts', { host: GATEWAY, port: 443, fingerprint, user: 'alice', password: 'Radius-Pass-21', auth: 'mschapv2' });
    const starts = aliceRecords().filter((r) => /Acct-Status-Type = Start/.test(r)).length;
    await peer.call('dial', label, 10_000, 250, 10_000);
    t.match(await peer.waitEvent(dialed(label), 15_000), { ok: true }, `alice's call for ${label} is up`);
    await waitUntil('her Start record', 5000, async () => aliceRecords().filter((r) => /Acct-Status-Type = Start/.test(r)).length > starts, detail);
    const id = /Acct-Session-Id = "([^"]+)"/.exec(aliceRecords().filter((r) => /Acct-Status-Type = Start/.test(r)).at(-1)!)![1]!;
    return { peer, id };
  };
  const stopOf = async (id: string, ms: number) => {
    const find = () => detail().split(/\n\n+/).find((r) => r.includes(`Acct-Session-Id = "${id}"`) && /Acct-Status-Type = Stop/.test(r));
    await waitUntil(`the Stop of ${id}`, ms, async () => find() !== undefined, () => detail().slice(-3000));
    return find()!;
  };
  // The wrong secret while her call is dialed (it cannot touch it); no answer within 2 s.
  const [first, wrong] = await Promise.all([dialAlice('das-disconnect'), radclient('disconnect', 'User-Name = "alice"', 'not-the-das-secret', 2)]);
  const unknown = await radclient('disconnect', 'Acct-Session-Id = "no-such-session"');
  t.match(unknown, /Received Disconnect-NAK[\s\S]*Error-Cause = Session-Context-Not-Found/, 'an unknown session: Disconnect-NAK, Error-Cause 503');
  t.notMatch(wrong, /Received Disconnect/, 'a wrong secret: no answer at all');
  const disconnected = await radclient('disconnect', 'User-Name = "alice", NAS-Identifier = "postern"');
  t.match(disconnected, /Received Disconnect-ACK/, 'Disconnect-Request by User-Name: ACK');
  t.match(await stopOf(first.id, 5000), /Acct-Terminate-Cause = Admin-Reset/, 'her call ended, Stop with Admin-Reset');
  await first.peer.call('hangup');
  const second = await dialAlice('das-coa');
  const coa = await radclient('coa', `Acct-Session-Id = "${second.id}", Session-Timeout = 1`);
  t.match(coa, /Received CoA-ACK/, 'CoA-Request changing Session-Timeout: ACK');
  const coaAt = Date.now();
  const coaStop = await stopOf(second.id, 8000);
  t.match(coaStop, /Acct-Terminate-Cause = Session-Timeout/, 'the new Session-Timeout ended the call');
  t.ok(Date.now() - coaAt < 4000, `about 1 s after the CoA (${Date.now() - coaAt} ms)`);
  await second.peer.call('hangup');
  const das = JSON.parse((await lab.exec('gw', [process.execPath, '-e', "fetch('http://127.0.0.1:18080/healthz').then((r) => r.json()).then((h) => console.log(JSON.stringify(h.subsystems['radius-das']?.counters ?? {})))"])).stdout.trim() || '{}') as Record<string, number>;
  t.match(das, { 'das.disconnectAcks': 1, 'das.disconnectNaks': 1, 'das.coaAcks': 1 }, `/healthz: the DAS counters ${JSON.stringify(das)}`);
  t.ok(das['das.badAuthenticators']! >= 1, 'the wrong secret counted');
  // dave: CoA beyond Session-Timeout and Disconnect by IPv6 prefix.
  const daveRecords = (id: string) => detail().split(/\n\n+/).filter((r) => r.includes(`Acct-Session-Id = "${id}"`));
  const dialDave = async (label: string) => {
    const { peer } = await LinePeer.spawn(lab, 'client', `sstp-${label}`, 'sstp-dial-peer.ts', { host: GATEWAY, port: 443, fingerprint, user: 'dave', password: 'Dave-Radius-21', auth: 'mschapv2' });
    await peer.call('dial', label, 10_000, 250, 10_000);
    t.match(await peer.waitEvent(dialed(label), 15_000), { ok: true }, `dave's call for ${label} is up`);
    let start: string | undefined;
    await waitUntil('his Start record', 5000, async () => (start = detail().split(/\n\n+/).filter((r) => /User-Name = "dave"/.test(r) && /Acct-Status-Type = Start/.test(r)).find((r) => !seen.has(r))) !== undefined, detail);
    seen.add(start!);
    return { peer, id: /Acct-Session-Id = "([^"]+)"/.exec(start!)![1]!, start: start! };
  };
  const seen = new Set<string>();
  const dave = await dialDave('das-ipv6');
  t.match(dave.start, /Framed-IPv6-Prefix = 2001:db8:78::\/64/, 'his Start carries his Framed-IPv6-Prefix');
  const routeCoa = await radclient('coa', `Acct-Session-Id = "${dave.id}", Framed-Route = "192.168.78.0/24", Idle-Timeout = 1`);
  t.match(routeCoa, /Received CoA-NAK[\s\S]*Error-Cause = Unsupported-Attribute/, 'a CoA naming a Framed-Route: CoA-NAK, Error-Cause 401 (applied at login only)');
  const byPrefix = await radclient('disconnect', 'Framed-IPv6-Prefix = 2001:db8:78::/64');
  t.match(byPrefix, /Received Disconnect-ACK/, 'Disconnect-Request naming only his /64: ACK');
  const prefixStop = await stopOf(dave.id, 5000);
  t.match(prefixStop, /Acct-Terminate-Cause = Admin-Reset/, 'his call ended, Stop with Admin-Reset (not the NAKed Idle-Timeout)');
  t.match(prefixStop, /Framed-IPv6-Prefix = 2001:db8:78::\/64/, 'the Stop carries the prefix too');
  await dave.peer.call('hangup');
  const dave2 = await dialDave('das-coa-idle');
  t.match(await radclient('coa', `User-Name = "dave", Acct-Interim-Interval = 1`), /Received CoA-ACK/, 'CoA-Request setting Acct-Interim-Interval: ACK');
  await waitUntil('an Interim-Update after the CoA', 8000, async () => daveRecords(dave2.id).some((r) => /Acct-Status-Type = Interim-Update/.test(r)), () => daveRecords(dave2.id).join('\n\n'));
  t.pass('Interim-Updates start at the CoA\'s interval (the Accept named none, radius.interimSeconds unset)');
  t.match(await radclient('coa', `Acct-Session-Id = "${dave2.id}", Idle-Timeout = 1`), /Received CoA-ACK/, 'CoA-Request setting Idle-Timeout: ACK');
  t.match(await stopOf(dave2.id, 8000), /Acct-Terminate-Cause = Idle-Timeout/, 'the idle call (no IP traffic) ended by the new Idle-Timeout');
  await dave2.peer.call('hangup');
  // 200 concurrent SSTP logins through FreeRADIUS beside an established call.
  const steadyPeer = (await LinePeer.spawn(lab, 'client', 'sstp-steady', 'sstp-burst-peer.ts', { host: GATEWAY, port: 443, fingerprint, password: 'Radius-Pass-21' })).peer;
  const steady = await steadyPeer.call('steady', 'alice', '10.9.1.2');
  t.match(steady, { address: /^10\.10\.0\./ }, 'the steady call is up, pinging the gateway\'s LAN address every 100 ms');
  await waitUntil('the steady call\'s first answers', 10_000, async () => (await steadyPeer.call('steadyStats')).received >= 5);
  const before = await steadyPeer.call('steadyStats');
  const burstPeer = (await LinePeer.spawn(lab, 'client', 'sstp-burst', 'sstp-burst-peer.ts', { host: GATEWAY, port: 443, fingerprint, password: 'Burst-Radius-21' })).peer;
  const burstStarts = () => new Set(detail().split(/\n\n+/).filter((r) => /Acct-Status-Type = Start/.test(r)).map((r) => /User-Name = "(burst\d+)"/.exec(r)?.[1]).filter((u) => u !== undefined)).size;
  // All dialed at once; a call the gateway could not finish in time (its 15 s handshake budget, on a
  // loaded 2-core machine running both ends) is dialed again, as a client redials, until 150 s.
  const answer = await burstPeer.command(JSON.stringify({ call: 'burst', args: ['burst', BURST, 150_000] }), 160_000);
  const burst = (answer.startsWith('ok ') ? JSON.parse(answer.slice(3)) : { error: answer }) as { up?: number; failed?: number; firstTry?: number; attempts?: number; ms?: number; addresses?: string[]; errors?: Record<string, number> };
  const sstpCounters = JSON.parse((await lab.exec('gw', [process.execPath, '-e', script])).stdout.trim() || '{}') as Record<string, number>;
  t.comment(`gateway during the burst: ${JSON.stringify(Object.fromEntries(Object.entries(sstpCounters).filter(([k]) => /timedOut|refused|evicted|admitted|established|tls|handshake|radius\.lab\.(accepts|rejects|timeouts)/i.test(k))))}`);
  t.match(burst, { up: BURST, failed: 0 }, `all ${BURST} calls up: ${JSON.stringify({ ...burst, addresses: undefined })}`);
  t.ok(sstpCounters['radius.down.alive'] === 0 && (sstpCounters['radius.lab.accepts'] ?? 0) >= BURST, `with the first server dead, the live one accepted them (${sstpCounters['radius.lab.accepts']} accepts)`);
  t.equal(new Set(burst.addresses).size, BURST, 'each with its own address');
  t.ok(burst.addresses?.every((a) => /^10\.10\.0\.\d+$/.test(a)), 'all from the listener\'s pool');
  t.comment(`${BURST} concurrent SSTP logins (TLS, SSTP, MS-CHAPv2 through FreeRADIUS, crypto binding, IPCP) in ${burst.ms} ms, ${burst.firstTry} at the first attempt, ${burst.attempts} attempts`);
  await waitUntil(`${BURST} Start records`, 30_000, async () => burstStarts() >= BURST, () => `${burstStarts()} of ${BURST}`);
  t.equal(burstStarts(), BURST, `FreeRADIUS recorded a Start for each of the ${BURST}`);
  // Settle the echoes sent during the burst (2 s to answer), then judge the steady call.
  await new Promise((r) => setTimeout(r, 2500));
  const after = await steadyPeer.call('steadyStats');
  const sent = after.sent - before.sent;
  const lost = after.lost - before.lost;
  t.ok(sent >= 10, `${sent} echoes through the steady call during the burst`);
  t.ok(lost <= Math.max(1, Math.floor(sent * 0.02)), `at most 2% lost: ${lost} of ${sent} (slowest answer ${after.maxRttMs} ms)`);
  t.equal(after.closed, false, 'the steady call was never dropped');
  const steadyStops = detail().split(/\n\n+/).filter((r) => /User-Name = "alice"/.test(r) && /Acct-Status-Type = Stop/.test(r)).length;
  await burstPeer.call('hangup');
  const burstStops = () => new Set(detail().split(/\n\n+/).filter((r) => /Acct-Status-Type = Stop/.test(r)).map((r) => /User-Name = "(burst\d+)"/.exec(r)?.[1]).filter((u) => u !== undefined)).size;
  await waitUntil(`${BURST} Stop records`, 30_000, async () => burstStops() >= BURST, () => `${burstStops()} of ${BURST}`);
  t.equal(burstStops(), BURST, 'the burst hung up: a Stop for each');
  await steadyPeer.call('hangup');
  await waitUntil('the steady call\'s Stop', 10_000, async () => detail().split(/\n\n+/).filter((r) => /User-Name = "alice"/.test(r) && /Acct-Status-Type = Stop/.test(r)).length > steadyStops);
  // FreeRADIUS gone under a live call: its Stop waits in the spool, and the MQTT status says so.
  const third = await dialAlice('spool');
  // The events topic heard from before the kill: the gateway-wide radius-server-down for 'lab' (QoS 1, not retained).
  const events = lab.spawnDaemon('radius', 'mqtt-events', ['mosquitto_sub', '-h', '10.9.1.1', '-u', 'fleet', '-P', 'Fleet-Pass-21', '-q', '1', '-t', 'postern/gw-radius/events', '-W', '90']);
  const heard = () => { try { return readFileSync(events.logFile, 'utf8'); } catch { return ''; } };
  await waitUntil('the events subscriber', 5000, async () => (await lab.exec('radius', ['ss', '-tn', 'dport = :1883'])).stdout.includes('ESTAB'));
  process.kill(radius.daemon.pid, 'SIGKILL');
  await radius.daemon.exited;
  await third.peer.call('hangup');
  // The next status report (every 5 s) after the Stop was spooled; a report taken in between says 0: one more.
  let status: { backlog: number; servers: unknown[] } | undefined;
  for (let i = 0; i < 2 && !status?.backlog; i++) {
    const line = (await lab.exec('radius', ['mosquitto_sub', '-h', '10.9.1.1', '-u', 'fleet', '-P', 'Fleet-Pass-21', '-t', 'postern/gw-radius/status', '-C', '1', '-W', '8'], 12_000)).stdout.trim();
    status = line ? (JSON.parse(line) as { radius?: typeof status }).radius : undefined;
  }
  t.match(status, { backlog: 1, servers: [{ name: 'down', state: 'dead' }, { name: 'lab', state: /alive|dead/, lastAnswerAt: /^20\d\d-/ }] }, `MQTT status: the backlog and the server: ${JSON.stringify(status)}`);
  const serverDown = () => heard().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { type: string; details: { server?: string } }).find((e) => e.type === 'radius-server-down' && e.details.server === 'lab');
  await waitUntil('the radius-server-down event', 60_000, async () => serverDown() !== undefined, heard).catch(() => {});
  t.match(serverDown(), { type: 'radius-server-down', details: { server: 'lab', address: '10.9.1.1', usedBy: ['sstp'] } }, `MQTT event: FreeRADIUS down for every listener: ${heard().slice(-600)}`);
  try { process.kill(events.pid, 'SIGTERM'); } catch { /* gone after -W */ }
  t.notMatch(gw.log(), new RegExp(SECRET), 'the shared secret is not in Postern\'s log');
  t.notMatch(gw.log(), new RegExp(DAS_SECRET), 'nor the DAS client\'s');
  await gw.stop();
});
