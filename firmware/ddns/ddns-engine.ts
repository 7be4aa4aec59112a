/*
 * When to update the public name (issue 17), sans-I/O: the WAN address comes in, an update goes out
 * when it differs from what was last published; one update at a time; a failure is retried after
 * 30 s, doubling up to 30 min; a private WAN address (the gateway behind another router) is never
 * published, since nothing outside could reach it, and is said once.
 */
import { isPrivate } from '../config/public-identity.ts';

export type DdnsEvent =
  | { readonly kind: 'address'; readonly address: string | undefined }
  | { readonly kind: 'done'; readonly address: string; readonly problem: string | undefined }
  | { readonly kind: 'timeout' };

export type DdnsAction =
  | { readonly kind: 'update'; readonly address: string }
  | { readonly kind: 'log'; readonly level: 'info' | 'warn'; readonly msg: string; readonly fields: Readonly<Record<string, unknown>> };

const FIRST_RETRY_MS = 30_000;
const MAX_RETRY_MS = 30 * 60_000;

export class DdnsEngine {
  #published: string | undefined;
  #wanted: string | undefined;
  #inFlight = false;
  #failures = 0;
  #retryAt: number | undefined;
  #warnedPrivate: string | undefined;
  readonly counters = { updates: 0, failures: 0 };

  get published(): string | undefined {
    return this.#published;
  }

  handle(event: DdnsEvent, now: number): DdnsAction[] {
    switch (event.kind) {
      case 'address': return this.#address(event.address, now);
      case 'done': return this.#done(event.address, event.problem, now);
      case 'timeout': return this.#maybeUpdate(now);
    }
  }

  nextTimeout(): number | undefined {
    return this.#inFlight || this.#wanted === this.#published ? undefined : this.#retryAt;
  }

  /** Forget what was published (the target changed): the next address is sent again. */
  reset(): void {
    this.#published = undefined;
    this.#failures = 0;
    this.#retryAt = undefined;
  }

  #address(address: string | undefined, now: number): DdnsAction[] {
    if (address !== undefined && isPrivate(address)) {
      this.#wanted = undefined;
      if (this.#warnedPrivate === address) return [];
      this.#warnedPrivate = address;
      return [{ kind: 'log', level: 'warn', msg: 'the WAN address is private: not published (the gateway is behind another router; update the name from there, or use a provider URL without {address})', fields: { address } }];
    }
    if (address !== this.#wanted) this.#retryAt = undefined; // a new address is tried at once
    this.#wanted = address;
    return this.#maybeUpdate(now);
  }

  #maybeUpdate(now: number): DdnsAction[] {
    const wanted = this.#wanted;
    if (wanted === undefined || wanted === this.#published || this.#inFlight) return [];
    if (this.#retryAt !== undefined && now < this.#retryAt) return [];
    this.#inFlight = true;
    return [{ kind: 'update', address: wanted }];
  }

  #done(address: string, problem: string | undefined, now: number): DdnsAction[] {
    this.#inFlight = false;
    if (problem === undefined) {
      this.#published = address;
      this.#failures = 0;
      this.#retryAt = undefined;
      this.counters.updates++;
      return [{ kind: 'log', level: 'info', msg: 'public name updated', fields: { address } }, ...this.#maybeUpdate(now)];
    }
    this.#failures++;
    this.counters.failures++;
    const wait = Math.min(FIRST_RETRY_MS * 2 ** (this.#failures - 1), MAX_RETRY_MS);
    this.#retryAt = now + wait;
    return [{ kind: 'log', level: 'warn', msg: 'public name update failed', fields: { address, problem, retryInSeconds: wait / 1000 } }];
  }
}
