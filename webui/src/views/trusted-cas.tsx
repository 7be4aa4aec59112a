/**
 * Other CAs whose certificates peers may present (certificates.trusted): another gateway's CA for a
 * site authenticated by certificate (issue 25), a company CA for clients. Added by pasting the PEM
 * or choosing the file; each listed with its subject, expiry and fingerprint, to compare with the
 * other gateway's Certificates page before trusting it.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, describe, download, formIssues, NO_ISSUES, type FormIssues } from '../api.ts';
import { useConfirm } from '../confirm.tsx';
import { Elsewhere, Field, Message } from '../ui.tsx';

interface TrustedCa {
  name: string;
  certificate: string;
  revocation?: 'off' | 'soft' | 'hard';
  subject?: string;
  notAfter?: string;
  fingerprintSha256?: string;
}

const emptyForm = { name: '', certificate: '', revocation: 'soft' };

/** certificates.trusted[i].certificate → "certificate" for the new item's form (it is appended at `index`). */
const inNewCa = (index: number) => (path: string): string | undefined =>
  new RegExp(`^certificates\\.trusted\\[${String(index)}\\]\\.([a-z]+)`).exec(path)?.[1];

export function TrustedCasCard() {
  const [cas, setCas] = useState<TrustedCa[]>([]);
  const [form, setForm] = useState(emptyForm);
  const [issues, setIssues] = useState<FormIssues>(NO_ISSUES);
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  const { ask, dialog } = useConfirm();
  const load = async () => setCas((await api<{ 'trusted-cas': TrustedCa[] }>('GET', '/trusted-cas'))['trusted-cas']);
  useEffect(() => void load(), []);
  const set = (key: keyof typeof emptyForm) => (e: Event) => setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement).value });
  const readFile = async (e: Event) => {
    const file = (e.currentTarget as HTMLInputElement).files?.[0];
    if (file) setForm({ ...form, certificate: await file.text(), name: form.name || file.name.replace(/\.(pem|crt|cer)$/i, '').replace(/[^A-Za-z0-9._@-]/g, '-') });
  };
  const add = async (e: Event) => {
    e.preventDefault();
    setIssues(NO_ISSUES);
    try {
      await api('POST', '/trusted-cas', { name: form.name, certificate: form.certificate, revocation: form.revocation });
      setMessage({ text: `${form.name} is trusted: peers with a certificate from it may connect`, kind: 'ok' });
      setForm(emptyForm);
      await load();
    } catch (error) {
      setIssues(formIssues(error, inNewCa(cas.length)));
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  const remove = async (ca: TrustedCa) => {
    const yes = await ask({ title: `Stop trusting ${ca.name}?`, action: `Remove ${ca.name}`, danger: true, body: <p>Peers and clients whose certificates come from {ca.subject ?? ca.name} can no longer connect, sites authenticated by them included.</p> });
    if (!yes) return;
    await api('DELETE', `/trusted-cas/${encodeURIComponent(ca.name)}`).catch((error: unknown) => setMessage({ text: describe(error), kind: 'error' }));
    await load();
  };
  const errors = issues.errors;
  return (
    <form class="card" onSubmit={add} aria-label="trusted CAs">
      <h3>Trusted CAs</h3>
      <p class="hint">Peers may also prove themselves with certificates from these CAs: another gateway's CA for a site authenticated by certificate. Compare the fingerprint with the one its Certificates page shows before you trust it. <button type="button" class="link" name="download-ca" onClick={() => download('GET', '/certificates/ca')}>Download this gateway's CA</button> for the other gateway.</p>
      <Message text={message?.text} kind={message?.kind} />
      {dialog}
      {cas.length ? (
        <table>
          <tbody>
            {cas.map((ca) => (
              <tr key={ca.name} data-trusted-ca={ca.name}>
                <td>{ca.name}</td><td>{ca.subject ?? '?'}{ca.notAfter ? `, until ${ca.notAfter.slice(0, 10)}` : ''}<br /><small>{ca.fingerprintSha256}</small></td>
                <td>revocation {ca.revocation ?? 'soft'}</td>
                <td><button type="button" class="danger" onClick={() => remove(ca)}>Remove</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p>None: only Postern's own CA.</p>}
      <Field label="Name" error={errors['name']}><input name="trusted-ca-name" value={form.name} onInput={set('name')} required /></Field>
      <Field label="CA certificate (PEM)" error={errors['certificate']}>
        <textarea name="trusted-ca-pem" rows={4} placeholder="-----BEGIN CERTIFICATE-----" value={form.certificate} onInput={set('certificate')} required />
        <input type="file" name="trusted-ca-file" accept=".pem,.crt,.cer" onChange={readFile} />
      </Field>
      <Field label="Revocation check of its certificates" error={errors['revocation']}>
        <select name="trusted-ca-revocation" value={form.revocation} onChange={set('revocation')}>
          <option value="soft">Refuse a revoked certificate when its CRL can be had</option>
          <option value="hard">Refuse also when its CRL cannot be had</option>
          <option value="off">Do not check (a CA that publishes no CRL)</option>
        </select>
      </Field>
      <Elsewhere issues={issues} />
      <button type="submit">Trust this CA</button>
    </form>
  );
}
