#!/usr/bin/env node
// Runs the tap suite and ends with the line CI reads: `N passed, N failed[, N skipped]`.
// Counts are tests (the subtests of each file), not files; a file that dies outside any
// test counts as one failure. The full TAP stream is kept in test/artifacts/tap.log.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { compiledPath, compileTests, sweepStaleBuilds } from './compile.mjs';

// Directories given on the command line stand for the test files under them.
const testFiles = (path) =>
  statSync(path).isDirectory()
    ? readdirSync(path, { recursive: true }).filter((f) => String(f).endsWith('.test.ts')).map((f) => join(path, String(f))).sort()
    : [path];
const args = process.argv.slice(2).flatMap((a) => (a.startsWith('-') || !existsSync(a) ? [a] : testFiles(relative(process.cwd(), resolve(a)))));
mkdirSync('test/artifacts', { recursive: true });
// POSTERN_TAP_LOG moves it, so runs side by side do not overwrite each other's stream.
const log = createWriteStream(process.env.POSTERN_TAP_LOG ?? 'test/artifacts/tap.log');

// tap builds its test module for the plugins package.json names; a fresh `npm ci` has the default set,
// whose TypeScript plugin loads ts-node into every test process beside tsx. Build it once, up front,
// and only when it still has a plugin we leave out (two runs building at once break each other's).
const tapConfig = JSON.parse(readFileSync('package.json', 'utf8')).tap ?? {};
const builtModule = 'node_modules/@tapjs/test/test-built/dist/esm/index.js';
const leftOut = (tapConfig.plugin ?? []).filter((p) => p.startsWith('!')).map((p) => p.slice(1));
const stale = !existsSync(builtModule) || leftOut.some((p) => readFileSync(builtModule, 'utf8').includes(`"${p}"`));
if (stale && spawnSync('npx', ['tap', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] }).status !== 0) {
  console.log('warning: `tap build` failed; running with the plugins installed');
}

// The whole suite runs as two lanes, each one file at a time, so two files run at once (two cores).
// The qemu guests run one at a time in the first lane (emulated CPUs starve each other's timers)
// while the firmware builds and their user-mode emulated runs take the second; then both lanes take
// the other files from one queue until it is empty, which keeps both cores busy to the end: the queue
// ends with the unit files, the shortest.
const HEAVY = /^test\/(interop\/(vm-|lab-vm)|system\/firmware-)/;
const GUEST = /^test\/(interop\/(vm-|lab-vm)|system\/firmware-arm64-boot)/;
const plan = args.length
  ? { heads: [[]], queue: args.filter((a) => !a.startsWith('-')) }
  : (() => {
      const all = testFiles('test').filter((f) => !f.startsWith('test/bench/'));
      const heavy = all.filter((f) => HEAVY.test(f));
      return { heads: [heavy.filter((f) => GUEST.test(f)), heavy.filter((f) => !GUEST.test(f))], queue: all.filter((f) => !HEAVY.test(f)) };
    })();
const everyFile = [...plan.heads.flat(), ...plan.queue];

// `POSTERN_TEST_PLAN=1 node test/run.mjs` prints the lanes and the queue without running them.
if (process.env.POSTERN_TEST_PLAN) {
  plan.heads.forEach((head, i) => console.log(`lane ${i + 1} starts with ${head.length}: ${head.join(' ')}`));
  console.log(`then ${plan.queue.length} files from one queue: ${plan.queue[0]} … ${plan.queue.at(-1)}`);
  process.exit(0);
}

