import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { createDh, dhSpec, peerValueAcceptable, secretFromPrivateKey, type DhExchange, type DhSpec } from './dh.ts';
import { DH_WORKER_SOURCE } from './dh-worker-source.ts';

/**
 * Diffie-Hellman on worker threads (issue 23), so a responder's key work uses the other cores as
 * charon's threads do. The engines stay synchronous and unchanged in shape: `createDh` hands out a
 * key pair made ahead of demand by a worker (a responder's IKE_SA_INIT needs its public value at
 * once), and `prepare` sends the secret's computation to a worker while the answer goes out; the
 * engine asks `computeSecret` when IKE_AUTH arrives, by when it is back. Whatever is not ready in
 * time (an empty stock, a secret not back, a worker gone) is done here instead, so no setup waits
 * on the pool. MODP and NIST-curve groups only; X25519 stays inline (dh.ts).
 */
export interface DhWorkerPoolOptions {
  /** Worker threads; default one fewer than the cores. None (one core): everything inline, as plain `createDh`. */
  readonly workers?: number;
  /** Key pairs kept ready per group; a batch is asked for when the stock falls below half. */
  readonly stock?: number;
  /** Groups to stock at once (else a group is stocked from its first use). */
  readonly groups?: readonly number[];
}

interface KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicValue: Uint8Array;
}

interface Job {
  readonly id: number;
  readonly spec: DhSpec;
  readonly privateKey: Uint8Array;
  readonly peer: Uint8Array;
}

type FromWorker = { op: 'keys'; spec: DhSpec; keys: KeyPair[] } | { op: 'secrets'; results: Array<{ id: number; secret: Uint8Array | null }> };

/** How the pool did: keys and secrets from the workers, and what had to be done on the main thread. */
export interface DhPoolCounters {
  pooledKeys: number;
  inlineKeys: number;
  offloadedSecrets: number;
  inlineSecrets: number;
  refusedValues: number;
  workerErrors: number;
}

const specKey = (spec: DhSpec) => (spec.kind === 'modp' ? spec.name : spec.curve);

export class DhWorkerPool {
  readonly counters: DhPoolCounters = { pooledKeys: 0, inlineKeys: 0, offloadedSecrets: 0, inlineSecrets: 0, refusedValues: 0, workerErrors: 0 };
  readonly #workers: Worker[] = [];
  readonly #stockSize: number;
  readonly #stock = new Map<string, KeyPair[]>();
  readonly #asked = new Map<string, number>();
  readonly #waiting = new Map<number, (secret: Uint8Array | undefined) => void>();
  /** Promises of `settled()`: each resolves once every job before `upTo` is answered (or given up). */
  #settleWaiters: Array<{ readonly upTo: number; readonly resolve: () => void }> = [];
  #jobs: Job[] = [];
  #flushing = false;
  #nextJob = 1;
  #nextWorker = 0;

  constructor(options: DhWorkerPoolOptions = {}) {
    this.#stockSize = Math.max(2, options.stock ?? 128);
    const count = Math.max(0, options.workers ?? availableParallelism() - 1);
    for (let i = 0; i < count; i++) this.#spawn();
    for (const group of options.groups ?? []) {
      const spec = dhSpec(group);
      if (spec) this.#refill(spec);
    }
  }

