#ifndef CVIPSSHIM_H
#define CVIPSSHIM_H
#include <vips/vips.h>

/// VIPS_INIT with its ABI check (a macro, so Swift cannot call it directly).
int cvips_init(const char *argv0);

/// Fundamental GTypes (G_TYPE_* are function-like macros Swift cannot see).
GType cvips_type_int(void);
GType cvips_type_double(void);
GType cvips_type_boolean(void);
GType cvips_type_string(void);

/// Called with the percentage done while an image is being computed.
typedef void (*cvips_progress_fn)(int percent, void *user_data);

/// Connects `fn` to the image's "eval" signal (g_signal_connect is a macro) and turns progress
/// reporting on for it. `user_data` must outlive the image.
void cvips_image_on_progress(VipsImage *image, cvips_progress_fn fn, void *user_data);

/// Computes the rectangle (left, top, width, height) of `image` through a libvips region and copies
/// its band-interleaved rows contiguously into `out` (`out_size` bytes, exactly the rectangle's
/// size). Only that part of the pipeline is evaluated. Returns 0, or -1 with libvips' error buffer set.
/// (VIPS_REGION_ADDR and VIPS_REGION_LSKIP are macros, hence the shim.)
int cvips_region_read(VipsImage *image, int left, int top, int width, int height, void *out, size_t out_size);

/// A file descriptor a saver writes into (and, for TIFF, reads back and seeks in), keeping the errno
/// of the first failed system call so that a full disk is told apart from an encoder error.
typedef struct {
    int fd;
    int error;
} cvips_descriptor_sink;

/// A custom libvips target over `sink` (its signals are connected here: g_signal_connect is a macro).
/// `sink` must outlive the target.
VipsTarget *cvips_target_new_to_sink(cvips_descriptor_sink *sink);

#endif
