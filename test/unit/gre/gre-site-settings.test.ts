// GRE site settings and their validation (issue 25): interface names, derived peer, MTU, refusals at fields.
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { GreSiteConfig, SiteConfig } from '../../../firmware/config/types.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';
import { defaultGreMtu, greInterfaceName, greSiteSettings, linkLocalFor, otherEnd } from '../../../firmware/gre/gre-site-settings.ts';

const gre = (name: string, g: Partial<GreSiteConfig> = {}, more: Partial<SiteConfig> = {}): SiteConfig => ({
  name, protocol: 'gre', remote: '198.51.100.7', localSubnets: [], remoteSubnets: ['10.9.0.0/24'], auth: 'psk', initiate: true, enabled: true,
  gre: { address: '10.255.0.1/30', ...g }, ...more,
});
const errors = (...sites: SiteConfig[]) => {
  const c = defaultConfig();
  c.sites = sites;
  const r = validateConfig(c);
  return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
};

t.test('names, peers, MTU', async (t) => {
  t.equal(greInterfaceName('branch1'), 'gre-branch1');
  t.equal(greInterfaceName('a-very-long-site-name'), 'gre-a-very-long');
  t.equal(greInterfaceName('x@y'), 'gre-x_y');
  t.equal(otherEnd('10.255.0.1', 30), '10.255.0.2');
  t.equal(otherEnd('10.255.0.2', 30), '10.255.0.1');
  t.equal(otherEnd('10.255.0.3', 30), undefined, 'broadcast of a /30');
  t.equal(otherEnd('10.255.0.4', 31), '10.255.0.5');
  t.equal(otherEnd('10.255.0.5', 24), undefined);
  t.equal(defaultGreMtu({}), 1476);
  t.equal(defaultGreMtu({ key: 7 }), 1472);
  t.equal(defaultGreMtu({ key: 7, checksum: true, sequence: true }), 1464);
  t.match(greSiteSettings(gre('b', { checksum: true, sequence: true })), { checksum: true, sequence: true, mtu: 1468 });
  t.match(greSiteSettings(gre('b')), { checksum: false, sequence: false });
  t.match(greSiteSettings(gre('b', { key: 9, keepaliveSeconds: 2 })), { interfaceName: 'gre-b', address: '10.255.0.1', prefixLength: 30, peerAddress: '10.255.0.2', mtu: 1472, key: 9, keepaliveMs: 2000, keepaliveRetries: 3 });
  t.match(greSiteSettings(gre('b', { address: '10.0.0.1/24', peerAddress: '10.0.0.9', mtu: 1400 })), { peerAddress: '10.0.0.9', mtu: 1400, keepaliveMs: 10_000 });
});

t.test('a valid GRE site validates; each mistake is refused at its field', async (t) => {
  t.same(errors(gre('b')), []);
  t.same(errors(gre('b', {}, { gre: undefined as never })).map((e) => e.split(':')[0]), ['sites[0].gre']);
  t.match(errors(gre('b', {}, { remote: 'gw.example.com' })), [/^sites\[0\]\.remote: .*IPv4 address/]);
  t.match(errors(gre('b', { address: '10.0.0.1/24' })), [/^sites\[0\]\.gre\.peerAddress: .*only on a \/30 or \/31/]);
  t.match(errors(gre('b', { address: '10.0.0.3/30' })), [/^sites\[0\]\.gre\.peerAddress: 10\.0\.0\.3 is not a host address/]);
  t.match(errors(gre('b', { address: '10.0.0.1/24', peerAddress: '10.0.1.1' })), [/^sites\[0\]\.gre\.peerAddress: is outside/]);
  t.match(errors(gre('b', { peerAddress: '10.255.0.1' })), [/^sites\[0\]\.gre\.peerAddress: is this end/]);
  t.same(errors(gre('b', { checksum: true, sequence: true })), [], 'checksums and sequence numbers are run (the driver frames and checks them)');
  t.match(errors(gre('b', { key: 2 ** 32 })), [/^sites\[0\]\.gre\.key/]);
  t.same(errors(gre('b', { address6: 'fd00:255::1/64' })), [], 'IPv6 inside: an address with its prefix length');
  t.equal(greSiteSettings(gre('b', { address6: 'fd00:255::1/64' }))?.address6, 'fd00:255::1/64');
  t.equal(greSiteSettings(gre('b'))?.address6, undefined, 'none unless configured');
  t.equal(greSiteSettings(gre('b'))?.linkLocal6, 'fe80::aff:1/64', 'a link-local address from the tunnel address 10.255.0.1, always');
  t.equal(linkLocalFor('192.168.0.2'), 'fe80::c0a8:2/64');
  t.match(errors(gre('b', { address6: 'fd00:255::1' })), [/^sites\[0\]\.gre\.address6: needs a prefix length, like fd00:255::1\/64/]);
  t.match(errors(gre('b', { address6: '10.255.0.1/30' })), [/^sites\[0\]\.gre\.address6: '10\.255\.0\.1' is not an IPv6 address/]);
  t.match(errors(gre('b', { address6: 'fd00::1/129' })), [/^sites\[0\]\.gre\.address6: the prefix length must be a number from 0 to 128/]);
  t.match(errors({ ...gre('b'), protocol: 'ikev2', psk: 'a-long-site-secret-1', localSubnets: ['192.168.1.0/24'] }), [/^sites\[0\]\.gre: only GRE sites/]);
});