  /** The crypto provider's `createDh`: a stocked key pair, or one made here when the stock is empty. */
  readonly createDh = (group: number): DhExchange | undefined => {
    const spec = dhSpec(group);
    if (!spec || this.#workers.length === 0) return createDh(group);
    const key = this.#stock.get(specKey(spec))?.pop();
    this.#refill(spec);
    if (!key) {
      this.counters.inlineKeys++;
      return createDh(group);
    }
    this.counters.pooledKeys++;
    return this.#exchange(group, spec, key);
  };

  /** Key pairs asked of the workers and secrets sent to them, not yet back. */
  get pending(): number {
    let keys = 0;
    for (const n of this.#asked.values()) keys += n;
    return keys + this.#waiting.size;
  }

  /**
   * Undefined when no secret is out at a worker; else a promise that resolves once all out now are
   * back, or after `deadlineMs` (a starved or stuck worker: `computeSecret` then works inline). The
   * shell holds received packets on it, so IKE_AUTH finds its responder's secret computed.
   */
  settled(deadlineMs = 100): Promise<void> | undefined {
    if (this.#waiting.size === 0) return undefined;
    const upTo = this.#nextJob - 1;
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, deadlineMs);
      timer.unref();
      this.#settleWaiters.push({ upTo, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  /** Ends the workers; the pool then makes everything inline. */
  async close(): Promise<void> {
    const workers = this.#workers.splice(0);
    this.#failWaiting();
    await Promise.all(workers.map((w) => w.terminate()));
  }

  #exchange(group: number, spec: DhSpec, key: KeyPair): DhExchange {
    let asked: Uint8Array | undefined;
    let answer: { secret: Uint8Array | undefined } | undefined;
    return {
      group,
      publicValue: key.publicValue,
      prepare: (peer) => {
        if (!peerValueAcceptable(spec, peer)) return (this.counters.refusedValues++, false);
        asked = peer;
        this.#submit(spec, key.privateKey, peer, (secret) => (answer = { secret }));
        return true;
      },
      computeSecret: (peer) => {
        if (answer && peer === asked) {
          if (answer.secret) this.counters.offloadedSecrets++;
          else this.counters.refusedValues++;
          return answer.secret;
        }
        this.counters.inlineSecrets++;
        return secretFromPrivateKey(spec, key.privateKey, peer);
      },
    };
  }

  #submit(spec: DhSpec, privateKey: Uint8Array, peer: Uint8Array, done: (secret: Uint8Array | undefined) => void): void {
    const id = this.#nextJob++;
    this.#waiting.set(id, done);
    this.#jobs.push({ id, spec, privateKey, peer });
    if (this.#flushing) return;
    this.#flushing = true;
    // The jobs of one turn of the event loop go in one message: a message costs more than a small job.
    setImmediate(() => {
      this.#flushing = false;
      const jobs = this.#jobs;
      this.#jobs = [];
      const worker = this.#pick();
      if (worker) worker.postMessage({ op: 'secrets', jobs });
      else this.#failWaiting();
    });
  }

  #refill(spec: DhSpec): void {
    const name = specKey(spec);
    const have = (this.#stock.get(name)?.length ?? 0) + (this.#asked.get(name) ?? 0);
    if (have >= this.#stockSize / 2) return;
    const worker = this.#pick();
    if (!worker) return;
    const count = this.#stockSize - have;
    this.#asked.set(name, (this.#asked.get(name) ?? 0) + count);
    worker.postMessage({ op: 'keys', spec, count });
  }

  #pick(): Worker | undefined {
    if (this.#workers.length === 0) return undefined;
    return this.#workers[this.#nextWorker++ % this.#workers.length];
  }

  #spawn(): void {
    const worker = new Worker(DH_WORKER_SOURCE, { eval: true });
    worker.unref(); // the pool never keeps a process alive
    worker.on('message', (m: FromWorker) => this.#received(m));
    worker.on('error', () => this.#lost(worker));
    worker.on('exit', () => this.#lost(worker));
    this.#workers.push(worker);
  }

  #received(m: FromWorker): void {
    if (m.op === 'keys') {
      const name = specKey(m.spec);
      this.#asked.set(name, Math.max(0, (this.#asked.get(name) ?? 0) - m.keys.length));
      const stock = this.#stock.get(name) ?? [];
      this.#stock.set(name, stock);
      for (const k of m.keys) stock.push({ privateKey: k.privateKey, publicValue: k.publicValue });
      return;
    }
    for (const r of m.results) {
      const done = this.#waiting.get(r.id);
      this.#waiting.delete(r.id);
      done?.(r.secret ?? undefined);
    }
    this.#wake();
  }

  /** Resolves the `settled()` promises whose jobs are all back (the map keeps ids in order: the first is the oldest). */
  #wake(): void {
    if (this.#settleWaiters.length === 0) return;
    const oldest: number | undefined = this.#waiting.keys().next().value;
    const ready = this.#settleWaiters.filter((w) => oldest === undefined || oldest > w.upTo);
    if (ready.length === 0) return;
    this.#settleWaiters = this.#settleWaiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }

  /** A worker that failed or ended: its jobs are done inline when asked (their answers never come). */
  #lost(worker: Worker): void {
    const at = this.#workers.indexOf(worker);
    if (at < 0) return;
    this.#workers.splice(at, 1);
    this.counters.workerErrors++;
    this.#failWaiting();
    this.#asked.clear();
  }

  /** Jobs without an answer are forgotten: `computeSecret` then computes on the main thread. */
  #failWaiting(): void {
    this.#waiting.clear();
    this.#jobs = [];
    this.#wake();
  }
}
