// Issue 17: the "ports to open on the upstream router" hint from the enabled listeners and answering sites.
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { portLabel, portsToOpen } from '../../../firmware/config/ports-to-open.ts';

const labels = (c = defaultConfig()) => portsToOpen(c).map(portLabel);

t.test('ports follow listeners, answering sites and the publication listener', async (t) => {
  t.same(labels(), ['TCP 80', 'TCP 443', 'UDP 500', 'UDP 4500']);
  const c = defaultConfig();
  c.listeners.ikev2.enabled = false;
  c.listeners.sstp.enabled = false;
  c.certificates.publication = { enabled: false };
  t.same(labels(c), [], 'nothing enabled, nothing to open');
  c.listeners.pptp.enabled = true;
  t.same(labels(c), ['GRE (IP protocol 47)', 'TCP 1723']);
  c.listeners.pptp.enabled = false;
  c.listeners.l2tp = { ...c.listeners.l2tp, enabled: true, psk: 'group-key-1' };
  t.same(labels(c), ['UDP 500', 'UDP 4500'], 'L2TP/IPsec: UDP 1701 stays inside the IPsec SA');
  c.listeners.l2tp.allowPlain = true;
  t.same(labels(c), ['UDP 500', 'UDP 1701', 'UDP 4500'], 'plain L2TP (issue 20) needs UDP 1701 itself');
  c.listeners.l2tp.enabled = false;
  c.sites.push({ name: 'hq', protocol: 'ikev2', remote: '198.51.100.1', localSubnets: ['10.1.0.0/24'], remoteSubnets: ['10.2.0.0/24'], auth: 'psk', psk: 'x'.repeat(20), initiate: true, enabled: true });
  t.same(labels(c), [], 'a site this gateway dials needs nothing forwarded');
  c.sites[0]!.initiate = false;
  t.same(labels(c), ['UDP 500', 'UDP 4500'], 'one it answers does');
  t.match(portsToOpen(c)[0]!.for, ["site 'hq' (answered here)"]);
  const acme = defaultConfig();
  acme.certificates.acme = { enabled: true, directoryUrl: 'https://acme.example/dir', challenge: 'tls-alpn-01' };
  acme.listeners.sstp.port = 8443;
  t.match(portsToOpen(acme).find((p) => p.port === 8443)?.for, ['SSTP clients', 'ACME tls-alpn-01 validation']);
});
