/**
 * When each of many SAs next needs the engine (issue 23), for the IKEv2 and IKEv1 engines alike: one
 * heap entry per SA at a time. An SA's `wakeAt` is the entry that counts; a nearer deadline pushes a new
 * one (the old entry goes stale and is dropped when it reaches the top), a later one waits for the held
 * entry to come due (the engine then finds nothing to do and schedules again). A closed SA is dropped.
 */
import { DeadlineHeap } from './deadline-heap.ts';

export interface Wakeable {
  wakeAt?: number | undefined;
  readonly state: string;
}

export class Wakeups<T extends Wakeable> {
  readonly #heap = new DeadlineHeap<T>();

  /** `due` is the SA's next deadline as its engine works it out (undefined: none). */
  schedule(item: T, due: number | undefined): void {
    if (item.state === 'closed' || due === undefined || (item.wakeAt !== undefined && item.wakeAt <= due)) return;
    item.wakeAt = due;
    this.#heap.push(due, item);
  }

  /** The SAs due at `now`, each once, their entries used up. */
  takeDue(now: number): T[] {
    const due: T[] = [];
    for (let at = this.#heap.peekAt(); at !== undefined && at <= now; at = this.#heap.peekAt()) {
      const item = this.#heap.peekItem()!;
      this.#heap.pop();
      if (!this.#live(item, at)) continue;
      item.wakeAt = undefined;
      due.push(item);
    }
    return due;
  }

  /** The earliest live deadline (stale entries dropped on the way), or undefined. */
  next(): number | undefined {
    for (let at = this.#heap.peekAt(); at !== undefined; at = this.#heap.peekAt()) {
      if (this.#live(this.#heap.peekItem()!, at)) return at;
      this.#heap.pop();
    }
    return undefined;
  }

  #live(item: T, at: number): boolean {
    return item.wakeAt === at && item.state !== 'closed';
  }
}
