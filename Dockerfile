# syntax=docker/dockerfile:1
#
# Lectern's one binary in a small Debian image with ffmpeg. The same image runs
# every mode: `serve` (the default), `api`, `worker`, `migrate`, `user create`.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so editing code does not re-download them.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Pure Go (modernc.org/sqlite needs no cgo), so the binary runs on any base image.
ENV CGO_ENABLED=0
RUN go build -trimpath -o /out/lectern ./cmd/lectern

FROM debian:bookworm-slim
# ffmpeg/ffprobe transcode lessons; bubblewrap runs them without network where
# the container may make namespaces (else the worker logs why not and runs them
# without); ca-certificates for TLS to S3 or PostgreSQL; curl for container
# health checks (curl -f http://localhost:8080/readyz).
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		ffmpeg bubblewrap ca-certificates curl \
	&& rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 lectern \
	&& useradd --system --uid 10001 --gid lectern --home-dir /data --shell /usr/sbin/nologin lectern \
	&& mkdir -p /data \
	&& chown lectern:lectern /data
COPY --from=build /out/lectern /usr/local/bin/lectern
ENV LECTERN_DATA_DIR=/data \
	LECTERN_ADDR=:8080
WORKDIR /data
VOLUME ["/data"]
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["lectern"]
CMD ["serve"]
