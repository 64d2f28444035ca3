#!/usr/bin/env bash
# make demo: show facesearch on the six sample photos of the model package.
set -euo pipefail
BIN=${BIN:-build/facesearch}
MODELS=${MODELS:-models}
echo "== facesearch info: decoding the sample photos"
"$BIN" info "$MODELS"/demo/sample*.jpg

# --- The whole story on the six photos: ingest into a database, build the
# index, find a person, write an HTML report, group everyone.
DB=${DB:-index}
echo
echo "== facesearch ingest: every face of the sample photos into $DB/"
"$BIN" ingest --db "$DB" "$MODELS/demo"
"$BIN" stats --db "$DB"
echo
echo "== facesearch build: the FAISS index"
"$BIN" build --db "$DB"
echo
echo "== facesearch query: who else looks like the largest face of sample1.jpg?"
"$BIN" query --db "$DB" --largest -k 5 --html "$DB/demo-report.html" "$MODELS/demo/sample1.jpg"
echo "(HTML report with thumbnails: $DB/demo-report.html)"
echo
echo "== facesearch dedup: the faces grouped into people"
"$BIN" dedup --db "$DB"
