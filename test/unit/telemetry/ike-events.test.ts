// What the fleet console hears of IKE: sessions with their user at both ends (across an IKE rekey),
// sites as tunnels with the version they speak, refused logins, and nothing for the IPsec under L2TP.
import t from 'tap';
import type { IkeAction } from '../../../firmware/ike/engine/types.ts';
import { IkeEventMapper } from '../../../firmware/telemetry/ike-events.ts';

const remote = { address: '198.51.100.7', port: 4500 };
const up = (spi: bigint, connection: string, remoteId = 'alice'): IkeAction => ({ type: 'ike-up', spi, connection, remoteId, remote, virtualIp: { ipv4: '10.10.0.5' } } as IkeAction);
const down = (spi: bigint, connection: string, reason = 'deleted by the peer'): IkeAction => ({ type: 'ike-down', spi, connection, reason });

t.test('a remote-access session: up and down with its user and address, also after the IKE SA was rekeyed', async (t) => {
  const m = new IkeEventMapper(() => undefined);
  t.same(m.map(up(1n, 'remote-access')), [{ type: 'session-up', details: { protocol: 'ikev2', user: 'alice', connection: 'remote-access', address: '10.10.0.5' } }]);
  t.same(m.map({ type: 'ike-rekeyed', oldSpi: 1n, spi: 2n, connection: 'remote-access' }), [{ type: 'rekey', details: { protocol: 'ikev2', what: 'ike' } }]);
  t.same(m.map(down(2n, 'remote-access')), [{ type: 'session-down', details: { protocol: 'ikev2', connection: 'remote-access', user: 'alice', address: '10.10.0.5', reason: 'deleted by the peer' } }]);
  t.same(m.map(down(2n, 'remote-access')), [], 'told once');
});

t.test('a login refused before any session: an auth failure, no session-down', async (t) => {
  const m = new IkeEventMapper(() => undefined);
  t.same(m.map(down(9n, 'remote-access', 'AUTHENTICATION_FAILED from the peer')), [{ type: 'auth-failure', details: { protocol: 'ikev2', connection: 'remote-access', reason: 'AUTHENTICATION_FAILED from the peer' } }]);
});

t.test('sites are tunnels, named with the version they speak', async (t) => {
  const m = new IkeEventMapper((site) => (site === 'old-branch' ? 'ikev1' : 'ikev2'));
  t.same(m.map(up(3n, 'site:old-branch', '192.0.2.9')), [{ type: 'tunnel-up', details: { protocol: 'ikev1', site: 'old-branch', peer: '198.51.100.7' } }]);
  t.same(m.map(down(3n, 'site:hq')), [{ type: 'tunnel-down', details: { protocol: 'ikev2', site: 'hq', reason: 'deleted by the peer' } }]);
});

t.test('the IPsec under L2TP (clients and L2TP sites) is not reported as sessions of its own', async (t) => {
  const m = new IkeEventMapper(() => undefined);
  for (const connection of ['l2tp', 'l2tp-site:hq']) {
    t.same(m.map(up(5n, connection)), [], `${connection}: up`);
    t.same(m.map(down(5n, connection)), [], `${connection}: down`);
  }
});
