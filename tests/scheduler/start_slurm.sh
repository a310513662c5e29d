#!/usr/bin/env bash
# Start a real one-node Slurm (slurm-wlm + munge) on a Debian test machine, as root.
# Idempotent: installs the packages only if missing, starts only the daemons not already running,
# and leaves running daemons alone. Recipe: shared/notes/local-slurm.md.
# Usage: tests/scheduler/start_slurm.sh   (then: pytest -m slurm)
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
    echo "start_slurm.sh: must run as root (it installs packages and starts daemons)" >&2
    exit 1
fi

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq slurm-wlm munge >/dev/null
fi

mkdir -p /etc/munge /var/log/munge /run/munge /var/lib/munge \
    /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /etc/slurm
[ -f /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
chown -R munge:munge /etc/munge /var/log/munge /run/munge /var/lib/munge
chmod 400 /etc/munge/munge.key

if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged
fi

H=$(hostname -s)
if ! grep -q "^NodeName=$H " /etc/slurm/slurm.conf 2>/dev/null; then
    CPUS=$(nproc)
    MEM=$(free -m | awk '/Mem/{print int($2*0.8)}')
    cat > /etc/slurm/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=$H
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$H CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
fi

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
running /run/slurmctld.pid || slurmctld
running /run/slurmd.pid || slurmd

# Wait (up to 30 s) until the node accepts jobs.
for _ in $(seq 60); do
    state=$(sinfo -h -N -o '%t' 2>/dev/null | head -1 || true)
    case "$state" in
        idle*|mix*|alloc*) sinfo; exit 0 ;;
    esac
    sleep 0.5
done
echo "start_slurm.sh: Slurm did not become ready; see /var/log/slurm/*.log" >&2
sinfo >&2 || true
exit 1
