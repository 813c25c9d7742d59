#include "horae_build_info.h"

#ifndef HORAE_GIT_COMMIT
#define HORAE_GIT_COMMIT "unknown"
#endif

const char *horae_git_commit(void) { return HORAE_GIT_COMMIT; }
