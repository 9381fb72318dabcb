#ifndef CVIPSSHIM_H
#define CVIPSSHIM_H
#include <vips/vips.h>

/// VIPS_INIT with its ABI check (a macro, so Swift cannot call it directly).
int cvips_init(const char *argv0);

#endif
