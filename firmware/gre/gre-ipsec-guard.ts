/*
 * GRE over IPsec (issue 25): a protected GRE site's packets must never cross the WAN in plain text.
 * The IKE subsystem's transport child steers GRE to the peer into its data plane by a policy rule
 * (priority 100, firmware/dataplane/userspace.ts kernelSteerVia) while the SA is up. These two rules
 * sit right behind it, for as long as the site runs:
 *  - out: GRE to the peer that the steering rule did not take (no SA) meets a blackhole, so the
 *    site's raw socket gets an error (counted by the driver as dropIo) instead of sending it plain;
 *  - in: GRE from the peer arriving on the WAN itself (not decrypted out of the hub) is dropped
 *    by the kernel before it reaches the site's socket.
 */
import { execFileSync } from 'node:child_process';

/** Right behind the transport steering rules (100). */
export const GRE_GUARD_PRIORITY = 101;

/** The `ip rule` selectors of both guards: `remote` is the peer's WAN address, `wan` our WAN interface. */
export function greGuardRules(remote: string, wan: string): string[][] {
  return [
    ['to', `${remote}/32`, 'ipproto', '47'],
    ['from', `${remote}/32`, 'iif', wan, 'ipproto', '47'],
  ];
}

const ip = (args: string[]): boolean => {
  try {
    execFileSync('ip', args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** Installs both guards (a leftover copy from a crash is replaced, not doubled); false if the kernel refused. */
export function addGreGuard(remote: string, wan: string): boolean {
  removeGreGuard(remote, wan);
  return greGuardRules(remote, wan).every((match) => ip(['rule', 'add', ...match, 'blackhole', 'priority', String(GRE_GUARD_PRIORITY)]));
}

export function removeGreGuard(remote: string, wan: string): void {
  // Bounded: a rule added twice by an earlier run is deleted as often as it is there, at most 4 times.
  for (const match of greGuardRules(remote, wan)) for (let i = 0; i < 4 && ip(['rule', 'del', ...match, 'blackhole', 'priority', String(GRE_GUARD_PRIORITY)]); i++);
}
