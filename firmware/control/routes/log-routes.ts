/**
 * The log for the Logs page (issue 17): the same filters as GET /api/v1/logs (level and above,
 * subsystem, text), the subsystems seen, and a download as plain text or JSON lines. Records are
 * redacted when logged, so a download carries no secret.
 */
import type { LogRecord } from '../../log/logger.ts';
import type { ApiContext } from '../api-context.ts';
import { badRequest } from '../api-error.ts';
import type { Route } from '../router.ts';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

export interface LogFilter {
  readonly level?: string | null;
  readonly sub?: string | null;
  readonly q?: string | null;
}

/** The records that pass the filter, oldest first. */
export function filterLogs(records: readonly LogRecord[], f: LogFilter): LogRecord[] {
  const min = f.level && (LEVELS as readonly string[]).includes(f.level) ? LEVELS.indexOf(f.level as (typeof LEVELS)[number]) : 0;
  const q = f.q?.toLowerCase();
  return records.filter((r) => LEVELS.indexOf(r.level) >= min && (!f.sub || r.sub === f.sub) && (!q || JSON.stringify(r).toLowerCase().includes(q)));
}

/** One line per record: time, level, subsystem, message, then the other fields as key=value. */
export function logText(records: readonly LogRecord[]): string {
  return records.map(({ ts, level, sub, msg, ...rest }) => {
    const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v) ?? String(v)}`);
    return [ts, level.toUpperCase().padEnd(5), sub.padEnd(10), msg, ...fields].join(' ');
  }).join('\n') + (records.length ? '\n' : '');
}

export function logRoutes(ctx: ApiContext): Route[] {
  return [
    {
      method: 'GET', path: '/api/v1/logs/subsystems',
      handler: () => ({ status: 200, body: { subsystems: [...new Set(ctx.logs().map((r) => r.sub))].sort() } }),
    },
    {
      // ?format=text|jsonl plus the filters of GET /api/v1/logs.
      method: 'GET', path: '/api/v1/logs/download',
      handler: (c) => {
        const format = c.query.get('format') ?? 'text';
        if (format !== 'text' && format !== 'jsonl') throw badRequest("'format' must be text or jsonl", { field: 'format' });
        const records = filterLogs(ctx.logs(), { level: c.query.get('level'), sub: c.query.get('sub'), q: c.query.get('q') });
        const stamp = new Date(ctx.now()).toISOString().replace(/[:.]/g, '-').slice(0, 19);
        const file = format === 'jsonl' ? records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '') : logText(records);
        return { file, contentType: format === 'jsonl' ? 'application/x-ndjson' : 'text/plain; charset=utf-8', filename: `postern-log-${stamp}.${format === 'jsonl' ? 'jsonl' : 'txt'}` };
      },
    },
  ];
}
