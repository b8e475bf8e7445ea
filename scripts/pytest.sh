#!/usr/bin/env bash
# Run the test suite with the project's venv. pytest exits 5 when it collected no test: for this
# suite that means something is broken (a bad path or marker), so say so and fail.
set -u
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests (exit 5): check tests/ and the -k/-m filters." >&2
  exit 1
fi
exit "$rc"
