# Kwit: the relay + the web app in one small image.
#   docker build -t kwit .
#   docker run --rm -p 8080:8080 kwit
# Stage 1 builds the SPA with Trunk, stage 2 the static (musl) relay with the same
# script the test suite runs (proxy/build-static.sh), stage 3 is `scratch` with only
# the binary, the SPA and CA certificates, running as a non-root user.

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

FROM scratch
COPY --from=relay /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=relay /out/kwit-relay /kwit-relay
COPY --from=spa /src/dist /app/dist
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
