import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * The public key update bundles must be signed with. esbuild builds it in (scripts/build.mjs,
 * scripts/upgrade-key.mjs); `dev` marks the development key, which anyone with the repository's
 * cache can sign with: such an image is for the lab, and the API and the log say so.
 */
declare const POSTERN_UPGRADE_KEY: { pem: string; dev: boolean } | undefined;

export interface TrustedKey {
  readonly key: KeyObject;
  readonly dev: boolean;
}

const DEV_PUBLIC_KEY = '.cache/upgrade-keys/dev-public.pem';

/** The built-in key; running from source, the development key if one was made; else none (no upgrades). */
export function trustedUpgradeKey(): TrustedKey | undefined {
  if (typeof POSTERN_UPGRADE_KEY !== 'undefined') return { key: createPublicKey(POSTERN_UPGRADE_KEY.pem), dev: POSTERN_UPGRADE_KEY.dev };
  try {
    return { key: createPublicKey(readFileSync(DEV_PUBLIC_KEY, 'utf8')), dev: true };
  } catch {
    return undefined;
  }
}
