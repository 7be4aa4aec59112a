/**
 * The one place a test decides to skip for want of something outside it: a real peer (strongSwan,
 * sstpc, mosquitto, Chromium, the VM image, the openssl CLI) or root for network namespaces.
 *
 * Pass the reason the requirement is missing, or false (null, undefined) when it is met. On a
 * developer's box the reason is tap's `skip`. Under CI (CI=true) a missing requirement is a failure
 * (issue 15.12): a failing test named after it is added, and the reason is still returned so the
 * tests that need it do not also fail one by one on the missing binary. 25 skipped interop tests
 * once passed as a green run; they cannot now.
 */
import t from 'tap';

export interface LabSkipOptions {
  /** Whether this is CI; read from CI=true when not given. */
  readonly ci?: boolean;
  /** How a failure is recorded; by default a failing tap test in the calling file. */
  readonly fail?: (message: string) => void;
}

export function labSkip(reason: string | false | null | undefined, options: LabSkipOptions = {}): string | false {
  if (!reason) return false;
  const ci = options.ci ?? process.env['CI'] === 'true';
  if (ci) (options.fail ?? failInTap)(`under CI (CI=true) a missing requirement is a failure, not a skip: ${reason}`);
  return reason;
}

function failInTap(message: string): void {
  t.test(`lab requirement missing: ${message}`, async (t) => {
    t.fail(message);
  });
}
