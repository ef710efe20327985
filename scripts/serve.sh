#!/usr/bin/env bash
# Builds OneCard and runs `onecard serve` with the arguments given (e.g. --demo, --region 440000).
# Embedded SQLite in ./onecard-data by default. Set ONECARD_BUILD=release for an optimised build.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || { echo "Swift 6.3 is required (https://swift.org/install)"; exit 1; }
config="${ONECARD_BUILD:-debug}"
swift build -c "$config" --product onecard
exec "$(swift build -c "$config" --show-bin-path)/onecard" serve "$@"
