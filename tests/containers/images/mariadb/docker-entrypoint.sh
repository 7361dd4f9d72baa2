#!/bin/bash
# First start of an empty data folder, as the official images do it: install the system tables,
# start a server without networking (so healthchecks over TCP fail until we are done), set the
# root password, create MARIADB_DATABASE and MARIADB_USER (MYSQL_* accepted alike), stop it,
# then run the real server in the foreground.
set -euo pipefail

env_or() {  # env_or NAME: $MARIADB_NAME, else $MYSQL_NAME, else the content of *_FILE
  local name=$1 var
  for var in "MARIADB_$name" "MYSQL_$name"; do
    if [ -n "${!var:-}" ]; then printf '%s' "${!var}"; return; fi
    local file="${var}_FILE"
    if [ -n "${!file:-}" ]; then cat "${!file}"; return; fi
  done
}
sql_string() { printf "'%s'" "$(printf '%s' "$1" | sed "s/\\\\/\\\\\\\\/g; s/'/''/g")"; }
sql_name() { printf '`%s`' "$(printf '%s' "$1" | sed 's/`/``/g')"; }

if [ "${1:0:1}" = "-" ]; then set -- mariadbd "$@"; fi
if [ "$1" != "mariadbd" ] && [ "$1" != "mysqld" ]; then exec "$@"; fi

DATADIR=/var/lib/mysql
if [ ! -d "$DATADIR/mysql" ]; then
  root_password=$(env_or ROOT_PASSWORD)
  allow_empty=$(env_or ALLOW_EMPTY_ROOT_PASSWORD)
  random_root=$(env_or RANDOM_ROOT_PASSWORD)
  if [ -z "$root_password" ] && [ -z "$allow_empty" ] && [ -z "$random_root" ]; then
    echo "error: database is uninitialized and no root password option is set:" \
      "set one of MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD, MARIADB_RANDOM_ROOT_PASSWORD" >&2
    exit 1
  fi
  if [ -n "$random_root" ]; then
    root_password=$(head -c 18 /dev/urandom | base64)
    echo "GENERATED ROOT PASSWORD: $root_password"
  fi
  echo "entrypoint: initializing $DATADIR"
  chown -R mysql:mysql "$DATADIR" /run/mysqld
  mariadb-install-db --user=mysql --datadir="$DATADIR" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >/dev/null
  socket=/run/mysqld/init.sock
  mariadbd --user=mysql --datadir="$DATADIR" --skip-networking --socket="$socket" --skip-log-bin &
  pid=$!
  for _ in $(seq 120); do
    mariadb-admin --socket="$socket" -uroot ping --silent 2>/dev/null && break
    sleep 0.5
  done
  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    echo "DELETE FROM mysql.user WHERE user = '';"
    if [ -n "$root_password" ]; then
      echo "ALTER USER 'root'@'localhost' IDENTIFIED BY $(sql_string "$root_password");"
      echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY $(sql_string "$root_password");"
      echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    fi
    database=$(env_or DATABASE)
    if [ -n "$database" ]; then
      echo "CREATE DATABASE IF NOT EXISTS $(sql_name "$database");"
    fi
    user=$(env_or USER)
    password=$(env_or PASSWORD)
    if [ -n "$user" ]; then
      if [ "$user" = "root" ]; then
        echo "error: MARIADB_USER=root: MARIADB_USER and MARIADB_PASSWORD are for a regular user" >&2
        exit 1
      fi
      echo "CREATE USER IF NOT EXISTS $(sql_string "$user")@'%' IDENTIFIED BY $(sql_string "$password");"
      if [ -n "$database" ]; then
        echo "GRANT ALL ON $(sql_name "$database").* TO $(sql_string "$user")@'%';"
      fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | mariadb --socket="$socket" -uroot
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) echo "entrypoint: running $f"; mariadb --socket="$socket" -uroot --password="$root_password" ${database:+"$database"} <"$f" ;;
      *.sh) echo "entrypoint: running $f"; . "$f" ;;
    esac
  done
  kill "$pid"
  wait "$pid" || true
  echo "entrypoint: initialized; starting the server"
fi
exec "$@" --user=mysql --bind-address=0.0.0.0 --skip-name-resolve
