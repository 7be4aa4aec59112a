// Issue 17: a WAN or LAN interface the box lacks is logged as a warning at start and at each change
// (hardware may come later), read through an injected source.
import t from 'tap';
import { createLogger, memorySink } from '../../firmware/log/logger.ts';
import { Service } from '../../firmware/service.ts';
import { tempDir } from '../helpers/tmp.ts';

t.test('issue 17: a WAN interface missing from the box is a warning in the log at start and after a change, never a refusal', async (t) => {
  const { sink, records } = memorySink();
  let box: readonly string[] = ['lo', 'eth0'];
  const service = await Service.start({ stateDir: tempDir(t), logger: createLogger({ sink }), management: { host: '127.0.0.1', port: 0 }, only: ['web'], interfaces: () => box });
  t.teardown(() => service.stop());
  const missing = () => records.filter((r) => r.level === 'warn' && r.msg === 'configuration warning' && /no interface/.test(String(r['why'])));
  t.match(missing(), [{ path: 'system.lan.interface', why: /no interface 'eth1' on this box now \(it has: lo, eth0\)/ }], 'at start: the LAN eth1 is missing, the WAN eth0 is there');
  box = ['lo', 'eth0', 'eth1'];
  const next = structuredClone(service.store.current().config);
  next.system.wan.interface = 'wwan0';
  const applied = await service.applyConfig(next, { author: 'test' });
  t.ok(applied.ok, 'the change is applied');
  t.match(missing().at(-1), { path: 'system.wan.interface', why: /'wwan0'/ }, 'and the new WAN name is warned about');
  t.ok(records.some((r) => r.msg === 'insecure configuration' && r['path'] === 'listeners.ikev2.proposals.ike[5]'), 'insecure choices keep their own message');
});
