/** The newest log records in memory (bounded), for the API's log view; records are already redacted. */
import type { LogRecord, LogSink } from './logger.ts';

export class LogRing {
  readonly #records: LogRecord[] = [];
  readonly #max: number;

  constructor(max = 2000) {
    this.#max = max;
  }

  push(record: LogRecord): void {
    this.#records.push(record);
    if (this.#records.length > this.#max) this.#records.splice(0, this.#records.length - this.#max);
  }

  records(): readonly LogRecord[] {
    return this.#records;
  }

  /** A sink writing to `next` and keeping the record. */
  tee(next: LogSink): LogSink {
    return (record) => {
      this.push(record);
      next(record);
    };
  }
}
