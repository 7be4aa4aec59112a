/**
 * VPN users: add, edit (new password, fixed address from a pool), enable/disable and remove, each
 * change that locks someone out asked first; and each user's client profiles. The gateway keeps only
 * a password's NT hash and never shows it: a change without a password keeps it.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, describe, download, formIssues, inItem, NO_ISSUES, type FormIssues } from '../api.ts';
import { useConfirm } from '../confirm.tsx';
import { freeFromTop, inRange } from '../ipv4.ts';
import { Elsewhere, Field, Message, WarningBanner } from '../ui.tsx';
import { ProfilePanel } from './profile-panel.tsx';

interface User {
  name: string;
  enabled: boolean;
  staticIPv4?: string;
  chapMd5?: boolean;
}

interface Pool {
  name: string;
  ipv4: string;
}

const KINDS = [['windows', 'Windows'], ['apple', 'Apple'], ['android', 'Android'], ['linux', 'Linux']] as const;
const PASSWORD_RULES = 'At least 12 characters, not a common password or one built from the name';
const userPath = (name: string) => `/users/${encodeURIComponent(name)}`;

/** A user's failed connection attempts in the connection doctor (issue 17): how many, and the last cause. */
interface Trouble { count: number; last: string; explanation: string }

function troubleByUser(problems: ReadonlyArray<{ user?: string; time: string; lastTime?: string; count?: number; explanation: string }>): Record<string, Trouble> {
  const out: Record<string, Trouble> = {};
  // Newest first: the first entry of a user is its last cause.
  for (const p of problems) {
    if (!p.user) continue;
    const seen = out[p.user];
    if (seen) seen.count += p.count ?? 1;
    else out[p.user] = { count: p.count ?? 1, last: p.lastTime ?? p.time, explanation: p.explanation };
  }
  return out;
}

