/**
 * Settings for the VPN listeners (issue 17): enable switches, the SSTP port, the ports the router in
 * front must forward (computed by the API from what is enabled), and IKEv2 authentication and
 * proposals with the weak ones flagged as validation warns about them.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, type Issue } from '../api.ts';
import { Elsewhere, Field, Message, WarningBanner } from '../ui.tsx';
import { entryNotes, splitList, useChange } from '../use-change.ts';
import { useSafeApply } from '../safe-mode.tsx';
import { UserAuthField, type UserAuth } from './user-auth-field.tsx';
import { announceListenersChanged, useListenersLoad } from './listeners-changed.ts';

type IkeAuth = 'eap-mschapv2' | 'certificate' | 'psk';
interface Listeners {
  ikev2: { enabled: boolean; auth: IkeAuth; userAuth?: UserAuth; eapPassThrough?: boolean; psk?: string; proposals: { ike: string[]; esp: string[] }; mobike: boolean; fragmentation: boolean };
  sstp: { enabled: boolean; port: number; mppe: 'off' | 'allow' | 'require'; auth?: UserAuth };
  l2tp: { enabled: boolean; psk: string; allowPlain?: boolean };
  pptp: { enabled: boolean };
}
interface PortToOpen {
  label: string;
  for: string[];
}

const NAMES = [['ikev2', 'IKEv2 (recommended)'], ['sstp', 'SSTP (HTTPS, passes firewalls)'], ['l2tp', 'L2TP/IPsec'], ['pptp', 'PPTP (insecure, legacy only)']] as const;

const SSTP_FIELDS: Record<string, string> = { 'listeners.sstp.port': 'port', 'listeners.sstp.mppe': 'mppe', 'listeners.sstp.auth': 'auth' };

/**
 * The switches, the SSTP port and MPPE, and the "ports to open" hint, which follows every change.
 * L2TP's own settings (key, pool, plain L2TP) are in its card (settings-l2tp.tsx); the two reload
 * each other (listeners-changed.ts).
 */
