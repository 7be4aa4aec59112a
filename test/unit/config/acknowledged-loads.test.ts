// Issue 15.3: every revision applyConfig acknowledges loads unchanged at the next boot. Imports are
// valid documents with random mutations (the format version among them); each acknowledged one must
// come back from a fresh ConfigStore on the same state dir as the same revision, without fallback.
import fc from 'fast-check';
import t from 'tap';
import { defaultConfig } from '../../../firmware/config/defaults.ts';
import { ConfigStore } from '../../../firmware/config/store.ts';
import { applyConfig } from '../../../firmware/config/transaction.ts';
import type { PosternConfig } from '../../../firmware/config/types.ts';
import { storedUser } from '../../../firmware/config/users.ts';
import { createLogger, memorySink } from '../../../firmware/log/logger.ts';
import { tempDir } from '../../helpers/tmp.ts';

/** A valid document with some of everything: users (one CHAP-MD5), a site, an IPv6 pool. */
function richDocument(): PosternConfig {
  const c = defaultConfig();
  c.users = [storedUser({ name: 'alice', password: 'Alice-Pass-123', enabled: true }), storedUser({ name: 'old-router', password: 'Router-Pass-456', chapMd5: true, enabled: true, staticIPv4: '10.10.0.9' })];
  c.pools.push({ name: 'six', ipv4: '10.20.0.0/24', ipv6: 'fd00:20::/64', dns: [] });
  c.sites = [{ name: 'hq', protocol: 'ikev2', remote: 'hq.example.com', localSubnets: ['192.168.1.0/24'], remoteSubnets: ['10.0.0.0/8'], auth: 'psk', psk: 'a-long-shared-secret', initiate: true, enabled: true }];
  return c;
}

/** Every place in the document a mutation may hit: [path, kind of value there]. */
function places(doc: unknown, path: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(path);
  if (doc !== null && typeof doc === 'object') for (const [k, v] of Object.entries(doc)) places(v, [...path, Array.isArray(doc) ? Number(k) : k], out);
  return out;
}

const value = fc.oneof(
  fc.integer({ min: -5, max: 1005 }),
  fc.constantFrom(0, 1, 2, 3, 4, 999, 1000, -0, 1.5),
  fc.string({ maxLength: 12 }),
  fc.constantFrom('', '<redacted>', '10.10.0.0/24', 'fd00::/64', 'eth0', 'aes256-sha256-modp2048', 'x'.repeat(200)),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
  fc.dictionary(fc.constantFrom('name', 'enabled', '__proto__', 'constructor', 'toString', 'extra'), fc.oneof(fc.string({ maxLength: 6 }), fc.boolean()), { maxKeys: 3 }),
);

type Mutation = { kind: 'set'; at: number; value: unknown } | { kind: 'delete'; at: number } | { kind: 'add'; at: number; key: string; value: unknown } | { kind: 'version'; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('add' as const), at: fc.nat(), key: fc.constantFrom('__proto__', 'constructor', 'toString', 'note', 'valueOf'), value }),
  fc.record({ kind: fc.constant('version' as const), value: fc.oneof(fc.integer({ min: -2, max: 1001 }), fc.constantFrom(1, 2, 3, 4, 999, '3', null)) }),
);

function mutate(doc: Record<string, unknown>, m: Mutation): void {
  if (m.kind === 'version') {
    doc['version'] = m.value;
    return;
  }
  const all = places(doc).filter((p) => p.length > 0);
  const path = all[m.at % all.length]!;
  let parent: Record<string | number, unknown> = doc;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (m.kind === 'set') parent[last] = m.value;
  else if (m.kind === 'delete') Array.isArray(parent) ? parent.splice(last as number, 1) : delete parent[last];
  else {
    const target = parent[last];
    // As JSON.parse would build it: an own property, whatever the name.
    if (target !== null && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
  }
}

t.test('issue 15.3: an acknowledged import loads unchanged from a fresh store, without fallback', async (t) => {
  let acknowledged = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(mutation, { minLength: 0, maxLength: 4 }), async (mutations) => {
      const dir = tempDir(t);
      const store = await ConfigStore.open(dir, { logger: createLogger({ sink: () => {} }) });
      // Imports arrive as JSON: mutate a parsed copy, as the API's body would be.
      const doc = JSON.parse(JSON.stringify(richDocument())) as Record<string, unknown>;
      for (const m of mutations) mutate(doc, m);
      const result = await applyConfig(store, doc as unknown as PosternConfig, [], { author: 'import' });
      if (!result.ok) {
        refused++;
        return result.stage === 'validate' && store.current().revision === 1;
      }
      acknowledged++;
      const { sink, records } = memorySink();
      const reopened = await ConfigStore.open(dir, { logger: createLogger({ sink }) });
      const loaded = reopened.current();
      const same = loaded.revision === result.revision && JSON.stringify(loaded.config) === JSON.stringify(doc);
      const quiet = records.every((r) => r.level !== 'error' && r.level !== 'warn');
      return same && quiet && loaded.comment === '' && loaded.author === 'import';
    }),
    { numRuns: 250 },
  );
  t.ok(acknowledged > 20, `some imports were acknowledged (${acknowledged})`);
  t.ok(refused > 20, `and some refused (${refused})`);
});

t.test('issue 15.3: "version": 999 (and an old format number) is refused at validate, before any applier runs', async (t) => {
  for (const version of [999, 1, 2]) {
    const store = await ConfigStore.open(tempDir(t), { logger: createLogger({ sink: () => {} }) });
    const applied: string[] = [];
    const r = await applyConfig(store, { ...defaultConfig(), version }, [{ name: 'probe', apply: async () => void applied.push('x') }], { author: 't' });
    t.match(r, { ok: false, stage: 'validate', errors: [{ path: 'version', code: 'version' }] }, `version ${version}`);
    t.same(applied, [], 'nothing ran it');
    await t.rejects(store.write({ ...defaultConfig(), version }, { author: 't' }), { code: 'POSTERN_ERR_CONFIG_INVALID' }, 'and the store itself refuses to commit it');
  }
});
