/**
 * VPN users: add (password rules per field), enable/disable, remove, and each user's client profiles.
 * The gateway keeps only a password's NT hash and never shows it: a change without a password keeps it.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, describe, download, formIssues, inItem, NO_ISSUES, type FormIssues } from '../api.ts';
import { Elsewhere, Field, Message, WarningBanner } from '../ui.tsx';

interface User {
  name: string;
  enabled: boolean;
  staticIPv4?: string;
}

const KINDS = [['windows', 'Windows'], ['apple', 'Apple'], ['android', 'Android'], ['linux', 'Linux']] as const;

export function UsersView() {
  const [users, setUsers] = useState<User[]>([]);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [issues, setIssues] = useState<FormIssues>(NO_ISSUES);
  const [tableIssues, setTableIssues] = useState<FormIssues>(NO_ISSUES);
  const errors = issues.errors;
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  const load = async () => setUsers((await api<{ users: User[] }>('GET', '/users')).users);
  useEffect(() => void load(), []);
  const add = async (e: Event) => {
    e.preventDefault();
    setIssues(NO_ISSUES);
    setTableIssues(NO_ISSUES);
    // A new user is appended: the API names its fields users[<count>].…
    const place = inItem('users', users.length);
    try {
      const answer = await api('POST', '/users', { name, password, enabled: true });
      // The form is emptied: its warnings stay in the banner only.
      setIssues({ ...formIssues(answer, place), warnings: {} });
      setMessage({ text: `User ${name} added`, kind: 'ok' });
      setName('');
      setPassword('');
      await load();
    } catch (error) {
      setIssues(formIssues(error, place));
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  // Changes from the table (enable, remove): their warnings and errors go to the banner and the list.
  const act = async (what: () => Promise<unknown>, done: string) => {
    try {
      const answer = await what();
      setIssues(NO_ISSUES);
      setTableIssues(formIssues(answer, () => undefined));
      setMessage({ text: done, kind: 'ok' });
      await load();
    } catch (error) {
      setIssues(NO_ISSUES);
      setTableIssues(formIssues(error, () => undefined));
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  return (
    <section aria-label="users">
      <div class="card">
        <h2>Users</h2>
        <Message text={message?.text} kind={message?.kind} />
        <WarningBanner issues={tableIssues.banner.length ? tableIssues : issues} />
        <Elsewhere issues={tableIssues} />
        <table>
          <thead><tr><th>Name</th><th>State</th><th>Profiles</th><th /></tr></thead>
          <tbody>
            {users.map((u) => (
              <tr key={u.name} data-user={u.name}>
                <td>{u.name}</td>
                <td><button class="link" onClick={() => act(() => api('PUT', `/users/${encodeURIComponent(u.name)}`, { ...u, enabled: !u.enabled }), `${u.name} ${u.enabled ? 'disabled' : 'enabled'}`)}>{u.enabled ? 'enabled' : 'disabled'}</button></td>
                <td class="profiles">{KINDS.map(([kind, label]) => <button key={kind} class="link" data-profile={kind} onClick={() => act(() => download('GET', `/profiles/${encodeURIComponent(u.name)}/${kind}`), `${label} profile for ${u.name} downloaded`)}>{label}</button>)}</td>
                <td><button class="danger" onClick={() => confirm(`Remove ${u.name}?`) && act(() => api('DELETE', `/users/${encodeURIComponent(u.name)}`), `${u.name} removed`)}>Remove</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form class="card" onSubmit={add} aria-label="add a user">
        <h3>Add a user</h3>
        <Field label="Name" error={errors['name']}><input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} required /></Field>
        <Field label="Password" error={errors['password']} hint="At least 12 characters, not a common password or one built from the name"><input name="password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required /></Field>
        <Elsewhere issues={issues} />
        <button type="submit">Add</button>
      </form>
    </section>
  );
}
