# kfp-argo launcher for container components (see DESIGN.md, "Runtime contract").
# Decodes values that kfp-argo carried in inert form (%%kfpb64:<base64>%%, because Argo evaluates
# double braces in every value), creates the folders of output files, then runs the component's own command:
# exec'd when it has no output parameters, so that exit code and signals are its own; otherwise as a child whose
# signals it forwards and whose exit code it returns, and after a zero exit it puts each output parameter file in
# the canonical encoding (BOOLEAN as true/false; inert when the text holds double braces, looks inert, ends
# in a newline, which argoexec would trim, or could be expanded by the kubelet in a consumer: see inert.go).
# The script itself is a command item that the kubelet expands: it holds no "$$", and its "$(" are shell's.
kfp_decode() {
  s=$1; out=
  while :; do
    case $s in
    *'%%kfpb64:'*'%%'*)
      out=$out${s%%'%%kfpb64:'*}
      s=${s#*'%%kfpb64:'}
      b=${s%%'%%'*}
      s=${s#*'%%'}
      out=$out$(printf '%s' "$b" | base64 -d; printf x)
      out=${out%x}
      ;;
    *) break ;;
    esac
  done
  printf '%sx' "$out$s"
}
for d in $KFP_ARGO_MKDIRS; do mkdir -p "$d" || exit 1; done
# Each output artifact gets a metadata document naming this pod, so a consumer's cache key changes when the
# artifact was produced again, and its URI when the repository is known (entries are FILE|URI).
for m in $KFP_ARGO_META_FILES; do
  printf '{"metadata":{},"producer":"%s","uri":"%s"}' "${KFP_ARGO_POD:-}" "${m#*|}" > "${m%%|*}" || exit 1
done
for v in $KFP_ARGO_DECODE_ENV; do
  eval "x=\${$v}"
  x=$(kfp_decode "$x"); export "$v=${x%x}"
done
n=$#
while [ "$n" -gt 0 ]; do
  a=$1; shift; n=$((n - 1))
  case $a in *'%%kfpb64:'*) a=$(kfp_decode "$a"); a=${a%x} ;; esac
  set -- "$@" "$a"
done
outs=$KFP_ARGO_OUT_PARAMS
unset KFP_ARGO_MKDIRS KFP_ARGO_DECODE_ENV KFP_ARGO_META_FILES KFP_ARGO_OUT_PARAMS
[ -n "$outs" ] || exec "$@"
# The traps are set before the child starts, so that a signal in between is not lost: it is passed on as soon
# as the child exists.
child= sig=
trap 'sig=TERM; [ -z "$child" ] || kill -TERM "$child" 2>/dev/null' TERM
trap 'sig=INT; [ -z "$child" ] || kill -INT "$child" 2>/dev/null' INT
trap 'sig=HUP; [ -z "$child" ] || kill -HUP "$child" 2>/dev/null' HUP
"$@" 0<&0 &
child=$!
[ -z "$sig" ] || kill -"$sig" "$child" 2>/dev/null
rc=
while :; do
  sig=
  wait "$child"; r=$?
  # A trapped signal interrupts wait (a status over 128): the child is waited for again, to get its own status.
  # 127 then means it was already collected, and the status seen stands.
  if [ "$r" -eq 127 ] && [ -n "$rc" ]; then break; fi
  rc=$r
  if [ "$r" -gt 128 ] && { [ -n "$sig" ] || kill -0 "$child" 2>/dev/null; }; then continue; fi
  break
done
[ "$rc" -eq 0 ] || exit "$rc"
nl='
'
# Entries are TYPE:FILE. STRING keeps its exact text; other types are read as KFP's launcher reads them, with
# surrounding whitespace trimmed (echo's newline included).
for e in $outs; do
  t=${e%%:*} f=${e#*:}
  [ -f "$f" ] || continue
  v=$(cat "$f"; printf x) || exit 1
  v=${v%x}
  if [ "$t" != STRING ]; then
    v=$(printf '%s' "$v" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')
  fi
  if [ "$t" = BOOLEAN ]; then
    case $v in
    1 | t | T | TRUE | true | True) v=true ;;
    0 | f | F | FALSE | false | False) v=false ;;
    *) echo "kfp-argo: BOOLEAN output $f is not a boolean: $v" >&2; exit 1 ;;
    esac
  fi
  case $v in
  *'{'{* | *'%%kfp'* | *"$nl" | *\$\$* | *\$\(* | \$* | \(* | *\$) v=%%kfpb64:$(printf '%s' "$v" | base64 | tr -d '\n')%% ;;
  esac
  printf '%s' "$v" > "$f" || exit 1
done
exit 0
