import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Firmware } from '../../scripts/firmware/build.ts';
import { Lab } from '../lab/topology.ts';
import { cleanEnv } from './env.ts';
import { plainHttpBox } from './plain-http-box.ts';

/**
 * The firmware executable started as a router starts it, inside a lab namespace (`gw`), its web
 * server on the LAN address; a `client` namespace polls /healthz over the veth. Measures what the
 * README reports: start to the first healthy answer, and the resident memory once idle.
 */
export const GW = '10.77.0.1';
export const PORT = 8080;

export interface Served {
  readonly startToHealthyMs: number;
  /** From the start to the web server's "web listening" line (its own clock). */
  readonly startToListeningMs: number;
  readonly idleRssKb: number;
  readonly health: Record<string, unknown>;
  readonly log: () => string;
  readonly stop: () => Promise<number | null>;
}

export function firmwareLab(): Lab {
  return Lab.create({ hosts: { gw: {}, client: {} }, links: { lan: { a: ['gw', `${GW}/24`], b: ['client', '10.77.0.2/24'] } } });
}

/**
 * Asks /healthz every 20 ms from inside `client` and prints the first answer: started before the
 * gateway, so the measured time is the gateway's, not that of starting a client per attempt.
 */
const POLLER = `
const url = process.argv[1];
console.log('polling');
(async () => {
  for (;;) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.ok) { console.log(JSON.stringify({ at: Date.now(), health: await r.json() })); return; }
    } catch {}
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
})();
`;

function firstLine(child: { stdout: NodeJS.ReadableStream | null }, match: (line: string) => boolean, deadlineMs: number, why: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`no answer within ${deadlineMs} ms; ${why()}`)), deadlineMs);
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      const line = buffered.split('\n').find(match);
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
  });
}

/** `command` starts Postern (runner, executable or node and bundle); `runtimeDir` for a single executable. */
export async function serveInLab(lab: Lab, command: readonly string[], deadlineMs: number, runtimeDir = true): Promise<Served> {
  const state = await plainHttpBox(lab.subdir('state')); // the poller asks over plain HTTP
  const poller = lab.spawnDaemon('client', 'poller', [process.execPath, '-e', POLLER, `http://${GW}:${PORT}/healthz`], cleanEnv());
  await firstLine(poller.child, (l) => l === 'polling', 20_000, () => 'the poller did not start');
  const started = Date.now();
  const args = ['run', '--state', state, ...(runtimeDir ? ['--runtime-dir', join(state, 'run')] : []), '--management', `${GW}:${PORT}`, '--only', 'web'];
  const daemon = lab.spawnDaemon('gw', 'postern', [...command, ...args], cleanEnv());
  const log = () => readFileSync(daemon.logFile, 'utf8');
  const answer = JSON.parse(await firstLine(poller.child, (l) => l.startsWith('{'), deadlineMs, () => `log:\n${log()}`)) as { at: number; health: Record<string, unknown> };
  const health = answer.health;
  const startToHealthyMs = answer.at - started;
  const listening = /"ts":"([^"]+)"[^\n]*"msg":"web listening"/.exec(log());
  const startToListeningMs = listening ? Date.parse(listening[1] as string) - started : NaN;
  // Idle: nothing asked of it for a few seconds (the start's garbage collected, timers settled).
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  const status = readFileSync(`/proc/${daemon.pid}/status`, 'utf8');
  const idleRssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  const stop = async () => {
    daemon.child.kill('SIGTERM');
    return daemon.exited;
  };
  return { startToHealthyMs, startToListeningMs, idleRssKb, health, log, stop };
}

/** One line for the test log and the README: the figures this run measured. */
export function figures(fw: Firmware, served: Served, what: string): string {
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const gz = fw.manifest.gzipBytes || gzipSync(readFileSync(fw.executable)).length;
  const size = fw.manifest.form === 'package' ? `package ${mb(fw.manifest.bytes)} MB (tar.gz)` : `executable ${mb(fw.manifest.bytes)} MB (${mb(gz)} MB gzipped)`;
  return `${what}: ${size}, start to healthy ${served.startToHealthyMs} ms (listening at ${served.startToListeningMs} ms), idle RSS ${(served.idleRssKb / 1024).toFixed(0)} MB`;
}

/** What `readelf` (binutils) says of an executable: its machine, and whether a symbol table is left. */
export function elfInfo(file: string): { machine: string; stripped: boolean } {
  const header = spawnSync('readelf', ['-h', file], { encoding: 'utf8' }).stdout;
  const sections = spawnSync('readelf', ['-S', '-W', file], { encoding: 'utf8' }).stdout;
  return { machine: /Machine:\s+(.+)/.exec(header)?.[1]?.trim() ?? 'unknown', stripped: sections.includes('.text') && !/\s\.symtab\s/.test(sections) };
}
