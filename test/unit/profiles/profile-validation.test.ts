// Issue 17: the profiles checked by the tools that read them (openssl for the Apple signature and the
// PKCS#12, Python's plistlib for the Apple plist, nmcli --offline for the NetworkManager keyfile, the
// strongSwan Android app's parser keys), certificate login in each profile, and the Windows options.
import { execFileSync, spawnSync } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { withPublicIdentity } from '../../../firmware/config/public-identity.ts';
import { checkPeerCertificate } from '../../../firmware/ike/crypto/peer-certificate.ts';
import { idFromString } from '../../../firmware/ike/payloads/identity.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../../firmware/pki/issue.ts';
import { importPkcs12 } from '../../../firmware/pki/pkcs12.ts';
import { clientProfile, profileInput, type ClientProfile } from '../../../firmware/profiles/client-profiles.ts';
import { issueUserCertificate } from '../../../firmware/profiles/user-certificate.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { labSkip } from '../../lab/skip.ts';

const now = new Date();
const ca = createCa({ commonName: 'Branch CA', validityDays: 30, keyType: 'rsa-2048', now });
const config = withPublicIdentity(defaultConfig(), { publicName: 'vpn.branch1.example.com' });
config.listeners.ikev2.auth = 'certificate';
const server = issueServerCertificate(ca, { commonName: 'vpn.branch1.example.com', sans: config.certificates.server.sans, validityDays: 30, now });
const pki = { ca, server: { certificatePem: server.certificatePem, keyPem: server.keyPem } };
const password = 'correct horse battery staple';
const issued = issueUserCertificate(pki, config, 'alice', new Secret(password), now);
const certInput = profileInput(config, pki, 'alice', { clientCertificate: issued.clientCertificate });
const eapConfig = structuredClone(config);
eapConfig.listeners.ikev2.auth = 'eap-mschapv2';
const eapInput = profileInput(eapConfig, pki, 'alice');

