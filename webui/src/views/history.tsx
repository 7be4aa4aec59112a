/** Configuration history: each revision, its differences from the current one, and rollback. */
import { useEffect, useState } from 'preact/hooks';
import { api, describe } from '../api.ts';
import { Message } from '../ui.tsx';

interface Revision {
  revision: number;
  author: string;
  comment?: string;
  writtenAt?: string;
}

/** Changed lines between two pretty-printed documents (a line diff is enough for a settings file). */
function diff(before: string, after: string): Array<[string, string]> {
  const a = before.split('\n');
  const b = after.split('\n');
  const out: Array<[string, string]> = [];
  const inB = new Set(b);
  const inA = new Set(a);
  for (const line of a) if (!inB.has(line)) out.push(['-', line]);
  for (const line of b) if (!inA.has(line)) out.push(['+', line]);
  return out;
}

export function HistoryView() {
  const [revisions, setRevisions] = useState<Revision[]>([]);
  const [shown, setShown] = useState<{ revision: number; lines: Array<[string, string]> }>();
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  const load = async () => setRevisions([...(await api<{ revisions: Revision[] }>('GET', '/config/history')).revisions].reverse());
  useEffect(() => void load(), []);
  const show = async (revision: number) => {
    const [old, now] = await Promise.all([api<{ config: unknown }>('GET', `/config/history/${revision}`), api<{ config: unknown }>('GET', '/config')]);
    setShown({ revision, lines: diff(JSON.stringify(old.config, null, 1), JSON.stringify(now.config, null, 1)) });
  };
  const rollback = async (revision: number) => {
    if (!confirm(`Go back to revision ${revision}?`)) return;
    try {
      await api('POST', '/config/rollback', { revision });
      setMessage({ text: `Rolled back to revision ${revision}`, kind: 'ok' });
      await load();
    } catch (error) {
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  return (
    <section class="card" aria-label="history">
      <h2>Configuration history</h2>
      <Message text={message?.text} kind={message?.kind} />
      <table>
        <tbody>
          {revisions.map((r) => (
            <tr key={r.revision}><td>#{r.revision}</td><td>{r.author}</td><td>{r.comment ?? ''}</td><td><button class="link" onClick={() => show(r.revision)}>Changes</button> <button class="link" onClick={() => rollback(r.revision)}>Roll back</button></td></tr>
          ))}
        </tbody>
      </table>
      {shown ? (
        <pre class="diff" aria-label={`changes since revision ${shown.revision}`}>{shown.lines.length ? shown.lines.map(([k, l]) => `${k} ${l}`).join('\n') : 'No differences.'}</pre>
      ) : null}
    </section>
  );
}
