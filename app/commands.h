/* The annforest commands. Each lives in app/cmd_NAME.c, takes the arguments after its name,
 * runs on every rank (MPI is initialised by main) and returns the process exit status
 * (enum af_exit_code). A command reports a failure through af_report_error() exactly once. */
#ifndef AF_COMMANDS_H
#define AF_COMMANDS_H

typedef struct af_command {
    const char *name;
    const char *summary; /* one line for `annforest --help` */
    const char *usage;   /* the full text for `annforest NAME --help` */
    int (*run)(int argc, char **argv);
} af_command;

extern const af_command af_cmd_info;
extern const af_command af_cmd_validate;
extern const af_command af_cmd_convert;
extern const af_command af_cmd_build;
extern const af_command af_cmd_query;
extern const af_command af_cmd_run;
extern const af_command af_cmd_exact;
extern const af_command af_cmd_bench;

#endif
