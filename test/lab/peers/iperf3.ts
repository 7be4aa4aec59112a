import type { Lab } from '../topology.ts';
import { waitUntil } from './wait.ts';

export interface IperfResult {
  readonly mbitPerSecond: number;
  readonly retransmits: number;
  readonly senderCpuPercent: number;
  readonly receiverCpuPercent: number;
}

/**
 * One iperf3 measurement between two lab hosts: a one-off server (`-1`) and a client with JSON
 * output. TCP by default; `streams` parallel flows; bounded by `seconds` plus a margin.
 */
export async function iperf3(lab: Lab, server: { host: string; address: string }, client: string, options: { seconds?: number; streams?: number; port?: number } = {}): Promise<IperfResult> {
  const port = String(options.port ?? 5201);
  const seconds = options.seconds ?? 2;
  const daemon = lab.spawnDaemon(server.host, `iperf3-server-${port}`, ['iperf3', '-s', '-1', '-B', server.address, '-p', port]);
  await waitUntil('iperf3 server', 5000, async () => (await lab.exec(server.host, ['ss', '-ltn', `sport = :${port}`])).stdout.includes(`:${port}`));
  const r = await lab.exec(client, ['iperf3', '-c', server.address, '-p', port, '-t', String(seconds), '-P', String(options.streams ?? 1), '-J'], (seconds + 15) * 1000);
  await Promise.race([daemon.exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
  let report: any;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`iperf3 gave no report (${r.code}): ${r.stderr}`);
  }
  if (report.error) throw new Error(`iperf3: ${report.error}`);
  const end = report.end;
  return {
    mbitPerSecond: end.sum_received.bits_per_second / 1e6,
    retransmits: end.sum_sent.retransmits ?? 0,
    senderCpuPercent: end.cpu_utilization_percent.host_total,
    receiverCpuPercent: end.cpu_utilization_percent.remote_total,
  };
}
