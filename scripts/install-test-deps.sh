#!/usr/bin/env bash
# Installs the real servers the test suite runs against (Debian/Ubuntu): Redis, OpenLDAP's slapd,
# Chromium for the admin UI tests, nginx for the forward-auth tests, wrk for the benchmarks.
set -euo pipefail
packages=(redis-server slapd ldap-utils chromium nginx wrk)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then echo "test dependencies already installed"; exit 0; fi
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "installing: ${missing[*]}"
$SUDO apt-get update -qq
# slapd asks debconf questions; we configure our own slapd per test run, so answer none.
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packaged services are not used by the tests (they start their own on free ports).
for s in redis-server slapd nginx; do $SUDO systemctl disable --now "$s" >/dev/null 2>&1 || $SUDO service "$s" stop >/dev/null 2>&1 || true; done
echo "installed: ${missing[*]}"
