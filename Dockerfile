# stackrig bench in a container: fio, the graphs and the dashboard, with fio-tools' contract.
# Build it with `make image` (it builds the wheels on the host first; nothing is downloaded from
# the Python package index inside the build, only Debian packages from the mirror):
#   make image                        # tags stackrig:latest and stackrig:<version>
#   docker run --rm stackrig --help   # the modes, the variables and the data folder
# The base image is a Debian 12 minbase; without a registry, make it with scripts/base-image.sh.
ARG BASE=debian:bookworm-slim

# fio from Debian's source, built without the Ceph RBD, GlusterFS and RDMA engines: Debian's binary
# package links them in and brings 80 MB of libraries (librados, librbd, libicu...) that local,
# block-device and cloud-volume benchmarks never load. Only the binary leaves this stage.
FROM ${BASE} AS fio-build
RUN sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
        >/etc/apt/sources.list.d/debian-src.sources \
    && apt-get update \
    && apt-get install -y --no-install-recommends build-essential dpkg-dev libaio-dev zlib1g-dev \
    && mkdir /src && cd /src && apt-get source -q fio \
    && cd fio-*/ && ./configure --prefix=/usr --disable-native \
    && make -j"$(nproc)" fio && install -D -s fio /out/usr/bin/fio && /out/usr/bin/fio --version \
    && cd / && rm -rf /src /var/lib/apt/lists/* /etc/apt/sources.list.d/debian-src.sources \
    && apt-get purge -y -q --auto-remove build-essential dpkg-dev libaio-dev zlib1g-dev >/dev/null

# What runs: Python for stackrig, fio's libaio, tini as PID 1 (signals reach stackrig: quick stop).
FROM ${BASE} AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 libaio1 tini \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log

# What builds the virtual environment: venv and pip only here, never in the final image.
FROM ${BASE} AS build-deps
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3-venv \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log

# stackrig and its bench dependencies from wheels made on the host (make image puts them in wheels/):
# the dependencies first, in a layer of their own that a change to stackrig alone does not rebuild.
# Byte code is kept only for what every start imports (stackrig, typer, click, rich): compiling
# numpy and matplotlib at each start costs about a second, and their .pyc files 45 MB.
FROM build-deps AS build
COPY wheels/deps /wheels/deps
# --system-site-packages: images that copy /opt/stackrig see Debian's Python packages too
# (python3-pymysql for `stackrig migrate wait mysql://...` in an app image).
RUN python3 -m venv --system-site-packages /opt/stackrig \
    && /opt/stackrig/bin/pip install --no-index --no-cache-dir --no-compile --no-deps /wheels/deps/*.whl \
    && find /opt/stackrig/lib -type d \( -name tests -o -name __pycache__ \) -prune -exec rm -rf {} +
COPY wheels/stackrig-*.whl /wheels/
RUN /opt/stackrig/bin/pip install --no-index --no-cache-dir --no-compile --no-deps /wheels/stackrig-*.whl \
    && /opt/stackrig/bin/pip check \
    && /opt/stackrig/bin/pip uninstall -y -q pip setuptools \
    && rm -rf /opt/stackrig/share /opt/stackrig/include \
    && cd /opt/stackrig/lib/python3*/site-packages \
    && /opt/stackrig/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash stackrig typer click rich \
    && mkdir -m 1777 /opt/stackrig/mplconfig \
    && MPLCONFIGDIR=/opt/stackrig/mplconfig /opt/stackrig/bin/python -c 'import matplotlib.font_manager' \
    && find /opt/stackrig/lib -depth -type d -name __pycache__ \
        -not -path '*/site-packages/stackrig/*' -not -path '*/site-packages/typer/*' \
        -not -path '*/site-packages/click/*' -not -path '*/site-packages/rich/*' -exec rm -rf {} + \
    && chmod -R a+rX /opt/stackrig

FROM runtime
ARG VERSION=0
ARG REVISION=unknown
ARG SOURCE=https://github.com/stackrig/stackrig
LABEL org.opencontainers.image.title="stackrig bench" \
      org.opencontainers.image.description="fio benchmarks with graphs, report and dashboard (fio-tools' contract: JOBFILES, REMOTEFILES, PLOTNAME, /tmp/fio-data)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="debian:bookworm-slim"
COPY --from=fio-build /out/usr/bin/fio /usr/bin/fio
COPY --from=build /opt/stackrig /opt/stackrig
ENV PATH=/opt/stackrig/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    MPLCONFIGDIR=/opt/stackrig/mplconfig \
    STACKRIG_HOME=/tmp/fio-data \
    PYTHONDONTWRITEBYTECODE=1
VOLUME /tmp/fio-data
WORKDIR /tmp/fio-data
EXPOSE 8000
# No argument: all in one (run the jobs, draw, serve); run | plot ... | serve | --help.
ENTRYPOINT ["/usr/bin/tini", "--", "stackrig", "bench", "container", "--fio-data", "/tmp/fio-data", "--host", "0.0.0.0"]
