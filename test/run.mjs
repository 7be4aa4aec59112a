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

// The whole suite runs as two lanes, each one tap process at a time with one file at a time, so two
// files run at once (two cores). The qemu guests run one at a time in the first lane (emulated CPUs
// starve each other's timers) while the firmware builds and their user-mode emulated runs take the
// second; then both lanes take the other files from one queue, in chunks, until it is empty. Taking
// chunks as each lane frees (rather than a fixed split, or a phase for the heavy files after the rest)
// keeps both cores busy to the end: the queue ends with the unit files, the shortest.
const HEAVY = /^test\/(interop\/(vm-|lab-vm)|system\/firmware-)/;
const GUEST = /^test\/(interop\/(vm-|lab-vm)|system\/firmware-arm64-boot)/;
/** Chunks of the queue: a few lab or browser files, or many unit files, per tap process. */
function chunked(files) {
  const chunks = [];
  let chunk = [];
  let weight = 0;
  for (const f of files) {
    chunk.push(f);
    weight += f.startsWith('test/unit/') ? 1 : 5;
    if (weight >= 30) {
      chunks.push(chunk);
      chunk = [];
      weight = 0;
    }
  }
  if (chunk.length) chunks.push(chunk);
  return chunks;
}
const plan = args.length
  ? { heads: [args], queue: [] }
  : (() => {
      const all = testFiles('test').filter((f) => !f.startsWith('test/bench/'));
      const heavy = all.filter((f) => HEAVY.test(f));
      return {
        heads: [heavy.filter((f) => GUEST.test(f)), heavy.filter((f) => !GUEST.test(f))],
        queue: chunked(all.filter((f) => !HEAVY.test(f))),
      };
    })();

// `POSTERN_TEST_PLAN=1 node test/run.mjs` prints the lanes and the queue's chunks without running them.
if (process.env.POSTERN_TEST_PLAN) {
  plan.heads.forEach((head, i) => console.log(`lane ${i + 1} starts with ${head.length}: ${head.join(' ')}`));
  plan.queue.forEach((chunk, i) => console.log(`chunk ${i + 1} of ${chunk.length}: ${chunk[0]} … ${chunk.at(-1)}`));
  process.exit(0);
}

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
const streams = [];
/** One lane: its head files (when given) in one tap process, then chunks from the shared queue. */
async function runLane(head, number) {
  const started = Date.now();
  let files = 0;
  const run = async (tapArgs) => {
    const { exit, stream } = await runTap(tapArgs);
    streams.push(stream);
    if (exit !== 0) code = exit;
  };
  // A tap run is never started without files: tap would run every file it finds.
  if (head.length) {
    await run(args.length ? head : ['--jobs=1', ...head]);
    files += head.length;
    if (!args.length) console.log(`lane ${number}: its first ${head.length} files in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  for (let chunk = plan.queue.shift(); chunk; chunk = plan.queue.shift()) {
    await run(['--jobs=1', ...chunk]);
    files += chunk.length;
  }
  if (!args.length) console.log(`lane ${number}: ${files} files in ${Math.round((Date.now() - started) / 1000)} s`);
}
await Promise.all(plan.heads.map((head, i) => runLane(head, i + 1)));
for (const stream of streams) for (const line of stream) log.write(`${line}\n`);
// Flushed before exiting: the streams are written here, at the end.
await new Promise((resolve) => log.end(resolve));
for (const f of failures) console.log(`failed: ${f}`);
if (code !== 0 && failed === 0) {
  failed++;
  console.log(`failed: tap exited with ${code}`);
}
if (!args.length) console.log(`the suite: ${Math.round((Date.now() - suiteStarted) / 1000)} s`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
