import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Daemon, Lab } from '../topology.ts';
import { EAP_TLS_FILES, RADSEC_FILES, radiusdConf, usersFile, type RadiusSpec } from './freeradius-config.ts';
import { waitUntil } from './wait.ts';

/** A real FreeRADIUS server in a lab host, from a standalone configuration directory. */
export class FreeRadius {
  readonly dir: string;
  readonly daemon: Daemon;

  private constructor(dir: string, daemon: Daemon) {
    this.dir = dir;
    this.daemon = daemon;
  }

  static async start(lab: Lab, host: string, spec: RadiusSpec): Promise<FreeRadius> {
    const dir = lab.subdir(`radius-${host}`);
    writeFileSync(join(dir, 'radiusd.conf'), radiusdConf(dir, spec), { mode: 0o600 });
    writeFileSync(join(dir, 'users'), usersFile(spec.users), { mode: 0o600 });
    writeFileSync(join(dir, 'acct_users'), '');
    if (spec.eapTls) {
      writeFileSync(join(dir, EAP_TLS_FILES.certificate), spec.eapTls.certificatePem);
      writeFileSync(join(dir, EAP_TLS_FILES.key), spec.eapTls.keyPem, { mode: 0o600 });
      writeFileSync(join(dir, EAP_TLS_FILES.ca), spec.eapTls.caPem);
    }
    if (spec.radsec) {
      writeFileSync(join(dir, RADSEC_FILES.certificate), spec.radsec.certificatePem);
      writeFileSync(join(dir, RADSEC_FILES.key), spec.radsec.keyPem, { mode: 0o600 });
      writeFileSync(join(dir, RADSEC_FILES.ca), spec.radsec.clientCaPem);
    }
    const daemon = lab.spawnDaemon(host, `freeradius-${host}`, ['freeradius', '-f', '-l', 'stdout', '-d', dir]);
    const server = new FreeRadius(dir, daemon);
    const port = spec.authPort ?? 1812;
    await waitUntil('FreeRADIUS', 8000, async () => (await lab.exec(host, ['ss', '-lun', `sport = :${port}`])).stdout.includes(`:${port}`), () => server.log());
    return server;
  }

  log(): string {
    try {
      return readFileSync(this.daemon.logFile, 'utf8');
    } catch {
      return '';
    }
  }
}
