// Issue 16's ACME proof: `postern run` in a lab namespace orders its gateway certificate from Pebble
// (Let's Encrypt's test CA, Debian's package) running in another namespace on its WAN. Pebble
// validates for real: it resolves the gateway's name through the namespace's hosts file and fetches
// the HTTP-01 key authorization from Postern's publication listener on port 80. Then the SSTP
// listener on 443 serves the issued certificate, which chains to Pebble's root. The same by TLS-ALPN-01
// (RFC 8737), answered on the SSTP port itself.
// Renewal for real (issue 16): in the HTTP-01 run Pebble issues certificates valid 30 days and some
// seconds, so Postern's own schedule (renew 30 days before expiry) orders the next one moments later.
// An SSTP call (Postern's own client, checking Pebble's root and the name) and a strongSwan IKEv2 client
// connected before the renewal keep passing traffic after it; new connections get the new certificate.
import { X509Certificate } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { hashPassword } from '../../firmware/control/password-hash.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { LinePeer } from '../lab/peers/line-peer.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { existsSync } from 'node:fs';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !hasBinary('pebble') ? 'pebble is not installed (apt-get install pebble)' : !hasBinary('openssl') ? 'the openssl CLI is not installed' : !hasBinary('curl') ? 'curl is not installed' : false);
const NAME = 'vpn.example.com';
const GATEWAY = '192.0.2.2';
const PEBBLE = '192.0.2.1';
const PASSWORD = 'Correct-Horse-Battery-7';
/** Seconds a Pebble certificate outlives Postern's 30-day renewal point in the renewal run. */
const RENEW_AFTER_S = 25;
const swanSkip = labSkip(!existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : false);

