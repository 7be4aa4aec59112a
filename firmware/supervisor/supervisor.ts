import { isDeepStrictEqual } from 'node:util';
import type { PosternConfig } from '../config/types.ts';
import type { ConfigApplier } from '../config/transaction.ts';
import type { Logger } from '../log/logger.ts';
import type { Subsystem, SubsystemSpec, SubsystemStatus } from './subsystem.ts';

/**
 * Starts, reconfigures and stops subsystems so that what runs matches the configuration.
 * It is the ConfigApplier of the transactional apply: a failed step throws, and the transaction
 * re-applies the previous configuration, which brings every subsystem back.
 */
export class Supervisor implements ConfigApplier {
  readonly name = 'supervisor';
  readonly #specs: readonly SubsystemSpec[];
  readonly #running = new Map<string, Subsystem>();
  readonly #log: Logger;
  #config: PosternConfig | undefined;

  constructor(specs: readonly SubsystemSpec[], logger: Logger) {
    this.#specs = specs;
    this.#log = logger;
  }

  async start(config: PosternConfig): Promise<void> {
    this.#config = config;
    for (const spec of this.#specs) {
      if (spec.wanted(config)) await this.#startOne(spec, config);
    }
  }

  async apply(next: PosternConfig, previous: PosternConfig): Promise<void> {
    for (const spec of this.#specs) {
      const running = this.#running.get(spec.name);
      const wanted = spec.wanted(next);
      if (running && !wanted) await this.#stopOne(running);
      else if (!running && wanted) await this.#startOne(spec, next);
      else if (running && !isDeepStrictEqual(spec.slice(next), spec.slice(previous))) {
        this.#log.info('reconfiguring', { subsystem: spec.name });
        await running.reconfigure(next, previous);
      }
    }
    this.#config = next;
  }

  /**
   * Stops and starts one running subsystem on the configuration it runs, for a change outside the
   * configuration (the WAN address moved, issue 18). False when it is not running.
   */
  async restart(name: string, why: string): Promise<boolean> {
    const spec = this.#specs.find((s) => s.name === name);
    const running = this.#running.get(name);
    const config = this.#config;
    if (!spec || !running || !config) return false;
    this.#log.info('restarting', { subsystem: name, why });
    await this.#stopOne(running);
    await this.#startOne(spec, config);
    return true;
  }

  /** Stops everything, newest first; a subsystem that fails to stop is logged, not fatal. */
  async stop(): Promise<void> {
    for (const subsystem of [...this.#running.values()].reverse()) {
      try {
        await this.#stopOne(subsystem);
      } catch (error) {
        this.#log.error('subsystem failed to stop', { subsystem: subsystem.name, error });
      }
    }
  }

  status(): Record<string, SubsystemStatus> {
    const out: Record<string, SubsystemStatus> = {};
    for (const spec of this.#specs) {
      const running = this.#running.get(spec.name);
      out[spec.name] = running ? running.status() : { state: 'stopped' };
    }
    return out;
  }

  get config(): PosternConfig | undefined {
    return this.#config;
  }

  async #startOne(spec: SubsystemSpec, config: PosternConfig): Promise<void> {
    const subsystem = spec.create();
    this.#log.info('starting', { subsystem: spec.name });
    await subsystem.start(config);
    this.#running.set(spec.name, subsystem);
  }

  async #stopOne(subsystem: Subsystem): Promise<void> {
    this.#log.info('stopping', { subsystem: subsystem.name });
    this.#running.delete(subsystem.name);
    await subsystem.stop();
  }
}