export function ListenersCard() {
  const [listeners, setListeners] = useState<Listeners>();
  const [port, setPort] = useState('');
  const [mppe, setMppe] = useState<Listeners['sstp']['mppe']>('off');
  const [sstpAuth, setSstpAuth] = useState<UserAuth>('local');
  const [open, setOpen] = useState<PortToOpen[]>([]);
  const change = useChange((path) => SSTP_FIELDS[path]);
  const safe = useSafeApply();
  const load = async () => {
    const got = (await api<{ listeners: Listeners }>('GET', '/listeners')).listeners;
    setListeners(got);
    setPort(String(got.sstp.port));
    setMppe(got.sstp.mppe);
    setSstpAuth(got.sstp.auth ?? 'local');
    setOpen((await api<{ ports: PortToOpen[] }>('GET', '/ports-to-open')).ports);
  };
  useListenersLoad(load);
  if (!listeners) return null;
  // The switches apply at once, in safe mode when it is ticked (switching off the listener the
  // technician came in through, say, comes back by itself unless confirmed).
  const applied = async () => {
    safe.sent();
    announceListenersChanged();
  };
  const toggle = (name: keyof Listeners, enabled: boolean) =>
    change.run(async () => {
      const r = await api<{ warning?: string; warnings?: unknown[] }>('PUT', safe.path(`/listeners/${name}`), { enabled });
      // PPTP's own warning goes first in the banner.
      return { warnings: [...(r.warning ? [{ path: `listeners.${name}.enabled`, message: r.warning }] : []), ...(r.warnings ?? [])] };
    }, `${name} ${enabled ? 'enabled' : 'disabled'}`, applied);
  const savePort = (e: Event) => {
    e.preventDefault();
    // A number the API checks (1-65535); text that is not one is sent as is and refused at the field.
    const value = /^\d+$/.test(port.trim()) ? Number(port.trim()) : port;
    // Through safe mode when asked for.
    void change.run(() => api('PUT', safe.path('/listeners/sstp'), { port: value, mppe, auth: sstpAuth }), 'Listener settings saved', applied);
  };
  const { errors, warnings } = change.issues;
  return (
    <form class="card" onSubmit={savePort} aria-label="listeners">
      <h2>Listeners</h2>
      <Message text={change.message?.text} kind={change.message?.kind} />
      <WarningBanner issues={change.issues} />
      {safe.control}
      <p class="hint">Safe mode covers the switches, which apply at once, and Save below.</p>
      {NAMES.map(([name, label]) => (
        <label key={name} class="switch"><input type="checkbox" name={`listener-${name}`} checked={listeners[name].enabled} onChange={(e) => void toggle(name, e.currentTarget.checked)} /> {label}</label>
      ))}
      <p class="hint">IKEv2 and L2TP/IPsec use UDP 500 and 4500, fixed by the protocol. L2TP/IPsec needs its pre-shared key first (its card below).</p>
      <Field label="SSTP port (TCP)" error={errors['port']} warning={warnings['port']} hint="443 passes most firewalls; another port needs the client to name it">
        <input name="sstp-port" inputMode="numeric" value={port} onInput={(e) => setPort(e.currentTarget.value)} />
      </Field>
      <Field label="MPPE inside SSTP" error={errors['mppe']} hint="Only for clients set to require it; TLS already encrypts SSTP">
        <select name="sstp-mppe" value={mppe} onChange={(e) => setMppe(e.currentTarget.value as typeof mppe)}>
          <option value="off">off</option>
          <option value="allow">allow</option>
          <option value="require">require</option>
        </select>
      </Field>
      <UserAuthField label="SSTP passwords checked by" name="sstp-auth" value={sstpAuth} error={errors['auth']} onChange={setSstpAuth} />
      <Elsewhere issues={change.issues} />
      <button type="submit">Save</button>
      <h3>Ports to open on the upstream router</h3>
      {open.length === 0 ? <p class="hint">Nothing: no listener is enabled.</p> : (
        <ul data-testid="ports-to-open">{open.map((p) => <li key={p.label}><b>{p.label}</b> — {p.for.join('; ')}</li>)}</ul>
      )}
      <p class="hint">Forward these to this gateway if a router in front of it holds the public address. The web UI belongs on the LAN: do not forward it.</p>
    </form>
  );
}

const IKE_FIELDS: Record<string, string> = { 'listeners.ikev2.auth': 'auth', 'listeners.ikev2.userAuth': 'userAuth', 'listeners.ikev2.eapPassThrough': 'userAuth', 'listeners.ikev2.psk': 'psk' };
const ikeField = (path: string): string | undefined => IKE_FIELDS[path] ?? /^listeners\.ikev2\.proposals\.(ike|esp)/.exec(path)?.[1];

