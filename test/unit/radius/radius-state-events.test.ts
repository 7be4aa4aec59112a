// MQTT events for RADIUS servers (radius-state-events.ts): one event per gateway-wide change, none
// for a server first seen alive or no longer asked; a server first seen dead is reported.
import t from 'tap';
import { RadiusStateEvents } from '../../../firmware/radius/radius-state-events.ts';

const s = (name: string, state: 'alive' | 'dead' | 'unused', lastAnswerAt?: number) => ({ name, address: '10.0.0.1', state, usedBy: state === 'unused' ? [] : ['sstp'], ...(lastAnswerAt ? { lastAnswerAt } : {}) });

t.test('down, then up, each once; unused forgets the server', async (t) => {
  const e = new RadiusStateEvents();
  t.same(e.observe([s('hq1', 'alive'), s('hq2', 'unused')]), [], 'first seen alive: no news');
  t.same(e.observe([s('hq1', 'alive')]), []);
  t.same(e.observe([s('hq1', 'dead', 1_800_000_000_000)]), [{ type: 'radius-server-down', details: { server: 'hq1', address: '10.0.0.1', usedBy: ['sstp'], lastAnswerAt: '2027-01-15T08:00:00.000Z' } }]);
  t.same(e.observe([s('hq1', 'dead')]), [], 'still dead: nothing more');
  t.match(e.observe([s('hq1', 'alive')]), [{ type: 'radius-server-up', details: { server: 'hq1' } }]);
  t.same(e.observe([s('hq1', 'unused')]), [], 'no listener asks it any more');
  t.match(e.observe([s('hq1', 'dead')]), [{ type: 'radius-server-down' }], 'asked again and dead from the start: reported');
});
