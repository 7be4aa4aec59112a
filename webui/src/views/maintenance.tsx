/**
 * Maintenance (issue 17): configuration backup and restore (export, the secrets only with the
 * administrator password; import previewed before it is applied), ping and traceroute from the gateway,
 * and reboot after a confirmation.
 */
import { useState } from 'preact/hooks';
import { api, ApiFailure, describe, download, formIssues, NO_ISSUES, type FormIssues, type Issue } from '../api.ts';
import { useConfirm } from '../confirm.tsx';
import { Elsewhere, Field, Message, WarningBanner } from '../ui.tsx';

interface Preview {
  valid: boolean;
  issues: Issue[];
  warnings: Issue[];
  /** before/after as JSON text; secrets named, never shown. */
  changes: Array<{ path: string; kind: 'added' | 'removed' | 'changed'; before?: string; after?: string }>;
  more: number;
}

function BackupCard() {
  const [password, setPassword] = useState('');
  const [exportIssues, setExportIssues] = useState<FormIssues>(NO_ISSUES);
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  const [doc, setDoc] = useState<unknown>();
  const [preview, setPreview] = useState<Preview>();
  const [fileError, setFileError] = useState<string>();
  const [importIssues, setImportIssues] = useState<FormIssues>(NO_ISSUES);
  const exportWith = async (secrets: boolean) => {
    setExportIssues(NO_ISSUES);
    try {
      const name = secrets ? await download('POST', '/config/export', { secrets: true, password }) : await download('GET', '/config/export');
      setMessage({ text: `Saved ${name}${secrets ? ' (with keys and password hashes: keep it safe)' : ' (secrets left out)'}`, kind: 'ok' });
    } catch (error) {
      setExportIssues(formIssues(error, (path) => (path === 'password' ? 'password' : undefined)));
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  const choose = async (file: File | undefined) => {
    setPreview(undefined);
    setDoc(undefined);
    setFileError(undefined);
    setMessage(undefined);
    setImportIssues(NO_ISSUES);
    if (!file) return;
    try {
      const parsed: unknown = JSON.parse(await file.text());
      setDoc(parsed);
      setPreview(await api<Preview>('POST', '/config/import/preview', { config: parsed }));
    } catch (error) {
      setFileError(error instanceof SyntaxError ? `not a configuration file (JSON): ${error.message}` : describe(error));
    }
  };
  const apply = async () => {
    try {
      const answer = await api('POST', '/config/import', { config: doc });
      setImportIssues(formIssues(answer, () => undefined));
      setMessage({ text: 'Configuration imported', kind: 'ok' });
      setPreview(undefined);
    } catch (error) {
      setImportIssues(formIssues(error, () => undefined));
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  return (
    <div class="card" role="region" aria-label="backup">
      <h2>Backup and restore</h2>
      <Message text={message?.text} kind={message?.kind} />
      <p class="row wrap"><button type="button" name="export" onClick={() => void exportWith(false)}>Export without secrets</button></p>
      <form onSubmit={(e) => (e.preventDefault(), void exportWith(true))} aria-label="export with secrets">
        <Field label="Administrator password (to export keys and password hashes too)" error={exportIssues.errors['password']}>
          <input name="export-password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
        <button type="submit" class="secondary">Export with secrets</button>
      </form>
      <h3>Import</h3>
      <Field label="Configuration file" error={fileError} hint="Checked first: nothing changes until you press Import">
        <input name="import-file" type="file" accept="application/json,.json" onChange={(e) => void choose(e.currentTarget.files?.[0])} />
      </Field>
      {preview ? <PreviewList preview={preview} onApply={() => void apply()} /> : null}
      <WarningBanner issues={importIssues} />
      <Elsewhere issues={importIssues} />
    </div>
  );
}

function PreviewList(props: { preview: Preview; onApply: () => void }) {
  const p = props.preview;
  if (!p.valid) {
    return (
      <div data-testid="import-preview">
        <p class="message error">This file would be refused:</p>
        <ul class="message error elsewhere">{p.issues.map((i) => <li key={i.path + i.message} data-path={i.path}><code>{i.path}</code> {i.message}</li>)}</ul>
      </div>
    );
  }
  return (
    <div data-testid="import-preview">
      <p>{p.changes.length === 0 ? 'The file is the configuration running now: nothing would change.' : `Importing changes ${p.changes.length + p.more} setting${p.changes.length + p.more === 1 ? '' : 's'}:`}</p>
      <table>
        <tbody>
          {p.changes.map((c) => <tr key={c.path} data-path={c.path}><td><code>{c.path}</code></td><td>{c.kind}</td><td>{c.before ?? ''}</td><td>{c.after ?? ''}</td></tr>)}
        </tbody>
      </table>
      {p.warnings.length ? <ul class="warning">{p.warnings.map((w) => <li key={w.path + w.message}><code>{w.path}</code> {w.message}</li>)}</ul> : null}
      <button type="button" name="import-apply" onClick={props.onApply} disabled={p.changes.length === 0}>Import</button>
    </div>
  );
}

type Tool = 'ping' | 'traceroute';

function DiagnosticsCard() {
  const [host, setHost] = useState('');
  const [tool, setTool] = useState<Tool>('ping');
  const [busy, setBusy] = useState(false);
  const [output, setOutput] = useState<string>();
  const [issues, setIssues] = useState<FormIssues>(NO_ISSUES);
  const [message, setMessage] = useState<string>();
  const run = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setIssues(NO_ISSUES);
    setMessage(undefined);
    try {
      const r = tool === 'ping' ? await api<{ output: string }>('POST', '/diagnostics/ping', { host, count: 3 }) : await api<{ output: string }>('POST', '/diagnostics/traceroute', { host, maxHops: 15 });
      setOutput(r.output);
    } catch (error) {
      setOutput(undefined);
      setIssues(formIssues(error, (path) => (path === 'host' ? 'host' : undefined)));
      if (!(error instanceof ApiFailure && error.details['field'] === 'host')) setMessage(describe(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card" onSubmit={run} aria-label="diagnostics">
      <h2>Ping and traceroute</h2>
      <p class="hint">From the gateway itself: 3 pings, or up to 15 hops.</p>
      <Message text={message} />
      <Field label="Host" error={issues.errors['host']}>
        <input name="diag-host" value={host} placeholder="e.g. 192.168.1.10 or example.com" onInput={(e) => setHost(e.currentTarget.value)} />
      </Field>
      <Field label="Tool">
        <select name="diag-tool" value={tool} onChange={(e) => setTool(e.currentTarget.value as Tool)}>
          <option value="ping">ping</option>
          <option value="traceroute">traceroute</option>
        </select>
      </Field>
      <button type="submit" disabled={busy}>{busy ? 'Running…' : 'Run'}</button>
      {output !== undefined ? <pre class="diff" data-testid="diag-output">{output}</pre> : null}
    </form>
  );
}

function RebootCard() {
  const confirm = useConfirm();
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  const reboot = async () => {
    const yes = await confirm.ask({
      title: 'Reboot the gateway?',
      body: <p>Every VPN session and site tunnel drops until the gateway is back, usually within a minute. This page reconnects by itself.</p>,
      action: 'Reboot',
      danger: true,
    });
    if (!yes) return;
    try {
      const r = await api<{ action: 'reboot' | 'restart' }>('POST', '/system/reboot', { confirm: true });
      setMessage({ text: r.action === 'reboot' ? 'Rebooting…' : 'Restarting the service (not running as firmware: the box itself does not reboot)…', kind: 'ok' });
      waitForReturn(setMessage);
    } catch (error) {
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  return (
    <div class="card" role="region" aria-label="reboot">
      <h2>Reboot</h2>
      <Message text={message?.text} kind={message?.kind} />
      <button type="button" class="danger" name="reboot" onClick={() => void reboot()}>Reboot…</button>
      {confirm.dialog}
    </div>
  );
}

/** Typed, not clicked (firmware/system/factory-reset.ts FACTORY_RESET_CONFIRM). */
const RESET_WORDS = 'erase everything';

/**
 * Factory reset (issue 18): the admin password again and the words typed; the gateway wipes its
 * configuration, keys, users and history, then comes back as on first boot (this page then asks
 * for a new admin password).
 */
function FactoryResetCard() {
  const [password, setPassword] = useState('');
  const [words, setWords] = useState('');
  const [issues, setIssues] = useState<FormIssues>(NO_ISSUES);
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  const reset = async (e: Event) => {
    e.preventDefault();
    setIssues(NO_ISSUES);
    try {
      await api('POST', '/system/factory-reset', { password, confirm: words });
      setPassword('');
      setMessage({ text: 'Resetting to factory state: the gateway comes back asking for a new admin password…', kind: 'ok' });
      waitForReturn(setMessage);
    } catch (error) {
      setIssues(formIssues(error, (path) => (path === 'password' || path === 'confirm' ? path : undefined)));
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  return (
    <form class="card" aria-label="factory reset" onSubmit={(e) => void reset(e)}>
      <h2>Factory reset</h2>
      <p class="hint">Erases the configuration and its history, the certificate authority and every issued certificate, users and sites. The firmware stays. Client profiles stop working.</p>
      <Message text={message?.text} kind={message?.kind} />
      <Field label="Admin password" error={issues.errors['password']}>
        <input name="reset-password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </Field>
      <Field label={`Type "${RESET_WORDS}"`} error={issues.errors['confirm']}>
        <input name="reset-confirm" value={words} onInput={(e) => setWords(e.currentTarget.value)} />
      </Field>
      <button type="submit" class="danger" name="factory-reset" disabled={words !== RESET_WORDS || password === ''}>Reset to factory state</button>
    </form>
  );
}

/** Polls /healthz (bounded: two minutes) and says when the gateway answers again. */
function waitForReturn(say: (m: { text: string; kind: 'ok' | 'error' }) => void): void {
  const started = Date.now();
  let seenDown = false;
  const poll = async () => {
    const up = await fetch('/healthz', { cache: 'no-store' }).then((r) => r.ok, () => false);
    if (!up) seenDown = true;
    if (up && (seenDown || Date.now() - started > 3000)) {
      say({ text: 'The gateway is back: log in again', kind: 'ok' });
      return void setTimeout(() => location.reload(), 1500);
    }
    if (Date.now() - started > 120_000) return say({ text: 'The gateway has not answered for two minutes', kind: 'error' });
    setTimeout(() => void poll(), 1000);
  };
  setTimeout(() => void poll(), 1000);
}

export function MaintenanceView() {
  return (
    <section aria-label="maintenance">
      <BackupCard />
      <DiagnosticsCard />
      <RebootCard />
      <FactoryResetCard />
    </section>
  );
}