export function UsersView() {
  const [users, setUsers] = useState<User[]>([]);
  const [pools, setPools] = useState<Pool[]>([]);
  const [editing, setEditing] = useState<string>();
  const [tableIssues, setTableIssues] = useState<FormIssues>(NO_ISSUES);
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  // Whose profiles (each with how to install it) are shown below the table (issue 17).
  const [profilesOf, setProfilesOf] = useState<string>();
  const { ask, dialog } = useConfirm();
  const [trouble, setTrouble] = useState<Record<string, Trouble>>({});
  const load = async () => {
    setUsers((await api<{ users: User[] }>('GET', '/users')).users);
    void api<{ problems: Parameters<typeof troubleByUser>[0] }>('GET', '/problems').then((a) => setTrouble(troubleByUser(a.problems)), () => undefined);
  };
  useEffect(() => {
    void load();
    void api<{ pools: Pool[] }>('GET', '/pools').then((a) => setPools(a.pools), () => undefined);
  }, []);
  const said = (text: string, kind: 'ok' | 'error') => setMessage({ text, kind });
  // Changes from the table (enable, remove): their warnings and errors go to the banner and the list.
  const act = async (what: () => Promise<unknown>, done: string) => {
    try {
      setTableIssues(formIssues(await what(), () => undefined));
      said(done, 'ok');
      await load();
    } catch (error) {
      setTableIssues(formIssues(error, () => undefined));
      said(describe(error), 'error');
    }
  };
  const toggle = async (u: User) => {
    const yes = await ask(u.enabled
      ? { title: `Disable ${u.name}?`, action: `Disable ${u.name}`, danger: true, body: <p>{u.name} can no longer connect. Sessions already up stay until they end or you disconnect them on the Sessions page. The password and profiles are kept.</p> }
      : { title: `Enable ${u.name}?`, action: `Enable ${u.name}`, body: <p>{u.name} can connect again with the same password and profiles.</p> });
    if (yes) await act(() => api('PUT', userPath(u.name), { ...u, enabled: !u.enabled }), `${u.name} ${u.enabled ? 'disabled' : 'enabled'}`);
  };
  const remove = async (u: User) => {
    const yes = await ask({ title: `Remove ${u.name}?`, action: `Remove ${u.name}`, danger: true, body: <p>{u.name} is deleted with the password{u.staticIPv4 ? ` and the fixed address ${u.staticIPv4}` : ''}; profiles already installed stop working. Sessions already up stay until they end.</p> });
    if (!yes) return;
    if (editing === u.name) setEditing(undefined);
    await act(() => api('DELETE', userPath(u.name)), `${u.name} removed`);
  };
  const edited = users.find((u) => u.name === editing);
  return (
    <section aria-label="users">
      {dialog}
      <div class="card">
        <h2>Users</h2>
        <Message text={message?.text} kind={message?.kind} />
        <WarningBanner issues={tableIssues} />
        <Elsewhere issues={tableIssues} />
        <div class="scroll">
          <table class="stack">
            <thead><tr><th>Name</th><th>Fixed address</th><th>State</th><th>Profiles</th><th>Actions</th></tr></thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.name} data-user={u.name}>
                  <td data-label="Name">{u.name}{trouble[u.name] ? (
                    <><br /><a class="problem-link" href={`#problems?user=${encodeURIComponent(u.name)}`} title={trouble[u.name]!.explanation}>
                      {trouble[u.name]!.count === 1 ? '1 failed attempt' : `${trouble[u.name]!.count} failed attempts`}, last {new Date(trouble[u.name]!.last).toLocaleString()}
                    </a></>
                  ) : null}</td>
                  <td data-label="Fixed address">{u.staticIPv4 ?? <span class="hint">from the pool</span>}</td>
                  <td data-label="State">
                    <span class={`state ${u.enabled ? 'running' : 'disabled'}`}>{u.enabled ? 'enabled' : 'disabled'}</span>{' '}
                    <button class="link" data-action="toggle" aria-label={`${u.enabled ? 'Disable' : 'Enable'} ${u.name}`} onClick={() => void toggle(u)}>{u.enabled ? 'Disable' : 'Enable'}</button>
                  </td>
                  <td data-label="Profiles" class="profiles">{KINDS.map(([kind, label]) => <button key={kind} class="link" data-profile={kind} aria-label={`${label} profile for ${u.name}`} onClick={() => act(() => download('GET', `/profiles/${encodeURIComponent(u.name)}/${kind}`), `${label} profile for ${u.name} downloaded`)}>{label}</button>)}
                  <button class="link" data-profile-help={u.name} aria-label={`Profiles and how to install them for ${u.name}`} onClick={() => setProfilesOf(u.name)}>How to install…</button></td>
                  <td data-label="Actions" class="actions">
                    <button class="secondary" data-action="edit" aria-label={`Edit ${u.name}`} onClick={() => setEditing(u.name)}>Edit</button>
                    <button class="danger" data-action="remove" aria-label={`Remove ${u.name}`} onClick={() => void remove(u)}>Remove</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {users.length === 0 ? <p class="hint">No users yet: add the first one below.</p> : null}
      </div>
      {profilesOf && users.some((u) => u.name === profilesOf) ? <ProfilePanel user={profilesOf} /> : null}
      {edited ? (
        <EditUser key={edited.name} user={edited} index={users.indexOf(edited)} users={users} pools={pools}
          done={async (text, issues) => {
            setEditing(undefined);
            setTableIssues(issues);
            said(text, 'ok');
            await load();
          }}
          cancel={() => setEditing(undefined)} />
      ) : null}
      <AddUser count={users.length} added={async (text, issues) => {
        setTableIssues(issues);
        said(text, 'ok');
        await load();
      }} />
    </section>
  );
}

function AddUser(props: { count: number; added: (text: string, issues: FormIssues) => Promise<void> }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [issues, setIssues] = useState<FormIssues>(NO_ISSUES);
  const [failure, setFailure] = useState<string>();
  const add = async (e: Event) => {
    e.preventDefault();
    setIssues(NO_ISSUES);
    setFailure(undefined);
    // A new user is appended: the API names its fields users[<count>].…
    const place = inItem('users', props.count);
    try {
      const answer = await api('POST', '/users', { name, password, enabled: true });
      setName('');
      setPassword('');
      // The form is emptied: its warnings go to the banner above the list.
      await props.added(`User ${name} added`, { ...formIssues(answer, place), warnings: {} });
    } catch (error) {
      const shown = formIssues(error, place);
      setIssues(shown);
      // A refusal at a field is said there (role=alert); only one with no field gets a line of its own.
      setFailure(Object.keys(shown.errors).length ? undefined : describe(error));
    }
  };
  const errors = issues.errors;
  return (
    <form class="card" onSubmit={add} aria-label="add a user">
      <h3>Add a user</h3>
      <Message text={failure} />
      <Field label="Name" error={errors['name']}><input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} required /></Field>
      <Field label="Password" error={errors['password']} hint={PASSWORD_RULES}><input name="password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required /></Field>
      <Elsewhere issues={issues} />
      <button type="submit">Add</button>
    </form>
  );
}

