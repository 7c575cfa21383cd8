"""Where the official specs are: $AUTOEXTENDER_SPECS, else a `shared/specs` folder
next to the checkout (or next to any of its parents), else next to the checkout a
clean clone was made from (its `origin`), so a CI clone anywhere on the machine
finds the same documents as the developer's checkout."""
import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _origin_dir():
    try:
        out = subprocess.run(["git", "-C", REPO, "remote", "get-url", "origin"], capture_output=True, text=True,
                             timeout=10, check=False)
    except OSError:
        return None
    url = out.stdout.strip()
    if out.returncode != 0 or not url or "://" in url or url.startswith("git@"):
        return None
    return os.path.abspath(os.path.join(REPO, url))


def candidates():
    if os.environ.get("AUTOEXTENDER_SPECS"):
        return [os.environ["AUTOEXTENDER_SPECS"]]
    found = []
    here = REPO
    while True:
        found.append(os.path.join(os.path.dirname(here), "shared", "specs"))
        parent = os.path.dirname(here)
        if parent == here:
            break
        here = parent
    origin = _origin_dir()
    if origin:
        found.append(os.path.join(os.path.dirname(origin), "shared", "specs"))
    return found


def specs_dir():
    """The first candidate that exists, else the conventional ../shared/specs (for the error message)."""
    for path in candidates():
        if os.path.isdir(path):
            return path
    return candidates()[0]
