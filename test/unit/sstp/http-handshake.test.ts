import t from 'tap';
import { answerRequestHead, MAX_REQUEST_HEAD, type HandshakeResult } from '../../../firmware/sstp/http-handshake.ts';
import { CALL_CONNECT_REQUEST } from './vectors.ts';

const NOW = Date.UTC(2006, 10, 9, 0, 51, 9); // [MS-SSTP] §4.1's date, Thu, 09 Nov 2006 00:51:09 GMT
const ascii = (s: string) => Buffer.from(s, 'latin1');
const text = (b: Uint8Array) => Buffer.from(b).toString('latin1');

// What sstpc (sstp-client src/sstp-http.c) and the Windows client send.
const SSTPC = [
  'SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ HTTP/1.1',
  'Host: vpn.example.com',
  'Content-Length: 18446744073709551615',
  'SSTPCORRELATIONID: {B5C4F3E2-0A1B-4C2D-9E8F-123456789ABC}',
  '',
  '',
].join('\r\n');

const answer = (head: string | Uint8Array): HandshakeResult => answerRequestHead(typeof head === 'string' ? ascii(head) : head, NOW);
const status = (head: string) => {
  const r = answer(head);
  return r.kind === 'http' ? r.status : r.kind;
};

t.test('the sstpc request is accepted with the §4.1 response, date injected', async (t) => {
  const r = answer(SSTPC);
  if (r.kind !== 'sstp') throw new Error(`expected sstp, got ${r.kind}`);
  t.equal(text(r.response), 'HTTP/1.1 200\r\nContent-Length: 18446744073709551615\r\nServer: Microsoft-HTTPAPI/2.0\r\nDate: Thu, 09 Nov 2006 00:51:09 GMT\r\n\r\n');
  t.equal(r.headLength, SSTPC.length);
  t.equal(r.host, 'vpn.example.com');
  t.equal(r.correlationId, '{B5C4F3E2-0A1B-4C2D-9E8F-123456789ABC}');
});

t.test('SSTP bytes right after the head are left for the framer', async (t) => {
  const r = answer(Buffer.concat([ascii(SSTPC), CALL_CONNECT_REQUEST]));
  t.equal(r.kind, 'sstp');
  if (r.kind === 'sstp') t.equal(r.headLength, SSTPC.length);
});

t.test('variations a server must take: URI case, query, absolute form, header case, LF ends, no correlation id', async (t) => {
  t.equal(status(SSTPC.replace('/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/', '/SRA_{ba195980-cd49-458B-9e23-c84ee0adcd75}/')), 'sstp');
  t.equal(status(SSTPC.replace('CD75}/ ', 'CD75}/?tenantid=branch-7 ')), 'sstp', '§3.2.4.1 tenantid query, ignored');
  t.equal(status(SSTPC.replace(' /sra_', ' https://vpn.example.com:443/sra_')), 'sstp', 'absolute-form target');
  t.equal(status(SSTPC.replace('Content-Length', 'content-length').replace('Host:', 'HOST:')), 'sstp');
  t.equal(status(SSTPC.replace(/\r\n/g, '\n')), 'sstp', 'bare LF line ends');
  const r = answer(SSTPC.replace(/SSTPCORRELATIONID[^\r]*\r\n/, ''));
  t.equal(r.kind, 'sstp');
  t.notOk(r.kind === 'sstp' && 'correlationId' in r, 'no correlation id');
});

t.test('an unfinished head waits for more bytes', async (t) => {
  t.same(answer(SSTPC.slice(0, 40)), { kind: 'incomplete' });
  t.same(answer(SSTPC.slice(0, SSTPC.length - 1)), { kind: 'incomplete' });
  t.same(answer(''), { kind: 'incomplete' });
});

t.test('browsers and scanners get plain HTTP answers', async (t) => {
  const r = answer('GET / HTTP/1.1\r\nHost: vpn.example.com\r\n\r\n');
  if (r.kind !== 'http') throw new Error('expected an HTTP answer');
  t.equal(r.status, 404);
  t.match(text(r.response), /^HTTP\/1\.1 404 Not Found\r\nDate: Thu, 09 Nov 2006 00:51:09 GMT\r\n.*Content-Length: 14\r\nConnection: close\r\n\r\n404 Not Found\n$/s);
  const head = answer('HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n');
  t.ok(head.kind === 'http' && text(head.response).endsWith('\r\n\r\n'), 'HEAD: no body');
  t.equal(status('SSTP_DUPLEX_POST /sra_{wrong}/ HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551615\r\n\r\n'), 404, 'SSTP method, other URI');
});

t.test('the SSTP URI with the wrong method: 405 with Allow', async (t) => {
  const r = answer(SSTPC.replace('SSTP_DUPLEX_POST', 'POST'));
  t.ok(r.kind === 'http' && r.status === 405);
  if (r.kind === 'http') t.match(text(r.response), /\r\nAllow: SSTP_DUPLEX_POST\r\n/);
  t.equal(status(SSTPC.replace('SSTP_DUPLEX_POST', 'sstp_duplex_post')), 405, 'methods are case-sensitive');
  t.equal(status(SSTPC.replace('SSTP_DUPLEX_POST', 'GET')), 405);
});

t.test('malformed or incomplete SSTP requests: 400, 505', async (t) => {
  t.equal(status(SSTPC.replace('HTTP/1.1', 'HTTP/1.0')), 505);
  t.equal(status(SSTPC.replace('Host: vpn.example.com\r\n', '')), 400, 'no Host');
  t.equal(status(SSTPC.replace('Host: vpn.example.com\r\n', 'Host: a\r\nHost: b\r\n')), 400, 'two Hosts');
  t.equal(status(SSTPC.replace('18446744073709551615', '0')), 400, 'another Content-Length');
  t.equal(status(SSTPC.replace('Content-Length: 18446744073709551615\r\n', '')), 400, 'no Content-Length');
  t.equal(status(SSTPC.replace('Host:', 'Transfer-Encoding: chunked\r\nHost:')), 400, 'Transfer-Encoding');
  t.equal(status(SSTPC.replace('Host:', 'Host :')), 400, 'space before the colon');
  t.equal(status(SSTPC.replace('Host:', ' folded\r\nHost:')), 400, 'obs-fold line');
  t.equal(status(SSTPC.replace(' HTTP/1.1', '  HTTP/1.1')), 400, 'two spaces in the request line');
  t.equal(status(SSTPC.replace('HTTP/1.1', 'HTTP/x')), 400);
  t.equal(status(SSTPC.replace('vpn.example.com', 'vpn\x01example')), 400, 'control character');
  t.equal(status('\x10\x01\x00\x0e\x00\x01'), 400, 'SSTP bytes without HTTP are refused at once');
  t.equal(status('\r\n\r\n'), 400, 'empty request line');
});

t.test('a head over 8 KB: 431, whether or not it ends', async (t) => {
  const big = SSTPC.replace('Host:', `X-Padding: ${'a'.repeat(MAX_REQUEST_HEAD)}\r\nHost:`);
  t.equal(status(big), 431);
  t.equal(status(big.slice(0, MAX_REQUEST_HEAD + 10)), 431, 'no blank line in the first 8 KB');
  t.equal(status(SSTPC.slice(0, 100)), 'incomplete', 'shorter heads still wait');
});