// Every file and the programs tests start, compiled once for this run (test/compile.mjs), unless
// POSTERN_TEST_TSX=1 asks for the sources through tsx (a test being debugged).
const viaTsx = process.env.POSTERN_TEST_TSX === '1';
const BUILDS = 'test/artifacts';
const buildDir = join(BUILDS, `compiled-${process.pid}`);
if (!viaTsx) {
  sweepStaleBuilds(BUILDS, 'compiled-');
  const started = Date.now();
  try {
    await compileTests(everyFile, buildDir);
  } catch (error) {
    console.log(`the tests did not compile: ${error instanceof Error ? error.message : error}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  if (!args.length) console.log(`compiled ${everyFile.length} test files in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
const removeBuild = () => rmSync(buildDir, { recursive: true, force: true });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => (removeBuild(), process.exit(1)));

let passed = 0;
let failed = 0;
let skipped = 0;
let fileNumber = 0;
const DETAIL_LINES = 60;
const failures = [];
const point = /^( *)(not ok|ok) \d+ - (.*?)(?: # (SKIP|TODO)\b.*| # time=.*)?$/;
// A file that never ends (a process kept alive by a leak) is stopped: tap's own timeout (TAP_TIMEOUT,
// or the file's t.setTimeout) fails a test that hangs long before this.
const FILE_LIMIT_MS = 40 * 60_000;
const timeoutSeconds = String(tapConfig.timeout ?? 120);

/**
 * One test file in its own node process; its TAP is nested under a line for the file, as tap's runner
 * writes it, kept (returned) and counted. A file's failed assertions are printed under its FAIL line
 * with their diagnostics, so that CI's excerpt says why (bounded: a runaway file cannot flood it).
 */
async function runFile(file) {
  const started = Date.now();
  const stream = [`# Subtest: ${file}`];
  const pending = []; // the file's failed tests
  const detail = [];
  let firstAssertion = ''; // the first failed assertion, repeated in the summary (a CI excerpt may show only that)
  let inFailure = false; // reading the YAML block of a failed assertion
  const argv = viaTsx ? ['--import', 'tsx', file] : ['--enable-source-maps', compiledPath(buildDir, file)];
  const env = { ...process.env, TAP_TIMEOUT: timeoutSeconds, ...(viaTsx ? {} : { POSTERN_COMPILED: resolve(buildDir) }) };
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'], env });
  const limit = setTimeout(() => {
    stream.push(`    # stopped after ${FILE_LIMIT_MS / 60_000} minutes`);
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  }, FILE_LIMIT_MS);
  for await (const raw of createInterface({ input: child.stdout })) {
    const line = raw === '' ? '' : `    ${raw}`;
    stream.push(line);
    const m = point.exec(line);
    if (inFailure && !m) {
      if (detail.length < DETAIL_LINES) detail.push(line);
      if (/^ *\.\.\.$/.test(line)) inFailure = false;
      continue;
    }
    inFailure = false;
    if (!m) continue;
    if (m[2] === 'not ok' && m[1].length >= 8 && !m[4]) {
      if (detail.length < DETAIL_LINES) detail.push(line);
      firstAssertion ||= m[3].slice(0, 400);
      inFailure = true;
    }
    if (m[1].length !== 4) continue;
    if (m[4]) skipped++;
    else if (m[2] === 'ok') passed++;
    else {
      failed++;
      pending.push(m[3]);
    }
  }
  const [code, signal] = await new Promise((done) => (child.exitCode !== null || child.signalCode !== null ? done([child.exitCode, child.signalCode]) : child.on('close', (c, s) => done([c, s]))));
  clearTimeout(limit);
  const ok = code === 0 && pending.length === 0;
  if (!ok && pending.length === 0) {
    failed++;
    pending.push(signal ? `the file was ended by ${signal}` : `the file failed outside any test (exit ${code})`);
  }
  fileNumber++;
  stream.push(`${ok ? 'ok' : 'not ok'} ${fileNumber} - ${file} # time=${Date.now() - started}ms`, '');
  failures.push(...pending.map((name) => `${file}: ${name}${firstAssertion && firstAssertion !== name ? ` (first failed assertion: ${firstAssertion})` : ''}`));
  console.log(`${ok ? 'ok    ' : 'FAIL  '} ${file}`);
  if (!ok) for (const d of detail) console.log(`       ${d}`);
  return { ok, stream };
}

let code = 0;
const suiteStarted = Date.now();
const streams = [];
/** One lane: its head files, then files from the shared queue, one at a time. */
async function runLane(head, number) {
  const started = Date.now();
  let files = 0;
  const run = async (file) => {
    const { ok, stream } = await runFile(file);
    streams.push(stream);
    if (!ok) code = 1;
    files++;
  };
  for (const file of head) await run(file);
  if (!args.length && head.length) console.log(`lane ${number}: its first ${head.length} files in ${Math.round((Date.now() - started) / 1000)} s`);
  for (let file = plan.queue.shift(); file; file = plan.queue.shift()) await run(file);
  if (!args.length) console.log(`lane ${number}: ${files} files in ${Math.round((Date.now() - started) / 1000)} s`);
}
// Files given on the command line run two at a time as well.
const lanes = args.length ? [[], []] : plan.heads;
await Promise.all(lanes.map((head, i) => runLane(head, i + 1)));
removeBuild();
log.write('TAP version 14\n');
for (const stream of streams) for (const line of stream) log.write(`${line}\n`);
log.write(`1..${fileNumber}\n`);
// Flushed before exiting: the streams are written here, at the end.
await new Promise((resolve) => log.end(resolve));
for (const f of failures) console.log(`failed: ${f}`);
if (code !== 0 && failed === 0) {
  failed++;
  console.log('failed: a test file failed');
}
if (!args.length) console.log(`the suite: ${Math.round((Date.now() - suiteStarted) / 1000)} s`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
