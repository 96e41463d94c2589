#!/bin/sh
# containerd.sh start|stop|status - a private containerd (with its CRI plugin) for podwarden's tests.
#
# Everything it owns lives under its own paths, so it never collides with a system containerd, with the
# containerd that the test dockerd supervises, or with another test daemon: root, state, gRPC and ttrpc
# sockets, runc state (runc's default /run/containerd/runc/<ns> is shared by every containerd), CNI config,
# pidfile and log. The config is rewritten on every start.
#
# Settings this needs on the CI VMs (see /work/shared/notes/containerd-cri-trial.md):
#   sandbox_image           a local image (no registry): podwarden.local/pause:3.9, imported by
#                           samples/images/build-oci-images.sh; until then every RunPodSandbox fails
#   restrict_oom_score_adj  root lacks CAP_SYS_RESOURCE here; without it runc cannot apply the sandbox's
#                           oom_score_adj and every sandbox fails ("can't get final child's PID from pipe")
#   SystemdCgroup = false   PID 1 is not systemd
# Pod networking: a CNI bridge (pwtest-cni0, 172.30.252.0/24, no masquerade) plus portmap for hostPorts
# (only when iptables works) from Debian's containernetworking-plugins in /usr/lib/cni. Without bridge
# support the CNI config is left out and only host-network pods work (the runtime then reports
# NetworkReady=false).
#
# Environment overrides: PODWARDEN_CONTAINERD_CNI=none forces the no-CNI mode.
# Stop removes every CRI pod first (their shims outlive containerd otherwise).
set -eu

BASE_RUN=/run/podwarden-test/containerd
ROOT=/var/lib/podwarden-test/containerd
SOCK=$BASE_RUN/containerd.sock
PIDFILE=$BASE_RUN/containerd.pid
CONFIG=$BASE_RUN/config.toml
CNI_CONF_DIR=$BASE_RUN/cni/net.d
CNI_BIN_DIR=/usr/lib/cni
LOG=/var/log/podwarden-test-containerd.log
SANDBOX_IMAGE=podwarden.local/pause:3.9
BRIDGE=pwtest-cni0
SUBNET=172.30.252.0/24
WAIT_SECONDS=30
NS=k8s.io

ctr_() {
  ctr --address "$SOCK" --namespace "$NS" "$@"
}

answers() {
  [ -S "$SOCK" ] && ctr --address "$SOCK" version >/dev/null 2>&1
}

daemon_pid() {
  [ -f "$PIDFILE" ] || return 1
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Writes the CNI conflist when bridges can be made here; otherwise leaves the conf dir empty.
write_cni() {
  mkdir -p "$CNI_CONF_DIR"
  rm -f "$CNI_CONF_DIR"/*
  if [ "${PODWARDEN_CONTAINERD_CNI:-}" = "none" ]; then
    echo "containerd.sh: PODWARDEN_CONTAINERD_CNI=none: host-network pods only" >&2
    return
  fi
  if [ ! -x "$CNI_BIN_DIR/bridge" ] || [ ! -x "$CNI_BIN_DIR/host-local" ] || [ ! -x "$CNI_BIN_DIR/loopback" ]; then
    echo "containerd.sh: no CNI plugins in $CNI_BIN_DIR (apt-get install containernetworking-plugins): host-network pods only" >&2
    return
  fi
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    if ! ip link add "$BRIDGE" type bridge 2>/dev/null; then
      echo "containerd.sh: cannot create bridge $BRIDGE: host-network pods only" >&2
      return
    fi
  fi
  # hostPort mappings need the portmap plugin, which needs iptables.
  portmap=""
  if [ -x "$CNI_BIN_DIR/portmap" ] && iptables -t nat -L -n >/dev/null 2>&1; then
    portmap=',
    {"type": "portmap", "capabilities": {"portMappings": true}}'
  else
    echo "containerd.sh: iptables is not usable here: pods get no hostPort mappings" >&2
  fi
  cat >"$CNI_CONF_DIR/10-podwarden-test.conflist" <<CNI
{
  "cniVersion": "1.0.0",
  "name": "podwarden-test",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$SUBNET"}]],
        "dataDir": "$BASE_RUN/cni/ipam"
      }
    }$portmap
  ]
}
CNI
}

write_config() {
  cat >"$CONFIG" <<TOML
version = 2
root = "$ROOT/root"
state = "$BASE_RUN/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "$SOCK"

[ttrpc]
  address = "$SOCK.ttrpc"

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$ROOT/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$SANDBOX_IMAGE"
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$BASE_RUN/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$CNI_BIN_DIR"
    conf_dir = "$CNI_CONF_DIR"
    max_conf_num = 1
TOML
}

start() {
  if answers; then
    echo "CONTAINERD_ADDRESS=$SOCK"
    return 0
  fi
  if pid=$(daemon_pid); then
    echo "containerd.sh: containerd (pid $pid) from $PIDFILE does not answer on $SOCK; stop it first" >&2
    return 1
  fi
  mkdir -p "$BASE_RUN" "$ROOT" "$(dirname "$LOG")"
  rm -f "$SOCK" "$SOCK.ttrpc" "$PIDFILE"
  write_cni
  write_config
  echo "=== $(date -u +%FT%TZ) containerd.sh start" >>"$LOG"
  setsid containerd --config "$CONFIG" >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  i=0
  while [ $i -lt $((WAIT_SECONDS * 10)) ]; do
    if answers; then
      echo "CONTAINERD_ADDRESS=$SOCK"
      return 0
    fi
    if ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
      break
    fi
    sleep 0.1
    i=$((i + 1))
  done
  echo "containerd.sh: containerd did not answer on $SOCK within ${WAIT_SECONDS}s; last lines of $LOG:" >&2
  tail -n 30 "$LOG" >&2
  return 1
}

# Kills the tasks of every container in the k8s.io namespace and deletes the containers, so no shim is
# left running behind a stopped containerd.
remove_all() {
  for id in $(ctr_ tasks ls -q 2>/dev/null); do
    ctr_ tasks kill --signal SIGKILL "$id" >/dev/null 2>&1 || true
  done
  for id in $(ctr_ tasks ls -q 2>/dev/null); do
    ctr_ tasks delete --force "$id" >/dev/null 2>&1 || true
  done
  for id in $(ctr_ containers ls -q 2>/dev/null); do
    ctr_ containers delete "$id" >/dev/null 2>&1 || true
  done
}

stop() {
  if ! pid=$(daemon_pid); then
    echo "containerd.sh: not running"
    return 0
  fi
  answers && remove_all
  kill -TERM "$pid"
  i=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ $i -ge 120 ]; then
      echo "containerd.sh: containerd (pid $pid) did not exit within 30s" >&2
      return 1
    fi
    sleep 0.25
    i=$((i + 1))
  done
  rm -f "$PIDFILE"
  echo "containerd.sh: stopped (pid $pid)"
}

status() {
  if answers; then
    echo "running: CONTAINERD_ADDRESS=$SOCK pid=$(cat "$PIDFILE" 2>/dev/null || echo '?')"
    return 0
  fi
  echo "not running ($SOCK does not answer)"
  return 1
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac
