// Issue 18: the x64 firmware executable (cached in .cache/firmware/): identity, the service answering
// /healthz inside a lab namespace with its embedded driver, and the start refused when the runtime
// directory is on a noexec mount.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildFirmware, type Firmware } from '../../scripts/firmware/build.ts';
import { NODE_VERSION } from '../../scripts/firmware/runtime.ts';
import { TARGETS, targetMissing } from '../../scripts/firmware/targets.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { labSkip } from '../lab/skip.ts';
import { cleanEnv } from '../helpers/env.ts';
import { elfInfo, figures, firmwareLab, GW, PORT, serveInLab } from '../helpers/firmware-lab.ts';
import { tempDir } from '../helpers/tmp.ts';

t.setTimeout(600_000);
const skip = labSkip(!isRoot() ? 'needs root' : targetMissing(TARGETS.x64) ?? (!hasBinary('curl') ? 'curl is not installed' : !hasBinary('unshare') ? 'unshare is not installed' : false));
let fw: Firmware | undefined;
const firmware = (): Firmware => (fw ??= buildFirmware('generic-x64', { log: (line) => t.comment(line) }));

t.test('the x64 executable reports its identity, with the pinned runtime and the board', { skip }, async (t) => {
  const f = firmware();
  t.same(elfInfo(f.executable), { machine: 'Advanced Micro Devices X86-64', stripped: true }, 'a stripped x86-64 ELF');
  const r = spawnSync(f.executable, ['--version', '--json'], { encoding: 'utf8', timeout: 20_000, env: cleanEnv(), cwd: '/' });
  t.equal(r.status, 0, r.stderr);
  const v = JSON.parse(r.stdout) as Record<string, unknown>;
  t.same([v['node'], v['arch'], v['board'], v['singleExecutable']], [`v${NODE_VERSION}`, 'x64', 'generic-x64', true]);
  t.equal(spawnSync(f.executable, ['version'], { encoding: 'utf8', env: cleanEnv() }).stdout, spawnSync(f.executable, ['--version'], { encoding: 'utf8', env: cleanEnv() }).stdout, 'version and --version agree');
  t.equal(f.manifest.arch, 'x64');
  t.ok(f.manifest.bytes > 50e6 && f.manifest.gzipBytes < f.manifest.bytes, 'sizes recorded in the manifest');
});

t.test('postern run answers /healthz inside a lab namespace with its embedded driver', { skip }, async (t) => {
  const f = firmware();
  const lab = firmwareLab();
  t.teardown(() => lab.teardown());
  const served = await serveInLab(lab, [f.executable], 20_000);
  t.equal(served.health['status'], 'ok');
  t.match(served.log(), /"path":"[^"]*\/run\/postern_dp-[0-9a-f]{16}\.node"[^\n]*"msg":"driver loaded"/, 'the embedded driver, loaded from the runtime directory');
  const page = await lab.exec('client', ['curl', '-sS', '--max-time', '5', `http://${GW}:${PORT}/`]);
  t.match(page.stdout, /<title>Postern<\/title>/, 'the embedded web UI');
  // The script under its content-hashed name, precompressed at build time and served as brotli.
  const script = /src="\/(app\.[0-9a-f]{12}\.js)"/.exec(page.stdout)?.[1];
  t.ok(script, `the page names its hashed script: ${script}`);
  const app = await lab.exec('client', ['curl', '-sS', '--max-time', '5', '-H', 'Accept-Encoding: br', '-D', '-', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', `http://${GW}:${PORT}/${script}`]);
  t.match(app.stdout, /^content-encoding: br\r?$/im, 'its script, as brotli');
  t.match(app.stdout, /^cache-control: public, max-age=31536000, immutable\r?$/im, 'kept a year');
  t.match(app.stdout, /^200 \d{4,}$/m, `${/^200 (\d+)$/m.exec(app.stdout)?.[1]} bytes transferred`);
  t.comment(figures(f, served, 'x64'));
  t.ok(served.startToHealthyMs < 10_000, `healthy in ${served.startToHealthyMs} ms`);
  t.equal(await served.stop(), 0, 'a clean stop on SIGTERM');
});

t.test('a noexec runtime directory stops the start with a clear error', { skip }, async (t) => {
  const f = firmware();
  const base = tempDir(t);
  const state = join(base, 'state');
  const runtime = join(base, 'noexec');
  mkdirSync(runtime);
  // A private mount namespace: the noexec tmpfs exists only for this one process.
  const script = `mount -t tmpfs -o noexec,mode=700 postern-test "$1" && exec "$2" run --state "$3" --runtime-dir "$1" --management 127.0.0.1:0 --only web`;
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', runtime, f.executable, state], { encoding: 'utf8', timeout: 20_000, env: cleanEnv() });
  t.equal(r.status, 1, 'exit 1');
  t.match(r.stderr, new RegExp(`runtime directory ${runtime} cannot hold the data-plane driver: it is on ${runtime} \\(tmpfs\\), mounted noexec`));
  t.match(r.stderr, /choose another with --runtime-dir/);
  t.match(r.stderr, /POSTERN_ERR_DRIVER_UNAVAILABLE/);
  t.notMatch(r.stdout, /web listening/, 'nothing was started');
});
