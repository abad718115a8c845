# Sourced by .ci/gateways/<product>.sh for a product that comes from Debian's
# own packages, as the guide's reader installs it:
#   debian_packages PRODUCT PACKAGE... -- FILE...
# installs the PACKAGEs unless they (and the FILEs) are already there, and
# records their versions in $OPEN_LOGIN_CACHE/gateways/PRODUCT/versions.
# Returns at once when all is there. A package must never leave a system
# service running (the tests start the product as their own process, on their
# own port): service starts are refused through policy-rc.d while installing.

debian_packages() {
  local product=$1 packages=() files=() p
  shift
  while [[ $# -gt 0 && $1 != -- ]]; do packages+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  files=("$@")
  local cache=${OPEN_LOGIN_CACHE:-$HOME/.cache/open-login}/gateways/$product

  installed() {
    local p f
    for p in "${packages[@]}"; do
      [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || return 1
    done
    for f in "${files[@]}"; do [[ -e $f ]] || return 1; done
  }

  if installed && [[ -f $cache/versions ]]; then
    return 0
  fi

  if ! installed; then
    local sudo=()
    [[ $(id -u) == 0 ]] || sudo=(sudo)
    # invoke-rc.d honours exit 101 ("action forbidden"); keep a machine's own policy if it has one.
    local policy=/usr/sbin/policy-rc.d added_policy=false
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
      "${sudo[@]}" chmod 755 "$policy"
      added_policy=true
    fi
    local apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 apt-get -o DPkg::Lock::Timeout=300 -y -q)
    local status=0
    # A fresh machine has no package lists yet (or old ones): install from a current list.
    { "${apt[@]}" update >/dev/null && "${apt[@]}" install --no-install-recommends "${packages[@]}" >/dev/null; } || status=$?
    if [[ $added_policy == true ]]; then "${sudo[@]}" rm -f "$policy"; fi
    [[ $status == 0 ]] || { echo "$product: apt-get failed ($status)" >&2; return 1; }
    installed || { echo "$product: ${packages[*]} or ${files[*]} missing after install" >&2; return 1; }
  fi

  mkdir -p "$cache"
  dpkg-query -W -f='${Package} ${Version}\n' "${packages[@]}" >"$cache/versions.tmp"
  mv "$cache/versions.tmp" "$cache/versions"
}
