// Issue 16 end to end: `postern run` as a gateway taking certificate clients. A strongSwan client
// with a certificate issued through the API connects (its ID "CN=laptop-1", a PrintableString, names
// the certificate's UTF8String subject); the certificate is revoked through the API and
// Postern ends the live session at once (strongSwan is sent the Delete); the client cannot come back,
// and Postern's log says which certificate and since when, from its own CA's list (nothing fetched).
// Before that, the gateway certificate is issued again through the API: the live SA stays up and a
// second client, pinning the new gateway certificate, connects without Postern restarting.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../firmware/config/defaults.ts';
import { hashPassword } from '../../firmware/control/password-hash.ts';
import { describeCertificate } from '../../firmware/pki/inspect.ts';
import { importPkcs12 } from '../../firmware/pki/pkcs12.ts';
import { Secret } from '../../firmware/util/secret.ts';
import { startPostern } from '../helpers/postern-daemon.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { CHARON, StrongSwan } from '../lab/peers/strongswan.ts';
import { swanctlConf, type SwanConnection } from '../lab/peers/strongswan-config.ts';
import { waitUntil } from '../lab/peers/wait.ts';
import { twoSitesDirect } from '../lab/scenarios.ts';
import { labSkip } from '../lab/skip.ts';
import { Lab } from '../lab/topology.ts';

const skip = labSkip(!isRoot() ? 'needs root' : !existsSync(CHARON) || !hasBinary('swanctl') ? 'strongSwan is not installed' : !hasBinary('curl') ? 'curl is not installed' : false);
const ADMIN = 'Field-Tech-Pass-77';
const GATEWAY = '192.0.2.2';

