# ingot: one image, every role. `docker run IMAGE serve|work|schedule|migrate|doctor`.
# A FROM scratch image: the static binary (musl, mimalloc: `make static`),
# the CA bundle and zoneinfo, nothing else. Build it with BuildKit
# (`DOCKER_BUILDKIT=1 docker build -t ingot .`, or `docker buildx build`):
# the static dependencies are built from Debian source packages into a cache
# mount kept between builds (minutes the first time, seconds after).

# Build stage: Debian 12 with the tools of the static build and the two
# packages the runtime files come from (vendor/packages.txt, roles static
# and image).
FROM debian:12 AS build
ARG INGOT_COMMIT=unknown
WORKDIR /src
COPY vendor/ vendor/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(sh vendor/pkgs.sh static image) \
 && rm -rf /var/lib/apt/lists/*
COPY . .
# vendor/static/build.sh keys its prefix by a hash of the script, the pinned
# versions and the compiler, so a stale cache is never used.
RUN --mount=type=cache,id=ingot-static,target=/var/cache/ingot-static,sharing=locked \
    make clean \
 && make -j"$(nproc)" static STATIC_JOBS="$(nproc)" COMMIT="$INGOT_COMMIT"

# Runtime stage: nothing but these three. Name resolution, TLS and time
# zones need no other file (docker and Kubernetes inject /etc/resolv.conf
# and /etc/hosts; without them ingot falls back to loopback for localhost).
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /usr/share/zoneinfo /usr/share/zoneinfo
COPY --from=build /src/bin/ingot-static /usr/local/bin/ingot
# Non-root, numeric so no passwd entry is needed; the filesystem can be
# mounted read-only (ingot writes nothing at run time).
USER 65532:65532
ENV PATH=/usr/local/bin HOST=0.0.0.0 PORT=8080
EXPOSE 8080
# No shell and no curl here: the binary probes itself.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/ingot", "doctor", "--live", "http://127.0.0.1:8080/health/live"]
ENTRYPOINT ["/usr/local/bin/ingot"]
CMD ["serve"]
