# wfbench's image: the wfbench binary on Debian with redis-server, which `wfbench serve
# faktory` (and a run without --faktory-url) needs as the embedded Faktory's storage.
#   docker build -t wfbench .
#   docker run --rm wfbench run --help
# docker-compose.yml builds it for its api, worker and driver services.

FROM golang:1.26 AS build
WORKDIR /src
# Modules first: their layer is reused while only the sources change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Static (no cgo), so the runtime image needs no Go or C libraries of the builder's.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/wfbench ./cmd/wfbench

FROM debian:bookworm-slim
# redis-server: the embedded Faktory's storage. curl: the api service's healthcheck.
# The package's own redis service is never started in a container.
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 wfbench \
 && useradd --system --uid 10001 --gid 10001 --home-dir /work --create-home --shell /usr/sbin/nologin wfbench
COPY --from=build /out/wfbench /usr/local/bin/wfbench
USER 10001:10001
# A run writes into wfbench-results/<timestamp>/ under here (the driver mounts it).
WORKDIR /work
EXPOSE 7419 7420 8080
ENTRYPOINT ["wfbench"]
CMD ["--help"]
