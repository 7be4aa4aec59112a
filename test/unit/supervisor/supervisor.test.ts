import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { Supervisor } from '../../../firmware/supervisor/supervisor.ts';
import type { Subsystem, SubsystemSpec } from '../../../firmware/supervisor/subsystem.ts';

/** A subsystem that records what the supervisor asked of it. */
function recorder(name: string, journal: string[], failOn?: 'start' | 'reconfigure'): Subsystem {
  let state: 'running' | 'stopped' = 'stopped';
  return {
    name,
    async start() {
      if (failOn === 'start') throw new Error(`${name} cannot start`);
      journal.push(`start ${name}`);
      state = 'running';
    },
    async reconfigure() {
      if (failOn === 'reconfigure') throw new Error(`${name} cannot reconfigure`);
      journal.push(`reconfigure ${name}`);
    },
    async stop() {
      journal.push(`stop ${name}`);
      state = 'stopped';
    },
    status: () => ({ state }),
  };
}

const withSstp = (c: PosternConfig, enabled: boolean): PosternConfig => ({
  ...c,
  listeners: { ...c.listeners, sstp: { ...c.listeners.sstp, enabled } },
});

function setup(failOn?: 'start' | 'reconfigure') {
  const journal: string[] = [];
  const specs: SubsystemSpec[] = [
    { name: 'web', wanted: () => true, slice: (c) => c.system.management, create: () => recorder('web', journal, failOn) },
    { name: 'sstp', wanted: (c) => c.listeners.sstp.enabled, slice: (c) => c.listeners.sstp, create: () => recorder('sstp', journal) },
  ];
  const { sink } = memorySink();
  return { journal, supervisor: new Supervisor(specs, createLogger({ sink })) };
}

t.test('starts what the configuration wants, stops newest first', async (t) => {
  const { journal, supervisor } = setup();
  await supervisor.start(withSstp(defaultConfig(), true));
  t.same(journal, ['start web', 'start sstp']);
  t.equal(supervisor.status()['sstp']?.state, 'running');
  await supervisor.stop();
  t.same(journal.slice(2), ['stop sstp', 'stop web']);
});

t.test('apply starts, stops and reconfigures only what changed', async (t) => {
  const { journal, supervisor } = setup();
  const base = withSstp(defaultConfig(), false);
  await supervisor.start(base);
  const on = withSstp(base, true);
  await supervisor.apply(on, base);
  t.same(journal, ['start web', 'start sstp'], 'enabling SSTP starts it; web untouched');
  const moved = { ...on, system: { ...on.system, management: { ...on.system.management, port: 8081 } } };
  await supervisor.apply(moved, on);
  t.same(journal.slice(2), ['reconfigure web'], 'only the subsystem whose slice changed');
  await supervisor.apply(base, moved);
  t.same(journal.slice(3), ['reconfigure web', 'stop sstp']);
  t.equal(supervisor.status()['sstp']?.state, 'stopped');
});

t.test('a failing step throws so that the transaction can roll back', async (t) => {
  const { supervisor } = setup('reconfigure');
  const base = defaultConfig();
  await supervisor.start(base);
  const moved = { ...base, system: { ...base.system, management: { ...base.system.management, port: 8082 } } };
  await t.rejects(supervisor.apply(moved, base), /cannot reconfigure/);
  t.equal(supervisor.config, base, 'the running configuration is still the previous one');
});

t.test('a subsystem that fails to start is not counted as running', async (t) => {
  const { supervisor } = setup('start');
  await t.rejects(supervisor.start(defaultConfig()), /cannot start/);
  t.equal(supervisor.status()['web']?.state, 'stopped');
});
