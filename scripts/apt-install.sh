#!/usr/bin/env bash
# Install the Debian packages named in the given files (one per line, # comments) that are not
# installed yet. Idempotent: nothing is downloaded when all are present; apt-get update runs once.
set -euo pipefail
pkgs=()
for file in "$@"; do
  [ -f "$file" ] || continue
  while read -r line; do
    line="${line%%#*}"; line="${line//[[:space:]]/}"
    [ -n "$line" ] && pkgs+=("$line")
  done < "$file"
done
[ "${#pkgs[@]}" -gt 0 ] || exit 0
missing=()
for pkg in "${pkgs[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done
[ "${#missing[@]}" -gt 0 ] || exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "apt: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/stackrig-update-stamp
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +1440 2>/dev/null)" ]; then
  $sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
  $sudo mkdir -p "$(dirname "$stamp")" && $sudo touch "$stamp"
fi
$sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
