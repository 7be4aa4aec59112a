/**
 * Admin sessions: a random id in an HttpOnly, SameSite=Strict cookie, a CSRF token returned at login
 * and required on every change (X-CSRF-Token), an idle timeout. In memory and bounded: the oldest
 * session goes when the table is full (a reboot logs everyone out, which is the safe default).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export interface AdminSession {
  readonly id: string;
  readonly csrf: string;
  readonly created: number;
  lastSeen: number;
}

export const SESSION_COOKIE = 'postern_session';

export class SessionStore {
  readonly #sessions = new Map<string, AdminSession>();
  readonly #max: number;
  readonly #now: () => number;
  readonly #random: (n: number) => Buffer;

  constructor(options: { max?: number; now?: () => number; random?: (n: number) => Buffer } = {}) {
    this.#max = options.max ?? 32;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? randomBytes;
  }

  create(): AdminSession {
    if (this.#sessions.size >= this.#max) {
      const oldest = [...this.#sessions.values()].sort((a, b) => a.lastSeen - b.lastSeen)[0];
      if (oldest) this.#sessions.delete(oldest.id);
    }
    const now = this.#now();
    const session = { id: this.#random(32).toString('base64url'), csrf: this.#random(32).toString('base64url'), created: now, lastSeen: now };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session for a cookie value, touched; expired ones are removed. */
  find(id: string | undefined, idleMs: number): AdminSession | undefined {
    const session = id ? this.#sessions.get(id) : undefined;
    if (!session) return undefined;
    if (this.#now() - session.lastSeen > idleMs) {
      this.#sessions.delete(session.id);
      return undefined;
    }
    session.lastSeen = this.#now();
    return session;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  clear(): void {
    this.#sessions.clear();
  }

  get size(): number {
    return this.#sessions.size;
  }
}

export function csrfMatches(session: AdminSession, header: string | string[] | undefined): boolean {
  const given = Buffer.from(typeof header === 'string' ? header : '');
  const expected = Buffer.from(session.csrf);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function sessionCookie(session: AdminSession, secure: boolean, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${session.id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

export const clearedSessionCookie = `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
