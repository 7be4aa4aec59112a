// Issue 17: mistakes that validate field by field but break networks, each refused at its field with
// the reason in plain words; and a WAN/LAN interface the box lacks, warned about (hardware may come).
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { PosternConfig, SiteConfig } from '../../../firmware/config/types.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';

const withChange = (change: (c: PosternConfig) => void): PosternConfig => {
  const c = defaultConfig();
  change(c);
  return c;
};
const site = (name: string, remoteSubnets: string[], extra: Partial<SiteConfig> = {}): SiteConfig => ({
  name, protocol: 'ikev2', remote: '198.51.100.7', localSubnets: ['192.168.1.0/24'], remoteSubnets, auth: 'psk', psk: 'a-long-site-psk-0123456789', initiate: true, enabled: true, ...extra,
});
/** The errors of a document, as path → message. */
const errorsOf = (doc: PosternConfig): Record<string, string> => {
  const r = validateConfig(doc);
  return r.ok ? {} : Object.fromEntries(r.errors.map((e) => [e.path, e.message]));
};

t.test('issue 17: a remote network inside the LAN is refused at sites[0].remoteSubnets[0]', async (t) => {
  const e = errorsOf(withChange((c) => (c.sites = [site('branch', ['192.168.1.128/25'], { localSubnets: ['10.9.0.0/24'] })])));
  t.same(Object.keys(e), ['sites[0].remoteSubnets[0]']);
  t.match(e['sites[0].remoteSubnets[0]'], /192\.168\.1\.128\/25 lies inside the LAN \(system\.lan\.address 192\.168\.1\.1\/24\).*never leaves/);
});

