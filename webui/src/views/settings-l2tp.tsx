/**
 * The L2TP/IPsec listener (issue 20): on or off, its pool, the group pre-shared key (masked; a strong
 * one generated in the browser), the optional RFC 2661 tunnel secret, and plain L2TP without IPsec
 * with its insecurity said beside it. Secrets come from the API as "<redacted>" and are sent back
 * as such unless retyped (the API keeps the stored value). Errors at their fields, warnings in the
 * banner and at the field, as the other settings forms.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { generatePsk } from '../psk.ts';
import { Elsewhere, Field, Message, WarningBanner } from '../ui.tsx';
import { useChange } from '../use-change.ts';

interface L2tpListener {
  enabled: boolean;
  psk: string;
  pool: string;
  secret?: string;
  allowPlain?: boolean;
}
interface Form {
  enabled: boolean;
  psk: string;
  pool: string;
  secret: string;
  allowPlain: boolean;
}

/** Other cards (the listener switches) reload when this event fires, and this one when they change. */
export const LISTENERS_CHANGED = 'postern:listeners-changed';

const FIELDS = ['enabled', 'psk', 'pool', 'secret', 'allowPlain'];
const l2tpField = (path: string): string | undefined => {
  const key = path.startsWith('listeners.l2tp.') ? path.slice('listeners.l2tp.'.length) : undefined;
  return key && FIELDS.includes(key) ? key : undefined;
};

export function L2tpCard() {
  const [form, setForm] = useState<Form>();
  const [pools, setPools] = useState<string[]>([]);
  const [showPsk, setShowPsk] = useState(false);
  const change = useChange(l2tpField);
  const load = async () => {
    const { l2tp } = (await api<{ listeners: { l2tp: L2tpListener } }>('GET', '/listeners')).listeners;
    setForm({ enabled: l2tp.enabled, psk: l2tp.psk, pool: l2tp.pool, secret: l2tp.secret ?? '', allowPlain: l2tp.allowPlain === true });
    setPools((await api<{ pools: Array<{ name: string }> }>('GET', '/pools')).pools.map((p) => p.name));
  };
  useEffect(() => {
    void load();
    const reload = () => void load();
    window.addEventListener(LISTENERS_CHANGED, reload);
    return () => window.removeEventListener(LISTENERS_CHANGED, reload);
  }, []);
  if (!form) return null;
  const save = (e: Event) => {
    e.preventDefault();
    // An empty tunnel secret is not sent: there is none, or the stored one stays.
    const body = { enabled: form.enabled, pool: form.pool, psk: form.psk, allowPlain: form.allowPlain, ...(form.secret ? { secret: form.secret } : {}) };
    void change.run(() => api('PUT', '/listeners/l2tp', body), 'L2TP/IPsec settings saved', async () => {
      setShowPsk(false);
      window.dispatchEvent(new Event(LISTENERS_CHANGED));
      await load();
    });
  };
  const generate = () => {
    setForm({ ...form, psk: generatePsk() });
    setShowPsk(true);
  };
  const { errors, warnings } = change.issues;
  return (
    <form class="card" onSubmit={save} aria-label="l2tp settings">
      <h2>L2TP/IPsec</h2>
      <p class="hint">For Windows, macOS and iOS clients set up by hand, and Linux (network-manager-l2tp). L2TP runs inside an IPsec (IKEv1) transport-mode SA keyed with the group pre-shared key.</p>
      <Message text={change.message?.text} kind={change.message?.kind} />
      <WarningBanner issues={change.issues} />
      <label class="switch"><input type="checkbox" name="l2tp-enabled" checked={form.enabled} onChange={(e) => setForm({ ...form, enabled: e.currentTarget.checked })} /> Enabled</label>
      {errors['enabled'] ? <small class="error" role="alert">{errors['enabled']}</small> : null}
      <Field label="Address pool" error={errors['pool']} warning={warnings['pool']}>
        <select name="l2tp-pool" value={form.pool} onChange={(e) => setForm({ ...form, pool: e.currentTarget.value })}>
          {(pools.includes(form.pool) ? pools : [form.pool, ...pools]).map((name) => <option key={name} value={name}>{name}</option>)}
        </select>
      </Field>
      <Field label="Group pre-shared key" error={errors['psk']} warning={warnings['psk']} hint="At least 8 characters; every client gets it in its profile. Leave as it is to keep the current one">
        <span class="row">
          {showPsk
            ? <input name="l2tp-psk" type="text" autoComplete="off" spellcheck={false} value={form.psk} onInput={(e) => setForm({ ...form, psk: e.currentTarget.value })} />
            : <input name="l2tp-psk" type="password" autoComplete="new-password" value={form.psk} onInput={(e) => setForm({ ...form, psk: e.currentTarget.value })} />}
          <button type="button" name="l2tp-generate-psk" onClick={generate}>Generate</button>
          <label><input type="checkbox" name="l2tp-show-psk" checked={showPsk} onChange={(e) => setShowPsk(e.currentTarget.checked)} /> Show</label>
        </span>
      </Field>
      <Field label="L2TP tunnel secret (optional)" error={errors['secret']} warning={warnings['secret']} hint="Only for clients set up with one (xl2tpd, routers); Windows, macOS and iOS send none: leave empty for them">
        <input name="l2tp-secret" type="password" autoComplete="new-password" value={form.secret} onInput={(e) => setForm({ ...form, secret: e.currentTarget.value })} />
      </Field>
      <label class={`switch${warnings['allowPlain'] ? ' warned' : ''}`}>
        <input type="checkbox" name="l2tp-allow-plain" checked={form.allowPlain} onChange={(e) => setForm({ ...form, allowPlain: e.currentTarget.checked })} /> Also accept plain L2TP without IPsec
      </label>
      <p class={form.allowPlain ? 'warning' : 'hint'} data-testid="l2tp-plain-warning">Insecure: PPP, its sign-in and all traffic then cross the network unencrypted. For tests and trusted links only.</p>
      {warnings['allowPlain'] ? <small class="warning">{warnings['allowPlain']}</small> : null}
      <Elsewhere issues={change.issues} />
      <button type="submit">Save</button>
    </form>
  );
}
