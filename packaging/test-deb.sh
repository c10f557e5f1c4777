#!/usr/bin/env bash
# Checks a built tributary .deb: its metadata, file list, conffiles, Depends against the
# binary's NEEDED libraries, maintainer scripts, documentation, and that the extracted binary
# runs `validate` on the shipped pipeline as systemd would start it. Then checks that the same
# checks reject a damaged copy of the package, so that a passing run means something.
#   packaging/test-deb.sh path/to/tributary_VERSION_ARCH.deb
set -euo pipefail

[ $# -eq 1 ] || {
  echo "usage: $0 tributary_VERSION_ARCH.deb" >&2
  exit 2
}
deb=$1
[ -f "$deb" ] || {
  echo "test-deb: $deb: no such file" >&2
  exit 2
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

EXPECTED_FILES="./etc/default/tributary
./etc/tributary/pipeline.yaml
./lib/systemd/system/tributary.service
./lib/systemd/system/tributary.socket
./usr/bin/tributary
./usr/lib/sysusers.d/tributary.conf
./usr/lib/tmpfiles.d/tributary.conf
./usr/share/doc/tributary/changelog.Debian.gz
./usr/share/doc/tributary/copyright
./usr/share/man/man1/tributary.1.gz"
EXPECTED_CONFFILES="/etc/default/tributary
/etc/tributary/pipeline.yaml"

# Runs the maintainer scripts as dpkg would for an installation into another root ($DPKG_ROOT,
# so nothing of this machine is touched), with the system tools replaced by stubs that log their
# arguments: what each step asks of systemd, that a second run succeeds too, and that a purge
# removes the state directory.
check_maintainer_scripts() {
  local control=$1 work=$2 failures=0
  local root=$work/root stubs=$work/stubs log=$work/calls
  mkdir -p "$root/var/lib/tributary/checkpoints" "$root/run/tributary" "$root/etc/tributary" "$stubs"
  for tool in systemd-sysusers systemd-tmpfiles deb-systemd-helper deb-systemd-invoke systemctl; do
    # deb-systemd-helper was-enabled answers as $WAS_ENABLED says (0: a first installation).
    printf '#!/bin/sh
echo "%s $*" >>"%s"
[ "$1 $2" != "--quiet was-enabled" ] || exit "${WAS_ENABLED:-0}"
' \
      "$tool" "$log" >"$stubs/$tool"
    chmod +x "$stubs/$tool"
  done
  run() {
    : >"$log"
    env DPKG_ROOT="$root" PATH="$stubs:/usr/bin:/bin" WAS_ENABLED="${WAS_ENABLED:-0}" "$control/$@" >/dev/null ||
      { echo "test-deb: maintainer scripts: $* exited $?" >&2; failures=$((failures + 1)); }
  }
  expect() {
    grep -qxF "$1" "$log" || { echo "test-deb: maintainer scripts: $2: expected \"$1\" in:" >&2; sed 's/^/  /' "$log" >&2; failures=$((failures + 1)); }
  }
  refuse() {
    ! grep -q "$1" "$log" || { echo "test-deb: maintainer scripts: $2: unexpected $1 in:" >&2; sed 's/^/  /' "$log" >&2; failures=$((failures + 1)); }
  }
  run postinst configure
  expect "systemd-sysusers --root=$root tributary.conf" "first configure"
  expect "systemd-tmpfiles --root=$root --create tributary.conf" "first configure"
  expect "deb-systemd-helper enable tributary.service" "first configure"
  expect "deb-systemd-helper update-state tributary.socket" "first configure"
  refuse "enable tributary.socket" "first configure"
  refuse "systemctl\|deb-systemd-invoke" "configure into another root"
  run postinst configure
  expect "deb-systemd-helper enable tributary.service" "configure again"
  WAS_ENABLED=1 run postinst configure 0.1.0-1
  expect "deb-systemd-helper update-state tributary.service" "upgrade with the service disabled"
  refuse "enable tributary.service" "upgrade with the service disabled"
  run prerm upgrade 0.3.0-1
  refuse "stop" "prerm upgrade"
  run postrm remove
  expect "deb-systemd-helper mask tributary.service tributary.socket" "remove"
  [ -d "$root/var/lib/tributary/checkpoints" ] || { echo "test-deb: maintainer scripts: remove deleted the state" >&2; failures=$((failures + 1)); }
  run postrm purge
  run postrm purge
  expect "deb-systemd-helper purge tributary.service tributary.socket" "purge"
  if [ -e "$root/var/lib/tributary" ] || [ -e "$root/run/tributary" ] || [ ! -d "$root/etc/tributary" ]; then
    echo "test-deb: maintainer scripts: purge should delete var/lib/tributary and run/tributary, and only them" >&2
    failures=$((failures + 1))
  fi
  return $((failures > 0))
}

# Runs every check on one .deb; prints each failure and returns 1 if there was any.
check_deb() {
  local deb=$1 work=$2 failures=0
  problem() {
    echo "test-deb: $deb: $*" >&2
    failures=$((failures + 1))
  }
  mkdir -p "$work/root" "$work/control"
  dpkg-deb -x "$deb" "$work/root" || problem "dpkg-deb -x failed"
  dpkg-deb -e "$deb" "$work/control" || problem "dpkg-deb -e failed"
  local root=$work/root binary=$work/root/usr/bin/tributary

  # Files: exactly the expected ones, owned by root, the binary executable.
  local listing files
  listing=$(dpkg-deb -c "$deb")
  files=$(awk '$1 !~ /^d/ { print $6 }' <<<"$listing" | sort)
  [ "$files" = "$EXPECTED_FILES" ] || problem "files differ from the expected list:
$(diff <(echo "$EXPECTED_FILES") <(echo "$files") || true)"
  awk '$2 != "root/root" { bad = 1; print "  " $0 } END { exit bad }' <<<"$listing" >&2 ||
    problem "entries not owned by root/root (above)"
  grep -q '^-rwxr-xr-x .* \./usr/bin/tributary$' <<<"$listing" || problem "usr/bin/tributary is not mode 0755"
  if awk '$1 !~ /^d/ && $6 != "./usr/bin/tributary" && $1 != "-rw-r--r--"' <<<"$listing" | grep -q .; then
    problem "files other than the binary should be mode 0644"
  fi

  # Conffiles: the pipeline file and the environment file, both shipped.
  local conffiles
  conffiles=$(sort "$work/control/conffiles" 2>/dev/null || true)
  [ "$conffiles" = "$EXPECTED_CONFFILES" ] || problem "conffiles are \"$conffiles\", expected \"$EXPECTED_CONFFILES\""
  for conffile in $conffiles; do
    [ -f "$root$conffile" ] || problem "conffile $conffile is not in the package"
  done

  # Metadata.
  local upstream version depends
  upstream=$("$binary" --version 2>/dev/null) || problem "the extracted binary does not run: $binary --version"
  version=$(dpkg-deb -f "$deb" Version)
  [ "${version%-*}" = "$upstream" ] || problem "Version $version is not of tributary --version $upstream"
  [ "$(dpkg-deb -f "$deb" Package)" = tributary ] || problem "Package is not tributary"
  [ "$(dpkg-deb -f "$deb" Architecture)" = "$(dpkg --print-architecture)" ] || problem "Architecture is not this machine's"
  [ -n "$(dpkg-deb -f "$deb" Installed-Size)" ] || problem "no Installed-Size"
  depends=$(dpkg-deb -f "$deb" Depends)
  local depended
  depended=$(tr ',|' '\n\n' <<<"$depends" | sed 's/^ *//; s/[ (].*//')

  # The binary needs no Swift runtime, and every library it needs comes from a package in Depends.
  local needed library path owner
  needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p')
  [ -n "$needed" ] || problem "readelf found no NEEDED libraries in usr/bin/tributary"
  for library in $needed; do
    case "$library" in
    libswift* | libFoundation* | libdispatch* | libBlocksRuntime*)
      problem "NEEDED has $library: the Swift runtime is not linked statically"
      continue
      ;;
    esac
    path=$(ldconfig -p | awk -v lib="$library" '$1 == lib { print $NF; exit }')
    if [ -z "$path" ]; then
      problem "NEEDED library $library is not installed on this machine"
      continue
    fi
    owner=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1) ||
      owner=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1) || true
    [ -n "$owner" ] || {
      problem "no Debian package owns $path ($library)"
      continue
    }
    grep -qxF "$owner" <<<"$depended" || problem "Depends ($depends) lacks $owner, which provides $library"
  done
  grep -qxF systemd <<<"$depended" || problem "Depends lacks systemd (sysusers, tmpfiles, the units)"

  # Maintainer scripts: POSIX sh, set -e, syntactically valid.
  for script in postinst prerm postrm; do
    local file=$work/control/$script
    [ -x "$file" ] || {
      problem "no executable $script"
      continue
    }
    head -1 "$file" | grep -qx '#!/bin/sh' || problem "$script does not start with #!/bin/sh"
    grep -qx 'set -e' "$file" || problem "$script does not set -e"
    sh -n "$file" || problem "$script has a syntax error"
  done

  check_maintainer_scripts "$work/control" "$work/scripts" || problem "the maintainer scripts misbehave (above)"

  # Documentation as Debian expects it.
  [ -s "$root/usr/share/doc/tributary/copyright" ] || problem "no copyright"
  gzip -dc "$root/usr/share/doc/tributary/changelog.Debian.gz" 2>/dev/null | head -1 |
    grep -q "^tributary ($version) " || problem "changelog.Debian.gz does not start with tributary ($version)"
  local manual
  manual=$(gzip -dc "$root/usr/share/man/man1/tributary.1.gz" 2>/dev/null || true)
  grep -q '^\.Dt TRIBUTARY 1\|^\.TH TRIBUTARY 1' <<<"$manual" || problem "the man page has no TRIBUTARY(1) title"
  grep -q 'validate' <<<"$manual" || problem "the man page does not describe validate"

  # The shipped units, pointed at the extracted binary, pass systemd's own checks.
  local units=$work/units
  mkdir -p "$units"
  for unit in tributary.service tributary.socket; do
    [ -f "$root/lib/systemd/system/$unit" ] || continue
    sed "s#/usr/bin/tributary#$binary#g" "$root/lib/systemd/system/$unit" >"$units/$unit"
  done
  local verify
  if ! verify=$(cd "$units" && systemd-analyze verify --man=no ./tributary.service ./tributary.socket 2>&1) ||
    [ -n "$verify" ]; then
    problem "systemd-analyze verify: $verify"
  fi

  # As systemd starts it: no environment but what the unit sets, StateDirectory= and
  # RuntimeDirectory= (here inside the throwaway root) named by their variables.
  mkdir -p "$root/var/lib/tributary" "$root/run/tributary"
  local output
  if ! output=$(env -i PATH=/usr/bin:/bin STATE_DIRECTORY="$root/var/lib/tributary" \
    RUNTIME_DIRECTORY="$root/run/tributary" "$binary" validate --config "$root/etc/tributary/pipeline.yaml" 2>&1); then
    problem "tributary validate on the shipped pipeline failed: $output"
  fi
  grep -q ': valid$' <<<"$output" || problem "validate did not say valid: $output"

  return $((failures > 0))
}

