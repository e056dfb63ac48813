# RouteMQ example application: `routemq --workers` in a small non-root image.
#
#   docker build -t routemq:0.1.0 .
#   docker run --rm -e MQTT_BROKER=broker.example -p 8080:8080 routemq:0.1.0
#
# The build stage runs what `make build` runs on a developer's machine (same package list, same
# CMake commands); tests/deploy/dockerfile_test.sh checks that and the runtime package list.

FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/packages.txt scripts/
RUN scripts/install-deps.sh scripts/packages.txt && rm -rf /var/lib/apt/lists/*
COPY . .
RUN make build

FROM debian:12-slim AS runtime
COPY scripts/packages-runtime.txt /tmp/packages-runtime.txt
RUN apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
       $(grep -vE '^\s*(#|$)' /tmp/packages-runtime.txt) \
    && rm -rf /var/lib/apt/lists/* /tmp/packages-runtime.txt \
    && groupadd --system --gid 10001 routemq \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin routemq
COPY --from=build /src/build/release/routemq /usr/local/bin/routemq
# No .env in the image: settings come from the environment (a ConfigMap and a Secret under
# Kubernetes). The endpoint listens on every address so probes and scrapes reach it.
WORKDIR /app
ENV HTTP_HOST=0.0.0.0 \
    HTTP_PORT=8080 \
    LOG_FORMAT=json
EXPOSE 8080
USER 10001:10001
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/routemq", "healthcheck"]
# Exec form: routemq is PID 1 and gets SIGTERM itself, stopping its workers gracefully.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/routemq"]
CMD ["--workers"]
