// IKE load: Postern's own engine as many initiators in one process (no data plane). IKEv2 (default):
// remote-access clients, each with its own identity, asking for a virtual address. IKEv1
// (`version: 1`): site initiators from one address, each a Main Mode with the PSK and one Quick Mode.
// Prints `result {...}` once `count` child SAs are up (or failed), then holds them until stdin says `quit`.
// `warmup: n` (IKEv2): before the timed load, a `warmup` line sets up n of the same clients (`warm
// {...}` once all are up, held for the caller to measure) and `unwarm` deletes them again, as many at
// a time as the load runs (`unwarmed`), so the timed load meets a responder and a generator past
// their start: V8's code optimized, pools and tables grown; strongSwan gets the same.
// Its key pairs are made before `ready` (one per SA, for the proposal's group), so the timed phase
// spends none of the shared cores on the load generator's key generation: that is not the gateway's work.
// `addresses: [...]` (IKEv2) splits the clients over one child process per address, each an engine of
// its own on that address's UDP 500 (the caller puts the addresses on the host): one engine's thread was
// the bench's bottleneck (issue 23), so the responders' rates were the generator's, not theirs.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createDh, type DhExchange } from '../../firmware/ike/crypto/dh.ts';
import { pooledRandomBytes } from '../../firmware/ike/crypto/random-pool.ts';
import { IkeEngine } from '../../firmware/ike/engine/engine.ts';
import type { IkeAction, IkeConnection } from '../../firmware/ike/engine/types.ts';
import { parseProposal } from '../../firmware/ike/proposals.ts';
import { TransformType } from '../../firmware/ike/registry/numbers.ts';
import { IkeShell } from '../../firmware/ike/shell/ike-shell.ts';
import { DgramTransport } from '../../firmware/ike/shell/transport.ts';
import { Ikev1Engine } from '../../firmware/ikev1/engine/engine.ts';
import { createLogger } from '../../firmware/log/logger.ts';
import { Secret } from '../../firmware/util/secret.ts';

interface LoadConfig { version?: 1 | 2; address: string; target: string; count: number; concurrency: number; psk: string; ike: string; esp: string; gatewayId: string; localId?: string; addresses?: string[]; warmup?: number }
/** One engine's share: its clients load<first>… and the address it sends from. */
interface Share { readonly first: number; readonly address: string }
interface Tally { up: number; failed: number }

