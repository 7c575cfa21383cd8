"""Roles order steps and pass data; the decisions are Python (module_utils behind modules and filters).

A Jinja statement (``{% ... %}``) in a role's tasks is a loop or a branch written where it cannot be unit-tested.
The budget is what is left and why: each remaining one builds a small value a filter would only rename. A new
decision goes to a filter plugin with its unit tests (tests/unit/plugins/filter/).
"""
import glob
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUDGET = 15


def statements():
    found = {}
    for path in sorted(glob.glob(os.path.join(REPO, "roles", "*", "tasks", "*.yml"))):
        with open(path) as f:
            count = f.read().count("{%")
        if count:
            found[os.path.relpath(path, REPO)] = count
    return found


def test_role_tasks_stay_within_the_statement_budget():
    found = statements()
    assert sum(found.values()) <= BUDGET, "Jinja statements in role tasks: %s (budget %d)" % (found, BUDGET)