const dir = mkdtempSync(join(tmpdir(), 'postern-profile-tools-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'ca.pem'), ca.certificatePem);
const run = (cmd: string, args: string[], input?: string | Buffer) => spawnSync(cmd, args, { ...(input === undefined ? {} : { input }), timeout: 20_000 });
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
function str(p: ClientProfile): string {
  if (typeof p.body !== 'string') throw new Error('expected a text profile');
  return p.body;
}
const opensslSkip = labSkip(!has('openssl') ? 'openssl CLI missing' : !has('python3') ? 'python3 missing' : false);
const nmcliSkip = labSkip(!has('nmcli') ? 'nmcli missing (Debian: network-manager)' : false);

/** openssl cms -verify against the CA: the plist, or undefined when the signature does not hold. */
function verifiedContent(der: Buffer): string | undefined {
  writeFileSync(join(dir, 'signed.der'), der);
  const r = run('openssl', ['cms', '-verify', '-inform', 'DER', '-in', join(dir, 'signed.der'), '-CAfile', join(dir, 'ca.pem'), '-purpose', 'any']);
  return r.status === 0 ? r.stdout.toString('utf8') : undefined;
}

/** Python's plistlib (what macOS tooling is modelled on) reads the plist; Data becomes base64. */
function plistlib(xml: string): Record<string, unknown> {
  const script = 'import json,plistlib,sys,base64\nd=plistlib.loads(sys.stdin.buffer.read())\nprint(json.dumps(d, default=lambda b: {"$data": base64.b64encode(b).decode()}))';
  const r = run('python3', ['-c', script], xml);
  if (r.status !== 0) throw new Error(`plistlib refused the profile: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as Record<string, unknown>;
}
const dataOf = (v: unknown): Buffer => Buffer.from((v as { $data: string }).$data, 'base64');

t.test('certificate login: the user\'s certificate names the identity the profiles send, and the gateway accepts that pairing', async (t) => {
  t.equal(issued.clientCertificate.identity, 'alice@vpn.branch1.example.com');
  t.match(issued.record, { user: 'alice', name: 'alice', identity: 'alice@vpn.branch1.example.com' }, 'the registry records whose it is');
  const bundle = importPkcs12(issued.clientCertificate.p12, new Secret(password));
  const cert = new X509Certificate(bundle.certificatePem);
  t.match(cert.subject, /CN=alice/);
  t.match(cert.subjectAltName ?? '', /email:alice@vpn\.branch1\.example\.com/);
  const check = checkPeerCertificate(cert.raw, [new X509Certificate(ca.certificatePem)], idFromString(issued.clientCertificate.identity), now);
  t.ok(check.ok, 'the gateway\'s own certificate check takes the identity with this certificate');
  t.notOk(checkPeerCertificate(cert.raw, [new X509Certificate(ca.certificatePem)], idFromString('bob@vpn.branch1.example.com'), now).ok, 'and not another user\'s identity');
  t.throws(() => importPkcs12(issued.clientCertificate.p12, new Secret('wrong password')), 'the bundle needs its password');
});

t.test('Apple: signed by the gateway certificate (openssl cms -verify against the CA), tampering detected, plistlib reads it', { skip: opensslSkip }, async (t) => {
  for (const input of [eapInput, certInput]) {
    const p = clientProfile('apple', input);
    t.ok(Buffer.isBuffer(p.body), 'a signed (DER) profile');
    const body = p.body as Buffer;
    const xml = verifiedContent(body);
    t.ok(xml, 'the signature verifies against the gateway\'s CA');
    const plistAt = body.indexOf('<key>PayloadType</key>');
    const tampered = Buffer.from(body);
    tampered[plistAt + 6] = tampered[plistAt + 6]! ^ 0x20;
    t.equal(verifiedContent(tampered), undefined, 'one flipped byte in the plist and it no longer verifies');
    const signer = run('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', join(dir, 'signed.der')]).stdout.toString();
    t.match(signer, /vpn\.branch1\.example\.com/, 'the gateway certificate is carried as the signer');
    const plist = plistlib(xml ?? '');
    const payloads = plist['PayloadContent'] as Array<Record<string, unknown>>;
    const vpn = payloads.find((x) => x['PayloadType'] === 'com.apple.vpn.managed')!;
    const ikev2 = vpn['IKEv2'] as Record<string, unknown>;
    if (input === certInput) {
      const identity = payloads.find((x) => x['PayloadType'] === 'com.apple.security.pkcs12');
      t.ok(identity, 'a com.apple.security.pkcs12 payload');
      t.equal(ikev2['PayloadCertificateUUID'], identity?.['PayloadUUID'], 'the VPN payload names it by PayloadCertificateUUID');
      t.match(ikev2, { AuthenticationMethod: 'Certificate', ExtendedAuthEnabled: 0, LocalIdentifier: 'alice@vpn.branch1.example.com', RemoteIdentifier: 'vpn.branch1.example.com' });
      t.notOk('Password' in (identity ?? {}), 'no password in the profile: the device asks');
      const bundle = importPkcs12(dataOf(identity?.['PayloadContent']), new Secret(password));
      t.match(new X509Certificate(bundle.certificatePem).subjectAltName ?? '', /alice@vpn\.branch1\.example\.com/, 'the PKCS#12 is alice\'s certificate');
    } else {
      t.match(ikev2, { AuthenticationMethod: 'None', ExtendedAuthEnabled: 1, AuthName: 'alice' });
      t.notOk(payloads.some((x) => x['PayloadType'] === 'com.apple.security.pkcs12'), 'no identity payload for password login');
    }
  }
});

t.test('Apple: an EC gateway key (ACME, imported) signs too', { skip: opensslSkip }, async (t) => {
  const ec = issueServerCertificate(ca, { commonName: 'vpn.branch1.example.com', sans: ['vpn.branch1.example.com'], validityDays: 30, now, keyType: 'ecdsa-p256' });
  const input = profileInput(eapConfig, { ca, server: { certificatePem: ec.certificatePem, keyPem: ec.keyPem } }, 'alice');
  t.ok(verifiedContent(clientProfile('apple', input).body as Buffer), 'an ECDSA signature verifies');
});

/** The keyfile the Linux script writes (its quoted here-document). */
const keyfileOf = (script: string): string => /<<'POSTERN_CONNECTION'\n([\s\S]*?)\nPOSTERN_CONNECTION/.exec(script)?.[1] ?? '';

t.test('NetworkManager: nmcli --offline accepts the keyfile, for password and certificate login', { skip: nmcliSkip }, async (t) => {
  for (const [input, method] of [[eapInput, 'eap'], [certInput, 'cert']] as const) {
    const keyfile = `${keyfileOf(str(clientProfile('linux', input)))}\n`;
    // modify reads the connection from stdin, checks it (nm_connection_verify) and prints it back.
    const r = run('nmcli', ['--offline', 'connection', 'modify', 'connection.autoconnect', 'no'], keyfile);
    t.equal(r.status, 0, `${method}: nmcli accepts the keyfile (${r.stderr.toString().trim()})`);
    const out = r.stdout.toString();
    t.match(out, /service-type=org\.freedesktop\.NetworkManager\.strongswan/);
    t.match(out, new RegExp(`method=${method}`));
    t.match(out, /address=vpn\.branch1\.example\.com/);
    if (method === 'cert') t.match(out, /local-identity=alice@vpn\.branch1\.example\.com/);
    const broken = keyfile.replace('type=vpn', 'type=no-such-type');
    t.not(run('nmcli', ['--offline', 'connection', 'modify', 'connection.autoconnect', 'no'], broken).status, 0, 'and refuses a broken one (the check can fail)');
  }
});

t.test('NetworkManager with certificate login: the script splits the PKCS#12 with openssl, the key readable by root only', { skip: opensslSkip }, async (t) => {
  const p = clientProfile('linux', certInput);
  const root = mkdtempSync(join(dir, 'root-'));
  execFileSync('mkdir', ['-p', join(root, 'etc/NetworkManager/system-connections'), join(root, 'bin')]);
  writeFileSync(join(root, 'bin/nmcli'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  writeFileSync(join(root, 'profile.sh'), str(p).replace(/\/etc\//g, `${root}/etc/`));
  execFileSync('sh', [join(root, 'profile.sh')], { env: { PATH: `${root}/bin:/usr/bin:/bin`, POSTERN_P12_PASSWORD: password }, stdio: 'pipe' });
  const id = p.filename.replace(/\.sh$/, '');
  const cert = new X509Certificate(readFileSync(join(root, `etc/postern/${id}-cert.pem`)));
  t.match(cert.subjectAltName ?? '', /alice@vpn\.branch1\.example\.com/, 'alice\'s certificate');
  const key = join(root, `etc/postern/${id}-key.pem`);
  t.equal(statSync(key).mode & 0o777, 0o600, 'the key is 0600');
  t.ok(cert.checkPrivateKey(createPrivateKey(readFileSync(key))), 'the key belongs to the certificate');
  const keyfile = readFileSync(join(root, `etc/NetworkManager/system-connections/${id}.nmconnection`), 'utf8');
  t.match(keyfile, new RegExp(`usercert=${root}/etc/postern/${id}-cert\\.pem\\nuserkey=${root}/etc/postern/${id}-key\\.pem`));
  t.notMatch(readFileSync(join(root, 'profile.sh'), 'utf8'), new RegExp(password), 'the password is not in the script');
});

// VpnProfileImportActivity.parseProfile (strongSwan's Android app): the keys it reads.
const ANDROID_KEYS: Record<string, readonly string[] | null> = {
  uuid: null, name: null, type: null, 'ike-proposal': null, 'esp-proposal': null, mtu: null, 'nat-keepalive': null, apps: null, 'excluded-apps': null,
  remote: ['addr', 'port', 'id', 'cert', 'certreq', 'revocation'], local: ['eap_id', 'id', 'p12', 'rsa-pss'], 'split-tunneling': ['subnets', 'excluded', 'block-ipv4', 'block-ipv6'],
};

t.test('Android certificate login: ikev2-cert with local.id and local.p12, only keys the app reads', async (t) => {
  const json = JSON.parse(str(clientProfile('android', certInput))) as Record<string, Record<string, unknown>>;
  for (const [key, value] of Object.entries(json)) {
    t.ok(key in ANDROID_KEYS, `${key} is a key the app reads`);
    const inner = ANDROID_KEYS[key];
    if (inner) for (const k of Object.keys(value)) t.ok(inner.includes(k), `${key}.${k} is a key the app reads`);
  }
  t.equal(json['type'] as unknown, 'ikev2-cert');
  t.equal(json['local']?.['id'], 'alice@vpn.branch1.example.com');
  t.notOk('eap_id' in (json['local'] ?? {}), 'no EAP identity: the app would ignore it for ikev2-cert anyway');
  const bundle = importPkcs12(Buffer.from(String(json['local']?.['p12']), 'base64'), new Secret(password));
  t.match(new X509Certificate(bundle.certificatePem).subject, /CN=alice/, 'local.p12 is alice\'s bundle');
  t.notMatch(JSON.stringify(json), new RegExp(password), 'no password in the profile');
});

t.test('Windows: -AllUserConnection as an option on every cmdlet that takes it; certificate login imports into LocalMachine\\My', async (t) => {
  const user = str(clientProfile('windows', eapInput));
  t.notMatch(user, /AllUserConnection/, 'the current user\'s phonebook by default');
  const all = str(clientProfile('windows', profileInput(eapConfig, pki, 'alice', { allUserConnection: true })));
  for (const cmdlet of ['Get-VpnConnection', 'Remove-VpnConnection', 'Add-VpnConnection', 'Set-VpnConnectionIPsecConfiguration']) {
    const lines = all.split('\r\n').filter((l) => l.includes(cmdlet));
    t.ok(lines.length > 0 && lines.every((l) => /-AllUserConnection\b/.test(l.slice(l.indexOf(cmdlet)))), `${cmdlet} with -AllUserConnection`);
  }
  const cert = str(clientProfile('windows', certInput));
  t.match(cert, /Import-PfxCertificate -FilePath \$p12File -CertStoreLocation Cert:\\LocalMachine\\My -Password \$p12Password/);
  t.match(cert, /\$p12Password = Read-Host -AsSecureString/, 'the password is asked, never in the script');
  t.match(cert, /-AuthenticationMethod MachineCertificate -MachineCertificateIssuerFilter \$ca -MachineCertificateEKUFilter '1\.3\.6\.1\.5\.5\.7\.3\.2'/);
  const b64 = /FromBase64String\('([A-Za-z0-9+/=]+)'\)\)\r\n\$p12Password/.exec(cert)?.[1] ?? '';
  t.match(new X509Certificate(importPkcs12(Buffer.from(b64, 'base64'), new Secret(password)).certificatePem).subject, /CN=alice/, 'the script carries alice\'s PKCS#12');
  t.notMatch(cert, new RegExp(password));
});

t.test('each download comes with how to install it', async (t) => {
  const windows = clientProfile('windows', eapInput);
  t.match(windows.install, new RegExp(`powershell -ExecutionPolicy Bypass -File \\.\\\\${windows.filename.replace(/\./g, '\\.')}`));
  t.match(clientProfile('apple', certInput).install, /VPN & Device Management[\s\S]*asks for the certificate password/);
  t.match(clientProfile('android', eapInput).install, /strongSwan VPN Client/);
  t.match(clientProfile('linux', eapInput).install, /nmcli connection up id 'Postern vpn\.branch1\.example\.com'/);
});
