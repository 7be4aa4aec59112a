/*
 * The dynamic DNS shell (issue 17): looks at the WAN's address every few seconds, feeds the engine,
 * and runs the updates it asks for (RFC 2136 with TSIG, or the provider's URL). Runs while
 * system.dynamicDns.enabled; a change of its settings or of the public name publishes again.
 */
import type { DynamicDnsConfig, PosternConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from '../supervisor/subsystem.ts';
import { Secret } from '../util/secret.ts';
import { DdnsEngine, type DdnsAction } from './ddns-engine.ts';
import { sendHttpUpdate, sendRfc2136 } from './ddns-senders.ts';

export interface DdnsOptions {
  readonly logger: Logger;
  /** The WAN's IPv4 addresses now (the service's WAN watcher). */
  readonly wanAddresses: () => readonly string[];
  readonly pollMs?: number;
  readonly now?: () => number;
}

interface Target {
  readonly name: string;
  readonly settings: DynamicDnsConfig;
}

export class DdnsSubsystem implements Subsystem {
  readonly name = 'ddns';
  readonly #options: DdnsOptions;
  readonly #engine = new DdnsEngine();
  #target: Target | undefined;
  #poll: NodeJS.Timeout | undefined;
  #retry: NodeJS.Timeout | undefined;
  #lastProblem: string | undefined;

  constructor(options: DdnsOptions) {
    this.#options = options;
  }

  async start(config: PosternConfig): Promise<void> {
    this.#target = targetOf(config);
    this.#poll = setInterval(() => this.#look(), this.#options.pollMs ?? 10_000);
    this.#poll.unref();
    this.#look();
  }

  async reconfigure(next: PosternConfig): Promise<void> {
    this.#target = targetOf(next);
    this.#engine.reset();
    this.#look();
  }

  async stop(): Promise<void> {
    clearInterval(this.#poll);
    clearTimeout(this.#retry);
    this.#target = undefined;
  }

  status(): SubsystemStatus {
    const published = this.#engine.published;
    return {
      state: this.#target ? 'running' : 'stopped',
      detail: published ? `${this.#target?.name ?? ''} → ${published}` : this.#lastProblem ?? 'not published yet',
      counters: { 'ddns.updates': this.#engine.counters.updates, 'ddns.failures': this.#engine.counters.failures },
    };
  }

  #now = (): number => (this.#options.now ?? Date.now)();

  #look(): void {
    if (!this.#target) return;
    this.#act(this.#engine.handle({ kind: 'address', address: this.#options.wanAddresses()[0] }, this.#now()));
  }

  #act(actions: readonly DdnsAction[]): void {
    for (const a of actions) {
      if (a.kind === 'log') this.#options.logger[a.level](a.msg, { ...a.fields, name: this.#target?.name });
      else void this.#update(a.address);
    }
    clearTimeout(this.#retry);
    const at = this.#engine.nextTimeout();
    if (at !== undefined) {
      this.#retry = setTimeout(() => this.#act(this.#engine.handle({ kind: 'timeout' }, this.#now())), Math.max(0, at - this.#now()));
      this.#retry.unref();
    }
  }

  async #update(address: string): Promise<void> {
    const target = this.#target;
    const problem = target ? await send(target, address) : 'stopped';
    this.#lastProblem = problem;
    if (this.#target) this.#act(this.#engine.handle({ kind: 'done', address, problem }, this.#now()));
  }
}

function targetOf(config: PosternConfig): Target | undefined {
  const settings = config.system.dynamicDns;
  const name = config.system.publicName;
  return settings?.enabled && name ? { name, settings } : undefined;
}

function send(target: Target, address: string): Promise<string | undefined> {
  const s = target.settings;
  if (s.method === 'http') {
    return sendHttpUpdate({ url: s.url ?? '', ...(s.username !== undefined ? { username: s.username } : {}), ...(s.password !== undefined ? { password: new Secret(s.password) } : {}) }, target.name, address);
  }
  const key = { name: s.keyName ?? '', algorithm: 'hmac-sha256' as const, secret: new Secret(Buffer.from(s.keySecret ?? '', 'base64')) };
  return sendRfc2136({ server: s.server ?? '', port: s.port, key }, { zone: s.zone ?? '', name: target.name, address, ttl: s.ttl });
}

export function ddnsSpec(create: () => DdnsSubsystem): SubsystemSpec {
  return { name: 'ddns', wanted: (c) => c.system.dynamicDns?.enabled === true, slice: (c) => ({ ddns: c.system.dynamicDns, name: c.system.publicName }), create };
}
