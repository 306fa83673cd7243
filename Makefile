# Benchmarks, run on demand and never part of the test suite's pass/fail (docs/benchmarks.md).
#   make bench         the full run: scales m (SQLite, PostgreSQL) and l (PostgreSQL), a 30 min soak
#   make bench-short   a quick run: scale m, shorter load phases, a 3 min soak
# Both install the [bench] extra into .venv and rewrite docs/benchmarks.md with that one run.
# Arguments for bench/run.py pass through BENCH_ARGS, e.g.
#   make bench-short BENCH_ARGS="--scale demo --backends sqlite"

BENCH_ARGS ?=

.PHONY: bench bench-short forecast-report

bench:
	bash scripts/bench.sh --full $(BENCH_ARGS)

bench-short:
	bash scripts/bench.sh --short $(BENCH_ARGS)

# The demand forecast's backtest on the demo, written to docs/forecast.md (a minute or two).
forecast-report:
	bash -c 'source scripts/venv.sh && ensure_venv ".[bench]"' && .venv/bin/python -m bench.forecast_report