/** One user's password and fixed address; errors at the field the API names (users[<index>].…). */
function EditUser(props: { user: User; index: number; users: User[]; pools: Pool[]; done: (text: string, issues: FormIssues) => Promise<void>; cancel: () => void }) {
  const u = props.user;
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [fixed, setFixed] = useState(u.staticIPv4 ?? '');
  const [issues, setIssues] = useState<FormIssues>(NO_ISSUES);
  const [failure, setFailure] = useState<string>();
  const taken = props.users.filter((o) => o.name !== u.name).flatMap((o) => (o.staticIPv4 ? [o.staticIPv4] : []));
  const pool = props.pools.find((p) => fixed && inRange(p.ipv4, fixed));
  const save = async (e: Event) => {
    e.preventDefault();
    setFailure(undefined);
    if (password !== again) return setIssues({ ...NO_ISSUES, errors: { again: 'the two passwords differ' } });
    const { staticIPv4: _old, ...rest } = u;
    const body = { ...rest, ...(password ? { password } : {}), ...(fixed.trim() ? { staticIPv4: fixed.trim() } : {}) };
    try {
      const answer = await api('PUT', userPath(u.name), body);
      const what = [password ? 'password changed' : '', (u.staticIPv4 ?? '') !== fixed.trim() ? (fixed.trim() ? `fixed address ${fixed.trim()}` : 'address from the pool') : ''].filter(Boolean).join(', ');
      await props.done(`${u.name} saved${what ? `: ${what}` : ''}`, formIssues(answer, () => undefined));
    } catch (error) {
      const shown = formIssues(error, inItem('users', props.index));
      // The whole configuration's warnings (weak proposals, the public name…) are not this user's business here.
      setIssues({ ...shown, banner: shown.banner.filter((w) => w.path.startsWith(`users[${props.index}]`)) });
      setFailure(Object.keys(shown.errors).length ? undefined : describe(error));
    }
  };
  const errors = issues.errors;
  const poolHint = props.pools.length ? `Empty: an address from the pool at each connection. Pools: ${props.pools.map((p) => `${p.name} ${p.ipv4}`).join(', ')}` : 'Empty: an address from the pool at each connection';
  return (
    <form class="card" onSubmit={save} aria-label={`edit user ${u.name}`} data-editing={u.name}>
      <h3>Edit {u.name}</h3>
      <Message text={failure} />
      <WarningBanner issues={issues} />
      <Field label="New password" error={errors['password']} hint={`Leave empty to keep the current one. ${PASSWORD_RULES}`}>
        <input name="password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
      </Field>
      <Field label="New password again" error={errors['again']}>
        <input name="again" type="password" autocomplete="new-password" value={again} onInput={(e) => setAgain(e.currentTarget.value)} />
      </Field>
      <Field label="Fixed address" error={errors['staticIPv4']} warning={issues.warnings['staticIPv4']} hint={pool ? `In pool ${pool.name} (${pool.ipv4})` : poolHint}>
        <input name="staticIPv4" inputMode="decimal" placeholder="from the pool" value={fixed} onInput={(e) => setFixed(e.currentTarget.value)} />
      </Field>
      <div class="row wrap">
        {props.pools.map((p) => {
          const free = freeFromTop(p.ipv4, taken);
          return free ? <button key={p.name} type="button" class="secondary" onClick={() => setFixed(free)}>Use {free} from {p.name}</button> : null;
        })}
        {fixed ? <button type="button" class="secondary" onClick={() => setFixed('')}>No fixed address</button> : null}
      </div>
      <Elsewhere issues={issues} />
      <div class="row wrap">
        <button type="submit">Save</button>
        <button type="button" class="secondary" onClick={props.cancel}>Cancel</button>
      </div>
    </form>
  );
}
