// Issue 22: the PPTP client profiles, read by real readers (a PowerShell-literal reader for the
// Windows commands, sh -n and a run under a scratch root for the Linux script, Python's configparser
// and nmcli --offline for the NetworkManager keyfile): MS-CHAPv2 with encryption required (MPPE-128),
// the gateway's public name, the insecurity said in each; offered through the API only while PPTP is
// enabled, with Apple and Android listed as having no PPTP client.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { withPublicIdentity } from '../../../firmware/config/public-identity.ts';
import { createCa } from '../../../firmware/pki/ca.ts';
import { issueServerCertificate } from '../../../firmware/pki/issue.ts';
import { clientProfile, profileInput, type ClientProfile } from '../../../firmware/profiles/client-profiles.ts';
import { controlHarness } from '../../helpers/control-harness.ts';
import { labSkip } from '../../lab/skip.ts';

const now = new Date();
const ca = createCa({ commonName: 'Branch CA', validityDays: 30, keyType: 'rsa-2048', now });
const config = withPublicIdentity(defaultConfig(), { publicName: 'vpn.branch1.example.com' });
config.listeners.pptp.enabled = true;
const server = issueServerCertificate(ca, { commonName: 'vpn.branch1.example.com', sans: config.certificates.server.sans, validityDays: 30, now });
const input = profileInput(config, { ca, server: { certificatePem: server.certificatePem, keyPem: server.keyPem } }, "o'brien");

