"""A monolith VM as files: the seed's Ubuntu 12.04 box with Apache, Passenger, Rails 3.2.8 and MySQL 5.5.

A secret is planted in every source discover reads; ``PLANTED`` lists them all.
"""

from __future__ import annotations

from pathlib import Path

PLANTED = {
    "database.yml password": "DbYmlPl4nted",
    ".env secret key": "EnvSecretKeyPl4nted",
    ".env database url": "EnvUrlPl4nted",
    ".env db password": "EnvDbPwPl4nted",
    "history mysql -p": "HistMysqlPl4nted",
    "history export": "HistExportPl4nted",
    "history url": "HistUrlPl4nted",
    "history ecs-cli": "HistEcsCliPl4nted",
    "history docker -e": "HistDockerEnvPl4nted",
    "history --password=": "HistLongOptPl4nted",
    "history bearer": "HistBearerPl4nted",
    "zsh history token": "ZshTokenPl4nted",
    "cmdline --password": "CmdlinePl4nted",
    "crontab -p": "CronMysqlPl4nted",
    "crontab env": "CronEnvPl4nted",
    "user crontab bearer": "CronBearerPl4nted",
    "settings.py password": "SettingsPyPl4nted",
}

DPKG_STATUS = """\
Package: apache2
Status: install ok installed
Priority: optional
Version: 2.2.22-1ubuntu1.10
Description: Apache HTTP Server
 a multi-line description
 continues here

Package: libapache2-mod-passenger
Status: install ok installed
Version: 2.2.11debian-2

Package: mysql-server-5.5
Status: install ok installed
Version: 5.5.54-0ubuntu0.12.04.1

Package: mysql-client-5.5
Status: install ok installed
Version: 5.5.54-0ubuntu0.12.04.1

Package: ruby1.8
Status: install ok installed
Version: 1.8.7.352-2ubuntu1.6

Package: libc6
Status: install ok installed
Version: 2.15-0ubuntu10.18

Package: nginx
Status: deinstall ok config-files
Version: 1.1.19-1ubuntu0.8
"""

GEMFILE_LOCK = """\
GEM
  remote: https://rubygems.org/
  specs:
    actionmailer (3.2.8)
      actionpack (= 3.2.8)
    actionpack (3.2.8)
    mysql2 (0.3.11)
    rails (3.2.8)
      actionmailer (= 3.2.8)
    rake (10.0.3)

PLATFORMS
  ruby

DEPENDENCIES
  mysql2
  rails (= 3.2.8)
"""

DATABASE_YML = f"""\
default: &default
  adapter: mysql2
  encoding: utf8
  pool: 5
  username: root
  password: {PLANTED["database.yml password"]}

development:
  <<: *default
  database: appdb_dev
  host: <%= ENV['APPDB_PORT_3306_TCP_ADDR'] %>
  port: <%= ENV['APPDB_PORT_3306_TCP_PORT'] %>

production:
  <<: *default
  database: AppName_production
  host: localhost
  port: 3306
"""

# /proc/net/tcp rows: 0.0.0.0:80 (apache), 127.0.0.1:3306 (mysqld), 0.0.0.0:3000 (rails), one ESTABLISHED;
# tcp6: [::]:22 (sshd) and an IPv4-mapped 127.0.0.1:8080 whose owner we cannot see.
_HEAD = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
_TAIL = "00000000:00000000 00:00000000 00000000     0        0 {inode} 1 0 100 0 0 10 0"


def _row(n: int, local: str, remote: str, state: str, inode: int) -> str:
    return f"   {n}: {local} {remote} {state} " + _TAIL.format(inode=inode) + "\n"


V6_ANY = "0" * 32
PROC_NET_TCP = (
    _HEAD
    + _row(0, "00000000:0050", "00000000:0000", "0A", 1001)
    + _row(1, "0100007F:0CEA", "00000000:0000", "0A", 1002)
    + _row(2, "00000000:0BB8", "00000000:0000", "0A", 1003)
    + _row(3, "0100007F:0CEA", "0100007F:9C40", "01", 1004)
)
PROC_NET_TCP6 = (
    _HEAD
    + _row(0, f"{V6_ANY}:0016", f"{V6_ANY}:0000", "0A", 2001)
    + _row(1, "0000000000000000FFFF00000100007F:1F90", f"{V6_ANY}:0000", "0A", 2002)
)


