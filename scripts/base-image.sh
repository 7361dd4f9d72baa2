#!/usr/bin/env bash
# Make the Debian 12 base image our Dockerfile starts FROM, without a container registry:
# debootstrap a minbase root from the Debian mirror apt already uses, slim it as Debian's own
# bookworm-slim image is slimmed (no docs, man pages or locales, no apt lists or caches), and
# import it into the Docker daemon DOCKER_HOST names, tagged as the name the Dockerfile uses.
#
#   sudo scripts/base-image.sh                   # tags debian:bookworm-slim
#   sudo scripts/base-image.sh -o base.tar       # also keep the root as a tarball (docker import -)
#
# Needs root (debootstrap) and debootstrap + docker (apt-get install debootstrap docker.io).
# DEBIAN_MIRROR and DEBIAN_SECURITY_MIRROR override the mirrors (default: the one apt uses here).
set -euo pipefail

TAG=debian:bookworm-slim
SUITE=bookworm
OUT=""
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    -t|--tag) TAG=$2; shift 2 ;;
    -o|--output) OUT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "base-image.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "base-image.sh: debootstrap needs root: run it with sudo" >&2
  exit 2
fi
for tool in debootstrap docker; do
  command -v "$tool" >/dev/null || { echo "base-image.sh: $tool is missing: apt-get install debootstrap docker.io" >&2; exit 3; }
done

host_mirror() {
  local sources=/etc/apt/sources.list.d/debian.sources
  if [ -f "$sources" ]; then
    awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' "$sources"
  elif [ -f /etc/apt/sources.list ]; then
    awk '$1 == "deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list
  fi
}
MIRROR=${DEBIAN_MIRROR:-$(host_mirror)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

work=$(mktemp -d /tmp/stackrig-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
echo "base-image: debootstrap --variant=minbase $SUITE from $MIRROR" >&2
debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2
  echo "base-image.sh: debootstrap failed (log above)" >&2
  exit 1
}

# What later apt-get installs in images must not bring back (as Debian's slim images do).
cat >"$root/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/groff/*
EOF
cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
Acquire::GzipIndexes "true"; Acquire::CompressionTypes::Order:: "gz";
Acquire::Languages "none";
APT::Install-Recommends "false";
EOF
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $SECURITY
Suites: $SUITE-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$root"/usr/share/{man,info,lintian,linda,groff}/* "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/*
find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
find "$root/var/log" -type f -delete
rm -rf "$root"/tmp/* "$root"/var/tmp/* "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
: >"$root/etc/machine-id"   # a container gets its own; an empty file keeps systemd-less tools happy
echo "base-image: root is $(du -sh --apparent-size "$root" | cut -f1)" >&2

tarball=$work/rootfs.tar
tar --numeric-owner --xattrs -C "$root" -cf "$tarball" .
docker import --change 'CMD ["bash"]' --message "debootstrap --variant=minbase $SUITE $MIRROR" \
  "$tarball" "$TAG" >/dev/null
if [ -n "$OUT" ]; then
  mv "$tarball" "$OUT"
fi
echo "base-image: imported $TAG ($(docker image inspect -f '{{.Size}}' "$TAG" | awk '{printf "%.0f MB", $1/1e6}'))" >&2
