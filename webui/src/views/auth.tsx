/** First boot (set the admin password) and login. */
import { useState } from 'preact/hooks';
import { api, describe, formIssues, NO_ISSUES, setCsrf, ApiFailure, type FormIssues } from '../api.ts';
import { Elsewhere, Field, Message } from '../ui.tsx';

export interface SetupSuggestion {
  readonly address: string;
  readonly private: boolean;
}

const IDENTITY_FIELDS: Record<string, string> = { 'system.publicName': 'publicName', 'system.publicAddress': 'publicAddress', password: 'password' };

/**
 * The first-boot wizard: the administrator password and the gateway's public identity (issue 17),
 * the name or address every client profile will dial. The WAN's address is suggested; a private one
 * means another router is in front, whose public address or a DNS name is needed instead.
 */
export function SetupView(props: { done: () => void; suggestion?: SetupSuggestion | undefined }) {
  const suggested = props.suggestion && !props.suggestion.private ? props.suggestion.address : '';
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [publicName, setPublicName] = useState('');
  const [publicAddress, setPublicAddress] = useState(suggested);
  const [issues, setIssues] = useState<FormIssues>(NO_ISSUES);
  const [message, setMessage] = useState<string>();
  const errors = issues.errors;
  const submit = async (e: Event) => {
    e.preventDefault();
    if (password !== again) return setIssues({ ...NO_ISSUES, errors: { again: 'the two passwords differ' } });
    try {
      await api('POST', '/setup', { password, ...(publicName.trim() ? { publicName: publicName.trim() } : {}), ...(publicAddress.trim() ? { publicAddress: publicAddress.trim() } : {}) });
      props.done();
    } catch (error) {
      setIssues(formIssues(error, (path) => IDENTITY_FIELDS[path]));
      setMessage(describe(error));
    }
  };
  const behindNat = props.suggestion?.private ? `The WAN address ${props.suggestion.address} is private: another router is in front of this gateway. Enter that router's public address, or a DNS name pointing at it.` : undefined;
  return (
    <form class="card narrow" onSubmit={submit} aria-label="first-boot setup">
      <h2>Welcome to Postern</h2>
      <p>Choose the administrator password. There is no default password: until you set one, nothing can be configured.</p>
      <Field label="Administrator password" error={errors['password']}>
        <input name="password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
      </Field>
      <Field label="Repeat it" error={errors['again']}>
        <input name="again" type="password" autocomplete="new-password" value={again} onInput={(e) => setAgain(e.currentTarget.value)} required />
      </Field>
      <p class="hint">At least 12 characters, not a common password: a few unrelated words work well.</p>
      <h3>How clients reach this gateway</h3>
      <p class="hint">Every VPN profile dials this, and the gateway certificate carries it. You can change it later in Settings.</p>
      <Field label="Public DNS name (optional)" error={errors['publicName']} hint="e.g. vpn.branch1.example.com">
        <input name="publicName" value={publicName} placeholder="vpn.example.com" onInput={(e) => setPublicName(e.currentTarget.value)} />
      </Field>
      <Field label="Public address (optional)" error={errors['publicAddress']} hint={behindNat ?? (suggested ? 'Suggested: the WAN address' : undefined)}>
        <input name="publicAddress" value={publicAddress} placeholder={props.suggestion?.address ?? '203.0.113.5'} onInput={(e) => setPublicAddress(e.currentTarget.value)} />
      </Field>
      <Elsewhere issues={issues} />
      <Message text={Object.keys(errors).length || issues.elsewhere.length ? undefined : message} />
      <button type="submit">Set up the gateway</button>
    </form>
  );
}

export function LoginView(props: { done: () => void }) {
  const [password, setPassword] = useState('');
  const [message, setMessage] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await api<{ csrfToken: string }>('POST', '/login', { password });
      setCsrf(r.csrfToken);
      props.done();
    } catch (error) {
      const retry = error instanceof ApiFailure ? error.details['retryAfterSeconds'] : undefined;
      setMessage(retry ? `Too many failed attempts: try again in ${String(retry)} s.` : describe(error));
    }
  };
  return (
    <form class="card narrow" onSubmit={submit} aria-label="login">
      <h2>Log in</h2>
      <Field label="Administrator password">
        <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
      </Field>
      <Message text={message} />
      <button type="submit">Log in</button>
    </form>
  );
}
