/* The data plane's identity: lets JavaScript check it loaded the driver it was built with. */
#ifndef POSTERN_DP_VERSION_H
#define POSTERN_DP_VERSION_H

#define POSTERN_DP_ABI 1

const char *dp_version(void);

#endif
