# fpgaml: two commands. Each sets up its own virtual environment on first use.
#   make demo   build the reference model's firmware, C-simulate it, print the result
#   make test   run the test suite (real g++ compiles)
PYTHON ?= python3.11
VENV   := .venv
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found (fpgaml needs Python 3.11; set PYTHON=...)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[test,rtl,cluster]'
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	$(VENV)/bin/fpgaml build models/reference_mlp/config.yml --force

test: $(STAMP)
	$(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/convert_compile_csim.py

clean:
	rm -rf $(VENV) vivado_projects/*/ .pytest_cache
