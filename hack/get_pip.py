"""Stand-in for the get-pip bootstrap script ansible-test downloads.

ansible-test fetches get-pip.py from ci-files.testing.ansible.com to put pip
into the empty virtual environments of its sanity tests; that host is not
reachable from our build machines (ansible/ansible#77304 suggests placing
the script in its cache by hand). Like get-pip.py, this runs pip from a
bundled wheel - the one ensurepip ships with the interpreter - to install the
pip version ansible-test asks for, from the package index.
"""
import ensurepip
import glob
import os
import sys

GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")

bundled = sorted(glob.glob(os.path.join(os.path.dirname(ensurepip.__file__), "_bundled", "pip-*.whl")))
if not bundled:
    sys.exit("ensurepip has no bundled pip wheel; install python3-pip or python3-venv")
sys.path.insert(0, bundled[-1])

from pip._internal.cli.main import main  # noqa: E402

sys.exit(main(["install"] + [a for a in sys.argv[1:] if a not in GET_PIP_ONLY]))
