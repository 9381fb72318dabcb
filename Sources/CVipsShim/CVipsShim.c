#include "CVipsShim.h"
#include <string.h>

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
