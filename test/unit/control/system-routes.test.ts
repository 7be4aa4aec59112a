// Issue 17, the rest of a router's settings through the API: ports to open, DNS, time, HTTPS for the
// management, the current warnings, an import's preview, traceroute's and reboot's argument checks.
import t from 'tap';
import { controlHarness } from '../../helpers/control-harness.ts';

t.test('ports to open follow the enabled listeners', async (t) => {
  const h = await controlHarness(t);
  const labels = async () => ((await h.call('GET', '/api/v1/ports-to-open')).json.ports as Array<{ label: string }>).map((p) => p.label);
  t.same(await labels(), ['TCP 80', 'TCP 443', 'UDP 500', 'UDP 4500'], 'IKEv2 and SSTP on, the CRL publication on port 80');
  t.equal((await h.call('PUT', '/api/v1/listeners/sstp', { port: 8443 })).status, 200);
  t.equal((await h.call('PUT', '/api/v1/listeners/ikev2', { enabled: false })).status, 200);
  t.same(await labels(), ['TCP 80', 'TCP 8443'], 'the SSTP port moved, IKE gone with IKEv2 off');
  const refused = await h.call('PUT', '/api/v1/listeners/sstp', { port: 70000 });
  t.equal(refused.status, 422);
  t.match(refused.json.error.details.issues, [{ path: 'listeners.sstp.port' }], 'a port out of range is refused at its field');
});

t.test('DNS servers and time: saved, and mistakes refused at their fields', async (t) => {
  const h = await controlHarness(t);
  t.equal((await h.call('PUT', '/api/v1/dns', { servers: ['9.9.9.9', '2620:fe::fe'] })).status, 200);
  t.same((await h.call('GET', '/api/v1/dns')).json.servers, ['9.9.9.9', '2620:fe::fe']);
  const dns = await h.call('PUT', '/api/v1/dns', { servers: ['9.9.9.9', '300.1.1.1'] });
  t.equal(dns.status, 422);
  t.match(dns.json.error.details.issues, [{ path: 'system.dns.servers[1]', message: /four numbers/ }]);
  t.equal((await h.call('PUT', '/api/v1/dns', { servers: 'nope' })).json.error.details.field, 'system.dns.servers');

  t.equal((await h.call('PUT', '/api/v1/time', { timezone: 'Europe/Berlin', ntpServers: ['pool.ntp.org', '192.0.2.123'] })).status, 200);
  t.match((await h.call('GET', '/api/v1/time')).json, { timezone: 'Europe/Berlin', ntpServers: ['pool.ntp.org', '192.0.2.123'] });
  const zone = await h.call('PUT', '/api/v1/time', { timezone: 'Mars/Olympus_Mons' });
  t.match(zone.json.error.details.issues, [{ path: 'system.timezone', message: /time zone/ }], 'a zone that does not exist is refused');
  const ntp = await h.call('PUT', '/api/v1/time', { ntpServers: ['bad name!'] });
  t.match(ntp.json.error.details.issues, [{ path: 'system.ntp.servers[0]' }]);
  t.equal((await h.call('PUT', '/api/v1/time', { ntpServers: [] })).status, 200);
  t.equal(h.store.current().config.system.ntp, undefined, 'an empty list leaves the system its own servers');
});

t.test('IKEv2 authentication and proposals: refused at their fields, weak ones warned at theirs', async (t) => {
  const h = await controlHarness(t);
  const psk = await h.call('PUT', '/api/v1/listeners/ikev2', { auth: 'psk' });
  t.equal(psk.status, 422);
  t.match(psk.json.error.details.issues, [{ path: 'listeners.ikev2.psk', code: 'required' }], 'a group PSK without the key: refused at the key');
  const unknown = await h.call('PUT', '/api/v1/listeners/ikev2', { proposals: { ike: ['aes256-sha256-modp2048', 'aes256-blowfish'], esp: ['aes256gcm16'] } });
  t.match(unknown.json.error.details.issues, [{ path: 'listeners.ikev2.proposals.ike[1]', message: /blowfish/ }]);
  const weak = await h.call('PUT', '/api/v1/listeners/ikev2', { auth: 'psk', psk: 'a-long-remote-access-key', proposals: { ike: ['aes256-sha1-modp1024'], esp: ['aes256gcm16'] } });
  t.equal(weak.status, 200);
  t.match(weak.json.warnings, [{ path: 'listeners.ikev2.auth', code: 'insecure' }, { path: 'listeners.ikev2.proposals.ike[0]', code: 'weak' }]);
  t.equal((await h.call('GET', '/api/v1/listeners')).json.listeners.ikev2.psk, '<redacted>', 'the key is never shown');
});

t.test('HTTPS for the management and the warnings of the configuration now', async (t) => {
  const h = await controlHarness(t);
  t.equal((await h.call('PUT', '/api/v1/management', { https: true })).status, 200);
  t.equal(h.store.current().config.system.management.https, true);
  t.equal((await h.call('PUT', '/api/v1/management', { https: 'yes' })).json.error.details.field, 'system.management.https');
  const warnings = (await h.call('GET', '/api/v1/config/warnings')).json.warnings as Array<{ path: string }>;
  t.ok(warnings.some((w) => w.path === 'listeners.ikev2.proposals.ike[5]'), 'the default modp1024 proposal is flagged');
});

