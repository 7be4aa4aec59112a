/** The log tail, filtered by level and text. */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';

interface Record_ {
  ts: string;
  level: string;
  sub: string;
  msg: string;
  [key: string]: unknown;
}

export function LogsView() {
  const [level, setLevel] = useState('info');
  const [q, setQ] = useState('');
  const [records, setRecords] = useState<Record_[]>([]);
  useEffect(() => {
    const load = () => api<{ records: Record_[] }>('GET', `/logs?level=${level}&limit=300${q ? `&q=${encodeURIComponent(q)}` : ''}`).then((r) => setRecords(r.records.reverse()), () => undefined);
    void load();
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, [level, q]);
  return (
    <section class="card" aria-label="logs">
      <h2>Logs</h2>
      <div class="row">
        <select value={level} onChange={(e) => setLevel(e.currentTarget.value)}>{['debug', 'info', 'warn', 'error'].map((l) => <option key={l}>{l}</option>)}</select>
        <input placeholder="search" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
      </div>
      <table class="logs">
        <tbody>
          {records.map((r, i) => {
            const { ts, level: lv, sub, msg, ...rest } = r;
            return <tr key={i} class={lv}><td>{ts.slice(11, 19)}</td><td>{lv}</td><td>{sub}</td><td>{msg} <small>{Object.keys(rest).length ? JSON.stringify(rest) : ''}</small></td></tr>;
          })}
        </tbody>
      </table>
    </section>
  );
}
