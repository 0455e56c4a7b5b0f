#!/usr/bin/env bash
# Installs what the browser tests need: Debian's headless-capable Chromium and its WebDriver.
# Idempotent: does nothing when /usr/bin/chromedriver is already there. Runs apt-get update only
# when a plain install fails (an old or missing package list), so repeated runs stay offline.
set -euo pipefail
# A CJK font, so that screenshots of Chinese pages show characters rather than empty boxes.
if [ -x /usr/bin/chromedriver ] && { [ -x /usr/bin/chromium ] || [ -x /usr/bin/chromium-browser ]; } \
    && [ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]; then
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
if ! $SUDO apt-get install -y --no-install-recommends chromium chromium-driver fonts-wqy-zenhei; then
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends chromium chromium-driver fonts-wqy-zenhei
fi
