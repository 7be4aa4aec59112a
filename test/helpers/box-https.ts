// fetch() over HTTPS trusting only the box's own CA (its state directory's pki/ca.pem, read per call:
// a factory reset makes a new one). Node's global fetch takes no CA, so this goes through node:https.
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

/** A drop-in for fetch(url, init) against a Postern whose CA is at `caFile`; the name is not checked (the test dials 127.0.0.1). */
export function boxFetch(caFile: string, url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    // Read per call and failing as the request would: mid-reset the file may be gone for a moment.
    const ca = readFileSync(caFile, 'utf8');
    const req = request(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, ca, checkServerIdentity: () => undefined, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) for (const one of Array.isArray(v) ? v : v === undefined ? [] : [v]) headers.append(k, one);
        const status = res.statusCode ?? 0;
        resolve(new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), { status, headers }));
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(init.body);
  });
}
