#!/bin/sh
# Builds a minimal Debian bookworm root filesystem in $1 for `docker import` (run as root on the
# host: no registry can be pulled from, so the base image starts from debootstrap).
set -eu
target=$1
here=$(cd "$(dirname "$0")" && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# minbase: Essential + apt only, like the official debian:bookworm-slim; ca-certificates so that
# HTTPS works in images built on top.
debootstrap --variant=minbase --include=ca-certificates bookworm "$target" "$mirror"

# bookworm-updates and -security too, so images built on top get the same fixes as the host.
install -m 644 "$here/sources.list" "$target/etc/apt/sources.list"
# No recommends, no translations, no .deb cache: small layers, like the official slim images.
install -m 644 "$here/apt.conf" "$target/etc/apt/apt.conf.d/90flashdrive-e2e"
install -m 644 "$here/dpkg.cfg" "$target/etc/dpkg/dpkg.cfg.d/90flashdrive-e2e"
# There is no init in a container: package scripts must not try to start services (postgresql,
# mariadb, redis, caddy all would), the same trick the official Debian images use.
install -m 755 "$here/policy-rc.d" "$target/usr/sbin/policy-rc.d"

rm -rf "$target"/var/lib/apt/lists/* "$target"/var/cache/apt/*.bin "$target"/var/cache/apt/archives/*.deb \
       "$target"/var/log/*.log "$target"/var/log/apt/* "$target"/tmp/* "$target"/root/.bash_history
# debootstrap copies the host's resolv.conf and hostname; Docker provides its own.
: > "$target/etc/resolv.conf"
: > "$target/etc/hostname"
# Docker mounts its own /dev; device nodes made by debootstrap would only be dead weight.
find "$target/dev" -mindepth 1 -delete