const dir = mkdtempSync(join(tmpdir(), 'postern-pptp-profiles-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const run = (cmd: string, args: string[], stdin?: string) => spawnSync(cmd, args, { ...(stdin === undefined ? {} : { input: stdin }), timeout: 20_000 });
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const toolSkip = labSkip(!has('python3') ? 'python3 missing' : false);
const nmcliSkip = labSkip(!has('nmcli') ? 'nmcli missing (Debian: network-manager)' : false);
const text = (p: ClientProfile): string => {
  if (typeof p.body !== 'string') throw new Error('expected a text profile');
  return p.body;
};
const keyfileOf = (script: string): string => /<<'POSTERN_CONNECTION'\n([\s\S]*?)\nPOSTERN_CONNECTION/.exec(script)?.[1] ?? '';

/** A PowerShell line's parameters: single-quoted literals read ('' is a quote), a switch is true. */
function addVpnConnection(script: string): Record<string, string | true> | undefined {
  const line = script.split('\r\n').find((l) => l.startsWith('Add-VpnConnection '));
  if (!line) return undefined;
  const words = [...line.matchAll(/'((?:[^']|'')*)'|(\S+)/g)].map((m) => (m[1] !== undefined ? { literal: m[1].replace(/''/g, "'") } : { bare: m[2]! }));
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
  return params;
}

function ini(keyfile: string): Record<string, Record<string, string>> {
  const script = 'import configparser,json,sys\np=configparser.ConfigParser(interpolation=None)\np.optionxform=str\np.read_string(sys.stdin.read())\nprint(json.dumps({s: dict(p[s]) for s in p.sections()}))';
  const r = run('python3', ['-c', script], keyfile);
  if (r.status !== 0) throw new Error(`configparser refused the keyfile: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as Record<string, Record<string, string>>;
}

t.test('Windows: PPTP, MS-CHAPv2, encryption required, the insecurity said', async (t) => {
  const p = clientProfile('windows-pptp', input);
  t.match(addVpnConnection(text(p)), { Name: 'Postern vpn.branch1.example.com (PPTP)', ServerAddress: 'vpn.branch1.example.com', TunnelType: 'Pptp', AuthenticationMethod: 'MSChapv2', EncryptionLevel: 'Required', RememberCredential: true, Force: true });
  t.match(text(p), /^# PPTP is insecure/m, 'the script says PPTP is insecure');
  t.match(p.install, /^PPTP is insecure/, 'and so does the install text');
  t.match(p.filename, /-pptp\.ps1$/);
  t.match(addVpnConnection(text(clientProfile('windows-pptp', { ...input, allUserConnection: true }))), { AllUserConnection: true }, 'for all users of the PC when asked');
});

t.test('Linux: a network-manager-pptp keyfile, MS-CHAPv2 and MPPE-128 required, written 0600', { skip: toolSkip }, async (t) => {
  const p = clientProfile('linux-pptp', input);
  t.equal(run('sh', ['-n'], text(p)).status, 0, 'sh -n: the script parses');
  const root = mkdtempSync(join(dir, 'root-'));
  mkdirSync(join(root, 'etc/NetworkManager/system-connections'), { recursive: true });
  mkdirSync(join(root, 'bin'));
  writeFileSync(join(root, 'bin/nmcli'), `#!/bin/sh\necho "$@" > ${root}/nmcli-args\n`, { mode: 0o755 });
  const ran = spawnSync('sh', ['-c', text(p).replace(/\/etc\//g, `${root}/etc/`)], { env: { PATH: `${root}/bin:/usr/bin:/bin` }, timeout: 20_000 });
  t.equal(ran.status, 0, `the script runs (${ran.stderr.toString().trim()})`);
  const written = join(root, 'etc/NetworkManager/system-connections', p.filename.replace(/\.sh$/, '.nmconnection'));
  t.equal(statSync(written).mode & 0o777, 0o600);
  t.equal(readFileSync(written, 'utf8').trimEnd(), keyfileOf(text(p)), 'the keyfile as written, nothing expanded by the shell');
  const keyfile = ini(keyfileOf(text(p)));
  t.match(keyfile['connection'], { id: 'Postern vpn.branch1.example.com (PPTP)', type: 'vpn', autoconnect: 'false' });
  t.match(keyfile['vpn'], {
    'service-type': 'org.freedesktop.NetworkManager.pptp', gateway: 'vpn.branch1.example.com', user: "o'brien", 'password-flags': '2',
    'refuse-eap': 'yes', 'refuse-pap': 'yes', 'refuse-chap': 'yes', 'refuse-mschap': 'yes', 'require-mppe': 'yes', 'require-mppe-128': 'yes',
  });
  t.notOk('refuse-mschapv2' in keyfile['vpn']!, 'MS-CHAPv2, the only method the gateway offers, is left on');
  t.notOk('password' in keyfile['vpn']! || 'vpn-secrets' in keyfile, 'no password stored');
});

t.test('Linux: nmcli --offline accepts the keyfile', { skip: nmcliSkip }, async (t) => {
  const keyfile = `${keyfileOf(text(clientProfile('linux-pptp', input)))}\n`;
  const r = run('nmcli', ['--offline', 'connection', 'modify', 'connection.autoconnect', 'no'], keyfile);
  t.equal(r.status, 0, `nmcli accepts the keyfile (${r.stderr.toString().trim()})`);
  t.match(r.stdout.toString(), /service-type=org\.freedesktop\.NetworkManager\.pptp/);
});

t.test('the API offers the PPTP profiles only while PPTP is enabled; Apple and Android are listed as having no client', async (t) => {
  const h = await controlHarness(t, (c) => { c.listeners.pptp.enabled = true; });
  t.equal((await h.call('POST', '/api/v1/users', { name: 'alice', password: 'Correct-Horse-Battery-7', enabled: true })).status, 201);
  const list = (await h.call('GET', '/api/v1/profiles/alice')).json as { kinds: Array<{ kind: string; login?: string; note?: string }> };
  t.match(list.kinds.filter((k) => k.kind.endsWith('-pptp')), [
    { kind: 'windows-pptp', login: 'password' }, { kind: 'linux-pptp', login: 'password' },
    { kind: 'apple-pptp', note: /Apple removed the PPTP client/ }, { kind: 'android-pptp', note: /no PPTP client/ },
  ]);
  const download = await h.call('GET', '/api/v1/profiles/alice/windows-pptp');
  t.equal(download.status, 200);
  t.match(download.text, /-TunnelType Pptp/);
  const off = await controlHarness(t, () => {});
  await off.call('POST', '/api/v1/users', { name: 'alice', password: 'Correct-Horse-Battery-7', enabled: true });
  t.notOk(((await off.call('GET', '/api/v1/profiles/alice')).json as { kinds: Array<{ kind: string }> }).kinds.some((k) => k.kind.includes('pptp')), 'PPTP off: none listed');
  t.equal((await off.call('GET', '/api/v1/profiles/alice/linux-pptp')).status, 409, 'nor downloadable');
});
