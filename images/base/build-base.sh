#!/usr/bin/env bash
# Builds the isol8 base image (a minimal Debian 12 "bookworm" root file system)
# with debootstrap and imports it into Docker. Needs no registry: only the
# Debian mirror this machine's apt already uses.
#
# Usage: build-base.sh [--force] [IMAGE]
#        build-base.sh --tar FILE
#   IMAGE      image name to create (default: $ISOL8_BASE_IMAGE, else isol8:base)
#   --force    rebuild even when IMAGE already exists
#   --tar FILE write the root file system as a tar to FILE instead of importing
#              it (isol8d imports it through the Docker API); needs no docker CLI
# Environment:
#   ISOL8_BASE_IMAGE    default image name
#   ISOL8_DEBIAN_MIRROR Debian mirror URL (default: read from /etc/apt)
#   ISOL8_BUILD_TMPDIR  where the root file system is assembled (default /var/tmp;
#                       must allow exec and device nodes, so not a noexec tmpfs)
#   ISOL8_VERBOSE=1     show debootstrap's own output
#   DOCKER_HOST         as for the docker CLI
#
# Runs unattended (no tty, stdin closed). Prints one "isol8-base: ..." line per
# step on stdout; on failure prints the reason on stderr and exits non-zero.
# Exit codes: 0 built or already present, 1 failure, 2 bad usage.
set -euo pipefail
umask 022
export LC_ALL=C DEBIAN_FRONTEND=noninteractive

readonly SUITE=bookworm
readonly FALLBACK_MIRROR=http://deb.debian.org/debian
if [[ -d /run/lock ]]; then LOCK_FILE=/run/lock/isol8-build-base.lock; else LOCK_FILE=/tmp/isol8-build-base.lock; fi
readonly LOCK_FILE

work_dir=""
log_file=""

say() { printf 'isol8-base: %s\n' "$*"; }
die() {
	printf 'isol8-base: error: %s\n' "$*" >&2
	if [[ -n "$log_file" && -s "$log_file" ]]; then
		printf 'isol8-base: last lines of %s:\n' "$(basename "$log_file")" >&2
		tail -n 25 "$log_file" | sed 's/^/  | /' >&2
	fi
	exit 1
}

usage() {
	sed -n '5,10s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

# Unmounts whatever debootstrap may have left mounted under the tree (proc,
# sys, dev/pts after a failure) before deleting it, so that rm never walks
# into the host's /proc or /sys.
cleanup() {
	local rc=$? mnt
	if [[ -n "$work_dir" && -d "$work_dir" ]]; then
		while read -r mnt; do
			umount -l "$mnt" 2>/dev/null || true
		done < <(awk -v d="$work_dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r)
		rm -rf --one-file-system "$work_dir" 2>/dev/null || true
	fi
	exit "$rc"
}

# Prints the first URI that apt uses for the plain "bookworm" suite (deb822
# sources first, then one-line sources), or nothing.
mirror_from_apt() {
	local f
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -r "$f" ]] || continue
		awk -v suite="$SUITE" '
			function flush() {
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uris != "") {
					split(uris, u, " "); print u[1]; found = 1; exit
				}
				types = suites = uris = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			tolower($1) == "types:"  { $1 = ""; types = $0 }
			tolower($1) == "suites:" { $1 = ""; suites = $0 }
			tolower($1) == "uris:"   { $1 = ""; uris = $0 }
			END { if (!found) flush() }
		' "$f" | head -n 1
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -r "$f" ]] || continue
		# deb [options] URI SUITE COMPONENTS...
		sed -E -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk -v suite="$SUITE" '$1 == "deb" && $3 == suite { print $2; exit }'
	done
}

pick_mirror() {
	local m="${ISOL8_DEBIAN_MIRROR:-}"
	[[ -n "$m" ]] || m="$(mirror_from_apt 2>/dev/null | head -n 1 || true)"
	[[ -n "$m" ]] || m="$FALLBACK_MIRROR"
	printf '%s\n' "${m%/}"
}

