import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Daemon, Lab } from '../topology.ts';
import { tsEntry } from '../../helpers/ts-entry.ts';

/**
 * A Postern test peer script running in a lab host, spoken to over stdin/stdout: one command line
 * in, one answer line out; lines starting `event ` are collected apart, in order.
 */
export class LinePeer {
  readonly daemon: Daemon;
  readonly events: Array<Record<string, unknown>> = [];
  readonly #lines: string[] = [];
  readonly #waiters: Array<(line: string) => void> = [];
  readonly #eventWaiters: Array<{ match: (e: Record<string, unknown>) => boolean; done: (e: Record<string, unknown>) => void }> = [];

  constructor(daemon: Daemon) {
    this.daemon = daemon;
    createInterface({ input: daemon.child.stdout! }).on('line', (line) => {
      if (line.startsWith('event ')) return this.#event(JSON.parse(line.slice(6)) as Record<string, unknown>);
      if (line.startsWith('log ')) return; // kept in the daemon's log file
      const waiter = this.#waiters.shift();
      if (waiter) waiter(line);
      else this.#lines.push(line);
    });
  }

  /**
   * Starts `script` (under test/lab/peers) in `host` with `config` as its JSON argument; waits for `ready` (`readyMs`: a browser takes longer).
   * `nodeArgs`: node flags of its own (a peer standing for the service takes the service's).
   */
  static async spawn(lab: Lab, host: string, name: string, script: string, config: unknown, readyMs = 15_000, nodeArgs: readonly string[] = []): Promise<{ peer: LinePeer; ready: string }> {
    const env = { ...process.env };
    delete env['NODE_OPTIONS']; // a plain node, not one carrying the test runner's loaders
    const path = resolve('test/lab/peers', script);
    // LAB_PEER_NODE_ARGS: extra node flags for every peer (profiling a benchmark: `--cpu-prof --cpu-prof-dir=DIR`).
    const extra = process.env['LAB_PEER_NODE_ARGS']?.split(' ').filter(Boolean) ?? [];
    const daemon = lab.spawnDaemon(host, name, [process.execPath, ...nodeArgs, ...extra, ...tsEntry(path), JSON.stringify(config)], env, true);
    const peer = new LinePeer(daemon);
    const first = await peer.next(readyMs);
    if (!first.startsWith('ready')) throw new Error(`${name} in ${host} did not start: ${first}`);
    return { peer, ready: first };
  }

  /** A peer speaking `{"call": name, "args": [...]}` lines answered `ok <json>`: the result, or a throw with the answer. */
  async call(name: string, ...args: unknown[]): Promise<any> {
    const answer = await this.command(JSON.stringify({ call: name, args }));
    if (!answer.startsWith('ok ')) throw new Error(`${name}: ${answer}`);
    return JSON.parse(answer.slice(3));
  }

  #event(e: Record<string, unknown>): void {
    this.events.push(e);
    for (const w of [...this.#eventWaiters]) {
      if (w.match(e)) {
        this.#eventWaiters.splice(this.#eventWaiters.indexOf(w), 1);
        w.done(e);
      }
    }
  }

  /** The first event (already seen or still to come) that matches, within `ms`. */
  waitEvent(match: (e: Record<string, unknown>) => boolean, ms = 10_000): Promise<Record<string, unknown>> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no matching event in ${ms} ms; saw ${JSON.stringify(this.events)}`)), ms);
      this.#eventWaiters.push({ match, done: (e) => { clearTimeout(timer); done(e); } });
    });
  }

  /**
   * Sends one command line and waits for its answer line: 20 s at most, since a browser's page
   * action or a screenshot on a machine running two test files and a VM can take longer than 5.
   */
  async command(line: string, ms = 20_000): Promise<string> {
    this.daemon.child.stdin!.write(`${line}\n`);
    return this.next(ms);
  }

  next(ms: number): Promise<string> {
    const queued = this.#lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((done, fail) => {
      const waiter = (line: string) => {
        clearTimeout(timer);
        done(line);
      };
      // A waiter that timed out leaves the queue: else it would swallow the next line (a later command's answer).
      const timer = setTimeout(() => {
        const at = this.#waiters.indexOf(waiter);
        if (at >= 0) this.#waiters.splice(at, 1);
        fail(new Error('peer: no answer'));
      }, ms);
      this.#waiters.push(waiter);
      void this.daemon.exited.then((code) => fail(new Error(`peer exited (${code})`)));
    });
  }
}
