import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { PosternConfig, SiteConfig } from '../../../firmware/config/types.ts';
import { siteChanges } from '../../../firmware/sites/site-changes.ts';

const site = (name: string, more: Partial<SiteConfig> = {}): SiteConfig =>
  ({ name, protocol: 'ikev2', remote: `${name}.example.com`, localSubnets: ['10.1.0.0/24'], remoteSubnets: ['10.9.0.0/24'], auth: 'psk', initiate: true, enabled: true, ...more }) as SiteConfig;
const withSites = (...sites: SiteConfig[]): PosternConfig => ({ ...defaultConfig(), sites });
const ikev2 = (s: SiteConfig) => s.protocol === 'ikev2';

t.test('only the sites a change touches end or dial; the others keep their tunnels', async (t) => {
  const before = withSites(site('kept'), site('edited'), site('removed'), site('disabled'), site('answering', { initiate: false }), site('other', { protocol: 'sstp' }));
  const after = withSites(
    site('kept'), site('edited', { remoteSubnets: ['10.8.0.0/24'] }), site('disabled', { enabled: false }), site('answering', { initiate: false, remoteSubnets: ['10.7.0.0/24'] }),
    site('added'), site('added-answering', { initiate: false }), site('other', { protocol: 'sstp', remote: 'elsewhere' }),
  );
  const changes = siteChanges(before, after, ikev2);
  t.same(changes.ended.sort(), ['answering', 'disabled', 'edited', 'removed'], 'edited, removed and disabled sites end (an answering one too: its peer dials again)');
  t.same(changes.dial.sort(), ['added', 'edited'], 'added and edited sites that dial out are dialed; answering ones wait for their peer');
  t.same(siteChanges(before, structuredClone(before), ikev2), { ended: [], dial: [] }, 'no change, nothing to do');
});