async function orderFromPebble(t: Test, challenge: 'http-01' | 'tls-alpn-01', renew = false): Promise<void> {
  const lab = Lab.create(twoSitesDirect); // gwA: Pebble on the WAN; gwB: Postern
  t.teardown(() => lab.teardown());
  const work = lab.subdir('pebble');

  // `ip netns exec` bind-mounts /etc/netns/<ns>/hosts over /etc/hosts: Pebble's resolver finds the gateway there.
  const netnsEtc = join('/etc/netns', lab.ns('gwA'));
  mkdirSync(netnsEtc, { recursive: true });
  t.teardown(() => rmSync(netnsEtc, { recursive: true, force: true }));
  writeFileSync(join(netnsEtc, 'hosts'), `127.0.0.1 localhost\n${GATEWAY} ${NAME}\n`);

  // Pebble's own HTTPS certificate, for its address; Postern trusts it through NODE_EXTRA_CA_CERTS.
  const cert = join(work, 'pebble.pem');
  const key = join(work, 'pebble.key');
  await lab.exec('gwA', ['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=pebble', '-addext', `subjectAltName=IP:${PEBBLE}`, '-keyout', key, '-out', cert]);
  const pebbleConfig = join(work, 'pebble-config.json');
  writeFileSync(pebbleConfig, JSON.stringify({
    pebble: { listenAddress: `${PEBBLE}:14000`, managementListenAddress: `${PEBBLE}:15000`, certificate: cert, privateKey: key, httpPort: 80, tlsPort: 443, ocspResponderURL: '', externalAccountBindingRequired: false, ...(renew ? { certificateValidityPeriod: 30 * 86_400 + RENEW_AFTER_S } : {}) },
  }));
  // Real validation: no PEBBLE_VA_ALWAYS_VALID; no sleeping before validating, no nonces refused at random.
  const pebble = lab.spawnDaemon('gwA', 'pebble', ['pebble', '-config', pebbleConfig, '-strict', 'false'], { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' });
  t.teardown(() => void pebble.child.kill('SIGTERM'));
  await waitUntil('pebble', 15_000, async () => (await lab.exec('gwA', ['curl', '-sk', '--max-time', '2', `https://${PEBBLE}:14000/dir`])).stdout.includes('newOrder'));

  process.env['NODE_EXTRA_CA_CERTS'] = cert;
  process.env['NO_PROXY'] = '*';
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'static', address: `${GATEWAY}/24` };
  config.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false };
  config.admin.passwordHash = hashPassword('Field-Tech-Pass-77');
  config.users = ['alice', 'bob', 'carol', 'dave'].map((name) => storedUser({ name, password: PASSWORD, enabled: true }));
  config.certificates.server = { commonName: NAME, sans: [NAME, GATEWAY] };
  config.certificates.acme = { enabled: true, directoryUrl: `https://${PEBBLE}:14000/dir`, email: 'ops@example.com', challenge };
  const postern = await startPostern(lab, 'gwB', config, (log) => log.includes('CRL publication listening') && log.includes('SSTP listening'));
  t.teardown(() => postern.stop());
  await waitUntil('the ACME certificate', 60_000, () => postern.log().includes('SSTP serves a new certificate') || postern.log().includes('ACME order failed'), () => postern.log().slice(-4000));
  t.notMatch(postern.log(), /ACME order failed/, 'the order succeeded');
  const root = join(work, 'pebble-root.pem');
  await lab.exec('gwA', ['curl', '-sk', '--max-time', '5', '-o', root, `https://${PEBBLE}:15000/roots/0`]);
  // Sessions up on the first certificate, before its renewal comes due.
  const before = renew ? await connectBeforeRenewal(t, lab, root) : undefined;
  t.match(postern.log(), /"msg":"ACME certificate issued"/);
  const health = await lab.exec('gwB', ['curl', '-sS', '--max-time', '5', 'http://127.0.0.1:18080/healthz']);
  const subsystems = (JSON.parse(health.stdout) as { subsystems: Record<string, { counters?: Record<string, number> }> }).subsystems;
  if (challenge === 'http-01') t.ok((subsystems['publication']?.counters?.['acmeChallenge'] ?? 0) >= 1, 'Pebble fetched the key authorization from the publication listener on port 80');
  else t.ok((subsystems['sstp']?.counters?.['acmeAlpnAnswered'] ?? 0) >= 1, 'Pebble met the acme-tls/1 challenge certificate on the SSTP port');
  t.equal(subsystems['acme']?.counters?.['issued'], 1, '/healthz counts the issued certificate');

  const hello = await lab.exec('gwA', ['sh', '-c', `openssl s_client -connect ${GATEWAY}:443 -servername ${NAME} -showcerts </dev/null 2>/dev/null`], 15_000);
  const presented = [...hello.stdout.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => m[0]);
  t.ok(presented.length >= 2, `the SSTP listener sends the leaf and Pebble's intermediate (${presented.length})`);
  const leaf = new X509Certificate(presented[0]!);
  t.match(leaf.subjectAltName ?? '', `DNS:${NAME}`, 'for the gateway name');
  t.match(leaf.issuer, /Pebble/i, "issued by Pebble's intermediate, not Postern's CA");

  // The chain verifies against Pebble's root, as a client trusting that CA would check it.
  const chain = join(work, 'chain.pem');
  writeFileSync(join(work, 'leaf.pem'), `${presented[0]!}\n`);
  writeFileSync(chain, `${presented.slice(1).join('\n')}\n`);
  const verified = await lab.exec('gwA', ['openssl', 'verify', '-CAfile', root, '-untrusted', chain, '-verify_hostname', NAME, join(work, 'leaf.pem')]);
  t.equal(verified.code, 0, `openssl verify with Pebble's root: ${verified.stdout}${verified.stderr}`);
  if (before) await renewedUnderLiveSessions(t, lab, postern, before);
}

type Sessions = { sstp: LinePeer; first: { address: string; serial: string }; swan: StrongSwan | undefined };

