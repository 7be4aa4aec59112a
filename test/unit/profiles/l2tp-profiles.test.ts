// Issue 20: the L2TP/IPsec client profiles, each read by a real reader (Python's plistlib for the
// Apple plist after openssl checks its signature, Python's configparser and nmcli --offline for the
// NetworkManager keyfile, sh -n for the Linux script, a PowerShell-literal reader for the Windows
// commands), carrying the gateway's public name, the group PSK (or the certificate) and proposals
// the gateway's IKEv1 responder accepts; offered only while L2TP is enabled.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { withPublicIdentity } from '../../../firmware/config/public-identity.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import { parseProposal } from '../../../firmware/ike/proposals.ts';
import { ikev1ConnectionsFromConfig, L2TP_IKEV1_CONNECTION } from '../../../firmware/ikev1/ikev1-connections.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../../firmware/pki/issue.ts';
import { clientProfile, profileInput, type ClientProfile } from '../../../firmware/profiles/client-profiles.ts';
import { issueUserCertificate } from '../../../firmware/profiles/user-certificate.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { labSkip } from '../../lab/skip.ts';

const now = new Date();
// A PSK with a quote, a dollar and a backslash: each format must carry it exactly.
const PSK = "Br4nch'L2TP$key\\psk";
const ca = createCa({ commonName: 'Branch CA', validityDays: 30, keyType: 'rsa-2048', now });

function l2tpConfig(change: (c: PosternConfig) => void = () => {}): PosternConfig {
  const config = withPublicIdentity(defaultConfig(), { publicName: 'vpn.branch1.example.com' });
  config.system.wan = { interface: 'wan', mode: 'static', address: '192.168.1.2/24', gateway: '192.168.1.1' };
  config.listeners.l2tp = { ...config.listeners.l2tp, enabled: true, psk: PSK };
  change(config);
  return config;
}
const config = l2tpConfig();
const server = issueServerCertificate(ca, { commonName: 'vpn.branch1.example.com', sans: config.certificates.server.sans, validityDays: 30, now });
const pki = { ca, server: { certificatePem: server.certificatePem, keyPem: server.keyPem } };
const input = profileInput(config, pki, 'alice');

