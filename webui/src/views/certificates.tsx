/** The built-in CA: the CA and gateway certificates, client certificates as PKCS#12 downloads, revocation. */
import { useEffect, useState } from 'preact/hooks';
import { api, describe, download, fieldErrors } from '../api.ts';
import { Field, Message } from '../ui.tsx';

interface CertInfo {
  subject: string;
  notAfter: string;
  fingerprintSha256: string;
  sans?: Array<{ type: string; value: string }>;
}
interface Issued {
  name: string;
  serialHex: string;
  notAfter: string;
  revokedAt?: string;
}

export function CertificatesView() {
  const [info, setInfo] = useState<{ ca: CertInfo; server: CertInfo; clients: Issued[] }>();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  const load = async () => setInfo(await api('GET', '/certificates'));
  useEffect(() => void load(), []);
  const issue = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    try {
      const file = await download('POST', '/certificates/clients', { name, password });
      setMessage({ text: `${file} downloaded: import it with its password`, kind: 'ok' });
      setName('');
      setPassword('');
      await load();
    } catch (error) {
      setErrors(fieldErrors(error));
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  const revoke = async (c: Issued) => {
    if (!confirm(`Revoke ${c.name}?`)) return;
    await api('POST', '/certificates/revoke', { serialHex: c.serialHex }).catch((error: unknown) => setMessage({ text: describe(error), kind: 'error' }));
    await load();
  };
  if (!info) return <p>Loading…</p>;
  return (
    <section aria-label="certificates">
      <div class="card">
        <h2>Certificates</h2>
        <Message text={message?.text} kind={message?.kind} />
        <dl>
          <dt>Certificate authority</dt><dd>{info.ca.subject}, until {info.ca.notAfter.slice(0, 10)}<br /><small>{info.ca.fingerprintSha256}</small></dd>
          <dt>Gateway certificate</dt><dd>{info.server.subject} ({(info.server.sans ?? []).map((s) => s.value).join(', ')}), until {info.server.notAfter.slice(0, 10)}</dd>
        </dl>
        <button class="link" onClick={() => download('GET', '/certificates/crl')}>Download the CRL</button>
      </div>
      <form class="card" onSubmit={issue} aria-label="issue a client certificate">
        <h3>Issue a client certificate</h3>
        <Field label="Name (device or user)" error={errors['name']}><input name="cert-name" value={name} onInput={(e) => setName(e.currentTarget.value)} required /></Field>
        <Field label="Bundle password" error={errors['password']}><input name="cert-password" type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required /></Field>
        <button type="submit">Issue and download (.p12)</button>
      </form>
      {info.clients.length ? (
        <div class="card">
          <h3>Issued</h3>
          <table>
            <tbody>
              {info.clients.map((c) => (
                <tr key={c.serialHex}><td>{c.name}</td><td><code>{c.serialHex.slice(0, 12)}…</code></td><td>{c.revokedAt ? `revoked ${c.revokedAt.slice(0, 10)}` : `until ${c.notAfter.slice(0, 10)}`}</td><td>{c.revokedAt ? null : <button class="danger" onClick={() => revoke(c)}>Revoke</button>}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
