/**
 * Configuration history (issue 17): newest first with time, author and comment; what each revision
 * changed, field by field; a rollback shows exactly what it removes and changes, and applies only
 * when confirmed (and only if nothing changed since the preview).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, describe } from '../api.ts';
import { Message } from '../ui.tsx';

interface Revision {
  revision: number;
  author: string;
  comment?: string;
  writtenAt?: string;
}

interface Change {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: string;
  after?: string;
}

interface Preview {
  revision: number;
  current: number;
  changes: Change[];
  summary: { removed: Record<string, string[]>; added: Record<string, string[]>; changed: number };
}

const LIST_NAMES: Record<string, [string, string]> = { users: ['user', 'users'], sites: ['site', 'sites'], pools: ['pool', 'pools'] };
const named = (list: string, names: string[]) => {
  const [one, many] = LIST_NAMES[list] ?? [list, list];
  return `${names.length === 1 ? one : many} ${names.join(', ')}`;
};

export function Changes(props: { changes: Change[]; label: string }) {
  if (props.changes.length === 0) return <p class="hint" aria-label={props.label}>No differences.</p>;
  return (
    <ul class="changes" aria-label={props.label}>
      {props.changes.map((c) => (
        <li key={`${c.kind}:${c.path}`} class={c.kind} data-path={c.path} data-kind={c.kind}>
          <span class="path">{c.path}</span>{' '}
          {c.kind === 'changed' ? <>{c.before} → {c.after}</> : c.kind === 'added' ? <>added{c.after ? `: ${c.after}` : ''}</> : <>removed{c.before ? ` (was ${c.before})` : ''}</>}
        </li>
      ))}
    </ul>
  );
}

export function HistoryView() {
  const [revisions, setRevisions] = useState<Revision[]>([]);
  const [shown, setShown] = useState<{ revision: number; against: 'previous' | 'current'; previous?: number | null; changes: Change[] }>();
  const [preview, setPreview] = useState<Preview>();
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  const load = async () => setRevisions([...(await api<{ revisions: Revision[] }>('GET', '/config/history')).revisions].sort((a, b) => b.revision - a.revision));
  useEffect(() => void load().catch((error: unknown) => setMessage({ text: describe(error), kind: 'error' })), []);
  const current = revisions[0]?.revision;
  const show = async (revision: number, against: 'previous' | 'current' = 'previous') => {
    setPreview(undefined);
    try {
      setShown(await api<{ revision: number; against: 'previous' | 'current'; previous?: number | null; changes: Change[] }>('GET', `/config/history/${revision}/diff?against=${against}`));
    } catch (error) {
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  const ask = async (revision: number) => {
    setShown(undefined);
    try {
      setPreview(await api<Preview>('POST', '/config/rollback/preview', { revision }));
    } catch (error) {
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  const rollback = async (p: Preview) => {
    try {
      const done = await api<{ revision: number }>('POST', '/config/rollback', { revision: p.revision, expectedRevision: p.current });
      setMessage({ text: `Rolled back to revision ${p.revision} (now revision ${done.revision})`, kind: 'ok' });
      setPreview(undefined);
      await load();
    } catch (error) {
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  return (
    <section class="card" aria-label="history">
      <h2>Configuration history</h2>
      <Message text={message?.text} kind={message?.kind} />
      <table class="stack">
        <thead><tr><th>Revision</th><th>Time</th><th>Author</th><th>Comment</th><th /></tr></thead>
        <tbody>
          {revisions.map((r) => (
            <tr key={r.revision} data-revision={r.revision}>
              <td data-label="Revision">#{r.revision}{r.revision === current ? <small> (current)</small> : null}</td>
              <td data-label="Time">{r.writtenAt ? <time dateTime={r.writtenAt} title={r.writtenAt}>{new Date(r.writtenAt).toLocaleString()}</time> : '—'}</td>
              <td data-label="Author">{r.author}</td>
              <td data-label="Comment">{r.comment || '—'}</td>
              <td class="actions">
                <button type="button" class="link" name="history-changes" onClick={() => show(r.revision)}>Changes</button>
                {r.revision !== current ? <button type="button" class="link" name="history-compare" onClick={() => show(r.revision, 'current')}>Compare with now</button> : null}
                {r.revision !== current ? <button type="button" class="link" name="history-rollback" onClick={() => ask(r.revision)}>Roll back…</button> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {shown ? (
        <div>
          {shown.against === 'current' ? (
            <>
              <h3>From revision {shown.revision} to now</h3>
              <Changes changes={shown.changes} label={`changes since revision ${shown.revision}`} />
            </>
          ) : (
            <>
              <h3>Revision {shown.revision} changed{shown.previous ? ` (from revision ${shown.previous})` : ''}</h3>
              {shown.previous === null ? <p class="hint">The first revision kept: nothing older to compare with.</p> : <Changes changes={shown.changes} label={`changes of revision ${shown.revision}`} />}
            </>
          )}
        </div>
      ) : null}
      {preview ? (
        <div class="preview" role="dialog" aria-label={`roll back to revision ${preview.revision}`}>
          <h3>Roll back to revision {preview.revision}?</h3>
          {preview.changes.length === 0 ? <p>The running configuration is already the same as revision {preview.revision} (the administrator password is never rolled back).</p> : (
            <>
              <ul class="summary">
                {Object.entries(preview.summary.removed).map(([list, names]) => <li key={`r-${list}`} data-removed={list}><b>Removes</b> {named(list, names)}</li>)}
                {Object.entries(preview.summary.added).map(([list, names]) => <li key={`a-${list}`} data-added={list}><b>Brings back</b> {named(list, names)}</li>)}
                {preview.summary.changed ? <li><b>Changes</b> {preview.summary.changed} setting{preview.summary.changed === 1 ? '' : 's'}</li> : null}
              </ul>
              <Changes changes={preview.changes} label="what the rollback changes" />
              <p class="hint">The administrator password stays as it is.</p>
            </>
          )}
          <button type="button" class="danger" name="rollback-confirm" onClick={() => rollback(preview)} disabled={preview.changes.length === 0}>Roll back to revision {preview.revision}</button>{' '}
          <button type="button" name="rollback-cancel" onClick={() => setPreview(undefined)}>Cancel</button>
        </div>
      ) : null}
    </section>
  );
}
