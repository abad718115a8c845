#!/usr/bin/env bash
# nginx + njs from Debian's own packages, for docs/nginx-njs.md. The guide's
# reader runs `apt-get install nginx libnginx-mod-http-js`; so does this. The
# test starts nginx as its own process (its own prefix, port, pid and logs),
# so the package must never leave a system nginx running: service starts are
# refused through policy-rc.d while installing.
# Idempotent: returns at once when both packages are installed and the cache
# dir records the versions.
set -euo pipefail
cache=${OPEN_LOGIN_CACHE:-$HOME/.cache/open-login}/gateways/nginx
packages=(nginx libnginx-mod-http-js)
module=/usr/lib/nginx/modules/ngx_http_js_module.so

installed() {
  local p
  for p in "${packages[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || return 1
  done
  [[ -x /usr/sbin/nginx && -f $module ]]
}

if installed && [[ -f $cache/versions ]]; then
  exit 0
fi

if ! installed; then
  sudo=()
  [[ $(id -u) == 0 ]] || sudo=(sudo)
  # Refuse every service start while installing (invoke-rc.d honours exit 101),
  # unless the machine already does; put things back afterwards.
  policy=/usr/sbin/policy-rc.d
  added_policy=false
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod 755 "$policy"
    added_policy=true
  fi
  trap 'if [[ $added_policy == true ]]; then "${sudo[@]}" rm -f "$policy"; fi' EXIT
  apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get -o DPkg::Lock::Timeout=300 -y -q)
  # A fresh machine has no package lists yet (or old ones); install from a current list.
  "${apt[@]}" update >/dev/null
  "${apt[@]}" install --no-install-recommends "${packages[@]}" >/dev/null
  # With systemd the unit may still have been started: stop that nginx (by its pid file).
  if [[ -s /run/nginx.pid ]] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
    "${sudo[@]}" /usr/sbin/nginx -s quit || true
  fi
  installed || { echo "nginx.sh: nginx or its njs module is missing after install" >&2; exit 1; }
fi

mkdir -p "$cache"
{
  dpkg-query -W -f='${Package} ${Version}\n' "${packages[@]}"
  /usr/sbin/nginx -v 2>&1
} >"$cache/versions.tmp"
mv "$cache/versions.tmp" "$cache/versions"
