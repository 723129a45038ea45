#!/usr/bin/env bash
# Install the Debian 12 packages pflow needs to build, run and test.
# Idempotent: apt-get skips what is already installed.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PKGS=(
  # build
  build-essential meson ninja-build pkg-config gettext
  # core libraries
  libglib2.0-dev libhdf5-dev libtiff-dev libgsl-dev libdeflate-dev libisal-dev zlib1g-dev
  libdnnl-dev libopenblas-dev librandom123-dev
  libfastjet-dev fastjet-examples
  # workbench
  libgtk-4-dev libcairo2-dev xvfb xauth desktop-file-utils appstream
  # reference peers for tests and benchmarks
  python3 python3-numpy python3-torch python3-h5py
)

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${PKGS[@]}"
