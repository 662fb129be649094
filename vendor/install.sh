#!/bin/sh
# Installs the missing Debian packages of the given roles (as root, or via
# sudo when available). Usage: vendor/install.sh ROLE...
set -eu
here=$(dirname "$0")
missing=""
for p in $("$here/pkgs.sh" "$@"); do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "vendor/install.sh: missing packages:$missing (run as root to install them)" >&2
    exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# Servers are started by deploy/local/servers.sh under the work tree, never
# as system services: keep package scripts from starting them.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    cleanup_policy=1
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
[ "${cleanup_policy:-0}" = 1 ] && $SUDO rm -f /usr/sbin/policy-rc.d
exit 0
