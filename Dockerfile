# Build stage: the release binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin qudao

# Runtime stage: a small image running as an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home --home-dir /var/lib/qudao qudao
COPY --from=build /src/target/release/qudao /usr/local/bin/qudao
USER qudao
WORKDIR /var/lib/qudao
ENV QUDAO_LISTEN=0.0.0.0:8080 QUDAO_DATA_DIR=/var/lib/qudao/data
EXPOSE 8080
CMD ["qudao", "serve"]
