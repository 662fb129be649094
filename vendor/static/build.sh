#!/bin/sh
# Builds the static (musl) dependencies of bin/ingot-static from the Debian
# source packages pinned in vendor/packages.txt (role "source") into a prefix
# outside the work tree:
#
#   ${INGOT_STATIC_CACHE:-/var/cache/ingot-static}/<key>
#
# <key> is a hash of everything that decides the result: this script, the
# pinned source versions and the compiler (gcc and musl). A second run with
# the same key does nothing but print the prefix. Prints the prefix on its
# last line of stdout; the build log goes to stderr and <prefix>.log.
#
# Sources: apt-get source through a private apt state under the cache
# directory, whose deb-src lines are derived from the machine's own deb lines
# (the machine's apt configuration is not changed). apt checks every file
# against the signed Sources index; dpkg-source -x checks them against the
# .dsc checksums and applies Debian's patches.
#
# Needs: musl-tools, dpkg-dev, cmake, perl, make, xz-utils (vendor/packages.txt,
# role "static"). Usage: vendor/static/build.sh [-j N]
set -eu

jobs=2
[ "${1:-}" = "-j" ] && jobs=$2
here=$(cd "$(dirname "$0")" && pwd)
vendor=$(dirname "$here")
cache=${INGOT_STATIC_CACHE:-/var/cache/ingot-static}

# The environment must not steer the toolchain to glibc or host libraries
# (LIBRARY_PATH is also a variable name in hiredis's Makefile).
unset LIBRARY_PATH CPATH C_INCLUDE_PATH CPLUS_INCLUDE_PATH PKG_CONFIG_PATH \
      CFLAGS CPPFLAGS LDFLAGS LIBS MAKEFLAGS MFLAGS 2>/dev/null || true
export LC_ALL=C

die() { echo "vendor/static/build.sh: $*" >&2; exit 1; }
for t in musl-gcc dpkg-source apt-get cmake perl make ar sha256sum; do
    command -v "$t" >/dev/null 2>&1 || die "$t is missing (sh vendor/install.sh static)"
done
musl_specs=$(dpkg -L musl-dev 2>/dev/null | grep '/musl-gcc\.specs$' | head -1)
[ -n "$musl_specs" ] || die "musl-gcc.specs not found (musl-dev)"
musl_lib=$(dirname "$musl_specs")

# Pinned versions: "package source version" lines of vendor/packages.txt.
pins=$(awk '!/^#/ && NF >= 3 && $2 == "source" { print $1 "=" $3 }' "$vendor/packages.txt")
ver() { printf '%s\n' "$pins" | awk -F= -v p="$1" '$1 == p { print $2 }'; }
for p in openssl libevent hiredis cjson curl mariadb mimalloc; do
    [ -n "$(ver $p)" ] || die "no pinned source version for $p in vendor/packages.txt"
done

key=$( { cat "$0"; printf '%s\n' "$pins"; gcc --version | head -1;
         dpkg-query -W -f='${Package} ${Version}\n' musl-dev musl-tools linux-libc-dev; } |
       sha256sum | cut -c1-16)
prefix=$cache/$key
if [ -f "$prefix/.complete" ]; then
    echo "vendor/static/build.sh: up to date ($prefix)" >&2
    echo "$prefix"
    exit 0
fi

# One build per key at a time (CI and a local make static may share the
# cache): wait for the other, then see whether it finished the job.
mkdir -p "$cache/dl"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$cache/$key.lock"
    flock 9
    if [ -f "$prefix/.complete" ]; then
        echo "vendor/static/build.sh: up to date ($prefix)" >&2
        echo "$prefix"
        exit 0
    fi
fi
log=$prefix.log
work=$cache/work-$key
rm -rf "$prefix" "$work"
mkdir -p "$prefix/bin" "$prefix/lib" "$prefix/include" "$work"
exec 3>&1 4>&2 >>"$log" 2>&1
echo "== $(date -u) key $key"
step() { echo "== $(date -u +%T) $*"; echo "vendor/static/build.sh: $*" >&4; }
trap 'echo "vendor/static/build.sh: FAILED, see $log" >&4' EXIT

# --- toolchain: musl-gcc's specs plus kernel headers and static PIE --------
# musl-gcc sees neither <linux/*.h> nor <asm/*.h>, and its specs always name
# a dynamic linker (so -static-pie silently gives a dynamic binary). Our specs
# add the kernel headers and make -static-pie use rcrt1.o with
# --no-dynamic-linker.
kinc=$prefix/kinc
mkdir -p "$kinc"
for d in linux asm-generic mtd; do
    [ -d /usr/include/$d ] && ln -s /usr/include/$d "$kinc/$d"
