/**
 * The built-in CA: the CA and gateway certificates, client certificates as PKCS#12 downloads, revocation,
 * expiry warnings, and issuing again in one step what was made before certificates named their CRL.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, describe, download, fieldErrors } from '../api.ts';
import { useConfirm } from '../confirm.tsx';
import { Elsewhere, Field, Message, WarningBanner } from '../ui.tsx';
import { CertificateImportCard } from './certificate-import.tsx';
import { TrustedCasCard } from './trusted-cas.tsx';
import { useChange } from '../use-change.ts';

interface CertInfo {
  subject: string;
  notAfter: string;
  fingerprintSha256: string;
  sans?: Array<{ type: string; value: string }>;
}
interface ServerInfo extends CertInfo {
  imported?: boolean;
  crlUrls?: string[];
  reissueReasons?: string[];
}
interface Issued {
  name: string;
  serialHex: string;
  notAfter: string;
  revokedAt?: string;
  reissuedAs?: string;
  needsReissue?: boolean;
}
interface Expiry {
  role: string;
  subject: string;
  notAfter: string;
  daysLeft: number;
  warning: boolean;
  expired: boolean;
}
interface Info {
  ca: CertInfo;
  server: ServerInfo;
  clients: Issued[];
  publication?: { crl: string; caIssuers: string } | null;
  expiry?: Expiry[];
}

interface AcmeSettings {
  enabled: boolean;
  directoryUrl: string;
  email?: string;
  challenge: 'http-01' | 'tls-alpn-01';
}
interface AcmeStatus {
  running: boolean;
  ordering: boolean;
  certificate?: { names: string[]; notBefore: string; notAfter: string; issuer: string; usable: boolean };
  nextAttemptAt?: string;
  failures: number;
  lastError?: { message: string; at: string };
  lastIssuedAt?: string;
}
interface AcmeView {
  acme: AcmeSettings;
  names: string[];
  status: AcmeStatus | null;
}

const ACME_FIELDS: Record<string, string> = {
  'certificates.acme.enabled': 'enabled', 'certificates.acme.directoryUrl': 'directoryUrl', 'certificates.acme.email': 'email', 'certificates.acme.challenge': 'challenge',
};
const when = (iso: string): string => iso.slice(0, 16).replace('T', ' ');

/** A public certificate by ACME (issue 16): the settings, the certificate held, the next renewal, the last failure. */
function AcmeCard(props: { onChanged: () => Promise<void> }) {
  const [view, setView] = useState<AcmeView>();
  const [form, setForm] = useState({ enabled: false, directoryUrl: '', email: '', challenge: 'http-01' });
  const change = useChange((path) => ACME_FIELDS[path]);
  const load = async () => {
    const got = await api<AcmeView>('GET', '/certificates/acme');
    setView(got);
    setForm({ enabled: got.acme.enabled, directoryUrl: got.acme.directoryUrl, email: got.acme.email ?? '', challenge: got.acme.challenge });
  };
  useEffect(() => void load(), []);
  if (!view) return null;
  const save = (e: Event) => {
    e.preventDefault();
    void change.run(() => api('PUT', '/certificates/acme', form), form.enabled ? 'ACME saved: the certificate is ordered in the background' : 'ACME saved', async () => {
      await load();
      await props.onChanged();
    });
  };
  const { errors, warnings } = change.issues;
  const s = view.status;
  const held = s?.certificate;
  return (
    <form class="card" onSubmit={save} aria-label="public certificate (ACME)">
      <h3>Public certificate (ACME)</h3>
      <p class="hint">A certificate from a public CA (Let's Encrypt or another ACME CA) for {view.names.length ? view.names.join(', ') : 'the gateway\'s DNS names'}: clients then need no CA import. Renewed 30 days before it expires.</p>
      <Message text={change.message?.text} kind={change.message?.kind} />
      <WarningBanner issues={change.issues} />
      <dl data-testid="acme-status">
        <dt>Certificate</dt>
        <dd>{held ? <>{held.names.join(', ')} from {held.issuer}, {when(held.notBefore)} until {when(held.notAfter)}{held.usable ? ' (in use)' : ' (not in use: names changed or expired)'}</> : 'none yet'}</dd>
        <dt>{held?.usable ? 'Next renewal' : 'Next attempt'}</dt>
        <dd>{s?.running ? (s.ordering ? 'ordering now…' : s.nextAttemptAt ? when(s.nextAttemptAt) : '—') : 'off'}</dd>
        {s?.lastIssuedAt ? <><dt>Last issued</dt><dd>{when(s.lastIssuedAt)}</dd></> : null}
        {s?.lastError ? <><dt>Last error</dt><dd class="error" data-testid="acme-error">{when(s.lastError.at)}: {s.lastError.message}{s.failures > 1 ? ` (${s.failures} failures in a row)` : ''}</dd></> : null}
      </dl>
      <Field label="Use a public certificate" error={errors['enabled']} warning={warnings['enabled']}>
        <input name="acme-enabled" type="checkbox" checked={form.enabled} onChange={(e) => setForm({ ...form, enabled: e.currentTarget.checked })} />
      </Field>
      <Field label="Directory URL" error={errors['directoryUrl']} warning={warnings['directoryUrl']} hint="https:// only; Let's Encrypt: https://acme-v02.api.letsencrypt.org/directory">
        <input name="acme-directory" value={form.directoryUrl} onInput={(e) => setForm({ ...form, directoryUrl: e.currentTarget.value })} />
      </Field>
      <Field label="Contact e-mail" error={errors['email']} warning={warnings['email']} hint="The CA writes here about expiring certificates (optional)">
        <input name="acme-email" type="email" value={form.email} onInput={(e) => setForm({ ...form, email: e.currentTarget.value })} />
      </Field>
      <Field label="Challenge" error={errors['challenge']} warning={warnings['challenge']} hint="http-01: the CA fetches from port 80; tls-alpn-01: it connects to the SSTP port">
        <select name="acme-challenge" value={form.challenge} onChange={(e) => setForm({ ...form, challenge: e.currentTarget.value })}>
          <option value="http-01">http-01 (port 80)</option>
          <option value="tls-alpn-01">tls-alpn-01 (SSTP port)</option>
        </select>
      </Field>
      <Elsewhere issues={change.issues} />
      <button type="submit">Save</button>
    </form>
  );
}

