/* A rank started by mpirun (or its per-node daemon) ends when that launcher ends. When mpirun
 * is killed outright (SIGKILL: no chance to stop its ranks) the ranks would otherwise run on as
 * orphans, still writing the job's temporary outputs while a resumed run starts on them. */
#ifndef AF_LAUNCHER_WATCH_H
#define AF_LAUNCHER_WATCH_H

/* Ask the kernel to kill this process if its parent is an MPI launcher and exits first. Under
 * srun (the parent is slurmstepd) or run as one process (the parent is a shell), nothing. */
void af_die_with_launcher(void);

#endif
