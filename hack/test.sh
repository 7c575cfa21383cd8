#!/usr/bin/env bash
# Run the test tiers (all by default, or those named), then print a summary,
# the closing count line and the TOOLS line. Exit non-zero if any tier failed.
# unit-2.20 and sanity-2.20 run the unit and sanity tiers again in the second
# venv (ansible-core 2.20, the oldest meta/runtime.yml claims).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
OUT=$REPO/tests/output
mkdir -p "$OUT"
tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=(unit unit-2.20 integration molecule sanity sanity-2.20 lint)
VENV_2_20=$REPO/${VENV_2_20:-.venv-2.20}
export PYTHONDONTWRITEBYTECODE=1
declare -A status

run_tier() {
  local name=$1; shift
  echo "=== tier: $name"
  local start=$SECONDS
  if "$@"; then status[$name]="ok"; else status[$name]="FAILED"; fi
  echo "=== tier: $name ${status[$name]} ($((SECONDS - start))s)"
}

pytest_tier() {
  local name=$1 xml=${2:-$OUT/$1.xml}
  local workers=()
  # Integration tests mostly wait on real servers and ansible-playbook runs:
  # two workers (each with its own session servers), one test file each.
  [ "$name" = integration ] && workers=(-n "${PYTEST_WORKERS:-2}" --dist loadfile)
  python -m pytest "tests/$name" -p no:cacheprovider -q -rs "${workers[@]}" --junitxml="$xml"
}

# A tier in the ansible-core 2.20 venv: its python and ansible-test first on PATH.
# Its JUnit file goes to $OUT/2.20/ so the closing count line counts each test once.
in_2_20() {
  if [ ! -x "$VENV_2_20/bin/python" ]; then
    echo "no $VENV_2_20: run make venv first"
    return 1
  fi
  mkdir -p "$OUT/2.20"
  PATH=$VENV_2_20/bin:$PATH "$@"
}

molecule_tier() {
  # Scenarios live in extensions/molecule; molecule is run from extensions/.
  (cd extensions && molecule test --all)
}

sanity_tier() {
  # ansible-test bootstraps pip with a script from a host we cannot reach.
  local pip_version
  pip_version=$(python -c 'import re, ansible_test._internal.python_requirements as m; print(re.search(r"pip=.([0-9.]+).", open(m.__file__).read()).group(1))')
  mkdir -p ~/.ansible/test/cache
  cp hack/get_pip.py ~/.ansible/test/cache/get_pip_${pip_version//./_}.py
  # ansible-test wants the collection at ansible_collections/talos/autoextender:
  # run it on a copy of the tracked files (what a release would contain).
  # SANITY_DIR lets parallel runs use their own copy; SANITY_TARGETS limits
  # the run to some files (paths relative to the collection root).
  # The 2.20 run gets its own copy (SANITY_DIR/2.20) so both can be inspected after.
  local dest=${SANITY_DIR:-$REPO/.cache/sanity}${1:+/$1}/ansible_collections/talos/autoextender
  rm -rf "$dest" && mkdir -p "$dest"
  git ls-files -z --cached --others --exclude-standard | \
    (cd "$REPO" && xargs -0 cp --parents -t "$dest" 2>/dev/null)
  (cd "$dest" && git init -q && git add -A && \
    ansible-test sanity --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
      --requirements --color no --exclude .ci/ --exclude hack/ ${SANITY_TARGETS:-})
}

lint_tier() {
  # ansible-lint puts its cache's collections ($ANSIBLE_HOME/collections,
  # ~/.ansible/collections by default) before ANSIBLE_COLLECTIONS_PATH: an install
  # of this collection left there by another tool shadows the checkout, and the
  # modules added since are "unknown". A cache of the checkout's own, without a
  # copy of this collection, leaves the checkout's link (.cache/collections) in charge.
  local home=$REPO/.cache/lint-ansible-home
  rm -rf "$home/collections/ansible_collections/talos/autoextender"
  ANSIBLE_HOME=$home ansible-lint --profile production --nocolor --offline
}

for t in "${tiers[@]}"; do
  case $t in
    unit|integration) run_tier "$t" pytest_tier "$t" ;;
    unit-2.20) run_tier "$t" in_2_20 pytest_tier unit "$OUT/2.20/unit.xml" ;;
    molecule) run_tier molecule molecule_tier ;;
    sanity) run_tier sanity sanity_tier ;;
    sanity-2.20) run_tier "$t" in_2_20 sanity_tier 2.20 ;;
    lint) run_tier lint lint_tier ;;
    *) echo "unknown tier: $t"; exit 2 ;;
  esac
done

echo
echo "=== summary"
failed=0
for t in "${tiers[@]}"; do
  echo "  $t: ${status[$t]}"
  [ "${status[$t]}" = ok ] || failed=1
done
python3 hack/junit_totals.py "$OUT"/*.xml 2>/dev/null
if [[ " ${tiers[*]} " == *" unit-2.20 "* ]]; then
  python3 hack/junit_totals.py "$OUT"/2.20/unit.xml 2>/dev/null | sed 's/^pytest:/pytest (ansible-core 2.20, unit):/'
fi
# Which ansible-core and Python each venv ran (the support matrix's "tested" column).
for v in "$REPO/.venv" "$VENV_2_20"; do
  [ -x "$v/bin/python" ] && "$v/bin/python" -c 'import sys, ansible; print("ansible-core %s on Python %d.%d.%d (%s)" % ((ansible.__version__,) + sys.version_info[:3] + (sys.argv[1],)))' "${v##*/}"
done
python3 tests/support/tools.py --line
exit $failed
