#!/usr/bin/env bash
# nginx + njs from Debian's own packages, for docs/nginx-njs.md: the guide's
# reader runs `apt-get install nginx libnginx-mod-http-js`, and so does this.
# test/gateways/nginx.gateway.ts starts nginx as its own process.
set -euo pipefail
source "$(dirname "$0")/lib/debian-packages.sh"
debian_packages nginx nginx libnginx-mod-http-js -- /usr/sbin/nginx /usr/lib/nginx/modules/ngx_http_js_module.so
