/**
 * The built-in CA: the CA and gateway certificates, client certificates as PKCS#12 downloads, revocation,
 * expiry warnings, and issuing again in one step what was made before certificates named their CRL.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, describe, download, fieldErrors } from '../api.ts';
import { Field, Message } from '../ui.tsx';

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

export function CertificatesView() {
  const [info, setInfo] = useState<Info>();
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
  const reissueGateway = async () => {
    if (!confirm('Issue the gateway certificate again? Clients that pin its fingerprint need the new one; new IKEv2 and SSTP connections get it at once, sessions up stay.')) return;
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
    const bundlePassword = prompt(`A password for ${c.name}'s new bundle (.p12)`);
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
