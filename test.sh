#!/usr/bin/env bash
# Set up, then run the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")"
unset PYTHONDONTWRITEBYTECODE  # as in run.sh: processes reuse the bytecode of what they import
ci/setup.sh
status=0
.venv/bin/python -m pytest "$@" || status=$?
if ((status == 5)); then
    echo "test.sh: pytest collected no tests; that is a failure, not a pass" >&2
    exit 1
fi
exit "$status"
