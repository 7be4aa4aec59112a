// IKEv1 sites in the configuration (issue 19): `protocol: ikev1`, their proposals, the reserved
// `listeners.l2tp.ipsec`, and the connections the IKEv1 engine gets from them.
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { SiteConfig } from '../../../firmware/config/types.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';
import { TransformType } from '../../../firmware/ike/registry/numbers.ts';
import { IKEV1_DEFAULT_PROPOSALS, ikev1ConnectionsFromConfig } from '../../../firmware/ikev1/ikev1-connections.ts';

const site = (over: Partial<SiteConfig> = {}): SiteConfig => ({
  name: 'branch', protocol: 'ikev1', remote: '198.51.100.7', localSubnets: ['10.2.0.0/24'], remoteSubnets: ['10.1.0.0/24'],
  auth: 'psk', psk: 'branch-psk-0123456789abcdef', initiate: true, enabled: true, ...over,
});

t.test('an IKEv1 site validates, and becomes a tunnel-mode connection with the default proposals', async (t) => {
  const c = defaultConfig();
  c.sites = [site()];
  const r = validateConfig(c);
  t.ok(r.ok, JSON.stringify(r));
  const [conn, ...rest] = ikev1ConnectionsFromConfig(c);
  t.equal(rest.length, 0);
  t.match(conn, { name: 'site:branch', remoteAddress: '198.51.100.7', mode: 'tunnel', localTs: ['10.2.0.0/24'], remoteTs: ['10.1.0.0/24'], dpdSeconds: 30 });
  t.equal(conn!.psk.reveal(), 'branch-psk-0123456789abcdef');
  t.equal(String(conn!.psk), '<redacted>', 'the PSK prints redacted');
  t.equal(conn!.ikeProposals.length, IKEV1_DEFAULT_PROPOSALS.ike.length, 'every default phase 1 proposal parses');
  t.equal(conn!.espProposals.length, IKEV1_DEFAULT_PROPOSALS.esp.length, 'every default phase 2 proposal parses');
  t.notOk(conn!.ikeProposals.some((p) => (p.get(TransformType.DH) ?? []).some((d) => d.id === 2)), 'no MODP-1024 by default');
});

t.test('an IKEv1 site without subnets is refused; its weak proposals are warned about at their paths', async (t) => {
  const c = defaultConfig();
  c.sites = [site({ remoteSubnets: [] })];
  const r = validateConfig(c);
  t.notOk(r.ok);
  t.ok(!r.ok && r.errors.some((e) => e.path === 'sites[0]' && /IKEv1 site needs local and remote subnets/.test(e.message)), JSON.stringify(r));
  c.sites = [site({ proposals: { ike: ['3des-sha1-modp1024'], esp: ['aes128-sha1'] } })];
  const weak = validateConfig(c);
  t.ok(weak.ok, JSON.stringify(weak));
  t.ok(weak.warnings.some((w) => w.path === 'sites[0].proposals.ike[0]' && w.code === 'weak'), JSON.stringify(weak.warnings));
  t.equal(ikev1ConnectionsFromConfig(c)[0]!.ikeProposals.length, 1, 'the site\'s own proposals replace the defaults');
});

t.test('proposals belong to IKEv1 sites only; disabled and other sites give no IKEv1 connection', async (t) => {
  const c = defaultConfig();
  c.sites = [site({ protocol: 'ikev2', proposals: { ike: ['aes256-sha256-modp2048'], esp: ['aes256gcm16'] } })];
  const r = validateConfig(c);
  t.ok(!r.ok && r.errors.some((e) => e.path === 'sites[0].proposals'), JSON.stringify(r));
  c.sites = [site({ protocol: 'ikev2' }), site({ name: 'off', enabled: false })];
  t.same(ikev1ConnectionsFromConfig(c), []);
});

t.test('listeners.l2tp.ipsec is reserved: PSK or certificate, proposals; an unknown auth is refused', async (t) => {
  const c = defaultConfig();
  c.listeners.l2tp.ipsec = { auth: 'certificate', proposals: { ike: ['aes256-sha1-modp1024'], esp: ['aes256-sha1'] } };
  const r = validateConfig(c);
  t.ok(r.ok, JSON.stringify(r));
  c.listeners.l2tp.ipsec = { auth: 'xauth' as never };
  const bad = validateConfig(c);
  t.ok(!bad.ok && bad.errors.some((e) => e.path === 'listeners.l2tp.ipsec.auth'), JSON.stringify(bad));
});