/** IKEv2 remote access: how clients authenticate and which algorithms are offered, weak ones flagged. */
export function IkeCard() {
  const [form, setForm] = useState<{ auth: IkeAuth; userAuth: UserAuth; eapPassThrough: boolean; psk: string; ike: string; esp: string; mobike: boolean; fragmentation: boolean }>();
  const [flagged, setFlagged] = useState<Issue[]>([]);
  const change = useChange(ikeField);
  const load = async () => {
    const { ikev2 } = (await api<{ listeners: Listeners }>('GET', '/listeners')).listeners;
    setForm({ auth: ikev2.auth, userAuth: ikev2.userAuth ?? 'local', eapPassThrough: ikev2.eapPassThrough === true, psk: ikev2.psk ?? '', ike: ikev2.proposals.ike.join('\n'), esp: ikev2.proposals.esp.join('\n'), mobike: ikev2.mobike, fragmentation: ikev2.fragmentation });
    setFlagged((await api<{ warnings: Issue[] }>('GET', '/config/warnings')).warnings);
  };
  useEffect(() => void load(), []);
  if (!form) return null;
  const lists = { ike: splitList(form.ike), esp: splitList(form.esp) };
  const save = (e: Event) => {
    e.preventDefault();
    const body = { auth: form.auth, userAuth: form.userAuth, eapPassThrough: form.userAuth === 'radius' && form.eapPassThrough, proposals: lists, mobike: form.mobike, fragmentation: form.fragmentation, ...(form.auth === 'psk' && form.psk !== '' ? { psk: form.psk } : {}) };
    void change.run(() => api('PUT', '/listeners/ikev2', body), 'IKEv2 settings saved', load);
  };
  const { errors } = change.issues;
  // Weak proposals: what validation warns about now, or about what was just sent.
  const warned = change.listed.warnings.length || change.listed.errors.length ? change.listed.warnings : flagged;
  const notes = (kind: 'ike' | 'esp') => ({
    error: entryNotes(change.listed.errors, `listeners.ikev2.proposals.${kind}`, lists[kind]).join('; ') || errors[kind],
    weak: entryNotes(warned, `listeners.ikev2.proposals.${kind}`, lists[kind]),
  });
  const ike = notes('ike');
  const esp = notes('esp');
  return (
    <form class="card" onSubmit={save} aria-label="ikev2 settings">
      <h2>IKEv2 authentication and proposals</h2>
      <Message text={change.message?.text} kind={change.message?.kind} />
      <WarningBanner issues={change.issues} />
      <Field label="Clients authenticate with" error={errors['auth']} warning={change.issues.warnings['auth']}>
        <select name="ike-auth" value={form.auth} onChange={(e) => setForm({ ...form, auth: e.currentTarget.value as IkeAuth })}>
          <option value="eap-mschapv2">User name and password (EAP-MSCHAPv2)</option>
          <option value="certificate">Client certificates</option>
          <option value="psk">A shared key (insecure for remote access)</option>
        </select>
      </Field>
      {form.auth === 'eap-mschapv2' ? (
        <UserAuthField label="Passwords checked by" name="ike-user-auth" value={form.userAuth} error={errors['userAuth']} onChange={(userAuth) => setForm({ ...form, userAuth })} />
      ) : null}
      {form.auth === 'eap-mschapv2' && form.userAuth === 'radius' ? (
        <label class="switch"><input type="checkbox" name="ike-eap-pass-through" checked={form.eapPassThrough} onChange={(e) => setForm({ ...form, eapPassThrough: e.currentTarget.checked })} /> Pass EAP through to RADIUS (the server picks the method: EAP-MSCHAPv2, PEAP, EAP-TLS)</label>
      ) : null}
      {form.auth === 'psk' ? (
        <Field label="Pre-shared key" error={errors['psk']} hint="At least 16 characters; leave as it is to keep the current one">
          <input name="ike-psk" type="password" autoComplete="new-password" value={form.psk} onInput={(e) => setForm({ ...form, psk: e.currentTarget.value })} />
        </Field>
      ) : null}
      <ProposalField label="IKE proposals" name="ike-proposals" value={form.ike} error={ike.error} weak={ike.weak} onInput={(ike) => setForm({ ...form, ike })} />
      <ProposalField label="ESP proposals" name="esp-proposals" value={form.esp} error={esp.error} weak={esp.weak} onInput={(esp) => setForm({ ...form, esp })} />
      <label class="switch"><input type="checkbox" name="ike-mobike" checked={form.mobike} onChange={(e) => setForm({ ...form, mobike: e.currentTarget.checked })} /> MOBIKE (clients keep the tunnel when their address changes)</label>
      <label class="switch"><input type="checkbox" name="ike-fragmentation" checked={form.fragmentation} onChange={(e) => setForm({ ...form, fragmentation: e.currentTarget.checked })} /> IKE fragmentation (certificates through networks that drop fragments)</label>
      <Elsewhere issues={change.issues} />
      <button type="submit">Save</button>
    </form>
  );
}

function ProposalField(props: { label: string; name: string; value: string; error: string | undefined; weak: string[]; onInput: (v: string) => void }) {
  return (
    <Field label={props.label} error={props.error} hint="One per line, preferred first, e.g. aes256gcm16-prfsha256-ecp256">
      <textarea name={props.name} rows={Math.max(3, props.value.split('\n').length)} value={props.value} onInput={(e) => props.onInput(e.currentTarget.value)} />
      {props.weak.length ? <ul class="warning weak" aria-label={`weak ${props.label}`}>{props.weak.map((w) => <li key={w}>{w}</li>)}</ul> : null}
    </Field>
  );
}
