/**
 * RADIUS (issue 21): the servers the listeners ask, each with its live state, last answer and
 * counters, a Test (Status-Server, and a login when a user and password are typed), the accounting
 * records waiting for a server, and dynamic authorization (RFC 5176: who may disconnect sessions or
 * change their Session-Timeout). Servers and DAS clients are added, edited and removed here; shared
 * secrets are write-only: left empty, the stored one is kept.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, describe, formIssues, inItem, NO_ISSUES, type FormIssues } from '../api.ts';
import { useConfirm } from '../confirm.tsx';
import { Elsewhere, Field, Message, since, WarningBanner } from '../ui.tsx';

interface Server {
  name: string; address: string; authPort: number; acctPort: number; timeoutSeconds?: number; retries?: number;
  state: 'alive' | 'dead' | 'unused'; lastAnswerAt?: number; usedBy: string[];
  counters: Record<string, number>;
  radsec?: { port: number; serverName?: string; ca: string; clientCertificateImported: boolean; connected?: boolean; connects: number; lastFailure?: string };
}
interface DasClient { name: string; address: string }
interface Overview {
  nasIdentifier: string;
  nasIpAddress?: string;
  servers: Server[];
  backlog: number;
  dynamicAuthorization: { enabled: boolean; listen: string; port: number; clients: DasClient[]; state?: string; counters?: Record<string, number> };
}
interface TestStep { ok: boolean; outcome: string; ms: number; detail?: string }
interface TestResult { server: string; statusServer: TestStep; login?: TestStep }

/** `radsec`: shown only while the RadSec box is ticked (values.radsec === 'on'). */
type FieldSpec = { key: string; label: string; type?: 'number' | 'password' | 'check' | 'pem'; hint?: string; radsec?: boolean };
const SERVER_FIELDS: FieldSpec[] = [
  { key: 'name', label: 'Name' },
  { key: 'address', label: 'Address', hint: 'IPv4, e.g. 10.0.0.5' },
  { key: 'authPort', label: 'Authentication port', type: 'number' },
  { key: 'acctPort', label: 'Accounting port', type: 'number' },
  { key: 'secret', label: 'Shared secret', type: 'password', hint: 'At least 16 random characters, as in the server\'s client entry; not used with RadSec' },
  { key: 'timeoutSeconds', label: 'Answer timeout (seconds)', type: 'number', hint: '2 when empty; the wait doubles with each retry' },
  { key: 'retries', label: 'Retries before the next server', type: 'number', hint: '2 when empty; 1 s and 1 retry fail over from a dead server in about 3 s' },
  { key: 'radsec', label: 'RadSec: RADIUS over TLS (RFC 6614), for a server across the Internet', type: 'check' },
  { key: 'radsecPort', label: 'RadSec port', type: 'number', hint: '2083 when empty', radsec: true },
  { key: 'radsecCa', label: 'CA of the server\'s certificate (PEM)', type: 'pem', radsec: true },
  { key: 'radsecServerName', label: 'Name in the server\'s certificate', hint: 'The address when empty', radsec: true },
];
/** The form's values as the API's server: RadSec's fields in `radsec` (null turns it off on a server that had it). */
function serverBody(body: Record<string, unknown>, editing: boolean): Record<string, unknown> {
  const { radsec, radsecPort, radsecCa, radsecServerName, ...fields } = body;
  if (radsec !== 'on') return editing ? { ...fields, radsec: null } : fields;
  // RadSec's secret is "radsec" (RFC 6614 §2.3): an empty shared secret is not sent.
  const { secret, ...rest } = fields;
  return { ...rest, ...(secret ? { secret } : {}), radsec: { ca: radsecCa, ...(radsecPort !== '' && radsecPort !== undefined ? { port: radsecPort } : {}), ...(radsecServerName ? { serverName: radsecServerName } : {}) } };
}
/** The API's field paths of a server's RadSec settings, for the form's fields. */
const RADSEC_PATHS: Record<string, string> = { 'radsec.port': 'radsecPort', 'radsec.ca': 'radsecCa', 'radsec.serverName': 'radsecServerName', radsec: 'radsec' };
const CLIENT_FIELDS: FieldSpec[] = [
  { key: 'name', label: 'Name' },
  { key: 'address', label: 'Address', hint: 'Disconnect and CoA requests from any other address are dropped' },
  { key: 'secret', label: 'Shared secret', type: 'password' },
];
const SHOWN_COUNTERS = [['requests', 'requests'], ['accepts', 'accepts'], ['rejects', 'rejects'], ['timeouts', 'timeouts'], ['badAuthenticators', 'bad authenticators']] as const;