t.test('issue 17: a remote network equal to the site\'s own local network is refused at sites[0].remoteSubnets[1]', async (t) => {
  const e = errorsOf(withChange((c) => (c.sites = [site('branch', ['10.20.0.0/16', '10.9.0.0/24'], { localSubnets: ['10.9.0.0/24'] })])));
  t.same(Object.keys(e), ['sites[0].remoteSubnets[1]']);
  t.match(e['sites[0].remoteSubnets[1]'], /is the same network as this site's local network sites\[0\]\.localSubnets\[0\]/);
});

t.test('issue 17: a remote supernet (0.0.0.0/0 to the head office, 10.0.0.0/8 around the pool) is a warning at its field, not an error', async (t) => {
  for (const wide of ['0.0.0.0/0', '10.0.0.0/8']) {
    const r = validateConfig(withChange((c) => (c.sites = [site('hq', [wide])])));
    t.ok(r.ok, `${wide} is accepted: the more specific local routes win`);
    t.match(r.warnings.filter((w) => w.code === 'supernet'), [{ path: 'sites[0].remoteSubnets[0]', message: /contains the (LAN|client pool)/ }]);
  }
});

t.test('issue 17: a remote network equal to the client pool is refused at sites[0].remoteSubnets[0]', async (t) => {
  const e = errorsOf(withChange((c) => (c.sites = [site('branch', ['10.10.0.0/24'])])));
  t.same(Object.keys(e), ['sites[0].remoteSubnets[0]']);
  t.match(e['sites[0].remoteSubnets[0]'], /is the same network as the client pool 'clients' \(pools\[0\]\.ipv4 10\.10\.0\.0\/24\)/);
});

t.test('issue 17: two sites with the same remote networks are refused at the second, sites[1].remoteSubnets[0]', async (t) => {
  const e = errorsOf(withChange((c) => (c.sites = [site('branch-1', ['10.20.0.0/16']), site('branch-2', ['10.20.0.0/16'])])));
  t.same(Object.keys(e), ['sites[1].remoteSubnets[0]']);
  t.match(e['sites[1].remoteSubnets[0]'], /is the same network as the remote network of site 'branch-1' \(sites\[0\]\.remoteSubnets\[0\]\): two tunnels cannot both route/);
  const nested = validateConfig(withChange((c) => (c.sites = [site('hq', ['10.0.0.0/8']), site('branch-2', ['10.20.4.0/24'])])));
  t.ok(nested.ok, 'a branch inside the head office\'s supernet is routed by the longest prefix');
  t.match(nested.warnings.filter((w) => w.code === 'supernet').map((w) => w.path), ['sites[0].remoteSubnets[0]', 'sites[1].remoteSubnets[0]']);
});

t.test('issue 17: a pool equal to the LAN is refused at pools[0].ipv4', async (t) => {
  const e = errorsOf(withChange((c) => (c.pools[0]!.ipv4 = '192.168.1.0/24')));
  t.same(Object.keys(e), ['pools[0].ipv4']);
  t.match(e['pools[0].ipv4'], /is the same network as the LAN/);
});

t.test('issue 17: a pool overlapping another pool is refused at pools[1].ipv4', async (t) => {
  const e = errorsOf(withChange((c) => c.pools.push({ name: 'more', ipv4: '10.10.0.0/16', dns: [] })));
  t.same(Object.keys(e), ['pools[1].ipv4']);
});

t.test('issue 17: a static WAN on the LAN\'s network is refused at system.wan.address, a gateway outside the WAN at system.wan.gateway', async (t) => {
  t.same(Object.keys(errorsOf(withChange((c) => (c.system.wan = { interface: 'eth0', mode: 'static', address: '192.168.1.2/24', gateway: '192.168.1.254' })))), ['system.wan.address']);
  const e = errorsOf(withChange((c) => (c.system.wan = { interface: 'eth0', mode: 'static', address: '203.0.113.5/24', gateway: '198.51.100.1' })));
  t.same(Object.keys(e), ['system.wan.gateway']);
  t.match(e['system.wan.gateway'], /not in the WAN's network/);
});

t.test('issue 17: a peer address 300.1.1.1 is refused at sites[0].remote (it is no host name either)', async (t) => {
  const e = errorsOf(withChange((c) => (c.sites = [site('branch', ['10.20.0.0/16'], { remote: '300.1.1.1' })])));
  t.same(Object.keys(e), ['sites[0].remote']);
  t.match(e['sites[0].remote'], /not a valid IPv4 address: four numbers from 0 to 255/);
  t.same(errorsOf(withChange((c) => (c.sites = [site('branch', ['10.20.0.0/16'], { remote: 'hq.example.com' })]))), {}, 'a host name still is fine');
  t.same(errorsOf(withChange((c) => (c.sites = [site('branch', ['10.20.0.0/16'], { remote: '2001:db8::7' })]))), {}, 'and an IPv6 address');
});

t.test('issue 17: invalid addresses and prefixes are refused everywhere, each with the reason', async (t) => {
  const cases: Array<[string, (c: PosternConfig) => void, RegExp]> = [
    ['system.dns.servers[0]', (c) => (c.system.dns.servers = ['1.1.1.256']), /four numbers from 0 to 255/],
    ['system.lan.address', (c) => (c.system.lan.address = '192.168.1.1'), /needs a prefix length, like 192\.168\.1\.1\/24/],
    ['system.lan.address', (c) => (c.system.lan.address = '192.168.1.1/33'), /prefix length must be a number from 0 to 32/],
    ['system.management.listen', (c) => (c.system.management.listen = '10.0.0.300'), /four numbers/],
    ['pools[0].ipv4', (c) => (c.pools[0]!.ipv4 = '10.10.0.0/40'), /prefix length/],
    ['pools[0].ipv4', (c) => (c.pools[0]!.ipv4 = '10.10.0.1/24'), /host bits/],
    ['pools[0].dns[0]', (c) => (c.pools[0]!.dns = ['010.0.0.1']), /without leading zeros/],
    ['certificates.server.sans[0]', (c) => (c.certificates.server.sans = ['999.1.1.1']), /four numbers/],
    ['sites[0].localSubnets[0]', (c) => (c.sites = [site('b', ['10.20.0.0/16'], { localSubnets: ['192.168.1.0'] })]), /needs a prefix length/],
    ['sites[0].remoteSubnets[0]', (c) => (c.sites = [site('b', ['10.20.0.0/36'])]), /prefix length/],
    ['system.hostname', (c) => (c.system.hostname = '12345'), /cannot be all digits/],
    ['system.hostname', (c) => (c.system.hostname = '300.1.1.1'), /not a host name, and not a valid IPv4 address either: four numbers/],
  ];
  for (const [path, change, why] of cases) {
    const e = errorsOf(withChange(change));
    t.same(Object.keys(e), [path], `refused at ${path}`);
    t.match(e[path], why, `${path}: ${e[path] ?? ''}`);
  }
});

t.test('issue 17: separate networks everywhere are accepted, and the default document stays valid', async (t) => {
  t.same(errorsOf(defaultConfig()), {});
  t.same(errorsOf(withChange((c) => {
    c.system.wan = { interface: 'eth0', mode: 'static', address: '203.0.113.5/24', gateway: '203.0.113.1' };
    c.pools.push({ name: 'staff', ipv4: '10.11.0.0/24', dns: [] });
    c.sites = [site('branch-1', ['10.20.0.0/16']), site('branch-2', ['10.30.0.0/16', '172.16.0.0/12'])];
  })), {});
});

t.test('issue 17: a WAN or LAN interface the box lacks is a warning at its field, never an error', async (t) => {
  const doc = withChange((c) => (c.system.wan.interface = 'eth9'));
  const r = validateConfig(doc, { interfaces: ['lo', 'eth0', 'eth1'] });
  t.ok(r.ok, 'still valid: a USB adapter may be plugged in later');
  t.match(r.warnings.filter((w) => w.code === 'missing'), [{ path: 'system.wan.interface', message: /no interface 'eth9' on this box now \(it has: lo, eth0, eth1\); the WAN stays down/ }]);
  t.equal(r.warnings.filter((w) => w.code === 'missing').length, 1, 'the LAN interface exists: nothing said');
  t.same(validateConfig(doc).warnings.filter((w) => w.code === 'missing'), [], 'without the box\'s interfaces (pure validation, CLI), nothing is said');
  const lan = validateConfig(withChange((c) => (c.system.lan.interface = 'br-lan')), { interfaces: ['eth0', 'eth1'] });
  t.match(lan.warnings.filter((w) => w.code === 'missing'), [{ path: 'system.lan.interface', message: /'br-lan'.*LAN stays down/ }]);
});

// The gateway's public identity (issue 17): set with the certificate's names, checked against them.
import { dialledName, withPublicIdentity } from '../../../firmware/config/public-identity.ts';

t.test('issue 17: setting the public name puts it first in the certificate names (and the CRL URLs\' host), replacing the previous one', async (t) => {
  const first = withPublicIdentity(defaultConfig(), { publicName: 'VPN.Branch1.example.com', publicAddress: '203.0.113.5' });
  t.equal(first.system.publicName, 'vpn.branch1.example.com');
  t.same(first.certificates.server.sans, ['vpn.branch1.example.com', '203.0.113.5', 'postern.local']);
  t.equal(first.certificates.server.commonName, 'vpn.branch1.example.com', 'the default common name follows');
  t.equal(dialledName(first), 'vpn.branch1.example.com');
  t.ok(validateConfig(first).ok);
  t.same(validateConfig(first).warnings.filter((w) => w.code === 'not-public'), [], 'no warning once a public name is set');
  const second = withPublicIdentity(first, { publicName: 'vpn.branch9.example.com', publicAddress: '' });
  t.same(second.certificates.server.sans, ['vpn.branch9.example.com', 'postern.local'], 'the old name and the removed address are gone');
  t.equal(second.certificates.server.commonName, 'vpn.branch9.example.com');
  t.equal(second.system.publicAddress, undefined);
  t.same(first.certificates.publication, { host: 'vpn.branch1.example.com' }, 'the CRL and CA URLs name it');
  t.same(second.certificates.publication, { host: 'vpn.branch9.example.com' }, 'and follow it');
  t.same(withPublicIdentity(first, { publicAddress: '203.0.113.9' }).certificates.publication, { host: '203.0.113.9' }, 'an address alone too (not postern.local, the first DNS name)');
  t.equal(withPublicIdentity(first, {}).certificates.publication, undefined, 'without an identity, the default again');
  const own = withPublicIdentity(withChange((c) => (c.certificates.publication = { host: 'crl.example.net', port: 8080 })), { publicName: 'vpn.example.com' });
  t.same(own.certificates.publication, { host: 'crl.example.net', port: 8080 }, 'a host the technician chose is kept');
  const custom = withPublicIdentity(withChange((c) => (c.certificates.server.commonName = 'Branch 1 gateway')), { publicName: 'vpn.example.com' });
  t.equal(custom.certificates.server.commonName, 'Branch 1 gateway', 'a common name the technician chose is kept');
});

t.test('issue 17: a public name the certificate does not carry is refused at system.publicName; profiles dialling postern.local are warned about', async (t) => {
  const e = errorsOf(withChange((c) => (c.system.publicName = 'vpn.example.com')));
  t.same(Object.keys(e), ['system.publicName']);
  t.match(e['system.publicName'], /not among the gateway certificate's names/);
  t.same(Object.keys(errorsOf(withChange((c) => (c.system.publicAddress = '203.0.113.7')))), ['system.publicAddress']);
  t.same(Object.keys(errorsOf(withChange((c) => (c.system.publicName = '300.1.1.1')))), ['system.publicName'], 'a mistyped address is no name');
  t.same(Object.keys(errorsOf(withPublicIdentity(defaultConfig(), { publicName: '300.1.1.1' }))), ['system.publicName'], 'and set as the identity, it is refused there only (not again as a certificate name)');
  t.match(validateConfig(defaultConfig()).warnings.filter((w) => w.code === 'not-public'), [{ path: 'system.publicName', message: /dial 'postern\.local', which devices outside the LAN cannot reach/ }]);
});

t.test('issue 20: a PPP listener\'s pool with an IPv6 /64 or longer is a warning at pools[0].ipv6 (no /64 per session); /63 or shorter is not', async (t) => {
  const warned = (ipv6: string, sstp = true) => {
    const r = validateConfig(withChange((c) => {
      c.pools[0]!.ipv6 = ipv6;
      c.listeners.sstp.enabled = sstp;
      c.listeners.l2tp.enabled = false;
      c.listeners.pptp.enabled = false;
    }));
    t.ok(r.ok, `${ipv6} is accepted`);
    return r.warnings.filter((w) => w.code === 'no-slash64-per-session');
  };
  t.match(warned('fd00:10::/64'), [{ path: 'pools[0].ipv6', message: /a \/64 gives each SSTP, L2TP or PPTP client one \/128.*temporary IPv6 addresses are dropped.*\/63 or shorter/ }]);
  t.equal(warned('fd00:10::/80').length, 1);
  t.same(warned('fd00:10::/56'), [], 'a /56 gives /64s');
  t.same(warned('fd00:10::/63'), []);
  t.same(warned('fd00:10::/64', false), [], 'no PPP listener on the pool: IKEv2 takes /128s anyway');
});
