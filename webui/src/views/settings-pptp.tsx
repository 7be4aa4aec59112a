/**
 * The PPTP listener (issue 22): legacy and insecure, so the card says why before anything else. On or
 * off, its pool, who checks passwords, MPPE (stateless required by default; stateful for old clients
 * that ask; optional lets unencrypted calls in) and CHAP-MD5/PAP for devices without MS-CHAPv2. The
 * API flags the insecure choices; its warnings show in the banner and at their fields.
 */
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { Elsewhere, Field, Message, WarningBanner } from '../ui.tsx';
import { useChange } from '../use-change.ts';
import { UserAuthField, type UserAuth } from './user-auth-field.tsx';
import { announceListenersChanged, useListenersLoad } from './listeners-changed.ts';
import { unlessEdited } from '../keep-edits.ts';

type Mppe = 'stateless' | 'stateful-allowed' | 'optional';
interface PptpListener {
  enabled: boolean;
  pool: string;
  auth?: UserAuth;
  mppe?: Mppe;
  legacyAuth?: boolean;
}

const FIELDS = new Set(['enabled', 'pool', 'auth', 'mppe', 'legacyAuth']);
const pptpField = (path: string): string | undefined => {
  const key = path.startsWith('listeners.pptp.') ? path.slice('listeners.pptp.'.length) : undefined;
  return key && FIELDS.has(key) ? key : undefined;
};

export function PptpCard() {
  const [form, setForm] = useState<Required<PptpListener>>();
  const [pools, setPools] = useState<string[]>([]);
  const change = useChange(pptpField);
  const load = async (sent?: typeof form) => {
    const { pptp } = (await api<{ listeners: { pptp: PptpListener } }>('GET', '/listeners')).listeners;
    setForm(unlessEdited(sent, { enabled: pptp.enabled, pool: pptp.pool, auth: pptp.auth ?? 'local', mppe: pptp.mppe ?? 'stateless', legacyAuth: pptp.legacyAuth === true }));
    setPools((await api<{ pools: Array<{ name: string }> }>('GET', '/pools')).pools.map((p) => p.name));
  };
  useListenersLoad(load);
  if (!form) return null;
  const save = (e: Event) => {
    e.preventDefault();
    void change.run(async () => {
      const r = await api<{ warning?: string; warnings?: unknown[] }>('PUT', '/listeners/pptp', form);
      return { warnings: [...(r.warning ? [{ path: 'listeners.pptp.enabled', message: r.warning }] : []), ...(r.warnings ?? [])] };
    }, 'PPTP settings saved', async () => {
      announceListenersChanged();
      await load(form);
    });
  };
  const { errors, warnings } = change.issues;
  return (
    <form class="card" onSubmit={save} aria-label="pptp settings">
      <h2>PPTP (legacy)</h2>
      <p class={form.enabled ? 'warning' : 'hint'} data-testid="pptp-insecure">
        PPTP is insecure: its MS-CHAPv2 sign-in can be broken offline with a DES search, and the MPPE encryption keys follow from it, so anyone who records a call can read it. Turn it on only for devices that can do nothing better (old Windows, cash registers, cameras); everything else should use IKEv2, SSTP or L2TP/IPsec.
      </p>
      <Message text={change.message?.text} kind={change.message?.kind} />
      <WarningBanner issues={change.issues} />
      <label class="switch"><input type="checkbox" name="pptp-enabled" checked={form.enabled} onChange={(e) => setForm({ ...form, enabled: e.currentTarget.checked })} /> Enabled</label>
      <Field label="Address pool" error={errors['pool']} warning={warnings['pool']}>
        <select name="pptp-pool" value={form.pool} onChange={(e) => setForm({ ...form, pool: e.currentTarget.value })}>
          {(pools.includes(form.pool) ? pools : [form.pool, ...pools]).map((name) => <option key={name} value={name}>{name}</option>)}
        </select>
      </Field>
      <UserAuthField label="PPTP passwords checked by" name="pptp-auth" value={form.auth} error={errors['auth']} onChange={(auth) => setForm({ ...form, auth })} />
      <Field label="Encryption (MPPE-128)" error={errors['mppe']} warning={warnings['mppe']} hint="Windows uses stateless MPPE; stateful only for old clients that insist on it">
        <select name="pptp-mppe" value={form.mppe} onChange={(e) => setForm({ ...form, mppe: e.currentTarget.value as Mppe })}>
          <option value="stateless">Required, stateless</option>
          <option value="stateful-allowed">Required, stateful allowed</option>
          <option value="optional">Optional (unencrypted calls accepted; insecure)</option>
        </select>
      </Field>
      <label class={`switch${warnings['legacyAuth'] ? ' warned' : ''}`}>
        <input type="checkbox" name="pptp-legacy-auth" checked={form.legacyAuth} onChange={(e) => setForm({ ...form, legacyAuth: e.currentTarget.checked })} /> Also allow MS-CHAPv1, CHAP-MD5 and PAP
      </label>
      {errors['legacyAuth'] ? <small class="error" role="alert">{errors['legacyAuth']}</small> : warnings['legacyAuth'] ? <small class="warning">{warnings['legacyAuth']}</small> : <p class="hint">For devices without MS-CHAPv2. MS-CHAPv1 calls are encrypted; CHAP-MD5 and PAP calls get no keys, so encryption must be optional.</p>}
      <Elsewhere issues={change.issues} />
      <button type="submit">Save</button>
    </form>
  );
}
