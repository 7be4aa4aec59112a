/**
 * The gateway's public identity, its WAN and LAN, client pools (range and DNS), listeners and the ports
 * to open, IKEv2 settings, DNS, time, HTTPS for the web UI, and telemetry. Every error the API names is
 * shown at its field, every warning in the banner (and at its field).
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { Elsewhere, Field, Message, WarningBanner } from '../ui.tsx';
import { entryNotes, splitList, useChange } from '../use-change.ts';
import { useSafeApply } from '../safe-mode.tsx';
import { DnsCard, ManagementCard, TimeCard } from './settings-system.tsx';
import { DynamicDnsCard } from './settings-ddns.tsx';
import { IkeCard, ListenersCard } from './settings-vpn.tsx';
import { L2tpCard } from './settings-l2tp.tsx';
import { PptpCard } from './settings-pptp.tsx';
import { unlessEdited } from '../keep-edits.ts';

interface Mqtt {
  enabled: boolean;
  url: string;
  prefix: string;
  deviceId: string;
  intervalSeconds: number;
  /** Issue 26: the broker found by DNS SRV (or a DHCP option); null in a PUT removes it. */
  discovery?: { domain?: string; [other: string]: unknown } | null;
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
  const safe = useSafeApply();
  const load = async (sent?: typeof form) => {
    const got = await api<Interfaces>('GET', '/interfaces');
    setBox(got);
    setForm(unlessEdited(sent, { wanInterface: got.wan.interface, lanInterface: got.lan.interface, lanAddress: got.lan.address }));
  };
  useEffect(() => void load(), []);
  if (!box) return null;
  const save = (e: Event) => {
    e.preventDefault();
    void change.run(() => api('PUT', safe.path('/interfaces'), { wan: { interface: form.wanInterface }, lan: { interface: form.lanInterface, address: form.lanAddress } }), 'WAN and LAN saved', async () => {
      safe.sent();
      await load(form);
    });
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
      {safe.control}
      <button type="submit">Save</button>
    </form>
  );
}

interface Pool {
  name: string;
  ipv4: string;
  ipv6?: string;
  dns: string[];
  /** Issue 20: answered to PPP clients' DHCPINFORM (classless routes, DNS domain). */
  routes?: string[];
  domain?: string;
}

/** A pool as sent: the typed lists made lists; an empty domain or route list left out (the LAN, no domain). */
function poolToSend(pool: Pool, dnsText: string | undefined, routesText: string | undefined): Pool {
  const { routes: _routes, domain: _domain, ...rest } = pool;
  const routes = routesText === undefined ? (pool.routes ?? []) : splitList(routesText);
  const domain = pool.domain?.trim() ?? '';
  return { ...rest, dns: dnsText === undefined ? pool.dns : splitList(dnsText), ...(routes.length ? { routes } : {}), ...(domain ? { domain } : {}) };
}

/** "pools[1].ipv4" → "1.ipv4": each pool's row has its own fields. */
const poolField = (path: string): string | undefined => {
  const m = /^pools\[(\d+)\]\.([A-Za-z0-9]+)/.exec(path);
  return m ? `${m[1]}.${m[2]}` : undefined;
};

