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
// qemu guests and firmware builds one at a time, since emulated CPUs starve each other's timers.
const HEAVY = /^test\/(interop\/(vm-|lab-vm)|system\/firmware-)/;
const phases = args.length
  ? [args]
  : (() => {
      const all = testFiles('test').filter((f) => !f.startsWith('test/bench/'));
      return [all.filter((f) => !HEAVY.test(f)), ['--jobs=1', ...all.filter((f) => HEAVY.test(f))]];
    })();

let passed = 0;
let failed = 0;
let skipped = 0;
let pending = []; // failed tests of the file being read; its name comes after them in TAP
// The failed assertions of the file being read with their diagnostics, printed under its FAIL line
// so that CI's excerpt says why (bounded: a runaway file cannot flood the output).
let detail = [];
let inFailure = -1; // the indentation of the `not ok` whose YAML block is being read, or -1
const DETAIL_LINES = 60;
const failures = [];
const point = /^( *)(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO)\b.*| # time=.*)?$/;

let code = 0;
for (const phase of phases) {
  const tap = spawn('npx', ['tap', '--reporter=tap', ...phase], { stdio: ['ignore', 'pipe', 'inherit'] });
  for await (const line of createInterface({ input: tap.stdout })) {
    log.write(`${line}\n`);
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
  if (exit !== 0) code = exit;
}
log.end();
for (const f of failures) console.log(`failed: ${f}`);
if (code !== 0 && failed === 0) {
  failed++;
  console.log(`failed: tap exited with ${code}`);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