/** An engine with `config.count` clients from `share.first` on; `onDone` once each is up or failed. */
async function startEngine(config: LoadConfig, share: Share, onDone: (tally: Tally) => void): Promise<{ go: () => void; warmup: () => Promise<Tally>; unwarm: () => Promise<void>; tally: Tally }> {
  const v1 = config.version === 1;
  const base = {
    remoteAddress: config.target, remoteId: config.gatewayId, psk: new Secret(config.psk), mode: 'tunnel' as const, dpdSeconds: 0,
    ikeProposals: [parseProposal(config.ike, 'ike')!], espProposals: [parseProposal(config.esp, 'esp')!],
    ...(v1 ? { localTs: ['10.1.0.0/24'], remoteTs: ['10.2.0.0/24'] } : { localTs: ['0.0.0.0/0'], remoteTs: ['10.2.0.0/24'], requestVirtualIp: true, mobike: false }),
  };
  const connections: IkeConnection[] = Array.from({ length: config.count }, (_, i) => ({ ...base, name: `c${i}`, localId: v1 ? (config.localId ?? config.address) : `load${share.first + i}@example.com` }));
  const group = parseProposal(config.ike, 'ike')!.get(TransformType.DH)?.[0]?.id;
  const warmCount = v1 ? 0 : Math.min(config.warmup ?? 0, config.count);
  const stocked: DhExchange[] = group === undefined ? [] : Array.from({ length: config.count + warmCount }, () => createDh(group)!).filter(Boolean);
  /** A key pair made ahead for the proposal's group; any other group (or a retry past the stock) made now. */
  const stockedDh = (g: number): DhExchange | undefined => (g === group ? stocked.pop() : undefined) ?? createDh(g);
  const crypto = { randomBytes: pooledRandomBytes(), createDh: stockedDh };
  const engine = v1 ? new Ikev1Engine(connections, crypto, { retransmitBaseMs: 3000 }) : new IkeEngine(connections, crypto, { retransmitBaseMs: 3000, logLevel: 'error' }); // its logger takes errors only
  const tally: Tally = { up: 0, failed: 0 };
  let started = 0;
  const local = { address: share.address, port: 500 };
  const next = () => {
    if (started < config.count) shell.initiate(`c${started++}`, local);
  };
  /** The warm-up under way: its own tally while it sets up, then its deletes, a window at a time. */
  let warming: { tally: Tally; started: number; onUp: (tally: Tally) => void; deleting?: { spis: bigint[]; onGone: () => void } } | undefined;
  const warmNext = (w: NonNullable<typeof warming>) => {
    if (w.started < warmCount) shell.initiate(`c${w.started++}`, local);
  };
  const deleteNext = (w: NonNullable<typeof warming>) => {
    const spi = w.deleting?.spis.pop();
    if (spi !== undefined) shell.terminate(spi);
  };
  const onWarmAction = (w: NonNullable<typeof warming>, action: IkeAction) => {
    if (w.deleting) {
      if (action.type !== 'ike-down') return;
      if (engine.sas.length === 0) return void ((warming = undefined), w.deleting.onGone());
      return deleteNext(w);
    }
    if (action.type !== 'install-child' && action.type !== 'ike-down') return;
    if (action.type === 'install-child') w.tally.up++;
    else w.tally.failed++;
    if (w.tally.up + w.tally.failed < warmCount) return warmNext(w);
    w.onUp(w.tally);
  };
  const shell = new IkeShell(engine, createLogger({ level: 'error', sink: () => {} }), (action) => {
    if (warming) return onWarmAction(warming, action);
    if (action.type !== 'install-child' && action.type !== 'ike-down') return;
    if (action.type === 'install-child') tally.up++;
    else tally.failed++;
    if (tally.up + tally.failed < config.count) return next();
    onDone(tally);
  });
  shell.attach(await DgramTransport.open(share.address, shell.receive));
  const warmup = () => new Promise<Tally>((onUp) => {
    warming = { tally: { up: 0, failed: 0 }, started: 0, onUp };
    if (warmCount === 0) return onUp(warming.tally);
    for (let i = 0; i < config.concurrency; i++) warmNext(warming);
  });
  const unwarm = () => new Promise<void>((onGone) => {
    const w = warming;
    if (!w || engine.sas.length === 0) return void ((warming = undefined), onGone());
    w.deleting = { spis: (engine as IkeEngine).sas.map((sa) => sa.spiI), onGone }; // warm-ups are IKEv2 only
    for (let i = 0; i < config.concurrency; i++) deleteNext(w);
  });
  return { go: () => { for (let i = 0; i < config.concurrency; i++) next(); }, warmup, unwarm, tally };
}

