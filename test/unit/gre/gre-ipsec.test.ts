// GRE over IPsec (issue 25), the pure parts: the selectors of the transport child (the two WAN
// addresses, GRE only) survive the selector text round trip and narrowing; the guard rules'
// selectors; the site settings carry the protection.
import fc from 'fast-check';
import t from 'tap';
import { greSelectors, isIkev2Keyed } from '../../../firmware/ike/ike-connections.ts';
import { narrow } from '../../../firmware/ike/engine/narrowing.ts';
import { tsFromPrefix, tsToString } from '../../../firmware/ike/payloads/traffic-selector.ts';
import { greGuardRules } from '../../../firmware/gre/gre-ipsec-guard.ts';
import { greSiteSettings } from '../../../firmware/gre/gre-site-settings.ts';
import type { SiteConfig } from '../../../firmware/config/types.ts';
import { siteProtocolErrors } from '../../../firmware/config/site-protocol-rules.ts';
import { defaultConfig } from '../../../firmware/config/defaults.ts';

t.test('a selector with a protocol (and port) reads back as it prints', async (t) => {
  const gre = tsFromPrefix('192.0.2.1/32[47]');
  t.match(gre, { protocol: 47, startPort: 0, endPort: 0xffff });
  t.equal(tsToString(gre), '192.0.2.1/32[47]');
  t.equal(tsToString(tsFromPrefix('10.0.0.0/8[17/1701]')), '10.0.0.0/8[17/1701]');
  t.throws(() => tsFromPrefix('192.0.2.1/32[300]'), RangeError, 'a protocol above 255 is refused');
  t.throws(() => tsFromPrefix('192.0.2.1/32[17/70000]'), RangeError, 'a port above 65535 is refused');
  fc.assert(fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.integer({ min: 1, max: 255 }), fc.option(fc.integer({ min: 0, max: 0xffff })), (address, bits, protocol, port) => {
    const text = `${address}/${bits}[${protocol}${port === null ? '' : `/${port}`}]`;
    const ts = tsFromPrefix(text);
    return tsFromPrefix(tsToString(ts)).protocol === protocol && tsToString(tsFromPrefix(tsToString(ts))) === tsToString(ts);
  }));
  fc.assert(fc.property(fc.string({ maxLength: 40 }), (text) => {
    try {
      tsFromPrefix(text);
    } catch (error) {
      return error instanceof RangeError; // bad text: a clear error, never anything else
    }
    return true;
  }));
});

t.test('the transport child selects GRE between the two WAN addresses only', async (t) => {
  const ours = greSelectors('192.0.2.1', '192.0.2.2');
  const theirs = greSelectors('192.0.2.2', '192.0.2.1');
  t.same(ours, { localTs: ['192.0.2.1/32[47]'], remoteTs: ['192.0.2.2/32[47]'] });
  // The responder narrows the initiator's TSi/TSr to its own configuration: nothing wider than GRE.
  t.same(narrow(ours.localTs.map((p) => tsFromPrefix(p)), theirs.remoteTs).map(tsToString), ['192.0.2.1/32[47]']);
  t.same(narrow([tsFromPrefix('192.0.2.1/32')], theirs.remoteTs).map(tsToString), ['192.0.2.1/32[47]'], 'an any-protocol proposal is narrowed to GRE');
  t.same(narrow([tsFromPrefix('192.0.2.1/32[17]')], theirs.remoteTs), [], 'another protocol is not accepted');
});

t.test('which sites IKEv2 keys, the guard rules, the settings', async (t) => {
  const site: SiteConfig = { name: 'b', protocol: 'gre', remote: '192.0.2.2', localSubnets: [], remoteSubnets: [], auth: 'psk', psk: 'x'.repeat(16), initiate: true, enabled: true, gre: { address: '10.255.0.1/30', ipsec: true } };
  t.ok(isIkev2Keyed(site), 'a protected GRE site');
  t.notOk(isIkev2Keyed({ ...site, gre: { address: '10.255.0.1/30' } }), 'not a plain one');
  t.ok(isIkev2Keyed({ ...site, protocol: 'ikev2' }));
  t.equal(greSiteSettings(site)?.ipsec, true);
  t.equal(greSiteSettings({ ...site, gre: { address: '10.255.0.1/30' } })?.ipsec, false);
  t.same(greGuardRules('192.0.2.2', 'wan'), [['to', '192.0.2.2/32', 'ipproto', '47'], ['from', '192.0.2.2/32', 'iif', 'wan', 'ipproto', '47']]);
});

t.test('one GRE-over-IPsec site per peer', async (t) => {
  const c = defaultConfig();
  const site: SiteConfig = { name: 'b1', protocol: 'gre', remote: '192.0.2.2', localSubnets: [], remoteSubnets: [], auth: 'psk', psk: 'x'.repeat(16), initiate: true, enabled: true, gre: { address: '10.255.0.1/30', key: 1, ipsec: true } };
  c.sites = [site, { ...site, name: 'b2', gre: { address: '10.255.1.1/30', key: 2, ipsec: true } }];
  t.match(siteProtocolErrors(c), [{ path: 'sites[1].gre.ipsec', code: 'duplicate' }]);
  c.sites[1]!.gre = { address: '10.255.1.1/30', key: 2 };
  t.same(siteProtocolErrors(c).filter((e) => e.path.endsWith('.ipsec')), [], 'a plain second site to the peer is not refused by this rule');
});
