/** Listeners (with PPTP's warning) and telemetry; errors from the schema shown on their fields. */
import { useEffect, useState } from 'preact/hooks';
import { api, describe, fieldErrors } from '../api.ts';
import { Field, Message } from '../ui.tsx';

type Listeners = Record<'ikev2' | 'sstp' | 'l2tp' | 'pptp', { enabled: boolean; port?: number; pool: string }>;
interface Mqtt {
  enabled: boolean;
  url: string;
  prefix: string;
  deviceId: string;
  intervalSeconds: number;
}

const NAMES = [['ikev2', 'IKEv2 (recommended)'], ['sstp', 'SSTP (HTTPS, passes firewalls)'], ['l2tp', 'L2TP/IPsec'], ['pptp', 'PPTP (insecure, legacy only)']] as const;

export function SettingsView() {
  const [listeners, setListeners] = useState<Listeners>();
  const [mqtt, setMqtt] = useState<Mqtt>();
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState<{ text: string; kind: 'ok' | 'error' | 'warn' }>();
  const load = async () => {
    setListeners((await api<{ listeners: Listeners }>('GET', '/listeners')).listeners);
    setMqtt((await api<{ telemetry: { mqtt: Mqtt } }>('GET', '/telemetry')).telemetry.mqtt);
  };
  useEffect(() => void load(), []);
  const toggle = async (name: keyof Listeners, enabled: boolean) => {
    try {
      const r = await api<{ warning?: string }>('PUT', `/listeners/${name}`, { enabled });
      setMessage(r.warning ? { text: r.warning, kind: 'warn' } : { text: `${name} ${enabled ? 'enabled' : 'disabled'}`, kind: 'ok' });
      await load();
    } catch (error) {
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  const saveMqtt = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    try {
      await api('PUT', '/telemetry', { mqtt });
      setMessage({ text: 'Telemetry saved', kind: 'ok' });
    } catch (error) {
      setErrors(fieldErrors(error));
      setMessage({ text: describe(error), kind: 'error' });
    }
  };
  if (!listeners || !mqtt) return <p>Loading…</p>;
  const err = (f: string) => errors[`telemetry.mqtt.${f}`];
  return (
    <section aria-label="settings">
      <div class="card">
        <h2>Listeners</h2>
        <Message text={message?.text} kind={message?.kind} />
        {NAMES.map(([name, label]) => (
          <label key={name} class="switch"><input type="checkbox" name={`listener-${name}`} checked={listeners[name].enabled} onChange={(e) => toggle(name, e.currentTarget.checked)} /> {label}</label>
        ))}
      </div>
      <form class="card" onSubmit={saveMqtt} aria-label="telemetry">
        <h3>Fleet telemetry (MQTT)</h3>
        <label class="switch"><input type="checkbox" checked={mqtt.enabled} onChange={(e) => setMqtt({ ...mqtt, enabled: e.currentTarget.checked })} /> Enabled</label>
        <Field label="Broker URL" error={err('url')}><input name="mqtt-url" value={mqtt.url} onInput={(e) => setMqtt({ ...mqtt, url: e.currentTarget.value })} /></Field>
        <Field label="Device ID" error={err('deviceId')}><input value={mqtt.deviceId} onInput={(e) => setMqtt({ ...mqtt, deviceId: e.currentTarget.value })} /></Field>
        <Field label="Status interval (s)" error={err('intervalSeconds')}><input type="number" value={mqtt.intervalSeconds} onInput={(e) => setMqtt({ ...mqtt, intervalSeconds: Number(e.currentTarget.value) })} /></Field>
        <button type="submit">Save</button>
      </form>
    </section>
  );
}