export function CertificatesView() {
  const [info, setInfo] = useState<Info>();
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  const { ask, askText, dialog } = useConfirm();
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
    const yes = await ask({ title: `Revoke ${c.name}?`, action: `Revoke ${c.name}`, danger: true, body: <p>The certificate (serial {c.serialHex}) is refused from now on and listed in the CRL; the device using it can no longer connect. This cannot be undone: issue a new one instead.</p> });
    if (!yes) return;
    await api('POST', '/certificates/revoke', { serialHex: c.serialHex }).catch((error: unknown) => setMessage({ text: describe(error), kind: 'error' }));
    await load();
  };
  const reissueGateway = async () => {
    const yes = await ask({ title: 'Issue the gateway certificate again?', action: 'Issue it again', body: <p>Clients that pin its fingerprint need the new one; new IKEv2 and SSTP connections get it at once, sessions up stay.</p> });
    if (!yes) return;
    try {
      await api('POST', '/certificates/server/reissue');
      setMessage({ text: 'The gateway certificate was issued again', kind: 'ok' });
    } catch (error) {
      setMessage({ text: describe(error), kind: 'error' });
    }
    await load();
  };
  // A client's key was never kept: issuing again makes a new bundle, downloaded with a new password.
  const reissueClient = async (c: Issued) => {
    const bundlePassword = await askText({ title: `Issue ${c.name} again?`, action: 'Issue and download', body: <p>A new key and certificate for {c.name}, downloaded as a .p12 bundle protected by this password; the old certificate stays valid until you revoke it.</p>, field: { label: 'Bundle password', name: 'bundle-password', type: 'password', minLength: 8 } });
    if (!bundlePassword) return;
    try {
      const file = await download('POST', `/certificates/clients/${c.serialHex}/reissue`, { password: bundlePassword });
      setMessage({ text: `${file} downloaded: import it on the device; the old certificate stays valid until you revoke it`, kind: 'ok' });
    } catch (error) {
      setMessage({ text: describe(error), kind: 'error' });
    }
    await load();
  };
  if (!info) return <p>Loading…</p>;
  const reasons = info.server.reissueReasons ?? [];
  return (
    <section aria-label="certificates">
      <div class="card">
        <h2>Certificates</h2>
        <Message text={message?.text} kind={message?.kind} />
        {dialog}
        {(info.expiry ?? []).filter((e) => e.warning).map((e) => (
          <Message key={`${e.role}${e.subject}`} kind={e.expired ? 'error' : 'warn'} text={`${e.subject} (${e.role}) ${e.expired ? 'has expired' : `expires in ${e.daysLeft} days`}`} />
        ))}
        <dl>
          <dt>Certificate authority</dt><dd>{info.ca.subject}, until {info.ca.notAfter.slice(0, 10)}<br /><small>{info.ca.fingerprintSha256}</small></dd>
          <dt>Gateway certificate</dt><dd>{info.server.subject} ({(info.server.sans ?? []).map((s) => s.value).join(', ')}), until {info.server.notAfter.slice(0, 10)}{info.server.imported ? ' (imported)' : ''}<br /><small>CRL: {info.server.crlUrls?.length ? info.server.crlUrls.join(', ') : 'none named'}</small></dd>
          <dt>Published for clients</dt><dd>{info.publication ? <>{info.publication.crl}<br />{info.publication.caIssuers}</> : 'off (certificates name no CRL)'}</dd>
        </dl>
        {reasons.length ? <Message kind="warn" text={`The gateway certificate should be issued again: ${reasons.join(', ')}`} /> : null}
        {info.server.imported ? null : <button class={reasons.length ? '' : 'link'} onClick={reissueGateway}>Issue the gateway certificate again</button>}{' '}
        <button class="link" name="ca-download" onClick={() => download('GET', '/certificates/ca')}>Download the CA certificate</button>{' '}
        <button class="link" onClick={() => download('GET', '/certificates/crl')}>Download the CRL</button>
      </div>
      <AcmeCard onChanged={load} />
      <CertificateImportCard onImported={load} />
      <TrustedCasCard />
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
                <tr key={c.serialHex}>
                  <td>{c.name}</td><td><code>{c.serialHex.slice(0, 12)}…</code></td>
                  <td>{c.revokedAt ? `revoked ${c.revokedAt.slice(0, 10)}` : `until ${c.notAfter.slice(0, 10)}`}{c.reissuedAs ? ', issued again' : ''}{c.needsReissue ? ', names no CRL' : ''}</td>
                  <td>
                    {c.revokedAt || c.reissuedAs ? null : <button class={c.needsReissue ? '' : 'link'} onClick={() => reissueClient(c)}>Issue again</button>}{' '}
                    {c.revokedAt ? null : <button class="danger" onClick={() => revoke(c)}>Revoke</button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </section>
  );
}
