#!/usr/bin/env bash
# Run a command with no network but loopback: in a fresh network namespace when the kernel allows it
# (unshare -n, as root or with user namespaces), else with only the Python-level guard of conftest.py.
# As real root it is 'unshare -n' with no user namespace, so every uid still exists inside: the classroom test
# (tests/system/test_hub_classroom.py) runs each learner's server under their own uid. Otherwise 'unshare -rn'.
# XAI_OFFLINE_MODE tells the suite which one applied (tests/system/test_offline.py reports it).
if [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
  export XAI_OFFLINE_MODE=netns
  exec unshare -n sh -c 'ip link set lo up 2>/dev/null || true; exec "$@"' sh "$@"
elif unshare -rn true 2>/dev/null; then
  export XAI_OFFLINE_MODE=netns
  exec unshare -rn sh -c 'ip link set lo up 2>/dev/null || true; exec "$@"' sh "$@"
else
  echo "offline.sh: network namespaces unavailable; relying on the Python network guard" >&2
  export XAI_OFFLINE_MODE=python-guard
  exec "$@"
fi
