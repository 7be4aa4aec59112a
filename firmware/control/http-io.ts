/** Request bodies and responses for the API: JSON only, bounded, never trusting the client's sizes. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseJsonInput } from '../util/json-input.ts';
import { ApiCode, ApiError } from './api-error.ts';

export const MAX_BODY = 64 * 1024;

export async function readJson(req: IncomingMessage, limit = MAX_BODY): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ApiError(413, ApiCode.tooLarge, `the body is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return {};
  if (type !== 'application/json') throw new ApiError(415, ApiCode.unsupportedMediaType, 'send application/json');
  // Bounded before anything walks it (a 30 KB body nested 5,000 deep overflowed the stack, issue 15.7).
  const input = parseJsonInput(Buffer.concat(chunks).toString('utf8'));
  if (!input.ok) throw new ApiError(400, ApiCode.badRequest, `the body is ${input.reason}`, { reason: input.reason });
  return input.value;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendFile(res: ServerResponse, body: string | Buffer, contentType: string, filename: string): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': bytes.length, 'Content-Disposition': `attachment; filename="${filename.replace(/[^\w.-]/g, '_')}"` });
  res.end(bytes);
}

export function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const at = part.indexOf('=');
    if (at > 0) out.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
  }
  return out;
}

/** The address the request came from (the socket's, not a header a client could forge). */
export const clientAddress = (req: IncomingMessage): string => req.socket.remoteAddress ?? 'unknown';

/** Field checks for bodies: each throws a 400 naming the field. */
export function field<T>(body: unknown, name: string, check: (v: unknown) => v is T, what: string): T {
  const value = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[name] : undefined;
  if (!check(value)) throw new ApiError(400, ApiCode.badRequest, `'${name}' must be ${what}`, { field: name });
  return value;
}
export const isString = (v: unknown): v is string => typeof v === 'string';
export const isNonEmptyString = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 256;
export const isInt = (v: unknown): v is number => Number.isInteger(v);
export const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
