# Shared by ci/test, ci/reliability and ci/demo: the venv, and (as root) the packages.
# shellcheck shell=bash
VENV="${IPTWRAP_VENV:-.venv}"
PY="${PYTHON:-python3}"

as_root() { [ "$(id -u)" = 0 ]; }

install_system_packages() {
  as_root || return 0
  local missing=()
  command -v iptables-legacy >/dev/null 2>&1 || missing+=(iptables)
  command -v ipset >/dev/null 2>&1 || missing+=(ipset)
  command -v nfacct >/dev/null 2>&1 || missing+=(nfacct)
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  command -v pgrep >/dev/null 2>&1 || missing+=(procps)
  "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing ${missing[*]} (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

ensure_venv() {  # $1: the extras to install, e.g. "[test]" or ""
  if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    "$PY" -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".$1"
}
