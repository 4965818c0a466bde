#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine, for tests/test_slurm.py (pytest -m slurm).
#
# Installs munge and slurm-wlm from Debian if missing, writes /etc/slurm/slurm.conf for this
# host (its real CPU count and memory, partition `debug`, no cgroups, jobs may run as root),
# starts munged, slurmctld and slurmd as plain background daemons (no systemd needed) and waits
# until the node is idle. Idempotent: a second run leaves running daemons alone, unless the
# config it would write differs from the one in place, in which case it restarts them.
# Must run as root. Ports: slurmctld 6817, slurmd 6818 (SLURM's defaults; the node and controller
# are addressed as 127.0.0.1, but the daemons listen on all interfaces).
set -euo pipefail

CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
LOG_DIR=/var/log/slurm
CTLD_PID=/run/slurmctld.pid
SLURMD_PID=/run/slurmd.pid
WAIT_S=${SLURM_WAIT_S:-60}

say() { echo "slurm.sh: $*" >&2; }
die() {
    say "ERROR: $*"
    for log in "$LOG_DIR/slurmctld.log" "$LOG_DIR/slurmd.log"; do
        [[ -f $log ]] && { say "--- last lines of $log"; tail -n 20 "$log" >&2; }
    done
    exit 1
}

[[ $(id -u) -eq 0 ]] || die "must run as root"

# --- packages ----------------------------------------------------------------------------------
missing=()
command -v munged >/dev/null || missing+=(munge)
for tool in slurmctld slurmd sinfo sbatch; do
    command -v "$tool" >/dev/null || { missing+=(slurm-wlm); break; }
done
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    # Keep the packages' maintainer scripts from starting daemons: this script starts them.
    # (A policy-rc.d that the machine already has is left as it is.)
    policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        trap 'rm -f "$policy"' EXIT
    else
        policy=""
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [[ -n $policy ]]; then
        rm -f "$policy"
        trap - EXIT
    fi
fi

# --- munge -------------------------------------------------------------------------------------
id munge >/dev/null 2>&1 || die "user 'munge' missing: is the munge package installed?"
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [[ ! -s /etc/munge/munge.key ]]; then
    say "creating /etc/munge/munge.key"
    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile=/etc/munge/munge.key
    else
        dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
    fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key

if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "munged already running"
else
    say "starting munged"
    runuser -u munge -- munged
    for _ in $(seq 50); do
        munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break
        sleep 0.2
    done
    munge -n | unmunge >/dev/null || die "munged did not start (see /var/log/munge/munged.log)"
fi

# --- slurm.conf --------------------------------------------------------------------------------
node=$(hostname -s)
# `slurmd -C` prints this machine's node line: NodeName=... CPUs=... RealMemory=...
hw=$(slurmd -C 2>/dev/null | head -n 1 || true)
cpus=$(sed -n 's/.*\bCPUs=\([0-9]\+\).*/\1/p' <<<"$hw")
mem=$(sed -n 's/.*\bRealMemory=\([0-9]\+\).*/\1/p' <<<"$hw")
topology=$(grep -o 'Boards=[0-9]* SocketsPerBoard=[0-9]* CoresPerSocket=[0-9]* ThreadsPerCore=[0-9]*' \
    <<<"$hw" || true)
[[ -n $cpus ]] || { cpus=$(nproc); topology=""; }
[[ -n $mem ]] || mem=$(free -m | awk '/^Mem:/ {print $2}')
[[ $cpus =~ ^[0-9]+$ && $mem =~ ^[0-9]+$ ]] || die "cannot read CPU count or memory"

new_conf=$(mktemp)
cat >"$new_conf" <<EOF
# Written by .ci/slurm.sh: a one-node cluster on this machine, for tests.
ClusterName=ci
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
SwitchType=switch/none
# no cgroups: works in containers and VMs without systemd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$CTLD_PID
SlurmdPidFile=$SLURMD_PID
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
SlurmctldPort=6817
SlurmdPort=6818
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=10
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$node CPUs=$cpus ${topology:+$topology }RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF

install -d -m 0755 "$CONF_DIR" "$LOG_DIR"
install -d -m 0755 /var/spool/slurmctld /var/spool/slurmd
conf_changed=0
if ! cmp -s "$new_conf" "$CONF"; then
    conf_changed=1
    install -m 0644 "$new_conf" "$CONF"
    say "wrote $CONF (node $node, $cpus CPUs, $mem MB)"
fi
rm -f "$new_conf"

# --- daemons -----------------------------------------------------------------------------------
# pid of a running daemon from its pid file, if that process is that daemon
running() {
    local pidfile=$1 name=$2 pid
    [[ -s $pidfile ]] || return 1
    pid=$(<"$pidfile")
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(<"/proc/$pid/comm") == "$name" ]] || return 1
    echo "$pid"
}

stop() {
    local pid
    pid=$(running "$1" "$2") || return 0
    say "stopping $2 (pid $pid): the config changed"
    kill "$pid"
    for _ in $(seq 100); do
        [[ -d /proc/$pid ]] || return 0
        sleep 0.1
    done
    die "$2 (pid $pid) did not stop"
}

if ((conf_changed)); then
    stop "$SLURMD_PID" slurmd
    stop "$CTLD_PID" slurmctld
fi

if pid=$(running "$CTLD_PID" slurmctld); then
    say "slurmctld already running (pid $pid)"
else
    say "starting slurmctld"
    slurmctld || die "slurmctld failed to start"
fi
if pid=$(running "$SLURMD_PID" slurmd); then
    say "slurmd already running (pid $pid)"
else
    say "starting slurmd"
    slurmd -N "$node" || die "slurmd failed to start"
fi

# --- wait for the node -------------------------------------------------------------------------
deadline=$((SECONDS + WAIT_S))
state=""
while ((SECONDS < deadline)); do
    state=$(sinfo -h -n "$node" -o %t 2>/dev/null | head -n 1 || true)
    case $state in
        idle | mix | alloc)
            say "cluster up: node $node is $state, partition debug"
            exit 0
            ;;
        drain* | down* | fail* | inval*)
            # a node that is down from an earlier run comes back once it registers again
            scontrol update NodeName="$node" State=RESUME >/dev/null 2>&1 || true
            ;;
    esac
    sleep 1
done
die "node $node not idle after ${WAIT_S}s (state: '${state:-no answer from slurmctld}'; $(
    scontrol show node "$node" 2>/dev/null | grep -o 'Reason=.*' || true))"
