// Issue 18's boot test: the arm64 router as a qemu-system-aarch64 guest (TCG, -machine virt) with
// Debian's arm64 kernel, a busybox initramfs whose inittab respawns postern-launcher (the line
// `make firmware` ships), and a persistent disk holding the A/B slots (slot a: the arm64 single
// executable) and the state. WAN on a tap in the lab host `wan`, LAN on a tap in `lan`. One boot
// per scenario chain: first boot over HTTP from the LAN, a strongSwan IKEv2 client on the WAN
// (EAP-MSCHAPv2, the CA the box made itself) pinging the LAN, Postern's own SSTP dialer pinging it too
// with the call's records on the guest kernel's TLS (kTLS), an upgrade through the API to a second
// build stamped with the next version (other bytes, signed), a reboot of the machine back into it, then a build that exits
// at start, rolled back to the previous slot by the launcher alone and reported by the API.
import { createHash, createPrivateKey } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { encodeBundle, type BundleHeader } from '../../firmware/upgrade/bundle-format.ts';
import { buildFirmware } from '../../scripts/firmware/build.ts';
import { TARGETS, targetMissing } from '../../scripts/firmware/targets.ts';
// @ts-expect-error a plain ES module of the build scripts, without types
import { signingKeyPath } from '../../scripts/upgrade-key.mjs';
import { arm64GuestMissing, Arm64Guest } from '../lab/arm64/guest.ts';
import { GUEST } from '../lab/arm64/guest-init.ts';
import { arm64Image, arm64ImageMissing } from '../lab/arm64/image.ts';
import { LabHttp, pollFor } from '../lab/arm64/lab-http.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

t.setTimeout(900_000);
const skip = labSkip(arm64GuestMissing() ?? targetMissing(TARGETS.arm64) ?? arm64ImageMissing() ?? (existsSync(CHARON) ? null : 'strongSwan (charon) is not installed'));

const ADMIN = 'Copper-Wire-Falcon-55';
const ALICE = 'Correct-Horse-Battery-7';
const BASE = `https://${GUEST.lanAddress}:${GUEST.managementPort}`;

const seconds = (ms: number): string => (ms / 1000).toFixed(1);