t.test('two GRE sites: distinct interface names and distinct keys', async (t) => {
  t.same(errors(gre('one', { key: 1 }), gre('two', { key: 2, address: '10.255.0.5/30' }, { remoteSubnets: ['10.8.0.0/24'] })), []);
  t.match(errors(gre('one'), gre('two', { address: '10.255.0.5/30' }, { remoteSubnets: ['10.8.0.0/24'] })), [/^sites\[1\]\.gre\.key: sites\[0\] has no key either/]);
  t.match(errors(gre('branch-office-1', { key: 1 }), gre('branch-office-2', { key: 2, address: '10.255.0.5/30' }, { remoteSubnets: ['10.8.0.0/24'] })), [/^sites\[1\]\.name: its interface would be gre-branch-offi/]);
  t.same(errors(gre('one'), gre('two', { address: '10.255.0.5/30' }, { remoteSubnets: ['10.8.0.0/24'], enabled: false })), [], 'a disabled site is not counted');
  t.same(errors(gre('one'), gre('two', { address: '10.255.0.5/30' }, { remoteSubnets: ['10.8.0.0/24'], remote: '203.0.113.9' })), [], 'sites to different peers may both be unkeyed (told apart by source)');
  t.match(errors(gre('one', { key: 5 }), gre('two', { key: 5, address: '10.255.0.5/30' }, { remoteSubnets: ['10.8.0.0/24'] })), [/^sites\[1\]\.gre\.key: is also sites\[0\]'s key to 198\.51\.100\.7/]);
});

t.test('IPv6 remote networks: routed through GRE sites only', async (t) => {
  t.same(errors(gre('b', {}, { remoteSubnets: ['10.9.0.0/24', 'fd00:b::/64'] })), [], 'a GRE site routes IPv6 networks beside IPv4 ones');
  t.same(greSiteSettings(gre('b', {}, { remoteSubnets: ['fd00:b::/64'] }))?.remoteSubnets, ['fd00:b::/64']);
  t.match(errors(gre('b', {}, { remoteSubnets: ['fd00:b::1/64'] })), [/^sites\[0\]\.remoteSubnets\[0\]: .*host bits/], 'a network, not an address');
  t.match(errors(gre('b', {}, { remoteSubnets: ['fd00:b::/129'] })), [/^sites\[0\]\.remoteSubnets\[0\]: /]);
  const ikev2: SiteConfig = { name: 'hq', protocol: 'ikev2', remote: '198.51.100.8', localSubnets: ['10.0.0.0/24'], remoteSubnets: ['10.8.0.0/24', 'fd00:8::/64'], auth: 'psk', psk: 'a-long-site-key-1234', initiate: true, enabled: true };
  t.match(errors(ikev2), [/^sites\[0\]\.remoteSubnets\[1\]: an IPv6 network is routed through GRE sites only/], 'another protocol refuses it at the field');
  t.match(errors(gre('a', {}, { remoteSubnets: ['fd00:b::/64'] }), gre('b', { address: '10.255.0.5/30' }, { remote: '198.51.100.9', remoteSubnets: ['fd00:b::/64'] })), [/^sites\[1\]\.remoteSubnets\[0\]: fd00:b::\/64 is the same network as/], 'two sites cannot route the same IPv6 network');
});
