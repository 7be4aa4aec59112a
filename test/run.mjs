#!/usr/bin/env node
// Runs the tap suite and ends with the line CI reads: `N passed, N failed[, N skipped]`.
// Counts are tests (the subtests of each file), not files; a file that dies outside any
// test counts as one failure. The full TAP stream is kept in test/artifacts/tap.log.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// Directories given on the command line stand for the test files under them.
const testFiles = (path) =>
  statSync(path).isDirectory()
    ? readdirSync(path, { recursive: true }).filter((f) => String(f).endsWith('.test.ts')).map((f) => join(path, String(f))).sort()
    : [path];
const args = process.argv.slice(2).flatMap((a) => (a.startsWith('-') || !existsSync(a) ? [a] : testFiles(a)));
mkdirSync('test/artifacts', { recursive: true });
// POSTERN_TAP_LOG moves it, so runs side by side do not overwrite each other's stream.
const log = createWriteStream(process.env.POSTERN_TAP_LOG ?? 'test/artifacts/tap.log');

// tap builds its test module for the plugins package.json names; a fresh `npm ci` has the default set,
// whose TypeScript plugin loads ts-node into every test process beside tsx. Build it once, up front,
// and only when it still has a plugin we leave out (two runs building at once break each other's).
const builtModule = 'node_modules/@tapjs/test/test-built/dist/esm/index.js';
const leftOut = (JSON.parse(readFileSync('package.json', 'utf8')).tap?.plugin ?? []).filter((p) => p.startsWith('!')).map((p) => p.slice(1));
const stale = !existsSync(builtModule) || leftOut.some((p) => readFileSync(builtModule, 'utf8').includes(`"${p}"`));
if (stale && spawnSync('npx', ['tap', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] }).status !== 0) {
  console.log('warning: `tap build` failed; running with the plugins installed');
}

// The whole suite runs in two phases: most files two at a time (package.json `jobs`), then the
// heavy ones. In that second phase the qemu guests run one at a time (emulated CPUs starve each
// other's timers) while, beside them, the firmware builds and their user-mode emulated runs take the
// other core, one at a time too: two lanes, each its own tap process.
const HEAVY = /^test\/(interop\/(vm-|lab-vm)|system\/firmware-)/;
const GUEST = /^test\/(interop\/(vm-|lab-vm)|system\/firmware-arm64-boot)/;
const phases = args.length
  ? [[args]]
  : (() => {
      const all = testFiles('test').filter((f) => !f.startsWith('test/bench/'));
      const heavy = all.filter((f) => HEAVY.test(f));
      return [[all.filter((f) => !HEAVY.test(f))], [['--jobs=1', ...heavy.filter((f) => GUEST.test(f))], ['--jobs=1', ...heavy.filter((f) => !GUEST.test(f))]]];
    })();

let passed = 0;
let failed = 0;
let skipped = 0;
const DETAIL_LINES = 60;
const failures = [];
const point = /^( *)(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO)\b.*| # time=.*)?$/;

/** One tap process: its TAP kept (returned), its files' results counted and printed as they end. */
async function runTap(tapArgs) {
  const stream = [];
  let pending = []; // failed tests of the file being read; its name comes after them in TAP
  // The failed assertions of the file being read with their diagnostics, printed under its FAIL line
  // so that CI's excerpt says why (bounded: a runaway file cannot flood the output).
  let detail = [];
  let inFailure = -1; // the indentation of the `not ok` whose YAML block is being read, or -1
  const tap = spawn('npx', ['tap', '--reporter=tap', ...tapArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
  for await (const line of createInterface({ input: tap.stdout })) {
    stream.push(line);
    const m = point.exec(line);
    if (inFailure >= 0 && !m) {
      if (detail.length < DETAIL_LINES) detail.push(line);
      if (/^ *\.\.\.$/.test(line)) inFailure = -1;
      continue;
    }
    inFailure = -1;
    if (!m) continue;
    if (m[2] === 'not ok' && m[1].length >= 8 && !m[4]) {
      if (detail.length < DETAIL_LINES) detail.push(line);
      inFailure = m[1].length;
    }
    const depth = m[1].length / 4;
    const ok = m[2] === 'ok';
    if (depth === 1) {
      if (m[4]) skipped++;
      else if (ok) passed++;
      else {
        failed++;
        pending.push(m[3]);
      }
    } else if (depth === 0) {
      const file = m[3];
      if (!ok && pending.length === 0) {
        failed++;
        pending.push('the file failed outside any test');
      }
      failures.push(...pending.map((name) => `${file}: ${name}`));
      console.log(`${ok ? 'ok    ' : 'FAIL  '} ${file}`);
      if (!ok) for (const d of detail) console.log(`       ${d}`);
      pending = [];
      detail = [];
    }
  }
  const exit = await new Promise((resolve) => tap.on('close', resolve));
  return { exit, stream };
}

let code = 0;
const suiteStarted = Date.now();
for (const [index, lanes] of phases.entries()) {
  // A lane with no files (a filtered run) is not started: tap would run every file it finds.
  const phaseStarted = Date.now();
  const results = await Promise.all(lanes.filter((lane) => lane === args || lane.some((a) => !a.startsWith('-'))).map(async (lane) => {
    const laneStarted = Date.now();
    const r = await runTap(lane);
    if (phases.length > 1) console.log(`phase ${index + 1} lane of ${lane.filter((a) => !a.startsWith('-')).length} files: ${Math.round((Date.now() - laneStarted) / 1000)} s`);
    return r;
  }));
  if (phases.length > 1) console.log(`phase ${index + 1}: ${Math.round((Date.now() - phaseStarted) / 1000)} s`);
  for (const { exit, stream } of results) {
    for (const line of stream) log.write(`${line}\n`);
    if (exit !== 0) code = exit;
  }
}
// Flushed before exiting: the streams are written here, at the end.
await new Promise((resolve) => log.end(resolve));
for (const f of failures) console.log(`failed: ${f}`);
if (code !== 0 && failed === 0) {
  failed++;
  console.log(`failed: tap exited with ${code}`);
}
if (phases.length > 1) console.log(`the suite: ${Math.round((Date.now() - suiteStarted) / 1000)} s`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
