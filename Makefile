# Two user-facing commands; each does all of its own set-up (virtualenvs, pinned dependencies,
# collection links) on a fresh checkout. See docs/testing.md.
#
#   make demo   run the incident demo against the embedded lab
#   make test   run every test tier: pytest (unit, lab, integration), ansible-test sanity/units on two
#               cores (+ Python 3.9 compile/import), ansible-lint, molecule (the argus_server role
#               scenarios), docs and changelog lint, ansible-doc
#
# For development, `make test STEPS="pytest lint"` runs only the named steps
# (pytest core219 core221 lint molecule docs ansible-doc); set-up always runs.

SHELL := /bin/bash
STEPS ?=

.PHONY: demo test
demo:
	@scripts/demo.sh

test:
	@scripts/run-tests.sh $(STEPS)
