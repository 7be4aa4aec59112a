/**
 * The gateway's public identity, its WAN and LAN, listeners (with PPTP's warning) and telemetry.
 * Every error the API names is shown at its field, every warning in the banner (and at its field).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, describe, formIssues, NO_ISSUES, type FormIssues } from '../api.ts';
import { Elsewhere, Field, Message, WarningBanner } from '../ui.tsx';

type Listeners = Record<'ikev2' | 'sstp' | 'l2tp' | 'pptp', { enabled: boolean; port?: number; pool: string }>;
interface Mqtt {
  enabled: boolean;
  url: string;
  prefix: string;
  deviceId: string;
  intervalSeconds: number;
}
interface Identity {
  publicName: string;
  publicAddress: string;
  dialled: string;
  suggestion?: { address: string; private: boolean };
  certificateNames: string[];
}
interface Interfaces {
  interfaces: Array<{ name: string; addresses: string[]; state: string }>;
  wan: { interface: string };
  lan: { interface: string; address: string };
}

const NAMES = [['ikev2', 'IKEv2 (recommended)'], ['sstp', 'SSTP (HTTPS, passes firewalls)'], ['l2tp', 'L2TP/IPsec'], ['pptp', 'PPTP (insecure, legacy only)']] as const;

/** One change and what the API said about it: errors at fields, warnings in the banner. */
function useChange(place: (path: string) => string | undefined) {
  const [issues, setIssues] = useState<FormIssues>(NO_ISSUES);
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' | 'warn' }>();
  const run = async (change: () => Promise<unknown>, done: string, after?: () => Promise<void>) => {
    setIssues(NO_ISSUES);
    try {
      const answer = await change();
      setIssues(formIssues(answer, place));
      setMessage({ text: done, kind: 'ok' });
      await after?.();
    } catch (error) {
      setIssues(formIssues(error, place));
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  return { issues, message, setMessage, run };
}

const IDENTITY: Record<string, string> = { 'system.publicName': 'publicName', 'system.publicAddress': 'publicAddress' };

function IdentityCard() {
  const [identity, setIdentity] = useState<Identity>();
  const [form, setForm] = useState({ publicName: '', publicAddress: '' });
  const change = useChange((path) => IDENTITY[path]);
  const load = async () => {
    const got = await api<Identity>('GET', '/identity');
    setIdentity(got);
    setForm({ publicName: got.publicName, publicAddress: got.publicAddress });
  };
  useEffect(() => void load(), []);
  if (!identity) return null;
  const save = (e: Event) => {
    e.preventDefault();
    void change.run(() => api('PUT', '/identity', form), 'Public identity saved; the gateway certificate was issued again with it', load);
  };
  const { errors, warnings } = change.issues;
  const suggestion = identity.suggestion;
  return (
    <form class="card" onSubmit={save} aria-label="public identity">
      <h2>Public identity</h2>
      <p class="hint">Profiles dial <b data-testid="dialled">{identity.dialled}</b>. The gateway certificate names: {identity.certificateNames.join(', ')}.</p>
      <Message text={change.message?.text} kind={change.message?.kind} />
      <WarningBanner issues={change.issues} />
      <Field label="Public DNS name" error={errors['publicName']} warning={warnings['publicName']} hint="The name clients dial from the Internet, e.g. vpn.branch1.example.com">
        <input name="publicName" value={form.publicName} onInput={(e) => setForm({ ...form, publicName: e.currentTarget.value })} />
      </Field>
      <Field label="Public address" error={errors['publicAddress']} warning={warnings['publicAddress']} hint={suggestion ? `The WAN address is ${suggestion.address}${suggestion.private ? ' (private: use the public address of the router in front)' : ''}` : undefined}>
        <input name="publicAddress" value={form.publicAddress} placeholder={suggestion?.address ?? ''} onInput={(e) => setForm({ ...form, publicAddress: e.currentTarget.value })} />
      </Field>
      {suggestion && !suggestion.private && form.publicAddress !== suggestion.address ? <p><button type="button" class="link" onClick={() => setForm({ ...form, publicAddress: suggestion.address })}>Use the WAN address {suggestion.address}</button></p> : null}
      <Elsewhere issues={change.issues} />
      <button type="submit">Save</button>
    </form>
  );
}

const PORTS: Record<string, string> = { 'system.wan.interface': 'wanInterface', 'system.lan.interface': 'lanInterface', 'system.lan.address': 'lanAddress' };

function InterfacesCard() {
  const [box, setBox] = useState<Interfaces>();
  const [form, setForm] = useState({ wanInterface: '', lanInterface: '', lanAddress: '' });
  const change = useChange((path) => PORTS[path]);
  const load = async () => {
    const got = await api<Interfaces>('GET', '/interfaces');
    setBox(got);
    setForm({ wanInterface: got.wan.interface, lanInterface: got.lan.interface, lanAddress: got.lan.address });
  };
  useEffect(() => void load(), []);
  if (!box) return null;
  const save = (e: Event) => {
    e.preventDefault();
    void change.run(() => api('PUT', '/interfaces', { wan: { interface: form.wanInterface }, lan: { interface: form.lanInterface, address: form.lanAddress } }), 'WAN and LAN saved', load);
  };
  const { errors, warnings } = change.issues;
  return (
    <form class="card" onSubmit={save} aria-label="interfaces">
      <h2>WAN and LAN</h2>
      <p class="hint">This box has: {box.interfaces.map((i) => `${i.name} (${i.state})`).join(', ') || 'no interfaces'}.</p>
      <Message text={change.message?.text} kind={change.message?.kind} />
      <WarningBanner issues={change.issues} />
      <Field label="WAN interface" error={errors['wanInterface']} warning={warnings['wanInterface']}>
        <input name="wan-interface" list="box-interfaces" value={form.wanInterface} onInput={(e) => setForm({ ...form, wanInterface: e.currentTarget.value })} />
      </Field>
      <Field label="LAN interface" error={errors['lanInterface']} warning={warnings['lanInterface']}>
        <input name="lan-interface" list="box-interfaces" value={form.lanInterface} onInput={(e) => setForm({ ...form, lanInterface: e.currentTarget.value })} />
      </Field>
      <Field label="LAN address" error={errors['lanAddress']} warning={warnings['lanAddress']} hint="With the prefix length, e.g. 192.168.1.1/24">
        <input name="lan-address" value={form.lanAddress} onInput={(e) => setForm({ ...form, lanAddress: e.currentTarget.value })} />
      </Field>
      <datalist id="box-interfaces">{box.interfaces.map((i) => <option key={i.name} value={i.name} />)}</datalist>
      <Elsewhere issues={change.issues} />
      <button type="submit">Save</button>
    </form>
  );
}

interface Pool {
  name: string;
  ipv4: string;
  ipv6?: string;
  dns: string[];
}

/** "pools[1].ipv4" → "1.ipv4": each pool's row has its own fields. */
const poolField = (path: string): string | undefined => {
  const m = /^pools\[(\d+)\]\.([A-Za-z0-9]+)/.exec(path);
  return m ? `${m[1]}.${m[2]}` : undefined;
};

/** The client address pools: each one's IPv4 range, checked against the LAN and the other pools. */
function PoolsCard() {
  const [pools, setPools] = useState<Pool[]>();
  const change = useChange(poolField);
  const load = async () => setPools((await api<{ pools: Pool[] }>('GET', '/pools')).pools);
  useEffect(() => void load(), []);
  if (!pools) return null;
  const save = (i: number) => (e: Event) => {
    e.preventDefault();
    const pool = pools[i];
    if (pool) void change.run(() => api('PUT', `/pools/${encodeURIComponent(pool.name)}`, pool), `Pool ${pool.name} saved`, load);
  };
  const { errors, warnings } = change.issues;
  return (
    <div class="card" aria-label="address pools" role="region">
      <h2>Client address pools</h2>
      <Message text={change.message?.text} kind={change.message?.kind} />
      <WarningBanner issues={change.issues} />
      {pools.map((pool, i) => (
        <form key={pool.name} class="row" onSubmit={save(i)} aria-label={`pool ${pool.name}`} data-pool={pool.name}>
          <Field label={`${pool.name}: IPv4 range`} error={errors[`${i}.ipv4`]} warning={warnings[`${i}.ipv4`]}>
            <input name="pool-ipv4" value={pool.ipv4} onInput={(e) => setPools(pools.map((p, j) => (j === i ? { ...p, ipv4: e.currentTarget.value } : p)))} />
          </Field>
          <button type="submit">Save</button>
        </form>
      ))}
      <Elsewhere issues={change.issues} />
    </div>
  );
}

export function SettingsView() {
  const [listeners, setListeners] = useState<Listeners>();
  const [mqtt, setMqtt] = useState<Mqtt>();
  const toggles = useChange(() => undefined);
  const telemetry = useChange((path) => (path.startsWith('telemetry.mqtt.') ? path.slice('telemetry.mqtt.'.length) : undefined));
  const load = async () => {
    setListeners((await api<{ listeners: Listeners }>('GET', '/listeners')).listeners);
    setMqtt((await api<{ telemetry: { mqtt: Mqtt } }>('GET', '/telemetry')).telemetry.mqtt);
  };
  useEffect(() => void load(), []);
  const toggle = (name: keyof Listeners, enabled: boolean) =>
    toggles.run(async () => {
      const r = await api<{ warning?: string; warnings?: unknown[] }>('PUT', `/listeners/${name}`, { enabled });
      // PPTP's own warning goes first in the banner.
      return { warnings: [...(r.warning ? [{ path: `listeners.${name}.enabled`, message: r.warning }] : []), ...(r.warnings ?? [])] };
    }, `${name} ${enabled ? 'enabled' : 'disabled'}`, load);
  const saveMqtt = (e: Event) => {
    e.preventDefault();
    void telemetry.run(() => api('PUT', '/telemetry', { mqtt }), 'Telemetry saved');
  };
  if (!listeners || !mqtt) return <p>Loading…</p>;
  const err = (f: string) => telemetry.issues.errors[f];
  return (
    <section aria-label="settings">
      <IdentityCard />
      <InterfacesCard />
      <PoolsCard />
      <div class="card">
        <h2>Listeners</h2>
        <Message text={toggles.message?.text} kind={toggles.message?.kind} />
        <WarningBanner issues={toggles.issues} />
        <Elsewhere issues={toggles.issues} />
        {NAMES.map(([name, label]) => (
          <label key={name} class="switch"><input type="checkbox" name={`listener-${name}`} checked={listeners[name].enabled} onChange={(e) => void toggle(name, e.currentTarget.checked)} /> {label}</label>
        ))}
      </div>
      <form class="card" onSubmit={saveMqtt} aria-label="telemetry">
        <h3>Fleet telemetry (MQTT)</h3>
        <Message text={telemetry.message?.text} kind={telemetry.message?.kind} />
        <WarningBanner issues={telemetry.issues} />
        <label class="switch"><input type="checkbox" checked={mqtt.enabled} onChange={(e) => setMqtt({ ...mqtt, enabled: e.currentTarget.checked })} /> Enabled</label>
        <Field label="Broker URL" error={err('url')} warning={telemetry.issues.warnings['url']}><input name="mqtt-url" value={mqtt.url} onInput={(e) => setMqtt({ ...mqtt, url: e.currentTarget.value })} /></Field>
        <Field label="Device ID" error={err('deviceId')}><input value={mqtt.deviceId} onInput={(e) => setMqtt({ ...mqtt, deviceId: e.currentTarget.value })} /></Field>
        <Field label="Status interval (s)" error={err('intervalSeconds')}><input type="number" value={mqtt.intervalSeconds} onInput={(e) => setMqtt({ ...mqtt, intervalSeconds: Number(e.currentTarget.value) })} /></Field>
        <Elsewhere issues={telemetry.issues} />
        <button type="submit">Save</button>
      </form>
    </section>
  );
}
