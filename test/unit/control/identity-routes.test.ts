// Issue 17 through the API: the public identity (setup, settings, certificate, profiles), and each
// mistake refused or warned about at its field.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { InterfaceInfo } from '../../../firmware/control/system-interfaces.ts';
import { controlHarness } from '../../helpers/control-harness.ts';

const nic = (name: string, addresses: string[]): InterfaceInfo => ({ name, mac: undefined, addresses, state: 'up', rxBytes: 0, txBytes: 0 });
const BOX = [nic('lo', ['127.0.0.1/8']), nic('eth0', ['203.0.113.5/24']), nic('eth1', ['192.168.1.1/24'])];

t.test('issue 17: the public name given at first boot is what the downloaded profile dials, and the gateway certificate carries it', async (t) => {
  const h = await controlHarness(t, () => {}, { interfaces: BOX, setup: { publicName: 'vpn.branch1.example.com' } });
  const identity = await h.call('GET', '/api/v1/identity');
  t.match(identity.json, { publicName: 'vpn.branch1.example.com', dialled: 'vpn.branch1.example.com', suggestion: { address: '203.0.113.5', private: false } });
  t.equal(identity.json.certificateNames[0], 'vpn.branch1.example.com', 'the certificate names it first');
  t.ok(await h.call('POST', '/api/v1/users', { name: 'alice', password: 'Correct-Horse-Battery-7', enabled: true }));
  const profile = await h.call('GET', '/api/v1/profiles/alice/android');
  t.equal(JSON.parse(profile.text).remote.addr, 'vpn.branch1.example.com');
});

t.test('issue 17: changing the public name in settings re-issues the gateway certificate with it', async (t) => {
  const h = await controlHarness(t, () => {}, { interfaces: BOX });
  const before = (await h.call('GET', '/api/v1/identity')).json;
  t.same(before.certificateNames, ['postern', 'postern.local'], 'the default certificate: its common name and postern.local');
  t.match(before.suggestion, { address: '203.0.113.5' }, 'the WAN address is suggested');
  const put = await h.call('PUT', '/api/v1/identity', { publicName: 'vpn.branch2.example.com', publicAddress: '203.0.113.5' });
  t.equal(put.status, 200, put.text);
  t.same(put.json.certificateNames, ['vpn.branch2.example.com', '203.0.113.5', 'postern.local']);
  t.equal(put.json.dialled, 'vpn.branch2.example.com');
  t.same(put.json.warnings.filter((w: { code: string }) => w.code === 'not-public'), [], 'no more "not public" warning');
  const cert = new X509Certificate(readFileSync(join(h.stateDir, 'pki', 'server.pem')));
  t.match(cert.subjectAltName, /DNS:vpn\.branch2\.example\.com, IP Address:203\.0\.113\.5/, 'the certificate on disk was issued again');
  t.match(cert.subject, /CN=vpn\.branch2\.example\.com/);
  t.match(cert.infoAccess, /CA Issuers - URI:http:\/\/vpn\.branch2\.example\.com\/pki\/ca\.crt/, 'its CA issuer URL names the public name (certificates.publication.host)');
});

t.test('issue 17: a mistyped public address or name is refused at its field', async (t) => {
  const h = await controlHarness(t, () => {}, { interfaces: BOX });
  const bad = await h.call('PUT', '/api/v1/identity', { publicAddress: '300.1.1.1' });
  t.equal(bad.status, 422);
  t.match(bad.json.error.details.issues, [{ path: 'system.publicAddress', message: /four numbers from 0 to 255/ }]);
  const badName = await h.call('PUT', '/api/v1/identity', { publicName: 'vpn..example.com' });
  t.match(badName.json.error.details.issues, [{ path: 'system.publicName' }]);
});

t.test('issue 17: the API refuses a remote network inside the LAN at sites[0].remoteSubnets[0], with the warnings beside', async (t) => {
  const h = await controlHarness(t, () => {}, { interfaces: BOX });
  const r = await h.call('POST', '/api/v1/sites', { name: 'branch', protocol: 'ikev2', remote: '198.51.100.7', localSubnets: ['10.9.0.0/24'], remoteSubnets: ['192.168.1.0/25'], auth: 'psk', psk: 'a-long-site-psk-0123456789', initiate: true, enabled: true });
  t.equal(r.status, 422);
  t.match(r.json.error.details.issues, [{ path: 'sites[0].remoteSubnets[0]', code: 'overlap', message: /inside the LAN/ }]);
  t.match(r.json.error.details.warnings, [{ path: 'listeners.ikev2.proposals.ike[5]', code: 'weak' }], 'warnings come with a refusal too');
});

t.test('issue 17: a WAN interface the box lacks is saved with a warning at system.wan.interface', async (t) => {
  const h = await controlHarness(t, () => {}, { interfaces: BOX });
  const r = await h.call('PUT', '/api/v1/interfaces/wan', { interface: 'eth9' });
  t.equal(r.status, 200, r.text);
  t.match(r.json.warnings.filter((w: { code: string }) => w.code === 'missing'), [{ path: 'system.wan.interface', message: /no interface 'eth9' on this box now \(it has: lo, eth0, eth1\)/ }]);
  const ok = await h.call('PUT', '/api/v1/interfaces/wan', { interface: 'eth0' });
  t.same(ok.json.warnings.filter((w: { code: string }) => w.code === 'missing'), []);
  const both = await h.call('PUT', '/api/v1/interfaces', { wan: { interface: 'eth9' }, lan: { interface: 'eth1', address: '10.10.0.1/24' } });
  t.equal(both.status, 422, 'WAN and LAN together: the LAN on the client pool refuses both');
  t.match(both.json.error.details.issues, [{ path: 'pools[0].ipv4', message: /same network as the LAN/ }]);
  t.equal(h.store.current().config.system.wan.interface, 'eth0', 'and the WAN was not changed alone');
});

t.test('issue 17: password1234 is refused for a VPN user at the password field', async (t) => {
  const h = await controlHarness(t, () => {}, { interfaces: BOX });
  const r = await h.call('POST', '/api/v1/users', { name: 'bob', password: 'password1234', enabled: true });
  t.equal(r.status, 422);
  t.match(r.json.error.details, { field: 'password', problems: [{ rule: 'guessable' }] });
});
