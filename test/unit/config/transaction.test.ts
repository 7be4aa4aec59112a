import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { ConfigStore } from '../../../firmware/config/store.ts';
import { applyConfig, type ConfigApplier } from '../../../firmware/config/transaction.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import { createLogger } from '../../../firmware/log/logger.ts';
import { tempDir } from '../../helpers/tmp.ts';

const host = (name: string): PosternConfig => ({ ...defaultConfig(), system: { ...defaultConfig().system, hostname: name } });

/** Records every apply as "name:from->to"; throws when asked to move to `failOn`. */
function applier(name: string, journal: string[], failOn?: string): ConfigApplier {
  return {
    name,
    async apply(next, previous) {
      journal.push(`${name}:${previous.system.hostname}->${next.system.hostname}`);
      if (next.system.hostname === failOn) throw new Error(`${name} refuses ${failOn}`);
    },
  };
}

const openStore = (t: Parameters<typeof tempDir>[0]) => ConfigStore.open(tempDir(t), { logger: createLogger({ sink: () => {} }) });

t.test('success: every applier, then the commit', async (t) => {
  const store = await openStore(t);
  const journal: string[] = [];
  const r = await applyConfig(store, host('next'), [applier('a', journal), applier('b', journal)], { author: 't' });
  t.match(r, { ok: true, revision: 2 });
  t.same(journal, ['a:postern->next', 'b:postern->next']);
  t.equal(store.current().config.system.hostname, 'next');
});

t.test('an invalid document is refused before anything runs', async (t) => {
  const store = await openStore(t);
  const journal: string[] = [];
  const r = await applyConfig(store, host('bad name'), [applier('a', journal)], { author: 't' });
  t.match(r, { ok: false, stage: 'validate', errors: [{ path: 'system.hostname' }] });
  t.same(journal, []);
});

t.test('an applier failure rolls back everything touched, newest first, and commits nothing', async (t) => {
  const store = await openStore(t);
  const journal: string[] = [];
  const r = await applyConfig(store, host('boom'), [applier('a', journal), applier('b', journal, 'boom'), applier('c', journal)], { author: 't' });
  t.match(r, { ok: false, stage: 'apply', rolledBack: true, errors: [{ path: 'b', message: 'b refuses boom' }] });
  t.same(journal, ['a:postern->boom', 'b:postern->boom', 'b:boom->postern', 'a:boom->postern']);
  t.equal(store.current().revision, 1);
});

t.test('a commit failure (a concurrent change) rolls the appliers back too', async (t) => {
  const store = await openStore(t);
  const journal: string[] = [];
  const sneaky: ConfigApplier = {
    name: 'sneaky',
    async apply(next) {
      journal.push(`sneaky:${next.system.hostname}`);
      // Another writer commits while this change is being applied.
      if (next.system.hostname === 'mine') await store.write(host('theirs'), { author: 'other' });
    },
  };
  const r = await applyConfig(store, host('mine'), [sneaky], { author: 't' });
  t.match(r, { ok: false, stage: 'commit', rolledBack: true, errors: [{ message: /changed/ }] });
  t.same(journal, ['sneaky:mine', 'sneaky:postern']);
  t.equal(store.current().config.system.hostname, 'theirs');
});

t.test('applies never interleave', async (t) => {
  const store = await openStore(t);
  const journal: string[] = [];
  const slow: ConfigApplier = {
    name: 'slow',
    async apply(next) {
      journal.push(`start ${next.system.hostname}`);
      await new Promise((r) => setTimeout(r, 20));
      journal.push(`end ${next.system.hostname}`);
    },
  };
  await Promise.all([applyConfig(store, host('one'), [slow], { author: 't' }), applyConfig(store, host('two'), [slow], { author: 't' })]);
  t.same(journal, ['start one', 'end one', 'start two', 'end two']);
  t.equal(store.current().revision, 3);
});
