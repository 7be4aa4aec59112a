/**
 * strongSwan's charon as a client inside the VM lab's guest, with the guest kernel's own ESP (XFRM
 * through kernel-netlink, as Windows' and Linux's native clients use their kernel's): unlike
 * kernel-libipsec on the host it carries transport mode and does not loop its own ESP into a
 * full tunnel. The test's swanctl.conf comes from strongswan-config.ts; this gives the guest files
 * for Vm.boot's `files` and the shell functions its script uses.
 */
import { CHARON } from '../peers/strongswan.ts';
import { CHARON_PLUGINS, swanctlConf, type SwanSpec } from '../peers/strongswan-config.ts';
import { GUEST_LAB_DIR } from './guest-init.ts';

const DIR = `${GUEST_LAB_DIR}/swan`;
export const GUEST_CHARON_LOG = '/tmp/charon.log';
const VICI = '/run/charon.vici';

/** The host's plugin list without kernel-libipsec (the guest kernel has ESP) and updown (no script to run). */
const PLUGINS = CHARON_PLUGINS.filter((p) => p !== 'kernel-libipsec' && p !== 'updown');

export function guestStrongswanConf(): string {
  return `charon {
  load_modular = no
  load = ${PLUGINS.join(' ')}
  install_virtual_ip = yes
  retransmit_tries = 3
  plugins {
    vici {
      socket = unix://${VICI}
    }
  }
  filelog {
    lab {
      path = ${GUEST_CHARON_LOG}
      time_format = %H:%M:%S
      default = 1
      ike = 2
      cfg = 2
      knl = 2
      enc = 1
      flush_line = yes
    }
  }
}
swanctl {
  socket = unix://${VICI}
  load = pem pkcs1 pkcs8 x509 openssl random
}
`;
}

/** Guest paths → contents: strongswan.conf, swanctl.conf and the spec's extra files (CA, certificates). */
export function guestCharonFiles(spec: SwanSpec): Record<string, { data: string; mode: number }> {
  const files: Record<string, { data: string; mode: number }> = {
    [`${DIR}/strongswan.conf`]: { data: guestStrongswanConf(), mode: 0o644 },
    [`${DIR}/swanctl/swanctl.conf`]: { data: swanctlConf(spec), mode: 0o600 },
  };
  for (const [name, data] of Object.entries(spec.files ?? {})) files[`${DIR}/swanctl/${name}`] = { data, mode: 0o600 };
  return files;
}

/**
 * Shell functions for the guest's script: `charon_start` (charon in the background, waits for its
 * vici socket, at most 10 s), `swan ARGS...` (swanctl on that socket), `charon_log` (the log's tail).
 */
export const GUEST_CHARON_SCRIPT = `export STRONGSWAN_CONF=${DIR}/strongswan.conf SWANCTL_DIR=${DIR}/swanctl
mkdir -p ${DIR}/swanctl/x509 ${DIR}/swanctl/x509ca ${DIR}/swanctl/private
charon_start() {
  ${CHARON} > /tmp/charon.out 2>&1 &
  echo $! > /tmp/charon.pid
  for _ in $(seq 200); do
    [ -S ${VICI} ] && return 0
    kill -0 "$(cat /tmp/charon.pid)" 2>/dev/null || { echo "charon exited"; cat /tmp/charon.out; tail -20 ${GUEST_CHARON_LOG}; return 1; }
    sleep 0.05
  done
  echo "no vici socket in 10 s"; cat /tmp/charon.out; return 1
}
swan() { swanctl "$@"; }
charon_log() { tail -n "\${1:-80}" ${GUEST_CHARON_LOG}; }
export -f charon_start swan charon_log
`;
