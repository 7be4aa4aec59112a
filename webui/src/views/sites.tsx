/** Site-to-site tunnels with their live state; add (IKEv2 with a PSK, or SSTP dialing another gateway; certificates through the API) and remove. */
import { useEffect, useState } from 'preact/hooks';
import { api, describe, formIssues, inItem, NO_ISSUES, type FormIssues } from '../api.ts';
import { Elsewhere, Field, Message, WarningBanner } from '../ui.tsx';

interface Site {
  name: string;
  protocol: string;
  remote: string;
  localSubnets: string[];
  remoteSubnets: string[];
  state: string;
  rxPackets: number;
  txPackets: number;
  enabled: boolean;
}

const list = (text: string) => text.split(/[\s,]+/).filter(Boolean);
const emptyForm = { protocol: 'ikev2', name: '', remote: '', local: '', remoteNets: '', psk: '', pfs: 'auto', username: '', password: '', fingerprint: '' };

/** The document for a new site: IKEv2 authenticates with the PSK, SSTP dials as a user of the other gateway. */
function siteDocument(form: typeof emptyForm) {
  const common = { name: form.name, remote: form.remote, localSubnets: list(form.local), remoteSubnets: list(form.remoteNets), auth: 'psk', initiate: true, enabled: true };
  if (form.protocol === 'sstp') return { ...common, protocol: 'sstp', username: form.username, password: form.password, ...(form.fingerprint ? { serverFingerprint: form.fingerprint.trim() } : {}) };
  return { ...common, protocol: 'ikev2', psk: form.psk, ...(form.pfs === 'auto' ? {} : { pfs: form.pfs }) };
}

export function SitesView() {
  const [sites, setSites] = useState<Site[]>([]);
  const [form, setForm] = useState(emptyForm);
  const [issues, setIssues] = useState<FormIssues>(NO_ISSUES);
  const errors = issues.errors;
  const warnings = issues.warnings;
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  const load = async () => setSites((await api<{ sites: Site[] }>('GET', '/sites')).sites);
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load().catch(() => undefined), 5000);
    return () => clearInterval(timer);
  }, []);
  const add = async (e: Event) => {
    e.preventDefault();
    setIssues(NO_ISSUES);
    // The new site is appended: its fields are sites[<count>].…, e.g. sites[2].remoteSubnets[0].
    const place = inItem('sites', sites.length);
    try {
      const answer = await api('POST', '/sites', siteDocument(form));
      // The form is emptied: its warnings stay in the banner only.
      setIssues({ ...formIssues(answer, place), warnings: {} });
      setMessage({ text: `Site ${form.name} added`, kind: 'ok' });
      setForm(emptyForm);
      await load();
    } catch (error) {
      setIssues(formIssues(error, place));
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  const remove = async (s: Site) => {
    if (!confirm(`Remove the site ${s.name}?`)) return;
    await api('DELETE', `/sites/${encodeURIComponent(s.name)}`).catch((error: unknown) => setMessage({ text: describe(error), kind: 'error' }));
    await load();
  };
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  const sstp = form.protocol === 'sstp';
  return (
    <section aria-label="sites">
      <div class="card">
        <h2>Site-to-site tunnels</h2>
        <Message text={message?.text} kind={message?.kind} />
        <WarningBanner issues={issues} />
        {sites.length === 0 ? <p>No sites yet.</p> : (
          <table>
            <thead><tr><th>Site</th><th>Peer</th><th>Networks</th><th>State</th><th>Packets in / out</th><th /></tr></thead>
            <tbody>
              {sites.map((s) => (
                <tr key={s.name} data-site={s.name}>
                  <td>{s.name} <small>{s.protocol}</small></td><td>{s.remote}</td><td>{s.localSubnets.join(', ')} ⇄ {s.remoteSubnets.join(', ')}</td>
                  <td class={`state ${s.state === 'up' ? 'running' : 'unavailable'}`}>{s.state}</td><td>{s.rxPackets} / {s.txPackets}</td>
                  <td><button class="danger" onClick={() => remove(s)}>Remove</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <form class="card" onSubmit={add} aria-label="add a site">
        <h3>Add a site</h3>
        <Field label="Protocol"><select name="site-protocol" value={form.protocol} onChange={set('protocol')}><option value="ikev2">IKEv2 / IPsec (pre-shared key)</option><option value="sstp">SSTP (dial another gateway on 443)</option></select></Field>
        <Field label="Name" error={errors['name']}><input name="site-name" value={form.name} onInput={set('name')} required /></Field>
        <Field label="Peer address" error={errors['remote']} warning={warnings['remote']}><input name="site-remote" value={form.remote} onInput={set('remote')} required /></Field>
        <Field label="Local networks" error={errors['localSubnets']} warning={warnings['localSubnets']}><input name="site-local" placeholder="192.168.1.0/24" value={form.local} onInput={set('local')} required /></Field>
        <Field label="Remote networks" error={errors['remoteSubnets']} warning={warnings['remoteSubnets']}><input name="site-remote-nets" placeholder="10.20.0.0/16" value={form.remoteNets} onInput={set('remoteNets')} required /></Field>
        {sstp ? (
          <>
            <Field label="User name on the peer" error={errors['username']}><input name="site-username" value={form.username} onInput={set('username')} required /></Field>
            <Field label="Password" error={errors['password']}><input name="site-password" type="password" value={form.password} onInput={set('password')} required /></Field>
            <Field label="Peer certificate SHA-256 fingerprint (optional; otherwise the system and Postern CAs are trusted)" error={errors['serverFingerprint']}><input name="site-fingerprint" placeholder="AB:CD:…" value={form.fingerprint} onInput={set('fingerprint')} /></Field>
          </>
        ) : (
          <>
            <Field label="Pre-shared key" error={errors['psk']}><input name="site-psk" type="password" value={form.psk} onInput={set('psk')} required /></Field>
            <Field label="Perfect forward secrecy on rekeys" error={errors['pfs']}>
              <select name="site-pfs" value={form.pfs} onChange={set('pfs')}>
                <option value="auto">Offer it, the peer decides (works with peers that require it)</option>
                <option value="on">Required</option>
                <option value="off">Never</option>
              </select>
            </Field>
          </>
        )}
        <Elsewhere issues={issues} />
        <button type="submit">Add</button>
      </form>
    </section>
  );
}
