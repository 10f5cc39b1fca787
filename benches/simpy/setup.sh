#!/usr/bin/env bash
# Creates benches/simpy/.venv with SimPy from PyPI, once. Idempotent: when the venv exists
# and imports simpy at the pinned version, it does nothing.
#
#   benches/simpy/setup.sh            # prints the venv's python path on stdout
set -euo pipefail

SIMPY_VERSION="${SIMPY_VERSION:-4.1.2}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
python="$venv/bin/python"

if [[ -x "$python" ]] && "$python" -c "import simpy, sys; sys.exit(simpy.__version__ != '$SIMPY_VERSION')" 2>/dev/null; then
    echo "$python"
    exit 0
fi

echo "setting up $venv (simpy $SIMPY_VERSION from PyPI)" >&2
python3 -m venv "$venv" >&2
"$python" -m pip install --quiet --disable-pip-version-check "simpy==$SIMPY_VERSION" >&2
"$python" -c "import simpy; print('simpy', simpy.__version__, 'ready', file=__import__('sys').stderr)"
echo "$python"
