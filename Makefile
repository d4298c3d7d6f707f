# Development and CI entry points. Every target creates what it needs under .cache/
# (virtual environments for ansible-core 2.16 on Python 3.11 and 2.21 on Python 3.12,
# the ansible_collections/ tree ansible-test needs, pip's download cache) on first use.
#
#   make demo         the EM simulator over HTTPS, then the inventory, the modules and the compliance report
#   make test         everything CI checks, on both ansible-core lines (what .ci/run runs)
#   make sanity       ansible-test sanity            (LINE=low|new|all, default all)
#   make units        ansible-test units             (LINE=...)
#   make integration  ansible-test integration against the simulator (LINE=..., TARGETS="a b" for some)
#   make simulator-tests  the simulator's own pytest suite (LINE=...)
#   make report-browser   the compliance report in headless Chromium (LINE=...)
#   make bench-smoke      the benchmark harness on a small data set, as make test runs it (LINE=...)
#   make reliability      the issue-8 suite: fault matrix, secrets, load (about 20 min a line), writes docs/reliability.md (LINE=...)
#   make reliability-subset  its quick part (pytest -m "not slow"), as make test runs it (LINE=...)
#   make bench        the issue-7 benchmark on fleet (25-30 min), writes benchmarks/RESULTS.md + scaling.png (BENCH_ARGS=...)
#   make lint         ansible-lint, production profile
#   make docs         the docs site from the plugins' own docs (antsibull-docs + Sphinx, offline) into .cache/docs/build/html
#   make docs-screenshot  make docs, then docs/images/docs_site.png of its landing page in headless Chromium
#   make build        build the artifact, install it, ansible-doc every plugin
#   make release-check  build, then galaxy-importer, a fresh install from the tarball, ansible-builder (RELEASE=1: the release itself)
#   make simulator    run the EM simulator in the foreground (ARGS="--dataset fleet ...")
#   make clean        remove .cache/ and build output

PYTHON ?= python3
LINE ?= all
ARGS ?= --dataset demo
BENCH_ARGS ?=
CI := $(PYTHON) tests/tools/ci.py

.PHONY: demo test sanity units integration simulator-tests report-browser bench-smoke reliability reliability-subset bench lint docs docs-screenshot build release-check simulator venv clean

demo:
	$(CI) demo

test:
	$(CI) test

sanity:
	$(CI) sanity --line $(LINE)

units:
	$(CI) units --line $(LINE)

integration:
	$(CI) integration --line $(LINE)

simulator-tests:
	$(CI) simulator-tests --line $(LINE)

report-browser:
	$(CI) report-browser --line $(LINE)

bench-smoke:
	$(CI) bench-smoke --line $(LINE)

reliability:
	$(CI) reliability --line $(LINE)

reliability-subset:
	$(CI) reliability-subset --line $(LINE)

bench:
	$(CI) venv --line low
	$(PYTHON) benchmarks/run.py $(BENCH_ARGS)

lint:
	$(CI) lint

build:
	$(CI) build

docs:
	$(CI) docs

# The README shows this picture; rerun after changing the landing page or the guides' titles.
docs-screenshot: docs
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1000 \
		--screenshot=docs/images/docs_site.png file://$(CURDIR)/.cache/docs/build/html/index.html

release-check:
	$(CI) release-check $(if $(RELEASE),--release)

simulator:
	$(CI) simulator $(ARGS)

venv:
	$(CI) venv --line $(LINE)

clean:
	rm -rf .cache tests/output dist demo-report
