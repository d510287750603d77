#!/usr/bin/env bash
# Starts, stops and reports the lab app of a stepops lab directory.
#
#   app-ctl.sh start|stop|restart|status
#
# The lab directory is the parent of this script's directory (<lab>/bin/app-ctl.sh). The app runs
# from <lab>/host (the checkout a deploy updates); its pid file and log live in <lab>/run. The port
# and the node binary come from <lab>/lab.env (LAB_PORT, LAB_NODE), written by lab/setup.ts.
# `status` exits 0 when the app runs and 3 when it does not (as LSB init scripts do).
set -euo pipefail

lab_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
app_dir="${lab_dir}/host"
run_dir="${lab_dir}/run"
pid_file="${run_dir}/app.pid"
log_file="${run_dir}/app.log"

LAB_PORT=47613
LAB_NODE=node
if [[ -f "${lab_dir}/lab.env" ]]; then
  # shellcheck source=/dev/null
  source "${lab_dir}/lab.env"
fi
port="${LAB_PORT}"
node_bin="${LAB_NODE}"

# Returns 0 when the process runs (a zombie waiting for its parent to reap it counts as ended).
alive() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(ps -o stat= -p "$1" 2>/dev/null || true)"
  [[ "${state}" != Z* ]]
}

# Prints the pid of the running app and returns 0, or returns 1 when it is not running.
running_pid() {
  local pid
  [[ -s "${pid_file}" ]] || return 1
  pid="$(tr -d '[:space:]' <"${pid_file}")"
  [[ "${pid}" =~ ^[0-9]+$ ]] || return 1
  alive "${pid}" || return 1
  printf '%s\n' "${pid}"
}

# Returns 0 when something accepts connections on the port.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null
}

checkout() {
  git -C "${app_dir}" describe --tags --always 2>/dev/null || echo unknown
}

start() {
  local pid child
  if pid="$(running_pid)"; then
    echo "lab app already running (pid ${pid}, port ${port})"
    return 0
  fi
  if port_open; then
    echo "port ${port} is taken by another process: cannot start the lab app" >&2
    return 1
  fi
  mkdir -p "${run_dir}"
  rm -f "${pid_file}"
  # A session of its own, so that the end of the deploy script's process group does not end the app.
  local launcher=()
  if command -v setsid >/dev/null 2>&1; then launcher=(setsid); fi
  (
    cd "${app_dir}"
    PORT="${port}" PID_FILE="${pid_file}" exec "${launcher[@]}" nohup "${node_bin}" server.mjs \
      >>"${log_file}" 2>&1 </dev/null
  ) &
  child=$!
  for _ in $(seq 1 100); do
    if pid="$(running_pid)" && port_open; then
      echo "lab app $(checkout) started (pid ${pid}, port ${port})"
      return 0
    fi
    if ! alive "${child}" && ! running_pid >/dev/null; then
      break
    fi
    sleep 0.1
  done
  echo "lab app $(checkout) did not start; the end of ${log_file}:" >&2
  tail -n 20 "${log_file}" >&2 || true
  return 1
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    echo "lab app not running"
    rm -f "${pid_file}"
    return 0
  fi
  kill -TERM "${pid}" 2>/dev/null || true
  for _ in $(seq 1 50); do
    if ! alive "${pid}"; then
      rm -f "${pid_file}"
      echo "lab app stopped (pid ${pid})"
      return 0
    fi
    sleep 0.1
  done
  kill -KILL "${pid}" 2>/dev/null || true
  rm -f "${pid_file}"
  echo "lab app killed (pid ${pid}) after 5 s"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    echo "lab app $(checkout) running (pid ${pid}, port ${port})"
    return 0
  fi
  echo "lab app stopped"
  return 3
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop && start ;;
  status) status ;;
  *)
    echo "usage: $(basename "$0") start|stop|restart|status" >&2
    exit 2
    ;;
esac
