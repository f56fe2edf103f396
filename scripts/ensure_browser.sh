#!/usr/bin/env bash
# Make sure headless Chromium and its WebDriver are installed (Debian's chromium and
# chromium-driver) for the dashboard's browser test. Where they cannot be installed, say so and
# exit 0: the test then skips with the same message.
set -uo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

have_browser() { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }

if have_browser; then exit 0; fi
echo "installing Debian's chromium and chromium-driver for the dashboard test"
if as_root apt-get update -qq &&
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
    chromium chromium-driver fonts-liberation >/dev/null; then
  have_browser && exit 0
fi
echo "no Chromium could be installed: the dashboard browser test will be skipped" >&2
exit 0
