/** Site-to-site tunnels with their live state; add (IKEv2 and GRE over IPsec with a PSK or certificates, IKEv1, SSTP, L2TP, PPTP dialing another gateway) and remove. */
import { useEffect, useState } from 'preact/hooks';
import { api, describe, formIssues, inItem, NO_ISSUES, type FormIssues } from '../api.ts';
import { useConfirm } from '../confirm.tsx';
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
  /** The last failure in the connection doctor's words (issue 17). */
  lastError?: { time: string; cause: string; explanation: string; fix: string; detail: string; problemId?: number; count?: number };
  /** While down: when the site is dialed again. */
  nextRetry?: string;
  /** State 'unavailable': why the site does not run (its protocol is not in this build). */
  reason?: string;
  /** GRE sites (issue 25): the interface's settings, and the running site's counters. */
  gre?: { address: string; address6?: string; peerAddress?: string; key?: number; checksum?: boolean; sequence?: boolean; keepaliveSeconds?: number; mtu?: number; ipsec?: boolean };
  counters?: Record<string, number>;
}

interface TestStep {
  id: string;
  label: string;
  outcome: 'ok' | 'failed' | 'not-reached' | 'skipped';
  detail?: string;
}

interface TestResult {
  site: string;
  protocol: string;
  available: boolean;
  reason?: string;
  ok: boolean;
  steps: TestStep[];
  problem?: { cause: string; explanation: string; fix: string; detail: string };
  durationMs: number;
}

const MARK: Record<TestStep['outcome'], string> = { ok: '✔', failed: '✘', 'not-reached': '·', skipped: '–' };

/** "in 42 s", "in 3 min" (the retry is a few seconds to two minutes away). */
const inTime = (iso: string): string => {
  const s = Math.max(0, Math.round((Date.parse(iso) - Date.now()) / 1000));
  return s < 90 ? `in ${s} s` : `in ${Math.round(s / 60)} min`;
};

/** Each step of a Test with its outcome; a failure with what it means and the fix. */
function TestReport(props: { result: TestResult }) {
  const r = props.result;
  if (!r.available) return <p class="message warn" role="status" data-test-result={r.site}>Test of {r.site}: {r.reason ?? 'not available in this build'}.</p>;
  return (
    <div class={`message ${r.ok ? 'ok' : 'error'} test-report`} role="status" aria-label={`test of ${r.site}`} data-test-result={r.site}>
      <strong>Test of {r.site} ({r.protocol}): {r.ok ? 'the tunnel works' : 'failed'}</strong> <small>{(r.durationMs / 1000).toFixed(1)} s</small>
      <ol class="steps">
        {r.steps.map((step) => (
          <li key={step.id} class={`step ${step.outcome}`} data-step={step.id} data-outcome={step.outcome}>
            <span aria-hidden="true">{MARK[step.outcome]}</span> {step.label}: <b>{step.outcome.replace('-', ' ')}</b>{step.detail ? <> — {step.detail}</> : null}
          </li>
        ))}
      </ol>
      {r.problem ? <p class="why"><b>Why:</b> {r.problem.explanation} <b>Fix:</b> {r.problem.fix}</p> : null}
    </div>
  );
}

/** Which IKE version a site speaks, as a technician reads it (issue 19). */
const PROTOCOL_LABELS: Record<string, string> = { ikev2: 'IKEv2', ikev1: 'IKEv1', sstp: 'SSTP', gre: 'GRE', l2tp: 'L2TP', pptp: 'PPTP' };

const list = (text: string) => text.split(/[\s,]+/).filter(Boolean);
const emptyForm = { protocol: 'ikev2', name: '', remote: '', local: '', remoteNets: '', psk: '', pfs: 'auto', username: '', password: '', fingerprint: '', aggressive: false, greAddress: '', greAddress6: '', greKey: '', greKeepalive: '', greChecksum: false, greSequence: false, greIpsec: false, greDials: true, localId: '', remoteId: '', auth: 'psk' };

/** inItem for a new site, except that a GRE site's own fields keep their name (gre.key, not gre), for their fields. */
const inNewSite = (index: number) => (path: string): string | undefined => {
  const gre = new RegExp(`^sites\\[${String(index)}\\]\\.gre\\.([A-Za-z0-9]+)`).exec(path);
  return gre ? `gre.${gre[1] ?? ''}` : inItem('sites', index)(path);
};