t.test('postern run: revoking a client certificate through the API ends its live IKEv2 session and keeps it out', { skip }, async (t) => {
  const lab = Lab.create(twoSitesDirect); // gwA: the client; gwB: Postern
  t.teardown(() => lab.teardown());
  const config = defaultConfig();
  config.system.wan = { interface: 'wan', mode: 'static', address: `${GATEWAY}/24` };
  config.system.lan = { interface: 'lanb', address: '10.2.0.1/24' };
  config.system.management = { listen: '127.0.0.1', port: 18080, https: false }; // inside gwB's namespace
  config.admin.passwordHash = hashPassword(ADMIN);
  config.certificates.server = { commonName: 'vpn.example.com', sans: [GATEWAY, 'vpn.example.com'] };
  config.certificates.publication = { enabled: false };
  config.listeners.sstp.enabled = false;
  config.listeners.ikev2.auth = 'certificate';
  // certificates.revocation left out: hard, from the CA's own list.
  const postern = await startPostern(lab, 'gwB', config, (log) => log.includes('IKEv2 listening'));
  t.teardown(() => postern.stop());

  const work = lab.subdir('client');
  const jar = join(work, 'cookies');
  let csrf = '';
  const api = (method: string, path: string, body?: unknown, out?: string) => {
    const args = ['curl', '-sS', '--max-time', '30', '-b', jar, '-c', jar, '-X', method, '-H', 'Content-Type: application/json'];
    if (csrf) args.push('-H', `X-CSRF-Token: ${csrf}`);
    if (body !== undefined) args.push('--data', JSON.stringify(body));
    if (out) args.push('-o', out);
    return lab.exec('gwB', [...args, `http://127.0.0.1:18080${path}`], 40_000);
  };
  csrf = (JSON.parse((await api('POST', '/api/v1/login', { password: ADMIN })).stdout) as { csrfToken: string }).csrfToken;
  const p12 = join(work, 'laptop.p12');
  await api('POST', '/api/v1/certificates/clients', { name: 'laptop-1', password: 'Bundle-Pass-1234' }, p12);
  const bundle = importPkcs12(readFileSync(p12), new Secret('Bundle-Pass-1234'));
  const serial = describeCertificate(bundle.certificatePem).serialHex;
  writeFileSync(join(work, 'laptop.pem'), bundle.certificatePem);

  const client = (name: string, child: string, remoteCerts?: string[]): SwanConnection => ({
    localAddrs: ['192.0.2.1'], remoteAddrs: [GATEWAY], proposals: ['aes256-sha256-modp2048'], vips: ['0.0.0.0'],
    local: { auth: 'pubkey', id: `CN=${name}`, certs: [`${name}.pem`] }, remote: { auth: 'pubkey', id: GATEWAY, ...(remoteCerts ? { certs: remoteCerts } : {}) },
    children: { [child]: { localTs: ['dynamic'], remoteTs: ['10.2.0.0/24'], espProposals: ['aes256-sha256'] } },
  });
  const road = await StrongSwan.start(lab, 'gwA', {
    files: { 'x509ca/postern-ca.pem': readFileSync(join(postern.stateDir, 'pki', 'ca.pem'), 'utf8'), 'x509/laptop-1.pem': bundle.certificatePem, 'private/laptop-1.key': bundle.keyPem.reveal() },
    connections: { vpn: client('laptop-1', 'lan') },
  });
  const up = await road.initiate('lan', 20);
  if (up.code !== 0) t.fail(`the client could not connect:\n${up.stdout}\n${postern.log().slice(-3000)}`);
  t.match(up.stdout, /installing new virtual IP 10\.10\.0\.\d+/, 'the client is connected with its certificate');

  // The gateway certificate issued again (UI/API): new IKE_AUTHs are signed with it, the SA up stays.
  const oldGateway = readFileSync(join(postern.stateDir, 'pki', 'server.pem'), 'utf8');
  const reissued = JSON.parse((await api('POST', '/api/v1/certificates/server/reissue')).stdout) as { ok?: boolean; serialHex?: string };
  t.ok(reissued.ok && reissued.serialHex !== describeCertificate(oldGateway).serialHex, 'the gateway certificate was issued again');
  await waitUntil('IKEv2 takes it', 10_000, () => postern.log().includes('"msg":"IKEv2 signs with a new gateway certificate"'));
  const p12b = join(work, 'laptop-2.p12');
  await api('POST', '/api/v1/certificates/clients', { name: 'laptop-2', password: 'Bundle-Pass-1234' }, p12b);
  const second = importPkcs12(readFileSync(p12b), new Secret('Bundle-Pass-1234'));
  const swanctl = join(road.dir, 'swanctl');
  writeFileSync(join(swanctl, 'x509', 'laptop-2.pem'), second.certificatePem);
  writeFileSync(join(swanctl, 'private', 'laptop-2.key'), second.keyPem.reveal(), { mode: 0o600 });
  // strongSwan's remote.certs: the peer must authenticate with exactly this certificate, the new one.
  writeFileSync(join(swanctl, 'x509', 'gateway-new.pem'), readFileSync(join(postern.stateDir, 'pki', 'server.pem'), 'utf8'));
  writeFileSync(join(swanctl, 'swanctl.conf'), swanctlConf({ connections: { vpn: client('laptop-1', 'lan'), vpn2: client('laptop-2', 'lan2', ['gateway-new.pem']) } }), { mode: 0o600 });
  const loaded = await road.swanctl(['--load-all', '--file', join(swanctl, 'swanctl.conf')]);
  t.equal(loaded.code, 0, `strongSwan loads the second client${loaded.code === 0 ? '' : `: ${loaded.stdout.slice(-1000)}`}`);
  const up2 = await road.initiate('lan2', 20);
  t.equal(up2.code, 0, `a client pinning the re-issued gateway certificate connects:\n${up2.code === 0 ? '' : up2.stdout.slice(-2000)}`);
  const sas = await road.listSas();
  t.equal(sas.find((s) => s.name === 'vpn')?.state, 'ESTABLISHED', 'the SA made before the re-issue is still up');
  t.equal(postern.log().split('\n').filter((l) => l.includes('"msg":"IKEv2 listening"')).length, 1, 'IKEv2 never restarted');

  const revoked = await api('POST', '/api/v1/certificates/revoke', { serialHex: serial });
  t.match(JSON.parse(revoked.stdout), { ok: true }, 'revoked through the API');
  await waitUntil('Postern ends the session', 15_000, () => postern.log().includes('ending the session of a revoked certificate'));
  t.match(postern.log(), new RegExp(`certificate 'CN=laptop-1' serial ${serial.replace(/^0+/, '')} is revoked \\(Postern's revocation list, revoked at \\d{4}-`), 'saying which certificate and since when');
  await waitUntil("strongSwan has no SA of laptop-1's left", 15_000, async () => !(await road.listSas()).some((s) => s.name === 'vpn'));
  t.match(road.log(300), /received DELETE for IKE_SA/, 'strongSwan was sent the Delete');

  const again = await road.initiate('lan', 10);
  t.not(again.code, 0, 'the revoked client cannot come back');
  t.match(again.stdout, /AUTHENTICATION_FAILED/);
  t.match(postern.log(), /IKE_AUTH refused: certificate 'CN=laptop-1' serial [0-9a-f]+ is revoked \(Postern's revocation list/, 'refused with the reason');
});