const config = JSON.parse(process.argv[2] ?? '{}') as LoadConfig;
const lines = createInterface({ input: process.stdin });
if (process.argv[3]) {
  // A child of a split load: lines `go` and `progress` in; `ready`, `done {...}` and `progress {...}` out.
  const engine = await startEngine(config, JSON.parse(process.argv[3]) as Share, (tally) => process.stdout.write(`done ${JSON.stringify(tally)}\n`));
  lines.on('line', (line) => {
    if (line === 'go') engine.go();
    else if (line === 'warmup') void engine.warmup().then((tally) => process.stdout.write(`warm ${JSON.stringify(tally)}\n`));
    else if (line === 'unwarm') void engine.unwarm().then(() => process.stdout.write('unwarmed\n'));
    else if (line === 'progress') process.stdout.write(`progress ${JSON.stringify(engine.tally)}\n`);
  });
  lines.on('close', () => process.exit(0)); // the parent went: so do we
  process.stdout.write('ready\n');
} else {
  const addresses = config.version === 1 || !config.addresses?.length ? [config.address] : config.addresses;
  const processes = addresses.length;
  let t0 = 0;
  const print = (kind: 'result' | 'progress', tally: Tally) => {
    const seconds = (performance.now() - t0) / 1000;
    process.stdout.write(`${kind} ${JSON.stringify({ ...tally, seconds, ...(kind === 'result' ? { perSecond: tally.up / seconds } : {}) })}\n`);
  };
  let go: () => void;
  let progress: () => void;
  let warmup: () => Promise<Tally>;
  let unwarm: () => Promise<void>;
  const sumOf = (list: Array<Tally | undefined>) => list.reduce<Tally>((s, t) => ({ up: s.up + (t?.up ?? 0), failed: s.failed + (t?.failed ?? 0) }), { up: 0, failed: 0 });
  if (processes === 1) {
    const engine = await startEngine(config, { first: 0, address: config.address }, (tally) => print('result', tally));
    go = engine.go;
    warmup = engine.warmup;
    unwarm = engine.unwarm;
    progress = () => print('progress', engine.tally);
  } else {
    // Clients and concurrency split evenly; the result is printed when every child is done.
    const counts = Array.from({ length: processes }, (_, k) => Math.floor(config.count / processes) + (k < config.count % processes ? 1 : 0));
    const children = counts.map((count, k) => {
      const share: Share = { first: counts.slice(0, k).reduce((a, b) => a + b, 0), address: addresses[k]! };
      const part = { ...config, count, concurrency: Math.max(1, Math.round(config.concurrency / processes)), warmup: Math.round((config.warmup ?? 0) / processes) };
      return spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), JSON.stringify(part), JSON.stringify(share)], { stdio: ['pipe', 'pipe', 'inherit'] });
    });
    const done: Array<Tally | undefined> = children.map(() => undefined);
    let asked: Array<Tally | undefined> = [];
    let warmed: Array<Tally | undefined> = [];
    let onWarmed: ((tally: Tally) => void) | undefined;
    let unwarmed = 0;
    let onUnwarmed: (() => void) | undefined;
    await Promise.all(children.map((child, k) => new Promise<void>((ready, fail) => {
      child.once('exit', (code) => fail(new Error(`load process ${k} exited (${code})`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const [kind, json] = [line.split(' ', 1)[0], line.slice(line.indexOf(' ') + 1)];
        if (kind === 'ready') ready();
        else if (kind === 'done') {
          done[k] = JSON.parse(json) as Tally;
          if (done.every(Boolean)) print('result', sumOf(done));
        } else if (kind === 'warm') {
          warmed[k] = JSON.parse(json) as Tally;
          if (children.every((_, i) => warmed[i])) onWarmed?.(sumOf(warmed));
        } else if (kind === 'unwarmed') {
          if (++unwarmed === children.length) onUnwarmed?.();
        } else if (kind === 'progress') {
          asked[k] = JSON.parse(json) as Tally;
          if (children.every((_, i) => asked[i])) print('progress', sumOf(asked));
        }
      });
    })));
    go = () => { for (const c of children) c.stdin!.write('go\n'); };
    warmup = () => new Promise<Tally>((resolve) => {
      warmed = [];
      onWarmed = resolve;
      for (const c of children) c.stdin!.write('warmup\n');
    });
    unwarm = () => new Promise<void>((resolve) => {
      unwarmed = 0;
      onUnwarmed = resolve;
      for (const c of children) c.stdin!.write('unwarm\n');
    });
    progress = () => {
      asked = [];
      for (const c of children) c.stdin!.write('progress\n');
    };
  }
  process.stdout.write('ready\n');
  lines.on('line', (line) => {
    if (line === 'go') {
      t0 = performance.now();
      go();
      process.stdout.write('ok\n');
    } else if (line === 'warmup') {
      const t = performance.now();
      void warmup().then((tally) => process.stdout.write(`warm ${JSON.stringify({ ...tally, seconds: (performance.now() - t) / 1000 })}\n`));
    } else if (line === 'unwarm') {
      const t = performance.now();
      void unwarm().then(() => process.stdout.write(`unwarmed ${JSON.stringify({ seconds: (performance.now() - t) / 1000 })}\n`));
    } else if (line === 'progress') progress(); // how far a load got (the bench asks when a responder did not finish in time)
    else if (line === 'quit') process.exit(0);
  });
  process.on('SIGTERM', () => process.exit(0)); // a clean exit, so a --cpu-prof run (LAB_PEER_NODE_ARGS) writes its profile; the children see their stdin close
}
