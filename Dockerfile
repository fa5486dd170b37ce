# Kwit: the relay + the web app in one small image.
#   docker build -t kwit .
#   docker run --rm -p 127.0.0.1:8080:8080 kwit
# Stage `spa` builds the SPA with Trunk, stage `relay` the static (musl) relay with the same
# script the test suite runs (proxy/build-static.sh), stage `artefacts` gathers the two with CA
# certificates, and the runtime stage (the last one, `scratch`) holds only those, running as a
# non-root user. The runtime stage also builds on its own from local files: tests/container/run.sh
# gives it an `artefacts` stage made from the host's static relay, dist/ and CA certificates
# (nothing pulled), and runs the image with podman.

ARG RUST_IMAGE=rust:1.95-bookworm

FROM ${RUST_IMAGE} AS spa
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown \
    && cargo install trunk --version 0.21.14 --locked \
    && cargo install wasm-bindgen-cli --version =0.2.130
# wasm-opt from npm's binaryen 132 (Debian's binaryen is too old for current Rust output).
RUN npm install -g binaryen@132
WORKDIR /src
COPY . .
RUN trunk build --release

FROM ${RUST_IMAGE} AS relay
RUN apt-get update && apt-get install -y --no-install-recommends musl-tools file \
    && rm -rf /var/lib/apt/lists/*
RUN rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
ENV CARGO_TARGET_DIR=/src/target
RUN bash proxy/build-static.sh \
    && install -D -m 0755 target/x86_64-unknown-linux-musl/release/kwit-relay /out/kwit-relay

# The runtime stage's three inputs, at the paths it copies them from.
FROM scratch AS artefacts
COPY --from=relay /etc/ssl/certs/ca-certificates.crt /ca-certificates.crt
COPY --from=relay /out/kwit-relay /kwit-relay
COPY --from=spa /src/dist /dist

# --- runtime: from here to the end builds on its own after any `artefacts` stage ---
FROM scratch
COPY --from=artefacts /ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=artefacts /kwit-relay /kwit-relay
COPY --from=artefacts /dist /app/dist
ENV KWIT_LISTEN=0.0.0.0:8080 \
    KWIT_SPA_DIR=/app/dist \
    KWIT_LOG_FORMAT=json \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
# nobody:nogroup — the relay needs no privilege and writes nothing.
USER 65534:65534
EXPOSE 8080
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s CMD ["/kwit-relay", "--check-health"]
ENTRYPOINT ["/kwit-relay"]
