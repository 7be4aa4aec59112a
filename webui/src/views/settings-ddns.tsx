/**
 * Dynamic DNS (issue 17): keep the public name pointing at the WAN address, by RFC 2136 updates signed
 * with a TSIG key or by a provider's update URL. Secrets come back as "<redacted>" and are sent back
 * as such (the API keeps them) unless typed again; the ddns subsystem's last result is shown.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { Elsewhere, Field, Message, WarningBanner } from '../ui.tsx';
import { useChange } from '../use-change.ts';

interface Ddns {
  enabled: boolean;
  method: 'rfc2136' | 'http';
  server: string;
  port: string;
  zone: string;
  keyName: string;
  keySecret: string;
  url: string;
  username: string;
  password: string;
  ttl: string;
}
interface Answer {
  dynamicDns: Partial<Record<keyof Ddns, unknown>>;
  status?: { state?: string; detail?: string };
}

const FIELD = (path: string) => (path.startsWith('system.dynamicDns.') ? path.slice('system.dynamicDns.'.length).split(/[.[]/)[0] : undefined);
const text = (v: unknown): string => (v === undefined || v === null ? '' : String(v));
/** A number the API checks; text that is not one is sent as is and refused at its field. */
const numberOrText = (v: string): number | string => (/^\d+$/.test(v.trim()) ? Number(v.trim()) : v);

export function DynamicDnsCard() {
  const [form, setForm] = useState<Ddns>();
  const [status, setStatus] = useState<Answer['status']>();
  const change = useChange(FIELD);
  const load = async () => {
    const got = await api<Answer>('GET', '/dynamic-dns');
    const d = got.dynamicDns;
    setForm({
      enabled: d.enabled === true, method: d.method === 'http' ? 'http' : 'rfc2136',
      server: text(d.server), port: text(d.port), zone: text(d.zone), keyName: text(d.keyName), keySecret: text(d.keySecret),
      url: text(d.url), username: text(d.username), password: text(d.password), ttl: text(d.ttl),
    });
    setStatus(got.status);
  };
  useEffect(() => void load(), []);
  if (!form) return null;
  const set = (key: keyof Ddns) => (e: { currentTarget: { value: string } }) => setForm({ ...form, [key]: e.currentTarget.value });
  const save = (e: Event) => {
    e.preventDefault();
    const dynamicDns = { ...form, port: numberOrText(form.port), ttl: numberOrText(form.ttl) };
    void change.run(() => api('PUT', '/dynamic-dns', { dynamicDns }), form.enabled ? 'Dynamic DNS saved' : 'Dynamic DNS off', load);
  };
  const { errors, warnings } = change.issues;
  const input = (key: keyof Ddns, label: string, hint?: string, secret = false) => (
    <Field label={label} error={errors[key]} warning={warnings[key]} hint={hint}>
      {secret
        ? <input name={`ddns-${key}`} type="password" autoComplete="new-password" value={form[key] as string} onInput={set(key)} />
        : <input name={`ddns-${key}`} value={form[key] as string} onInput={set(key)} />}
    </Field>
  );
  return (
    <form class="card" onSubmit={save} aria-label="public name updates">
      <h2>Dynamic DNS</h2>
      <p class="hint">Updates the public name when the WAN address changes.{status ? <> Last update: <span data-testid="ddns-status">{status.state === 'running' ? status.detail ?? 'not published yet' : status.state}</span></> : null}</p>
      <Message text={change.message?.text} kind={change.message?.kind} />
      <WarningBanner issues={change.issues} />
      <label class="switch"><input type="checkbox" name="ddns-enabled" checked={form.enabled} onChange={(e) => setForm({ ...form, enabled: e.currentTarget.checked })} /> Update the public name</label>
      <Field label="Method" error={errors['method']}>
        <select name="ddns-method" value={form.method} onChange={(e) => setForm({ ...form, method: e.currentTarget.value === 'http' ? 'http' : 'rfc2136' })}>
          <option value="rfc2136">RFC 2136 update to your DNS server, signed with a TSIG key</option>
          <option value="http">A provider's update URL (dyndns2 style)</option>
        </select>
      </Field>
      {form.method === 'rfc2136' ? (
        <>
          {input('server', 'DNS server', "The zone's primary server, an address")}
          {input('port', 'DNS port')}
          {input('zone', 'Zone', 'e.g. example.com: the public name must be in it')}
          {input('keyName', 'TSIG key name', 'As the DNS server knows it (BIND: key "name")')}
          {input('keySecret', 'TSIG key (base64, HMAC-SHA256)', 'As tsig-keygen writes it; leave as it is to keep the current one', true)}
        </>
      ) : (
        <>
          {input('url', 'Update URL', 'With {name} and {address}, e.g. https://members.dyndns.org/nic/update?hostname={name}&myip={address}; leave as it is to keep the current one', true)}
          {input('username', 'User name')}
          {input('password', 'Password', 'Leave as it is to keep the current one', true)}
        </>
      )}
      {input('ttl', 'TTL (seconds)')}
      <Elsewhere issues={change.issues} />
      <button type="submit">Save</button>
    </form>
  );
}
