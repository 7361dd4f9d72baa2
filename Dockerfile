# stackrig bench in a container: the fio-tools all-in-one contract.
#   docker build -t stackrig-bench .
#   docker run -p 8000:8000 -v /tmp/fio-data:/tmp/fio-data \
#       -e JOBFILES=job.fio -e PLOTNAME=MyTest stackrig-bench
# JOBFILES: names in /tmp/fio-data (or paths); REMOTEFILES: URLs of job files;
# PLOTNAME: run name and graph title. Every run is kept in /tmp/fio-data.
# The dashboard listens on 0.0.0.0 inside the container only; publish it with -p.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends fio python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/stackrig
COPY pyproject.toml README.md ./
COPY src ./src
RUN python3 -m venv /opt/stackrig/venv \
    && /opt/stackrig/venv/bin/pip install --no-cache-dir '.[bench]' \
    && ln -s /opt/stackrig/venv/bin/stackrig /usr/local/bin/stackrig
ENV STACKRIG_HOME=/tmp/fio-data/.stackrig
VOLUME /tmp/fio-data
WORKDIR /tmp/fio-data
EXPOSE 8000
ENTRYPOINT ["stackrig", "bench", "aio", "--from-env", "--fio-data", "/tmp/fio-data", "--host", "0.0.0.0", "--port", "8000"]