/** An SSTP call and (with strongSwan) an IKEv2 SA on the first ACME certificate, each passing traffic. */
async function connectBeforeRenewal(t: Test, lab: Lab, rootPath: string): Promise<Sessions> {
  const ca = readFileSync(rootPath, 'utf8');
  const { peer: sstp } = await LinePeer.spawn(lab, 'gwA', 'sstp-calls', 'sstp-call-peer.ts', { host: GATEWAY, port: 443, servername: NAME, ca, password: PASSWORD });
  t.teardown(() => void sstp.daemon.child.kill('SIGTERM'));
  const first = await sstp.call('dial', 'first', 'alice') as { address: string; serial: string };
  t.match(await sstp.call('ping', 'first', '10.2.0.10', 5), { received: 5 }, `an SSTP call checking Pebble's root and the name is up and passes traffic (${first.address})`);
  if (swanSkip) return { sstp, first, swan: undefined };
  const client = (eapId: string) => ({
    localAddrs: ['192.0.2.1'], remoteAddrs: [GATEWAY], proposals: ['aes256gcm16-prfsha256-ecp256'], vips: ['0.0.0.0'],
    local: { auth: 'eap-mschapv2' as const, id: eapId, eapId }, remote: { auth: 'pubkey' as const, id: NAME },
    children: { [`lan-${eapId}`]: { localTs: ['dynamic'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256gcm16'] } },
  });
  const swan = await StrongSwan.start(lab, 'gwA', {
    files: { 'x509ca/pebble-root.pem': ca },
    connections: { bob: client('bob'), carol: client('carol') },
    secrets: [{ kind: 'eap', ids: ['bob'], secret: PASSWORD }, { kind: 'eap', ids: ['carol'], secret: PASSWORD }],
  });
  const up = await swan.initiate('lan-bob');
  t.match(up.stdout, new RegExp(`authentication of '${NAME.replace(/\./g, '\\.')}' with ECDSA[^\n]*successful`), `strongSwan trusts the ACME certificate and its chain over IKEv2:\n${up.code === 0 ? '' : up.stdout.slice(-1500)}`);
  return { sstp, first, swan };
}

/** Postern renews by its own schedule; the sessions stay up and pass traffic; new ones get the new certificate. */
async function renewedUnderLiveSessions(t: Test, lab: Lab, postern: { log(): string }, s: Sessions): Promise<void> {
  const issued = () => postern.log().split('\n').filter((l) => l.includes('"msg":"ACME certificate issued"')).length;
  await waitUntil('the renewal', (RENEW_AFTER_S + 30) * 1000, () => issued() >= 2, () => postern.log().slice(-3000));
  t.pass('Postern renewed by itself 30 days before the certificate expires');
  // The service hands the new certificate to IKEv2 after it logs the issuance: allow it a moment.
  const ikeTook = () => postern.log().split('\n').filter((l) => l.includes('"msg":"IKEv2 signs with a new gateway certificate"')).length;
  await waitUntil('IKEv2 takes the renewed certificate', 10_000, () => ikeTook() >= 2).catch(() => undefined);
  t.ok(ikeTook() >= 2, 'IKEv2 took the renewed certificate (as it took the first)');
  const second = await s.sstp.call('dial', 'second', 'dave') as { address: string; serial: string };
  t.not(second.serial, s.first.serial, `a new SSTP connection gets the renewed certificate (serial ${s.first.serial.slice(0, 8)}… → ${second.serial.slice(0, 8)}…)`);
  t.match(await s.sstp.call('ping', 'first', '10.2.0.10', 5), { received: 5 }, 'the call made before the renewal still passes traffic');
  t.match(await s.sstp.call('ping', 'second', '10.2.0.10', 5), { received: 5 }, 'and so does the new one');
  t.notMatch(postern.log(), /SSTP listening[\s\S]*SSTP listening|IKEv2 listening[\s\S]*IKEv2 listening/, 'neither listener restarted');
  if (!s.swan) return void t.comment(`IKEv2 part skipped: ${String(swanSkip)}`);
  const bob = (await s.swan.listSas()).find((sa) => sa.name === 'bob');
  t.equal(bob?.state, 'ESTABLISHED', 'the IKE SA made before the renewal is still up');
  const vip = /installing new virtual IP (\S+)/.exec(s.swan.log(400))?.[1] ?? '';
  const ping = await lab.exec('gwA', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '-I', vip, '10.2.0.10']);
  t.equal(ping.code, 0, `and passes traffic from ${vip}:\n${ping.stdout}`);
  const carol = await s.swan.initiate('lan-carol');
  t.match(carol.stdout, /authentication of '[^']+' with ECDSA[^\n]*successful/, `a new IKEv2 client authenticates the gateway after the swap:\n${carol.code === 0 ? '' : carol.stdout.slice(-1500)}`);
}

t.test('postern run obtains its gateway certificate from Pebble by HTTP-01, serves it on the SSTP port, and renews it under live SSTP and IKEv2 sessions', { skip }, (t) => orderFromPebble(t, 'http-01', true));
t.test('postern run obtains its gateway certificate from Pebble by TLS-ALPN-01 on the SSTP port itself', { skip }, (t) => orderFromPebble(t, 'tls-alpn-01'));
