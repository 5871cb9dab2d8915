#!/bin/sh
# Shared last step of every runtime image: installs Debian packages (no
# recommends), cleans apt's caches and the docs, creates the sandbox user
# (uid/gid 1000, home /sandbox; an existing uid/gid 1000 is renamed), and
# clears every setuid/setgid bit. Usage: finish.sh [PACKAGE...]
set -eux
export DEBIAN_FRONTEND=noninteractive
if [ "$#" -gt 0 ]; then
	apt-get update
	apt-get install -y --no-install-recommends "$@"
fi
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/* /usr/share/doc/* /usr/share/man/*
g="$(getent group 1000 | cut -d: -f1)"
if [ -z "$g" ]; then groupadd -g 1000 sandbox; elif [ "$g" != sandbox ]; then groupmod -n sandbox "$g"; fi
u="$(getent passwd 1000 | cut -d: -f1)"
if [ -z "$u" ]; then
	useradd -u 1000 -g 1000 -d /sandbox -M -s /bin/bash sandbox
else
	usermod -l sandbox -g 1000 -d /sandbox -s /bin/bash "$u"
fi
mkdir -p /sandbox
chown 1000:1000 /sandbox
chmod 0755 /sandbox
find / -xdev -perm /6000 -type f -exec chmod a-s {} +