echo "test-deb: checking $deb"
if ! check_deb "$deb" "$scratch/good"; then
  echo "test-deb: FAILED" >&2
  exit 1
fi

# The same checks on a damaged copy (no conffiles, no man page, a postinst that does not
# enable the service) must fail, each for its reason.
damaged=$scratch/damaged
mkdir -p "$damaged"
dpkg-deb -R "$deb" "$damaged/tree"
rm "$damaged/tree/DEBIAN/conffiles" "$damaged/tree/usr/share/man/man1/tributary.1.gz"
sed -i 's/deb-systemd-helper enable tributary.service/true/' "$damaged/tree/DEBIAN/postinst"
dpkg-deb --build --root-owner-group "$damaged/tree" "$damaged/damaged.deb" >/dev/null
if check_deb "$damaged/damaged.deb" "$damaged/check" 2>"$damaged/problems"; then
  echo "test-deb: FAILED: a damaged package passed the checks" >&2
  exit 1
fi
grep -q 'conffiles are' "$damaged/problems" && grep -q 'files differ' "$damaged/problems" &&
  grep -q 'expected "deb-systemd-helper enable tributary.service"' "$damaged/problems" || {
  echo "test-deb: FAILED: the damaged package failed for other reasons:" >&2
  cat "$damaged/problems" >&2
  exit 1
}

echo "test-deb: ok ($(dpkg-deb -f "$deb" Version), Depends: $(dpkg-deb -f "$deb" Depends))"
