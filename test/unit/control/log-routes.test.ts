// The Logs page's filters and downloads (issue 17): level and above, subsystem, text; one line per
// record in the text download.
import t from 'tap';
import { filterLogs, logText } from '../../../firmware/control/routes/log-routes.ts';
import type { LogRecord } from '../../../firmware/log/logger.ts';

const records: LogRecord[] = [
  { ts: '2026-12-05T01:00:00.000Z', level: 'debug', sub: 'ike', msg: 'keys derived' },
  { ts: '2026-12-05T01:00:01.000Z', level: 'info', sub: 'api', msg: 'admin logged in', from: '127.0.0.1' },
  { ts: '2026-12-05T01:00:02.000Z', level: 'warn', sub: 'ike', msg: 'IKE SA closed: no answer', remote: '198.51.100.7:500' },
  { ts: '2026-12-05T01:00:03.000Z', level: 'error', sub: 'postern', msg: 'configuration change refused', errors: [{ path: 'sites[0].remote' }] },
];

t.test('level and above, subsystem, text in the message or fields', async (t) => {
  t.same(filterLogs(records, { level: 'warn' }).map((r) => r.level), ['warn', 'error']);
  t.same(filterLogs(records, { sub: 'ike' }).map((r) => r.msg), ['keys derived', 'IKE SA closed: no answer']);
  t.same(filterLogs(records, { q: '198.51.100.7' }).map((r) => r.sub), ['ike'], 'fields are searched too');
  t.same(filterLogs(records, { q: 'SITES[0]' }).length, 1, 'case does not matter');
  t.equal(filterLogs(records, { level: 'nonsense' }).length, 4, 'an unknown level filters nothing out');
});

t.test('the text download: one line per record, fields as key=value', async (t) => {
  const text = logText(records.slice(1, 4));
  const lines = text.trimEnd().split('\n');
  t.equal(lines.length, 3);
  t.equal(lines[0], '2026-12-05T01:00:01.000Z INFO  api        admin logged in from="127.0.0.1"');
  t.match(lines[2], /^2026-12-05T01:00:03\.000Z ERROR postern\s+configuration change refused errors=\[\{"path":"sites\[0\]\.remote"\}\]$/);
  t.equal(logText([]), '');
});
