// The web UI's files as the management server serves them (issue 17): built with content-hashed
// names and precompressed (scripts/build-webui.mjs into a temporary directory), answered in the
// coding the client accepts best with Vary, cached a year when hashed and revalidated otherwise,
// 304 for a current copy.
import { request } from 'node:http';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import t from 'tap';
import { buildWebui } from '../../../scripts/build-webui.mjs';
import { tempDir } from '../../helpers/tmp.ts';
import { startWeb } from './web-harness.ts';

interface Reply { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }

function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

t.test('hashed, precompressed static files with cache headers and coding negotiation', async (t) => {
  const dir = tempDir(t, 'postern-webui-');
  const built = await buildWebui(join(dir, 'build'));
  const before = process.env['POSTERN_WEBUI_DIR'];
  process.env['POSTERN_WEBUI_DIR'] = dir;
  t.teardown(() => (before === undefined ? delete process.env['POSTERN_WEBUI_DIR'] : (process.env['POSTERN_WEBUI_DIR'] = before)));
  const { port } = await startWeb(t);

  const page = await get(port, '/', { 'accept-encoding': 'gzip, deflate, br, zstd' });
  t.equal(page.status, 200);
  t.same([page.headers['content-encoding'], page.headers['vary'], page.headers['cache-control']], ['br', 'Accept-Encoding', 'no-cache'], 'the page: brotli, Vary, revalidated on every visit');
  const html = brotliDecompressSync(page.body).toString('utf8');
  const script = /src="\/(app\.[0-9a-f]{12}\.js)"/.exec(html)?.[1];
  const styles = /href="\/(app\.[0-9a-f]{12}\.css)"/.exec(html)?.[1];
  t.ok(script && styles, `the page names its files by content: ${script}, ${styles}`);
  t.equal((await get(port, '/app.js')).status, 404, 'no unhashed name');

  const br = await get(port, `/${script}`, { 'accept-encoding': 'gzip, deflate, br' });
  const gz = await get(port, `/${script}`, { 'accept-encoding': 'gzip, deflate' });
  const plain = await get(port, `/${script}`);
  t.same([br.headers['content-encoding'], gz.headers['content-encoding'], plain.headers['content-encoding']], ['br', 'gzip', undefined], 'br, gzip or plain as accepted');
  t.ok(brotliDecompressSync(br.body).equals(plain.body) && gunzipSync(gz.body).equals(plain.body), 'the same script in each form');
  for (const r of [br, gz, plain]) {
    t.equal(r.headers['cache-control'], 'public, max-age=31536000, immutable', 'a hashed name is kept a year');
    t.equal(r.headers['vary'], 'Accept-Encoding');
    t.equal(Number(r.headers['content-length']), r.body.length);
  }
  t.ok(br.body.length < gz.body.length && gz.body.length < plain.body.length / 2, `script: ${br.body.length} B br, ${gz.body.length} B gzip, ${plain.body.length} B plain`);
  t.equal((await get(port, `/${styles}`, { 'accept-encoding': 'br' })).headers['content-type'], 'text/css; charset=utf-8');
  t.equal((await get(port, `/${script}`, { 'accept-encoding': 'br;q=0, gzip;q=0' })).headers['content-encoding'], undefined, 'both refused: plain');

  const again = await get(port, `/${script}`, { 'accept-encoding': 'br', 'if-none-match': String(br.headers['etag']) });
  t.same([again.status, again.body.length, again.headers['vary']], [304, 0, 'Accept-Encoding'], 'a current copy: 304, no body');
  t.equal((await get(port, `/${script}`, { 'accept-encoding': 'gzip', 'if-none-match': String(br.headers['etag']) })).status, 200, "the brotli form's tag does not stand for the gzip form");
  t.not(br.headers['etag'], gz.headers['etag'], 'each coding its own tag');
  const head = await get(port, '/', { 'accept-encoding': 'br' }, 'HEAD');
  t.same([head.status, head.body.length, Number(head.headers['content-length'])], [200, 0, page.body.length], 'HEAD: the headers only');
  t.equal((await get(port, '/healthz')).headers['cache-control'], 'no-store', 'the rest stays uncached');
  const total = (c: 'br' | 'gzip' | 'identity') => Object.values(built.files).reduce((a, f) => a + f[c], 0);
  t.same([built.br, built.gzip, built.identity], [total('br'), total('gzip'), total('identity')]);
  t.comment(`web UI transferred: ${built.br} B brotli, ${built.gzip} B gzip, ${built.identity} B plain`);
});
