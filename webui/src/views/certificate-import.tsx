/**
 * An outside certificate imported (issue 17): the gateway certificate from a public CA, or a company
 * CA to sign with, as a PKCS#12 bundle with its password or as PEM certificate and key. Replacing
 * the gateway's is asked first: clients that trusted only Postern's CA may stop trusting it.
 */
import { useState } from 'preact/hooks';
import { api, describe, fieldErrors } from '../api.ts';
import { useConfirm } from '../confirm.tsx';
import { Field, Message } from '../ui.tsx';

type Target = 'server' | 'ca';

const emptyForm = { target: 'server' as Target, password: '', certificatePem: '', keyPem: '', chainPem: '' };

/** The file's bytes as base64, for the API's `pkcs12`. */
async function base64Of(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

export function CertificateImportCard(props: { onImported: () => Promise<void> }) {
  const [form, setForm] = useState(emptyForm);
  const [bundle, setBundle] = useState<File>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  const { ask, dialog } = useConfirm();
  const set = (key: keyof typeof emptyForm) => (e: Event) => setForm({ ...form, [key]: (e.currentTarget as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setMessage(undefined);
    const yes = await ask(form.target === 'server'
      ? { title: 'Replace the gateway certificate?', action: 'Import and use it', danger: true, body: <p>IKEv2 and SSTP present the imported certificate to new connections at once. Clients that trust only this gateway's own CA must trust the new certificate's CA, and every profile should be downloaded again.</p> }
      : { title: 'Sign with another CA?', action: 'Import the CA', danger: true, body: <p>Certificates issued from now on come from the imported CA; IKEv2 and SSTP trust it from their next start. Certificates issued before stay valid.</p> });
    if (!yes) return;
    try {
      const source = bundle
        ? { pkcs12: await base64Of(bundle), password: form.password }
        : { certificatePem: form.certificatePem, keyPem: form.keyPem, ...(form.chainPem.trim() ? { chainPem: form.chainPem } : {}) };
      const r = await api<{ subject: string; notAfter: string; note?: string }>('POST', '/certificates/import', { target: form.target, ...source });
      setMessage({ text: `Imported ${r.subject.replace(/\n/g, ', ')}, valid until ${r.notAfter}${r.note ? `: ${r.note}` : ''}`, kind: 'ok' });
      setForm(emptyForm);
      setBundle(undefined);
      await props.onImported();
    } catch (error) {
      setErrors(fieldErrors(error));
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  return (
    <form class="card" onSubmit={submit} aria-label="import a certificate">
      {dialog}
      <h3>Import a certificate</h3>
      <p class="hint">A certificate from a public CA for the gateway (clients then need no CA import), or your company's CA to issue certificates with. Either a PKCS#12 bundle (.p12, .pfx) with its password, or the certificate and its private key in PEM.</p>
      <Message text={message?.text} kind={message?.kind} />
      <Field label="What it is" error={errors['target']}>
        <select name="import-target" value={form.target} onChange={set('target')}>
          <option value="server">the gateway certificate</option>
          <option value="ca">a CA to issue certificates with</option>
        </select>
      </Field>
      <Field label="PKCS#12 bundle (.p12, .pfx)" error={errors['pkcs12']}>
        <input name="import-pkcs12" type="file" accept=".p12,.pfx,application/x-pkcs12" onChange={(e) => setBundle(e.currentTarget.files?.[0])} />
      </Field>
      {bundle ? (
        <Field label="Bundle password" error={errors['password']}>
          <input name="import-password" type="password" autocomplete="off" value={form.password} onInput={set('password')} />
        </Field>
      ) : (
        <>
          <Field label="Certificate (PEM)" error={errors['certificatePem']}>
            <textarea name="import-certificate" rows={3} placeholder="-----BEGIN CERTIFICATE-----" value={form.certificatePem} onInput={set('certificatePem')} />
          </Field>
          <Field label="Private key (PEM)" error={errors['keyPem']}>
            <textarea name="import-key" rows={3} placeholder="-----BEGIN PRIVATE KEY-----" value={form.keyPem} onInput={set('keyPem')} />
          </Field>
          <Field label="Intermediate certificates (PEM, optional)" error={errors['chainPem']}>
            <textarea name="import-chain" rows={2} value={form.chainPem} onInput={set('chainPem')} />
          </Field>
        </>
      )}
      <button type="submit">Import</button>
    </form>
  );
}
