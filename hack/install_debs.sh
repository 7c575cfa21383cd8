#!/usr/bin/env bash
# Install the Debian packages of the real servers the tests start, if missing.
set -euo pipefail
pkgs=(pdns-server pdns-backend-sqlite3 bind9 bind9-dnsutils etcd-server wireguard-tools wireguard-go iproute2 nftables sqlite3 openssh-server openssh-client shellcheck)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian packages: ${missing[*]}"
$sudo apt-get update -qq
# The packages' own services are not wanted: the tests start private instances
# on loopback. policy-rc.d keeps invoke-rc.d from starting them (sshd on :22).
policy=/usr/sbin/policy-rc.d
if [ ! -e $policy ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee $policy >/dev/null && $sudo chmod 755 $policy
  trap '$sudo rm -f $policy' EXIT
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
