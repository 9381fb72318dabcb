#include "CVipsShim.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>

int cvips_init(const char *argv0) { return VIPS_INIT(argv0); }

GType cvips_type_int(void) { return G_TYPE_INT; }
GType cvips_type_double(void) { return G_TYPE_DOUBLE; }
GType cvips_type_boolean(void) { return G_TYPE_BOOLEAN; }
GType cvips_type_string(void) { return G_TYPE_STRING; }

typedef struct {
    cvips_progress_fn fn;
    void *user_data;
} cvips_progress_closure;

static void cvips_eval(VipsImage *image, VipsProgress *progress, void *data) {
    (void)image;
    cvips_progress_closure *closure = data;
    closure->fn(progress->percent, closure->user_data);
}

static void cvips_progress_free(gpointer data, GClosure *closure) {
    (void)closure;
    g_free(data);
}

void cvips_image_on_progress(VipsImage *image, cvips_progress_fn fn, void *user_data) {
    cvips_progress_closure *closure = g_new(cvips_progress_closure, 1);
    closure->fn = fn;
    closure->user_data = user_data;
    vips_image_set_progress(image, TRUE);
    g_signal_connect_data(image, "eval", G_CALLBACK(cvips_eval), closure, cvips_progress_free, 0);
}

int cvips_region_read(VipsImage *image, int left, int top, int width, int height, void *out, size_t out_size) {
    size_t line = (size_t)width * VIPS_IMAGE_SIZEOF_PEL(image);
    if (width <= 0 || height <= 0 || line * (size_t)height != out_size) {
        vips_error("cvips_region_read", "%s", "bad rectangle or buffer size");
        return -1;
    }
    VipsRegion *region = vips_region_new(image);
    if (!region) return -1;
    VipsRect rect = {left, top, width, height};
    if (vips_region_prepare(region, &rect)) {
        g_object_unref(region);
        return -1;
    }
    /* prepare clips to the image: the whole rectangle must have been inside it. */
    if (region->valid.left != left || region->valid.top != top || region->valid.width != width ||
        region->valid.height != height) {
        g_object_unref(region);
        vips_error("cvips_region_read", "%s", "rectangle outside the image");
        return -1;
    }
    for (int y = 0; y < height; y++)
        memcpy((VipsPel *)out + (size_t)y * line, VIPS_REGION_ADDR(region, left, top + y), line);
    g_object_unref(region);
    return 0;
}

static gint64 cvips_sink_write(VipsTargetCustom *target, const void *data, gint64 length, cvips_descriptor_sink *sink) {
    (void)target;
    gint64 done = 0;
    while (done < length) {
        ssize_t written = write(sink->fd, (const char *)data + done, (size_t)(length - done));
        if (written < 0) {
            if (errno == EINTR) continue;
            if (!sink->error) sink->error = errno;
            return -1;
        }
        done += written;
    }
    return done;
}

static gint64 cvips_sink_read(VipsTargetCustom *target, void *data, gint64 length, cvips_descriptor_sink *sink) {
    (void)target;
    ssize_t count;
    do count = read(sink->fd, data, (size_t)length);
    while (count < 0 && errno == EINTR);
    if (count < 0 && !sink->error) sink->error = errno;
    return count;
}

static gint64 cvips_sink_seek(VipsTargetCustom *target, gint64 offset, int whence, cvips_descriptor_sink *sink) {
    (void)target;
    off_t position = lseek(sink->fd, (off_t)offset, whence);
    if (position < 0 && !sink->error) sink->error = errno;
    return position;
}

static int cvips_sink_end(VipsTargetCustom *target, cvips_descriptor_sink *sink) {
    (void)target;
    (void)sink;
    return 0;
}

VipsTarget *cvips_target_new_to_sink(cvips_descriptor_sink *sink) {
    VipsTargetCustom *target = vips_target_custom_new();
    if (!target) return NULL;
    g_signal_connect(target, "write", G_CALLBACK(cvips_sink_write), sink);
    g_signal_connect(target, "read", G_CALLBACK(cvips_sink_read), sink);
    g_signal_connect(target, "seek", G_CALLBACK(cvips_sink_seek), sink);
    g_signal_connect(target, "end", G_CALLBACK(cvips_sink_end), sink);
    return VIPS_TARGET(target);
}