# Prints the apt sources the image should use: the host's entries for the
# bookworm family (so security updates come from wherever the host gets
# them), or just the mirror's main suite.
image_sources() {
	local mirror="$1" lines="" f
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -r "$f" ]] || continue
		lines+="$(awk '
			function flush(   i, n, s, u) {
				if (types ~ /(^| )deb( |$)/ && uris != "") {
					n = split(suites, s, " "); split(uris, u, " ")
					for (i = 1; i <= n; i++)
						if (s[i] ~ /^bookworm(-updates|-security)?$/)
							print "deb " u[1] " " s[i] " main"
				}
				types = suites = uris = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			tolower($1) == "types:"  { $1 = ""; types = $0 }
			tolower($1) == "suites:" { $1 = ""; suites = $0 }
			tolower($1) == "uris:"   { $1 = ""; uris = $0 }
			END { flush() }
		' "$f")"$'\n'
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -r "$f" ]] || continue
		lines+="$(sed -E -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
			awk '$1 == "deb" && $3 ~ /^bookworm(-updates|-security)?$/ { print "deb " $2 " " $3 " main" }')"$'\n'
	done
	if [[ -n "${ISOL8_DEBIAN_MIRROR:-}" ]] || ! grep -q " $SUITE main" <<<"$lines"; then
		lines="deb $mirror $SUITE main"$'\n'
	fi
	grep -v '^$' <<<"$lines" | awk '!seen[$0]++'
}

