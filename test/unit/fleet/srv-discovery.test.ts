// Issue 26: the broker's DNS SRV names and RFC 2782's order (priority, then a weighted draw), the
// DHCP-given domain from resolv.conf, and enrollment's first configuration pointed at discovery.
import fc from 'fast-check';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { validateConfig } from '../../../firmware/config/validate.ts';
import { presetFleet } from '../../../firmware/fleet/enrollment.ts';
import { brokerCandidates, orderSrv, resolvConfDomain, srvQueryNames, type SrvRecord } from '../../../firmware/fleet/srv-discovery.ts';

const srv = (name: string, port: number, priority: number, weight: number): SrvRecord => ({ name, port, priority, weight });
/** A seeded generator, so draws are repeatable. */
const seeded = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

t.test('the names: TLS always, unencrypted only when allowed', async (t) => {
  t.same(srvQueryNames('example.com.', false), { secure: '_secure-mqtt._tcp.example.com' });
  t.same(srvQueryNames('example.com', true), { secure: '_secure-mqtt._tcp.example.com', plain: '_mqtt._tcp.example.com' });
});

t.test('priority first; TLS targets before unencrypted ones; "." means none; bad records left out', async (t) => {
  const urls = brokerCandidates({
    secure: [srv('b.example.com', 8883, 20, 0), srv('a.example.com.', 8883, 10, 0)],
    plain: [srv('c.example.com', 1883, 1, 0), srv('a.example.com', 8883, 10, 0)],
  }, () => 0.5);
  t.same(urls, ['mqtts://a.example.com:8883', 'mqtts://b.example.com:8883', 'mqtt://c.example.com:1883', 'mqtt://a.example.com:8883']);
  t.same(orderSrv([srv('.', 0, 0, 0)], Math.random), [], 'the service is decidedly not available');
  t.same(orderSrv([srv('evil.example.com/x', 1, 0, 0), srv('ok.example.com', 0, 0, 0), srv('ok.example.com', 70000, 0, 0), srv('-bad.example.com', 1, 0, 0)], Math.random), [], 'a target that is not a host name, a port out of range');
});

t.test('within a priority, the draw follows the weights (RFC 2782); weight 0 rarely first when others weigh', async (t) => {
  const random = seeded(7);
  const firsts: Record<string, number> = {};
  for (let i = 0; i < 4000; i++) {
    const first = orderSrv([srv('zero', 1, 5, 0), srv('light', 1, 5, 10), srv('heavy', 1, 5, 30)], random)[0]!.name;
    firsts[first] = (firsts[first] ?? 0) + 1;
  }
  t.ok(firsts['heavy']! > 2700 && firsts['heavy']! < 3300, `heavy first ~3/4 of the time: ${JSON.stringify(firsts)}`);
  t.ok(firsts['light']! > 800 && firsts['light']! < 1200, 'light ~1/4');
  t.ok((firsts['zero'] ?? 0) > 20 && firsts['zero']! < 200, 'zero only when the draw is exactly 0 (1 in 41)');
  t.same(orderSrv([srv('a', 1, 0, 0), srv('b', 1, 0, 0)], () => 0).map((r) => r.name), ['a', 'b'], 'all weight 0: every one still comes');
});

t.test('property: the order is a permutation of the usable records, priorities never decreasing; only well-formed URLs', async () => {
  const record = fc.record({ name: fc.constantFrom('a.example', 'b.example', 'c', 'd.e.f'), port: fc.integer({ min: 1, max: 65535 }), priority: fc.integer({ min: 0, max: 3 }), weight: fc.integer({ min: 0, max: 100 }) });
  fc.assert(fc.property(fc.array(record, { minLength: 2, maxLength: 12 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (records, r) => {
    const ordered = orderSrv(records, () => r);
    if (ordered.length !== records.length) return false;
    const key = (x: SrvRecord) => JSON.stringify(x);
    if ([...ordered].map(key).sort().join() !== [...records].map(key).sort().join()) return false;
    return ordered.every((x, i) => i === 0 || ordered[i - 1]!.priority <= x.priority);
  }));
  fc.assert(fc.property(fc.array(fc.record({ name: fc.string(), port: fc.integer(), priority: fc.integer(), weight: fc.integer() })), (records) => {
    const urls = brokerCandidates({ secure: records }, Math.random);
    return urls.every((u) => /^mqtts:\/\/[A-Za-z0-9.-]+:\d+$/.test(u) && new URL(u).hostname.length > 0);
  }));
});

t.test('the DHCP-given domain from resolv.conf: `domain`, else the first `search`', async (t) => {
  t.equal(resolvConfDomain('nameserver 10.0.0.1\nsearch shop17.example.net corp.example\n'), 'shop17.example.net');
  t.equal(resolvConfDomain('search a.example\ndomain b.example.\n'), 'b.example');
  t.equal(resolvConfDomain('nameserver 1.1.1.1\n'), undefined);
  t.equal(resolvConfDomain('search bad/name\n'), undefined, 'not a domain name');
  fc.assert(fc.property(fc.string(), (text) => {
    const d = resolvConfDomain(text);
    return d === undefined || /^[A-Za-z0-9.-]+$/.test(d);
  }));
});

t.test('enrollment without a broker but a discovery domain: the first configuration looks it up (valid, off otherwise)', async (t) => {
  const keys = ['11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo='];
  const preset = presetFleet(defaultConfig(), { discoveryDomain: 'fleet.example.net', operatorKeys: keys }, 'shop-17');
  t.match(preset.telemetry.mqtt, { enabled: true, discovery: { domain: 'fleet.example.net' }, deviceId: 'shop-17', fleet: { enabled: true } });
  t.equal(preset.telemetry.mqtt.discovery?.plain, undefined, 'TLS only unless the board allows unencrypted');
  const v = validateConfig(preset);
  t.ok(v.ok, JSON.stringify(v.ok ? [] : v.errors));
  t.same(presetFleet(defaultConfig(), { operatorKeys: keys }, 'shop-17'), defaultConfig(), 'neither broker nor domain: off');
  t.equal(presetFleet(defaultConfig(), { broker: 'mqtts://b.example:8883', discoveryDomain: 'x.example', operatorKeys: keys }, 's').telemetry.mqtt.discovery, undefined, 'a broker named at the factory wins');
});
