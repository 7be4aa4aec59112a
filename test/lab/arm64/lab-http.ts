import { execFile } from 'node:child_process';
import type { Lab } from '../topology.ts';

/**
 * The administrator's side of the API from inside a lab host: each call is a short node process
 * (`ip netns exec`), so the test's traffic never leaves the lab. The session (cookie and CSRF token)
 * is kept between calls. `upload` PUTs a bundle file in pieces, as the web UI does.
 */

const SCRIPT = `
const [base, method, path, cookie, csrf, body, file, piece] = process.argv.slice(1);
const headers = { cookie, 'x-csrf-token': csrf };
const out = (o) => process.stdout.write(JSON.stringify(o));
(async () => {
  try {
    if (file) {
      const data = require('node:fs').readFileSync(file);
      let last = { status: 0, json: {} };
      for (let offset = 0; offset < data.length; offset += Number(piece)) {
        const r = await fetch(base + path + '?offset=' + offset + '&total=' + data.length, { method: 'PUT', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: data.subarray(offset, offset + Number(piece)), signal: AbortSignal.timeout(120000) });
        last = { status: r.status, json: await r.json().catch(() => ({})) };
        if (r.status >= 300) break;
      }
      return out(last);
    }
    const r = await fetch(base + path, { method, headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body } : {}), signal: AbortSignal.timeout(30000) });
    const text = await r.text();
    let json = {};
    try { json = JSON.parse(text); } catch {}
    out({ status: r.status, json, setCookie: r.headers.get('set-cookie') ?? '' });
  } catch (e) {
    out({ status: 0, json: {}, error: String(e && e.cause ? e.cause.code || e.cause : e) });
  }
})();
`;

export interface HttpResult {
  readonly status: number;
  readonly json: any;
  readonly error?: string;
  readonly setCookie?: string;
}

export class LabHttp {
  #cookie = '';
  #csrf = '';
  #password: string | undefined;
  readonly #lab: Lab;
  readonly #host: string;
  readonly #base: string;

  constructor(lab: Lab, host: string, base: string) {
    this.#lab = lab;
    this.#host = host;
    this.#base = base;
  }

  #run(args: string[], timeoutMs: number): Promise<HttpResult> {
    return new Promise((resolve) => {
      // First boot: the box's certificate is its own CA's, which the administrator learns only
      // through this very API (a browser would show its warning once): not verified here.
      const env = { ...process.env, NODE_TLS_REJECT_UNAUTHORIZED: '0', NODE_NO_WARNINGS: '1' };
      execFile('ip', ['netns', 'exec', this.#lab.ns(this.#host), process.execPath, '-e', SCRIPT, this.#base, ...args], { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout) => {
        try {
          resolve(JSON.parse(stdout) as HttpResult);
        } catch {
          resolve({ status: 0, json: {}, error: error?.message ?? `no answer: ${stdout}` });
        }
      });
    });
  }

  /**
   * One request; after a 401 it logs in again once (the service restarts its web server when a
   * change needs it, e.g. a new certificate, and after every upgrade boot: sessions do not survive).
   */
  async call(method: string, path: string, body?: unknown): Promise<HttpResult> {
    const r = await this.#once(method, path, body);
    if (r.status !== 401 || this.#password === undefined) return r;
    await this.login(this.#password);
    return this.#once(method, path, body);
  }

  #once(method: string, path: string, body?: unknown): Promise<HttpResult> {
    return this.#run([method, path, this.#cookie, this.#csrf, body === undefined ? '' : JSON.stringify(body), '', ''], 40_000);
  }

  async login(password: string): Promise<HttpResult> {
    this.#password = password;
    const r = await this.#once('POST', '/api/v1/login', { password });
    if (r.status === 200) {
      this.#csrf = (r.json as { csrfToken: string }).csrfToken;
      this.#cookie = (r.setCookie ?? '').split(';')[0] ?? '';
    }
    return r;
  }

  upload(path: string, file: string, pieceBytes: number, timeoutMs: number): Promise<HttpResult> {
    return this.#run(['PUT', path, this.#cookie, this.#csrf, '', file, String(pieceBytes)], timeoutMs);
  }
}

/** Polls `probe` until it returns a value (not undefined), bounded in time. */
export async function pollFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
