#!/usr/bin/env bash
# Installs what Postern needs on a fresh Debian machine with Node: npm packages (from the lock file)
# and, with `--lab`, the Debian packages the lab and interop tests start as real peers; with
# `--firmware` (also part of `--lab`), what `make firmware` needs to cross-build for arm64 and armv7.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# npm ci only when the lock file changed since the last install.
stamp=node_modules/.postern-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund
  touch "$stamp"
fi

mode="${1:-}"
[ "$mode" = "--lab" ] || [ "$mode" = "--bench" ] || [ "$mode" = "--firmware" ] || exit 0

# The firmware build (scripts/firmware/): the driver and its C tests are cross-compiled (the tests
# link arm64 OpenSSL), and arm64 programs (the runtime making its own SEA blob, the C tests, the
# executable) run under qemu-user with Debian's multiarch arm64 libraries (dpkg gets the arm64
# architecture added).
firmware_packages=(
  qemu-user-static gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu libc6-dev-arm64-cross
  libssl-dev:arm64 libstdc++6:arm64 binutils make
  # armv7: a package (bundle + driver) for the distribution's Node; the driver cross-compiled, its C
  # tests and the oldest armv7 Node run under qemu-arm.
  gcc-arm-linux-gnueabihf binutils-arm-linux-gnueabihf libc6-dev-armhf-cross libssl-dev:armhf libstdc++6:armhf libatomic1:armhf
  # The firmware tests ask the executable's /healthz from a lab namespace.
  curl
)
lab_packages=(
  iproute2 nftables iputils-ping iperf3 procps psmisc
  strongswan-charon strongswan-swanctl libcharon-extra-plugins libcharon-extauth-plugins
  libstrongswan-standard-plugins
  mosquitto mosquitto-clients
  freeradius freeradius-utils
  # ACME (issue 16): Let's Encrypt's test CA, validating postern run over HTTP-01 in the lab.
  pebble
  gcc binutils make python3 libssl-dev
  # The VM lab (test/lab/vm/): a qemu guest booting this kernel with a busybox initramfs that carries
  # the real pppd-based clients (SSTP, PPTP, L2TP) and their kernel modules (PPP, GRE, L2TP, ESP).
  linux-image-amd64 qemu-system-x86 busybox-static kmod cpio xz-utils
  ppp pptp-linux xl2tpd sstp-client socat
  # The arm64 boot test (test/system/firmware-arm64-boot.test.ts): qemu-system-aarch64; its guest's
  # kernel and busybox are Debian's arm64 packages, downloaded below (never installed).
  qemu-system-arm
  # The web UI's browser tests drive Debian's Chromium with playwright-core (no browser download).
  chromium
  # Issue 17: client profiles checked by the tools that read them (nmcli --offline for the
  # NetworkManager keyfile; named and dig for the RFC 2136 dynamic DNS update).
  network-manager bind9 bind9-dnsutils
  # Issue 26: the site's DHCP and DNS server (the fleet broker by DHCP option 224 and by DNS SRV);
  # the box's DHCP client is busybox's udhcpc (busybox-static above).
  dnsmasq-base
  # Issue 25: OSPF (FRR's zebra and ospfd, one pair per lab namespace) over GRE sites.
  frr
)
lab_packages+=("${firmware_packages[@]}")
[ "$mode" = "--firmware" ] && lab_packages=("${firmware_packages[@]}")
# Benchmarks compare against OpenVPN too; tests never need it.
[ "$mode" = "--bench" ] && lab_packages+=(openvpn openssl)

# A mirror caught mid-sync answers `apt-get update` with a size or hash mismatch for a while: try
# again, then go on with the lists there are (an install that truly lacks a package still fails).
apt_update() {
  local attempt
  for attempt in 1 2 3; do
    $sudo apt-get update -qq && return 0
    echo "apt-get update failed (attempt $attempt of 3)" >&2
    [ "$attempt" -lt 3 ] && sleep 20
  done
  echo "apt-get update kept failing: going on with the package lists there are" >&2
}

# The arm64 guest of the boot test: Debian's arm64 kernel and static busybox as .deb files in
# .cache/arm64-guest-debs/ (test/lab/arm64/image.ts unpacks them). Downloaded, not installed: an
# arm64 kernel in /boot would be taken for the host's by the x86 VM lab. Needs the arm64 architecture
# (added with the firmware packages below) and its package lists.
arm64_guest_debs() {
  local dir=.cache/arm64-guest-debs
  ls "$dir"/linux-image-*_arm64.deb "$dir"/busybox-static_*_arm64.deb >/dev/null 2>&1 && return 0
  dpkg --print-foreign-architectures | grep -qx arm64 || $sudo dpkg --add-architecture arm64
  apt_update
  local kernel
  kernel=$(apt-cache depends linux-image-arm64:arm64 | sed -n 's/^ *Depends: \(linux-image-[0-9][^:]*\).*/\1/p' | head -1)
  [ -n "$kernel" ] || { echo "no arm64 kernel package found (linux-image-arm64:arm64)" >&2; return 1; }
  mkdir -p "$dir"
  echo "downloading Debian's arm64 kernel ($kernel) and busybox-static for the arm64 boot test"
  (cd "$dir" && apt-get download -qq "$kernel:arm64" busybox-static:arm64)
}

# What the lab needs beyond packages: the arm64 guest's kernel, strongSwan's eap-peap plugin (a
# failed build costs the one test that needs it, which says so, not the whole run).
lab_builds() {
  arm64_guest_debs
  ./scripts/lab/build-eap-peap.sh || echo "warning: strongSwan's eap-peap plugin was not built; the EAP-PEAP test will fail" >&2
}

missing=()
for p in "${lab_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
if [ ${#missing[@]} -eq 0 ]; then
  [ "$mode" = "--lab" ] && lab_builds
  exit 0
fi
echo "installing Debian packages for the lab: ${missing[*]}"
# Keep package scripts from starting daemons (charon, mosquitto, freeradius): the tests start their own.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
fi
for arch in arm64 armhf; do
  case " ${missing[*]} " in
    *:$arch*) dpkg --print-foreign-architectures | grep -qx $arch || $sudo dpkg --add-architecture $arch ;;
  esac
done
apt_update
DEBIAN_FRONTEND=noninteractive DEBCONF_NOWARNINGS=yes $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ "$mode" = "--lab" ] && lab_builds
exit 0
