// Issue 15.8: a DNS-rebinding page names its own host in Host and Origin alike; the server must answer only
// to the box's own names, before any routing.
import t from 'tap';
import { ADMIN, startWeb } from './web-harness.ts';

const named = (c: { system: { hostname: string; management: { allowedHosts?: string[] } }; certificates: { server: { sans: string[] } } }) => {
  c.system.hostname = 'gw-branch7';
  c.certificates.server.sans = ['vpn.example.org', '203.0.113.9'];
  c.system.management.allowedHosts = ['fw.branch.example'];
};

t.test('issue 15.8: a rebinding Host is refused for setup, login, the API and static files', async (t) => {
  const h = await startWeb(t, { adminSet: false, config: named });
  const requests: Array<[string, string, unknown?]> = [
    ['GET', '/api/v1/setup'],
    ['POST', '/api/v1/setup', { password: ADMIN }],
    ['POST', '/api/v1/login', { password: ADMIN }],
    ['GET', '/api/v1/status'],
    ['GET', '/'],
    ['GET', '/healthz'],
  ];
  for (const host of ['evil.example', `evil.example:${h.port}`, 'EVIL.example.', '198.51.100.66', '[2001:db8::66]:8080', '0.0.0.0', 'gw-branch7.evil.example', 'bad host']) {
    for (const [method, path, body] of requests) {
      const r = await h.call(method, path, { host, body, headers: { origin: `http://${host}` } });
      t.equal(r.status, 421, `${method} ${path} with Host ${host}`);
      if (r.status === 421) t.equal(r.json().error.code, 'POSTERN_ERR_MISDIRECTED_HOST');
    }
  }
  t.equal(h.store.current().config.admin.passwordHash, null, 'setup did not happen through a foreign name');
  t.equal(h.web.counters.misdirected, 8 * requests.length, 'each refusal counted');
  const health = (await h.call('GET', '/healthz')).json();
  t.equal(health.subsystems.web.counters.misdirected, 8 * requests.length, 'and shown in /healthz');
});

t.test('issue 15.8: the box\'s own names and addresses pass, with or without a port', async (t) => {
  const h = await startWeb(t, { adminSet: false, config: named });
  const own = ['127.0.0.1', 'localhost', '[::1]', '[0:0::1]', 'gw-branch7', 'gw-branch7.local', 'GW-Branch7.local.', 'vpn.example.org', '203.0.113.9', 'fw.branch.example', '192.0.2.2', '[fe80::1]'];
  for (const name of own) {
    for (const host of [name, `${name}:${h.port}`]) t.equal((await h.call('GET', '/api/v1/setup', { host })).status, 200, `Host ${host}`);
  }
  t.equal((await h.call('GET', '/', { host: 'gw-branch7.local' })).status, 200, 'the web UI itself');
  const setup = await h.call('POST', '/api/v1/setup', { host: `gw-branch7.local:${h.port}`, body: { password: ADMIN }, headers: { origin: `http://gw-branch7.local:${h.port}` } });
  t.equal(setup.status, 201, 'setup works from an own name with a matching Origin');
  t.equal(h.web.counters.misdirected, 0);
});

t.test('issue 15.8: names follow the configuration (hostname and the extra list) without a restart', async (t) => {
  const h = await startWeb(t, { config: named });
  t.equal((await h.call('GET', '/healthz', { host: 'console.example' })).status, 421);
  const next = structuredClone(h.store.current().config);
  next.system.management.allowedHosts = ['console.example'];
  next.system.hostname = 'gw-renamed';
  await h.web.reconfigure(next);
  t.equal((await h.call('GET', '/healthz', { host: 'console.example:443' })).status, 200, 'an added name');
  t.equal((await h.call('GET', '/healthz', { host: 'gw-renamed.local' })).status, 200, 'the new hostname');
  t.equal((await h.call('GET', '/healthz', { host: 'gw-branch7' })).status, 421, 'the old hostname no more');
});

t.test('an interface address that appears later is accepted (a new DHCP lease)', async (t) => {
  const addresses = ['127.0.0.1'];
  const h = await startWeb(t, { interfaceAddresses: () => addresses });
  t.equal((await h.call('GET', '/healthz', { host: '192.0.2.77' })).status, 421);
  addresses.push('192.0.2.77');
  await new Promise((r) => setTimeout(r, 1100)); // a miss re-reads the addresses at most once a second
  t.equal((await h.call('GET', '/healthz', { host: '192.0.2.77' })).status, 200);
});
