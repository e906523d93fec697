#!/usr/bin/env bash
# Builds FerretDB v1 (a MongoDB wire-protocol server on SQLite or PostgreSQL)
# from the Go module proxy. Used by the MongoDB driver tests and .ci/run.
# Usage: tools/ferretdb/build.sh [output-binary]
set -euo pipefail
version="v1.24.0"
out="${1:-${FERRETDB_BIN:-$HOME/.cache/wallet/ferretdb-$version}}"
if [ -x "$out" ] && "$out" --version >/dev/null 2>&1; then
  echo "ferretdb $version already built at $out"
  exit 0
fi
command -v go >/dev/null || { echo "go is not installed: cannot build FerretDB" >&2; exit 1; }
# `go install pkg@version` cannot be used: the proxy refuses the version list it
# asks for, and the module needs build/version/version.txt, which its zip lacks.
dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -n "$dir" ] || { echo "could not download FerretDB $version" >&2; exit 1; }
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
cp -R "$dir/." "$src/"
chmod -R u+w "$src"
echo "$version" > "$src/build/version/version.txt"
mkdir -p "$(dirname "$out")"
(cd "$src" && GOFLAGS=-buildvcs=false go build -trimpath -o "$out" ./cmd/ferretdb)
echo "built ferretdb $version at $out"
