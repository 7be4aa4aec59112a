// The RADIUS page's server routes: a server's own answer timeout and retries are stored, shown in the
// overview, and emptied from the form ("" or null) to fall back to the defaults; out of range refused at
// the field.
import t from 'tap';
import { radiusOverview } from '../../../firmware/radius/radius-overview.ts';
import { controlHarness } from '../../helpers/control-harness.ts';

const SERVER = { name: 'hq1', address: '10.9.1.1', authPort: 1812, acctPort: 1813, secret: 'a-long-shared-secret' };

t.test('a server\'s timeout and retries: set, shown, emptied, refused out of range', async (t) => {
  const h = await controlHarness(t);
  const added = await h.call('POST', '/api/v1/radius/servers', { ...SERVER, timeoutSeconds: 1, retries: 1 });
  t.equal(added.status, 201, JSON.stringify(added.json));
  t.match(h.store.current().config.radius?.servers[0], { name: 'hq1', timeoutSeconds: 1, retries: 1 });
  t.match(radiusOverview(h.store.current().config, [], undefined).servers[0], { name: 'hq1', timeoutSeconds: 1, retries: 1, secret: '<redacted>' }, 'the RADIUS page gets them');
  const emptied = await h.call('PUT', '/api/v1/radius/servers/hq1', { address: SERVER.address, timeoutSeconds: '', retries: null });
  t.equal(emptied.status, 200, JSON.stringify(emptied.json));
  const stored = h.store.current().config.radius?.servers[0];
  t.notOk(stored && ('timeoutSeconds' in stored || 'retries' in stored), 'both gone: the defaults apply');
  t.equal(stored?.secret, SERVER.secret, 'the secret kept');
  const bad = await h.call('PUT', '/api/v1/radius/servers/hq1', { timeoutSeconds: 30 });
  t.equal(bad.status, 422, 'refused as invalid');
  t.match(JSON.stringify(bad.json), /radius\.servers\[0\]\.timeoutSeconds/);
});

t.test('NAS-IP-Address: set beside the NAS-Identifier, shown, emptied, refused when no IPv4 address', async (t) => {
  const h = await controlHarness(t);
  t.equal((await h.call('POST', '/api/v1/radius/servers', SERVER)).status, 201);
  const set = await h.call('PUT', '/api/v1/radius', { nasIdentifier: 'branch-9', nasIpAddress: '192.0.2.9' });
  t.equal(set.status, 200, JSON.stringify(set.json));
  t.match(h.store.current().config.radius, { nasIdentifier: 'branch-9', nasIpAddress: '192.0.2.9' });
  t.match(radiusOverview(h.store.current().config, [], undefined), { nasIdentifier: 'branch-9', nasIpAddress: '192.0.2.9' }, 'the RADIUS page shows both');
  const bad = await h.call('PUT', '/api/v1/radius', { nasIpAddress: '2001:db8::1' });
  t.equal(bad.status, 422, 'an IPv6 address is not a NAS-IP-Address');
  t.match(JSON.stringify(bad.json), /radius\.nasIpAddress/);
  t.equal((await h.call('PUT', '/api/v1/radius', { nasIpAddress: '' })).status, 200);
  t.notOk('nasIpAddress' in (h.store.current().config.radius ?? {}), 'emptied: not sent');
  t.notOk('nasIpAddress' in radiusOverview(h.store.current().config, [], undefined));
});
