#!/usr/bin/env bash
# Opens a report.html in headless Chromium with no network (its own empty network
# namespace) and writes a laptop-sized and a phone-sized screenshot beside it: the page
# must show everything, plots included, from the one file.
#
#   scripts/html-screenshot.sh REPORT_DIR
#
# Installs chromium-headless-shell with apt-get when missing.
set -euo pipefail
dir=${1:?usage: scripts/html-screenshot.sh REPORT_DIR}
[ -f "$dir/report.html" ] || { echo "html-screenshot: no report.html in $dir"; exit 2; }
sudo=""; [ "$(id -u)" -ne 0 ] && sudo=sudo
if ! command -v chromium-headless-shell >/dev/null; then
	echo "html-screenshot: installing chromium-headless-shell with apt-get"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium-headless-shell >/dev/null
fi
page="file://$(cd "$dir" && pwd)/report.html"
for shot in laptop:1280,2000 phone:390,2400; do
	name=${shot%%:*}; size=${shot#*:}
	$sudo unshare -n chromium-headless-shell --no-sandbox --disable-gpu --hide-scrollbars \
		--window-size="$size" --screenshot="$dir/screenshot-$name.png" "$page" 2>/dev/null
	echo "html-screenshot: $dir/screenshot-$name.png (no network)"
done
