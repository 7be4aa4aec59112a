/** Method + path patterns (`/api/v1/users/:name`) to handlers; who may call each is part of the route. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminSession } from './sessions.ts';

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Set for every route but the public ones. */
  readonly session: AdminSession | undefined;
  body(): Promise<unknown>;
}

export type Reply =
  | { readonly status: number; readonly body: unknown; readonly headers?: Record<string, string | string[]> }
  | { readonly file: string | Buffer; readonly contentType: string; readonly filename: string };

export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly path: string;
  /** Callable without a session (setup, login). */
  readonly public?: boolean;
  readonly handler: (c: RequestContext) => Promise<Reply> | Reply;
}

export interface Match {
  readonly route: Route;
  readonly params: Record<string, string>;
}

export class Router {
  readonly routes: readonly Route[];

  constructor(routes: readonly Route[]) {
    this.routes = routes;
  }

  /** The route for a request, or which methods the path has (for 405), or nothing (404). */
  match(method: string, path: string): Match | { readonly allow: string[] } | undefined {
    const allow: string[] = [];
    for (const route of this.routes) {
      const params = matchPath(route.path, path);
      if (!params) continue;
      if (route.method === method) return { route, params };
      allow.push(route.method);
    }
    return allow.length ? { allow } : undefined;
  }
}

function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const a = pattern.split('/');
  const b = path.split('/');
  if (a.length !== b.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < a.length; i++) {
    const p = a[i]!;
    if (p.startsWith(':')) {
      let value: string;
      try {
        value = decodeURIComponent(b[i]!);
      } catch {
        return undefined;
      }
      if (!value) return undefined;
      params[p.slice(1)] = value;
    } else if (p !== b[i]) return undefined;
  }
  return params;
}
