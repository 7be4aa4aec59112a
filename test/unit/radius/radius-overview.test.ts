// The RADIUS page's overview (radius-overview.ts): a server's state and counters summed over the
// listeners whose clients ask it, the backlog over every listener, DAS clients, no secret in it.
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { radiusOverview } from '../../../firmware/radius/radius-overview.ts';
import { zeroCounters } from '../../../firmware/radius/server-state.ts';

const config = () => {
  const c = structuredClone(defaultConfig());
  c.radius = {
    servers: [{ name: 'hq1', address: '10.0.0.1', authPort: 1812, acctPort: 1813, secret: 'hq1-shared-secret' }, { name: 'hq2', address: '10.0.0.2', authPort: 1812, acctPort: 1813, secret: 'hq2-shared-secret' }],
    dynamicAuthorization: { enabled: true, port: 3799, clients: [{ name: 'dac', address: '10.0.0.1', secret: 'dac-shared-secret' }] },
  };
  return c;
};
const client = (states: Array<{ name: string; alive: boolean; lastAnswerAt?: number; requests: number }>) => ({
  servers: () => states.map((s) => ({ name: s.name, alive: s.alive, ...(s.lastAnswerAt ? { lastAnswerAt: s.lastAnswerAt } : {}), counters: { ...zeroCounters(), requests: s.requests } })),
});

t.test('alive when any listener\'s client has it alive, dead when all marked it, unused when none asks; counters and backlog summed', async (t) => {
  const o = radiusOverview(config(), [
    { listener: 'sstp', client: client([{ name: 'hq1', alive: true, lastAnswerAt: 1000, requests: 3 }, { name: 'hq2', alive: false, requests: 1 }]), backlog: 2 },
    { listener: 'ikev2', client: client([{ name: 'hq1', alive: false, lastAnswerAt: 2000, requests: 4 }, { name: 'hq2', alive: false, requests: 1 }]), backlog: 5 },
  ], { state: 'running', counters: { 'das.disconnectAcks': 1 } });
  t.match(o.servers, [{ name: 'hq1', state: 'alive', lastAnswerAt: 2000, usedBy: ['sstp', 'ikev2'], counters: { requests: 7 } }, { name: 'hq2', state: 'dead', counters: { requests: 2 } }]);
  t.same([o.backlog, o.backlogByListener], [7, { sstp: 2, ikev2: 5 }]);
  t.match(o.dynamicAuthorization, { enabled: true, listen: '192.168.1.1', port: 3799, clients: [{ name: 'dac', secret: '<redacted>' }], state: 'running' });
  t.notMatch(JSON.stringify(o), /shared-secret/, 'no secret');
  t.match(radiusOverview(config(), [], undefined).servers, [{ state: 'unused' }, { state: 'unused' }], 'no listener asks RADIUS: unused');
});
