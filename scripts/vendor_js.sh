#!/usr/bin/env bash
# Refresh the dashboard's vendored uPlot (minified JS, CSS and licence) from npm. The files are
# committed, so neither `make run` nor the browser needs the internet; run this only to upgrade.
# Usage: scripts/vendor_js.sh [version]   (default: the version in api/static/vendor/uplot/VERSION)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest=$root/api/static/vendor/uplot
version=${1:-$(cat "$dest/VERSION" 2>/dev/null || echo latest)}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "uplot@$version" >/dev/null)
tar -xzf "$work"/uplot-*.tgz -C "$work"
resolved=$(node -p 'require(process.argv[1]).version' "$work/package/package.json")

mkdir -p "$dest"
cp "$work/package/dist/uPlot.iife.min.js" "$work/package/dist/uPlot.min.css" "$dest/"
cp "$work/package/LICENSE" "$dest/LICENSE"
echo "$resolved" >"$dest/VERSION"
echo "uPlot $resolved -> ${dest#"$root"/}"
