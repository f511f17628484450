# Multi-stage build of bitsleuth on Debian 12 (bookworm), the same packages
# the README's commands install.
FROM debian:bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config libevent-dev libhiredis-dev \
      libcurl4-openssl-dev libmsgpack-dev libpcre2-dev libssl-dev libyajl-dev \
      libyaml-dev libhttp-parser-dev ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY common common
COPY parsers parsers
COPY queue queue
COPY deploy deploy
COPY config config
COPY ingest ingest
COPY worker worker
COPY cmd cmd
COPY tests tests
COPY bench bench
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBS_WERROR=ON \
 && cmake --build build -j"$(nproc)" --target bitsleuth

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends \
      libevent-2.1-7 libevent-core-2.1-7 libevent-extra-2.1-7 libhiredis0.14 libcurl4 libmsgpackc2 \
      libpcre2-8-0 libssl3 libyajl2 libyaml-0-2 libhttp-parser2.9 ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin bitsleuth
COPY --from=build /src/build/bitsleuth /usr/local/bin/bitsleuth
COPY examples/compose.yaml /etc/bitsleuth/bitsleuth.yaml
USER bitsleuth
# 8080: the webhook (listen); 9180: /metrics, /healthz and /readyz
# (metrics_listen of examples/compose.yaml), served by serve and work alike,
# so the health check works in every mode. A config of your own without
# metrics_listen: override the HEALTHCHECK (or drop it for `work`).
EXPOSE 8080 9180
ENV BITSLEUTH_CONFIG=/etc/bitsleuth/bitsleuth.yaml
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:9180/healthz || exit 1
ENTRYPOINT ["/usr/local/bin/bitsleuth"]
CMD ["run"]
