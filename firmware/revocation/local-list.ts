import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { normalSerial } from './der-read.ts';

/**
 * Postern's own CA's revocations, read where the control API keeps them (`<state>/pki/issued.json`:
 * the certificates it issued, `revokedAt` on the revoked ones). No HTTP, no CRL parsing: the CA's
 * own record is the truth its published CRL is made from. Re-read only when the file changes.
 */
export class LocalRevocationList {
  readonly #path: string;
  #stamp = '';
  #revoked = new Map<string, Date>();
  /** Serial → the VPN user the certificate was issued to (issue 17), for the user-state check. */
  #users = new Map<string, string>();

  constructor(stateDir: string) {
    this.#path = join(stateDir, 'pki', 'issued.json');
  }

  /** Re-reads the file when it changed; true when the set of revocations changed. */
  refresh(): boolean {
    let stamp = 'absent';
    try {
      const s = statSync(this.#path);
      stamp = `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch { /* no certificate issued yet */ }
    if (stamp === this.#stamp) return false;
    this.#stamp = stamp;
    const next = new Map<string, Date>();
    const users = new Map<string, string>();
    if (stamp !== 'absent') {
      try {
        const records = JSON.parse(readFileSync(this.#path, 'utf8')) as unknown;
        for (const r of Array.isArray(records) ? records : []) {
          const rec = r as { serialHex?: unknown; revokedAt?: unknown; user?: unknown };
          if (typeof rec.serialHex === 'string' && typeof rec.user === 'string') users.set(normalSerial(rec.serialHex), rec.user);
          if (typeof rec.serialHex === 'string' && typeof rec.revokedAt === 'string' && !Number.isNaN(Date.parse(rec.revokedAt))) next.set(normalSerial(rec.serialHex), new Date(rec.revokedAt));
        }
      } catch {
        return false; // caught mid-write or damaged: keep what we knew, try again next time
      }
    }
    const changed = next.size !== this.#revoked.size || [...next.keys()].some((k) => !this.#revoked.has(k));
    this.#revoked = next;
    this.#users = users;
    return changed;
  }

  revokedAt(serialHex: string): Date | undefined {
    this.refresh();
    return this.#revoked.get(normalSerial(serialHex));
  }

  /** The VPN user a certificate was issued to; undefined for gateway and site certificates and older records. */
  userOf(serialHex: string): string | undefined {
    this.refresh();
    return this.#users.get(normalSerial(serialHex));
  }
}
