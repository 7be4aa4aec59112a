import fc from 'fast-check';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';
import { ntHashHex } from '../../../firmware/crypto/user-credential.ts';

/** An NT hash as the store keeps it (of 'password-1'). */
const H = ntHashHex('password-1');
const paths = (doc: unknown): string[] => {
  const r = validateConfig(doc);
  return r.ok ? [] : r.errors.map((e) => e.path);
};
const withChange = (change: (c: PosternConfig) => void): PosternConfig => {
  const c = defaultConfig();
  change(c);
  return c;
};

t.test('the default document is valid, and only flags what Windows needs (modp1024) and profiles dialling postern.local (issue 17)', async (t) => {
  const r = validateConfig(defaultConfig());
  t.ok(r.ok, JSON.stringify(r));
  t.same(r.warnings.map((w) => w.code), ['weak', 'not-public']);
});

t.test('every bad field is reported at once, each with its path', async (t) => {
  const doc = withChange((c) => {
    c.system.hostname = 'bad host!';
    c.system.management.port = 70000;
    c.users = [{ name: 'alice', ntHash: 'short', enabled: true }, { name: 'alice', ntHash: H, enabled: 'yes' as never }];
    c.pools[0]!.ipv4 = '10.10.0.1/24';
    (c as unknown as Record<string, unknown>)['surprise'] = 1;
  });
  t.same(paths(doc).sort(), [
    'pools[0].ipv4', 'surprise', 'system.hostname', 'system.management.port', 'users[0].ntHash', 'users[1].enabled', 'users[1].name',
  ]);
});

t.test('types, required fields and enums name what is expected', async (t) => {
  const r = validateConfig(withChange((c) => {
    (c.listeners.ikev2 as Record<string, unknown>)['auth'] = 'magic';
    delete (c.system as Partial<typeof c.system>).lan;
    (c as unknown as Record<string, unknown>)['users'] = {};
  }));
  t.notOk(r.ok);
  if (r.ok) return;
  t.match(r.errors, [
    { path: 'system.lan', code: 'required' },
    { path: 'users', code: 'type', message: /must be a list, not object/ },
    { path: 'listeners.ikev2.auth', code: 'enum', message: /eap-mschapv2, certificate, psk/ },
  ].sort(() => 0));
  t.equal(r.errors.length, 3);
  t.same(paths(null), ['(document)']);
  t.same(paths('text'), ['(document)']);
});

