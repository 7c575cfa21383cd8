#!/usr/bin/env bash
# Print the path of a Python >= 3.12 for the venv (ansible-core 2.21 needs it),
# or fail with one line saying what to install.
# Usage: hack/find_python.sh [NAME...]   (default: python3.13 python3.12 python3)
# Order: $PYTHON if set, then the NAMEs on PATH, then the python3.X NAMEs in
# pyenv's installed versions (a pyenv shim of a version that is not selected
# exits non-zero, so every candidate is run, not only looked up).
set -uo pipefail
MIN=${MIN_PYTHON:-3.12}

ok() {
  # prints the base interpreter, not a venv's (make runs with .venv/bin first on PATH)
  "$1" -c "import sys, venv, ensurepip; sys.exit(sys.version_info[:2] < tuple(map(int, '$MIN'.split('.'))) or print(sys._base_executable))" 2>/dev/null
}

candidates=()
[ -n "${PYTHON:-}" ] && candidates+=("$PYTHON")
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(python3.13 python3.12 python3)
root=$(pyenv root 2>/dev/null) || root=
for name in "${names[@]}"; do
  candidates+=("$name")
  if [ -n "$root" ] && [ "$name" != python3 ]; then
    candidates+=($(ls -d "$root"/versions/*/bin/"$name" 2>/dev/null | sort -rV))
  fi
done

for c in "${candidates[@]}"; do
  path=$(command -v "$c" 2>/dev/null) || continue
  ok "$path" && exit 0
  # An explicit PYTHON that does not qualify is an error, not a hint to look further.
  if [ "$c" = "${PYTHON:-}" ]; then
    echo "make venv: PYTHON=$PYTHON is not a Python >= $MIN with the venv module" >&2
    exit 1
  fi
done

have=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none)
echo "make venv: needs Python >= $MIN (ansible-core 2.21), found python3 $have: install python3.13 and python3.13-venv (Debian 13: apt install python3-venv) or pass PYTHON=/path/to/python3.12" >&2
exit 1
