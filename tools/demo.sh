#!/usr/bin/env bash
# make demo: show facesearch on the six sample photos of the model package.
set -euo pipefail
BIN=${BIN:-build/facesearch}
MODELS=${MODELS:-models}
CONF=${CONF:-configs/default.conf}
photos=("$MODELS"/demo/sample*.jpg)

echo "== facesearch info: decoding the sample photos"
"$BIN" info "${photos[@]}"

# ---- faces and who is who (face engine) --------------------------------
echo
echo "== facesearch detect: the faces in the sample photos"
"$BIN" detect --models "$MODELS" "${photos[@]}" | sed "s|$MODELS/demo/||"

# The decision threshold is verify.threshold, calibrated on LFW.
threshold=$(sed -n '/^\[verify\]/,/^\[/s/^threshold *= *\([0-9.]*\).*/\1/p' "$CONF")
echo
echo "== facesearch embed: which faces are the same person?"
echo "   (128-D descriptors, euclidean distance < $threshold = same person;"
echo "    the threshold verifies LFW pairs at 99.1 %, docs/accuracy.md)"
"$BIN" embed --tsv --models "$MODELS" "${photos[@]}" |
    awk -F'\t' -v T="$threshold" -v dir="$MODELS/demo/" '
    { n++; name[n] = substr($1, length(dir) + 1) " #" $2; photo[n] = $1
      for (i = 8; i <= NF; i++) v[n, i] = $i; last = NF }
    END {
        pairs = 0; same = 0; inphoto = 0
        for (a = 1; a <= n; a++)
            for (b = a + 1; b <= n; b++) {
                s = 0
                for (i = 8; i <= last; i++) { d = v[a, i] - v[b, i]; s += d * d }
                pairs++
                if (sqrt(s) < T) { same++; dist[same] = sqrt(s); pa[same] = a; pb[same] = b }
            }
        # closest first
        for (i = 2; i <= same; i++)
            for (j = i; j > 1 && dist[j] < dist[j - 1]; j--) {
                t = dist[j]; dist[j] = dist[j - 1]; dist[j - 1] = t
                t = pa[j]; pa[j] = pa[j - 1]; pa[j - 1] = t
                t = pb[j]; pb[j] = pb[j - 1]; pb[j - 1] = t
            }
        for (i = 1; i <= same; i++) {
            one = photo[pa[i]] == photo[pb[i]]
            inphoto += one
            if (i <= 8)
                printf "  %.3f  %-14s ~ %-14s %s\n", dist[i], name[pa[i]], name[pb[i]],
                       one ? "same? no: both are in one photo, a false match" : "same person"
        }
        if (same > 8)
            printf "  ... and %d more pairs under %s\n", same - 8, T
        printf "%d faces, %d pairs: %d under the threshold", n, pairs, same
        if (inphoto)
            printf ", %d of them two faces of one photo,\n" \
                   "i.e. certainly false matches: these photos show people of similar age and\n" \
                   "make-up, closer to each other than most LFW pairs (see docs/accuracy.md).\n", inphoto
        else
            printf ".\n"
    }'

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
