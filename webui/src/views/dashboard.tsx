/** Uptime, load, memory, WAN address, sessions per protocol, and a throughput chart from the session counters. */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { rateBetween, type Counters, type Sample } from '../chart-scale.ts';
import { ThroughputChart } from '../throughput-chart.tsx';
import { duration, Message } from '../ui.tsx';

/** How often the counters are read, and how much history the chart shows. */
const POLL_MS = 5000;
const WINDOW_MS = 5 * 60_000;

interface Status {
  version: string;
  uptimeSeconds: number;
  configRevision: number;
  wanAddress?: string;
  /** The board profile in use (issue 18). */
  board?: { name: string; title: string; architecture: string };
  network?: { wan: { interface: string; source: string } };
  sessions: Record<string, number>;
  listeners: Record<string, string>;
  subsystems: Record<string, { state: string; detail?: string }>;
  system?: { load: number[]; memoryTotal: number; memoryFree: number };
  traffic?: { bytes: number; bytesIn?: number; bytesOut?: number };
  /** Certificates in use; `warning` within 30 days of expiry (issue 16). */
  certificates?: Array<{ role: string; subject: string; notAfter: string; daysLeft: number; warning: boolean; expired: boolean }>;
}

/**
 * What the chart has measured, kept while the app is open: back on the dashboard after another page,
 * the last five minutes are still there (with a gap for the time away, see GAP_MS).
 */
const measured: { last?: Counters; samples: Sample[] } = { samples: [] };
/** Readings further apart than this (the page was elsewhere) give no rate: the line breaks there. */
const GAP_MS = 2.5 * POLL_MS;

export function DashboardView() {
  const [status, setStatus] = useState<Status>();
  const [samples, setSamples] = useState<Sample[]>(measured.samples);
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const poll = async () => {
      const s = await api<Status>('GET', '/status').catch(() => undefined);
      const at = Date.now();
      setNow(at);
      if (!s) return;
      setStatus(s);
      // Older gateways give only the sum: drawn as received.
      const reading = { at, bytesIn: s.traffic?.bytesIn ?? s.traffic?.bytes ?? 0, bytesOut: s.traffic?.bytesOut ?? 0 };
      const last = measured.last;
      const sample = last && at - last.at <= GAP_MS ? rateBetween(last, reading) : undefined;
      measured.last = reading;
      measured.samples = [...measured.samples.filter((o) => o.at >= at - WINDOW_MS), ...(sample ? [sample] : [])];
      setSamples(measured.samples);
    };
    void poll();
    const timer = setInterval(poll, POLL_MS);
    return () => clearInterval(timer);
  }, []);
  if (!status) return <p>Loading…</p>;
  const sessions = Object.entries(status.sessions ?? {});
  return (
    <section aria-label="dashboard">
      {(status.certificates ?? []).filter((c) => c.warning).map((c) => (
        <Message key={`${c.role}${c.subject}`} kind={c.expired ? 'error' : 'warn'} text={`The ${c.role === 'ca' ? 'CA' : c.role} certificate ${c.subject} ${c.expired ? 'has expired' : `expires in ${c.daysLeft} days`} (${c.notAfter.slice(0, 10)}): see Certificates.`} />
      ))}
      <div class="tiles">
        <div class="tile"><b>{duration(status.uptimeSeconds)}</b><span>uptime</span></div>
        <div class="tile"><b>{status.system ? status.system.load[0]?.toFixed(2) : '–'}</b><span>load</span></div>
        <div class="tile"><b>{status.system ? `${Math.round((1 - status.system.memoryFree / status.system.memoryTotal) * 100)} %` : '–'}</b><span>memory used</span></div>
        <div class="tile"><b>{status.wanAddress ?? '–'}</b><span>WAN address{status.network ? ` (${status.network.wan.interface})` : ''}</span></div>
        <div class="tile" data-testid="board"><b>{status.board?.name ?? '–'}</b><span>{status.board?.title ?? 'board'}</span></div>
        <div class="tile" data-testid="session-count"><b>{sessions.reduce((a, [, n]) => a + n, 0)}</b><span>sessions{sessions.length ? ` (${sessions.map(([p, n]) => `${p} ${n}`).join(', ')})` : ''}</span></div>
      </div>
      <div class="card">
        <h3>Throughput (all sessions, last 5 min)</h3>
        <ThroughputChart samples={samples} windowMs={WINDOW_MS} now={now} gapMs={GAP_MS} />
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
