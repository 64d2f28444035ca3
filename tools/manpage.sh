#!/usr/bin/env bash
# Writes the facesearch(1) man page to stdout: a hand-written frame (name,
# synopsis, description, files, environment, exit status) around every
# command's own --help text, so the page cannot drift from the binary.
#
#   tools/manpage.sh BIN > facesearch.1      (make man, make install)
set -euo pipefail
BIN=${1:-build/facesearch}
version=$("$BIN" --version | awk '{print $NF}')

# troff-safe text: backslashes and hyphens escaped, no line starting with a
# control character ('.' or "'").
esc() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

# A command's --help as man text: "usage:" lines as a synopsis, option lines
# ("  --flag ARG   text", "  -k N ...") as tagged paragraphs, the rest as
# plain paragraphs.
help_to_man() {
    esc | awk '
    function flush() { if (para != "") { print ".PP"; print para; para = "" } }
    /^usage: / || /^       facesearch/ {
        flush(); sub(/^usage: /, ""); sub(/^ +/, ""); print ".PP"; print ".B " $0; usage = 1; next }
    usage && /^         +\[/ { sub(/^ +/, ""); print ".B " $0; next }
    /^  +\\-/ {
        flush(); line = $0; sub(/^ +/, "", line)
        n = index(line, "  ")
        if (n > 0) { tag = substr(line, 1, n - 1); text = substr(line, n); sub(/^ +/, "", text) }
        else { tag = line; text = "" }
        usage = 0; print ".TP"; print ".B " tag; if (text != "") print text; intag = 1; next }
    /^      +[^ ]/ && intag { line = $0; sub(/^ +/, "", line); print line; next }
    /^$/ { flush(); intag = 0; usage = 0; next }
    { intag = 0; usage = 0; line = $0; sub(/^ +/, "", line); para = (para == "" ? line : para "\n" line) }
    END { flush() }'
}

cat <<EOF
.TH FACESEARCH 1 "$(date -u +%Y-%m-%d)" "facesearch $version" "User Commands"
.SH NAME
facesearch \\- offline face search over photo archives
.SH SYNOPSIS
.B facesearch
.RB [ \\-\\-version ]
.RB [ \\-\\-help ]
.I command
.RI [ args ]
.SH DESCRIPTION
.B facesearch
finds every face in a photo archive (JPEG, PNG, WebP, HEIF/HEIC, AVIF, TIFF,
read by content), describes each with a pretrained CNN, stores boxes,
landmarks and descriptors in an LMDB database and builds a FAISS index over
them; a query then finds a person's nearest faces, and dedup groups the
faces into identities.  Everything runs offline: the model weights are
fetched by the build, never at run time.
.PP
Ingest is incremental and safe to kill at any moment: the next run finishes
the job.  Archives too big for one machine are sharded
.RB ( "facesearch init \\-\\-shards" )
and run under Open MPI or Slurm with
.BR facesearch\\-mpi ,
which takes the same commands.
.SH COMMANDS
EOF

"$BIN" --help | sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p' | while read -r cmd; do
    echo ".SS facesearch $cmd"
    "$BIN" "$cmd" --help | help_to_man
    case $cmd in
        eval) kinds="lfw detect ident cluster enrol" ;;
        person) kinds="add from-group list show remove rename unassign" ;;
        *) kinds= ;;
    esac
    for kind in $kinds; do
        echo ".SS facesearch $cmd $kind"
        "$BIN" "$cmd" "$kind" --help | help_to_man
    done
done

cat <<'EOF'
.SH EXIT STATUS
.TP
.B 0
success (an ingest that recorded some bad photos still succeeded)
.TP
.B 1
usage error: an unknown option or a bad value
.TP
.B 2
bad input or data: no database, interrupted, disk full, a database busy
with another writer
.TP
.B 3
internal error, out of memory, or a library failure
.SH ENVIRONMENT
.TP
.B FACESEARCH_CONFIG
a configuration file read before the command's own
.BR \-\-config .
.SH FILES
.TP
.I configs/default.conf
every setting with its default (installed as
.IR PREFIX/share/facesearch/default.conf ).
.TP
.I DB/faces.mdb
the database (LMDB): photos, faces, descriptors.
.TP
.I DB/faces.faiss ", " DB/faces.faiss.json
the FAISS index and its sidecar.
.TP
.I PREFIX/share/facesearch/models
the model weights of an installed copy; a binary in a source checkout's
.I build/
uses the checkout's
.IR models/ .
.TP
.I PREFIX/share/facesearch/systemd/
a service and timer for the nightly job.
.SH SEE ALSO
.BR mpirun (1),
.BR sbatch (1);
docs/operations.md in the source tree.
EOF
