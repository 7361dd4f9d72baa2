#!/usr/bin/env bash
# Build the stackrig image on the Docker daemon DOCKER_HOST names (make image calls this, after
# make wheelhouse):
#   1. a small build context: the stackrig wheel and the wheels of what its bench extra needs,
#      taken from the wheelhouse (WHEELHOUSE);
#   2. docker build with that context: the image installs them with pip --no-index, so nothing
#      comes from the Python package index inside the build; only Debian packages from a mirror.
# Tags IMAGE:latest and IMAGE:<version> (IMAGE defaults to stackrig). Extra arguments go to
# docker build (make image IMAGE_BUILD_FLAGS='--network none' for example).
set -euo pipefail
VENV=${VENV:-.venv}
WHEELHOUSE=${WHEELHOUSE:-.wheelhouse}
IMAGE=${IMAGE:-stackrig}
CONTEXT=${IMAGE_CONTEXT:-build/image}
DOCKER=${DOCKER:-docker}
export PIP_DISABLE_PIP_VERSION_CHECK=1

base=$(awk -F= '/^ARG BASE=/{print $2; exit}' Dockerfile)
if ! "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; then
  echo "make image: no Docker daemon answers at ${DOCKER_HOST:-the default socket}: start dockerd and set DOCKER_HOST" >&2
  exit 3
fi
if ! "$DOCKER" image inspect "$base" >/dev/null 2>&1; then
  cat >&2 <<EOF
make image: the base image $base is not on the daemon (${DOCKER_HOST:-default socket}).
  Without a registry, make it from the Debian mirror (root, debootstrap):  sudo scripts/base-image.sh
  With a registry:                                                         docker pull $base
EOF
  exit 3
fi

version=$("$VENV/bin/python" -c 'import stackrig; print(stackrig.__version__)')
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
rm -rf "$CONTEXT"
mkdir -p "$CONTEXT/wheels/deps"
# The wheelhouse's stackrig wheel (make wheelhouse keeps it in step with the sources), then the
# wheels of what its bench extra needs, resolved offline from the wheelhouse.
wheel=$(ls "$WHEELHOUSE"/stackrig-*.whl 2>/dev/null | tail -1)
if [ -z "$wheel" ]; then
  echo "make image: no stackrig wheel in $WHEELHOUSE: run make wheelhouse first" >&2
  exit 3
fi
cp "$wheel" "$CONTEXT/wheels/"
"$VENV/bin/python" -m pip wheel -q --no-index --find-links "$WHEELHOUSE" \
  -w "$CONTEXT/wheels/deps" "stackrig[bench] @ file://$(realpath "$wheel")"
rm -f "$CONTEXT"/wheels/deps/stackrig-*.whl
echo "make image: $(ls "$CONTEXT"/wheels/deps | wc -l) dependency wheels ($(du -sh "$CONTEXT/wheels" | cut -f1)) -> $IMAGE:$version" >&2

"$DOCKER" build -f Dockerfile \
  --build-arg "VERSION=$version" --build-arg "REVISION=$revision" \
  -t "$IMAGE:latest" -t "$IMAGE:$version" "$@" "$CONTEXT"
echo "make image: tagged $IMAGE:latest and $IMAGE:$version" >&2
