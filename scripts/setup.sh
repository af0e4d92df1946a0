#!/usr/bin/env bash
# Installs what wfbench needs and is missing: redis-server (Faktory boots it as a child
# process) and the Go modules. Idempotent, non-interactive; safe to run on every make.
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1; then
  echo "setup: redis-server not found, installing it with apt-get" >&2
  SUDO=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
      echo "setup: need root (or sudo) to apt-get install redis-server; install it and re-run" >&2
      exit 3
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq </dev/null
  $SUDO apt-get install -y -qq --no-install-recommends redis-server </dev/null >/dev/null
  # The Debian package starts a system-wide redis on :6379; wfbench does not use it
  # (Faktory runs its own on a unix socket), so stop it where a service manager runs it.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
    $SUDO systemctl stop redis-server || true
  elif command -v service >/dev/null 2>&1; then
    $SUDO service redis-server stop >/dev/null 2>&1 || true
  fi
fi
redis-server --version | head -1 >&2

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then export PATH=/usr/local/go/bin:$PATH; else
    echo "setup: Go not found; install Go 1.26 (https://go.dev/dl) and re-run" >&2
    exit 3
  fi
fi
go mod download
