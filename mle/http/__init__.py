"""The HTTP API of a running engine: health, Prometheus metrics, analyzers, reload,
analyst feedback, an OpenAPI document and a status page.

The supervisor (or the single engine process of ``--workers 0``) owns it. The
server answers in its own threads and never touches the engine's Lua states or
sockets: it reads snapshots the engine publishes (:mod:`.state`) and hands what
changes state to the engine's main loop as commands (:mod:`.commands`).

    server.py       the HTTP server (threads, timeouts, body limits)
    routes.py       what each path does
    auth.py         the token for POST requests
    state.py        what the engine publishes for the API to read
    commands.py     what the API asks the engine's main loop to do
    feedback.py     an analyst's verdict: validated, routed to its worker
    metrics.py      /metrics (prometheus-client)
    analyzers.py    /analyzers and Dragonfly's /www files
    openapi.py      /openapi.json
    status_page.py  / (status.html) and /status
    host.py         the API of one engine: state, commands, server, token
"""
