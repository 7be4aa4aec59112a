/**
 * strongSwan's eap-peap plugin, which Debian 12 does not ship: built into .cache by
 * scripts/lab/build-eap-peap.sh (part of `make lab-deps`) from Debian's source package for the
 * installed strongSwan, and loaded into a lab charon with `preload` (LD_PRELOAD).
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { runSync } from '../command.ts';

const DIR = join(import.meta.dirname, '..', '..', '..', '.cache', 'strongswan-eap-peap');

/** The plugin built for the installed strongSwan, or why there is none. */
export function eapPeapPlugin(): { path: string } | { missing: string } {
  const version = (runSync(['dpkg-query', '-W', '-f=${Version}', 'libstrongswan'], 5000)).stdout.trim();
  const upstream = version.split('-')[0] ?? '';
  const built = existsSync(DIR) ? readdirSync(DIR).find((d) => d.split('-')[0] === upstream && existsSync(join(DIR, d, 'libstrongswan-eap-peap.so'))) : undefined;
  return built ? { path: join(DIR, built, 'libstrongswan-eap-peap.so') } : { missing: `strongSwan's eap-peap plugin for ${version || 'strongSwan'} is not built: run scripts/lab/build-eap-peap.sh (make lab-deps)` };
}
