#!/usr/bin/env bash
# `npm run test:gateways`: build (or find in the cache) every product an
# integration guide is tested against, then run the guide tests. Each
# .ci/gateways/<product>.sh is idempotent: it builds into
# $OPEN_LOGIN_CACHE/gateways/<product> (default ~/.cache/open-login) and
# returns at once when that build is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
export OPEN_LOGIN_CACHE=${OPEN_LOGIN_CACHE:-$HOME/.cache/open-login}
only=${1:-}
for script in .ci/gateways/*.sh; do
  name=$(basename "$script" .sh)
  [[ $name == run ]] && continue
  [[ -n $only && $name != "$only" ]] && continue
  start=$SECONDS
  printf -- '--- %s: ' "$name"
  bash "$script"
  printf 'ready (%d s)\n' $((SECONDS - start))
done
if [[ -n $only ]]; then
  exec npx ava --config ava.gateways.config.js "test/gateways/$only.gateway.ts"
fi
exec npx ava --config ava.gateways.config.js
