#!/bin/sh
# Fetches one file out of an npm registry package, pinned by version and
# checked against the registry's sha512 integrity before it is unpacked. The
# pin is the trust anchor: where the machine's egress re-signs TLS with a CA
# the build container does not know, the download falls back to an unverified
# transport and the pin alone decides.
# Usage: npm-fetch.sh PACKAGE VERSION INTEGRITY PATH_IN_PACKAGE DEST
# PATH_IN_PACKAGE "." installs the whole package as the directory DEST.
# (NPM_REGISTRY overrides https://registry.npmjs.org)
set -eu
pkg=$1 version=$2 integrity=$3 inner=$4 dest=$5
registry="${NPM_REGISTRY:-https://registry.npmjs.org}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends curl ca-certificates
url="${registry%/}/${pkg}/-/${pkg##*/}-${version}.tgz"
curl -fsSL --retry 3 -o /tmp/pkg.tgz "$url" ||
	{ echo "TLS check of $url failed; fetching without it, the sha512 pin decides" >&2;
	  curl -fsSL --retry 3 --insecure -o /tmp/pkg.tgz "$url"; }
want="$(printf '%s' "${integrity#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')"
got="$(sha512sum /tmp/pkg.tgz | cut -d' ' -f1)"
if [ "$got" != "$want" ]; then
	echo "$pkg@$version tarball sha512 mismatch: got $got want $want" >&2
	exit 1
fi
mkdir -p /tmp/pkg
tar -xzf /tmp/pkg.tgz -C /tmp/pkg
if [ "$inner" = . ]; then
	mkdir -p "$(dirname "$dest")"
	rm -rf "$dest"
	mv /tmp/pkg/package "$dest"
else
	install -m 0755 "/tmp/pkg/package/$inner" "$dest"
	"$dest" --version
fi
