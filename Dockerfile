# ingot: one image, every role. `docker run IMAGE serve|work|schedule|migrate|doctor`.
# Build stage: Debian 12 with the build packages from vendor/packages.txt.
FROM debian:12 AS build
ARG INGOT_COMMIT=unknown
WORKDIR /src
COPY vendor/ vendor/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(sh vendor/pkgs.sh build) \
 && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make clean && make bin/ingot COMMIT="$INGOT_COMMIT" && strip bin/ingot

# Runtime stage: slim Debian with only the runtime libraries.
FROM debian:12-slim
COPY vendor/ /tmp/vendor/
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(sh /tmp/vendor/pkgs.sh runtime) \
 && rm -rf /var/lib/apt/lists/* /tmp/vendor
COPY --from=build /src/bin/ingot /usr/local/bin/ingot
# Non-root, numeric so no passwd entry is needed; the filesystem can be
# mounted read-only (ingot writes nothing at run time).
USER 65532:65532
ENV HOST=0.0.0.0 PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["ingot", "doctor", "--live", "http://127.0.0.1:8080/health/live"]
ENTRYPOINT ["ingot"]
CMD ["serve"]
