/**
 * The box's own services (issue 17): the DNS servers it uses, its time zone and NTP servers, and HTTPS
 * for this web UI. Clients' DNS servers are set per address pool (the pools card).
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { Elsewhere, Field, Message, WarningBanner } from '../ui.tsx';
import { entryNotes, splitList, useChange } from '../use-change.ts';
import { useSafeApply } from '../safe-mode.tsx';
import { unlessEdited } from '../keep-edits.ts';

const listField = (list: string, key: string) => (path: string) => (path === list || path.startsWith(`${list}[`) ? key : undefined);

export function DnsCard() {
  const [text, setText] = useState<string>();
  const change = useChange(listField('system.dns.servers', 'servers'));
  const load = async () => setText((await api<{ servers: string[] }>('GET', '/dns')).servers.join(', '));
  useEffect(() => void load(), []);
  if (text === undefined) return null;
  const servers = splitList(text);
  const save = (e: Event) => {
    e.preventDefault();
    void change.run(() => api('PUT', '/dns', { servers }), 'DNS servers saved', load);
  };
  const error = entryNotes(change.listed.errors, 'system.dns.servers', servers).join('; ') || change.issues.errors['servers'];
  return (
    <form class="card" onSubmit={save} aria-label="dns">
      <h2>DNS</h2>
      <Message text={change.message?.text} kind={change.message?.kind} />
      <WarningBanner issues={change.issues} />
      <Field label="DNS servers the gateway uses" error={error} hint="Addresses, separated by commas, e.g. 1.1.1.1, 9.9.9.9. The DNS servers handed to VPN clients are set with each address pool below.">
        <input name="dns-servers" value={text} onInput={(e) => setText(e.currentTarget.value)} />
      </Field>
      <Elsewhere issues={change.issues} />
      <button type="submit">Save</button>
    </form>
  );
}

const TIME_FIELDS = (path: string) => (path === 'system.timezone' ? 'timezone' : listField('system.ntp.servers', 'ntp')(path));

/** Every zone the browser knows, for the datalist (the gateway checks the name itself). */
const zones = (): string[] => {
  try {
    return (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf('timeZone');
  } catch {
    return [];
  }
};

/** Where the gateway's time subsystem put the settings (GET /time `applied`). */
interface TimeApplied { to: 'system' | 'process-only' | 'error'; detail?: string }

const appliedText = (a: TimeApplied) =>
  a.to === 'system' ? 'applied to the system' : a.to === 'process-only' ? 'this process only (Postern does not own this system)' : `not applied to the system: ${a.detail ?? 'unknown error'}`;

export function TimeCard() {
  const [form, setForm] = useState<{ timezone: string; ntp: string; now: number; applied?: TimeApplied }>();
  const change = useChange(TIME_FIELDS);
  const load = async (sent?: typeof form) => {
    const got = await api<{ timezone: string; ntpServers: string[]; now: number; applied?: TimeApplied }>('GET', '/time');
    setForm(unlessEdited(sent, { timezone: got.timezone, ntp: got.ntpServers.join(', '), now: got.now, ...(got.applied ? { applied: got.applied } : {}) }));
  };
  useEffect(() => void load(), []);
  if (!form) return null;
  const ntp = splitList(form.ntp);
  const save = (e: Event) => {
    e.preventDefault();
    void change.run(() => api('PUT', '/time', { timezone: form.timezone, ntpServers: ntp }), 'Time settings saved', () => load(form));
  };
  const { errors } = change.issues;
  let clock = '';
  try {
    clock = new Date(form.now).toLocaleString(undefined, { timeZone: form.timezone, timeZoneName: 'short' });
  } catch {
    clock = new Date(form.now).toISOString();
  }
  return (
    <form class="card" onSubmit={save} aria-label="time">
      <h2>Time</h2>
      <p class="hint">The gateway's clock: <span data-testid="gateway-clock">{clock}</span></p>
      {form.applied ? <p class={form.applied.to === 'error' ? 'error' : 'hint'} data-testid="time-applied">Settings: {appliedText(form.applied)}</p> : null}
      <Message text={change.message?.text} kind={change.message?.kind} />
      <WarningBanner issues={change.issues} />
      <Field label="Time zone" error={errors['timezone']} hint="A zone name like Europe/Berlin: the gateway's local time">
        <input name="timezone" list="time-zones" value={form.timezone} onInput={(e) => setForm({ ...form, timezone: e.currentTarget.value })} />
      </Field>
      <datalist id="time-zones">{zones().map((z) => <option key={z} value={z} />)}</datalist>
      <Field label="NTP servers" error={entryNotes(change.listed.errors, 'system.ntp.servers', ntp).join('; ') || errors['ntp']} hint="Names or addresses separated by commas, e.g. pool.ntp.org; empty: the system's own">
        <input name="ntp-servers" value={form.ntp} onInput={(e) => setForm({ ...form, ntp: e.currentTarget.value })} />
      </Field>
      <Elsewhere issues={change.issues} />
      <button type="submit">Save</button>
    </form>
  );
}

export function ManagementCard() {
  const [https, setHttps] = useState<boolean>();
  const [hsts, setHsts] = useState(false);
  const change = useChange((path) => (path === 'system.management.https' ? 'https' : path === 'system.management.hsts' ? 'hsts' : undefined));
  const safe = useSafeApply();
  const load = async () => {
    const m = await api<{ https: boolean; hsts: boolean }>('GET', '/management');
    setHttps(m.https);
    setHsts(m.hsts);
  };
  useEffect(() => void load(), []);
  if (https === undefined) return null;
  const save = (e: Event) => {
    e.preventDefault();
    void change.run(() => api('PUT', safe.path('/management'), { https, hsts }), https ? 'HTTPS on: plain HTTP now redirects to it' : 'Plain HTTP', async () => {
      safe.sent();
      // The page is on the old scheme: go to the new one on the same address.
      const scheme = https ? 'https:' : 'http:';
      if (location.protocol !== scheme) setTimeout(() => location.replace(`${scheme}//${location.host}${location.pathname}${location.hash}`), 1000);
      await load();
    });
  };
  return (
    <form class="card" onSubmit={save} aria-label="management">
      <h2>Web UI</h2>
      <Message text={change.message?.text} kind={change.message?.kind} />
      <WarningBanner issues={change.issues} />
      <label class="switch"><input type="checkbox" name="management-https" checked={https} onChange={(e) => setHttps(e.currentTarget.checked)} /> HTTPS with the gateway certificate (plain HTTP on the same port redirects to it)</label>
      {change.issues.errors['https'] ? <p class="error" role="alert">{change.issues.errors['https']}</p> : null}
      <p class="hint">Browsers trust it once the Postern CA (Certificates page) is installed, or when the gateway has a public certificate.</p>
      <label><input type="checkbox" name="management-hsts" checked={hsts} disabled={!https} onChange={(e) => setHsts(e.currentTarget.checked)} /> Tell browsers to always use HTTPS (HSTS) with the Postern CA's certificate too</label>
      {change.issues.errors['hsts'] ? <p class="error" role="alert">{change.issues.errors['hsts']}</p> : null}
      <p class="hint">Sent by itself with a public certificate. With the Postern CA, only once every browser that opens this page trusts it: a browser that does not could not get past the warning any more.</p>
      <Elsewhere issues={change.issues} />
      {safe.control}
      <button type="submit">Save</button>
    </form>
  );
}
