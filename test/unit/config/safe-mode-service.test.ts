// Safe mode in the running service (issue 17): a change applied with confirmWithin is reverted to the
// revision before it when not confirmed, kept when confirmed, and undone at the next start when the
// service stopped while it was pending.
import t from 'tap';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { Service } from '../../../firmware/service.ts';
import { tempDir } from '../../helpers/tmp.ts';

async function start(stateDir: string) {
  const { sink, records } = memorySink();
  const service = await Service.start({ stateDir, logger: createLogger({ sink }), management: { host: '127.0.0.1', port: 0 }, only: ['web'] });
  return { service, records };
}

const sstpOff = (service: Service) => {
  const next = structuredClone(service.store.current().config);
  next.listeners.sstp.enabled = false;
  return next;
};

t.test('not confirmed: back to the revision before, with a warn line', async (t) => {
  const { service, records } = await start(tempDir(t));
  t.teardown(() => service.stop());
  const before = service.store.current().revision;
  // 1 s: the service takes what the API checked (5 s at least there), so the test stays short.
  const applied = await service.applyConfig(sstpOff(service), { author: 'admin', comment: 'SSTP off', confirmWithin: 1 });
  t.ok(applied.ok);
  t.match(service.safeMode.pending, { previousRevision: before, seconds: 1 });
  // The real timer: reverted by itself once the second passes.
  const deadline = Date.now() + 10_000;
  while (service.safeMode.pending && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.equal(service.safeMode.pending, undefined);
  t.equal(service.store.current().config.listeners.sstp.enabled, true, 'SSTP is on again');
  t.match(service.store.current(), { author: 'safe-mode', comment: /not confirmed within 1 s; back to revision/ });
  t.ok(records.some((r) => r.level === 'warn' && r.msg === 'safe mode: change not confirmed, configuration reverted'), 'logged');
});

t.test('confirmed: kept', async (t) => {
  const { service } = await start(tempDir(t));
  t.teardown(() => service.stop());
  await service.applyConfig(sstpOff(service), { author: 'admin', comment: 'SSTP off', confirmWithin: 60 });
  t.equal(service.safeMode.confirm(), true);
  t.equal(service.store.current().config.listeners.sstp.enabled, false);
});

t.test('stopped while pending: reverted at the next start, before anything runs', async (t) => {
  const stateDir = tempDir(t);
  const first = await start(stateDir);
  const before = first.service.store.current().revision;
  await first.service.applyConfig(sstpOff(first.service), { author: 'admin', comment: 'SSTP off', confirmWithin: 600 });
  await first.service.stop();
  const second = await start(stateDir);
  t.teardown(() => second.service.stop());
  t.equal(second.service.store.current().config.listeners.sstp.enabled, true, 'SSTP is on again');
  t.match(second.service.store.current(), { author: 'safe-mode', comment: new RegExp(`restarted before the change was confirmed; back to revision ${before}`) });
  t.equal(second.service.safeMode.pending, undefined);
  t.ok(second.records.some((r) => r.msg === 'safe mode: change not confirmed before the restart, configuration reverted'));
});
