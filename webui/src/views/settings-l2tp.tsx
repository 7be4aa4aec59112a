/**
 * The L2TP/IPsec listener (issue 20): on or off, its pool, the group pre-shared key (masked; a strong
 * one generated in the browser), the optional RFC 2661 tunnel secret, and plain L2TP without IPsec
 * with its insecurity said beside it; the IKEv1 SA's authentication (the group key or certificates)
 * and its own proposals (the gateway's defaults when both are empty), weak ones flagged. Secrets come from the API as "<redacted>" and are sent back
 * as such unless retyped (the API keeps the stored value). Errors at their fields, warnings in the
 * banner and at the field, as the other settings forms.
 */
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { generatePsk } from '../psk.ts';
import { Elsewhere, Field, Message, WarningBanner } from '../ui.tsx';
import { entryNotes, splitList, useChange } from '../use-change.ts';
import { UserAuthField, type UserAuth } from './user-auth-field.tsx';
import { announceListenersChanged, useListenersLoad } from './listeners-changed.ts';
import { unlessEdited } from '../keep-edits.ts';

interface L2tpListener {
  enabled: boolean;
  psk: string;
  pool: string;
  secret?: string;
  allowPlain?: boolean;
  legacyAuth?: boolean;
  auth?: UserAuth;
  ipsec?: { auth: IpsecAuth; proposals?: { ike: string[]; esp: string[] }; dpdSeconds?: number; dpdTimeoutSeconds?: number };
}
type IpsecAuth = 'psk' | 'certificate';
interface Form {
  enabled: boolean;
  psk: string;
  pool: string;
  secret: string;
  allowPlain: boolean;
  legacyAuth: boolean;
  auth: UserAuth;
  ipsecAuth: IpsecAuth;
  /** The proposals as typed, one per line; both empty: the gateway's defaults. */
  ike: string;
  esp: string;
  /** Dead peer detection as typed; empty: the gateway's defaults. */
  dpd: string;
  dpdTimeout: string;
}

const FIELDS: Record<string, string> = { enabled: 'enabled', psk: 'psk', pool: 'pool', secret: 'secret', allowPlain: 'allowPlain', legacyAuth: 'legacyAuth', auth: 'auth', 'ipsec.auth': 'ipsecAuth', 'ipsec.dpdSeconds': 'dpd', 'ipsec.dpdTimeoutSeconds': 'dpdTimeout' };
const PROPOSALS = 'listeners.l2tp.ipsec.proposals';
const l2tpField = (path: string): string | undefined => {
  const proposal = path.startsWith(`${PROPOSALS}.`) ? /^(ike|esp)/.exec(path.slice(PROPOSALS.length + 1))?.[1] : undefined;
  return proposal ?? (path.startsWith('listeners.l2tp.') ? FIELDS[path.slice('listeners.l2tp.'.length)] : undefined);
};

