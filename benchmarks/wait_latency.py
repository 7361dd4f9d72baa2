"""How long after a server starts accepting does the wait end? stackrig migrate wait vs wait-for-it's loop.

wait-for-it.sh (the usual tool) tries ``(echo -n > /dev/tcp/HOST/PORT)`` and
``sleep 1`` between tries; the same loop runs here in bash, side by side with
``stackrig migrate wait`` (the real console script) in the same rounds:

- TCP rounds: every waiter is started, then after a random 3-5 s (enough for the
  CLI to start even on a loaded machine) the
  benchmark opens a listening socket on the port; latency = waiter's exit time
  minus the moment ``listen()`` returned.
- MariaDB rounds (when mariadbd is installed): a real server is started; the
  moment it accepts the login is found by this script's own 5 ms login poll;
  stackrig waits for a real login (mysql://), wait-for-it for the TCP port only.

Goal from the issue: stackrig's latency at most interval + 100 ms.
Usage: python benchmarks/wait_latency.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

STACKRIG = str(Path(sys.executable).parent / "stackrig")
WAIT_FOR_IT_LOOP = "until (echo -n > /dev/tcp/127.0.0.1/{port}) >/dev/null 2>&1; do sleep 1; done"
PASSWORD = "bench-pw"  # noqa: S105 - the throwaway server's test login


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def target_of(port: int, mysql: bool) -> str:
    return f"mysql://app:{PASSWORD}@127.0.0.1:{port}/" if mysql else f"tcp://127.0.0.1:{port}"


def waiters(port: int, mysql: bool) -> dict[str, list[str]]:
    target = target_of(port, mysql)
    return {
        "stackrig --interval 0.5": [
            STACKRIG,
            "migrate",
            "wait",
            target,
            "--interval",
            "0.5",
            "--timeout",
            "60",
        ],
        "stackrig --interval 0.1": [
            STACKRIG,
            "migrate",
            "wait",
            target,
            "--interval",
            "0.1",
            "--timeout",
            "60",
        ],
        "wait-for-it loop (sleep 1)": ["bash", "-c", WAIT_FOR_IT_LOOP.format(port=port)],
    }


def start_waiters(
    commands: dict[str, list[str]], target: str
) -> tuple[dict[str, float], list[threading.Thread]]:
    """Start the CLI waiters, plus the library's wait_for in a thread (no process start or exit)."""
    from stackrig.migrate import WaitSettings, wait_for

    done: dict[str, float] = {}
    threads = []

    def in_process() -> None:
        wait_for(WaitSettings((target,), timeout=60, interval=0.5))
        done["wait_for() in-process, 0.5"] = time.monotonic()

    thread = threading.Thread(target=in_process, daemon=True)
    thread.start()
    threads.append(thread)
    env = {k: v for k, v in os.environ.items() if k != "COVERAGE_PROCESS_START"}
    for name, argv in commands.items():
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)

        def watch(name: str = name, proc: subprocess.Popen[bytes] = proc) -> None:
            proc.wait()
            done[name] = time.monotonic()
            if proc.returncode != 0:
                done[name + " (FAILED)"] = float(proc.returncode)

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        threads.append(thread)
    return done, threads


def tcp_round() -> dict[str, float]:
    port = free_port()
    done, threads = start_waiters(waiters(port, mysql=False), target_of(port, mysql=False))
    time.sleep(random.uniform(3.0, 5.0))
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(64)
    accepted_at = time.monotonic()
    for thread in threads:
        thread.join(timeout=30)
    server.close()
    return {name: t - accepted_at for name, t in done.items() if "FAILED" not in name}


def mariadb_round(base: Path) -> dict[str, float]:
    import pymysql

    port = free_port()
    work = Path(tempfile.mkdtemp(dir=base))
    data = work / "data"
    as_root = ["--user=root"] if os.geteuid() == 0 else []
    subprocess.run(
        [shutil.which("mariadb-install-db") or "mariadb-install-db", "--no-defaults", f"--datadir={data}",
         "--auth-root-authentication-method=normal", "--skip-test-db", *as_root],
        check=True, capture_output=True,
    )  # fmt: skip
    init = work / "init.sql"
    init.write_text(
        f"CREATE USER IF NOT EXISTS 'app'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}';\n"
        "GRANT ALL ON *.* TO 'app'@'127.0.0.1';\n"
    )
    done, threads = start_waiters(waiters(port, mysql=True), target_of(port, mysql=True))
    time.sleep(random.uniform(3.0, 5.0))
    server = subprocess.Popen(
        [shutil.which("mariadbd") or "mariadbd", "--no-defaults", f"--datadir={data}",
         f"--socket={work}/sock", f"--port={port}", "--bind-address=127.0.0.1", f"--init-file={init}",
         "--skip-log-bin", "--innodb-buffer-pool-size=16M", f"--pid-file={work}/pid", *as_root],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    accepted_at = None
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                pymysql.connect(
                    host="127.0.0.1", port=port, user="app", password=PASSWORD, connect_timeout=1
                ).close()
                accepted_at = time.monotonic()
                break
            except pymysql.err.MySQLError:
                time.sleep(0.005)
        for thread in threads:
            thread.join(timeout=30)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    if accepted_at is None:
        raise SystemExit("mariadbd did not accept logins within 60 s")
    return {name: t - accepted_at for name, t in done.items() if "FAILED" not in name}


def summary(title: str, rounds: list[dict[str, float]]) -> None:
    names = sorted({n for r in rounds for n in r})
    print(f"\n{title}: latency from server accepting to the wait returning, {len(rounds)} rounds (ms)")
    print(f"  {'waiter':<30} {'median':>8} {'mean':>8} {'p90':>8} {'max':>8}")
    for name in names:
        values = sorted(r[name] * 1000 for r in rounds if name in r)
        p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
        print(
            f"  {name:<30} {statistics.median(values):8.0f} {statistics.fmean(values):8.0f}"
            f" {p90:8.0f} {max(values):8.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random.seed(args.seed)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"stackrig: {STACKRIG}; python {sys.version.split()[0]}; {os.cpu_count()} CPUs; load average {load}"
    )
    summary("TCP port", [tcp_round() for _ in range(args.rounds)])
    print(f"  (load average now {' '.join(f'{x:.1f}' for x in os.getloadavg())})")
    if shutil.which("mariadbd") and shutil.which("mariadb-install-db"):
        with tempfile.TemporaryDirectory(prefix="stackrig-bench-") as base:
            summary(
                "MariaDB (stackrig: real login; wait-for-it: TCP only)",
                [mariadb_round(Path(base)) for _ in range(max(3, args.rounds // 2))],
            )
    else:
        print("\nMariaDB rounds skipped: mariadbd not installed (apt-get install mariadb-server)")


if __name__ == "__main__":
    main()
