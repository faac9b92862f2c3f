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
	@# hgq2 (HGQ2 / Keras 3 models), pinned in pyproject.toml [tool.fpgaml]: every hgq2 wheel ships a top-level
	@# `qkeras` package that would replace QKeras 0.9.0, so it goes into its own folder (no dependencies: its one
	@# other, `quantizers`, comes with da4ml) and a .pth file *appends* that folder to sys.path, after site-packages:
	@# `import qkeras` still finds QKeras 0.9.0, `import hgq` finds hgq2. Never `pip install hgq2` plainly.
	$(VENV)/bin/pip install --quiet --no-deps --upgrade --target $(VENV)/hgq2 \
	    "hgq2==$$($(VENV)/bin/python -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['tool']['fpgaml']['hgq2'])")"
	$(VENV)/bin/python -c "import os, sysconfig; sp = sysconfig.get_paths()['purelib']; \
	    open(os.path.join(sp, 'fpgaml-hgq2.pth'), 'w').write(os.path.relpath(os.path.abspath('$(VENV)/hgq2'), sp) + '\n')"
	TF_CPP_MIN_LOG_LEVEL=3 $(VENV)/bin/python -c "import qkeras, hgq, tomllib; \
	    want = tomllib.load(open('pyproject.toml', 'rb'))['tool']['fpgaml']['hgq2']; \
	    assert qkeras.__version__ == '0.9.0' and 'site-packages' in qkeras.__file__, ('QKeras replaced', qkeras.__file__); \
	    assert hgq.__version__ == want, ('hgq', hgq.__version__, want)"
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	$(VENV)/bin/fpgaml build models/reference_mlp/config.yml --force

test: $(STAMP)
	$(VENV)/bin/ruff check fpgaml tests benchmarks
	$(VENV)/bin/ruff format --check fpgaml tests benchmarks
	$(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/convert_compile_csim.py

clean:
	rm -rf $(VENV) vivado_projects/*/ .pytest_cache
