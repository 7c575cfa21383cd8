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
# The default order pairs the short tiers (see run_pair) and puts them first: a mistake
# they catch shows in minutes, before the long integration and molecule tiers.
[ ${#tiers[@]} -gt 0 ] || tiers=(unit sanity-2.20 unit-2.20 sanity lint integration molecule)
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

# Scenario names, the longest first (so two lanes end close together), then the rest.
MOLECULE_FIRST=(migrate provision decommission failover)

molecule_tier() {
  # Scenarios live in extensions/molecule; molecule is run from extensions/. Each
  # scenario has a lab of its own (AUTOEXTENDER_LAB_DIR in its molecule.yml), so
  # MOLECULE_WORKERS of them run at once; each writes $OUT/molecule/<name>.log,
  # printed whole when it failed.
  local logs=$OUT/molecule all=() s
  rm -rf "$logs" && mkdir -p "$logs"
  for s in extensions/molecule/*/molecule.yml; do s=${s%/molecule.yml}; all+=("${s##*/}"); done
  local order=()
  for s in "${MOLECULE_FIRST[@]}"; do [[ " ${all[*]} " == *" $s "* ]] && order+=("$s"); done
  for s in "${all[@]}"; do [[ " ${order[*]} " == *" $s "* ]] || order+=("$s"); done
  printf '%s\n' "${order[@]}" | xargs -P "${MOLECULE_WORKERS:-2}" -I{} bash -c '
    start=$SECONDS
    (cd extensions && molecule test -s "$1") > "$2/$1.log" 2>&1
    rc=$?
    echo "$rc $((SECONDS - start))" > "$2/$1.rc"
    echo "  molecule $1: $([ $rc = 0 ] && echo ok || echo FAILED) ($((SECONDS - start))s)"' _ {} "$logs"
  local failed=0 rc secs
  for s in "${order[@]}"; do
    read -r rc secs < "$logs/$s.rc" || rc=1
    if [ "$rc" != 0 ]; then
      failed=1
      echo "=== molecule $s FAILED: its log ($logs/$s.log)"
      cat "$logs/$s.log"
    fi
  done
  return $failed
}

sanity_tier() {
  # ansible-test bootstraps pip with a script from a host we cannot reach.
  local pip_version
  pip_version=$(python -c 'import re, ansible_test._internal.python_requirements as m; print(re.search(r"pip=.([0-9.]+).", open(m.__file__).read()).group(1))')
  mkdir -p ~/.ansible/test/cache
  # Through a file of our own and a rename: the other venv's sanity tier may run at the same time.
  local get_pip=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
  cp hack/get_pip.py "$get_pip.$$" && mv -f "$get_pip.$$" "$get_pip"
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

tier() {
  case $1 in
    unit|integration) pytest_tier "$1" ;;
    unit-2.20) in_2_20 pytest_tier unit "$OUT/2.20/unit.xml" ;;
    molecule) molecule_tier ;;
    sanity) sanity_tier ;;
    sanity-2.20) in_2_20 sanity_tier 2.20 ;;
    lint) lint_tier ;;
  esac
}

# The short tiers use one core each (pytest without workers, ansible-test, ansible-lint):
# two of them run at once, each into $OUT/logs/<tier>.log, printed when both are done.
# The pairs share nothing: a tier of one venv beside a tier of the other.
pair=()
run_pair() {
  [ ${#pair[@]} -gt 0 ] || return 0
  if [ ${#pair[@]} = 1 ]; then run_tier "${pair[0]}" tier "${pair[0]}"; pair=(); return; fi
  local t rc secs
  mkdir -p "$OUT/logs"
  echo "=== tiers at once: ${pair[*]}"
  for t in "${pair[@]}"; do
    (start=$SECONDS; tier "$t" > "$OUT/logs/$t.log" 2>&1; echo "$? $((SECONDS - start))" > "$OUT/logs/$t.rc") &
  done
  wait
  for t in "${pair[@]}"; do
    echo "=== tier: $t"
    cat "$OUT/logs/$t.log"
    read -r rc secs < "$OUT/logs/$t.rc" || rc=1
    if [ "$rc" = 0 ]; then status[$t]="ok"; else status[$t]="FAILED"; fi
    echo "=== tier: $t ${status[$t]} (${secs:-?}s)"
  done
  pair=()
}

for t in "${tiers[@]}"; do
  case $t in
    unit|unit-2.20|sanity|sanity-2.20|lint|integration|molecule) ;;
    *) echo "unknown tier: $t"; exit 2 ;;
  esac
done
for t in "${tiers[@]}"; do
  case $t in
    integration|molecule) run_pair; run_tier "$t" tier "$t" ;;
    *) pair+=("$t"); [ ${#pair[@]} -lt 2 ] || run_pair ;;
  esac
done
run_pair
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
