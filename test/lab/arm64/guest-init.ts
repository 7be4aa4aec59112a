import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBoardFile } from '../../../firmware/board/load.ts';
import { initFiles } from '../../../scripts/firmware/init-files.ts';

/**
 * The arm64 guest's boot (issue 18): busybox init as PID 1 with an inittab whose service line is the
 * one `make firmware` ships for an A/B board (postern-launcher, respawned), a boot script that loads
 * the modules, mounts the persistent disk, names the NICs by MAC (eth0 WAN, eth1 LAN as
 * board/generic-arm64.json has them) and sets their addresses, and a shutdown script that stops the
 * service and unmounts the disk before a reboot.
 */

export const GUEST = {
  wanAddress: '192.0.2.2', wanPrefix: 24, wanGateway: '192.0.2.1',
  lanAddress: '10.2.0.1', lanPrefix: 24, lanHost: '10.2.0.10',
  wanMac: '52:54:00:12:00:01', lanMac: '52:54:00:12:00:02',
  managementPort: 8080,
  diskLabel: 'persist',
  /** Printed by the boot script once the network is up, with the kernel's uptime. */
  bootedMark: 'POSTERN-LAB-BOOTED',
} as const;

const HERE = fileURLToPath(new URL('.', import.meta.url));

/** The shipped busybox inittab line for generic-arm64 laid out with A/B slots, told where the web UI listens. */
export function serviceLine(): string {
  const board = loadBoardFile(resolve(HERE, '../../../board/generic-arm64.json'));
  const ab = { ...board, storage: { ...board.storage, layout: 'ab-slots' as const } };
  const line = initFiles(ab)['inittab']?.split('\n').find((l) => l.startsWith('::respawn:'));
  if (!line) throw new Error('arm64 image: the shipped inittab has no respawn line');
  // The default management address is loopback; a router's first boot is reached on its LAN.
  return `${line} --management ${GUEST.lanAddress}:${GUEST.managementPort}`;
}

const RC_BOOT = `#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
hostname postern
# Each line: a module's path and its parameters.
while read -r m; do insmod $m 2>/dev/null || echo "rc.boot: insmod $m failed"; done < /etc/modules.load
i=0; while [ ! -b /dev/vda ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 -o noatime /dev/vda /persist || echo "rc.boot: no persistent disk"
# NICs by MAC: first to temporary names, so a swapped probe order cannot clash.
for d in /sys/class/net/*; do
  n=\${d##*/}
  case $(cat "$d/address") in
    ${GUEST.wanMac}) ip link set dev "$n" name wanx ;;
    ${GUEST.lanMac}) ip link set dev "$n" name lanx ;;
  esac
done
ip link set dev wanx name eth0; ip link set dev lanx name eth1
ip link set dev lo up
ip addr add ${GUEST.wanAddress}/${GUEST.wanPrefix} dev eth0; ip link set dev eth0 up
ip addr add ${GUEST.lanAddress}/${GUEST.lanPrefix} dev eth1; ip link set dev eth1 up
ip route add default via ${GUEST.wanGateway}
echo 1 > /proc/sys/net/ipv4/ip_forward
echo "${GUEST.bootedMark} uptime=$(cut -d' ' -f1 /proc/uptime) slots=$(ls /persist/postern/slots | tr '\\n' ' ')"
`;

// busybox init runs this before it signals every process: stop the service first so the disk unmounts.
const RC_SHUTDOWN = `#!/bin/sh
echo "rc.shutdown: stopping the service"
kill -TERM -1 2>/dev/null
i=0; while [ $i -lt 60 ]; do sync; umount /persist 2>/dev/null && break; sleep 0.25; i=$((i + 1)); done
if grep -q ' /persist ' /proc/mounts; then
  mount -o remount,ro /persist && echo "rc.shutdown: disk still busy, remounted read-only"
else
  echo "rc.shutdown: disk unmounted"
fi
`;

export interface GuestFile {
  readonly data: string;
  readonly mode?: number;
}

/** Files of the initramfs by path (relative to its root). */
export function guestFiles(): Record<string, GuestFile> {
  return {
    'etc/inittab': { data: `::sysinit:/etc/rc.boot\n${serviceLine()}\n::shutdown:/etc/rc.shutdown\n::ctrlaltdel:/sbin/reboot\n` },
    'etc/rc.boot': { data: RC_BOOT, mode: 0o755 },
    'etc/rc.shutdown': { data: RC_SHUTDOWN, mode: 0o755 },
    'etc/passwd': { data: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' },
    'etc/group': { data: 'root:x:0:\nnogroup:x:65534:\n' },
    'etc/nsswitch.conf': { data: 'passwd: files\ngroup: files\nhosts: files dns\n' },
    'etc/hosts': { data: '127.0.0.1 localhost\n' },
    'etc/resolv.conf': { data: '' },
  };
}
