# Packaging: the runtime package list covers what bin/ingot links, the
# Dockerfile reads vendor/ and ships a FROM scratch image of the static
# binary, the CA bundle and zoneinfo, non-root with a health check; both
# binaries are what they say (dynamic; static PIE with its allocator); CI
# runs only `make test`; the module layout holds.
. "$(dirname "$0")/lib.sh"
R=$INGOT_ROOT
runtime=$(sh "$R/vendor/pkgs.sh" runtime)
for lib in $(readelf -d "$R/bin/ingot" | awk '/NEEDED/ {gsub(/[\[\]]/, "", $5); print $5}'); do
    path=$(ldconfig -p | awk -v l="$lib" '$1 == l && /x86-64|64/ {print $NF; exit}')
    [ -z "$path" ] && { bad "$lib: not found by ldconfig"; continue; }
    pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -1 | cut -d: -f1)
    [ -z "$pkg" ] && pkg=$(dpkg -S "$path" 2>/dev/null | head -1 | cut -d: -f1)
    case "$pkg" in
    libc6) ok "$lib from libc6 (in every Debian image)" ;;
    *) # matched in the shell: the piped grep -q failed once for a listed package
       # under pipefail (cause not proven); the list is printed if it fails again
        case $'\n'"$runtime"$'\n' in
        *$'\n'"$pkg"$'\n'*) ok "$lib from $pkg is a runtime package" ;;
        *) bad "$lib from '$pkg' is missing from vendor/packages.txt (runtime: $(echo $runtime))" ;;
        esac ;;
    esac
done
D=$(cat "$R/Dockerfile")
contains "Dockerfile builds on Debian 12" "$D" "FROM debian:12 AS build"
contains "build tools and image files from vendor" "$D" 'vendor/pkgs.sh static image'
contains "the static dependencies in a BuildKit cache mount" "$D" "RUN --mount=type=cache,id=ingot-static,target=/var/cache/ingot-static"
contains "builds with make static" "$D" "static STATIC_JOBS="
runtime_stage=$(awk '/^FROM scratch/ { s = 1 } s' "$R/Dockerfile")
check "the runtime stage is FROM scratch" test -n "$runtime_stage"
eq "it copies the binary, the CA bundle and zoneinfo, nothing else" \
    "$(printf '%s\n' "$runtime_stage" | awk '/^(COPY|ADD|RUN) / { print $(NF - 1) }' | sort | tr '\n' ' ')" \
    "/etc/ssl/certs/ca-certificates.crt /src/bin/ingot-static /usr/share/zoneinfo "
contains "runs as non-root" "$runtime_stage" "USER 65532:65532"
contains "entrypoint" "$runtime_stage" 'ENTRYPOINT ["/usr/local/bin/ingot"]'
contains "default role" "$runtime_stage" 'CMD ["serve"]'
contains "health check: the binary probes /health/live" "$runtime_stage" 'CMD ["/usr/local/bin/ingot", "doctor", "--live", "http://127.0.0.1:8080/health/live"]'
eq "the image's files come from the image role" "$(sh "$R/vendor/pkgs.sh" image | sort | tr '\n' ' ')" "ca-certificates tzdata "
eq "zoneinfo is what tzdata ships" "$(dpkg -S /usr/share/zoneinfo 2>/dev/null | cut -d: -f1)" tzdata
# compose and the manifests run the same entrypoint and probe.
contains "compose health check uses the binary's path" "$(cat "$R/deploy/docker-compose.yml")" '"/usr/local/bin/ingot", "doctor", "--live"'

# Both binaries: the dynamic one (development, sanitizers) and the static
# PIE the image ships.
ft=$(file -b "$R/bin/ingot")
contains "bin/ingot is a dynamic PIE" "$ft" "pie executable"
contains "  dynamically linked" "$ft" "dynamically linked"
contains "bin/ingot version says dynamic" "$("$R/bin/ingot" version)" "dynamic build"
S=$R/bin/ingot-static
if [ -x "$S" ]; then
    ft=$(file -b "$S")
    contains "bin/ingot-static is a static PIE" "$ft" "static-pie linked"
    contains "  stripped" "$ft" ", stripped"
    check "  no interpreter (PT_INTERP)" sh -c "! readelf -l '$S' | grep -q INTERP"
    check "  no NEEDED library" sh -c "! readelf -d '$S' | grep -q NEEDED"
    out=$(ldd "$S" 2>&1)
    contains "ldd: statically linked" "$out" "statically linked"
    check "  no library listed" sh -c "! ldd '$S' 2>&1 | grep -q '=>'"
    v=$("$S" version)
    contains "version says static and names musl" "$v" "static build (musl "
    contains "version names the allocator" "$v" "allocator mimalloc "
    for lib in libevent mariadb-connector-c hiredis OpenSSL libcurl cJSON; do
        contains "version names $lib" "$v" "$lib "
    done
elif [ "${INGOT_TEST_STATIC:-0}" = 1 ]; then
    bad "bin/ingot-static is missing (make static)"
else
    ok "SKIP: bin/ingot-static absent (make static; make test builds it)"
fi
eq "CI runs make test and nothing else" "$(grep -vE '^(#|set |cd |$)' "$R/.ci/run")" "make test"
contains "README starts with the two commands" "$(head -30 "$R/README.md")" "make run"
contains "README shows make test" "$(head -40 "$R/README.md")" "make test"
# Layout: every .c has its .h (main.c and cmd/ aside) and includes it first.
for c in "$R"/core/*.c "$R"/modes/*.c; do
    h=${c%.c}.h
    if [ -f "$h" ]; then
        first=$(grep -m1 '^#include' "$c")
        eq "$(basename "$c") includes its header first" "$first" "#include \"$(basename "$h")\""
    else
        bad "$(basename "$c") has no header"
    fi
done
check "core never includes modes" sh -c "! grep -lE '#include \"(serve|doctor)\\.h\"' '$R'/core/*"
finish
