"""Imported first by every benchmark: ``python3 benchmarks/<name>.py`` from any shell re-runs
the script with the checkout's venv, Go tools and collection (hack/checkout_env.py)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "hack"))

import checkout_env  # noqa: E402

checkout_env.use_venv()
