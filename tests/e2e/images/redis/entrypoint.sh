#!/bin/sh
# Root fixes the ownership of /data (a fresh volume may be root's), then the command runs as redis.
# setpriv needs only SETUID/SETGID, which the stack keeps; with no-new-privileges it still works,
# since dropping privileges is not gaining them.
set -eu
if [ "$(id -u)" = 0 ]; then
  find /data \! -user redis -exec chown redis:redis '{}' + 2>/dev/null || chown -R redis:redis /data
  exec setpriv --reuid=redis --regid=redis --init-groups "$@"
fi
exec "$@"
