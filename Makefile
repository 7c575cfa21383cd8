# talos-autoextender: set up, test and demo. Every target installs what it needs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= .venv
VENV_2_20   ?= .venv-2.20
PY          := $(VENV)/bin/python
TOOLS_BIN   ?= $(HOME)/.cache/talos-autoextender/bin
# ansible_collections/talos/autoextender -> this checkout, so ansible, pytest
# and ansible-test all see the collection under its real name.
COLLECTIONS := $(CURDIR)/.cache/collections
export PATH := $(CURDIR)/$(VENV)/bin:$(TOOLS_BIN):/usr/sbin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export AUTOEXTENDER_TOOLS := $(TOOLS_BIN)
export VENV_2_20

.PHONY: help tools venv debs gotools collection-link test unit integration molecule sanity lint demo lab-down clean shell bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# The Go builds (minutes of CPU) need neither the venv nor the Debian packages
# (Go is the machine's): on a fresh machine the three run side by side.
tools: ## install everything the tests and the demo need (cached)
	@$(MAKE) --no-print-directory -j3 venv debs gotools
	@$(MAKE) --no-print-directory collection-link
	@hack/tools_report.sh

# Two venvs on Python >= 3.12 (hack/find_python.sh finds one, or says what to
# install; PYTHON=/path/to/python3.x picks it): .venv with ansible-core 2.21 for
# everything, .venv-2.20 with ansible-core 2.20 for the unit and sanity tiers.
venv: $(VENV)/.stamp $(VENV_2_20)/.stamp
$(VENV)/.stamp: requirements.txt requirements-dev.txt
	@py=$$(hack/find_python.sh) && echo "venv $(VENV): $$py" && "$$py" -m venv --clear $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@
# The 2.20 venv prefers Python 3.12 (2.21's minimum), so both ends are tested.
$(VENV_2_20)/.stamp: requirements.txt requirements-2.20.txt
	@py=$$(hack/find_python.sh python3.12 python3.13 python3) && echo "venv $(VENV_2_20): $$py" && "$$py" -m venv --clear $(VENV_2_20)
	$(VENV_2_20)/bin/pip install --quiet --upgrade pip
	$(VENV_2_20)/bin/pip install --quiet -r requirements-2.20.txt
	touch $@

debs: ## Debian packages of the real servers (pdns, bind, etcd, wireguard)
	@hack/install_debs.sh

gotools: ## talosctl, talos-api-sim, kube-apiserver + kube-controller-manager + kube-scheduler + kwok (one build), traefik, pebble, helm, external-dns from Go modules
	@python3 hack/build_go_tools.py --cache $(TOOLS_BIN)

# awx.awx (extras/awx/configure.yml) left the `ansible` package in 14: Galaxy is
# not reachable here, so it comes from ansible 13.8.0 in the 2.20 venv (awx.awx 24.6.1).
AWX_COLLECTION = $(firstword $(wildcard $(CURDIR)/$(VENV_2_20)/lib/python3*/site-packages/ansible_collections/awx))
collection-link:
	@mkdir -p $(COLLECTIONS)/ansible_collections/talos
	@ln -sfn $(CURDIR) $(COLLECTIONS)/ansible_collections/talos/autoextender
	@$(if $(AWX_COLLECTION),ln -sfn $(AWX_COLLECTION) $(COLLECTIONS)/ansible_collections/awx,echo "collection-link: no awx.awx in $(VENV_2_20) (make venv)" >&2)

test: tools ## set everything up and run every test tier
	@hack/test.sh

unit: tools ## unit tests only
	@hack/test.sh unit

integration: tools ## integration tests against the real servers only
	@hack/test.sh integration

molecule: tools ## Molecule scenarios only
	@hack/test.sh molecule

sanity: tools ## ansible-test sanity only
	@hack/test.sh sanity

lint: tools ## ansible-lint (production profile) only
	@hack/test.sh lint

demo: tools ## set up and run the main job on the local lab
	@hack/demo.sh

shell: ## a shell with the venv, the Go tools and the collection (as `. hack/activate`)
	@test -x $(PY) || { echo "make shell: there is no $(VENV) yet: run make tools first" >&2; exit 1; }
	@echo "talos.autoextender: ansible-playbook, talosctl and the collection are on the path here (exit to leave)"
	@eval "$$($(PY) hack/checkout_env.py --shell)" && exec "$${SHELL:-/bin/bash}" -i

BENCH ?= bench_dns lab_node provision migrate failover datapath ingress_rollout
bench: ## run the benchmarks: BENCH="bench_dns migrate" picks some, ARGS="--runs 5" passes options
	@test -x $(PY) || { echo "make bench: there is no $(VENV) yet: run make tools first" >&2; exit 1; }
	@for b in $(BENCH); do echo "== python3 benchmarks/$$b.py $(ARGS)"; $(PY) benchmarks/$$b.py $(ARGS) || exit 1; done

clean: ## remove the venv and local caches (not the Go tool cache)
	rm -rf $(VENV) $(VENV_2_20) .cache tests/output
