// The Settings page's telemetry form: broker discovery by DNS SRV set and cleared through PUT
// /api/v1/telemetry (null removes the block), the password never sent back in clear and kept, a bad
// domain refused at its field.
import t from 'tap';
import { controlHarness } from '../../helpers/control-harness.ts';

t.test('broker discovery: set, shown, cleared with null; the password kept; a bad domain refused', async (t) => {
  const h = await controlHarness(t);
  const first = await h.call('PUT', '/api/v1/telemetry', { mqtt: { password: 'Broker-Pass-26', discovery: { domain: 'fleet.example.net' } } });
  t.equal(first.status, 200, JSON.stringify(first.json));
  t.match(h.store.current().config.telemetry.mqtt, { password: 'Broker-Pass-26', discovery: { domain: 'fleet.example.net' } });
  const shown = await h.call('GET', '/api/v1/telemetry');
  t.match(shown.json, { telemetry: { mqtt: { password: '<redacted>', discovery: { domain: 'fleet.example.net' } } } }, 'the form gets the domain, not the password');
  // What the form sends back: everything it read, the domain emptied.
  const mqtt = (shown.json as { telemetry: { mqtt: Record<string, unknown> } }).telemetry.mqtt;
  const cleared = await h.call('PUT', '/api/v1/telemetry', { mqtt: { ...mqtt, discovery: null } });
  t.equal(cleared.status, 200, JSON.stringify(cleared.json));
  t.notOk('discovery' in h.store.current().config.telemetry.mqtt, 'discovery gone: the broker URL is used');
  t.equal(h.store.current().config.telemetry.mqtt.password, 'Broker-Pass-26', 'the redacted password restored, not stored as "<redacted>"');
  const bad = await h.call('PUT', '/api/v1/telemetry', { mqtt: { discovery: { domain: 'not a domain!' } } });
  t.equal(bad.status, 422, 'refused as invalid');
  t.match(JSON.stringify(bad.json), /telemetry\.mqtt\.discovery\.domain/, 'at its field');
});
