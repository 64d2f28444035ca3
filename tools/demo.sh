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

# The decision threshold: the configured recognizer's verify.NAME,
# calibrated on LFW (docs/accuracy.md).
rec=$(sed -n '/^\[descriptor\]/,/^\[/s/^recognizer *= *\([a-z0-9]*\).*/\1/p' "$CONF")
threshold=$(sed -n "/^\[verify\]/,/^\[/s/^$rec *= *\([0-9.]*\).*/\1/p" "$CONF")
echo
echo "== facesearch embed: which faces are the same person?"
echo "   ($rec descriptors, cosine similarity >= $threshold = same person:"
echo "    the threshold calibrated on LFW A-M, docs/accuracy.md)"
"$BIN" embed --tsv --models "$MODELS" "${photos[@]}" |
    awk -F'\t' -v T="$threshold" -v dir="$MODELS/demo/" '
    { n++; name[n] = substr($1, length(dir) + 1) " #" $2; photo[n] = $1
      for (i = 8; i <= NF; i++) v[n, i] = $i; last = NF }
    END {
        pairs = 0; same = 0; inphoto = 0
        for (a = 1; a <= n; a++)
            for (b = a + 1; b <= n; b++) {
                s = 0
                for (i = 8; i <= last; i++) s += v[a, i] * v[b, i]
                pairs++
                if (s >= T) { same++; sim[same] = s; pa[same] = a; pb[same] = b }
            }
        # most similar first
        for (i = 2; i <= same; i++)
            for (j = i; j > 1 && sim[j] > sim[j - 1]; j--) {
                t = sim[j]; sim[j] = sim[j - 1]; sim[j - 1] = t
                t = pa[j]; pa[j] = pa[j - 1]; pa[j - 1] = t
                t = pb[j]; pb[j] = pb[j - 1]; pb[j - 1] = t
            }
        for (i = 1; i <= same; i++) {
            one = photo[pa[i]] == photo[pb[i]]
            inphoto += one
            if (i <= 8)
                printf "  %.3f  %-14s ~ %-14s %s\n", sim[i], name[pa[i]], name[pb[i]],
                       one ? "same? no: both are in one photo, a false match" : "same person"
        }
        if (same > 8)
            printf "  ... and %d more pairs at or above %s\n", same - 8, T
        printf "%d faces, %d pairs: %d at or above the threshold", n, pairs, same
        if (inphoto)
            printf ", %d of them two faces of one photo,\n" \
                   "i.e. certainly false matches: these photos show people of similar age and\n" \
                   "make-up (see docs/accuracy.md).\n", inphoto
        else
            printf "; none of them two faces of one photo.\n"
    }'

# --- The whole story on the six photos: ingest into a database, build the
# index, find a person, write an HTML report, group everyone.
DB=${DB:-index}
echo
echo "== facesearch ingest: every face of the sample photos into $DB/"
# A database left by an earlier facesearch (or another recognizer) is moved
# to the configured one first, in place.
if [ -f "$DB/faces.mdb" ]; then "$BIN" reembed --db "$DB" --models "$MODELS" --quiet; fi
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
