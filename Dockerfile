# MLE engine image: the engine, its Lua runtimes and the shipped root (/opt/mle).
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
RUN useradd --system --home /opt/mle mle && mkdir -p /var/log/mle /var/run/mle \
    && chown mle /var/log/mle /var/run/mle
USER mle
ENTRYPOINT ["mle"]
CMD ["run", "-r", "/opt/mle"]
