#!/usr/bin/env bash
# Runs the peer comparison when Debian's numpy (and optionally scipy, torch, opencv) are
# present for /usr/bin/python3; they are development-time references, not dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
  echo "peers: skipped (install python3-numpy python3-scipy python3-torch python3-opencv to compare against the peers)"
  exit 0
fi
/usr/bin/python3 bench/peers.py "$@"
