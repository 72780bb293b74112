# syntax=docker/dockerfile:1
# The URR image: `urr` (the node, the migrations, the operator commands), and the Tier-1
# room's `vwr-api` and `vwr-advancer` for helm/urr's tier1.mode=cluster.
#
#   docker build -t urr:dev .
#   docker run --rm -p 8080:8080 -e DATABASE_URL=... -e REDIS_URL=... -e URR_JWT_SECRET=... urr:dev
#
# The Lambda zips are built apart: crates/vwr-lambda/deploy/package.sh.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY . .
# Cargo's registry and the target dir are cache mounts: rebuilds recompile only what
# changed. The binaries are copied out in the same step, as the mount is gone after it.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked -p urr -p urr-vwr \
        --bin urr --bin vwr-api --bin vwr-advancer \
    && mkdir -p /out \
    && cp target/release/urr target/release/vwr-api target/release/vwr-advancer /out/

# The builder's Debian release, so the binaries find the glibc they were linked against.
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
# CA certificates for the payment provider, Google's keys and AWS; tini as PID 1 reaps
# children and hands SIGTERM to the node, which drains its events before exiting.
# Versions come from the pinned Debian release; its security updates are wanted.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 urr \
    && useradd --system --uid 10001 --gid urr --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin urr
COPY --from=build /out/ /usr/local/bin/
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# Nothing is written outside /tmp (mount an emptyDir there with a read-only root).
WORKDIR /tmp
ENV URR_LISTEN=0.0.0.0:8080 \
    URR_LOG_FORMAT=json
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["urr", "serve"]
