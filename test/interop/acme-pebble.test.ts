// Issue 16's ACME proof: `postern run` in a lab namespace orders its gateway certificate from Pebble
// (Let's Encrypt's test CA, Debian's package) running in another namespace on its WAN. Pebble
// validates for real: it resolves the gateway's name through the namespace's hosts file and fetches
// the HTTP-01 key authorization from Postern's publication listener on port 80. Then the SSTP
// listener on 443 serves the issued certificate, which chains to Pebble's root. The same by TLS-ALPN-01
// (RFC 8737), answered on the SSTP port itself.
import { X509Certificate } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { storedUser } from '../../firmware/config/users.ts';
import { hashPassword } from '../../firmware/control/password-hash.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !hasBinary('pebble') ? 'pebble is not installed (apt-get install pebble)' : !hasBinary('openssl') ? 'the openssl CLI is not installed' : !hasBinary('curl') ? 'curl is not installed' : false);
const NAME = 'vpn.example.com';
const GATEWAY = '192.0.2.2';
const PEBBLE = '192.0.2.1';

async function orderFromPebble(t: Test, challenge: 'http-01' | 'tls-alpn-01'): Promise<void> {
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
    pebble: { listenAddress: `${PEBBLE}:14000`, managementListenAddress: `${PEBBLE}:15000`, certificate: cert, privateKey: key, httpPort: 80, tlsPort: 443, ocspResponderURL: '', externalAccountBindingRequired: false },
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
  config.users = [storedUser({ name: 'alice', password: 'Correct-Horse-Battery-7', enabled: true })];
  config.certificates.server = { commonName: NAME, sans: [NAME, GATEWAY] };
  config.certificates.acme = { enabled: true, directoryUrl: `https://${PEBBLE}:14000/dir`, email: 'ops@example.com', challenge };
  const postern = await startPostern(lab, 'gwB', config, (log) => log.includes('CRL publication listening') && log.includes('SSTP listening'));
  t.teardown(() => postern.stop());
  await waitUntil('the ACME certificate', 60_000, () => postern.log().includes('SSTP serves a new certificate') || postern.log().includes('ACME order failed'), () => postern.log().slice(-4000));
  t.notMatch(postern.log(), /ACME order failed/, 'the order succeeded');
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
  const root = join(work, 'pebble-root.pem');
  await lab.exec('gwA', ['curl', '-sk', '--max-time', '5', '-o', root, `https://${PEBBLE}:15000/roots/0`]);
  const chain = join(work, 'chain.pem');
  writeFileSync(join(work, 'leaf.pem'), `${presented[0]!}\n`);
  writeFileSync(chain, `${presented.slice(1).join('\n')}\n`);
  const verified = await lab.exec('gwA', ['openssl', 'verify', '-CAfile', root, '-untrusted', chain, '-verify_hostname', NAME, join(work, 'leaf.pem')]);
  t.equal(verified.code, 0, `openssl verify with Pebble's root: ${verified.stdout}${verified.stderr}`);
}

t.test('postern run obtains its gateway certificate from Pebble by HTTP-01 and serves it on the SSTP port', { skip }, (t) => orderFromPebble(t, 'http-01'));
t.test('postern run obtains its gateway certificate from Pebble by TLS-ALPN-01 on the SSTP port itself', { skip }, (t) => orderFromPebble(t, 'tls-alpn-01'));
