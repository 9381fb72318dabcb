#include "CVipsShim.h"

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