t.test('import preview: changes listed, nothing applied; errors at their paths', async (t) => {
  const h = await controlHarness(t);
  const exported = JSON.parse((await h.call('GET', '/api/v1/config/export')).text);
  const revision = h.store.current().revision;
  exported.system.dns.servers = ['9.9.9.9'];
  exported.pools.push({ name: 'guests', ipv4: '10.11.0.0/24', dns: [] });
  const preview = await h.call('POST', '/api/v1/config/import/preview', { config: exported });
  t.equal(preview.status, 200);
  t.equal(preview.json.valid, true);
  t.same(preview.json.changes, [
    { path: 'system.dns.servers', kind: 'changed', before: '["1.1.1.1","9.9.9.9"]', after: '["9.9.9.9"]' },
    { path: 'pools[guests]', kind: 'added' },
  ], 'each changed setting, the added pool by name');
  t.equal(h.store.current().revision, revision, 'nothing applied');
  exported.pools[1].ipv4 = '10.10.0.0/25';
  const bad = await h.call('POST', '/api/v1/config/import/preview', { config: exported });
  t.equal(bad.json.valid, false);
  t.match(bad.json.issues, [{ path: 'pools[1].ipv4' }]);
});

t.test('traceroute and reboot check their arguments before anything runs', async (t) => {
  const h = await controlHarness(t);
  for (const host of ['127.0.0.1; reboot', '-f', '$(id)', '', 'a b']) {
    const r = await h.call('POST', '/api/v1/diagnostics/traceroute', { host });
    t.same([r.status, r.json.error.details.field], [400, 'host'], `host ${JSON.stringify(host)} refused`);
  }
  const hops = await h.call('POST', '/api/v1/diagnostics/traceroute', { host: '127.0.0.1', maxHops: 31 });
  t.same([hops.status, hops.json.error.details.field], [400, 'maxHops']);
  t.equal((await h.call('POST', '/api/v1/diagnostics/traceroute', { host: '127.0.0.1' })).status, 503, 'the harness has no traceroute');
  const reboot = await h.call('POST', '/api/v1/system/reboot', {});
  t.same([reboot.status, reboot.json.error.details.field], [400, 'confirm'], 'no reboot without the confirmation');
});

t.test('dynamic DNS: secrets never shown, kept when sent back redacted; mistakes refused at their fields', async (t) => {
  const h = await controlHarness(t, (c) => {
    c.system.publicName = 'vpn.example.com';
    c.certificates.server.sans = [...c.certificates.server.sans, 'vpn.example.com'];
  });
  t.match((await h.call('GET', '/api/v1/dynamic-dns')).json.dynamicDns, { enabled: false, method: 'rfc2136', port: 53, ttl: 60 }, 'unset: the defaults');
  const key = Buffer.alloc(32, 7).toString('base64');
  const bad = await h.call('PUT', '/api/v1/dynamic-dns', { dynamicDns: { enabled: true, server: '192.0.2.53', zone: 'example.org', keyName: 'k', keySecret: 'not base64 at all!!' } });
  t.equal(bad.status, 422);
  t.match(bad.json.error.details.issues, [{ path: 'system.dynamicDns.keySecret' }], 'a key that is no base64: at the key');
  t.ok((bad.json.error.details.issues as Array<{ path: string }>).some((i) => i.path === 'system.dynamicDns.zone'), 'a zone without the public name: at the zone');
  t.equal((await h.call('PUT', '/api/v1/dynamic-dns', { dynamicDns: { enabled: true, server: '192.0.2.53', zone: 'example.com', keyName: 'k', keySecret: key } })).status, 200);
  const got = (await h.call('GET', '/api/v1/dynamic-dns')).json.dynamicDns;
  t.equal(got.keySecret, '<redacted>', 'the TSIG key is never shown');
  t.equal((await h.call('PUT', '/api/v1/dynamic-dns', { dynamicDns: { ...got, ttl: 300 } })).status, 200);
  t.match(h.store.current().config.system.dynamicDns, { keySecret: key, ttl: 300 }, 'sent back redacted: the key kept');
  const http = await h.call('PUT', '/api/v1/dynamic-dns', { dynamicDns: { method: 'http', url: '', username: 'me', password: 'secret-pass' } });
  t.match(http.json.error.details.issues, [{ path: 'system.dynamicDns.url', code: 'required' }], 'an empty URL is unset, and refused at the URL');
  t.equal((await h.call('PUT', '/api/v1/dynamic-dns', { dynamicDns: { method: 'http', url: 'https://dyn.example/update?h={name}&ip={address}&token=abc', username: 'me', password: 'secret-pass' } })).status, 200);
  const shown = (await h.call('GET', '/api/v1/dynamic-dns')).json.dynamicDns;
  t.match(shown, { method: 'http', url: '<redacted>', username: 'me', password: '<redacted>' }, 'the URL (it may carry a token) and the password are never shown');
});

t.test("dynamic DNS: the ddns subsystem's last result comes with the settings", async (t) => {
  const subsystems: Record<string, unknown> = {};
  const h = await controlHarness(t, undefined, { status: () => ({ subsystems }) });
  t.equal((await h.call('GET', '/api/v1/dynamic-dns')).json.status, undefined, 'not running: no status');
  subsystems['ddns'] = { state: 'running', detail: 'vpn.example.com → 203.0.113.7', counters: { 'ddns.updates': 1 } };
  t.same((await h.call('GET', '/api/v1/dynamic-dns')).json.status, { state: 'running', detail: 'vpn.example.com → 203.0.113.7' });
});
