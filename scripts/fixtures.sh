#!/usr/bin/env bash
# Installs what pyship's demo and tests need on a fresh Debian machine with no PyPI and
# no Docker Hub: Go tools, debootstrap, a registry (Debian's docker-registry, started by
# the tests themselves), the local Python base image and the wheel index.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v dpkg-deb >/dev/null || need+=(dpkg)
command -v python3 >/dev/null || need+=(python3)
command -v curl >/dev/null || need+=(curl)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v docker-compose >/dev/null || need+=(docker-compose) # compose.yaml is validated by Compose v1
if [ ${#need[@]} -gt 0 ]; then
  echo "fixtures: apt-get install ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  echo "fixtures: the Docker engine is not running; start it (systemctl start docker, or dockerd &)" >&2
  exit 1
fi
bash test/fixtures/base-image.sh
bash test/fixtures/wheel-index.sh
