# MLE engine image: the engine, its Lua runtimes and the shipped root (/opt/mle).
# docker-compose.yml builds it; deploy/sensor.lua is its sensor configuration.
FROM python:3.11-slim
WORKDIR /opt/mle
COPY pyproject.toml README.md ./
COPY mle ./mle
RUN pip install --no-cache-dir .
COPY config.lua ./
COPY inputs ./inputs
COPY analyzers ./analyzers
COPY outputs ./outputs
COPY data ./data
COPY deploy/sensor.lua /etc/mle/sensor.lua
# /run/mle: the socket Suricata writes to (shared with it through a volume) and the
# processes' endpoints; /var/log/mle: annotated events, dead letters, logs
RUN useradd --system --home /opt/mle mle && mkdir -p /var/log/mle /run/mle \
    && chown mle /var/log/mle /run/mle
USER mle
STOPSIGNAL SIGTERM
ENTRYPOINT ["mle"]
CMD ["run", "-r", "/opt/mle", "-c", "/etc/mle/sensor.lua"]
