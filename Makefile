# Two entry points (README Quick start): `make demo` and `make test`.
# Both create .venv and install the package with its dependencies first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat setup.cfg pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: install demo test bench clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# The main job on the bundled excerpts: validate them, then build the crosswalks into out/.
demo: $(STAMP)
	$(BIN)/crosswalk validate raw_classifiers --max-problems 3
	$(BIN)/crosswalk build --data raw_classifiers -o out

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/load.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
