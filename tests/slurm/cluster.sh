# A private single-node Slurm for the tests, started by hand from Debian's packages (no
# systemd): munged with its own key and socket, slurmctld and slurmd with their own config,
# ports, state and logs, all under $AF_TMP/slurm. Clients find it through SLURM_CONF.
# slurm_start installs what is missing; slurm_stop (set as an EXIT trap) ends exactly the
# daemons it started, by their pids.

SLURM_DIR=$AF_TMP/slurm

slurm_require() {
    require_cmd munged munge
    require_cmd slurmctld slurmctld
    require_cmd slurmd slurmd
    require_cmd sbatch slurm-client
}

# A TCP port nobody listens on (bash's /dev/tcp connect fails) from a pid-dependent start, so
# concurrent test runs in other build trees do not collide.
free_port() {
    local p=$1
    while (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; do
        p=$((p + 1))
    done
    echo "$p"
}

write_slurm_conf() {
    local host ctld_port slurmd_port
    host=$(hostname -s)
    ctld_port=$(free_port $((20000 + ($$ % 2000) * 4)))
    slurmd_port=$(free_port $((ctld_port + 1)))
    cat >"$SLURM_DIR/slurm.conf" <<CONF
ClusterName=aftest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SLURM_DIR/run/munge.sock,cred_expire=5
StateSaveLocation=$SLURM_DIR/state
SlurmdSpoolDir=$SLURM_DIR/spool
SlurmctldPidFile=$SLURM_DIR/run/slurmctld.pid
SlurmdPidFile=$SLURM_DIR/run/slurmd.pid
SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
SlurmdLogFile=$SLURM_DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/affinity
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=1,bf_interval=1
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
KillWait=3
MinJobAge=300
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
}

slurm_stop() {
    local name pid
    [ -n "${SLURM_CONF:-}" ] && [ -f "$SLURM_DIR/run/slurmctld.pid" ] &&
        scancel --quiet --user="$(id -un)" 2>/dev/null || true
    for name in slurmd slurmctld munged; do
        [ -f "$SLURM_DIR/run/$name.pid" ] || continue
        pid=$(cat "$SLURM_DIR/run/$name.pid")
        kill "$pid" 2>/dev/null || continue
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
}

slurm_start() {
    slurm_require
    mkdir -p "$SLURM_DIR"/{etc,run,state,spool,log}
    chmod 755 "$SLURM_DIR" "$SLURM_DIR/run"
    chmod 700 "$SLURM_DIR/etc"
    dd if=/dev/urandom of="$SLURM_DIR/etc/munge.key" bs=1024 count=1 status=none
    chmod 400 "$SLURM_DIR/etc/munge.key"
    munged --socket="$SLURM_DIR/run/munge.sock" --key-file="$SLURM_DIR/etc/munge.key" \
        --pid-file="$SLURM_DIR/run/munged.pid" --seed-file="$SLURM_DIR/etc/munge.seed" \
        --log-file="$SLURM_DIR/log/munged.log" || fail "munged did not start: $(tail -3 "$SLURM_DIR/log/munged.log")"
    write_slurm_conf
    export SLURM_CONF=$SLURM_DIR/slurm.conf
    slurmctld -f "$SLURM_CONF" || fail "slurmctld did not start"
    slurmd -f "$SLURM_CONF" || fail "slurmd did not start"
    local i
    for i in $(seq 100); do
        sinfo -h -o %T 2>/dev/null | grep -qx idle && return 0
        sleep 0.2
    done
    fail "the node did not come up: $(sinfo 2>&1; tail -5 "$SLURM_DIR/log/slurmctld.log" "$SLURM_DIR/log/slurmd.log")"
}

# job_state ID: its state as slurmctld tells it (COMPLETED, FAILED, PENDING, ...).
job_state() {
    scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -1
}