t.test('cross-field rules: references, overlaps, duplicates, required secrets', async (t) => {
  t.same(paths(withChange((c) => (c.listeners.sstp.pool = 'nope'))), ['listeners.sstp.pool']);
  t.same(paths(withChange((c) => c.pools.push({ name: 'more', ipv4: '10.10.0.128/25', dns: [] }))), ['pools[1].ipv4']);
  t.same(paths(withChange((c) => c.pools.push({ name: 'v6a', ipv4: '10.20.0.0/24', ipv6: 'fd00::/64', dns: [] }, { name: 'v6b', ipv4: '10.30.0.0/24', ipv6: 'fd00::/48', dns: [] }))), ['pools[2].ipv6']);
  t.same(paths(withChange((c) => (c.users = [{ name: 'a', ntHash: H, enabled: true, staticIPv4: '10.99.0.1' }]))), ['users[0].staticIPv4']);
  t.same(paths(withChange((c) => (c.users = ['a', 'b'].map((name) => ({ name, ntHash: H, enabled: true, staticIPv4: '10.10.0.9' }))))), ['users[1].staticIPv4']);
  // The pool never hands these out (issue 17: a fixed address the user could never get).
  for (const edge of ['10.10.0.0', '10.10.0.255']) t.same(paths(withChange((c) => (c.users = [{ name: 'a', ntHash: H, enabled: true, staticIPv4: edge }]))), ['users[0].staticIPv4'], `${edge}: the pool's network or broadcast address`);
  t.same(paths(withChange((c) => (c.users = [{ name: 'a', ntHash: H, enabled: true, staticIPv4: '10.10.0.254' }]))), [], 'the highest usable address is fine');
  t.same(paths(withChange((c) => (c.listeners.l2tp.enabled = true))), ['listeners.l2tp.psk']);
  t.same(paths(withChange((c) => (c.listeners.l2tp = { ...c.listeners.l2tp, enabled: true, ipsec: { auth: 'certificate' } }))), [], 'L2TP/IPsec with certificates needs no group key (issue 20)');
  // L2TP sites (issue 20): a dialing one needs its PSK, user and password; an answering one the listener and a local user.
  const l2tpSite = { name: 'hq', protocol: 'l2tp' as const, remote: '198.51.100.7', localSubnets: ['192.168.1.0/24'], remoteSubnets: ['10.20.0.0/24'], auth: 'psk' as const, enabled: true };
  t.same(paths(withChange((c) => (c.sites = [{ ...l2tpSite, initiate: true }]))).sort(), ['sites[0].password', 'sites[0].psk', 'sites[0].username']);
  t.same(paths(withChange((c) => (c.sites = [{ ...l2tpSite, initiate: true, psk: 'a-long-site-secret-1', username: 'branch', password: 'Site-Pass-77' }]))), []);
  t.same(paths(withChange((c) => (c.sites = [{ ...l2tpSite, initiate: false, username: 'branch' }]))).sort(), ['sites[0].initiate', 'sites[0].username'], 'answering: no listener, no such user');
  t.same(paths(withChange((c) => {
    c.listeners.l2tp = { ...c.listeners.l2tp, enabled: true, psk: 'group-secret-1' };
    c.users = [{ name: 'branch', ntHash: H, enabled: true }];
    c.sites = [{ ...l2tpSite, initiate: false, username: 'branch' }];
  })), [], 'answering with the listener on and the user there; keyed by the listener\'s PSK');
  t.same(paths(withChange((c) => (c.listeners.ikev2.auth = 'psk'))), ['listeners.ikev2.psk']);
  t.same(paths(withChange((c) => (c.listeners.sstp.port = 8080))), ['listeners.sstp.port']);
  t.same(paths(withChange((c) => (c.sites = [{ name: 'hq', protocol: 'ikev2', remote: 'hq.example.com', localSubnets: ['192.168.1.0/24'], remoteSubnets: [], auth: 'psk', initiate: true, enabled: true }]))).sort(), ['sites[0]', 'sites[0].psk']);
  t.same(paths(withChange((c) => (c.telemetry.mqtt.enabled = true))), ['telemetry.mqtt.url']);
  t.same(paths(withChange((c) => (c.listeners.ikev2.proposals.ike = ['aes256-sha1-modp999']))), ['listeners.ikev2.proposals.ike[0]']);
});

t.test('SSTP sites: a dialing site needs user, password and remote subnets; an answering one a local user; the pin is a SHA-256 fingerprint', async (t) => {
  const site = (extra: Partial<PosternConfig['sites'][number]>): PosternConfig['sites'][number] => ({ name: 'hq', protocol: 'sstp', remote: '203.0.113.2', localSubnets: ['10.1.0.0/24'], remoteSubnets: ['10.2.0.0/24'], auth: 'psk', initiate: true, enabled: true, ...extra });
  t.same(paths(withChange((c) => (c.sites = [site({ username: 'branch', password: 'Site-Pass-1', port: 8443 })]))), [], 'a complete dialing site is valid, with no PSK');
  t.same(paths(withChange((c) => (c.sites = [site({})]))).sort(), ['sites[0].password', 'sites[0].username']);
  t.same(paths(withChange((c) => (c.sites = [site({ username: 'branch', password: 'Site-Pass-1', remoteSubnets: [] })]))), ['sites[0].remoteSubnets']);
  t.same(paths(withChange((c) => (c.sites = [site({ username: 'branch', initiate: false })]))), ['sites[0].username'], 'answering needs a local user of that name');
  t.same(paths(withChange((c) => ((c.users = [{ name: 'branch', ntHash: H, enabled: true }]), (c.sites = [site({ username: 'branch', initiate: false })])))), []);
  t.same(paths(withChange((c) => (c.sites = [site({ username: 'branch', password: 'Site-Pass-1', serverFingerprint: 'AB:CD' })]))), ['sites[0].serverFingerprint']);
  const pin = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, '0').toUpperCase()).join(':');
  t.same(paths(withChange((c) => (c.sites = [site({ username: 'branch', password: 'Site-Pass-1', serverFingerprint: pin })]))), []);
});

