// libheif builds its AV1 decoder's settings with dav1d_default_settings(), whose logger prints
// "Error parsing OBU data" and the like straight to stderr, a second line beside stylefilter's own
// error. libheif offers no way to set that logger, so the command exports its own
// dav1d_default_settings: the dynamic linker binds libheif's call to it, and it calls libdav1d's and
// replaces the logger. Nothing is linked against libdav1d; without its header this file is empty.
#define _GNU_SOURCE
#include "CDav1dLog.h"

#if __has_include(<dav1d/dav1d.h>)
#include <dav1d/dav1d.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static cdav1d_log_sink log_sink;

int cdav1d_log_to(cdav1d_log_sink sink) {
    __atomic_store_n(&log_sink, sink, __ATOMIC_RELEASE);
    return 0;
}

static void forward(void *cookie, const char *format, va_list arguments) {
    (void)cookie;
    char message[1024];
    vsnprintf(message, sizeof message, format, arguments);
    cdav1d_log_sink sink = __atomic_load_n(&log_sink, __ATOMIC_ACQUIRE);
    if (sink) sink(message);
}

__attribute__((visibility("default"))) void dav1d_default_settings(Dav1dSettings *settings) {
    static void (*library)(Dav1dSettings *);
    void (*next)(Dav1dSettings *) = __atomic_load_n(&library, __ATOMIC_ACQUIRE);
    if (!next) {
        next = (void (*)(Dav1dSettings *))dlsym(RTLD_NEXT, "dav1d_default_settings");
        // Only libdav1d's callers reach this, so libdav1d is loaded; without it the settings would
        // stay uninitialised.
        if (!next) abort();
        __atomic_store_n(&library, next, __ATOMIC_RELEASE);
    }
    next(settings);
    if (__atomic_load_n(&log_sink, __ATOMIC_ACQUIRE)) {
        settings->logger.cookie = NULL;
        settings->logger.callback = forward;
    }
}
#else
int cdav1d_log_to(cdav1d_log_sink sink) {
    (void)sink;
    return -1;
}
#endif