export function RadiusView() {
  const [overview, setOverview] = useState<Overview>();
  const [editing, setEditing] = useState<{ kind: 'server' | 'client'; name?: string }>();
  const [testing, setTesting] = useState<string>();
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  const [issues, setIssues] = useState<FormIssues>(NO_ISSUES);
  const { ask, dialog } = useConfirm();
  const load = async () => setOverview(await api<Overview>('GET', '/radius'));
  useEffect(() => {
    void load().catch((e: unknown) => setMessage({ text: describe(e), kind: 'error' }));
    const timer = setInterval(() => void load().catch(() => undefined), 3000);
    return () => clearInterval(timer);
  }, []);
  const done = async (text: string, answer: unknown) => {
    setEditing(undefined);
    setIssues(formIssues(answer, () => undefined));
    setMessage({ text, kind: 'ok' });
    await load();
  };
  const remove = async (kind: 'server' | 'client', name: string) => {
    const yes = await ask({ title: `Remove ${name}?`, action: `Remove ${name}`, danger: true, body: kind === 'server' ? <p>Listeners stop asking {name}; with no server left, a listener set to RADIUS refuses the change.</p> : <p>{name} can no longer disconnect sessions or change them.</p> });
    if (!yes) return;
    try {
      await done(`${name} removed`, await api('DELETE', `/radius/${kind === 'server' ? 'servers' : 'das-clients'}/${encodeURIComponent(name)}`));
    } catch (error) {
      setIssues(formIssues(error, () => undefined));
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  if (!overview) return <section class="card" aria-label="radius"><h2>RADIUS</h2><Message text={message?.text} kind={message?.kind} /><p>Loading…</p></section>;
  const das = overview.dynamicAuthorization;
  const editedServer = editing?.kind === 'server' && editing.name ? overview.servers.find((s) => s.name === editing.name) : undefined;
  const editedClient = editing?.kind === 'client' && editing.name ? das.clients.find((c) => c.name === editing.name) : undefined;
  return (
    <section aria-label="radius">
      {dialog}
      <div class="card">
        <h2>RADIUS servers</h2>
        <Message text={message?.text} kind={message?.kind} />
        <WarningBanner issues={issues} />
        <Elsewhere issues={issues} />
        <p>NAS-Identifier <strong>{overview.nasIdentifier}</strong>{overview.nasIpAddress ? <>, NAS-IP-Address <strong>{overview.nasIpAddress}</strong></> : null}. Accounting records waiting for a server: <strong data-backlog>{overview.backlog}</strong></p>
        {overview.servers.length === 0 ? <p class="hint">No servers: listeners check the local users.</p> : (
          <div class="scroll">
            <table class="stack">
              <thead><tr><th>Name</th><th>Address</th><th>State</th><th>Last answer</th><th>Counters</th><th>Actions</th></tr></thead>
              <tbody>
                {overview.servers.map((s) => (
                  <tr key={s.name} data-server={s.name}>
                    <td data-label="Name">{s.name}</td>
                    <td data-label="Address">{s.radsec ? <>{s.address}:{s.radsec.port} <small>RadSec (TLS)</small><br /><small data-radsec={s.radsec.connected === undefined ? 'unused' : s.radsec.connected ? 'connected' : 'down'}>{s.radsec.connected === undefined ? 'no connection: no listener asks it' : s.radsec.connected ? `TLS connected (${s.radsec.connects} connection${s.radsec.connects === 1 ? '' : 's'} so far)` : `TLS not connected${s.radsec.lastFailure ? `: ${s.radsec.lastFailure}` : ''}`}</small></> : `${s.address}:${s.authPort}/${s.acctPort}`}</td>
                    <td data-label="State"><span class={`state ${s.state === 'alive' ? 'running' : s.state === 'dead' ? 'failed' : 'disabled'}`} data-state={s.state} title={s.usedBy.length ? `asked by ${s.usedBy.join(', ')}` : 'no listener asks RADIUS'}>{s.state}</span></td>
                    <td data-label="Last answer">{s.lastAnswerAt ? `${since(s.lastAnswerAt)} ago` : '–'}</td>
                    <td data-label="Counters" class="counters">{SHOWN_COUNTERS.map(([key, label], i) => <span key={key}>{i ? ', ' : ''}<span data-counter={key}>{s.counters[key] ?? 0}</span> {label}</span>)}</td>
                    <td data-label="Actions" class="actions">
                      <button class="secondary" aria-label={`Test ${s.name}`} onClick={() => setTesting(s.name)}>Test</button>
                      <button class="secondary" aria-label={`Edit ${s.name}`} onClick={() => setEditing({ kind: 'server', name: s.name })}>Edit</button>
                      <button class="danger" aria-label={`Remove ${s.name}`} onClick={() => void remove('server', s.name)}>Remove</button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <button onClick={() => setEditing({ kind: 'server' })}>Add a server</button>
      </div>
      {testing ? <TestPanel key={testing} server={testing} close={() => setTesting(undefined)} /> : null}
      {editing?.kind === 'server' && (editing.name === undefined || editedServer) ? (
        <ItemForm key={editing.name ?? 'new-server'} what="server" fields={SERVER_FIELDS} list="radius.servers"
          index={editedServer ? overview.servers.indexOf(editedServer) : overview.servers.length}
          initial={editedServer ? { name: editedServer.name, address: editedServer.address, authPort: String(editedServer.authPort), acctPort: String(editedServer.acctPort), timeoutSeconds: editedServer.timeoutSeconds === undefined ? '' : String(editedServer.timeoutSeconds), retries: editedServer.retries === undefined ? '' : String(editedServer.retries), ...(editedServer.radsec ? { radsec: 'on', radsecPort: String(editedServer.radsec.port), radsecCa: editedServer.radsec.ca, radsecServerName: editedServer.radsec.serverName ?? '' } : {}) } : { authPort: '1812', acctPort: '1813' }}
          toBody={serverBody}
          path={editedServer ? `/radius/servers/${encodeURIComponent(editedServer.name)}` : '/radius/servers'} editing={editedServer !== undefined}
          done={done} cancel={() => setEditing(undefined)} />
      ) : null}
      <DasSettings das={das} saved={done} />
      <div class="card" aria-label="DAS clients">
        <h3>Dynamic authorization clients</h3>
        {das.clients.length === 0 ? <p class="hint">None: Disconnect and CoA requests are dropped.</p> : (
          <table class="stack">
            <thead><tr><th>Name</th><th>Address</th><th>Actions</th></tr></thead>
            <tbody>
              {das.clients.map((c) => (
                <tr key={c.name} data-das-client={c.name}>
                  <td data-label="Name">{c.name}</td><td data-label="Address">{c.address}</td>
                  <td data-label="Actions" class="actions">
                    <button class="secondary" aria-label={`Edit ${c.name}`} onClick={() => setEditing({ kind: 'client', name: c.name })}>Edit</button>
                    <button class="danger" aria-label={`Remove ${c.name}`} onClick={() => void remove('client', c.name)}>Remove</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {das.counters ? <p class="hint" data-das-counters>{Object.entries(das.counters).filter(([, v]) => v > 0).map(([k, v]) => `${k.replace('das.', '')} ${v}`).join(', ') || 'No requests yet'}</p> : null}
        <button onClick={() => setEditing({ kind: 'client' })}>Add a DAS client</button>
      </div>
      {editing?.kind === 'client' && (editing.name === undefined || editedClient) ? (
        <ItemForm key={editing.name ?? 'new-client'} what="DAS client" fields={CLIENT_FIELDS} list="radius.dynamicAuthorization.clients"
          index={editedClient ? das.clients.indexOf(editedClient) : das.clients.length}
          initial={editedClient ? { name: editedClient.name, address: editedClient.address } : {}}
          path={editedClient ? `/radius/das-clients/${encodeURIComponent(editedClient.name)}` : '/radius/das-clients'} editing={editedClient !== undefined}
          done={done} cancel={() => setEditing(undefined)} />
      ) : null}
    </section>
  );
}

/** Add or edit one server or DAS client; the API's errors shown at their fields. */
function ItemForm(props: { what: string; fields: FieldSpec[]; list: string; index: number; initial: Record<string, string>; path: string; editing: boolean; done: (text: string, answer: unknown) => Promise<void>; cancel: () => void; toBody?: (body: Record<string, unknown>, editing: boolean) => Record<string, unknown> }) {
  const [values, setValues] = useState<Record<string, string>>(props.initial);
  const [issues, setIssues] = useState<FormIssues>(NO_ISSUES);
  const [failure, setFailure] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setIssues(NO_ISSUES);
    setFailure(undefined);
    const body: Record<string, unknown> = {};
    for (const f of props.fields) {
      const v = values[f.key] ?? '';
      if (f.type === 'password' && v === '' && props.editing) continue; // kept
      if (props.editing && f.key === 'name') continue;
      body[f.key] = f.type === 'number' && v !== '' && !Number.isNaN(Number(v)) ? Number(v) : v;
    }
    try {
      await props.done(`${props.what} ${values['name'] ?? ''} ${props.editing ? 'saved' : 'added'}`, await api(props.editing ? 'PUT' : 'POST', props.path, props.toBody ? props.toBody(body, props.editing) : body));
    } catch (error) {
      // radius.servers[i].radsec.ca → its own field; the rest by the item's first key.
      const prefix = `${props.list}[${props.index}].`;
      const place = (path: string) => (path.startsWith(prefix) ? RADSEC_PATHS[path.slice(prefix.length)] : undefined) ?? inItem(props.list, props.index)(path) ?? (path === 'name' ? 'name' : undefined);
      const shown = formIssues(error, place);
      setIssues(shown);
      setFailure(Object.keys(shown.errors).length ? undefined : describe(error));
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-label={`${props.editing ? 'edit' : 'add'} a ${props.what}`}>
      <h3>{props.editing ? `Edit ${props.initial['name']}` : `Add a ${props.what}`}</h3>
      <Message text={failure} />
      {props.fields.filter((f) => !f.radsec || values['radsec'] === 'on').map((f) => (
        <Field key={f.key} label={f.label} error={issues.errors[f.key]} hint={f.type === 'password' && props.editing ? 'Stored, never shown: leave empty to keep it' : f.hint}>
          {f.type === 'password'
            ? <input name={f.key} type="password" autocomplete="new-password" value={values[f.key] ?? ''} onInput={(e) => setValues({ ...values, [f.key]: e.currentTarget.value })} />
            : f.type === 'check'
              ? <input name={f.key} type="checkbox" checked={values[f.key] === 'on'} onChange={(e) => setValues({ ...values, [f.key]: e.currentTarget.checked ? 'on' : '' })} />
              : f.type === 'pem'
                ? <textarea name={f.key} rows={4} placeholder="-----BEGIN CERTIFICATE-----" value={values[f.key] ?? ''} onInput={(e) => setValues({ ...values, [f.key]: e.currentTarget.value })} />
                : <input name={f.key} inputMode={f.type === 'number' ? 'numeric' : 'text'} autocomplete="off" disabled={props.editing && f.key === 'name'} value={values[f.key] ?? ''} onInput={(e) => setValues({ ...values, [f.key]: e.currentTarget.value })} />}
        </Field>
      ))}
      <Elsewhere issues={issues} />
      <button type="submit">{props.editing ? 'Save' : 'Add'}</button> <button type="button" class="secondary" onClick={props.cancel}>Cancel</button>
    </form>
  );
}

function DasSettings(props: { das: Overview['dynamicAuthorization']; saved: (text: string, answer: unknown) => Promise<void> }) {
  const [enabled, setEnabled] = useState(props.das.enabled);
  const [listen, setListen] = useState(props.das.listen);
  const [port, setPort] = useState(String(props.das.port));
  const [issues, setIssues] = useState<FormIssues>(NO_ISSUES);
  const place = (path: string) => /^radius\.dynamicAuthorization\.(enabled|listen|port)$/.exec(path)?.[1];
  const save = async (e: Event) => {
    e.preventDefault();
    setIssues(NO_ISSUES);
    try {
      await props.saved('Dynamic authorization saved', await api('PUT', '/radius', { dynamicAuthorization: { enabled, listen, port: Number(port) } }));
    } catch (error) {
      setIssues(formIssues(error, place));
    }
  };
  return (
    <form class="card" onSubmit={save} aria-label="dynamic authorization">
      <h3>Dynamic authorization (RFC 5176)</h3>
      <p class="hint">The RADIUS server ends a session (Disconnect-Request) or changes its Session-Timeout (CoA-Request). State: <span data-das-state>{props.das.state ?? 'off'}</span></p>
      <label class="check"><input type="checkbox" name="enabled" checked={enabled} onChange={(e) => setEnabled(e.currentTarget.checked)} /> Accept Disconnect and CoA requests from the clients below</label>
      <Field label="Listen address" error={issues.errors['listen']} hint="The LAN address when empty"><input name="listen" value={listen} onInput={(e) => setListen(e.currentTarget.value)} /></Field>
      <Field label="Port" error={issues.errors['port']}><input name="port" inputMode="numeric" value={port} onInput={(e) => setPort(e.currentTarget.value)} /></Field>
      <Elsewhere issues={issues} />
      <button type="submit">Save</button>
    </form>
  );
}

function TestPanel(props: { server: string; close: () => void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<TestResult>();
  const [failure, setFailure] = useState<string>();
  const run = async (e: Event) => {
    e.preventDefault();
    setRunning(true);
    setFailure(undefined);
    try {
      setResult(await api<TestResult>('POST', `/radius/servers/${encodeURIComponent(props.server)}/test`, user ? { user, password } : {}));
    } catch (error) {
      setFailure(describe(error));
    } finally {
      setRunning(false);
    }
  };
  const line = (label: string, s: TestStep) => (
    <li data-step={label} class={s.ok ? 'ok' : 'error'}><strong>{label}</strong>: {s.ok ? 'answered' : 'failed'} ({s.outcome}, {s.ms} ms){s.detail ? ` – ${s.detail}` : ''}</li>
  );
  return (
    <form class="card" onSubmit={run} aria-label={`test ${props.server}`}>
      <h3>Test {props.server}</h3>
      <p class="hint">Status-Server always; a login too when you type a user and password (sent as PAP, hidden with the shared secret).</p>
      <Field label="User (optional)"><input name="user" value={user} onInput={(e) => setUser(e.currentTarget.value)} autocomplete="off" /></Field>
      <Field label="Password"><input name="password" type="password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} autocomplete="off" /></Field>
      <Message text={failure} />
      {result ? <ul class="test-result" aria-label="test result">{line('Status-Server', result.statusServer)}{result.login ? line('Login', result.login) : null}</ul> : null}
      <button type="submit" disabled={running}>{running ? 'Testing…' : 'Run the test'}</button> <button type="button" class="secondary" onClick={props.close}>Close</button>
    </form>
  );
}