t.test('insecure choices are warnings, not errors', async (t) => {
  const r = validateConfig(withChange((c) => {
    c.listeners.pptp.enabled = true;
    c.listeners.l2tp = { enabled: true, psk: 'group-secret', pool: 'clients' };
    c.sites = [{ name: 'old', protocol: 'gre', remote: '198.51.100.1', localSubnets: [], remoteSubnets: [], auth: 'psk', gre: { address: '10.255.0.1/30' }, initiate: false, enabled: true }];
  }));
  t.ok(r.ok);
  t.same(r.warnings.filter((w) => w.code === 'insecure' || w.code === 'weak').map((w) => w.path).sort(), ['listeners.ikev2.proposals.ike[5]', 'listeners.l2tp.psk', 'listeners.pptp.enabled', 'sites[0].protocol']);
  const certificates = validateConfig(withChange((c) => (c.listeners.l2tp = { enabled: true, psk: '', pool: 'clients', ipsec: { auth: 'certificate' } })));
  t.notOk(certificates.warnings.some((w) => w.path === 'listeners.l2tp.psk'), 'no group-PSK warning when L2TP uses certificates');
});

t.test('property: random mutations never throw, and either validate or name paths', async (t) => {
  const leaves: Array<[string[], unknown]> = [];
  const walk = (v: unknown, path: string[]) => {
    if (v !== null && typeof v === 'object') for (const [k, child] of Object.entries(v)) walk(child, [...path, k]);
    else leaves.push([path, v]);
  };
  walk({ ...defaultConfig(), users: [{ name: 'u', ntHash: H, enabled: true }] }, []);
  const junk = fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 3 }), fc.dictionary(fc.string(), fc.integer(), { maxKeys: 3 }));
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(leaves.length - 1), junk), { minLength: 1, maxLength: 5 }), (mutations) => {
      const doc = structuredClone({ ...defaultConfig(), users: [{ name: 'u', ntHash: H, enabled: true }] }) as Record<string, unknown>;
      for (const [i, value] of mutations) {
        const path = leaves[i]![0];
        let node = doc as Record<string, unknown>;
        for (const k of path.slice(0, -1)) node = node[k] as Record<string, unknown>;
        node[path.at(-1)!] = value;
      }
      const r = validateConfig(doc);
      return r.ok || (r.errors.length > 0 && r.errors.every((e) => e.path.length > 0 && e.message.length > 0));
    }),
    { numRuns: 300 },
  );
  t.pass('300 mutated documents');
});

t.test('issue 15.6: __proto__, constructor and inherited names are refused at the field, never counted as settings', async (t) => {
  // As JSON.parse builds them: own properties named like Object.prototype's members.
  const own = (target: object, key: string, value: unknown) => Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  const doc = defaultConfig();
  own(doc.system.wan, '__proto__', { address: '203.0.113.5/24' });
  own(doc.listeners, 'constructor', 'x');
  own(doc, 'toString', 'y');
  const r = validateConfig(doc);
  t.notOk(r.ok);
  if (r.ok) return;
  t.same(r.errors.map((e) => [e.path, e.code]).sort(), [['listeners.constructor', 'reserved'], ['system.wan.__proto__', 'reserved'], ['toString', 'unknown']]);
  // A value only inherited (a replaced prototype) is not in the stored JSON: it does not count.
  const inherited = defaultConfig();
  inherited.system.lan = Object.create({ interface: 'eth1', address: '192.168.1.1/24' }) as typeof inherited.system.lan;
  t.same(paths(inherited).sort(), ['system.lan.address', 'system.lan.interface']);
});

t.test('issue 15.11: users store an NT hash; a clear password only with CHAP-MD5, matching it, and flagged', async (t) => {
  const alice = { name: 'alice', ntHash: ntHashHex('Alice-Pass-123'), enabled: true };
  t.same(paths(withChange((c) => (c.users = [alice]))), []);
  t.same(paths(withChange((c) => (c.users = [{ ...alice, password: 'Alice-Pass-123' }]))), ['users[0].password'], 'a clear password without CHAP-MD5 is refused');
  t.same(paths(withChange((c) => (c.users = [{ ...alice, chapMd5: true }]))), ['users[0].password'], 'CHAP-MD5 needs it');
  t.same(paths(withChange((c) => (c.users = [{ ...alice, chapMd5: true, password: 'Other-Pass-123' }]))), ['users[0].ntHash'], 'and it must be the hashed one');
  t.same(paths(withChange((c) => (c.users = [{ ...alice, ntHash: 'zz'.repeat(16) }]))), ['users[0].ntHash']);
  const r = validateConfig(withChange((c) => (c.users = [{ ...alice, chapMd5: true, password: 'Alice-Pass-123' }])));
  t.ok(r.ok);
  t.match(r.warnings.find((w) => w.path === 'users[0].chapMd5'), { code: 'insecure', message: /in clear/ });
});
