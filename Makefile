# Two commands: `make run` boots the default manifest; `make test` runs the test suite.
# Both create .venv and install Ai:oS into it first.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# llama-cpp-python has no binary wheel on PyPI: it is compiled once (about 4-6 minutes on
# 2 cores) and the wheel kept here, so later installs take seconds.
WHEELS ?= $(HOME)/.cache/aios-wheels
LLAMA_CPP_VERSION := 0.3.36
# A native build crashes in AMX kernels on virtual machines that advertise AMX.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
EXTRAS ?= all,dev

.PHONY: install run test lint bench clean mcp-test-servers peer-test-tools

install: $(VENV)/.installed-$(EXTRAS)

$(VENV)/.installed-$(EXTRAS): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	mkdir -p $(WHEELS)
	ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl >/dev/null 2>&1 || \
	  CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip wheel -q --no-deps -w $(WHEELS) \
	    llama-cpp-python==$(LLAMA_CPP_VERSION)
	$(BIN)/python -m pip install -q --find-links $(WHEELS) -e ".[$(EXTRAS)]" \
	  llama-cpp-python==$(LLAMA_CPP_VERSION)
	touch $@

run: install
	$(BIN)/aios boot

test: install mcp-test-servers peer-test-tools
	$(BIN)/python -m pytest

# The third-party MCP server tests/mcp runs as an upstream (the reference filesystem server,
# from npm, run with the machine's Node.js); without npm those tests skip and say why.
MCP_NPM := tests/mcp/npm
mcp-test-servers:
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --prefix $(MCP_NPM) --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: tests/mcp/test_filesystem_server.py will be skipped"; fi

# Peer tools pointed at the OpenAI-compatible endpoint: promptfoo (from npm, pinned; runs
# offline). Without npm, tests/server/test_promptfoo_endpoint.py skips and says why.
PEER_NPM := tests/peer/npm
peer-test-tools:
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --prefix $(PEER_NPM) --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: tests/server/test_promptfoo_endpoint.py will be skipped"; fi

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

bench: install
	for b in bench/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
