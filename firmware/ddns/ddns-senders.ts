/*
 * The I/O of a dynamic DNS update, kept thin: an RFC 2136 update over UDP (a few bounded tries, the
 * answer checked by the sans-I/O side), and a dyndns2-style HTTP update (GET with basic auth; the
 * URL's {name} and {address} filled in). Neither logs; the caller logs the outcome, never a secret.
 */
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Secret } from '../util/secret.ts';
import { signedUpdate, type AddressUpdate } from './rfc2136-update.ts';
import type { TsigKey } from './tsig.ts';

export interface Rfc2136Target {
  readonly server: string;
  readonly port: number;
  readonly key: TsigKey;
}

/** Undefined when the server applied the update, else why not. Tries `tries` times, `timeoutMs` each. */
export function sendRfc2136(target: Rfc2136Target, update: AddressUpdate, options: { tries?: number; timeoutMs?: number; now?: () => number } = {}): Promise<string | undefined> {
  const now = options.now ?? (() => Date.now() / 1000);
  const tries = options.tries ?? 3;
  const timeoutMs = options.timeoutMs ?? 2000;
  const signed = signedUpdate(randomInt(0, 0x10000), update, target.key, now());
  const socket = createSocket(isIPv6(target.server) ? 'udp6' : 'udp4');
  return new Promise((resolve) => {
    let attempt = 0;
    let timer: NodeJS.Timeout | undefined;
    let lastProblem = 'no answer';
    const finish = (result: string | undefined) => {
      clearTimeout(timer);
      socket.close();
      resolve(result);
    };
    const send = () => {
      if (attempt++ >= tries) return finish(`${lastProblem} from ${target.server}:${target.port} after ${tries} tries`);
      socket.send(signed.wire, target.port, target.server, (error) => {
        if (error) lastProblem = error.message;
      });
      timer = setTimeout(send, timeoutMs);
    };
    socket.on('message', (answer, from) => {
      if (from.port !== target.port) return; // not the server's: keep waiting
      const problem = signed.check(answer, now());
      if (problem === 'not the answer to this update') return;
      finish(problem);
    });
    socket.on('error', (error) => finish(error.message));
    send();
  });
}

export interface HttpTarget {
  /** e.g. https://members.dyndns.org/nic/update?hostname={name}&myip={address} */
  readonly url: string;
  readonly username?: string;
  readonly password?: Secret<string>;
}

/** dyndns2's answers (the first word of the body): good and nochg mean done. */
const DYNDNS_OK = /^(good|nochg)\b/;

export async function sendHttpUpdate(target: HttpTarget, name: string, address: string, timeoutMs = 10_000): Promise<string | undefined> {
  const url = target.url.replace(/\{name\}/g, encodeURIComponent(name)).replace(/\{address\}/g, encodeURIComponent(address));
  const headers: Record<string, string> = { 'user-agent': 'Postern dynamic DNS' };
  if (target.username !== undefined) headers['authorization'] = `Basic ${Buffer.from(`${target.username}:${target.password?.reveal() ?? ''}`).toString('base64')}`;
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    const body = (await res.text()).trim().slice(0, 200);
    if (!res.ok) return `HTTP ${res.status} ${body.split('\n')[0] ?? ''}`.trim();
    return DYNDNS_OK.test(body) ? undefined : `the service answered '${body.split('\n')[0] ?? ''}'`;
  } catch (error) {
    return `could not reach the update URL: ${error instanceof Error ? error.message : String(error)}`;
  }
}