export function L2tpCard() {
  const [form, setForm] = useState<Form>();
  const [pools, setPools] = useState<string[]>([]);
  const [showPsk, setShowPsk] = useState(false);
  const [oneList, setOneList] = useState<string>();
  const change = useChange(l2tpField);
  const load = async (sent?: typeof form) => {
    const { l2tp } = (await api<{ listeners: { l2tp: L2tpListener } }>('GET', '/listeners')).listeners;
    const proposals = l2tp.ipsec?.proposals;
    setForm(unlessEdited(sent, {
      enabled: l2tp.enabled, psk: l2tp.psk, pool: l2tp.pool, secret: l2tp.secret ?? '', allowPlain: l2tp.allowPlain === true, legacyAuth: l2tp.legacyAuth === true, auth: l2tp.auth ?? 'local',
      ipsecAuth: l2tp.ipsec?.auth ?? 'psk', ike: proposals?.ike.join('\n') ?? '', esp: proposals?.esp.join('\n') ?? '',
      dpd: String(l2tp.ipsec?.dpdSeconds ?? ''), dpdTimeout: String(l2tp.ipsec?.dpdTimeoutSeconds ?? ''),
    }));
    setPools((await api<{ pools: Array<{ name: string }> }>('GET', '/pools')).pools.map((p) => p.name));
  };
  useListenersLoad(load);
  if (!form) return null;
  const lists = { ike: splitList(form.ike), esp: splitList(form.esp) };
  const save = (e: Event) => {
    e.preventDefault();
    // Phase 1 without phase 2 (or the reverse) would leave clients nothing to agree on.
    const missing = lists.ike.length === 0 && lists.esp.length > 0 ? 'ike' : lists.esp.length === 0 && lists.ike.length > 0 ? 'esp' : undefined;
    setOneList(missing);
    if (missing) return;
    const seconds = (text: string) => (text.trim() === '' ? undefined : Number(text));
    const dpd = { dpdSeconds: seconds(form.dpd), dpdTimeoutSeconds: seconds(form.dpdTimeout) };
    const ipsec = { auth: form.ipsecAuth, ...(lists.ike.length ? { proposals: lists } : {}), ...Object.fromEntries(Object.entries(dpd).filter(([, v]) => v !== undefined)) };
    // An empty tunnel secret is not sent: there is none, or the stored one stays.
    const body = { enabled: form.enabled, pool: form.pool, psk: form.psk, allowPlain: form.allowPlain, legacyAuth: form.legacyAuth, auth: form.auth, ipsec, ...(form.secret ? { secret: form.secret } : {}) };
    void change.run(() => api('PUT', '/listeners/l2tp', body), 'L2TP/IPsec settings saved', async () => {
      setShowPsk(false);
      announceListenersChanged();
      await load(form);
    });
  };
  const generate = () => {
    setForm({ ...form, psk: generatePsk() });
    setShowPsk(true);
  };
  const { errors, warnings } = change.issues;
  const notes = (kind: 'ike' | 'esp') => ({
    error: (oneList === kind ? 'give both lists, or neither for the gateway\'s defaults' : '') || entryNotes(change.listed.errors, `${PROPOSALS}.${kind}`, lists[kind]).join('; ') || errors[kind],
    weak: entryNotes(change.listed.warnings, `${PROPOSALS}.${kind}`, lists[kind]),
  });
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
      <Field label="Group pre-shared key" error={errors['psk']} warning={warnings['psk']} hint={form.ipsecAuth === 'certificate' ? 'Not used while IPsec authenticates with certificates' : 'At least 8 characters; every client gets it in its profile. Leave as it is to keep the current one'}>
        <span class="row">
          {showPsk
            ? <input name="l2tp-psk" type="text" autoComplete="off" spellcheck={false} value={form.psk} onInput={(e) => setForm({ ...form, psk: e.currentTarget.value })} />
            : <input name="l2tp-psk" type="password" autoComplete="new-password" value={form.psk} onInput={(e) => setForm({ ...form, psk: e.currentTarget.value })} />}
          <button type="button" name="l2tp-generate-psk" onClick={generate}>Generate</button>
          <label><input type="checkbox" name="l2tp-show-psk" checked={showPsk} onChange={(e) => setShowPsk(e.currentTarget.checked)} /> Show</label>
        </span>
      </Field>
      <UserAuthField label="L2TP passwords checked by" name="l2tp-auth" value={form.auth} error={errors['auth']} onChange={(auth) => setForm({ ...form, auth })} />
      <Field label="IPsec authentication" error={errors['ipsecAuth']} hint="Certificates: the gateway's certificate, and each client's from a trusted CA (the profiles then carry the user's certificate)">
        <select name="l2tp-ipsec-auth" value={form.ipsecAuth} onChange={(e) => setForm({ ...form, ipsecAuth: e.currentTarget.value as IpsecAuth })}>
          <option value="psk">The group pre-shared key</option>
          <option value="certificate">Certificates</option>
        </select>
      </Field>
      <ProposalList label="IKE proposals (phase 1)" name="l2tp-ike-proposals" value={form.ike} notes={notes('ike')} onInput={(ike) => setForm({ ...form, ike })} />
      <ProposalList label="ESP proposals (phase 2)" name="l2tp-esp-proposals" value={form.esp} notes={notes('esp')} onInput={(esp) => setForm({ ...form, esp })} />
      <Field label="Dead peer detection after (s)" error={errors['dpd']} hint="A client silent this long is asked if it is still there (RFC 3706); 30 when empty">
        <input name="l2tp-dpd" type="number" value={form.dpd} onInput={(e) => setForm({ ...form, dpd: e.currentTarget.value })} />
      </Field>
      <Field label="Dead peer timeout (s)" error={errors['dpdTimeout']} hint="No answer for this long: the client is dead, its session ends and its address goes back to the pool; about 2 minutes when empty">
        <input name="l2tp-dpd-timeout" type="number" value={form.dpdTimeout} onInput={(e) => setForm({ ...form, dpdTimeout: e.currentTarget.value })} />
      </Field>
      <Field label="L2TP tunnel secret (optional)" error={errors['secret']} warning={warnings['secret']} hint="Only for clients set up with one (xl2tpd, routers); Windows, macOS and iOS send none: leave empty for them">
        <input name="l2tp-secret" type="password" autoComplete="new-password" value={form.secret} onInput={(e) => setForm({ ...form, secret: e.currentTarget.value })} />
      </Field>
      <label class={`switch${warnings['allowPlain'] ? ' warned' : ''}`}>
        <input type="checkbox" name="l2tp-allow-plain" checked={form.allowPlain} onChange={(e) => setForm({ ...form, allowPlain: e.currentTarget.checked })} /> Also accept plain L2TP without IPsec
      </label>
      <p class={form.allowPlain ? 'warning' : 'hint'} data-testid="l2tp-plain-warning">Insecure: PPP, its sign-in and all traffic then cross the network unencrypted. For tests and trusted links only.</p>
      {warnings['allowPlain'] ? <small class="warning">{warnings['allowPlain']}</small> : null}
      <label class={`switch${warnings['legacyAuth'] ? ' warned' : ''}`}>
        <input type="checkbox" name="l2tp-legacy-auth" checked={form.legacyAuth} onChange={(e) => setForm({ ...form, legacyAuth: e.currentTarget.checked })} /> Also allow MS-CHAPv1, CHAP-MD5 and PAP
      </label>
      {warnings['legacyAuth'] ? <small class="warning">{warnings['legacyAuth']}</small> : <p class="hint">For devices without MS-CHAPv2. Checked by the local users or by RADIUS, as above.</p>}
      <Elsewhere issues={change.issues} />
      <button type="submit">Save</button>
    </form>
  );
}

function ProposalList(props: { label: string; name: string; value: string; notes: { error: string | undefined; weak: string[] }; onInput: (v: string) => void }) {
  return (
    <Field label={props.label} error={props.notes.error} hint="One per line, preferred first, e.g. aes256-sha256-modp2048; both empty: the gateway's defaults, which Windows, Apple and Linux clients accept">
      <textarea name={props.name} rows={Math.max(2, props.value.split('\n').length)} value={props.value} onInput={(e) => props.onInput(e.currentTarget.value)} />
      {props.notes.weak.length ? <ul class="warning weak" aria-label={`weak ${props.label}`}>{props.notes.weak.map((w) => <li key={w}>{w}</li>)}</ul> : null}
    </Field>
  );
}
