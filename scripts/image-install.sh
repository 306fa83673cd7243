#!/bin/sh
# Install invdash and its pinned runtime dependencies into a fresh virtualenv: the container
# image's build step (Dockerfile), and exercised by tests/deploy/test_image.py.
# Usage: sh scripts/image-install.sh TARGET_DIR [PIP_OPTION...]   (from the repository root)
# PYTHON names the interpreter (default python3); PIP_* variables and the extra options go to
# pip (the tests add --no-compile, which halves the time; the image keeps compiled bytecode,
# since its read-only filesystem could not cache any at run time).
set -eu

target="${1:?usage: scripts/image-install.sh TARGET_DIR [PIP_OPTION...]}"
shift
python="${PYTHON:-python3}"

"$python" -m venv "$target"
# Wheels only for dependencies: the slim image has no compiler, and a wheel installs the same
# bytes every time. The constraints pin every runtime dependency (see constraints.txt).
"$target/bin/python" -m pip install --disable-pip-version-check --no-input \
  --only-binary=:all: --no-binary=invdash \
  --constraint constraints.txt "$@" .
# Fails the build on a dependency pip installed but whose own requirements are unmet.
"$target/bin/python" -m pip check
