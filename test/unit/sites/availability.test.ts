// Issue 25: no protocol accepted in silence. Every site protocol the schema admits either runs or is
// reported per site as not available in this build; anything else is refused at its field.
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { ObjectField, StringField } from '../../../firmware/config/schema-types.ts';
import { configSchema } from '../../../firmware/config/schema.ts';
import type { PosternConfig, SiteConfig } from '../../../firmware/config/types.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';
import { LISTENER_KINDS, SITE_PROTOCOLS, siteUnavailableReason } from '../../../firmware/sites/availability.ts';

const PSK = 'a-long-site-secret-1';
const siteFields = ((configSchema.fields['sites'] as { items: ObjectField }).items).fields;
const schemaProtocols = (siteFields['protocol'] as StringField).enum ?? [];

/** A site of `protocol` that is otherwise valid. */
function siteOf(protocol: string): SiteConfig {
  const base = { name: `s-${protocol}`, protocol, remote: '198.51.100.7', localSubnets: ['192.168.1.0/24'], remoteSubnets: ['10.9.0.0/24'], auth: 'psk', initiate: true, enabled: true } as SiteConfig;
  if (protocol === 'sstp' || protocol === 'pptp') return { ...base, username: 'branch', password: 'Site-Pass-77' };
  if (protocol === 'l2tp') return { ...base, psk: PSK, username: 'branch', password: 'Site-Pass-77' };
  if (protocol === 'gre') return { ...base, gre: { address: '10.255.0.1/30' } };
  return { ...base, psk: PSK };
}

const withSite = (site: SiteConfig, change: (c: PosternConfig) => void = () => {}): PosternConfig => {
  const c = defaultConfig();
  c.sites = [site];
  change(c);
  return c;
};

t.test('the table covers exactly the protocols the schema admits, and the listener kinds', async (t) => {
  t.same([...schemaProtocols].sort(), Object.keys(SITE_PROTOCOLS).sort());
  t.same(Object.keys(defaultConfig().listeners).sort(), Object.keys(LISTENER_KINDS).sort());
});

for (const protocol of schemaProtocols) {
  t.test(`a ${protocol} site: valid, and either run or reported as not available in this build`, async (t) => {
    const r = validateConfig(withSite(siteOf(protocol)));
    t.ok(r.ok, JSON.stringify(r));
    const unavailable = r.warnings.filter((w) => w.code === 'unavailable');
    const reason = siteUnavailableReason({ protocol: protocol as SiteConfig['protocol'] });
    if (SITE_PROTOCOLS[protocol as SiteConfig['protocol']].runs) {
      t.equal(reason, undefined, 'runs');
      t.same(unavailable, [], 'no warning');
    } else {
      t.match(reason, /^not available in this build: /);
      t.same(unavailable, [{ path: 'sites[0].protocol', code: 'unavailable', message: reason }], 'warned at the protocol field');
      const disabled = validateConfig(withSite({ ...siteOf(protocol), enabled: false }));
      t.same(disabled.warnings.filter((w) => w.code === 'unavailable'), [], 'a disabled site is not warned about');
    }
  });
}

for (const protocol of ['openvpn', 'wireguard', 'IKEV2', '', 'gre ']) {
  t.test(`'${protocol}' is refused at sites[0].protocol`, async (t) => {
    const r = validateConfig(withSite({ ...siteOf('ikev2'), protocol: protocol as never }));
    t.notOk(r.ok);
    if (!r.ok) t.same(r.errors.map((e) => e.path), ['sites[0].protocol'], JSON.stringify(r.errors));
    t.match(siteUnavailableReason({ protocol: protocol as never }), /unknown protocol/);
  });
}

t.test('listeners: an enabled kind that is being built is warned about; running ones are not', async (t) => {
  for (const kind of Object.keys(LISTENER_KINDS) as Array<keyof typeof LISTENER_KINDS>) {
    const r = validateConfig(withSite(siteOf('ikev2'), (c) => {
      c.listeners[kind].enabled = true;
      if (kind === 'l2tp') c.listeners.l2tp.psk = 'group-secret-1';
    }));
    t.ok(r.ok, `${kind}: ${JSON.stringify(r)}`);
    const warned = r.warnings.filter((w) => w.code === 'unavailable').map((w) => w.path);
    t.same(warned, LISTENER_KINDS[kind].runs ? [] : [`listeners.${kind}.enabled`], kind);
  }
});
