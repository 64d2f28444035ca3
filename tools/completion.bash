# bash completion for facesearch and facesearch-mpi.  Commands and flags are
# read from the binary's own --help, so they never drift from it.
# Installed by make install as PREFIX/share/bash-completion/completions/facesearch.
_facesearch()
{
    local cur prev cmd i
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    cmd=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in -*) ;; *) cmd=${COMP_WORDS[i]}; break ;; esac
    done
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$("$1" --help 2>/dev/null |
            sed -n 's/^  \([a-z][a-z]*\)  .*/\1/p') --help --version" -- "$cur"))
        return
    fi
    # Values that name files or directories.
    case $prev in
        --db|--models|--root)        COMPREPLY=($(compgen -d -- "$cur")); return ;;
        --config|--manifest|--pairs|--html|--report)
                                     COMPREPLY=($(compgen -f -- "$cur")); return ;;
        --detector)                  COMPREPLY=($(compgen -W "ssd tiny" -- "$cur")); return ;;
        --recognizer)                COMPREPLY=($(compgen -W "mfn512 resnet128 fusion" -- "$cur")); return ;;
        --precision)                 COMPREPLY=($(compgen -W "auto fp32 bf16" -- "$cur")); return ;;
        --method)                    COMPREPLY=($(compgen -W "template svm softmax" -- "$cur")); return ;;
    esac
    local sub=$cmd
    local kinds=
    case $cmd in
        eval) kinds="lfw detect ident cluster enrol" ;;
        person) kinds="add from-group list show remove rename unassign" ;;
    esac
    if [[ -n $kinds ]]; then
        local kind=${COMP_WORDS[i+1]}
        if (( COMP_CWORD == i + 1 )); then
            COMPREPLY=($(compgen -W "$kinds" -- "$cur"))
            return
        fi
        sub="$cmd $kind"
    fi
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$("$1" $sub --help 2>/dev/null |
            grep -oE '(^|[ ,])--?[a-z][a-z0-9-]*' | sed 's/^[ ,]//' | sort -u)" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -o filenames -F _facesearch facesearch facesearch-mpi
