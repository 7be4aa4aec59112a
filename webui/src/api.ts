/** The control API from the browser: JSON both ways, the CSRF token on every change, typed failures. */
export class ApiFailure extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: Record<string, unknown> = {}) {
    super(message);
  }
}

let csrf = '';
export const setCsrf = (token: string) => {
  csrf = token;
};

async function request(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrf;
  const res = await fetch(`/api/v1${path}`, { method, headers, credentials: 'same-origin', ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  if (res.ok) return res;
  let error: { code?: string; message?: string; details?: Record<string, unknown> } = {};
  try {
    error = ((await res.json()) as { error?: typeof error }).error ?? {};
  } catch {
    // not JSON: the status says enough
  }
  throw new ApiFailure(res.status, error.code ?? 'UNKNOWN', error.message ?? res.statusText, error.details ?? {});
}

export async function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
  return (await (await request(method, path, body)).json()) as T;
}

/** Saves what a route answers as a file, under the name the server gives it. */
export async function download(method: string, path: string, body?: unknown): Promise<string> {
  const res = await request(method, path, body);
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1] ?? 'download';
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

/** Per-field messages from a failure's details (password rules, config issues). */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiFailure)) return {};
  const out: Record<string, string> = {};
  const problems = error.details['problems'] as Array<{ message: string }> | undefined;
  if (problems) out[String(error.details['field'] ?? 'password')] = problems.map((p) => p.message).join('; ');
  for (const issue of (error.details['issues'] as Array<{ path: string; message: string }> | undefined) ?? []) out[issue.path] = issue.message;
  if (typeof error.details['field'] === 'string' && !out[error.details['field']]) out[error.details['field']] = error.message;
  return out;
}

export const describe = (error: unknown): string => (error instanceof ApiFailure ? error.message : String(error));
