#!/usr/bin/env bash
# Builds the Debian package: a release build of tributary with the Swift runtime linked in
# statically (so the package needs no Swift toolchain, only Debian's C libraries), the systemd
# units, sysusers.d/tmpfiles.d entries, the default pipeline as a conffile, a man page and the
# documentation Debian expects. Prints the .deb's path on its last line.
#
# Own scratch path (.build-deb): the release flags would otherwise invalidate the debug build
# that `make test` uses.
set -euo pipefail
cd "$(dirname "$0")/.."

SWIFT=${SWIFT:-swift}
SCRATCH=.build-deb
PACKAGING=packaging

fail() {
  echo "build-deb: $*" >&2
  exit 1
}

echo "build-deb: release build (swift build -c release --static-swift-stdlib --scratch-path $SCRATCH)" >&2
"$SWIFT" build -c release --product tributary --static-swift-stdlib --scratch-path "$SCRATCH" >&2
# The man page generator from swift-argument-parser (the tool behind its generate-manual plugin),
# run directly on the binary we ship rather than through the plugin's own rebuild. The same
# flags as above, so that neither build undoes the other's.
"$SWIFT" build -c release --product generate-manual --static-swift-stdlib --scratch-path "$SCRATCH" >&2
binary="$SCRATCH/release/tributary"
[ -x "$binary" ] || fail "$binary was not built"

# The binary must not need the Swift runtime: only system libraries in NEEDED.
needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p')
if grep -q '^libswift\|^libFoundation\|^libdispatch\|^libBlocksRuntime' <<<"$needed"; then
  fail "$binary links Swift runtime libraries dynamically: $(tr '\n' ' ' <<<"$needed")"
fi

upstream=$("$binary" --version)
[[ "$upstream" =~ ^[0-9]+(\.[0-9]+)*$ ]] || fail "tributary --version printed \"$upstream\", not a version number"
# The package version is the newest changelog entry's; it must be of this upstream version.
version=$(sed -n '1s/^tributary (\([^)]*\)).*/\1/p' "$PACKAGING/changelog")
[ -n "$version" ] || fail "$PACKAGING/changelog:1: expected \"tributary (VERSION) …\""
[ "${version%-*}" = "$upstream" ] ||
  fail "$PACKAGING/changelog:1: the newest entry is $version, but tributary --version says $upstream; add an entry for $upstream-1"
architecture=$(dpkg --print-architecture)

work="$SCRATCH/deb"
root="$work/root"
rm -rf "$work"
mkdir -p "$root/DEBIAN"

install -D -m 0755 "$binary" "$root/usr/bin/tributary"
# As Debian's dh_strip does; Swift finds its type metadata in sections, not in symbols.
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/tributary"
install -D -m 0644 systemd/tributary.service "$root/lib/systemd/system/tributary.service"
install -D -m 0644 systemd/tributary.socket "$root/lib/systemd/system/tributary.socket"
install -D -m 0644 systemd/tributary.sysusers "$root/usr/lib/sysusers.d/tributary.conf"
install -D -m 0644 systemd/tributary.tmpfiles "$root/usr/lib/tmpfiles.d/tributary.conf"
install -D -m 0644 etc/tributary/pipeline.yaml "$root/etc/tributary/pipeline.yaml"
install -D -m 0644 "$PACKAGING/default" "$root/etc/default/tributary"

man="$work/man"
mkdir -p "$man"
date=$(date -u -d "$(sed -n 's/^ -- .*>  //p' "$PACKAGING/changelog" | head -1)" +%Y-%m-%d)
"$SCRATCH/release/generate-manual" "$root/usr/bin/tributary" --date "$date" --output-directory "$man" >&2
[ -s "$man/tributary.1" ] || fail "generate-manual wrote no $man/tributary.1"
install -d -m 0755 "$root/usr/share/man/man1"
gzip -9n <"$man/tributary.1" >"$root/usr/share/man/man1/tributary.1.gz"

install -D -m 0644 "$PACKAGING/copyright" "$root/usr/share/doc/tributary/copyright"
gzip -9n <"$PACKAGING/changelog" >"$root/usr/share/doc/tributary/changelog.Debian.gz"
chmod 0644 "$root/usr/share/man/man1/tributary.1.gz" "$root/usr/share/doc/tributary/changelog.Debian.gz"

# Depends: the packages of the libraries in NEEDED, with the versions their symbols files
# require (dpkg-shlibdeps wants a debian/control to read; a minimal one in a scratch directory).
shlibs="$work/shlibs"
mkdir -p "$shlibs/debian"
printf 'Source: tributary\n\nPackage: tributary\nArchitecture: any\n' >"$shlibs/debian/control"
absolute_binary="$(pwd)/$root/usr/bin/tributary"
library_depends=$(cd "$shlibs" && dpkg-shlibdeps -O -e"$absolute_binary" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$library_depends" ] || fail "dpkg-shlibdeps found no dependencies for $absolute_binary"
# systemd: the maintainer scripts run systemd-sysusers and systemd-tmpfiles, and the package is
# its units.
depends="$library_depends, systemd"

installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCHITECTURE@/$architecture/" \
  -e "s/@INSTALLED_SIZE@/$installed_size/" -e "s/@DEPENDS@/$depends/" \
  "$PACKAGING/control.in" >"$root/DEBIAN/control"
install -m 0644 "$PACKAGING/conffiles" "$root/DEBIAN/conffiles"
for script in postinst prerm postrm; do
  install -m 0755 "$PACKAGING/$script" "$root/DEBIAN/$script"
done

deb="$SCRATCH/tributary_${version}_${architecture}.deb"
dpkg-deb --build --root-owner-group "$root" "$deb" >&2
echo "$deb"