/** As the gateway names a GRE site's interface (firmware/gre/gre-site-settings.ts): 15 bytes at most. */
const greInterface = (site: string) => `gre-${site.replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 15);

/** A GRE site's framing and keepalive, one line for the list. */
function greSummary(s: Site): string {
  const g = s.gre;
  if (!g) return '';
  const keepalive = g.keepaliveSeconds === 0 ? 'no keepalives' : `keepalive ${String(g.keepaliveSeconds ?? 10)} s`;
  // GRE over IPsec: whether its transport SA is up now (the running site's ipsecUp counter).
  const ipsec = g.ipsec ? [`IPsec ${s.counters?.['ipsecUp'] === 1 ? 'up' : 'down'}`] : ['not encrypted'];
  return [greInterface(s.name), g.address, ...(g.address6 ? [g.address6] : []), g.key === undefined ? 'no key' : `key ${String(g.key)}`, keepalive, ...(g.checksum ? ['checksums'] : []), ...(g.sequence ? ['sequence numbers'] : []), ...ipsec].join(' · ');
}

/** What a running GRE site dropped, by cause (only the causes that happened). */
function greDrops(c: Record<string, number> | undefined): string {
  if (!c) return '';
  const causes: Array<[string, string]> = [['badKey', 'wrong key'], ['badChecksum', 'bad checksum'], ['outOfOrder', 'out of order'], ['otherSource', 'from other addresses']];
  return causes.filter(([k]) => (c[k] ?? 0) > 0).map(([k, label]) => `${label} ${String(c[k])}`).join(', ');
}

/** Identities: only when given (the peer's address and ours otherwise); sites behind one NAT need a remote ID each. */
const ids = (form: typeof emptyForm) => ({ ...(form.remoteId.trim() ? { remoteId: form.remoteId.trim() } : {}), ...(form.localId.trim() ? { localId: form.localId.trim() } : {}) });

/** IKEv2 (a site, or GRE over IPsec): the PSK, or this gateway's certificate and the peer's from a trusted CA. */
const ikeAuth = (form: typeof emptyForm) => (form.auth === 'certificate' ? { auth: 'certificate', ...ids(form) } : { auth: 'psk', psk: form.psk, ...ids(form) });

/** The document for a new site: IKEv2 authenticates with the PSK or certificates, SSTP dials as a user of the other gateway. */
function siteDocument(form: typeof emptyForm) {
  const common = { name: form.name, remote: form.remote, localSubnets: list(form.local), remoteSubnets: list(form.remoteNets), auth: 'psk', initiate: true, enabled: true };
  if (form.protocol === 'sstp') return { ...common, protocol: 'sstp', username: form.username, password: form.password, ...(form.fingerprint ? { serverFingerprint: form.fingerprint.trim() } : {}) };
  // L2TP/IPsec (issue 20): IPsec with the peer's L2TP key, then a login as a user of the other gateway.
  if (form.protocol === 'l2tp') return { ...common, protocol: 'l2tp', psk: form.psk, username: form.username, password: form.password };
  // PPTP (issue 22): a login as a user of the other gateway (MS-CHAPv2, MPPE-128 required); insecure.
  if (form.protocol === 'pptp') return { ...common, protocol: 'pptp', username: form.username, password: form.password };
  // GRE (issue 25): an interface gre-<name> with this end's tunnel address; the key must match the peer's.
  if (form.protocol === 'gre') {
    const gre = {
      address: form.greAddress.trim(), ...(form.greAddress6.trim() ? { address6: form.greAddress6.trim() } : {}), ...(form.greKey.trim() ? { key: Number(form.greKey.trim()) } : {}),
      ...(form.greKeepalive.trim() ? { keepaliveSeconds: Number(form.greKeepalive.trim()) } : {}),
      ...(form.greChecksum ? { checksum: true } : {}), ...(form.greSequence ? { sequence: true } : {}), ...(form.greIpsec ? { ipsec: true } : {}),
    };
    // GRE over IPsec: an IKEv2 transport SA keyed with the PSK or certificates; one side dials it, the other answers.
    return { ...common, protocol: 'gre', gre, ...(form.greIpsec ? { ...ikeAuth(form), initiate: form.greDials } : {}) };
  }
  const ikev1 = form.protocol === 'ikev1';
  return { ...common, protocol: ikev1 ? 'ikev1' : 'ikev2', ...(ikev1 ? { psk: form.psk, ...ids(form) } : ikeAuth(form)), ...(form.pfs === 'auto' ? {} : { pfs: form.pfs }), ...(ikev1 && form.aggressive ? { aggressive: true } : {}) };
}

export function SitesView() {
  const [sites, setSites] = useState<Site[]>([]);
  const [form, setForm] = useState(emptyForm);
  const [issues, setIssues] = useState<FormIssues>(NO_ISSUES);
  const errors = issues.errors;
  const warnings = issues.warnings;
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' }>();
  const [testing, setTesting] = useState<string>();
  const [result, setResult] = useState<TestResult>();
  const { ask, dialog } = useConfirm();
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
    const place = inNewSite(sites.length);
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
    const yes = await ask({ title: `Remove the site ${s.name}?`, action: `Remove ${s.name}`, danger: true, body: <p>The tunnel to {s.remote} goes down now and is no longer dialed or answered; {s.remoteSubnets.join(', ')} can no longer be reached through it. History keeps the site for a rollback.</p> });
    if (!yes) return;
    await api('DELETE', `/sites/${encodeURIComponent(s.name)}`).catch((error: unknown) => setMessage({ text: describe(error), kind: 'error' }));
    await load();
  };
  const test = async (s: Site) => {
    setTesting(s.name);
    setResult(undefined);
    try {
      setResult(await api<TestResult>('POST', `/sites/${encodeURIComponent(s.name)}/test`));
      await load();
    } catch (error) {
      setMessage({ text: describe(error), kind: 'error' });
    } finally {
      setTesting(undefined);
    }
  };
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement | HTMLSelectElement).value });
  const sstp = form.protocol === 'sstp';
  const l2tp = form.protocol === 'l2tp';
  const pptp = form.protocol === 'pptp';
  const gre = form.protocol === 'gre';
  const byCertificate = form.auth === 'certificate';
  // IKEv2 and GRE over IPsec: a PSK, or certificates (this gateway's, and the peer's from Postern's CA or a trusted one).
  const ikeAuthFields = (same: string) => (
    <>
      <Field label="Authentication" error={errors['auth']}>
        <select name="site-auth" value={form.auth} onChange={set('auth')}>
          <option value="psk">Pre-shared key</option>
          <option value="certificate">Certificates (this gateway's; the peer's from Postern's CA or a trusted CA)</option>
        </select>
      </Field>
      {byCertificate
        ? <p class="hint" data-testid="site-cert-hint">The peer proves itself with its certificate, which must come from this gateway's CA or one under Certificates → Trusted CAs; give its name as the remote ID.</p>
        : <Field label={same ? `Pre-shared key (${same})` : 'Pre-shared key'} error={errors['psk']}><input name="site-psk" type="password" value={form.psk} onInput={set('psk')} required /></Field>}
    </>
  );
  const idFields = () => (
    <>
      <Field label={byCertificate ? "Remote ID (the name in the peer's certificate)" : "Remote ID (optional: the peer's address when empty; give one to each site behind a shared NAT)"} error={errors['remoteId']}><input name="site-remote-id" placeholder="branch.example.com" value={form.remoteId} onInput={set('remoteId')} required={byCertificate} /></Field>
      <Field label={byCertificate ? "Local ID (optional: this gateway's certificate name when empty)" : 'Local ID (optional: the WAN address when empty)'} error={errors['localId']}><input name="site-local-id" placeholder="hq.example.com" value={form.localId} onInput={set('localId')} /></Field>
    </>
  );
  return (
    <section aria-label="sites">
      <div class="card">
        <h2>Site-to-site tunnels</h2>
        <Message text={message?.text} kind={message?.kind} />
        <WarningBanner issues={issues} />
        {result ? <TestReport result={result} /> : null}
        {dialog}
        {sites.length === 0 ? <p>No sites yet.</p> : (
          <table>
            <thead><tr><th>Site</th><th>Peer</th><th>Networks</th><th>State</th><th>Packets in / out</th><th /></tr></thead>
            <tbody>
              {sites.map((s) => (
                <tr key={s.name} data-site={s.name}>
                  <td>{s.name} <small data-protocol={s.protocol}>{PROTOCOL_LABELS[s.protocol] ?? s.protocol}</small>{s.gre ? <small class="gre-summary" data-gre-summary>{greSummary(s)}</small> : null}</td><td>{s.remote}</td><td>{s.localSubnets.join(', ')} ⇄ {s.remoteSubnets.join(', ')}</td>
                  <td data-label="state">
                    <span class={`state ${s.state === 'up' || s.state === 'established' ? 'running' : s.state === 'disabled' ? '' : 'unavailable'}`}>{s.state}</span>
                    {s.lastError && s.state !== 'up' && s.state !== 'established' ? (
                      <div class="site-error" data-last-error={s.lastError.cause}>
                        <small>Last error {new Date(s.lastError.time).toLocaleTimeString()}: {s.lastError.explanation}</small>
                        <details><summary>Fix and detail</summary><small>{s.lastError.fix} <code>{s.lastError.detail}</code></small></details>
                        {s.lastError.problemId !== undefined ? (
                          <a class="problem-link" href={`#problems?site=${encodeURIComponent(s.name)}&problem=${s.lastError.problemId}`}>
                            In Connection problems{s.lastError.count && s.lastError.count > 1 ? ` (${s.lastError.count} times)` : ''}
                          </a>
                        ) : null}
                      </div>
                    ) : null}
                    {s.reason ? <small class="reason" data-reason={s.state}>{s.reason}</small> : null}
                    {greDrops(s.counters) ? <small class="reason" data-gre-drops>Dropped: {greDrops(s.counters)}</small> : null}
                    {s.nextRetry ? <small class="retry" data-next-retry={s.nextRetry}>Next try {inTime(s.nextRetry)} ({new Date(s.nextRetry).toLocaleTimeString()})</small> : null}
                  </td>
                  <td>{s.rxPackets} / {s.txPackets}</td>
                  <td class="actions">
                    <button type="button" name="site-test" onClick={() => test(s)} disabled={testing !== undefined} aria-label={`test ${s.name}`}>{testing === s.name ? 'Testing…' : 'Test'}</button>{' '}
                    <button class="danger" onClick={() => remove(s)}>Remove</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <form class="card" onSubmit={add} aria-label="add a site">
        <h3>Add a site</h3>
        <Field label="Protocol"><select name="site-protocol" value={form.protocol} onChange={set('protocol')}><option value="ikev2">IKEv2 / IPsec (pre-shared key or certificates)</option><option value="ikev1">IKEv1 / IPsec (older peers only; pre-shared key)</option><option value="sstp">SSTP (dial another gateway on 443)</option><option value="l2tp">L2TP/IPsec (dial another gateway's L2TP: its pre-shared key, a user and password there)</option><option value="gre">GRE (an interface for routing; plain, or over IPsec)</option><option value="pptp">PPTP (legacy, insecure: dial another gateway's PPTP as a user there)</option></select></Field>
        <Field label="Name" error={errors['name']}><input name="site-name" value={form.name} onInput={set('name')} required /></Field>
        <Field label="Peer address" error={errors['remote']} warning={warnings['remote']}><input name="site-remote" value={form.remote} onInput={set('remote')} required /></Field>
        <Field label="Local networks" error={errors['localSubnets']} warning={warnings['localSubnets']}><input name="site-local" placeholder="192.168.1.0/24" value={form.local} onInput={set('local')} required={!gre} /></Field>
        <Field label="Remote networks" error={errors['remoteSubnets']} warning={warnings['remoteSubnets']}><input name="site-remote-nets" placeholder="10.20.0.0/16" value={form.remoteNets} onInput={set('remoteNets')} required={!gre} /></Field>
        {gre ? (
          <>
            <Field label={`Tunnel address of this end (interface gre-${form.name || '<name>'})`} error={errors['gre.address'] ?? errors['gre']} warning={warnings['protocol']}><input name="site-gre-address" placeholder="10.255.0.1/30" value={form.greAddress} onInput={set('greAddress')} required /></Field>
            <Field label="IPv6 tunnel address of this end (optional)" error={errors['gre.address6']}><input name="site-gre-address6" placeholder="fd00:255::1/64" value={form.greAddress6} onInput={set('greAddress6')} /></Field>
            <Field label="GRE key (optional; the same on both ends)" error={errors['gre.key']}><input name="site-gre-key" inputMode="numeric" value={form.greKey} onInput={set('greKey')} /></Field>
            <Field label="Keepalive interval in seconds (10 when empty; 0: none, the site counts as up)" error={errors['gre.keepaliveSeconds']}><input name="site-gre-keepalive" inputMode="numeric" placeholder="10" value={form.greKeepalive} onInput={set('greKeepalive')} /></Field>
            <Field label="Checksums (both ends must agree)" error={errors['gre.checksum']}>
              <label class="switch"><input type="checkbox" name="site-gre-checksum" checked={form.greChecksum} onChange={(e) => setForm({ ...form, greChecksum: e.currentTarget.checked })} /> Sent, and required on what arrives</label>
            </Field>
            <Field label="Sequence numbers (both ends must agree)" error={errors['gre.sequence']}>
              <label class="switch"><input type="checkbox" name="site-gre-sequence" checked={form.greSequence} onChange={(e) => setForm({ ...form, greSequence: e.currentTarget.checked })} /> Sent, and late or repeated packets dropped</label>
            </Field>
            <Field label="GRE over IPsec (both ends must agree)" error={errors['gre.ipsec']}>
              <label class="switch"><input type="checkbox" name="site-gre-ipsec" checked={form.greIpsec} onChange={(e) => setForm({ ...form, greIpsec: e.currentTarget.checked })} /> Encrypted by an IKEv2 transport SA for GRE only; nothing leaves in plain text while it is down</label>
            </Field>
            {form.greIpsec ? (
              <>
                {ikeAuthFields('the same on both ends')}
                {idFields()}
                <Field label="Who dials the IPsec SA" error={errors['initiate']}>
                  <label class="switch"><input type="checkbox" name="site-gre-dials" checked={form.greDials} onChange={(e) => setForm({ ...form, greDials: e.currentTarget.checked })} /> This gateway (untick on the other end: it answers)</label>
                </Field>
              </>
            ) : null}
          </>
        ) : l2tp ? (
          <>
            <Field label="The peer's L2TP pre-shared key" error={errors['psk']}><input name="site-psk" type="password" value={form.psk} onInput={set('psk')} required /></Field>
            <Field label="User name on the peer" error={errors['username']}><input name="site-username" value={form.username} onInput={set('username')} required /></Field>
            <Field label="Password" error={errors['password']}><input name="site-password" type="password" value={form.password} onInput={set('password')} required /></Field>
          </>
        ) : pptp ? (
          <>
            <p class="warning" role="alert" data-testid="pptp-insecure">PPTP is insecure: its MS-CHAPv2 login can be broken offline with a DES search, and the MPPE encryption keys follow from it. Use it only when the other end can do nothing better (IKEv2, SSTP or L2TP/IPsec).</p>
            <Field label="User name on the peer" error={errors['username']}><input name="site-username" value={form.username} onInput={set('username')} required /></Field>
            <Field label="Password" error={errors['password']}><input name="site-password" type="password" value={form.password} onInput={set('password')} required /></Field>
          </>
        ) : sstp ? (
          <>
            <Field label="User name on the peer" error={errors['username']}><input name="site-username" value={form.username} onInput={set('username')} required /></Field>
            <Field label="Password" error={errors['password']}><input name="site-password" type="password" value={form.password} onInput={set('password')} required /></Field>
            <Field label="Peer certificate SHA-256 fingerprint (optional; otherwise the system and Postern CAs are trusted)" error={errors['serverFingerprint']}><input name="site-fingerprint" placeholder="AB:CD:…" value={form.fingerprint} onInput={set('fingerprint')} /></Field>
          </>
        ) : (
          <>
            {form.protocol === 'ikev1' ? <Field label="Pre-shared key" error={errors['psk']}><input name="site-psk" type="password" value={form.psk} onInput={set('psk')} required /></Field> : ikeAuthFields('')}
            <Field label="Perfect forward secrecy on rekeys" error={errors['pfs']}>
              <select name="site-pfs" value={form.pfs} onChange={set('pfs')}>
                <option value="auto">Offer it, the peer decides (works with peers that require it)</option>
                <option value="on">Required</option>
                <option value="off">Never</option>
              </select>
            </Field>
            {idFields()}
            {form.protocol === 'ikev1' ? (
              <Field label="Aggressive Mode" error={errors['aggressive']} warning={warnings['aggressive']}>
                <label class="switch"><input type="checkbox" name="site-aggressive" checked={form.aggressive} onChange={(e) => setForm({ ...form, aggressive: e.currentTarget.checked })} /> Only for peers that accept nothing else: it exposes the hash of the pre-shared key to offline cracking</label>
              </Field>
            ) : null}
          </>
        )}
        <Elsewhere issues={issues} />
        <button type="submit">Add</button>
      </form>
    </section>
  );
}
