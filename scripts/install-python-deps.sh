#!/usr/bin/env bash
# Installs the named PyPI packages (NAME==VERSION) for python3, only when the exact version is
# missing, so repeated `make test` runs do not touch the network.
set -euo pipefail
missing=()
for requirement in "$@"; do
  name=${requirement%%==*}
  version=${requirement#*==}
  installed=$(python3 -c "import importlib.metadata as m; print(m.version('$name'))" 2>/dev/null || true)
  [ "$installed" = "$version" ] || missing+=("$requirement")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing missing Python packages: ${missing[*]}"
python3 -m pip install --quiet --disable-pip-version-check "${missing[@]}" 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${missing[@]}"