t.test('aggressive: IKEv1 PSK sites only, warned about when on, and passed to the connection', async (t) => {
  const c = defaultConfig();
  c.sites = [site()];
  t.notOk(ikev1ConnectionsFromConfig(c)[0]!.aggressive, 'Main Mode by default');
  t.notOk(validateConfig(c).warnings.some((w) => w.path === 'sites[0].aggressive'), 'no warning while off');
  c.sites = [site({ aggressive: true })];
  const r = validateConfig(c);
  t.ok(r.ok, JSON.stringify(r));
  t.ok(r.warnings.some((w) => w.path === 'sites[0].aggressive' && w.code === 'insecure' && /offline cracking/.test(w.message)), JSON.stringify(r.warnings));
  t.equal(ikev1ConnectionsFromConfig(c)[0]!.aggressive, true);
  for (const protocol of ['ikev2', 'sstp', 'gre'] as const) {
    c.sites = [site({ protocol, aggressive: true, username: 'branch', password: 'branch-password' })];
    const bad = validateConfig(c);
    t.ok(!bad.ok && bad.errors.some((e) => e.path === 'sites[0].aggressive' && /only IKEv1 sites/.test(e.message)), `${protocol}: ${JSON.stringify(bad)}`);
  }
  c.sites = [site({ protocol: 'ikev2', aggressive: false })];
  t.ok(validateConfig(c).ok, 'false is accepted anywhere (the form may send it)');
  c.sites = [site({ auth: 'certificate', aggressive: true })];
  const cert = validateConfig(c);
  t.ok(!cert.ok && cert.errors.some((e) => e.path === 'sites[0].aggressive' && /pre-shared key only/.test(e.message)), JSON.stringify(cert));
  c.sites = [site({ aggressive: 'yes' as never })];
  const typed = validateConfig(c);
  t.ok(!typed.ok && typed.errors.some((e) => e.path === 'sites[0].aggressive'), 'a non-boolean is refused at the field');
});

t.test('sites behind one address (one NAT): each needs its own remote ID, and IKEv1 PSK sites one shared key', async (t) => {
  const c = defaultConfig();
  c.sites = [site({ name: 'shop-a', remote: '203.0.113.1' }), site({ name: 'shop-b', remote: '203.0.113.1', remoteSubnets: ['10.3.0.0/24'] })];
  const noIds = validateConfig(c);
  t.ok(!noIds.ok && noIds.errors.some((e) => e.path === 'sites[1].remoteId' && /same peer address 203\.0\.113\.1/.test(e.message)), JSON.stringify(noIds));
  c.sites[0]!.remoteId = 'shop-a.example.com';
  c.sites[1]!.remoteId = 'shop-b.example.com';
  c.sites[1]!.psk = 'another-psk-0123456789abcdef';
  const twoKeys = validateConfig(c);
  t.ok(!twoKeys.ok && twoKeys.errors.some((e) => e.path === 'sites[1].psk' && /Main Mode derives its keys before it sees the peer's ID/.test(e.message)), JSON.stringify(twoKeys));
  c.sites[1]!.psk = c.sites[0]!.psk!;
  c.sites[1]!.localId = 'hq.example.com';
  const r = validateConfig(c);
  t.ok(r.ok, JSON.stringify(r));
  const [a, b] = ikev1ConnectionsFromConfig(c);
  t.match(a, { name: 'site:shop-a', remoteAddress: '203.0.113.1', remoteId: 'shop-a.example.com' });
  t.match(b, { name: 'site:shop-b', remoteId: 'shop-b.example.com', localId: 'hq.example.com' }, 'the identities reach the engine, which moves message 5 to the site that expects it');
  c.sites.push({ ...site({ name: 'tls', protocol: 'sstp', username: 'x', password: 'password-1234' }), remoteId: 'nope' });
  const sstp = validateConfig(c);
  t.ok(!sstp.ok && sstp.errors.some((e) => e.path === 'sites[2].remoteId' && /only IKE sites/.test(e.message)), JSON.stringify(sstp));
});

t.test('an L2TP site that dials (issue 20) keys an IKEv1 transport connection for UDP 1701 to its peer; an answering one none', async (t) => {
  const c = defaultConfig();
  const l2tp = { protocol: 'l2tp' as const, remote: '203.0.113.2', localSubnets: ['10.1.0.0/24'], remoteSubnets: ['10.2.0.0/24'], auth: 'psk' as const, enabled: true };
  c.sites = [
    { ...l2tp, name: 'hq', initiate: true, psk: 'hq-l2tp-group-key-77', username: 'branch-a', password: 'Site-Pass-77' },
    { ...l2tp, name: 'branch-b', initiate: false, username: 'branch-b' },
  ];
  const conns = ikev1ConnectionsFromConfig(c);
  t.same(conns.map((x) => x.name), ['l2tp-site:hq']);
  const hq = conns[0]!;
  t.match(hq, { mode: 'transport', transportSelector: { protocol: 17, port: 1701 }, remoteAddress: '203.0.113.2', anyRemoteId: true, localTs: [], remoteTs: [] });
  t.equal(hq.psk.reveal(), 'hq-l2tp-group-key-77');
  c.sites[0] = { ...c.sites[0]!, remoteId: 'hq.example.com' };
  t.match(ikev1ConnectionsFromConfig(c)[0], { remoteId: 'hq.example.com', anyRemoteId: undefined }, 'a named peer ID is checked');
});
