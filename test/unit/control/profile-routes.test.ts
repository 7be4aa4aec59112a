// Issue 17 through the API: each profile with how to install it, the Windows all-users option, and
// certificate login (a POST with the bundle password issues the user's certificate into the profile).
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { crlPaths } from '../../../firmware/pki/crl-store.ts';
import { decodeCertificateList } from '../../../firmware/revocation/certificate-list.ts';
import { normalSerial } from '../../../firmware/revocation/der-read.ts';
import { loadIssued } from '../../../firmware/pki/issued-registry.ts';
import { importPkcs12 } from '../../../firmware/pki/pkcs12.ts';
import { Secret } from '../../../firmware/util/secret.ts';
import { controlHarness } from '../../helpers/control-harness.ts';

const USER = { name: 'alice', password: 'Correct-Horse-Battery-7', enabled: true };

t.test('password login: the list with install texts, GET downloads, ?allUsers=true for Windows', async (t) => {
  const h = await controlHarness(t, () => {}, { setup: { publicName: 'vpn.branch1.example.com' } });
  t.equal((await h.call('POST', '/api/v1/users', USER)).status, 201);
  const list = await h.call('GET', '/api/v1/profiles/alice');
  t.equal(list.status, 200, list.text);
  t.match(list.json, { user: 'alice', login: 'password' });
  t.same(list.json.kinds.map((k: { kind: string }) => k.kind), ['windows', 'apple', 'android', 'linux']);
  t.match(list.json.kinds[0].install, /powershell -ExecutionPolicy Bypass -File/);
  t.ok(list.json.kinds.every((k: { install: string }) => k.install.length > 40), 'every kind has its text');
  t.notMatch((await h.call('GET', '/api/v1/profiles/alice/windows')).text, /AllUserConnection/);
  t.match((await h.call('GET', '/api/v1/profiles/alice/windows?allUsers=true')).text, /Add-VpnConnection [^\r]*-AllUserConnection/);
  t.equal((await h.call('GET', '/api/v1/profiles/nobody')).status, 404);
  t.equal((await h.call('GET', '/api/v1/profiles/alice/beos')).status, 400);
});

t.test('certificate login: a POST with the bundle password issues alice a certificate into her profile, recorded as hers', async (t) => {
  const h = await controlHarness(t, () => {}, { setup: { publicName: 'vpn.branch1.example.com' } });
  t.equal((await h.call('POST', '/api/v1/users', USER)).status, 201);
  const listeners = (await h.call('GET', '/api/v1/listeners')).json;
  const put = await h.call('PUT', '/api/v1/listeners/ikev2', { ...listeners.ikev2, auth: 'certificate' });
  t.equal(put.status, 200, put.text);
  const list = await h.call('GET', '/api/v1/profiles/alice');
  t.match(list.json, { login: 'certificate', identity: 'alice@vpn.branch1.example.com' });
  t.match(list.json.kinds[2].install, /certificate password/);
  const get = await h.call('GET', '/api/v1/profiles/alice/android');
  t.equal(get.status, 409, 'a GET cannot carry the password');
  t.match(get.json.error, { details: { field: 'password' } });
  const weak = await h.call('POST', '/api/v1/profiles/alice/android', { password: 'alice' });
  t.equal(weak.status, 422, 'a weak bundle password is refused');
  const password = 'a-long-bundle-passphrase-42';
  const r = await h.call('POST', '/api/v1/profiles/alice/android', { password });
  t.equal(r.status, 200, r.text);
  const json = JSON.parse(r.text) as { type: string; local: { id: string; p12: string } };
  t.match(json, { type: 'ikev2-cert', local: { id: 'alice@vpn.branch1.example.com' } });
  const cert = new X509Certificate(importPkcs12(Buffer.from(json.local.p12, 'base64'), new Secret(password)).certificatePem);
  const records = loadIssued(h.stateDir);
  t.match(records.at(-1), { user: 'alice', identity: 'alice@vpn.branch1.example.com', serialHex: cert.serialNumber.toLowerCase().replace(/^0+/, '') }, 'the registry knows the certificate is alice\'s');
  const windows = await h.call('POST', '/api/v1/profiles/alice/windows', { password, allUserConnection: true });
  t.match(windows.text, /Import-PfxCertificate[^\r]*LocalMachine\\My/);
  t.match(windows.text, /-AuthenticationMethod MachineCertificate[^\r]*-AllUserConnection/);
  t.equal(loadIssued(h.stateDir).length, 2, 'each download is a new certificate (keys are never kept)');
});

t.test('a removed user\'s certificates are revoked with it, and the CRL lists them at once', async (t) => {
  const h = await controlHarness(t, () => {}, { setup: { publicName: 'vpn.branch1.example.com' } });
  t.equal((await h.call('POST', '/api/v1/users', USER)).status, 201);
  t.equal((await h.call('POST', '/api/v1/users', { ...USER, name: 'bob' })).status, 201);
  const listeners = (await h.call('GET', '/api/v1/listeners')).json;
  t.equal((await h.call('PUT', '/api/v1/listeners/ikev2', { ...listeners.ikev2, auth: 'certificate' })).status, 200);
  for (const user of ['alice', 'bob']) t.equal((await h.call('POST', `/api/v1/profiles/${user}/android`, { password: 'a-long-bundle-passphrase-42' })).status, 200);
  t.equal((await h.call('DELETE', '/api/v1/users/alice')).status, 200);
  const records = loadIssued(h.stateDir);
  t.ok(records.find((r) => r.user === 'alice')?.revokedAt, 'alice\'s certificate is revoked');
  t.equal(records.find((r) => r.user === 'bob')?.revokedAt, undefined, 'bob\'s is not');
  const crl = decodeCertificateList(readFileSync(crlPaths(h.stateDir).der));
  const serialOf = (user: string) => normalSerial(records.find((r) => r.user === user)!.serialHex);
  t.ok(crl.ok && crl.crl.revoked.has(serialOf('alice')), 'the published CRL lists alice\'s serial');
  t.ok(crl.ok && !crl.crl.revoked.has(serialOf('bob')), 'and not bob\'s');
});

