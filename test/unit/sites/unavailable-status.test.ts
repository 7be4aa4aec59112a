// Issue 25: a site whose protocol this build does not run is reported, per site, as 'unavailable'
// with the reason. Since issue 22 every protocol the schema accepts runs (PPTP was the last): a PPTP
// site is no longer reported unavailable, in the service's states and health nor in GET /api/v1/sites
// of the real service (web only, in process).
import { join } from 'node:path';
import t from 'tap';
import { ConfigStore } from '../../../firmware/config/store.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { Service } from '../../../firmware/service.ts';
import { tempDir } from '../../helpers/tmp.ts';

const ADMIN = 'Field-Tech-Pass-77';

t.test('pptp sites run in this build: not unavailable in the service nor the API; a disabled one is just disabled', async (t) => {
  const stateDir = tempDir(t);
  const seed = await ConfigStore.open(join(stateDir, 'config'), { logger: createLogger({ sink: () => {} }) });
  const config = structuredClone(seed.current().config);
  const site = { remote: '198.51.100.7', localSubnets: ['192.168.1.0/24'], auth: 'psk' as const, username: 'branch', password: 'a-long-site-secret-1', initiate: true };
  config.sites = [
    { ...site, name: 'old-pptp', protocol: 'pptp', remoteSubnets: ['10.9.0.0/24'], enabled: true },
    { ...site, name: 'off-pptp', protocol: 'pptp', remoteSubnets: ['10.7.0.0/24'], enabled: false },
  ];
  config.system.management.https = false;
  await seed.write(config, { author: 'test' });
  const service = await Service.start({ stateDir, logger: createLogger({ sink: () => {} }), management: { host: '127.0.0.1', port: 0 }, only: ['web'] });
  t.teardown(() => service.stop());

  t.same(service.siteStates().filter((s) => s.state === 'unavailable'), [], 'no site is unavailable');
  t.notOk(service.siteHealth('old-pptp').reason, 'no reason of unavailability');
  t.same(service.siteHealth('off-pptp'), {});
  const tested = await service.testSite('old-pptp');
  t.match(tested, { available: false, reason: /^PPTP sites are not running/ }, 'only web runs here: the Test says the dialer is not running, not that the build lacks it');

  const base = `http://127.0.0.1:${String(service.web.address()?.port)}/api/v1`;
  const json = { 'content-type': 'application/json', origin: base.replace('/api/v1', '') };
  t.equal((await fetch(`${base}/setup`, { method: 'POST', headers: json, body: JSON.stringify({ password: ADMIN }) })).status, 201);
  const login = await fetch(`${base}/login`, { method: 'POST', headers: json, body: JSON.stringify({ password: ADMIN }) });
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const { sites } = await (await fetch(`${base}/sites`, { headers: { cookie } })).json() as { sites: Array<Record<string, unknown>> };
  t.match(sites, [
    { name: 'old-pptp', protocol: 'pptp', state: 'down' },
    { name: 'off-pptp', state: 'disabled' },
  ]);
  t.notOk('reason' in (sites[0] ?? {}), 'the enabled PPTP site has no reason of unavailability');
  t.notOk('reason' in (sites[1] ?? {}), 'a disabled site has no reason');
});
