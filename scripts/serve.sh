#!/usr/bin/env bash
# Builds OneCard and runs `onecard serve` with the arguments given (e.g. --demo, --region 440000).
# Embedded SQLite in ./onecard-data by default. Set ONECARD_BUILD=release for an optimised build.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v swift >/dev/null || { echo "Swift 6.3 is required (https://swift.org/install)"; exit 1; }
# QR images need libqrencode and zlib, the printed report Chromium and a Chinese font (Debian packages).
missing=()
[ -f /usr/include/qrencode.h ] || missing+=(libqrencode-dev)
[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
# The oversight report (GET /api/v1/stats/report.pdf) is printed by headless Chromium, in a Chinese font.
command -v chromium >/dev/null || missing+=(chromium)
{ command -v fc-list >/dev/null && fc-list :lang=zh | grep -q .; } || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_if() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  sudo_if apt-get update -qq
  sudo_if env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
config="${ONECARD_BUILD:-debug}"
swift build -c "$config" --product onecard
exec "$(swift build -c "$config" --show-bin-path)/onecard" serve "$@"
