import { createDiffieHellman, createECDH, createPublicKey, diffieHellman, generateKeyPairSync, getDiffieHellman, type KeyObject } from 'node:crypto';
import { DhId } from '../registry/numbers.ts';

/**
 * Diffie-Hellman for IKE_SA_INIT and PFS (RFC 7296 §2.14): MODP groups (RFC 2409, RFC 3526),
 * NIST curves with KE data x | y and the x coordinate as secret (RFC 5903 §7), Curve25519 (RFC 8031).
 * `computeSecret` returns undefined for a public value that must be refused.
 */
export interface DhExchange {
  readonly group: number;
  readonly publicValue: Uint8Array;
  computeSecret(peer: Uint8Array): Uint8Array | undefined;
  /**
   * Starts computing the secret with `peer` elsewhere (a worker thread, dh-worker-pool.ts);
   * `computeSecret(peer)` later returns it, or computes it then if it has not come back.
   * False for a value refused at once (length, range). Absent: compute when asked.
   */
  prepare?(peer: Uint8Array): boolean;
}

const MODP: Record<number, string> = { [DhId.MODP_1024]: 'modp2', [DhId.MODP_2048]: 'modp14', [DhId.MODP_3072]: 'modp15', [DhId.MODP_4096]: 'modp16' };
const ECP: Record<number, { curve: string; size: number }> = {
  [DhId.ECP_256]: { curve: 'prime256v1', size: 32 },
  [DhId.ECP_384]: { curve: 'secp384r1', size: 48 },
  [DhId.ECP_521]: { curve: 'secp521r1', size: 66 },
};

/** A MODP or NIST-curve group's parameters: what a key pair or a secret needs, also in a worker thread. */
export type DhSpec = { readonly kind: 'modp'; readonly name: string; readonly size: number } | { readonly kind: 'ecp'; readonly curve: string; readonly size: number };

const MODP_SIZES: Record<string, number> = { modp2: 128, modp14: 256, modp15: 384, modp16: 512 };

/** MODP and ECP groups (X25519 is not offloaded: its keys are KeyObjects, and it is cheap). */
export function dhSpec(group: number): DhSpec | undefined {
  const m = MODP[group];
  if (m) return { kind: 'modp', name: m, size: MODP_SIZES[m]! };
  const e = ECP[group];
  return e && { kind: 'ecp', curve: e.curve, size: e.size };
}

const primes = new Map<string, bigint>();
const primeOf = (name: string) => {
  let p = primes.get(name);
  if (p === undefined) primes.set(name, (p = BigInt(`0x${getDiffieHellman(name).getPrime().toString('hex')}`)));
  return p;
};

/** The checks that need no curve arithmetic: the length, and for MODP the range (RFC 6989 §2.1). */
export function peerValueAcceptable(spec: DhSpec, peer: Uint8Array): boolean {
  if (spec.kind === 'ecp') return peer.length === 2 * spec.size;
  if (peer.length !== spec.size) return false;
  const y = BigInt(`0x${Buffer.from(peer).toString('hex') || '0'}`);
  return y > 1n && y < primeOf(spec.name) - 1n;
}

/** The secret from a private key made elsewhere (a worker's key pair), computed here. */
export function secretFromPrivateKey(spec: DhSpec, privateKey: Uint8Array, peer: Uint8Array): Uint8Array | undefined {
  if (!peerValueAcceptable(spec, peer)) return undefined;
  try {
    if (spec.kind === 'modp') {
      const group = getDiffieHellman(spec.name); // a named group cannot take a private key: a plain DH over its prime can
      const dh = createDiffieHellman(group.getPrime(), group.getGenerator());
      dh.setPrivateKey(privateKey);
      return leftPad(dh.computeSecret(peer), spec.size);
    }
    const ecdh = createECDH(spec.curve);
    ecdh.setPrivateKey(privateKey);
    return leftPad(ecdh.computeSecret(Buffer.concat([Buffer.of(4), peer])), spec.size); // OpenSSL checks the point is on the curve
  } catch {
    return undefined;
  }
}

export const supportedGroups: readonly number[] = [...Object.keys(MODP), ...Object.keys(ECP), String(DhId.CURVE25519)].map(Number);

function leftPad(value: Uint8Array, size: number): Uint8Array {
  if (value.length >= size) return value;
  const out = new Uint8Array(size);
  out.set(value, size - value.length);
  return out;
}

function modp(group: number, name: string): DhExchange {
  const dh = getDiffieHellman(name);
  dh.generateKeys();
  const prime = dh.getPrime();
  const p = primeOf(name);
  return {
    group,
    // RFC 7296 §3.4: the public value is padded to the modulus length with leading zeros.
    publicValue: leftPad(dh.getPublicKey(), prime.length),
    computeSecret(peer) {
      if (peer.length !== prime.length) return undefined;
      const y = BigInt(`0x${Buffer.from(peer).toString('hex') || '0'}`);
      if (y <= 1n || y >= p - 1n) return undefined; // RFC 6989 §2.1: reject degenerate values
      return leftPad(dh.computeSecret(peer), prime.length);
    },
  };
}

function ecp(group: number, curve: string, size: number): DhExchange {
  const ecdh = createECDH(curve);
  ecdh.generateKeys();
  return {
    group,
    publicValue: ecdh.getPublicKey().subarray(1), // drop the 0x04 "uncompressed" prefix (RFC 5903 §7)
    computeSecret(peer) {
      if (peer.length !== 2 * size) return undefined;
      try {
        return leftPad(ecdh.computeSecret(Buffer.concat([Buffer.of(4), peer])), size); // OpenSSL checks the point is on the curve
      } catch {
        return undefined;
      }
    },
  };
}

function x25519(): DhExchange {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  return {
    group: DhId.CURVE25519,
    publicValue: rawX25519(publicKey),
    computeSecret(peer) {
      if (peer.length !== 32) return undefined;
      try {
        const peerKey = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(peer).toString('base64url') }, format: 'jwk' });
        const secret = diffieHellman({ privateKey, publicKey: peerKey });
        return secret.every((b) => b === 0) ? undefined : secret; // RFC 8031 §2.3: all-zero means a low-order point
      } catch {
        return undefined;
      }
    },
  };
}

function rawX25519(key: KeyObject): Uint8Array {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x ?? '', 'base64url');
}

/** A fresh key pair for `group`, or undefined when the group is not implemented. */
export function createDh(group: number): DhExchange | undefined {
  const m = MODP[group];
  if (m) return modp(group, m);
  const e = ECP[group];
  if (e) return ecp(group, e.curve, e.size);
  if (group === DhId.CURVE25519) return x25519();
  return undefined;
}
