import type { Lab } from '../topology.ts';
import { waitUntil } from './wait.ts';

export interface IperfResult {
  readonly mbitPerSecond: number;
  readonly retransmits: number;
  readonly lostPercent: number;
  /** UDP: datagrams lost, as the receiver counted them. */
  readonly lostPackets: number;
  /** UDP: datagrams received per second. */
  readonly packetsPerSecond: number;
  readonly senderCpuPercent: number;
  readonly receiverCpuPercent: number;
  /** Mbit/s in each one-second interval, to see a stall. */
  readonly intervals: number[];
}

/**
 * One iperf3 measurement between two lab hosts: a one-off server (`-1`) and a client with JSON
 * output. TCP by default; `streams` parallel flows; bounded by `seconds` plus a margin.
 */
export interface IperfOptions {
  readonly seconds?: number;
  readonly streams?: number;
  readonly port?: number;
  /** UDP at this rate ("1G"), or "0" for as fast as possible. */
  readonly udpBandwidth?: string;
  /** Datagram size for UDP. */
  readonly length?: number;
  /** The client's source address (a host with several). */
  readonly bind?: string;
  /** Socket buffer size ("4M"): for UDP the server's receive buffer too. */
  readonly window?: string;
  /** The server sends, the client receives (`-R`). */
  readonly reverse?: boolean;
}

export async function iperf3(lab: Lab, server: { host: string; address: string }, client: string, options: IperfOptions = {}): Promise<IperfResult> {
  const port = String(options.port ?? 5201);
  const seconds = options.seconds ?? 2;
  const daemon = lab.spawnDaemon(server.host, `iperf3-server-${port}`, ['iperf3', '-s', '-1', '-B', server.address, '-p', port]);
  await waitUntil('iperf3 server', 5000, async () => (await lab.exec(server.host, ['ss', '-ltn', `sport = :${port}`])).stdout.includes(`:${port}`));
  const udp = options.udpBandwidth === undefined ? [] : ['-u', '-b', options.udpBandwidth, ...(options.length ? ['-l', String(options.length)] : [])];
  const r = await lab.exec(client, ['iperf3', '-c', server.address, '-p', port, '-t', String(seconds), '-P', String(options.streams ?? 1), ...(options.bind ? ['-B', options.bind] : []), ...(options.window ? ['-w', options.window] : []), ...(options.reverse ? ['-R'] : []), ...udp, '-J'], (seconds + 15) * 1000);
  await Promise.race([daemon.exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
  let report: any;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(`iperf3 gave no report (${r.code}): ${r.stderr}`);
  }
  if (report.error) throw new Error(`iperf3: ${report.error}`);
  const end = report.end;
  // TCP reports sum_received; UDP reports one `sum` as seen by the receiver.
  const received = end.sum_received ?? end.sum;
  return {
    mbitPerSecond: received.bits_per_second / 1e6,
    retransmits: end.sum_sent?.retransmits ?? 0,
    lostPercent: end.sum?.lost_percent ?? 0,
    lostPackets: end.sum?.lost_packets ?? 0,
    packetsPerSecond: end.sum?.packets !== undefined ? (end.sum.packets - (end.sum.lost_packets ?? 0)) / seconds : 0,
    senderCpuPercent: end.cpu_utilization_percent.host_total,
    receiverCpuPercent: end.cpu_utilization_percent.remote_total,
    intervals: (report.intervals ?? []).map((i: { sum: { bits_per_second: number } }) => i.sum.bits_per_second / 1e6),
  };
}
