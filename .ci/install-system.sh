#!/usr/bin/env bash
# System packages the tests need beyond the machine image: Debian's Chromium for the browser
# client's test. Idempotent; skipped when already installed.
set -uo pipefail
if command -v chromium >/dev/null; then
  echo "chromium: $(chromium --version 2>/dev/null | head -1)"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "chromium: not installed and not root; the browser test will be skipped"
  exit 0
fi
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
  && echo "chromium: installed $(chromium --version | head -1)" \
  || { echo "chromium: FAILED to install"; exit 1; }
