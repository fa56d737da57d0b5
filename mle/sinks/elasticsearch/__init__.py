"""The Elasticsearch / OpenSearch output, split by concern (as Vector's sink is):

- :mod:`.config`: URI and options -> :class:`~.config.EsConfig` (pure);
- :mod:`.encode`: action lines, document ids, index names, NDJSON bodies (pure);
- :mod:`.response` and :mod:`.retry`: what each status means (pure);
- :mod:`.service`: one bulk POST over a pooled HTTP(S) connection;
- :mod:`.spill`: the bounded on-disk queue used while the cluster is down;
- :mod:`.queue`: memory + spill FIFO with backpressure;
- :mod:`.sink`: :class:`ElasticsearchSink`, batching and the sender threads.
"""

from mle.sinks.elasticsearch.sink import ElasticsearchSink

__all__ = ["ElasticsearchSink"]
