#!/usr/bin/env bash
# strongSwan's EAP-PEAP client for the lab (issue 21). Debian 12 builds strongSwan 5.9.8 without its
# eap-peap plugin (libcharon-extra-plugins has eap-tls, -ttls, -md5, -gtc), so the one plugin is
# built here from Debian's own source package (the upstream tarball and Debian's patches, checked
# against the hashes in the package's .dsc) into .cache/, against the installed libcharon,
# libstrongswan and libtls. Tests load it into charon with LD_PRELOAD: charon finds a plugin's
# `<name>_plugin_create` already in the process before it looks for a file, so nothing is written
# outside the cache. Only the headers' configuration matters for the ABI (mediation and both IKE
# versions on, as Debian's build has them), so configure runs with everything else left out.
set -euo pipefail
cd "$(dirname "$0")/../.."

UPSTREAM=5.9.8
DEBIAN=5+deb12u5
ORIG_SHA256=d3303a43c0bd7b75a12b64855e8edcb53696f06190364f26d1533bde1f2e453c
DEBIAN_SHA256=7fbb913c48338257c61d6976ea3c98c506ec0b73a8a155b90a6f3eb2e1d5f114
out=.cache/strongswan-eap-peap/$UPSTREAM-$DEBIAN
plugin=$out/libstrongswan-eap-peap.so
[ -f "$plugin" ] && exit 0

installed=$(dpkg-query -W -f='${Version}' libstrongswan 2>/dev/null || true)
case "$installed" in
  "$UPSTREAM"-*) ;;
  *) echo "build-eap-peap: strongSwan '${installed:-not installed}' is installed; this script builds the plugin for $UPSTREAM (update UPSTREAM/DEBIAN and the hashes from the new .dsc)" >&2; exit 1 ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pool=http://deb.debian.org/debian/pool/main/s/strongswan
fetch() {
  curl -sSf --retry 3 --max-time 120 -o "$work/$1" "$pool/$1"
  echo "$2  $work/$1" | sha256sum -c --quiet -
}
fetch "strongswan_$UPSTREAM.orig.tar.bz2" "$ORIG_SHA256"
fetch "strongswan_$UPSTREAM-$DEBIAN.debian.tar.xz" "$DEBIAN_SHA256"

src=$work/strongswan-$UPSTREAM
tar -xjf "$work/strongswan_$UPSTREAM.orig.tar.bz2" -C "$work"
tar -xJf "$work/strongswan_$UPSTREAM-$DEBIAN.debian.tar.xz" -C "$src"
grep -v '^#' "$src/debian/patches/series" | while read -r p; do
  [ -n "$p" ] && patch -s -p1 -d "$src" < "$src/debian/patches/$p"
done
(cd "$src" && ./configure -q --disable-dependency-tracking --disable-defaults \
  --enable-ikev1 --enable-ikev2 --enable-mediation --enable-eap-tls --enable-eap-peap \
  --prefix=/usr --libexecdir=/usr/lib --sysconfdir=/etc >/dev/null)
mkdir -p "$out"
gcc -shared -fPIC -O2 -w -DHAVE_CONFIG_H -include "$src/config.h" \
  -I"$src/src/libstrongswan" -I"$src/src/libcharon" -I"$src/src/libtls" \
  "$src"/src/libcharon/plugins/eap_peap/eap_peap*.c \
  -L/usr/lib/ipsec -lcharon -lstrongswan -ltls -Wl,-rpath,/usr/lib/ipsec -o "$plugin.tmp"
mv "$plugin.tmp" "$plugin"
echo "built strongSwan's eap-peap plugin for the lab: $plugin"
