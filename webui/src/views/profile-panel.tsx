/**
 * One user's client profiles (issue 17): each download with how to install it beside it, Windows'
 * all-users option, and for certificate login the password of the certificate bundle the download
 * carries (each such download issues the user a new certificate).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, describe, download, fieldErrors } from '../api.ts';
import { Field, Message } from '../ui.tsx';

interface ProfileKind {
  kind: string;
  label: string;
  filename?: string;
  install?: string;
  error?: string;
  /** Issue 20: per kind (L2TP/IPsec follows its own IPsec authentication); the list's login when absent. */
  login?: 'password' | 'certificate';
  /** Listed but not offered (Android has no L2TP/IPsec client), with why. */
  note?: string;
}
interface ProfileList {
  user: string;
  login: 'password' | 'certificate';
  identity?: string;
  kinds: ProfileKind[];
}

export function ProfilePanel(props: { user: string }) {
  const [list, setList] = useState<ProfileList>();
  const [allUsers, setAllUsers] = useState(false);
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  useEffect(() => {
    setList(undefined);
    api<ProfileList>('GET', `/profiles/${encodeURIComponent(props.user)}`).then(setList, (e) => setMessage({ text: describe(e), kind: 'error' }));
  }, [props.user]);
  if (!list) return <Message text={message?.text} kind={message?.kind} />;
  const loginOf = (k: ProfileKind) => k.login ?? list.login;
  const offered = list.kinds.filter((k) => !k.note);
  const certificateKinds = offered.filter((k) => loginOf(k) === 'certificate');
  const certificate = certificateKinds.length > 0;
  // Issue 20: L2TP/IPsec may use certificates while IKEv2 signs in with passwords, or the reverse.
  const issuing = certificateKinds.length === offered.length ? 'Each download issues' : `Each ${certificateKinds.map((k) => k.label).join(', ')} download issues`;
  const get = async (k: ProfileKind) => {
    const { kind, label } = k;
    setErrors({});
    try {
      const path = `/profiles/${encodeURIComponent(list.user)}/${kind}`;
      const windowsAll = kind.startsWith('windows') && allUsers;
      const name = loginOf(k) === 'certificate'
        ? await download('POST', path, { password, allUserConnection: windowsAll })
        : await download('GET', `${path}${windowsAll ? '?allUsers=true' : ''}`);
      setMessage({ text: `${label} profile for ${list.user} downloaded (${name})`, kind: 'ok' });
    } catch (error) {
      setErrors(fieldErrors(error));
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  return (
    <div class="card" aria-label={`profiles for ${list.user}`} data-profiles-for={list.user}>
      <h3>Profiles for {list.user}</h3>
      <Message text={message?.text} kind={message?.kind} />
      {certificate ? (
        <Field label="Certificate password" error={errors['password']} hint={`${issuing} ${list.user} a new certificate (identity ${list.identity ?? ''}) inside a bundle protected by this password; the device asks for it when installing.`}>
          <input name="bundle-password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </Field>
      ) : null}
      <label><input type="checkbox" name="all-users" checked={allUsers} onChange={(e) => setAllUsers(e.currentTarget.checked)} /> Windows: for every user of the PC (-AllUserConnection)</label>
      <dl class="profile-kinds">
        {list.kinds.map((k) => (
          <div key={k.kind} data-install={k.kind}>
            <dt><button class="link" data-download={k.kind} disabled={!!k.error || !!k.note} onClick={() => get(k)}>{k.label}</button>{k.filename ? <small> {k.filename}</small> : null}</dt>
            <dd>{k.note ? <span class="hint" data-note={k.kind}>{k.note}</span> : k.error ? <span class="error">{k.error}</span> : <pre class="install" style="white-space: pre-wrap; overflow-wrap: anywhere">{k.install}</pre>}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}