docker_ok() { timeout 20 docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

# Runs one step in its own session (so a signal can stop all of it) with its
# output in the log, and waits for it in a way that lets traps run at once.
child=""
run_logged() {
	local rc=0
	if [[ "${ISOL8_VERBOSE:-0}" == 1 ]]; then
		setsid "$@" </dev/null > >(tee -a "$log_file") 2>&1 &
	else
		setsid "$@" </dev/null >>"$log_file" 2>&1 &
	fi
	child=$!
	wait "$child" || rc=$?
	child=""
	return "$rc"
}

on_signal() {
	if [[ -n "$child" ]]; then
		kill -TERM -- "-$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	printf 'isol8-base: interrupted\n' >&2
	exit "$1"
}

# Makes the tree small and quiet: no docs, man pages, apt lists or caches now
# or after later apt-get installs, no recommends, no setuid bits.
trim_tree() {
	local root="$1"
	mkdir -p "$root/etc/dpkg/dpkg.cfg.d" "$root/etc/apt/apt.conf.d"
	cat >"$root/etc/dpkg/dpkg.cfg.d/90isol8-nodoc" <<-'EOF'
		path-exclude=/usr/share/doc/*
		path-exclude=/usr/share/man/*
		path-exclude=/usr/share/info/*
		path-exclude=/usr/share/groff/*
		path-exclude=/usr/share/lintian/*
		path-exclude=/usr/share/linda/*
		path-exclude=/usr/share/locale/*
		path-include=/usr/share/locale/locale.alias
	EOF
	cat >"$root/etc/apt/apt.conf.d/90isol8" <<-'EOF'
		APT::Install-Recommends "false";
		APT::Install-Suggests "false";
		APT::Get::Assume-Yes "true";
		Acquire::Languages "none";
		DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
	EOF
	find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name locale.alias -exec rm -rf {} + 2>/dev/null || true
	rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
		"$root"/usr/share/groff/* "$root"/usr/share/lintian/* \
		"$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
		"$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old "$root"/var/log/* \
		"$root"/tmp/* "$root"/var/tmp/* "$root"/root/.bash_history
	mkdir -p "$root/var/lib/apt/lists/partial" "$root/var/cache/apt/archives/partial"
	find "$root" -xdev -type f -perm /6000 -exec chmod a-s {} +
	# The tree is shared by every sandbox: no machine id.
	: >"$root/etc/machine-id"
	rm -f "$root/var/lib/dbus/machine-id"
}

# Applies pending Debian updates (security fixes) inside the tree.
upgrade_tree() {
	local root="$1"
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	run_logged chroot "$root" apt-get update ||
		die "apt-get update inside the new tree failed (mirror or network?)"
	run_logged chroot "$root" apt-get -y -o Dpkg::Options::=--force-confold dist-upgrade ||
		die "apt-get dist-upgrade inside the new tree failed"
	run_logged chroot "$root" apt-get clean || true
	rm -f "$root/usr/sbin/policy-rc.d"
}

main() {
	local force=0 image="" tar_out="" mirror start tmp_root size
	while (($#)); do
		case "$1" in
		--force) force=1 ;;
		--tar)
			[[ $# -ge 2 ]] || usage
			tar_out="$2"
			shift
			;;
		-h | --help) usage ;;
		-*) printf 'isol8-base: unknown option %s\n' "$1" >&2; usage ;;
		*) [[ -z "$image" ]] || usage; image="$1" ;;
		esac
		shift
	done
	image="${image:-${ISOL8_BASE_IMAGE:-isol8:base}}"
	start=$SECONDS

	[[ $EUID -eq 0 ]] || die "must run as root (debootstrap needs it)"
	local tool tools=(debootstrap tar chroot flock)
	[[ -n "$tar_out" ]] || tools+=(docker)
	for tool in "${tools[@]}"; do
		command -v "$tool" >/dev/null 2>&1 ||
			die "'$tool' not found; install it (apt-get install debootstrap docker.io)"
	done
	if [[ -z "$tar_out" ]]; then
		docker_ok || die "the Docker engine does not answer (is dockerd running? DOCKER_HOST=${DOCKER_HOST:-unset})"
	fi

	# One build at a time; a second caller waits and then finds the image.
	exec 9>>"$LOCK_FILE" || die "cannot open lock file $LOCK_FILE"
	if ! flock -n 9; then
		say "another base build is running; waiting for it"
		flock 9 || die "cannot take lock $LOCK_FILE"
	fi

	if [[ -z "$tar_out" && $force -eq 0 ]] && image_exists "$image"; then
		say "$image already present; nothing to do (use --force to rebuild)"
		return 0
	fi

	mirror="$(pick_mirror)"
	tmp_root="${ISOL8_BUILD_TMPDIR:-/var/tmp}"
	mkdir -p "$tmp_root"
	work_dir="$(mktemp -d "$tmp_root/isol8-base.XXXXXX")" || die "cannot create a temporary directory in $tmp_root"
	trap cleanup EXIT
	trap 'on_signal 130' INT
	trap 'on_signal 143' TERM
	trap 'on_signal 129' HUP
	log_file="$work_dir/build.log"
	mkdir "$work_dir/rootfs"

	say "building $image: debootstrap --variant=minbase $SUITE from $mirror"
	run_logged debootstrap --variant=minbase --components=main "$SUITE" "$work_dir/rootfs" "$mirror" ||
		die "debootstrap failed (mirror $mirror)"
	say "root file system ready after $((SECONDS - start)) s"

	image_sources "$mirror" >"$work_dir/rootfs/etc/apt/sources.list"
	rm -f "$work_dir/rootfs/etc/apt/sources.list.d/"*.sources
	say "applying Debian updates"
	upgrade_tree "$work_dir/rootfs"
	say "trimming docs, man pages, apt lists and setuid bits"
	trim_tree "$work_dir/rootfs"
	size="$(du -sh --one-file-system "$work_dir/rootfs" | cut -f1)"

	if [[ -n "$tar_out" ]]; then
		say "writing $size as a tar to $tar_out"
		tar --numeric-owner --xattrs -C "$work_dir/rootfs" -c . >"$tar_out" || die "cannot write $tar_out"
		say "root file system written in $((SECONDS - start)) s"
		return 0
	fi
	say "importing $size into Docker as $image"
	tar --numeric-owner --xattrs -C "$work_dir/rootfs" -c . |
		docker import \
			--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			--change 'ENV LANG=C.UTF-8' \
			--change 'CMD ["/bin/bash"]' \
			--change "LABEL isol8.base=debootstrap-$SUITE" \
			--change "LABEL isol8.managed=true" \
			--message "isol8 base: debootstrap --variant=minbase $SUITE $mirror" \
			- "$image" >>"$log_file" 2>&1 ||
		die "docker import failed"
	say "built $image in $((SECONDS - start)) s"
}

main "$@"
