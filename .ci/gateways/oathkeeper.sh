#!/usr/bin/env bash
# Ory Oathkeeper for docs/oathkeeper.md, built from the module source that the
# Go module proxy serves (`go install` refuses the module: its go.mod has a
# `replace` directive). Idempotent: returns at once when this version's binary
# is already in $OPEN_LOGIN_CACHE/gateways/oathkeeper.
set -euo pipefail
VERSION=v0.40.9
MODULE=github.com/ory/oathkeeper
cache=${OPEN_LOGIN_CACHE:-$HOME/.cache/open-login}
out=$cache/gateways/oathkeeper
bin=$out/bin/oathkeeper
if [[ -x $bin && $(cat "$out/VERSION" 2>/dev/null) == "$VERSION" ]]; then
  exit 0
fi

# Module and build caches of its own under $OPEN_LOGIN_CACHE: a fresh machine
# pays the whole download and compile here, and they are removed once the
# binary is built (about 2 GB; only the binary is needed after that).
# -modcacherw: the module cache can be removed like any directory.
export GOMODCACHE=$out/go/mod GOCACHE=$out/go/build GOFLAGS='-mod=mod -modcacherw' GOTOOLCHAIN=local CGO_ENABLED=0
mkdir -p "$out"

dir=$(go mod download -json "$MODULE@$VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -n $dir && -f $dir/go.mod ]] || { echo "oathkeeper: go mod download gave no source for $MODULE@$VERSION" >&2; exit 1; }

# The module's `go` directive is the least Go that builds it; with
# GOTOOLCHAIN=local an older machine Go fails here, not halfway through.
need=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$dir/go.mod")
have=$(go env GOVERSION | sed 's/^go//')
if [[ $(printf '%s\n%s\n' "$need" "$have" | sort -V | head -1) != "$need" ]]; then
  echo "oathkeeper: $MODULE@$VERSION needs Go $need, this machine has $have" >&2
  exit 1
fi

# Build in a copy, never inside the module cache (go.sum may gain lines under -mod=mod).
src=$(mktemp -d "$out/src.XXXXXX")
trap 'chmod -R u+w "$src" 2>/dev/null; rm -rf "$src"' EXIT
cp -R "$dir/." "$src"
chmod -R u+w "$src"
# Only the binary's package (no build tag drops the S3/GCS/Azure rule fetchers
# it imports). -trimpath, -s -w and no DWARF from the compiler keep the build
# short and the binary small; the version is stamped as Ory's releases do.
(cd "$src" && go build -trimpath -gcflags=all=-dwarf=false -ldflags "-s -w -X $MODULE/x.Version=$VERSION" -o "$out/bin/oathkeeper.new" .)
mv "$out/bin/oathkeeper.new" "$bin"
echo "$VERSION" >"$out/VERSION"
rm -rf "$out/go"