done
ln -s "/usr/include/$(gcc -dumpmachine)/asm" "$kinc/asm"
specs=$prefix/musl.specs
sed -e "s|-isystem include%s|-isystem include%s -isystem $kinc|g" \
    -e "s|%{!shared: $musl_lib/Scrt1.o}|%{static-pie:$musl_lib/rcrt1.o} %{!static-pie:%{!shared:$musl_lib/Scrt1.o}}|" \
    -e "s|^-dynamic-linker \([^ ]*\)|%{!static-pie:-dynamic-linker \1} %{static-pie:-static -pie --no-dynamic-linker -z text}|" \
    "$musl_specs" > "$specs"
if ! grep -q rcrt1.o "$specs" || ! grep -q no-dynamic-linker "$specs"; then
    die "could not adapt $musl_specs"
fi
# The wrapper also keeps the caller's LIBRARY_PATH & co. (glibc or CUDA
# directories, say) out of every compile and link, make static's included.
cat > "$prefix/bin/musl-cc" <<EOF
#!/bin/sh
unset LIBRARY_PATH CPATH C_INCLUDE_PATH
exec gcc -specs=$specs "\$@"
EOF
chmod +x "$prefix/bin/musl-cc"
CC=$prefix/bin/musl-cc
OPT="-O2 -fPIC -ffunction-sections -fdata-sections"
export PKG_CONFIG_LIBDIR="$prefix/lib/pkgconfig" PKG_CONFIG_PATH=

# --- sources ---------------------------------------------------------------
apt=$cache/apt
mkdir -p "$apt/parts" "$apt/lists/partial" "$apt/cache/archives/partial"
: > "$apt/sources.list"
[ -f /etc/apt/sources.list ] && sed -n 's/^deb /deb-src /p' /etc/apt/sources.list > "$apt/sources.list"
rm -f "$apt/parts/"*
for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sed 's/^Types:.*/Types: deb-src/' "$f" > "$apt/parts/$(basename "$f")"
done
for f in /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && sed -n 's/^deb /deb-src /p' "$f" > "$apt/parts/$(basename "$f")"
done
aptopt="-o Dir::Etc::SourceList=$apt/sources.list -o Dir::Etc::SourceParts=$apt/parts
 -o Dir::State::Lists=$apt/lists -o Dir::Cache=$apt/cache -o APT::Sandbox::User=root"
