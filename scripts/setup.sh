#!/usr/bin/env bash
# Installs what wfbench needs and is missing: redis-server (Faktory boots it as a child
# process), docker-compose (the deploy test checks docker-compose.yml with it) and the Go
# modules. Idempotent, non-interactive; safe to run on every make.
set -euo pipefail

# root_for PKG sets SUDO to what runs apt-get as root; without root or sudo it fails.
root_for() {
  SUDO=""
  if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
      echo "setup: need root (or sudo) to apt-get install $1" >&2
      return 3
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
}

if ! command -v redis-server >/dev/null 2>&1; then
  echo "setup: redis-server not found, installing it with apt-get" >&2
  root_for redis-server || { echo "setup: install redis-server and re-run" >&2; exit 3; }
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

# Only the deploy test needs it (no Docker engine: `docker-compose config` alone), so a
# machine that cannot install it still builds and runs; that test then skips.
if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  echo "setup: docker-compose not found, installing it with apt-get" >&2
  # apt-get update only if the install fails without it (stale or empty package lists).
  if ! root_for docker-compose; then
    echo "setup: going on without docker-compose; the deploy test will skip" >&2
  elif ! $SUDO apt-get install -y -qq --no-install-recommends docker-compose </dev/null >/dev/null 2>&1 &&
    ! { $SUDO apt-get update -qq </dev/null && $SUDO apt-get install -y -qq --no-install-recommends docker-compose </dev/null >/dev/null; }; then
    echo "setup: apt-get install docker-compose failed; the deploy test will skip" >&2
  fi
fi

if ! command -v go >/dev/null 2>&1; then
  if [ -x /usr/local/go/bin/go ]; then export PATH=/usr/local/go/bin:$PATH; else
    echo "setup: Go not found; install Go 1.26 (https://go.dev/dl) and re-run" >&2
    exit 3
  fi
fi
go mod download
