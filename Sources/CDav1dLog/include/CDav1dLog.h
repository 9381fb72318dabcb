#ifndef CDAV1DLOG_H
#define CDAV1DLOG_H

/// Receives one message of libdav1d (the AV1 decoder libheif runs for AVIF), formatted, with its line break.
typedef void (*cdav1d_log_sink)(const char *message);

/// Sends the messages of every libdav1d decoder created from now on to `sink` instead of libdav1d's
/// default logger, which prints them on stderr itself. Takes effect only in an executable that exports
/// `dav1d_default_settings` (the command's target does) and whose libheif decodes AV1 with libdav1d.
/// Returns 0, or -1 when this build has no libdav1d header (nothing is redirected then).
int cdav1d_log_to(cdav1d_log_sink sink);

#endif
