// The whole tree must typecheck under the strict flags of tsconfig.json.
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { cleanEnv } from '../helpers/env.ts';

t.test('tsc --noEmit passes', async (t) => {
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { encoding: 'utf8', timeout: 300_000, env: cleanEnv() });
  t.equal(r.status, 0, `${r.stdout}${r.stderr}`.split('\n').slice(0, 40).join('\n'));
});

t.test('the web UI (webui/tsconfig.json: DOM, Preact JSX) too', async (t) => {
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'webui/tsconfig.json'], { encoding: 'utf8', timeout: 300_000, env: cleanEnv() });
  t.equal(r.status, 0, `${r.stdout}${r.stderr}`.split('\n').slice(0, 40).join('\n'));
});
