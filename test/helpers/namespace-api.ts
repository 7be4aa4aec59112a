// A call on the API of a `postern run` inside a lab namespace (management on 127.0.0.1:18080 there, plain
// HTTP): the first-boot setup (ignored once done), a login, then the request with the session's CSRF
// token; the JSON answer.
import type { Lab } from '../lab/topology.ts';

export async function apiIn(lab: Lab, host: string, method: string, path: string, body?: unknown, admin = 'Field-Tech-Pass-77', timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const script = `
const base = 'http://127.0.0.1:18080/api/v1';
const json = { 'content-type': 'application/json' };
const password = ${JSON.stringify(admin)};
(async () => {
  await fetch(base + '/setup', { method: 'POST', headers: json, body: JSON.stringify({ password }) });
  const login = await fetch(base + '/login', { method: 'POST', headers: json, body: JSON.stringify({ password }) });
  const cookie = (login.headers.get('set-cookie') || '').split(';')[0];
  const csrf = (await login.json()).csrfToken;
  const body = ${JSON.stringify(body === undefined ? null : JSON.stringify(body))};
  const r = await fetch(base + ${JSON.stringify(path)}, { method: ${JSON.stringify(method)}, headers: { ...json, cookie, 'x-csrf-token': csrf }, ...(body === null ? {} : { body }) });
  process.stdout.write(await r.text());
})();`;
  const r = await lab.exec(host, [process.execPath, '-e', script], timeoutMs);
  try {
    return JSON.parse(r.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`${method} ${path} in ${host}: not JSON: ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 300)}`);
  }
}

export const apiGetIn = (lab: Lab, host: string, path: string, admin?: string): Promise<Record<string, unknown>> => apiIn(lab, host, 'GET', path, undefined, admin);
