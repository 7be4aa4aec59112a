import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { placeBuiltDir } from '../../../scripts/firmware/cache-dir.ts';

const built = (root: string, name: string, content: string, finished = true): string => {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'postern'), content);
  if (finished) writeFileSync(join(dir, 'manifest.json'), '{}');
  return dir;
};

t.test('two builders of one cache key: the first finished copy stays, the second is dropped', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'postern-cache-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'generic-arm64-0123456789abcdef');
  placeBuiltDir(built(root, '.build-1', 'first'), dir, 'manifest.json');
  t.equal(readFileSync(join(dir, 'postern'), 'utf8'), 'first', 'placed');
  const second = built(root, '.build-2', 'second');
  placeBuiltDir(second, dir, 'manifest.json');
  t.equal(readFileSync(join(dir, 'postern'), 'utf8'), 'first', 'the copy another test may be running is left alone');
  t.notOk(existsSync(second), 'and the loser cleaned up');
});

t.test('an unfinished leftover (no marker) is replaced', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'postern-cache-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const dir = built(root, 'node-v22-arm64', 'half', false);
  placeBuiltDir(built(root, 'node-v22-arm64.tmp-9', 'whole'), dir, 'manifest.json');
  t.equal(readFileSync(join(dir, 'postern'), 'utf8'), 'whole');
});
