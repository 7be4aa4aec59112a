/** Uptime, load, memory, WAN address, sessions per protocol, and a throughput chart from the session counters. */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { bytes, duration, Message } from '../ui.tsx';

interface Status {
  version: string;
  uptimeSeconds: number;
  configRevision: number;
  wanAddress?: string;
  sessions: Record<string, number>;
  listeners: Record<string, string>;
  subsystems: Record<string, { state: string; detail?: string }>;
  system?: { load: number[]; memoryTotal: number; memoryFree: number };
  traffic?: { bytes: number };
  /** Certificates in use; `warning` within 30 days of expiry (issue 16). */
  certificates?: Array<{ role: string; subject: string; notAfter: string; daysLeft: number; warning: boolean; expired: boolean }>;
}

export function DashboardView() {
  const [status, setStatus] = useState<Status>();
  const [samples, setSamples] = useState<number[]>([]);
  useEffect(() => {
    let last: number | undefined;
    const poll = async () => {
      const s = await api<Status>('GET', '/status').catch(() => undefined);
      if (!s) return;
      setStatus(s);
      const total = s.traffic?.bytes ?? 0;
      if (last !== undefined) setSamples((old) => [...old.slice(-59), Math.max(0, total - last!) / 5]);
      last = total;
    };
    void poll();
    const timer = setInterval(poll, 5000);
    return () => clearInterval(timer);
  }, []);
  if (!status) return <p>Loading…</p>;
  const sessions = Object.entries(status.sessions ?? {});
  const max = Math.max(1, ...samples);
  const points = samples.map((v, i) => `${(i / 59) * 300},${60 - (v / max) * 56}`).join(' ');
  return (
    <section aria-label="dashboard">
      {(status.certificates ?? []).filter((c) => c.warning).map((c) => (
        <Message key={`${c.role}${c.subject}`} kind={c.expired ? 'error' : 'warn'} text={`The ${c.role === 'ca' ? 'CA' : c.role} certificate ${c.subject} ${c.expired ? 'has expired' : `expires in ${c.daysLeft} days`} (${c.notAfter.slice(0, 10)}): see Certificates.`} />
      ))}
      <div class="tiles">
        <div class="tile"><b>{duration(status.uptimeSeconds)}</b><span>uptime</span></div>
        <div class="tile"><b>{status.system ? status.system.load[0]?.toFixed(2) : '–'}</b><span>load</span></div>
        <div class="tile"><b>{status.system ? `${Math.round((1 - status.system.memoryFree / status.system.memoryTotal) * 100)} %` : '–'}</b><span>memory used</span></div>
        <div class="tile"><b>{status.wanAddress ?? '–'}</b><span>WAN address</span></div>
        <div class="tile" data-testid="session-count"><b>{sessions.reduce((a, [, n]) => a + n, 0)}</b><span>sessions{sessions.length ? ` (${sessions.map(([p, n]) => `${p} ${n}`).join(', ')})` : ''}</span></div>
      </div>
      <div class="card">
        <h3>Throughput (sessions, last 5 min)</h3>
        <svg viewBox="0 0 300 60" class="chart" role="img" aria-label="throughput chart"><polyline points={points} /></svg>
        <p class="hint">{samples.length ? `now ${bytes(samples[samples.length - 1] ?? 0)}/s` : 'measuring…'}</p>
      </div>
      <div class="card">
        <h3>Services</h3>
        <table>
          <tbody>
            {Object.entries(status.subsystems ?? {}).map(([name, s]) => (
              <tr key={name}><td>{name}</td><td class={`state ${s.state}`}>{s.state}</td><td>{s.detail ?? ''}</td></tr>
            ))}
          </tbody>
        </table>
        <p class="hint">Version {status.version}, configuration revision {status.configRevision}</p>
      </div>
    </section>
  );
}
