// Issue 18: the arm64 firmware executable, built as `make firmware` builds it (cached in
// .cache/firmware/), run under qemu-aarch64-static: its identity, the service answering /healthz
// inside a lab namespace, and the driver's C tests cross-compiled for arm64.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { buildFirmware, CACHE_DIR, type Firmware } from '../../scripts/firmware/build.ts';
import { NODE_VERSION } from '../../scripts/firmware/runtime.ts';
import { TARGETS, targetMissing } from '../../scripts/firmware/targets.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { labSkip } from '../lab/skip.ts';
import { elfInfo, figures, firmwareLab, serveInLab } from '../helpers/firmware-lab.ts';

// A first build (runtime fetched, driver compiled, blob made under emulation) takes a minute or two.
t.setTimeout(600_000);
const target = TARGETS.arm64;
const skip = labSkip(!isRoot() ? 'needs root' : targetMissing(target) ?? (!hasBinary('curl') ? 'curl is not installed' : false));
let fw: Firmware | undefined;
const firmware = (): Firmware => (fw ??= buildFirmware('generic-arm64', { log: (line) => t.comment(line) }));

t.test('the arm64 executable reports its identity under emulation', { skip }, async (t) => {
  const started = Date.now();
  const f = firmware();
  t.comment(`executable ${f.built ? `built in ${Date.now() - started} ms` : 'from the cache'}: ${f.executable}`);
  t.same(elfInfo(f.executable), { machine: 'AArch64', stripped: true }, 'a stripped arm64 ELF');
  const r = spawnSync(target.runner[0] as string, [...target.runner.slice(1), f.executable, '--version', '--json'], { encoding: 'utf8', timeout: 60_000 });
  t.equal(r.status, 0, r.stderr);
  const v = JSON.parse(r.stdout) as Record<string, unknown>;
  t.equal(v['node'], `v${NODE_VERSION}`, 'the pinned runtime');
  t.equal(v['arch'], 'arm64');
  t.equal(v['board'], 'generic-arm64');
  t.equal(v['singleExecutable'], true);
  t.match(v['commit'], /^[0-9a-f]{7,}$/);
  t.ok(!Number.isNaN(Date.parse(String(v['builtAt']))), 'a build date');
  const line = spawnSync(target.runner[0] as string, [...target.runner.slice(1), f.executable, '--version'], { encoding: 'utf8', timeout: 60_000 });
  t.match(line.stdout, /^postern \d+\.\d+\.\d+ \(commit [0-9a-f]+, built .*, node v\d+\.\d+\.\d+, arm64, board generic-arm64, single executable\)\n$/);
});

t.test('postern run answers /healthz inside a lab namespace, under emulation', { skip }, async (t) => {
  const f = firmware();
  const lab = firmwareLab();
  t.teardown(() => lab.teardown());
  const served = await serveInLab(lab, [...target.runner, f.executable], 60_000);
  t.equal(served.health['status'], 'ok');
  t.match(served.log(), /"msg":"driver loaded"/, 'the embedded driver was written out and loaded');
  t.comment(figures(f, served, 'arm64 under qemu-aarch64-static'));
  t.ok(served.startToHealthyMs < 30_000, `healthy in ${served.startToHealthyMs} ms under emulation`);
  t.equal(await served.stop(), 0, 'a clean stop on SIGTERM');
});

t.test('the driver C tests pass cross-compiled for arm64', { skip }, async (t) => {
  const started = Date.now();
  const r = spawnSync('make', ['-s', '-C', 'drivers', 'check', `CC=${target.cc}`, `OUT=${join(CACHE_DIR, 'dp-tests-arm64')}`, `RUN=${target.runner.join(' ')}`], { encoding: 'utf8', timeout: 300_000 });
  t.equal(r.status, 0, r.stderr.slice(-2000));
  const summary = /# (\d+) passed, (\d+) failed/.exec(r.stdout);
  t.ok(summary, 'the C suite printed its summary');
  t.equal(summary?.[2], '0', 'none failed');
  t.ok(Number(summary?.[1]) > 100, `${summary?.[1]} C tests ran`);
  t.notMatch(r.stdout, /^not ok/m);
  t.equal(elfInfo(join(CACHE_DIR, 'dp-tests-arm64', 'test_dp')).machine, 'AArch64', 'the tests ran as arm64 code');
  t.comment(`C tests under emulation: ${Date.now() - started} ms`);
});
