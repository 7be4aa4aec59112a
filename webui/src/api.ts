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

/** Raw bytes (a piece of a firmware bundle) with the CSRF token; the JSON answer, or an ApiFailure. */
export async function sendBytes<T = Record<string, unknown>>(method: string, path: string, bytes: Blob): Promise<T> {
  const res = await fetch(`/api/v1${path}`, { method, headers: { 'content-type': 'application/octet-stream', 'x-csrf-token': csrf }, credentials: 'same-origin', body: bytes });
  const answer = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string; details?: Record<string, unknown> } };
  if (!res.ok) throw new ApiFailure(res.status, answer.error?.code ?? 'UNKNOWN', answer.error?.message ?? res.statusText, answer.error?.details ?? {});
  return answer as T;
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

/** One problem the API names at a field of the configuration ("sites[1].remoteSubnets[0]"). */
export interface Issue {
  readonly path: string;
  readonly message: string;
  readonly code?: string;
}

const issueList = (value: unknown): Issue[] =>
  Array.isArray(value) ? value.filter((i): i is Issue => !!i && typeof i === 'object' && typeof (i as Issue).path === 'string' && typeof (i as Issue).message === 'string') : [];

/** The warnings of an answer: a change's body (`warnings`) or a refusal's details. */
export const warningsOf = (answer: unknown): Issue[] =>
  issueList(answer instanceof ApiFailure ? answer.details['warnings'] : (answer as { warnings?: unknown } | null | undefined)?.warnings);

/**
 * What a form shows: each error and warning at the form field its path maps to (`place` gives the
 * field's key, or undefined when the path is not on this form), the rest listed under the form.
 */
export interface FormIssues {
  readonly errors: Record<string, string>;
  readonly warnings: Record<string, string>;
  /** Errors at paths this form has no field for, each with its path. */
  readonly elsewhere: Issue[];
  /** Every warning, for the banner. */
  readonly banner: Issue[];
  /** The change was refused (the warnings are about what was sent, not what is saved). */
  readonly refused: boolean;
}

export const NO_ISSUES: FormIssues = { errors: {}, warnings: {}, elsewhere: [], banner: [], refused: false };

export function formIssues(answer: unknown, place: (path: string) => string | undefined): FormIssues {
  const errors: Record<string, string> = {};
  const elsewhere: Issue[] = [];
  const add = (key: string | undefined, issue: Issue, into: Record<string, string>, rest?: Issue[]) => {
    if (key === undefined) return rest?.push(issue);
    into[key] = into[key] ? `${into[key]}; ${issue.message}` : issue.message;
  };
  if (answer instanceof ApiFailure) {
    const field = answer.details['field'];
    const problems = answer.details['problems'] as Array<{ message: string }> | undefined;
    if (problems) add(place(String(field ?? 'password')) ?? String(field ?? 'password'), { path: String(field ?? 'password'), message: problems.map((p) => p.message).join('; ') }, errors);
    for (const issue of issueList(answer.details['issues'])) add(place(issue.path), issue, errors, elsewhere);
    if (!problems && typeof field === 'string' && !errors[field]) add(place(field) ?? field, { path: field, message: answer.message }, errors);
  }
  const warnings: Record<string, string> = {};
  const banner = warningsOf(answer);
  for (const w of banner) add(place(w.path), w, warnings);
  return { errors, warnings, elsewhere, banner, refused: answer instanceof ApiFailure };
}

/**
 * `place` for the form of one list item at `index` (a new one is appended: index = the list's length):
 * "users[3].name" → "name", "sites[2].remoteSubnets[1]" → "remoteSubnets"; other items' paths are not here.
 */
export const inItem = (list: string, index: number) => (path: string): string | undefined => {
  const prefix = `${list}[${index}].`;
  return path.startsWith(prefix) ? /^[A-Za-z0-9]+/.exec(path.slice(prefix.length))?.[0] : undefined;
};
