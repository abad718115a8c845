#!/usr/bin/env bash
# Quarkus 3.33.2 (quarkus-rest + quarkus-oidc): the resource server of
# docs/quarkus.md, test/gateways/quarkus, built with Maven into
# $OPEN_LOGIN_CACHE/gateways/quarkus/quarkus-app (fast-jar: quarkus-run.jar).
# Idempotent: returns at once when the build of these exact sources is there.
# The Maven repository lives in $OPEN_LOGIN_CACHE/m2, so a warm machine
# downloads nothing. Runtime configuration is not built in: the test passes the
# guide's application.properties when it starts the jar.
set -euo pipefail
cd "$(dirname "$0")/../.."
cache=${OPEN_LOGIN_CACHE:-$HOME/.cache/open-login}
dest=$cache/gateways/quarkus
src=test/gateways/quarkus

# The build is keyed by its sources and by this script (which says how it is built).
stamp=$({ sha256sum .ci/gateways/quarkus.sh; cd "$src" && find pom.xml src -type f | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -d' ' -f1)
if [[ -f $dest/quarkus-app/quarkus-run.jar && $(cat "$dest/sources.sha256" 2>/dev/null) == "$stamp" ]]; then
  exit 0
fi
for tool in mvn java; do
  command -v "$tool" >/dev/null || { echo "quarkus.sh: $tool not found (apt-get install maven openjdk-17-jdk-headless)" >&2; exit 1; }
done

# Build in a scratch copy: no target/ in the work tree, nothing half-built in the cache.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$src/pom.xml" "$src/src" "$work/"
(cd "$work" && mvn -B -q -Dmaven.repo.local="$cache/m2" package)
mkdir -p "$work/out"
mv "$work/target/quarkus-app" "$work/out/"
echo "$stamp" >"$work/out/sources.sha256"
rm -rf "$dest"
mkdir -p "$(dirname "$dest")"
mv "$work/out" "$dest"
