#!/bin/bash
# The official mysql/mariadb images' contract, trimmed to what flashdrive uses. Starts as root only
# to fix ownership, then re-executes itself as mysql with setpriv (SETUID/SETGID are kept; dropping
# privileges works under no-new-privileges).
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
  set -- mariadbd "$@"
fi
case "$1" in
  mariadbd|mysqld) ;;
  *) exec "$@" ;;
esac

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

if [ "$(id -u)" = 0 ]; then
  mkdir -p "$DATADIR" /run/mysqld
  find "$DATADIR" /run/mysqld \! -user mysql -exec chown mysql:mysql '{}' +
  exec setpriv --reuid=mysql --regid=mysql --init-groups "$BASH_SOURCE" "$@"
fi

sql_escape() { local s=${1//\\/\\\\}; printf '%s' "${s//\'/\\\'}"; }

if [ ! -d "$DATADIR/mysql" ]; then
  if [ -z "${MYSQL_ROOT_PASSWORD:-}" ] && [ -z "${MARIADB_ROOT_PASSWORD:-}" ]; then
    echo >&2 "Error: database is uninitialized and MYSQL_ROOT_PASSWORD is not set."
    exit 1
  fi
  root_password=${MYSQL_ROOT_PASSWORD:-$MARIADB_ROOT_PASSWORD}
  database=${MYSQL_DATABASE:-${MARIADB_DATABASE:-}}
  user=${MYSQL_USER:-${MARIADB_USER:-}}
  password=${MYSQL_PASSWORD:-${MARIADB_PASSWORD:-}}

  echo "Initializing database files"
  mariadb-install-db --datadir="$DATADIR" --auth-root-authentication-method=normal \
                     --skip-test-db --skip-name-resolve >/dev/null

  # A temporary server on the socket only: nobody can connect before setup is done.
  mariadbd --skip-networking --socket="$SOCKET" --datadir="$DATADIR" &
  pid=$!
  for _ in $(seq 60); do
    mariadb-admin --socket="$SOCKET" -uroot ping --silent >/dev/null 2>&1 && break
    sleep 1
  done

  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    echo "DELETE FROM mysql.user WHERE user NOT IN ('mysql.sys', 'mariadb.sys', 'root') OR host NOT IN ('localhost');"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$(sql_escape "$root_password")';"
    # root from any host, as the official images do by default (MYSQL_ROOT_HOST=%).
    echo "CREATE USER 'root'@'%' IDENTIFIED BY '$(sql_escape "$root_password")';"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "$database" ]; then
      echo "CREATE DATABASE IF NOT EXISTS \`$database\`;"
    fi
    if [ -n "$user" ] && [ -n "$password" ]; then
      echo "CREATE USER '$(sql_escape "$user")'@'%' IDENTIFIED BY '$(sql_escape "$password")';"
      if [ -n "$database" ]; then
        echo "GRANT ALL ON \`$database\`.* TO '$(sql_escape "$user")'@'%';"
      fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | mariadb --socket="$SOCKET" -uroot --protocol=socket

  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sh) echo "running $f"; . "$f" ;;
      *.sql) echo "running $f"; MYSQL_PWD=$root_password mariadb --socket="$SOCKET" -uroot ${database:+"$database"} < "$f" ;;
      *) ;;
    esac
  done

  # The password goes through the environment, never a command line that `ps` would show.
  if ! MYSQL_PWD=$root_password mariadb-admin --socket="$SOCKET" -uroot shutdown; then
    kill "$pid"
  fi
  wait "$pid" || true
  echo "MariaDB init process complete; ready for start up."
fi

exec "$@"
