#!/usr/bin/env bash
# Run the test tiers (all by default, or those named), then print a summary,
# the closing count line and the TOOLS line. Exit non-zero if any tier failed.
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
OUT=$REPO/tests/output
mkdir -p "$OUT"
tiers=("$@")
[ ${#tiers[@]} -gt 0 ] || tiers=(unit integration molecule sanity lint)
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
  local name=$1
  local workers=()
  # Integration tests mostly wait on real servers and ansible-playbook runs:
  # two workers (each with its own session servers), one test file each.
  [ "$name" = integration ] && workers=(-n "${PYTEST_WORKERS:-2}" --dist loadfile)
  python -m pytest "tests/$name" -p no:cacheprovider -q -rs "${workers[@]}" --junitxml="$OUT/$name.xml"
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
  local dest=${SANITY_DIR:-$REPO/.cache/sanity}/ansible_collections/talos/autoextender
  rm -rf "$dest" && mkdir -p "$dest"
  git ls-files -z --cached --others --exclude-standard | \
    (cd "$REPO" && xargs -0 cp --parents -t "$dest" 2>/dev/null)
  (cd "$dest" && git init -q && git add -A && \
    ansible-test sanity --python "$(python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
      --requirements --color no --exclude .ci/ --exclude hack/ ${SANITY_TARGETS:-})
}

lint_tier() {
  ansible-lint --profile production --nocolor --offline
}

for t in "${tiers[@]}"; do
  case $t in
    unit|integration) run_tier "$t" pytest_tier "$t" ;;
    molecule) run_tier molecule molecule_tier ;;
    sanity) run_tier sanity sanity_tier ;;
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
python3 tests/support/tools.py --line
exit $failed
