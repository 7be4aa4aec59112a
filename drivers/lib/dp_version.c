#include "dp_version.h"

const char *dp_version(void) { return "postern-dp 0.1.0"; }
