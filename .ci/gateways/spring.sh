#!/usr/bin/env bash
# The Spring Boot 3.5 / Spring Security 6.5 resource server of
# docs/spring-security.md, built with Maven into
# $OPEN_LOGIN_CACHE/gateways/spring/api.jar. The project is
# test/gateways/spring plus the guide's own src/main/java blocks, copied from
# the page here; its application.yml is read at run time by the test. The jar
# is rebuilt whenever that source tree differs from the one it was built from
# (built-from/), so an edit to the guide reaches the next run; otherwise this
# returns at once.
set -euo pipefail
cd "$(dirname "$0")/../.."
cache=${OPEN_LOGIN_CACHE:-$HOME/.cache/open-login}
out=$cache/gateways/spring
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/project"
cp -r test/gateways/spring/pom.xml test/gateways/spring/src "$stage/project/"
node --import tsx test/gateways/spring/guide.ts "$stage/project"

if [[ -f $out/api.jar ]] && diff -rq "$stage/project" "$out/built-from" >/dev/null 2>&1; then
  exit 0
fi

mkdir -p "$out"
(cd "$stage/project" && mvn -q -B -Dmaven.repo.local="$cache/m2" package)
cp -r "$stage/project" "$stage/built-from"
rm -rf "$stage/built-from/target"
cp "$stage/project/target/api.jar" "$stage/api.jar"
# Replace both together so a half-finished build is never taken for a good one.
rm -rf "$out/built-from" "$out/api.jar"
mv "$stage/built-from" "$out/built-from"
mv "$stage/api.jar" "$out/api.jar"
