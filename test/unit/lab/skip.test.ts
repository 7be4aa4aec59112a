import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import t from 'tap';
import { labSkip } from '../../lab/skip.ts';

t.test('issue 15.12: outside CI a missing peer is a skip; a met requirement never is', async (t) => {
  const failures: string[] = [];
  const fail = (m: string) => void failures.push(m);
  t.equal(labSkip('strongSwan is not installed', { ci: false, fail }), 'strongSwan is not installed');
  for (const met of [false, null, undefined, ''] as const) t.equal(labSkip(met, { ci: true, fail }), false);
  t.same(failures, []);
});

t.test('issue 15.12: under CI a missing peer, or not being root, is a failure', async (t) => {
  const failures: string[] = [];
  const fail = (m: string) => void failures.push(m);
  t.equal(labSkip('strongSwan is not installed', { ci: true, fail }), 'strongSwan is not installed', 'the dependent tests are still skipped, not failed one by one');
  labSkip('needs root', { ci: true, fail });
  t.match(failures, [/CI.*strongSwan is not installed/, /CI.*needs root/]);
});

t.test('issue 15.12: CI=true makes a test file that lacks its peer fail (exit status and a not ok line)', async (t) => {
  // Inside the repository (test/artifacts is ignored by git), so that tap and tsx resolve.
  mkdirSync(resolve('test/artifacts'), { recursive: true });
  const dir = mkdtempSync(join(resolve('test/artifacts'), 'lab-skip-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'needs-peer.test.ts');
  writeFileSync(file, `import t from 'tap';\nimport { labSkip } from ${JSON.stringify(resolve('test/lab/skip.ts'))};\nconst skip = labSkip('frobnicator is not installed');\nt.test('uses the frobnicator', { skip }, async (t) => t.pass());\n`);
  const run = (ci: string | undefined) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env['CI'];
    delete env['TAP'];
    if (ci !== undefined) env['CI'] = ci;
    return spawnSync(process.execPath, ['--import', 'tsx', file], { env, encoding: 'utf8', timeout: 60_000 });
  };
  const dev = run(undefined);
  t.equal(dev.status, 0, 'a developer run passes, with the test skipped');
  t.match(dev.stdout, /# SKIP frobnicator is not installed/);
  const ci = run('true');
  t.not(ci.status, 0, 'a CI run fails');
  t.match(ci.stdout, /not ok \d+ - lab requirement missing: under CI \(CI=true\) a missing requirement is a failure, not a skip: frobnicator is not installed/);
});
