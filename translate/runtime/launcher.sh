# kfp-argo launcher for container components (see DESIGN.md, "Runtime contract").
# Decodes values that kfp-argo carried in inert form (%%kfpb64:<base64>%%, because Argo evaluates
# double braces in every value),
# creates the folders of output files, then execs the component's own command: exit code and signals are its own.
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
# artifact was produced again.
for m in $KFP_ARGO_META_FILES; do printf '{"metadata":{},"producer":"%s"}' "${HOSTNAME:-}" > "$m" || exit 1; done
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
unset KFP_ARGO_MKDIRS KFP_ARGO_DECODE_ENV KFP_ARGO_META_FILES
exec "$@"
