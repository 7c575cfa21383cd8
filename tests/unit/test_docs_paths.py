"""Every path and every playbook command the docs print exists or runs, so the docs cannot drift (issue 12).

Scanned: README.md, docs/**/*.md, the roles' README.md files and the header comments of
playbooks/*.yml. Checked:

- every repository path written there (``docs/...``, ``playbooks/...``, ``inventories/lab/...``, ...)
  and every relative Markdown link exists;
- every ``ansible-playbook`` command line passes ``ansible-playbook --syntax-check`` with the
  inventory it names (``inventories/mine``, the user's copy, is checked as ``inventories/example``).

A failure names the file and line of each broken reference.
"""
import glob
import os
import re
import shlex
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOP_DIRS = ("benchmarks", "changelogs", "collections", "docs", "extensions", "extras", "hack", "inventories", "meta",
            "playbooks", "plugins", "roles", "tests")
TOP_FILES = ("README.md", "LICENSE", "Makefile", "galaxy.yml", "requirements.txt", "requirements-dev.txt",
             "bindep.txt")
PATH_RE = re.compile(r"(?<![\w./~$@-])((?:%s)/[\w./-]*|(?:%s)\b)" % ("|".join(TOP_DIRS),
                                                                     "|".join(re.escape(f) for f in TOP_FILES)))
LINK_RE = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
# Inventories of the user's own (copies of inventories/example), named only as examples.
USER_INVENTORY = re.compile(r"^inventories/(?!example(?:/|$)|lab(?:/|$))")


def sources():
    """``[(relative path, [(line number, text)])]`` of every scanned text."""
    out = []
    docs = ["README.md"] + sorted(glob.glob("docs/**/*.md", root_dir=REPO, recursive=True)) \
        + sorted(glob.glob("roles/*/README.md", root_dir=REPO))
    for rel in docs:
        with open(os.path.join(REPO, rel), encoding="utf-8") as f:
            out.append((rel, list(enumerate(f.read().splitlines(), 1))))
    for rel in sorted(glob.glob("playbooks/*.yml", root_dir=REPO)):
        with open(os.path.join(REPO, rel), encoding="utf-8") as f:
            header = []
            for number, line in enumerate(f.read().splitlines(), 1):
                if line.startswith("- "):
                    break
                if line.startswith("#"):
                    header.append((number, line))
        out.append((rel, header))
    return out


def paths_in(rel, line):
    """Repository paths (relative to the top) that ``line`` of file ``rel`` refers to."""
    found = []
    for match in PATH_RE.finditer(line):
        path = match.group(1).rstrip(".,:;")
        placeholder = line[match.end():match.end() + 1] in ("<", "{", "*", "$")
        if not placeholder and not USER_INVENTORY.match(path) and "..." not in path:
            found.append(path)
    if rel.endswith(".md"):
        for target in LINK_RE.findall(line):
            if not re.match(r"^[a-z]+:", target):
                found.append(os.path.normpath(os.path.join(os.path.dirname(rel), target)))
    return found


def test_every_path_written_in_the_docs_exists():
    broken = ["%s:%d: %s" % (rel, number, path) for rel, lines in sources() for number, line in lines
              for path in paths_in(rel, line) if not os.path.exists(os.path.join(REPO, path))]
    assert not broken, "paths that do not exist:\n" + "\n".join(broken)


def test_the_scan_finds_what_it_must():
    """The scanner is not blind: it sees a known path, a link and a command, and flags a missing path."""
    assert "inventories/lab/edge_nodes.yml" in paths_in("docs/lab.md", "run `inventories/lab/edge_nodes.yml`.")
    assert "docs/providers/awx.md" in paths_in("docs/operations.md", "see [awx](providers/awx.md#x).")
    assert paths_in("README.md", "inventories/mine/group_vars/all.yml and https://x.example/docs/a.md") == []
    assert not os.path.exists(os.path.join(REPO, paths_in("docs/a.md", "see `docs/gone.md`.")[0]))
    assert ("README.md", 7, "inventories/lab", "playbooks/status.yml") in commands(
        [("README.md", [(7, "ansible-playbook -i inventories/lab playbooks/status.yml   # x")])])


def commands(texts=None):
    """``[(file, line, inventory, playbook)]`` of every ansible-playbook command line."""
    out = []
    for rel, lines in texts if texts is not None else sources():
        for number, line in lines:
            for part in re.findall(r"ansible-playbook\s[^`#|&]*", line):
                words = shlex.split(part.replace("[", " ").replace("]", " "), posix=True)
                playbook = next((w for w in words if w.endswith(".yml") and not w.startswith("@")
                                 or re.match(r"^talos\.autoextender\.\w+$", w)), None)
                inventory = words[words.index("-i") + 1] if "-i" in words[:-1] else None
                if playbook and "..." not in words:
                    out.append((rel, number, inventory, playbook))
    return out


def test_the_playbook_commands_are_found():
    found = commands()
    assert len(found) >= 20, found
    assert {c[3] for c in found} >= {"playbooks/provision.yml", "playbooks/status.yml", "playbooks/migrate.yml",
                                     "playbooks/failover.yml", "playbooks/decommission.yml", "playbooks/doctor.yml"}


def first_error(output):
    """The error line and its origin from ansible-playbook's output, else its end."""
    lines = output.splitlines()
    first = next((i for i, line in enumerate(lines) if line.startswith(("[ERROR]", "ERROR!"))), None)
    if first is None:
        return output.strip()[-400:]
    origin = next((line for line in lines[first:] if line.startswith("Origin:")), "")
    return (lines[first] + " " + origin).strip()


@pytest.fixture(scope="module")
def ansible_playbook():
    exe = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    collections = os.path.join(REPO, ".cache", "collections")
    if not os.path.exists(exe) or not os.path.isdir(os.path.join(collections, "ansible_collections", "talos")):
        pytest.skip("ansible-playbook or the collection link in .cache/collections is missing (make tools)")
    return exe, collections


def test_every_documented_playbook_command_passes_syntax_check(ansible_playbook):
    exe, collections = ansible_playbook
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_LOCALHOST_WARNING="false")
    # The inventory must exist as named; the lab needs no running lab for a syntax check.
    env.pop("AUTOEXTENDER_LAB_DIR", None)
    broken, checked = [], {}
    for rel, number, inventory, playbook in commands():
        where = "%s:%d: ansible-playbook -i %s %s" % (rel, number, inventory, playbook)
        if inventory is not None:
            inventory = "inventories/example" if USER_INVENTORY.match(inventory) else inventory
            if not os.path.exists(os.path.join(REPO, inventory)):
                broken.append(where + ": no inventory " + inventory)
                continue
        key = (inventory, playbook)
        if key not in checked:
            argv = [exe, "--syntax-check"] + (["-i", inventory] if inventory else []) + [playbook]
            proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
            checked[key] = None if proc.returncode == 0 else first_error(proc.stdout + proc.stderr)
        if checked[key]:
            broken.append(where + ": " + checked[key])
    assert not broken, "playbook commands that fail --syntax-check:\n" + "\n".join(broken)
