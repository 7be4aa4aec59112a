/**
 * What applying system.timezone and system.ntp.servers to the box means (issue 17), sans-I/O: given
 * which tools the system has (a probe of paths under its root), the files to write and the commands
 * to run. systemd boxes keep /etc/localtime through timedated (the unit's ProtectSystem leaves /etc
 * read-only to Postern) and NTP through a timesyncd drop-in; OpenWrt through uci; anything else
 * (busybox) through /etc/localtime and /etc/ntp.conf. The shell is time-apply.ts.
 */

import { posixTzOf } from './tzif.ts';

export interface TimeSettings {
  /** An IANA zone name, already checked by the configuration's `timezone` format. */
  readonly timezone: string;
  /** Host names or addresses, checked by the `host` format; empty: the system's own servers. */
  readonly ntpServers: readonly string[];
}

export type TimeAction =
  | { readonly kind: 'write'; readonly path: string; readonly content: string }
  | { readonly kind: 'remove'; readonly path: string }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string }
  | { readonly kind: 'run'; readonly argv: readonly string[] };

export interface TimePlan {
  readonly actions: readonly TimeAction[];
  /** What could not be applied, in words for the log. */
  readonly notes: readonly string[];
  /** What the settings need and this system cannot do (shown as not applied). */
  readonly errors: readonly string[];
}

/** Does this path exist on the system (relative to its root, written absolute)? */
export type PathProbe = (path: string) => boolean;
/** A file's bytes on the system (same paths), or undefined when it is not there. */
export type FileReader = (path: string) => Uint8Array | undefined;

export const TIMESYNCD_DROP_IN = '/etc/systemd/timesyncd.conf.d/postern.conf';
const MARK = '# Written by Postern from system.ntp.servers; changes here are replaced.';

const any = (probe: PathProbe, paths: readonly string[]) => paths.some((p) => probe(p));
const isSystemd = (probe: PathProbe) => any(probe, ['/usr/bin/timedatectl', '/bin/timedatectl']);
const isOpenWrt = (probe: PathProbe) => probe('/sbin/uci') && probe('/etc/config/system');
const hasTimesyncd = (probe: PathProbe) => any(probe, ['/lib/systemd/systemd-timesyncd', '/usr/lib/systemd/systemd-timesyncd']);
/** ntpd's init script: Alpine/OpenRC and sysvinit, then Buildroot's. */
const NTPD_SCRIPTS = ['/etc/init.d/ntpd', '/etc/init.d/S49ntp'];
const hasNtpd = (probe: PathProbe) => any(probe, ['/usr/sbin/ntpd', '/sbin/ntpd', '/usr/bin/ntpd', '/bin/ntpd']);

export function planTimeApply(settings: TimeSettings, probe: PathProbe, read: FileReader = () => undefined): TimePlan {
  const actions: TimeAction[] = [];
  const notes: string[] = [];
  const errors: string[] = [];
  zone(settings.timezone, probe, read, actions, notes, errors);
  ntp(settings.ntpServers, probe, actions, notes);
  return { actions, notes, errors };
}

function zone(tz: string, probe: PathProbe, read: FileReader, actions: TimeAction[], notes: string[], errors: string[]): void {
  if (isSystemd(probe)) {
    actions.push({ kind: 'run', argv: ['timedatectl', 'set-timezone', tz] });
  } else if (isOpenWrt(probe)) {
    // OpenWrt's libc reads only the POSIX TZ string (timezone → /etc/TZ); zonename is the label LuCI shows.
    const file = read(`/usr/share/zoneinfo/${tz}`);
    let posix: string;
    try {
      if (file === undefined) throw new Error(`no /usr/share/zoneinfo/${tz} on this OpenWrt (the zoneinfo-* packages provide it)`);
      posix = posixTzOf(file);
    } catch (error) {
      errors.push(`time zone ${tz} not applied: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    actions.push(
      { kind: 'run', argv: ['uci', 'set', `system.@system[0].zonename=${tz}`] },
      { kind: 'run', argv: ['uci', 'set', `system.@system[0].timezone=${posix}`] },
      { kind: 'run', argv: ['uci', 'commit', 'system'] },
      { kind: 'run', argv: ['/etc/init.d/system', 'reload'] },
    );
  } else if (probe(`/usr/share/zoneinfo/${tz}`)) {
    actions.push({ kind: 'symlink', path: '/etc/localtime', target: `/usr/share/zoneinfo/${tz}` });
    if (probe('/etc/timezone')) actions.push({ kind: 'write', path: '/etc/timezone', content: `${tz}\n` });
  } else {
    notes.push(`no /usr/share/zoneinfo/${tz} on this system: its clock stays in UTC (Postern's own times are UTC anyway)`);
  }
}

function ntp(servers: readonly string[], probe: PathProbe, actions: TimeAction[], notes: string[]): void {
  if (hasTimesyncd(probe)) {
    // Empty: the drop-in goes and timesyncd is back on the distribution's servers.
    actions.push(servers.length > 0
      ? { kind: 'write', path: TIMESYNCD_DROP_IN, content: `${MARK}\n[Time]\nNTP=${servers.join(' ')}\n` }
      : { kind: 'remove', path: TIMESYNCD_DROP_IN });
    actions.push({ kind: 'run', argv: ['systemctl', 'try-restart', 'systemd-timesyncd.service'] });
  } else if (isOpenWrt(probe) && probe('/etc/init.d/sysntpd')) {
    if (servers.length === 0) return; // OpenWrt's own pool servers stay
    actions.push({ kind: 'run', argv: ['uci', '-q', 'delete', 'system.ntp.server'] });
    for (const s of servers) actions.push({ kind: 'run', argv: ['uci', 'add_list', `system.ntp.server=${s}`] });
    actions.push({ kind: 'run', argv: ['uci', 'commit', 'system'] }, { kind: 'run', argv: ['/etc/init.d/sysntpd', 'restart'] });
  } else if (hasNtpd(probe)) {
    if (servers.length === 0) return;
    // busybox ntpd (and ntpd) read /etc/ntp.conf when started without -p: at its next start.
    actions.push({ kind: 'write', path: '/etc/ntp.conf', content: `${MARK}\n${servers.map((s) => `server ${s}`).join('\n')}\n` });
    const script = NTPD_SCRIPTS.find((p) => probe(p));
    // A plain busybox box: its init script restarts ntpd on the new servers (systemd's ntpd units read their own files).
    if (script && !isSystemd(probe) && !isOpenWrt(probe)) actions.push({ kind: 'run', argv: [script, 'restart'] });
    else notes.push('/etc/ntp.conf written: ntpd reads it at its next start');
  } else if (servers.length > 0) {
    notes.push('no NTP client on this system (systemd-timesyncd, OpenWrt sysntpd or ntpd): the NTP servers are not used');
  }
}