const dir = mkdtempSync(join(tmpdir(), 'postern-l2tp-profiles-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'ca.pem'), ca.certificatePem);
const run = (cmd: string, args: string[], stdin?: string | Buffer) => spawnSync(cmd, args, { ...(stdin === undefined ? {} : { input: stdin }), timeout: 20_000 });
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const toolSkip = labSkip(!has('openssl') ? 'openssl CLI missing' : !has('python3') ? 'python3 missing' : false);
const nmcliSkip = labSkip(!has('nmcli') ? 'nmcli missing (Debian: network-manager)' : false);
const text = (p: ClientProfile): string => {
  if (typeof p.body !== 'string') throw new Error('expected a text profile');
  return p.body;
};

/** The gateway's L2TP responder accepts a proposal of this spelling (the same transforms as one of its own). */
function gatewayAccepts(cfg: PosternConfig, proposal: string, kind: 'ike' | 'esp'): boolean {
  const l2tp = ikev1ConnectionsFromConfig(cfg).find((c) => c.name === L2TP_IKEV1_CONNECTION);
  const spec = parseProposal(proposal, kind);
  const accepted = kind === 'ike' ? l2tp?.ikeProposals : l2tp?.espProposals;
  return spec !== undefined && (accepted ?? []).some((a) => isDeepStrictEqual(a, spec));
}

/**
 * The PowerShell commands of a script: comments dropped, each line's single-quoted literals read
 * ('' is a quote), a stray quote refused; parameters by name (a switch is true).
 */
function powershell(script: string): Array<{ cmdlet: string; params: Record<string, string | true> }> {
  const out: Array<{ cmdlet: string; params: Record<string, string | true> }> = [];
  for (const line of script.split('\r\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const tokens = [...line.matchAll(/'((?:[^']|'')*)'|([^\s']+)|(')/g)];
    if (tokens.some((m) => m[3] !== undefined)) throw new Error(`unterminated literal in: ${line}`);
    const words = tokens.map((m) => (m[1] !== undefined ? { literal: m[1].replace(/''/g, "'") } : { bare: m[2]! }));
    const first = words[0];
    if (!first || !('bare' in first)) continue;
    const params: Record<string, string | true> = {};
    for (let i = 1; i < words.length; i++) {
      const w = words[i]!;
      if (!('bare' in w) || !w.bare.startsWith('-')) continue;
      const next = words[i + 1];
      if (next && ('literal' in next || !next.bare.startsWith('-'))) {
        params[w.bare.slice(1)] = 'literal' in next ? next.literal : next.bare;
        i++;
      } else params[w.bare.slice(1)] = true;
    }
    out.push({ cmdlet: first.bare, params });
  }
  return out;
}

t.test('offered only while L2TP is enabled', async (t) => {
  const off = profileInput(l2tpConfig((c) => { c.listeners.l2tp.enabled = false; }), pki, 'alice');
  t.equal(off.l2tp, undefined);
  for (const kind of ['windows-l2tp', 'apple-l2tp', 'linux-l2tp'] as const) {
    t.throws(() => clientProfile(kind, off), { name: 'ProfileError', message: /not enabled/ }, `${kind}: refused`);
  }
  t.equal(input.l2tp?.psk.toString(), '<redacted>', 'the PSK travels wrapped: it prints as <redacted>');
  t.notMatch(JSON.stringify(input), /Br4nch/, 'and never in a serialised input');
});

t.test('Windows: L2TP with the PSK, MS-CHAPv2, encryption required, NAT rule, IPsec set to the gateway\'s proposals', async (t) => {
  const p = clientProfile('windows-l2tp', input);
  const commands = powershell(text(p));
  const add = commands.find((c) => c.cmdlet === 'Add-VpnConnection')?.params;
  t.match(add, { Name: 'Postern vpn.branch1.example.com (L2TP)', ServerAddress: 'vpn.branch1.example.com', TunnelType: 'L2tp', AuthenticationMethod: 'MSChapv2', EncryptionLevel: 'Required', Force: true });
  t.equal(add?.['L2tpPsk'], PSK, 'the PSK, read back from its PowerShell literal, is the configured one');
  const nat = commands.find((c) => c.cmdlet === 'New-ItemProperty')?.params;
  t.match(nat, { Path: 'HKLM:\\SYSTEM\\CurrentControlSet\\Services\\PolicyAgent', Name: 'AssumeUDPEncapsulationContextOnSendRule', PropertyType: 'DWord', Value: '2' }, 'the WAN address is private: the documented NAT-T value is set');
  const ipsec = commands.find((c) => c.cmdlet === 'Set-VpnConnectionIPsecConfiguration')?.params;
  t.match(ipsec, { ConnectionName: add?.['Name'], EncryptionMethod: 'AES256', IntegrityCheckMethod: 'SHA256', DHGroup: 'Group14', CipherTransformConstants: 'AES256', AuthenticationTransformConstants: 'SHA256128', PfsGroup: 'None' });
  t.equal(p.ike, 'aes256-sha256-modp2048');
  t.equal(p.esp, 'aes256-sha256', 'GCM is skipped for Windows\' L2TP: the first CBC proposal');
  t.ok(gatewayAccepts(config, p.ike, 'ike') && gatewayAccepts(config, p.esp, 'esp'), 'both are proposals the gateway\'s L2TP responder accepts');
  t.match(text(p), /# Step 1: .*NAT[\s\S]*# Step 3: [\s\S]*# Step 4: /, 'each step is explained in the script');
  t.match(p.install, /AssumeUDPEncapsulationContextOnSendRule = 2[\s\S]*Restart/);
  t.match(p.filename, /-l2tp\.ps1$/);

  const publicWan = profileInput(l2tpConfig((c) => { c.system.wan = { interface: 'wan', mode: 'static', address: '198.51.100.7/24' }; }), pki, 'alice');
  t.notOk(powershell(text(clientProfile('windows-l2tp', publicWan))).some((c) => c.cmdlet === 'New-ItemProperty'), 'a public WAN address: no registry change');
  t.throws(() => clientProfile('windows-l2tp', { ...input, l2tp: { ...input.l2tp!, ikeProposals: ['aes128-sha1-modp1024'] } }), { name: 'ProfileError', message: /Windows/ }, 'nothing Windows can express: a clear error');
  t.throws(() => powershell("Add-VpnConnection -Name 'o''brien"), /unterminated/, 'the reader refuses a broken literal (the check can fail)');
});

t.test('Apple: signed, plistlib reads VPNType L2TP with the shared secret as data and the gateway\'s name', { skip: toolSkip }, async (t) => {
  const p = clientProfile('apple-l2tp', input);
  const vpn = applePayloads(p).find((x) => x['PayloadType'] === 'com.apple.vpn.managed')!;
  t.match(vpn, { VPNType: 'L2TP', UserDefinedName: 'Postern vpn.branch1.example.com (L2TP)', PPP: { AuthName: 'alice', CommRemoteAddress: 'vpn.branch1.example.com' } });
  const ipsec = vpn['IPSec'] as Record<string, unknown>;
  t.match(ipsec, { AuthenticationMethod: 'SharedSecret', LocalIdentifierType: 'KeyID' });
  t.equal(Buffer.from((ipsec['SharedSecret'] as { $data: string }).$data, 'base64').toString('utf8'), PSK, 'SharedSecret is Data holding the PSK');
  t.notOk('AuthPassword' in (vpn['PPP'] as object), 'no password: the device asks');
  t.match(p.filename, /-l2tp\.mobileconfig$/);
});

t.test('certificates: Apple names the user\'s PKCS#12, Windows imports it as the machine certificate, Linux uses machine-cert', { skip: toolSkip }, async (t) => {
  const certConfig = l2tpConfig((c) => { c.listeners.l2tp.psk = ''; c.listeners.l2tp.ipsec = { auth: 'certificate' }; });
  const issued = issueUserCertificate(pki, certConfig, 'alice', new Secret('correct horse battery staple'), now);
  const certInput = profileInput(certConfig, pki, 'alice', { clientCertificate: issued.clientCertificate });
  t.throws(() => clientProfile('apple-l2tp', profileInput(certConfig, pki, 'alice')), { message: /certificate/ }, 'no certificate, no profile');
  const payloads = applePayloads(clientProfile('apple-l2tp', certInput));
  const identity = payloads.find((x) => x['PayloadType'] === 'com.apple.security.pkcs12');
  const vpn = payloads.find((x) => x['PayloadType'] === 'com.apple.vpn.managed')!;
  t.match(vpn['IPSec'], { AuthenticationMethod: 'Certificate', PayloadCertificateUUID: identity?.['PayloadUUID'] });
  t.ok(payloads.some((x) => x['PayloadType'] === 'com.apple.security.root'), 'the gateway\'s CA as a trusted root');
  const win = powershell(text(clientProfile('windows-l2tp', certInput)));
  t.ok(win.some((c) => c.cmdlet === 'Import-Certificate' && c.params['CertStoreLocation'] === 'Cert:\\LocalMachine\\Root'), 'Windows: the CA into the machine\'s roots');
  t.match(text(clientProfile('windows-l2tp', certInput)), /Import-PfxCertificate -FilePath \$p12File -CertStoreLocation Cert:\\LocalMachine\\My/);
  t.notOk(win.find((c) => c.cmdlet === 'Add-VpnConnection')?.params['L2tpPsk'], 'no PSK: Windows uses the machine certificate');
  const vpnSection = ini(keyfileOf(text(clientProfile('linux-l2tp', certInput))))['vpn'];
  t.match(vpnSection, { 'machine-auth-type': 'tls', 'machine-cert': /\/etc\/postern\/.*-cert\.pem$/, 'machine-key': /-key\.pem$/, 'machine-ca': /-ca\.pem$/ });
});

/** The plist inside a signed profile: openssl checks the signature against the CA, plistlib reads it. */
function applePayloads(p: ClientProfile): Array<Record<string, unknown>> {
  t.ok(Buffer.isBuffer(p.body), 'a signed (DER) profile');
  writeFileSync(join(dir, 'signed.der'), p.body as Buffer);
  const verified = run('openssl', ['cms', '-verify', '-inform', 'DER', '-in', join(dir, 'signed.der'), '-CAfile', join(dir, 'ca.pem'), '-purpose', 'any']);
  if (verified.status !== 0) throw new Error(`the signature does not verify: ${verified.stderr.toString()}`);
  const script = 'import json,plistlib,sys,base64\nd=plistlib.loads(sys.stdin.buffer.read())\nprint(json.dumps(d, default=lambda b: {"$data": base64.b64encode(b).decode()}))';
  const r = run('python3', ['-c', script], verified.stdout);
  if (r.status !== 0) throw new Error(`plistlib refused the profile: ${r.stderr.toString()}`);
  return (JSON.parse(r.stdout.toString()) as { PayloadContent: Array<Record<string, unknown>> }).PayloadContent;
}

/** The keyfile the Linux script writes (its quoted here-document). */
const keyfileOf = (script: string): string => /<<'POSTERN_CONNECTION'\n([\s\S]*?)\nPOSTERN_CONNECTION/.exec(script)?.[1] ?? '';

/** Python's configparser reads the keyfile as INI (no interpolation, case kept); GLib's \\ escapes undone. */
function ini(keyfile: string): Record<string, Record<string, string>> {
  const script = 'import configparser,json,sys\np=configparser.ConfigParser(interpolation=None)\np.optionxform=str\np.read_string(sys.stdin.read())\nprint(json.dumps({s: dict(p[s]) for s in p.sections()}))';
  const r = run('python3', ['-c', script], keyfile);
  if (r.status !== 0) throw new Error(`configparser refused the keyfile: ${r.stderr.toString()}`);
  const parsed = JSON.parse(r.stdout.toString()) as Record<string, Record<string, string>>;
  for (const section of Object.values(parsed)) for (const [k, v] of Object.entries(section)) section[k] = v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
  return parsed;
}

t.test('Linux: a network-manager-l2tp keyfile with the PSK and the gateway\'s first IKEv1 proposals', { skip: toolSkip }, async (t) => {
  const p = clientProfile('linux-l2tp', input);
  t.equal(run('sh', ['-n'], text(p)).status, 0, 'sh -n: the script parses');
  // Run for real under a scratch root (a stand-in nmcli): it writes the keyfile, readable by root only.
  const root = mkdtempSync(join(dir, 'root-'));
  mkdirSync(join(root, 'etc/NetworkManager/system-connections'), { recursive: true });
  mkdirSync(join(root, 'bin'));
  writeFileSync(join(root, 'bin/nmcli'), `#!/bin/sh\necho "$@" > ${root}/nmcli-args\n`, { mode: 0o755 });
  const ran = spawnSync('sh', ['-c', text(p).replace(/\/etc\//g, `${root}/etc/`)], { env: { PATH: `${root}/bin:/usr/bin:/bin` }, timeout: 20_000 });
  t.equal(ran.status, 0, `the script runs (${ran.stderr.toString().trim()})`);
  const written = join(root, 'etc/NetworkManager/system-connections', p.filename.replace(/\.sh$/, '.nmconnection'));
  t.equal(statSync(written).mode & 0o777, 0o600, 'the connection file is mode 0600 (it holds the PSK)');
  t.equal(readFileSync(written, 'utf8').trimEnd(), keyfileOf(text(p)), 'and holds the keyfile, the shell expanding nothing in it');
  t.equal(readFileSync(join(root, 'nmcli-args'), 'utf8').trim(), 'connection reload', 'then NetworkManager reloads its connections');
  const keyfile = ini(keyfileOf(text(p)));
  t.match(keyfile['connection'], { id: 'Postern vpn.branch1.example.com (L2TP)', type: 'vpn' });
  t.match(keyfile['vpn'], {
    'service-type': 'org.freedesktop.NetworkManager.l2tp', gateway: 'vpn.branch1.example.com', user: 'alice', 'password-flags': '2',
    'ipsec-enabled': 'yes', 'machine-auth-type': 'psk', 'ipsec-psk-flags': '0', 'ipsec-ike': 'aes256-sha256-modp2048', 'ipsec-esp': 'aes256gcm16',
    'refuse-pap': 'yes', 'refuse-chap': 'yes', 'refuse-mschap': 'yes',
  });
  t.notOk('refuse-mschapv2' in keyfile['vpn']!, 'MS-CHAPv2, the gateway\'s PPP authentication, is left on');
  t.equal(keyfile['vpn-secrets']?.['ipsec-psk'], PSK, 'the PSK, read back through the keyfile escapes, is the configured one');
  t.ok(gatewayAccepts(config, keyfile['vpn']!['ipsec-ike']!, 'ike') && gatewayAccepts(config, keyfile['vpn']!['ipsec-esp']!, 'esp'), 'the gateway\'s L2TP responder accepts both');
  // The lab's L2TP/IPsec client (charon + xl2tpd in the VM guest) dials Postern with these same values.
  const lab = readFileSync(new URL('../../interop/vm-l2tp-xl2tpd.test.ts', import.meta.url), 'utf8');
  t.match(lab, new RegExp(`proposals: \\['${keyfile['vpn']!['ipsec-ike']}'\\]`), 'the lab client\'s IKE proposal is the keyfile\'s');
  t.match(lab, new RegExp(`espProposals: \\['${keyfile['vpn']!['ipsec-esp']}'\\], mode: 'transport'`), 'and its transport-mode ESP proposal');
  const custom = ini(keyfileOf(text(clientProfile('linux-l2tp', profileInput(l2tpConfig((c) => { c.listeners.l2tp.ipsec = { auth: 'psk', proposals: { ike: ['aes128-sha256-ecp256'], esp: ['aes128-sha1'] } }; }), pki, 'alice')))));
  t.match(custom['vpn'], { 'ipsec-ike': 'aes128-sha256-ecp256', 'ipsec-esp': 'aes128-sha1' }, 'configured proposals are followed');
});

t.test('Linux: nmcli --offline accepts the keyfile', { skip: nmcliSkip }, async (t) => {
  const keyfile = `${keyfileOf(text(clientProfile('linux-l2tp', input)))}\n`;
  const r = run('nmcli', ['--offline', 'connection', 'modify', 'connection.autoconnect', 'no'], keyfile);
  t.equal(r.status, 0, `nmcli accepts the keyfile (${r.stderr.toString().trim()})`);
  t.match(r.stdout.toString(), /service-type=org\.freedesktop\.NetworkManager\.l2tp/);
  t.not(run('nmcli', ['--offline', 'connection', 'modify', 'connection.autoconnect', 'no'], keyfile.replace('type=vpn', 'type=no-such-type')).status, 0, 'and refuses a broken one');
});
