#!/usr/bin/env bash
# sarama (IBM/sarama, the Go client Burrow and many monitors are built on) as a test client.
#
#   sarama.sh install                      build sarama-offsets (main.go) once, from the Go module
#                                          proxy, into $SLUICE_SARAMA_CACHE (~/.cache/sluice/sarama)
#   sarama.sh offsets BOOTSTRAP TOPIC P    run it: prints "oldest=N newest=M" for partition P,
#                                          asked with ListOffsets v0 as Burrow 1.x asks
#
# .ci/install runs `install`; the tests run `offsets`, which never downloads.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cache="${SLUICE_SARAMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sluice/sarama}"
binary="$cache/sarama-offsets"
# Rebuilt when the source or the pinned modules change.
stamp="$(cat "$here/main.go" "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-16)"

case "${1:-}" in
  install)
    if [ -x "$binary" ] && [ "$(cat "$cache/stamp" 2>/dev/null)" = "$stamp" ]; then
      exit 0
    fi
    command -v go >/dev/null || { echo "sarama.sh: go is not installed" >&2; exit 1; }
    echo "building sarama-offsets ($(grep -o 'IBM/sarama v[0-9.]*' "$here/go.mod")) into $cache"
    mkdir -p "$cache"
    (cd "$here" && go build -mod=readonly -o "$binary.tmp" .)
    mv "$binary.tmp" "$binary"
    echo "$stamp" >"$cache/stamp"
    ;;
  offsets)
    shift
    [ -x "$binary" ] || { echo "sarama.sh: sarama-offsets is not built: run bash .ci/install" >&2; exit 1; }
    exec "$binary" "$@"
    ;;
  *)
    echo "usage: sarama.sh install | offsets BOOTSTRAP TOPIC PARTITION" >&2
    exit 2
    ;;
esac
