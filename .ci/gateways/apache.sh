#!/usr/bin/env bash
# Apache + mod_auth_openidc from Debian's own packages, for
# docs/apache-mod-auth-openidc.md: the guide's reader runs
# `apt-get install apache2 libapache2-mod-auth-openidc`, and so does this.
# test/gateways/apache.gateway.ts starts Apache as its own process.
set -euo pipefail
source "$(dirname "$0")/lib/debian-packages.sh"
debian_packages apache apache2 libapache2-mod-auth-openidc -- /usr/sbin/apache2 /usr/lib/apache2/modules/mod_auth_openidc.so
