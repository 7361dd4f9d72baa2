"""A second monolith VM as files: Debian 12 running a small Python web app on MariaDB 10.11.

The app (``images/app/app.py``: WSGI on PyMySQL, Debian's python3-pymysql) is served by
gunicorn on ``0.0.0.0:PORT``; its ``.env`` holds the MySQL settings (password planted: it
must not reach a report or a compose file); mariadbd listens on 127.0.0.1:3306.
"""

from __future__ import annotations

import shutil
from pathlib import Path

APP_SOURCE = Path(__file__).resolve().parent / "images" / "app" / "app.py"
APP_PASSWORD = "N0tes-Pl4nted-pw"

DPKG_STATUS = """\
Package: mariadb-server
Status: install ok installed
Version: 1:10.11.6-0+deb12u1

Package: mariadb-server-core
Status: install ok installed
Version: 1:10.11.6-0+deb12u1

Package: mariadb-client
Status: install ok installed
Version: 1:10.11.6-0+deb12u1

Package: python3
Status: install ok installed
Version: 3.11.2-1+b1

Package: python3-pymysql
Status: install ok installed
Version: 1.0.2-2

Package: gunicorn
Status: install ok installed
Version: 20.1.0-6
"""

_HEAD = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


def _listen(n: int, address: str, port: int, inode: int) -> str:
    octets = address.split(".")
    local = "".join(f"{int(o):02X}" for o in reversed(octets)) + f":{port:04X}"
    rest = f"00000000:00000000 00:00000000 00000000 0 0 {inode} 1 0 100 0 0 10 0"
    return f"   {n}: {local} 00000000:0000 0A {rest}\n"


def _process(root: Path, pid: int, comm: str, argv: list[str], inode: int) -> None:
    base = root / "proc" / str(pid)
    (base / "fd").mkdir(parents=True)
    (base / "comm").write_text(comm + "\n")
    (base / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    (base / "fd" / "3").symlink_to(f"socket:[{inode}]")


def build_vm(root: Path, port: int) -> Path:
    """Write the VM's files under ``root`` (the app listening on ``port``); return ``root``."""
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text(
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
        "ID=debian\nVERSION_CODENAME=bookworm\n"
    )
    (root / "var" / "lib" / "dpkg").mkdir(parents=True)
    (root / "var" / "lib" / "dpkg" / "status").write_text(DPKG_STATUS)
    app = root / "srv" / "notes"
    app.mkdir(parents=True)
    shutil.copy2(APP_SOURCE, app / "app.py")
    (app / "requirements.txt").write_text("PyMySQL==1.0.2\ngunicorn==20.1.0\n")
    (app / ".python-version").write_text("3.11\n")
    (app / ".env").write_text(
        "DB_ADAPTER=mysql\nDB_HOST=localhost\nDB_PORT=3306\nDB_NAME=notes\nDB_USER=notes\n"
        f"DB_PASSWORD={APP_PASSWORD}\n"
    )
    net = root / "proc" / "net"
    net.mkdir(parents=True)
    (net / "tcp").write_text(_HEAD + _listen(0, "0.0.0.0", port, 3001) + _listen(1, "127.0.0.1", 3306, 3002))  # noqa: S104
    (net / "tcp6").write_text(_HEAD)
    _process(
        root,
        200,
        "gunicorn",
        ["/usr/bin/python3", "/usr/bin/gunicorn", "--bind", f"0.0.0.0:{port}", "app:application"],
        3001,
    )
    _process(root, 100, "mariadbd", ["/usr/sbin/mariadbd"], 3002)
    return root
