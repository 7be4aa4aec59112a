/** First boot (set the admin password) and login. */
import { useState } from 'preact/hooks';
import { api, describe, fieldErrors, setCsrf, ApiFailure } from '../api.ts';
import { Field, Message } from '../ui.tsx';

export function SetupView(props: { done: () => void }) {
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (password !== again) return setErrors({ again: 'the two passwords differ' });
    try {
      await api('POST', '/setup', { password });
      props.done();
    } catch (error) {
      setErrors(fieldErrors(error));
      setMessage(describe(error));
    }
  };
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
      <p class="hint">At least 12 characters, mixing letters, digits or symbols.</p>
      <Message text={Object.keys(errors).length ? undefined : message} />
      <button type="submit">Set the password</button>
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
