// The Ed25519 key pair that signs update bundles. Images trust the public key built into them
// (scripts/build.mjs defines POSTERN_UPGRADE_KEY). A release build names the vendor's public key with
// POSTERN_UPGRADE_PUBLIC_KEY=FILE and signs with POSTERN_UPGRADE_SIGNING_KEY=FILE (kept off the build
// machine's disk otherwise); without them a development key pair is made once in .cache/upgrade-keys/
// (git-ignored), good for `make run` and the tests, and flagged as such in every image that trusts it.
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEV_KEY_DIR = '.cache/upgrade-keys';

export function ensureDevKeyPair() {
  const priv = join(DEV_KEY_DIR, 'dev-signing.pem');
  const pub = join(DEV_KEY_DIR, 'dev-public.pem');
  if (!existsSync(priv) || !existsSync(pub)) {
    mkdirSync(DEV_KEY_DIR, { recursive: true, mode: 0o700 });
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(priv, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    writeFileSync(pub, publicKey.export({ type: 'spki', format: 'pem' }));
  }
  return { privatePath: priv, publicPath: pub };
}

/** The public key an image is built to trust: { pem, dev }. */
export function buildPublicKey() {
  const named = process.env.POSTERN_UPGRADE_PUBLIC_KEY;
  if (named) {
    const pem = readFileSync(named, 'utf8');
    if (createPublicKey(pem).asymmetricKeyType !== 'ed25519') throw new Error(`${named} is not an Ed25519 public key`);
    return { pem, dev: false };
  }
  return { pem: readFileSync(ensureDevKeyPair().publicPath, 'utf8'), dev: true };
}

/** The private key bundles are signed with: the named one, or the development key when the image trusts that. */
export function signingKeyPath() {
  if (process.env.POSTERN_UPGRADE_SIGNING_KEY) return process.env.POSTERN_UPGRADE_SIGNING_KEY;
  if (process.env.POSTERN_UPGRADE_PUBLIC_KEY) throw new Error('POSTERN_UPGRADE_PUBLIC_KEY is set: name the matching private key with POSTERN_UPGRADE_SIGNING_KEY');
  return ensureDevKeyPair().privatePath;
}
