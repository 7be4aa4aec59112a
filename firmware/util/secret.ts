import { inspect } from 'node:util';

/**
 * A value that must never reach a log, an API answer or an error message by accident.
 * Every way of turning it into text yields `<redacted>`; only `reveal()` gives the value.
 */
export class Secret<T = string> {
  readonly #value: T;

  constructor(value: T) {
    this.#value = value;
  }

  reveal(): T {
    return this.#value;
  }

  toString(): string {
    return '<redacted>';
  }

  toJSON(): string {
    return '<redacted>';
  }

  [inspect.custom](): string {
    return '<redacted>';
  }
}

export const isSecret = (value: unknown): value is Secret<unknown> => value instanceof Secret;
