// Issue 21: accounting of remote-access IKE SAs from the engine's actions. A session is started
// when its IKE SA is up (not for sites), keeps its octets across a child rekey (the old child's
// counters, octets and packets, are read as it is deleted) and an IKE SA rekey (the session moves to the new SPI), and
// is stopped once with all of them and the cause; IKE stopping ends the sessions still open. The
// RADIUS Access-Accept's Class (EAP through RADIUS) is echoed in its records.
import t from 'tap';
import type { ChildSaInfo, IkeAction } from '../../../firmware/ike/engine/types.ts';
import { IkeAccounting } from '../../../firmware/ike/ike-radius.ts';
import { Attr, integerOf, ipv4Of, textOf } from '../../../firmware/radius/attributes.ts';
import type { RadiusResult } from '../../../firmware/radius/client-engine.ts';
import type { RadiusAttribute } from '../../../firmware/radius/packet.ts';
import { SessionAccounting } from '../../../firmware/radius/session-accounting.ts';

function recorder() {
  const records: RadiusAttribute[][] = [];
  const client = { account: async (attributes: readonly RadiusAttribute[]) => (records.push([...attributes]), { outcome: 'accounting-response' } as RadiusResult) };
  return { records, accounting: new SessionAccounting({ client, nas: { identifier: 'gw' }, runId: 'run1' }) };
}
const child = (ikeSpi: bigint, inbound: number) => ({ ikeSpi, inbound: { spi: inbound } }) as unknown as ChildSaInfo;
const up = (spi: bigint, connection = 'remote-access'): IkeAction => ({ type: 'ike-up', spi, connection, remoteId: 'alice', remote: { address: '198.51.100.7', port: 4500 }, virtualIp: { ipv4: '10.10.0.3', dns: [] } });

t.test('octets survive child and IKE rekeys; one Start, one Stop, sites not accounted', async (t) => {
  const { records, accounting } = recorder();
  const counters = new Map<number, { in: number; out: number; packetsIn: number; packetsOut: number }>([[0x100, { in: 1000, out: 2000, packetsIn: 10, packetsOut: 20 }], [0x200, { in: 30, out: 40, packetsIn: 1, packetsOut: 2 }]]);
  const ike = new IkeAccounting(accounting, (spi) => counters.get(spi));
  ike.observe(up(7n, 'site:branch'));
  ike.observe(up(1n), 0);
  ike.observe({ type: 'install-child', child: child(1n, 0x100) });
  ike.observe({ type: 'rekey-child', old: child(1n, 0x100), child: child(1n, 0x200), initiated: false });
  ike.observe({ type: 'delete-child', child: child(1n, 0x100) });
  counters.delete(0x100); // the data plane forgets the old child after its delete
  ike.observe({ type: 'ike-rekeyed', oldSpi: 1n, spi: 2n, connection: 'remote-access' });
  ike.observe({ type: 'ike-down', spi: 1n, connection: 'remote-access', reason: 'old SA' }); // nothing: the session moved
  ike.observe({ type: 'delete-child', child: child(1n, 0x200) }); // children keep the SPI they were made under
  ike.observe({ type: 'ike-down', spi: 2n, connection: 'remote-access', reason: 'deleted by the peer' });
  ike.observe({ type: 'ike-down', spi: 2n, connection: 'remote-access', reason: 'again' });
  await ike.close('IKE stopped');
  t.equal(records.length, 2, 'one Start and one Stop; the site and the repeated down add nothing');
  const [start, stop] = records;
  t.equal(integerOf(start!, Attr.AcctStatusType), 1);
  t.equal(ipv4Of(start!, Attr.FramedIpAddress), '10.10.0.3');
  t.equal(textOf(start!, Attr.CallingStationId), '198.51.100.7');
  t.equal(integerOf(stop!, Attr.AcctStatusType), 2);
  t.equal(integerOf(stop!, Attr.AcctInputOctets), 1030, 'the old child\'s octets and the new one\'s');
  t.equal(integerOf(stop!, Attr.AcctOutputOctets), 2040);
  t.same([integerOf(stop!, Attr.AcctInputPackets), integerOf(stop!, Attr.AcctOutputPackets)], [11, 22], 'and their packets, from the data plane\'s per-SA counters');
  t.equal(integerOf(stop!, Attr.AcctTerminateCause), 1, 'an IKE Delete from the client: User-Request');
  t.equal(textOf(start!, Attr.AcctSessionId), textOf(stop!, Attr.AcctSessionId));
});

t.test('IKE stopping: a Stop for every session still open, awaited', async (t) => {
  const { records, accounting } = recorder();
  const ike = new IkeAccounting(accounting, () => ({ in: 5, out: 6 }));
  ike.observe(up(1n));
  ike.observe(up(2n));
  ike.observe({ type: 'install-child', child: child(2n, 0x300) });
  await ike.close('IKE stopped');
  const stops = records.filter((r) => integerOf(r, Attr.AcctStatusType) === 2);
  t.equal(stops.length, 2);
  t.same(stops.map((r) => integerOf(r, Attr.AcctTerminateCause)), [7, 7], 'Admin-Reboot');
  t.same(stops.map((r) => integerOf(r, Attr.AcctInputOctets)), [0, 5], 'each with its own children\'s octets');
});

t.test('EAP through RADIUS: the Access-Accept\'s Class echoed in Start and Stop', async (t) => {
  const { records, accounting } = recorder();
  const ike = new IkeAccounting(accounting, () => undefined);
  ike.observe({ ...up(1n), authorization: { class: [Uint8Array.of(0xca, 0xfe)] } } as IkeAction);
  ike.observe({ type: 'ike-down', spi: 1n, connection: 'remote-access', reason: 'deleted by the peer' });
  await ike.close('IKE stopped');
  t.equal(records.length, 2);
  t.same(records.map((r) => r.filter((a) => a.type === Attr.Class).map((a) => [...a.value])), [[[0xca, 0xfe]], [[0xca, 0xfe]]]);
});