step "apt-get update (private deb-src state in $apt)"
# shellcheck disable=SC2086
apt-get $aptopt update -qq
for pin in $pins; do
    p=${pin%%=*}; v=${pin#*=}; fv=${v#*:}
    if [ ! -f "$cache/dl/${p}_$fv.dsc" ]; then
        step "fetch $p $v"
        # shellcheck disable=SC2086
        (cd "$cache/dl" && apt-get $aptopt source --download-only -qq "$p=$v") || {
            # shellcheck disable=SC2086
            echo "vendor/static/build.sh: fetchable now: $(apt-cache $aptopt showsrc "$p" | awk '/^Version:/ {print $2}' | tr '\n' ' ')" >&4
            die "cannot fetch source $p=$v: pick a fetchable version in vendor/packages.txt"
        }
    fi
    step "unpack $p $v (checksums from the .dsc)"
    dpkg-source -x "$cache/dl/${p}_$fv.dsc" "$work/$p" >/dev/null
done

# --- OpenSSL ---------------------------------------------------------------
step "build openssl"
cd "$work/openssl"
./Configure linux-x86_64 no-shared no-module no-engine no-dso no-tests \
    --prefix="$prefix" --libdir=lib --openssldir=/etc/ssl \
    CC="$CC" CFLAGS="$OPT" >/dev/null
make -j"$jobs" build_libs >/dev/null
make install_dev >/dev/null

# --- libevent --------------------------------------------------------------
# A Debian patch touches Makefile.am; keep make from rerunning automake.
step "build libevent"
cd "$work/libevent"
touch aclocal.m4; find . -name Makefile.in -exec touch {} +; touch configure config.h.in
./configure --prefix="$prefix" --disable-shared --enable-static --with-pic \
    --disable-openssl --disable-samples --disable-libevent-regress \
    --disable-debug-mode CC="$CC" CFLAGS="$OPT" >/dev/null
make -j"$jobs" ACLOCAL=true AUTOMAKE=true AUTOCONF=true AUTOHEADER=true >/dev/null
make install ACLOCAL=true AUTOMAKE=true AUTOCONF=true AUTOHEADER=true >/dev/null

# --- hiredis ---------------------------------------------------------------
step "build hiredis"
cd "$work/hiredis"
make -j"$jobs" CC="$CC" OPTIMIZATION="-O2" CFLAGS="-ffunction-sections -fdata-sections" \
    libhiredis.a >/dev/null
mkdir -p "$prefix/include/hiredis/adapters"
cp hiredis.h async.h read.h sds.h alloc.h "$prefix/include/hiredis/"
cp adapters/*.h "$prefix/include/hiredis/adapters/"
cp libhiredis.a "$prefix/lib/"

# --- cJSON -----------------------------------------------------------------
step "build cjson"
cd "$work/cjson"
# shellcheck disable=SC2086 # $OPT is a list of flags
$CC $OPT -std=c89 -c cJSON.c -o cJSON.o
ar rcs "$prefix/lib/libcjson.a" cJSON.o
mkdir -p "$prefix/include/cjson"
cp cJSON.h "$prefix/include/cjson/"

# --- curl: HTTP/HTTPS only, threaded resolver, OpenSSL ----------------------
step "build curl"
cd "$work/curl"
./configure --prefix="$prefix" --disable-shared --enable-static --with-pic \
    --with-openssl="$prefix" --enable-threaded-resolver --disable-ares \
    --enable-http --disable-ftp --disable-file --disable-ldap --disable-ldaps \
    --disable-rtsp --disable-dict --disable-telnet --disable-tftp --disable-pop3 \
    --disable-imap --disable-smb --disable-smtp --disable-gopher --disable-mqtt \
    --disable-manual --disable-ntlm --disable-ntlm-wb --disable-kerberos-auth \
    --disable-negotiate-auth --disable-sspi --disable-aws --disable-netrc \
    --without-zlib --without-brotli --without-zstd --without-libpsl \
    --without-libidn2 --without-librtmp --without-libssh2 --without-libssh \
    --without-nghttp2 --without-ngtcp2 --without-nghttp3 --without-quiche \
    --without-gssapi --without-libgsasl \
    --with-ca-bundle=/etc/ssl/certs/ca-certificates.crt --without-ca-path \
    CC="$CC" CFLAGS="$OPT" CPPFLAGS="-I$prefix/include" LDFLAGS="-L$prefix/lib" >/dev/null
make -j"$jobs" -C lib >/dev/null
make -C lib install >/dev/null
make -C include install >/dev/null
make install-pkgconfigDATA >/dev/null 2>&1 || true

# --- MariaDB Connector/C, every auth plugin built in ------------------------
# gcc 12 warns where Connector/C builds with -Werror: turn that off.
step "build mariadb connector/c"
cd "$work/mariadb/libmariadb"
mkdir -p build && cd build
cmake .. -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$CC" \
    -DCMAKE_C_FLAGS="$OPT" -DCMAKE_COMPILE_WARNING_AS_ERROR=OFF -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON -DWITH_UNIT_TESTS=OFF -DWITH_CURL=OFF \
    -DWITH_SSL=OPENSSL -DOPENSSL_ROOT_DIR="$prefix" -DOPENSSL_USE_STATIC_LIBS=ON \
    -DWITH_EXTERNAL_ZLIB=OFF -DWITH_MYSQLCOMPAT=OFF -DWITH_ICONV=OFF \
    -DCLIENT_PLUGIN_DIALOG=STATIC -DCLIENT_PLUGIN_MYSQL_CLEAR_PASSWORD=STATIC \
    -DCLIENT_PLUGIN_CLIENT_ED25519=STATIC -DCLIENT_PLUGIN_SHA256_PASSWORD=STATIC \
    -DCLIENT_PLUGIN_CACHING_SHA2_PASSWORD=STATIC -DCLIENT_PLUGIN_MYSQL_OLD_PASSWORD=STATIC \
    -DCLIENT_PLUGIN_PARSEC=STATIC \
    -DCLIENT_PLUGIN_AUTH_GSSAPI_CLIENT=OFF -DCLIENT_PLUGIN_REMOTE_IO=OFF \
    -DCLIENT_PLUGIN_ZSTD=OFF >/dev/null
make -j"$jobs" >/dev/null
make install >/dev/null
rm -f "$prefix/lib/mariadb/"*.so*

# --- mimalloc: the allocator (musl's halves the HTTP throughput) ------------
step "build mimalloc"
cd "$work/mimalloc"
mkdir -p build && cd build
cmake .. -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$CC" -DCMAKE_C_FLAGS="$OPT" \
    -DMI_BUILD_SHARED=OFF -DMI_BUILD_STATIC=OFF -DMI_BUILD_OBJECT=ON -DMI_BUILD_TESTS=OFF \
    -DMI_OVERRIDE=ON -DMI_SECURE=OFF -DMI_INSTALL_TOPLEVEL=ON >/dev/null
make -j"$jobs" mimalloc-obj >/dev/null
cp "$(find . -name 'static.c.o' | head -1)" "$prefix/lib/mimalloc.o"

# --- record what was built ---------------------------------------------------
printf '%s\n' "$pins" > "$prefix/versions"
gcc --version | head -1 >> "$prefix/versions"
dpkg-query -W -f='${Package} ${Version}\n' musl-dev >> "$prefix/versions"
cd "$cache"
rm -rf "$work"
touch "$prefix/.complete"
trap - EXIT
step "done: $prefix"
echo "$prefix" >&3