def _proc(root: Path, pid: int, comm: str, argv: list[str], inodes: list[int]) -> None:
    base = root / "proc" / str(pid)
    (base / "fd").mkdir(parents=True)
    (base / "comm").write_text(comm + "\n")
    (base / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")
    for n, inode in enumerate(inodes, start=3):
        (base / "fd" / str(n)).symlink_to(f"socket:[{inode}]")
    (base / "fd" / "0").symlink_to("/dev/null")


def build(root: Path) -> Path:
    """Write the VM tree under ``root``; return the app folder."""
    etc = root / "etc"
    (etc / "cron.d").mkdir(parents=True)
    (etc / "os-release").write_text(
        'NAME="Ubuntu"\nVERSION="12.04.5 LTS, Precise Pangolin"\nID=ubuntu\nID_LIKE=debian\n'
        'PRETTY_NAME="Ubuntu precise (12.04.5 LTS)"\nVERSION_ID="12.04"\n'
    )
    (etc / "lsb-release").write_text(
        "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=12.04\nDISTRIB_CODENAME=precise\n"
        'DISTRIB_DESCRIPTION="Ubuntu 12.04.5 LTS"\n'
    )
    (etc / "crontab").write_text(
        "SHELL=/bin/sh\n# m h dom mon dow user command\n"
        f"0 3 * * * root mysqldump -uroot -p{PLANTED['crontab -p']} AppName_production > /backup/db.sql\n"
        "@reboot root /usr/local/bin/start-app\n"
    )
    (etc / "cron.d" / "rails").write_text(
        f"AWS_SECRET_ACCESS_KEY={PLANTED['crontab env']}\n"
        "*/5 * * * * deploy cd /srv/appname && bundle exec rake tax:refresh\n"
    )
    spool = root / "var" / "spool" / "cron" / "crontabs"
    spool.mkdir(parents=True)
    (spool / "deploy").write_text(
        f'15 * * * * curl -s -H "Authorization: Bearer {PLANTED["user crontab bearer"]}" https://example.invalid/ping\n'
    )
    dpkg = root / "var" / "lib" / "dpkg"
    dpkg.mkdir(parents=True)
    (dpkg / "status").write_text(DPKG_STATUS)

    app = root / "srv" / "appname"
    (app / "config").mkdir(parents=True)
    (app / "Gemfile").write_text("source 'https://rubygems.org'\ngem 'rails', '3.2.8'\ngem 'mysql2'\n")
    (app / "Gemfile.lock").write_text(GEMFILE_LOCK)
    (app / "config" / "database.yml").write_text(DATABASE_YML)
    (app / ".env").write_text(
        f"SECRET_KEY_BASE={PLANTED['.env secret key']}\n"
        f"DATABASE_URL=mysql2://root:{PLANTED['.env database url']}@localhost:3306/AppName_production\n"
        f"DB_HOST=localhost\nDB_NAME=AppName_production\nDB_PASSWORD={PLANTED['.env db password']}\n"
    )
    (app / "app").mkdir()
    (app / "app" / "settings.py").write_text(
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.mysql', 'NAME': 'x', "
        f"'PASSWORD': '{PLANTED['settings.py password']}'}}}}\n"
    )

    (root / "root").mkdir()
    (root / "root" / ".bash_history").write_text(
        "lsb_release -a\n"
        "dpkg -l | grep mysql\n"
        f"mysql -uroot -p{PLANTED['history mysql -p']} AppName_production\n"
        f"export AWS_SECRET_ACCESS_KEY={PLANTED['history export']}\n"
        f"git clone https://deploy:{PLANTED['history url']}@github.example/appname.git /srv/appname\n"
        "ecs-cli configure --region us-east-1 --access-key AKIAEXAMPLE "
        f"--secret-key {PLANTED['history ecs-cli']} --cluster ecs-cli-dev\n"
        f"mysqladmin --password={PLANTED['history --password=']} status\n"
        "mkdir -p /srv/appname\n"
    )
    home = root / "home" / "ubuntu"
    home.mkdir(parents=True)
    (home / ".bash_history").write_text(
        f"docker run -d --name appname_db -e MYSQL_ROOT_PASSWORD={PLANTED['history docker -e']} mysql\n"
        f"curl -H 'Authorization: Bearer {PLANTED['history bearer']}' https://api.example.invalid\n"
    )
    (home / ".zsh_history").write_text(f": 1700000000:0;export GITHUB_TOKEN={PLANTED['zsh history token']}\n")

    net = root / "proc" / "net"
    net.mkdir(parents=True)
    (net / "tcp").write_text(PROC_NET_TCP)
    (net / "tcp6").write_text(PROC_NET_TCP6)
    _proc(root, 812, "apache2", ["/usr/sbin/apache2", "-k", "start"], [1001])
    _proc(
        root,
        990,
        "mysqld",
        ["/usr/sbin/mysqld", "--basedir=/usr", f"--password={PLANTED['cmdline --password']}"],
        [1002, 1004],
    )
    _proc(root, 1201, "ruby", ["ruby", "script/rails", "server", "-p", "3000", "-e", "production"], [1003])
    _proc(root, 640, "sshd", ["/usr/sbin/sshd", "-D"], [2001])
    (root / "proc" / "self").mkdir()
    return app