t.test('the arm64 router boots, serves, connects a client, upgrades and rolls back', { skip }, async (t) => {
  const fwStarted = Date.now();
  const fw = buildFirmware('generic-arm64', { log: (line) => t.comment(line) });
  t.comment(`executable ${fw.built ? `built in ${seconds(Date.now() - fwStarted)} s` : 'from the cache'}`);
  // The upgrade goes to a second build of its own: the next patch version stamped in, so other bytes.
  const [major, minor, patch] = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version.split('.').map(Number) as [number, number, number];
  const next = `${major}.${minor}.${patch + 1}`;
  const broken = `${major}.${minor}.${patch + 2}`;
  const nextStarted = Date.now();
  const fwNext = buildFirmware('generic-arm64', { version: next, log: (line) => t.comment(line) });
  t.comment(`version ${next} ${fwNext.built ? `built in ${seconds(Date.now() - nextStarted)} s` : 'from the cache'}`);
  const image = arm64Image(fw.executable, fw.manifest.sha256);
  t.comment(`image ${image.built ? `built in ${seconds(image.ms)} s` : 'from the cache'}: ${image.dir}`);
  // The test's own time, from the machine's start (the builds above are cached across runs).
  const wall = Date.now();
  const lab = Lab.create({ hosts: { wan: {}, lan: {} }, links: {} });
  t.teardown(() => lab.teardown());
  const guest = await Arm64Guest.boot(lab, image);
  t.teardown(() => {
    guest.stop();
    // The guest's console (kernel, init, launcher, the service's log) for whoever reads a failure.
    mkdirSync('test/artifacts', { recursive: true });
    writeFileSync('test/artifacts/arm64-boot-console.log', guest.console());
  });
  const http = new LabHttp(lab, 'lan', BASE);
  const healthy = (what: string, ms: number) => pollFor(what, ms, async () => {
    const r = await http.call('GET', '/healthz');
    return r.status === 200 ? r.json : undefined;
  });
  /** The upgrade status once `done` holds, logging in again after each restart of the service. */
  const upgradeStatus = (what: string, ms: number, done: (s: any) => boolean) => pollFor(what, ms, async () => {
    const r = await http.call('GET', '/api/v1/upgrade');
    return r.status === 200 && done(r.json) ? r.json : undefined;
  }, 1000);

  // 1. Boot to /healthz from the LAN.
  const booted = await guest.waitFor(new RegExp(`${GUEST.bootedMark} uptime=([\\d.]+)`), 120_000);
  const bootedAt = Date.now();
  const health = await healthy('/healthz from the LAN', 180_000);
  const nodeMs = Date.now() - bootedAt;
  t.equal(health.status, 'ok', 'healthy');
  t.match(guest.console(), /postern-launcher: booting slot a\r?\n/, 'the launcher started slot a');
  await guest.waitFor(/"device":"\/dev\/watchdog"[^\n]*"msg":"watchdog armed"/, 30_000);
  t.comment(`boot figures: kernel to userspace ${booted[1]} s (guest uptime), service start to /healthz ${seconds(nodeMs)} s, qemu start to healthy ${seconds(Date.now() - guest.startedAt)} s`);

  // 2. First boot over HTTP(S) from the LAN: no password yet, the administrator sets it (with the
  // public address the clients dial), adds a user; the CA the box made itself goes to the client.
  const setup = await http.call('GET', '/api/v1/setup');
  t.equal(setup.json.needed, true, 'first boot: the admin password is still to be set');
  t.equal((await http.call('POST', '/api/v1/setup', { password: ADMIN, publicAddress: GUEST.wanAddress })).status, 201, 'password set');
  t.equal((await http.login(ADMIN)).status, 200, 'logged in');
  // The new public address means a new gateway certificate, and the web server restarts with it.
  const user = await pollFor('the user added', 120_000, async () => {
    const r = await http.call('POST', '/api/v1/users', { name: 'alice', password: ALICE, enabled: true });
    return r.status === 201 || r.status === 409 ? r : undefined;
  }, 1000);
  t.equal(user.status, 201, 'a user for the client');
  const certs = await pollFor('the gateway certificate names the WAN address', 120_000, async () => {
    const r = await http.call('GET', '/api/v1/certificates');
    return r.status === 200 && (r.json.server.sans as Array<{ type: string; value: string }>).some((n) => n.type === 'ip' && n.value === GUEST.wanAddress) ? r.json : undefined;
  }, 1000);
  const road = await StrongSwan.start(lab, 'wan', {
    files: { 'x509ca/postern-ca.pem': certs.ca.pem as string },
    connections: {
      vpn: {
        localAddrs: [GUEST.wanGateway], remoteAddrs: [GUEST.wanAddress], proposals: ['aes256-sha256-modp2048'], vips: ['0.0.0.0'],
        local: { auth: 'eap-mschapv2', id: GUEST.wanGateway, eapId: 'alice' }, remote: { auth: 'pubkey', id: GUEST.wanAddress },
        children: { lan: { localTs: ['dynamic'], remoteTs: [`${GUEST.lanHost.replace(/\d+$/, '0')}/${GUEST.lanPrefix}`], espProposals: ['aes256-sha256'] } },
      },
    },
    secrets: [{ kind: 'eap', ids: ['alice'], secret: ALICE }],
  });
  const connected = Date.now();
  const r = await road.initiate('lan', 60);
  t.equal(r.code, 0, `the client connects:\n${r.code === 0 ? '' : `${r.stdout}\n${guest.tail(30)}`}`);
  t.match(r.stdout, new RegExp(`authentication of '${GUEST.wanAddress.replaceAll('.', '\\.')}' with RSA[^\\n]*successful`), 'the client trusts the certificate of the CA the box made at first boot');
  const vip = /installing new virtual IP (\d+\.\d+\.\d+\.\d+)/.exec(r.stdout)?.[1];
  t.ok(vip, `a pool address: ${vip}`);
  const ping = await lab.exec('wan', ['ping', '-c', '3', '-i', '0.5', '-W', '5', '-I', vip ?? '0.0.0.0', GUEST.lanHost], 30_000);
  t.equal(ping.code, 0, `the client reaches the LAN host through the tunnel:\n${ping.stdout}`);
  t.comment(`IKEv2: connected and pinged in ${seconds(Date.now() - connected)} s; first boot and client done at ${seconds(Date.now() - wall)} s`);
  await road.swanctl(['--terminate', '--ike', 'vpn', '--timeout', '10'], 20_000);

  // 2b. SSTP on kernel TLS (issue 23): this kernel has the tls module (the image loads it), so the
  // driver hands the call's records to the socket once its handshake is done. Postern's own dialer
  // on the WAN pings the LAN host through the call (echo out: records the kernel opens; answers:
  // records it seals), and the box counts the call on kTLS both ways, with no fallback said.
  const sstpAt = Date.now();
  const { peer: dialer } = await LinePeer.spawn(lab, 'wan', 'sstp-ktls', 'sstp-burst-peer.ts', { host: GUEST.wanAddress, port: 443, fingerprint: certs.server.fingerprintSha256 as string, password: ALICE });
  const up = await dialer.call('steady', 'alice', GUEST.lanHost);
  t.ok(up.address, `the SSTP call is up: ${up.address}`);
  const echoes = await pollFor('echoes answered through the SSTP call', 60_000, async () => {
    const s = await dialer.call('steadyStats');
    return s.received >= 10 ? s : undefined;
  });
  t.ok(echoes.received >= 10 && !echoes.closed, `the LAN host answers through the call: ${JSON.stringify(echoes)}`);
  const sstpHealth = await healthy('/healthz with the SSTP call', 30_000);
  const sstpCounters = (sstpHealth.subsystems?.sstp?.counters ?? {}) as Record<string, number>;
  t.ok(sstpCounters['ktlsCalls']! >= 1 && sstpCounters['ktlsFallbacks'] === 0 && sstpCounters['ktlsRxOnly'] === 0,
    `the call's records are the kernel's both ways (kTLS): ${JSON.stringify({ ktlsCalls: sstpCounters['ktlsCalls'], ktlsRxOnly: sstpCounters['ktlsRxOnly'], ktlsFallbacks: sstpCounters['ktlsFallbacks'], driverHandovers: sstpCounters['driverHandovers'] })}`);
  t.notMatch(guest.console(), /kTLS unavailable/, 'no fallback said');
  await dialer.call('hangup');
  t.comment(`SSTP on kTLS: dialed, ${echoes.received} echoes answered (max ${echoes.maxRttMs} ms) in ${seconds(Date.now() - sstpAt)} s`);

  // 3. Upgrade through the API: a signed bundle of a higher version, uploaded in pieces, applied;
  // the launcher boots it on trial, it commits itself once healthy. Then the machine reboots and
  // comes back on the new slot (the boot record is on the persistent disk).
  const key = createPrivateKey(readFileSync(signingKeyPath() as string, 'utf8'));
  const header = (version: string, payload: Buffer): BundleHeader => ({
    version, arch: 'arm64', boards: ['generic-arm64'], minVersion: '0.0.0', payloadBytes: payload.length,
    payloadSha256: createHash('sha256').update(payload).digest('hex'), commit: fwNext.manifest.commit, builtAt: fwNext.manifest.builtAt,
  });
  const running = fw.manifest;
  const before = await upgradeStatus('the upgrade status', 30_000, (s) => s.available === true && s.running?.slot === 'a');
  t.equal(before.running.version, `${major}.${minor}.${patch}`, 'slot a runs the first build');
  t.not(fwNext.manifest.sha256, fw.manifest.sha256, 'the next build is other bytes');
  const bundleFile = join(lab.subdir('bundles'), 'next.bundle');
  const executable = readFileSync(fwNext.executable);
  writeFileSync(bundleFile, encodeBundle(header(next, executable), executable, key));
  const uploadStarted = Date.now();
  const staged = await http.upload('/api/v1/upgrade/bundle', bundleFile, 8 * 1024 * 1024, 300_000);
  t.same([staged.status, staged.json.staged?.slot, staged.json.staged?.version], [200, 'b', next], `staged: ${JSON.stringify(staged.json)}${staged.error ?? ''}`);
  t.comment(`upload of ${(executable.length / 1e6).toFixed(0)} MB, verified and written to slot b: ${seconds(Date.now() - uploadStarted)} s`);
  const consoleMark = guest.console().length;
  const appliedAt = Date.now();
  t.equal((await http.call('POST', '/api/v1/upgrade/apply')).status, 202, 'applied');
  await guest.waitFor(/postern-launcher: booting slot b on trial/, 180_000, consoleMark);
  const committed = await upgradeStatus(`version ${next} committed`, 300_000, (s) => s.lastCommit?.version === next);
  t.same([committed.running.slot, committed.running.trial, committed.lastFailure], ['b', false, null], 'slot b runs, no longer on trial');
  t.equal(committed.running.version, next, 'and what runs there is the new build (it says so itself)');
  t.comment(`applied to committed: ${seconds(Date.now() - appliedAt)} s`);
  const rebootMark = guest.console().length;
  const rebootAt = Date.now();
  t.equal((await http.call('POST', '/api/v1/system/reboot', { confirm: true })).json.action, 'reboot', 'the firmware reboots the machine');
  await guest.waitFor(/rc\.shutdown: disk unmounted/, 60_000, rebootMark);
  await guest.waitFor(new RegExp(`${GUEST.bootedMark}[^\\n]*slots=a b`), 120_000, rebootMark);
  await guest.waitFor(/postern-launcher: booting slot b\r?\n/, 60_000, rebootMark);
  const back = await upgradeStatus('the box back after the reboot', 240_000, (s) => s.running?.slot === 'b');
  t.same([back.lastCommit?.version, back.running.version], [next, next], 'after a reboot the committed slot b boots the new build');
  t.comment(`reboot to healthy on slot b: ${seconds(Date.now() - rebootAt)} s; upgrade committed and rebooted into at ${seconds(Date.now() - wall)} s`);

  // 4. A build that exits at start: the launcher boots it on trial, sees it die before it commits,
  // and starts slot b again by itself; the API reports the failed attempt.
  const brokenPayload = Buffer.from('#!/bin/sh\necho "broken build: exiting at start" >&2\nexit 1\n');
  writeFileSync(bundleFile, encodeBundle(header(broken, brokenPayload), brokenPayload, key));
  t.equal((await http.upload('/api/v1/upgrade/bundle', bundleFile, 1024 * 1024, 60_000)).status, 200, 'the broken build is signed, so it stages');
  const brokenMark = guest.console().length;
  t.equal((await http.call('POST', '/api/v1/upgrade/apply')).status, 202, 'applied');
  await guest.waitFor(new RegExp(`trial of slot a \\(${broken.replaceAll('.', '\\.')}\\) failed: not-committed; booting slot b again`), 120_000, brokenMark);
  const rolledBack = await upgradeStatus('the failed attempt reported', 240_000, (s) => s.lastFailure?.version === broken);
  t.same([rolledBack.running.slot, rolledBack.lastFailure.slot, rolledBack.lastFailure.reason], ['b', 'a', 'not-committed'], 'slot b runs again; the attempt on slot a failed');
  t.match(guest.console().slice(brokenMark), /broken build: exiting at start/, 'the broken build did run');
  const boots = guest.console().split(GUEST.bootedMark).length - 1;
  t.equal(boots, 2, 'two boots: the first and the asked-for reboot (the watchdog, fed while healthy, never reset the machine)');
  t.comment(`${running.board} ${running.node}: test wall time ${seconds(Date.now() - wall)} s`);
});
