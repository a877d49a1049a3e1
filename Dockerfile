# The function app as a container image. docs/deploy.md walks through building, running and
# deploying it; in short:
#
#   docker build -t functions .                              # the sample, embedded task hub
#   docker build --build-arg FEATURES=azure -t functions .   # with the Azure Storage task hub
#   docker build --build-arg APP=my-app -t my-app .          # your own crate (its bin name)
#
# A binary built outside the image (what CI does, so it compiles once) goes in with
#
#   docker buildx build --target runtime-prebuilt --build-context prebuilt=DIR -t functions .
#
# where DIR holds the binary under its name (APP). No `# syntax=` line: the built-in frontend
# handles everything here, and fetching another would need a registry.

ARG RUST_IMAGE=docker.io/library/rust:1-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim

# --- Compile the app in release. ---------------------------------------------------------------
FROM ${RUST_IMAGE} AS build
# The cargo package to build, and the name of its binary (the same unless it says otherwise).
ARG APP=functions
ARG BIN=${APP}
# Cargo features, comma-separated: `azure` adds the Azure Storage task hub and its triggers.
# (The sample built with `azure` has a blob trigger, so it then needs AzureWebJobsStorage.)
ARG FEATURES=
WORKDIR /src
COPY . .
# The registry and the target folder live in cache mounts, so a rebuild after a code change
# compiles only what changed. The binary leaves the mount stripped (about 7 MB).
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p "$APP" ${FEATURES:+--features "$FEATURES"} \
 && install -D -m 0755 "target/release/$BIN" /out/app \
 && strip /out/app

# --- The CA certificates, for HTTPS to Azure Storage. -------------------------------------------
# Only the bundle goes into the runtime image: the package would add openssl (9 MB) with it.
FROM ${RUNTIME_IMAGE} AS certificates
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*

# --- What every runtime image shares. ----------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime-base
COPY --from=certificates /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# A non-root user with a numeric id (Kubernetes' runAsNonRoot can only check a number); /app
# for the configuration, /data for the host's files (the embedded task hub, generated keys):
# mount a volume there.
RUN groupadd --gid 10001 app \
 && useradd --uid 10001 --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
 && install -d -o app -g app /app /data
WORKDIR /app
# host.json of the app, from the build context (HOST_JSON names another file).
ARG HOST_JSON=host.json
COPY --chown=10001:10001 ${HOST_JSON} /app/host.json
# Production defaults; every one can be changed with `-e`/`env:`. Local development mode off:
# keys are enforced on the durable API and the server binds 0.0.0.0. Logs are one JSON object
# per line, for log collectors (`DurableLogFormat=text` for people).
ENV DurableLocalDevelopment=false \
    FUNCTIONS_HTTP_PORT=7071 \
    DurableDataDir=/data \
    DurableLogFormat=json
USER 10001:10001
EXPOSE 7071
# The host's own probe (no curl in the image): exit 0 when /admin/host/ready answers 200.
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/app", "health"]
# The host is PID 1: on SIGTERM it drains (DurableDrainDelay), finishes the work in flight
# (DurableShutdownDeadline, 30 s) and exits 0. Give `docker stop` more than that (`-t 35`).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/app"]

# --- A binary built outside: `--target runtime-prebuilt --build-context prebuilt=DIR`. --------
FROM runtime-base AS runtime-prebuilt
ARG APP=functions
ARG BIN=${APP}
COPY --from=prebuilt ${BIN} /usr/local/bin/app

# --- The default target: the binary compiled above. --------------------------------------------
FROM runtime-base AS runtime
COPY --from=build /out/app /usr/local/bin/app