t.test('L2TP/IPsec (issue 20): listed only while enabled, Android said to have none, downloads by GET even with IKEv2 certificate login, the PSK never logged', async (t) => {
  const h = await controlHarness(t, () => {}, { setup: { publicName: 'vpn.branch1.example.com' } });
  t.equal((await h.call('POST', '/api/v1/users', USER)).status, 201);
  const kinds = async () => (await h.call('GET', '/api/v1/profiles/alice')).json.kinds as Array<{ kind: string; login?: string; note?: string; error?: string; install?: string }>;
  t.notOk((await kinds()).some((k) => k.kind.endsWith('l2tp')), 'L2TP off: no L2TP profiles');
  t.equal((await h.call('GET', '/api/v1/profiles/alice/windows-l2tp')).status, 409, 'and none to download');
  const psk = 'Group-Key-For-L2TP-2026';
  const listeners = (await h.call('GET', '/api/v1/listeners')).json;
  t.equal((await h.call('PUT', '/api/v1/listeners/l2tp', { enabled: true, psk })).status, 200);
  t.equal((await h.call('PUT', '/api/v1/listeners/ikev2', { ...listeners.ikev2, auth: 'certificate' })).status, 200);
  const list = await kinds();
  t.same(list.map((k) => k.kind), ['windows', 'apple', 'android', 'linux', 'windows-l2tp', 'apple-l2tp', 'linux-l2tp', 'android-l2tp']);
  t.match(list.find((k) => k.kind === 'android-l2tp'), { note: /Android 12 and later have no L2TP/ });
  t.notOk(list.find((k) => k.kind === 'android-l2tp')?.install, 'nothing to install for Android L2TP');
  t.match(list.find((k) => k.kind === 'windows-l2tp'), { login: 'password', install: /Adds "Postern vpn\.branch1\.example\.com \(L2TP\)": L2TP\/IPsec/ });
  t.match(list.find((k) => k.kind === 'windows'), { login: 'certificate' });
  const win = await h.call('GET', '/api/v1/profiles/alice/windows-l2tp');
  t.equal(win.status, 200, 'the PSK profile is a plain GET while IKEv2 wants certificates');
  t.match(win.text, `-TunnelType L2tp -L2tpPsk '${psk}'`);
  const linux = await h.call('GET', '/api/v1/profiles/alice/linux-l2tp');
  t.match(linux.text, `ipsec-psk=${psk}`);
  t.notMatch(JSON.stringify(h.logs.records()), psk, 'the PSK is in the downloads only, never in the log');
  t.notMatch((await h.call('GET', '/api/v1/profiles/alice')).text, psk, 'nor in the list');
});

t.test('L2TP/IPsec with certificates while IKEv2 signs in with passwords: only the L2TP downloads issue a certificate', async (t) => {
  const h = await controlHarness(t, () => {}, { setup: { publicName: 'vpn.branch1.example.com' } });
  t.equal((await h.call('POST', '/api/v1/users', USER)).status, 201);
  const put = await h.call('PUT', '/api/v1/listeners/l2tp', { enabled: true, psk: 'Group-Key-For-L2TP-2026', ipsec: { auth: 'certificate' } });
  t.equal(put.status, 200, put.text);
  const list = (await h.call('GET', '/api/v1/profiles/alice')).json;
  const login = Object.fromEntries((list.kinds as Array<{ kind: string; login?: string }>).map((k) => [k.kind, k.login]));
  t.match(login, { windows: 'password', linux: 'password', 'windows-l2tp': 'certificate', 'apple-l2tp': 'certificate', 'linux-l2tp': 'certificate' });
  t.match(list, { login: 'password', identity: 'alice@vpn.branch1.example.com' }, 'the identity the L2TP certificates will name');
  t.equal((await h.call('GET', '/api/v1/profiles/alice/windows')).status, 200, 'IKEv2 downloads stay plain GETs');
  t.equal((await h.call('GET', '/api/v1/profiles/alice/windows-l2tp')).status, 409, 'an L2TP one needs the bundle password');
  const r = await h.call('POST', '/api/v1/profiles/alice/windows-l2tp', { password: 'a-long-bundle-passphrase-42' });
  t.equal(r.status, 200, r.text);
  t.match(r.text, /Import-PfxCertificate[^\r]*LocalMachine\\My/);
  t.match(r.text, /-TunnelType L2tp -AuthenticationMethod MSChapv2/);
  t.notMatch(r.text, /L2tpPsk|Group-Key-For-L2TP/, 'no group key in a certificate profile');
  t.match(loadIssued(h.stateDir).at(-1), { user: 'alice', identity: 'alice@vpn.branch1.example.com' }, 'the certificate is recorded as alice\'s');
});
