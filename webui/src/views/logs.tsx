/**
 * The log, readable on a desktop and a phone (issue 17): one block per record whose message wraps
 * (no table row styled as an error can push the columns out of the card), labelled filters (level
 * and above, subsystem), search, a colour per level, and a download as text or JSON lines.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, describe, download } from '../api.ts';
import { Message } from '../ui.tsx';

interface LogLine {
  ts: string;
  level: string;
  sub: string;
  msg: string;
  [key: string]: unknown;
}

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;

const query = (level: string, sub: string, q: string) => `level=${level}${sub ? `&sub=${encodeURIComponent(sub)}` : ''}${q ? `&q=${encodeURIComponent(q)}` : ''}`;

/** The fields besides the four every record has, as `key=value` (strings unquoted when simple). */
const fieldsOf = (record: LogLine): Array<[string, string]> => {
  const { ts: _t, level: _l, sub: _s, msg: _m, ...rest } = record;
  return Object.entries(rest).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]);
};

export function LogsView() {
  const [level, setLevel] = useState('info');
  const [sub, setSub] = useState('');
  const [q, setQ] = useState('');
  const [records, setRecords] = useState<LogLine[]>([]);
  const [subsystems, setSubsystems] = useState<string[]>([]);
  const [message, setMessage] = useState<string>();
  useEffect(() => {
    const load = async () => {
      const [answer, subs] = await Promise.all([
        api<{ records: LogLine[] }>('GET', `/logs?${query(level, sub, q)}&limit=300`),
        api<{ subsystems: string[] }>('GET', '/logs/subsystems'),
      ]);
      setRecords([...answer.records].reverse());
      setSubsystems(subs.subsystems);
    };
    load().catch((error: unknown) => setMessage(describe(error)));
    const timer = setInterval(() => void load().catch(() => undefined), 5000);
    return () => clearInterval(timer);
  }, [level, sub, q]);
  const save = (format: 'text' | 'jsonl') => download('GET', `/logs/download?format=${format}&${query(level, sub, q)}`).catch((error: unknown) => setMessage(describe(error)));
  return (
    <section class="card" aria-label="logs">
      <h2>Logs</h2>
      <Message text={message} />
      <div class="filters log-filters" role="search">
        <label class="field">
          <span>Level (and above)</span>
          <select name="log-level" value={level} onChange={(e) => setLevel(e.currentTarget.value)}>{LEVELS.map((l) => <option key={l} value={l}>{l}</option>)}</select>
        </label>
        <label class="field">
          <span>Subsystem</span>
          <select name="log-sub" value={sub} onChange={(e) => setSub(e.currentTarget.value)}>
            <option value="">all</option>
            {[...new Set([...subsystems, ...(sub ? [sub] : [])])].map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label class="field">
          <span>Search</span>
          <input name="log-search" type="search" placeholder="words in the message or its fields" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </label>
        <div class="field log-download">
          <span>Download</span>
          <button type="button" name="log-download-text" onClick={() => save('text')}>Text</button>{' '}
          <button type="button" name="log-download-jsonl" onClick={() => save('jsonl')}>JSON lines</button>
        </div>
      </div>
      <p class="hint">{records.length} record{records.length === 1 ? '' : 's'}, newest first{records.length >= 300 ? ' (the newest 300: download for the rest)' : ''}.</p>
      <ol class="log-lines" aria-label="log records">
        {records.map((r, i) => (
          <li key={`${r.ts}-${i}`} class="log-line" data-level={r.level}>
            <time dateTime={r.ts} title={r.ts}>{r.ts.slice(11, 19)}</time>
            <span class={`log-level level-${r.level}`}>{r.level}</span>
            <span class="log-sub">{r.sub}</span>
            <div class="log-msg">
              {r.msg}
              {fieldsOf(r).length ? <dl class="log-fields">{fieldsOf(r).map(([k, v]) => <div key={k}><dt>{k}</dt><dd>{v}</dd></div>)}</dl> : null}
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}