/** The client address pools: each one's IPv4 range, checked against the LAN and the other pools. */
function PoolsCard() {
  const [pools, setPools] = useState<Pool[]>();
  /** The DNS fields as typed, by pool name (a list is made of them on save). */
  const [dnsText, setDnsText] = useState<Record<string, string>>({});
  const [routesText, setRoutesText] = useState<Record<string, string>>({});
  const change = useChange(poolField);
  const load = async () => {
    setPools((await api<{ pools: Pool[] }>('GET', '/pools')).pools);
    setDnsText({});
    setRoutesText({});
  };
  useEffect(() => void load(), []);
  if (!pools) return null;
  const save = (i: number) => (e: Event) => {
    e.preventDefault();
    const pool = pools[i];
    if (!pool) return;
    const sent = poolToSend(pool, dnsText[pool.name], routesText[pool.name]);
    setPools(pools.map((p, j) => (j === i ? sent : p)));
    void change.run(() => api('PUT', `/pools/${encodeURIComponent(pool.name)}`, sent), `Pool ${pool.name} saved`, load);
  };
  const { errors, warnings } = change.issues;
  return (
    <div class="card" aria-label="address pools" role="region">
      <h2>Client address pools</h2>
      <Message text={change.message?.text} kind={change.message?.kind} />
      <WarningBanner issues={change.issues} />
      {pools.map((pool, i) => (
        <form key={pool.name} class="row wrap" onSubmit={save(i)} aria-label={`pool ${pool.name}`} data-pool={pool.name}>
          <Field label={`${pool.name}: IPv4 range`} error={errors[`${i}.ipv4`]} warning={warnings[`${i}.ipv4`]}>
            <input name="pool-ipv4" value={pool.ipv4} onInput={(e) => setPools(pools.map((p, j) => (j === i ? { ...p, ipv4: e.currentTarget.value } : p)))} />
          </Field>
          <Field label="DNS for its clients" error={entryNotes(change.listed.errors, `pools[${i}].dns`, pool.dns).join('; ') || errors[`${i}.dns`]} hint="Handed to VPN clients, e.g. the LAN's DNS server">
            <input name="pool-dns" value={dnsText[pool.name] ?? pool.dns.join(', ')} onInput={(e) => setDnsText({ ...dnsText, [pool.name]: e.currentTarget.value })} />
          </Field>
          <Field label="Office networks (split tunnel)" error={entryNotes(change.listed.errors, `pools[${i}].routes`, splitList(routesText[pool.name] ?? (pool.routes ?? []).join(', '))).join('; ') || errors[`${i}.routes`]} warning={warnings[`${i}.routes`]} hint="Routes handed to Windows PPP clients (SSTP, L2TP) that ask by DHCPINFORM, e.g. 192.168.10.0/24; the LAN when empty">
            <input name="pool-routes" value={routesText[pool.name] ?? (pool.routes ?? []).join(', ')} onInput={(e) => setRoutesText({ ...routesText, [pool.name]: e.currentTarget.value })} />
          </Field>
          <Field label="DNS domain" error={errors[`${i}.domain`]} warning={warnings[`${i}.domain`]} hint="Sent with the routes, e.g. office.example.com; none when empty">
            <input name="pool-domain" value={pool.domain ?? ''} onInput={(e) => setPools(pools.map((p, j) => (j === i ? { ...p, domain: e.currentTarget.value } : p)))} />
          </Field>
          <button type="submit">Save</button>
        </form>
      ))}
      <Elsewhere issues={change.issues} />
    </div>
  );
}

export function SettingsView() {
  const [mqtt, setMqtt] = useState<Mqtt>();
  const telemetry = useChange((path) => (path.startsWith('telemetry.mqtt.') ? path.slice('telemetry.mqtt.'.length) : undefined));
  const load = async () => setMqtt((await api<{ telemetry: { mqtt: Mqtt } }>('GET', '/telemetry')).telemetry.mqtt);
  useEffect(() => void load(), []);
  const saveMqtt = (e: Event) => {
    e.preventDefault();
    if (!mqtt) return;
    // An empty domain turns discovery off unless it still has a DHCP option to ask.
    const { domain, ...rest } = mqtt.discovery ?? {};
    const discovery = domain ? { ...rest, domain } : Object.keys(rest).length > 0 ? rest : null;
    void telemetry.run(() => api('PUT', '/telemetry', { mqtt: { ...mqtt, discovery } }), 'Telemetry saved');
  };
  if (!mqtt) return <p>Loading…</p>;
  const err = (f: string) => telemetry.issues.errors[f];
  return (
    <section aria-label="settings">
      <IdentityCard />
      <InterfacesCard />
      <PoolsCard />
      <ListenersCard />
      <L2tpCard />
      <PptpCard />
      <IkeCard />
      <DnsCard />
      <TimeCard />
      <ManagementCard />
      <DynamicDnsCard />
      <form class="card" onSubmit={saveMqtt} aria-label="telemetry">
        <h3>Fleet telemetry (MQTT)</h3>
        <Message text={telemetry.message?.text} kind={telemetry.message?.kind} />
        <WarningBanner issues={telemetry.issues} />
        <label class="switch"><input type="checkbox" checked={mqtt.enabled} onChange={(e) => setMqtt({ ...mqtt, enabled: e.currentTarget.checked })} /> Enabled</label>
        <Field label="Broker URL" error={err('url')} warning={telemetry.issues.warnings['url']}><input name="mqtt-url" value={mqtt.url} onInput={(e) => setMqtt({ ...mqtt, url: e.currentTarget.value })} /></Field>
        <Field label="Find the broker by DNS SRV under" error={err('discovery.domain')} hint="A domain (its _secure-mqtt._tcp record), or dhcp for the domain the WAN's DHCP gave; the broker URL is then not used. Empty: off">
          <input name="mqtt-discovery" value={mqtt.discovery?.domain ?? ''} placeholder="off" onInput={(e) => setMqtt({ ...mqtt, discovery: { ...(mqtt.discovery ?? {}), domain: e.currentTarget.value.trim() } })} />
        </Field>
        <Field label="Device ID" error={err('deviceId')}><input value={mqtt.deviceId} onInput={(e) => setMqtt({ ...mqtt, deviceId: e.currentTarget.value })} /></Field>
        <Field label="Status interval (s)" error={err('intervalSeconds')}><input type="number" value={mqtt.intervalSeconds} onInput={(e) => setMqtt({ ...mqtt, intervalSeconds: Number(e.currentTarget.value) })} /></Field>
        <Elsewhere issues={telemetry.issues} />
        <button type="submit">Save</button>
      </form>
    </section>
  );
}
