#!/bin/sh
# Prints the package names of the given roles from vendor/packages.txt.
# Usage: vendor/pkgs.sh ROLE...
set -eu
here=$(dirname "$0")
for role in "$@"; do
    awk -v r="$role" '!/^#/ && NF >= 2 && $2 == r { print $1 }' "$here/packages.txt"
done
