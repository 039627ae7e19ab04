#!/usr/bin/env bash
# A one-node Slurm on this machine for `make test-slurm` (Debian/Ubuntu,
# as root): installs slurm-wlm and munge from the distribution when
# missing, writes a minimal /etc/slurm/slurm.conf (this host as controller
# and the only node, its CPUs and memory as `slurmd -C` reports them,
# no accounting), and starts munged, slurmctld and slurmd unless running.
# Leaves an existing slurm.conf alone (a real cluster's).
set -euo pipefail

if ! command -v slurmctld > /dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slurm-wlm munge
fi
host=$(hostname -s)
if [[ ! -f /etc/slurm/slurm.conf ]]; then
  node=$(slurmd -C | head -1)
  cat > /etc/slurm/slurm.conf <<EOF
# Written by scripts/slurm-single-node.sh: one node, for tests.
ClusterName=reluverify-test
SlurmctldHost=$host
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmctldLogFile=/var/log/slurmctld.log
SlurmdLogFile=/var/log/slurmd.log
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
$node State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
fi
mkdir -p /var/spool/slurmd /var/spool/slurmctld /run/munge
chown slurm: /var/spool/slurmctld 2> /dev/null || true
chown munge: /run/munge 2> /dev/null || true
pgrep -x munged > /dev/null || runuser -u munge -- /usr/sbin/munged
pgrep -x slurmctld > /dev/null || slurmctld
pgrep -x slurmd > /dev/null || slurmd
for _ in $(seq 30); do
  if sinfo -h -o '%T' 2> /dev/null | grep -qE '^(idle|mixed|allocated)'; then
    sinfo
    exit 0
  fi
  sleep 1
done
echo "slurm-single-node: the node did not come up; see /var/log/slurmctld.log and /var/log/slurmd.log" >&2
exit 1
