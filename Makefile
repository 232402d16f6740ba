# Thin aliases for dev.py, which needs only Python 3.11+.
PYTHON ?= python3

.PHONY: run test bench setup
run:
	$(PYTHON) dev.py run
test:
	$(PYTHON) dev.py test
bench:
	$(PYTHON) dev.py bench
setup:
	$(PYTHON) dev.py setup
