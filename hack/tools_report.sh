#!/usr/bin/env bash
# One line per tool with its version (MISSING when absent).
cd "$(dirname "$0")/.." && exec python3 tests/support/tools.py "$@"
