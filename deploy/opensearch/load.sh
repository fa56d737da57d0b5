#!/bin/sh
# One-shot loader for docker-compose.yml's search profile (runs in curlimages/curl):
#   load.sh template     put MLE's index template (mle-template.json) into OpenSearch,
#                        before MLE's first document decides the mapping
#   load.sh dashboards   import the index pattern and the findings dashboard
#                        (mle-dashboards.ndjson) into OpenSearch Dashboards
# Both retry while the service starts, overwrite what an earlier run loaded, and exit
# non-zero when the service refuses.
set -eu
here=$(dirname "$0")
opensearch=${OPENSEARCH_URL:-http://opensearch:9200}
dashboards=${DASHBOARDS_URL:-http://opensearch-dashboards:5601}
retry="--retry 60 --retry-delay 5 --retry-all-errors --retry-connrefused"

case "${1:-}" in
  template)
    # shellcheck disable=SC2086
    curl -fsS $retry -X PUT "$opensearch/_index_template/mle" \
      -H 'Content-Type: application/json' --data-binary "@$here/mle-template.json"
    echo
    ;;
  dashboards)
    # shellcheck disable=SC2086
    answer=$(curl -fsS $retry -X POST "$dashboards/api/saved_objects/_import?overwrite=true" \
      -H 'osd-xsrf: true' --form "file=@$here/mle-dashboards.ndjson")
    echo "$answer"
    case "$answer" in
      *'"success":true'*) ;;
      *) echo "load.sh: OpenSearch Dashboards did not import every object" >&2; exit 1 ;;
    esac
    ;;
  *)
    echo "usage: load.sh template|dashboards" >&2
    exit 2
    ;;
esac
