/**
 * Whether this kernel can carry TLS records (kTLS, issue 23): the `tls` upper layer is registered, or
 * its module is there to be loaded on the first TCP_ULP. Tests expect the driver's calls on kTLS where
 * it is and on the userspace fallback where it is not (this CI's kernel lists only mptcp).
 */
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';

export function kernelHasTls(): boolean {
  let available = '';
  try {
    available = readFileSync('/proc/sys/net/ipv4/tcp_available_ulp', 'utf8');
  } catch {
    return false;
  }
  if (available.split(/\s+/).includes('tls')) return true;
  const dir = `/lib/modules/${release()}/kernel/net/tls`;
  return existsSync(`${dir}/tls.ko`) || existsSync(`${dir}/tls.ko.xz`) || existsSync(`${dir}/tls.ko.zst`);
}
