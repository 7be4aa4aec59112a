// Client profiles: each one configures its client with the gateway's identity, its CA, and crypto
// the gateway accepts (the first configured proposal the client can express).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { parseProposal } from '../../../firmware/ike/proposals.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../../firmware/pki/issue.ts';
import { APPLE_ESP, APPLE_IKE } from '../../../firmware/profiles/apple-profile.ts';
import { clientProfile, profileInput } from '../../../firmware/profiles/client-profiles.ts';
import { WINDOWS_ESP, WINDOWS_IKE } from '../../../firmware/profiles/windows-profile.ts';

const ca = createCa({ commonName: 'Postern Test CA', validityDays: 30, keyType: 'ecdsa-p256', now: new Date() });
const server = issueServerCertificate(ca, { commonName: 'vpn.example.com', sans: ['vpn.example.com', '192.0.2.2'], validityDays: 30, now: new Date() });
const pki = { ca, server: { certificatePem: server.certificatePem, keyPem: server.keyPem } };
const config = defaultConfig();
config.certificates.server = { commonName: 'vpn.example.com', sans: ['vpn.example.com', '192.0.2.2'] };
config.listeners.sstp.enabled = true;
const input = profileInput(config, pki, "o'brien");
let n = 0;
/** A profile's text; a signed Apple profile's plist after checking its signature against the CA (openssl). */
function text(p: { body: string | Buffer }): string {
  if (typeof p.body === 'string') return p.body;
  const dir = mkdtempSync(join(tmpdir(), 'postern-cms-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), ca.certificatePem);
    writeFileSync(join(dir, 'profile.der'), p.body);
    return execFileSync('openssl', ['smime', '-verify', '-inform', 'DER', '-in', join(dir, 'profile.der'), '-CAfile', join(dir, 'ca.pem'), '-purpose', 'any'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const uuid = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;

t.test('every proposal a client table knows is one the gateway can parse', async (t) => {
  for (const p of [...Object.keys(WINDOWS_IKE), ...Object.keys(APPLE_IKE)]) t.ok(parseProposal(p, 'ike'), `IKE ${p}`);
  for (const p of [...Object.keys(WINDOWS_ESP), ...Object.keys(APPLE_ESP)]) t.ok(parseProposal(p, 'esp'), `ESP ${p}`);
});

t.test('Windows: CA import, IKEv2 with matching IPsec settings, SSTP as a second connection', async (t) => {
  const p = clientProfile('windows', input, uuid);
  t.equal(p.ike, 'aes256gcm16-prfsha256-ecp256', 'curve25519 is skipped: Windows cannot do it; AES-GCM with ECP-256 is next');
  t.equal(p.esp, 'aes256gcm16');
  t.ok(config.listeners.ikev2.proposals.ike.includes(p.ike) && config.listeners.ikev2.proposals.esp.includes(p.esp), 'both are proposals the gateway accepts');
  t.match(text(p), /Set-VpnConnectionIPsecConfiguration .*-EncryptionMethod GCMAES256 -IntegrityCheckMethod SHA256 -DHGroup ECP256 -CipherTransformConstants GCMAES256 -AuthenticationTransformConstants GCMAES256/);
  t.match(text(p), /-ServerAddress 'vpn\.example\.com' -TunnelType Ikev2 -AuthenticationMethod Eap/);
  t.match(text(p), /-TunnelType Sstp -AuthenticationMethod MSChapv2/);
  const b64 = /\$caBase64 = '([A-Za-z0-9+/=]+)'/.exec(text(p))?.[1] ?? '';
  t.equal(new X509Certificate(Buffer.from(b64, 'base64')).fingerprint256, new X509Certificate(ca.certificatePem).fingerprint256, 'the embedded CA is the gateway\'s');
  t.match(text(p), /for o'brien/, 'the user is named');
  t.notMatch(text(p).replace(/'[^']*'/g, ''), /o'brien/, 'and never outside a properly quoted literal');
  t.match(p.filename, /\.ps1$/);
});

t.test('Windows: a gateway with only proposals Windows cannot express gets a clear error', async (t) => {
  t.throws(() => clientProfile('windows', { ...input, ikeProposals: ['aes256gcm16-prfsha256-curve25519'] }), { name: 'ProfileError', message: /Windows/ });
});

/** Just enough of a property-list reader for the profile: dict, array, string, integer, data, true/false. */
function readPlist(xml: string): unknown {
  const tokens = [...xml.replace(/<\?xml[^>]*>|<!DOCTYPE[^>]*>|<\/?plist[^>]*>/g, '').matchAll(/<(\/?)(\w+)(\/?)>([^<]*)/g)];
  let i = 0;
  const value = (): unknown => {
    const [, close, tag, selfClose, text] = tokens[i++]!;
    if (close) throw new Error(`unexpected </${tag}>`);
    if (selfClose) return tag === 'true';
    if (tag === 'string' || tag === 'integer' || tag === 'data') {
      i++; // the closing tag
      const raw = (text ?? '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
      return tag === 'integer' ? Number(raw) : tag === 'data' ? Buffer.from(raw, 'base64') : raw;
    }
    if (tag === 'array') {
      const out: unknown[] = [];
      while (!tokens[i]![1]) out.push(value());
      i++;
      return out;
    }
    const out: Record<string, unknown> = {};
    while (!tokens[i]![1]) {
      const key = tokens[i]![4] ?? '';
      i += 2;
      out[key] = value();
    }
    i++;
    return out;
  };
  return value();
}

t.test('Apple: a well-formed profile with the CA as a trusted root and IKEv2 settings the gateway accepts', async (t) => {
  const p = clientProfile('apple', input, uuid);
  const plist = readPlist(text(p)) as { PayloadType: string; PayloadContent: Array<Record<string, unknown>> };
  t.equal(plist.PayloadType, 'Configuration');
  const [root, vpn] = plist.PayloadContent;
  t.equal(root?.['PayloadType'], 'com.apple.security.root');
  t.equal(new X509Certificate(root?.['PayloadContent'] as Buffer).fingerprint256, new X509Certificate(ca.certificatePem).fingerprint256);
  const ikev2 = vpn?.['IKEv2'] as Record<string, unknown>;
  t.match(ikev2, { RemoteAddress: 'vpn.example.com', RemoteIdentifier: 'vpn.example.com', LocalIdentifier: "o'brien", AuthenticationMethod: 'None', ExtendedAuthEnabled: 1, ServerCertificateIssuerCommonName: 'Postern Test CA', DisableMOBIKE: 0 });
  t.match(ikev2['IKESecurityAssociationParameters'], { EncryptionAlgorithm: 'AES-256-GCM', IntegrityAlgorithm: 'SHA2-256', DiffieHellmanGroup: 31 }, 'Apple takes the gateway\'s first choice, Curve25519');
  t.equal(p.ike, config.listeners.ikev2.proposals.ike[0]);
  t.notMatch(text(p), /Password/, 'no password in the profile');
  const uuids = [...text(p).matchAll(/<key>PayloadUUID<\/key>\s*<string>([^<]+)<\/string>/g)].map((m) => m[1]);
  t.equal(new Set(uuids).size, 3, 'every payload has its own UUID');
});

t.test('Android (strongSwan app): the JSON the app imports, with the gateway\'s first proposals', async (t) => {
  const p = clientProfile('android', input, uuid);
  const json = JSON.parse(text(p)) as Record<string, unknown> & { remote: { addr: string; id: string; cert: string }; local: { eap_id: string } };
  t.equal(json['type'], 'ikev2-eap');
  t.same([json.remote.addr, json.remote.id, json.local.eap_id], ['vpn.example.com', 'vpn.example.com', "o'brien"]);
  t.equal(new X509Certificate(Buffer.from(json.remote.cert, 'base64')).subject, new X509Certificate(ca.certificatePem).subject);
  t.same([json['ike-proposal'], json['esp-proposal']], [config.listeners.ikev2.proposals.ike[0], config.listeners.ikev2.proposals.esp[0]]);
});

t.test('Linux: the script writes the CA and a 0600 NetworkManager keyfile and reloads NetworkManager', async (t) => {
  const p = clientProfile('linux', input, uuid);
  const dir = mkdtempSync(join(tmpdir(), 'postern-profile-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // Run it against a scratch root with a stand-in nmcli that records its call.
  const script = join(dir, 'profile.sh');
  writeFileSync(script, text(p).replace(/\/etc\//g, `${dir}/etc/`));
  execFileSync('mkdir', ['-p', join(dir, 'etc/NetworkManager/system-connections'), join(dir, 'bin')]);
  writeFileSync(join(dir, 'bin/nmcli'), `#!/bin/sh\necho "$@" > ${dir}/nmcli.called\n`);
  chmodSync(join(dir, 'bin/nmcli'), 0o755);
  execFileSync('sh', [script], { env: { PATH: `${dir}/bin:/usr/bin:/bin` } });
  const id = p.filename.replace(/\.sh$/, '');
  t.equal(readFileSync(join(dir, `etc/postern/${id}-ca.pem`), 'utf8').trim(), ca.certificatePem.trim(), 'the CA, byte for byte');
  const keyfile = join(dir, `etc/NetworkManager/system-connections/${id}.nmconnection`);
  t.equal(statSync(keyfile).mode & 0o777, 0o600, 'the keyfile is 0600');
  const keyfileText = readFileSync(keyfile, 'utf8');
  t.match(keyfileText, /service-type=org\.freedesktop\.NetworkManager\.strongswan/);
  t.match(keyfileText, new RegExp(`ike=${config.listeners.ikev2.proposals.ike[0]}\\n`));
  t.match(keyfileText, /method=eap\nuser=o'brien/);
  t.equal(readFileSync(join(dir, 'nmcli.called'), 'utf8').trim(), 'connection reload');
});

// Issue 17: the gateway's public identity in every profile, profiles named after the gateway, the
// Android keys the strongSwan app reads.
import { withPublicIdentity } from '../../../firmware/config/public-identity.ts';

/** A gateway with a public name set the way the API sets it (certificate names follow). */
function branch(publicName: string | undefined, publicAddress?: string) {
  const c = withPublicIdentity(defaultConfig(), { publicName, publicAddress });
  c.listeners.sstp.enabled = true;
  const cert = issueServerCertificate(ca, { commonName: c.certificates.server.commonName, sans: c.certificates.server.sans, validityDays: 30, now: new Date() });
  return profileInput(c, { ca, server: { certificatePem: cert.certificatePem, keyPem: cert.keyPem } }, 'alice');
}

t.test('issue 17: the public name, not postern.local, is what every profile dials', async (t) => {
  const input = branch('vpn.branch1.example.com');
  t.equal(input.server, 'vpn.branch1.example.com');
  t.match(text(clientProfile('windows', input, uuid)), /-ServerAddress 'vpn\.branch1\.example\.com' -TunnelType Ikev2/);
  const apple = readPlist(text(clientProfile('apple', input, uuid))) as { PayloadContent: Array<Record<string, unknown>> };
  t.match(apple.PayloadContent[1]?.['IKEv2'], { RemoteAddress: 'vpn.branch1.example.com', RemoteIdentifier: 'vpn.branch1.example.com', ServerCertificateCommonName: 'vpn.branch1.example.com' });
  const android = JSON.parse(text(clientProfile('android', input, uuid))) as { remote: { addr: string; id: string } };
  t.same([android.remote.addr, android.remote.id], ['vpn.branch1.example.com', 'vpn.branch1.example.com']);
  t.match(text(clientProfile('linux', input, uuid)), /address=vpn\.branch1\.example\.com\n/);
  for (const kind of ['windows', 'apple', 'android', 'linux'] as const) t.notMatch(text(clientProfile(kind, input, uuid)), /postern\.local/, `${kind}: no postern.local`);
});

t.test('issue 17: a public address alone is dialled when there is no name; the certificate\'s common name is what Apple checks', async (t) => {
  const input = branch(undefined, '203.0.113.5');
  t.equal(input.server, '203.0.113.5');
  t.equal(input.serverCommonName, 'postern', 'the certificate keeps its common name');
  const apple = readPlist(text(clientProfile('apple', input, uuid))) as { PayloadContent: Array<Record<string, unknown>> };
  t.match(apple.PayloadContent[1]?.['IKEv2'], { RemoteAddress: '203.0.113.5', ServerCertificateCommonName: 'postern' });
});

t.test('issue 17: two branches\' profiles never overwrite each other on one laptop', async (t) => {
  const a = branch('vpn.branch1.example.com');
  const b = branch('vpn.branch2.example.com');
  t.not(a.name, b.name, 'the connection names differ');
  t.match(a.name, /vpn\.branch1\.example\.com/, 'named after the gateway');
  for (const kind of ['windows', 'apple', 'android', 'linux'] as const) {
    t.not(clientProfile(kind, a, uuid).filename, clientProfile(kind, b, uuid).filename, `${kind}: different files`);
  }
  const linuxA = text(clientProfile('linux', a, uuid));
  const linuxB = text(clientProfile('linux', b, uuid));
  const paths = (body: string) => [...body.matchAll(/(\/etc\/\S+?)(?= |$|\n)/gm)].map((m) => m[1]);
  t.same(paths(linuxA).filter((p) => paths(linuxB).includes(p)), ['/etc/postern'], 'Linux: no file in common but the directory');
  const appleId = (body: string) => /<key>PayloadIdentifier<\/key>\s*<string>([^<]+)<\/string>/.exec(body)?.[1];
  t.not(appleId(text(clientProfile('apple', a, uuid))), appleId(text(clientProfile('apple', b, uuid))), 'Apple: different payload identifiers (one does not replace the other)');
  const androidUuid = (i: typeof a) => (JSON.parse(text(clientProfile('android', i, uuid))) as { uuid: string }).uuid;
  t.not(androidUuid(a), androidUuid(b), 'Android: different UUIDs');
  t.equal(androidUuid(a), androidUuid(branch('vpn.branch1.example.com')), 'Android: the same UUID for the same gateway and user, so importing again updates it');
  t.match(androidUuid(a), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a well-formed UUID');
});

t.test('issue 17: the Windows script removes only its own connection (same name and server), and stops at a stranger of that name', async (t) => {
  const body = text(clientProfile('windows', branch('vpn.branch1.example.com'), uuid));
  const name = "'Postern vpn.branch1.example.com'";
  t.notMatch(body, /\| Remove-VpnConnection/, 'nothing is removed by name alone');
  t.match(body, new RegExp(`\\$old = Get-VpnConnection -Name ${name.replace(/\./g, '\\.')} -ErrorAction SilentlyContinue\\r\\nif \\(\\$old -and \\$old\\.ServerAddress -ne 'vpn\\.branch1\\.example\\.com'\\) \\{ throw '[^\\r]*another server[^\\r]*' \\}\\r\\nif \\(\\$old\\) \\{ Remove-VpnConnection -Name ${name.replace(/\./g, '\\.')} -Force \\}`));
  t.match(body, /ServerAddress -ne 'vpn\.branch1\.example\.com'\) \{ throw [^\r]*\r\nif \(\$old\) \{ Remove-VpnConnection -Name 'Postern vpn\.branch1\.example\.com \(SSTP\)'/, 'the SSTP connection too');
  t.equal(body.match(/Remove-VpnConnection/g)?.length, 2, 'two guarded removals, nothing else');
});

t.test('issue 17: the Android profile uses exactly the keys the strongSwan app reads (block-ipv4, not block_ipv4)', async (t) => {
  const json = JSON.parse(text(clientProfile('android', branch('vpn.branch1.example.com'), uuid))) as Record<string, Record<string, unknown>>;
  // The keys VpnProfileImportActivity.parseProfile reads (strongSwan's Android app).
  const known: Record<string, readonly string[] | null> = {
    uuid: null, name: null, type: null, 'ike-proposal': null, 'esp-proposal': null, mtu: null, 'nat-keepalive': null, apps: null, 'excluded-apps': null,
    remote: ['addr', 'port', 'id', 'cert', 'certreq'], local: ['eap_id', 'id', 'p12'], 'split-tunneling': ['subnets', 'excluded', 'block-ipv4', 'block-ipv6'],
  };
  for (const [key, value] of Object.entries(json)) {
    t.ok(key in known, `${key} is a key the app reads`);
    const inner = known[key];
    if (inner) for (const k of Object.keys(value)) t.ok(inner.includes(k), `${key}.${k} is a key the app reads`);
  }
  t.same(json['split-tunneling'], { 'block-ipv4': false, 'block-ipv6': false });
  t.equal(json['type'] as unknown, 'ikev2-eap', 'one of the app\'s VPN types');
});
