// Non-variadic wrappers around libvips; see include/CVipsShim.h.
#include "CVipsShim.h"

#include <pthread.h>
#include <string.h>

static pthread_once_t glimpse_once = PTHREAD_ONCE_INIT;
static int glimpse_init_result = -1;

static void glimpse_ignore_log(const gchar *domain, GLogLevelFlags level,
                               const gchar *message, gpointer data) {
    (void)domain; (void)level; (void)message; (void)data;
}

static void glimpse_init_once(void) {
    // Damaged files are reported through the returned errors; libvips's own
    // g_warning lines ("error in tile 0 x 24") would only clutter the terminal.
    // Set GLIMPSE_VIPS_WARNINGS=1 to see them.
    if (g_getenv("GLIMPSE_VIPS_WARNINGS") == NULL) {
        g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE, glimpse_ignore_log, NULL);
    }
    if (VIPS_INIT("glimpse") != 0) {
        glimpse_init_result = -1;
        return;
    }
    // Each image is opened once: caching operations only costs memory.
    vips_cache_set_max(0);
    vips_cache_set_max_mem(0);
    vips_cache_set_max_files(0);
    // Callers decode many images in parallel; libvips's own worker pool per
    // image would only oversubscribe the cores.
    vips_concurrency_set(1);
    glimpse_init_result = 0;
}

int glimpse_vips_init(void) {
    pthread_once(&glimpse_once, glimpse_init_once);
    return glimpse_init_result;
}

GlimpseFormat glimpse_vips_format_of_buffer(const void *data, size_t length) {
    const char *loader = vips_foreign_find_load_buffer(data, length);
    if (loader == NULL) {
        vips_error_clear();
        return GLIMPSE_FORMAT_UNKNOWN;
    }
    if (strcmp(loader, "VipsForeignLoadJpegBuffer") == 0) return GLIMPSE_FORMAT_JPEG;
    if (strcmp(loader, "VipsForeignLoadPngBuffer") == 0) return GLIMPSE_FORMAT_PNG;
    if (strcmp(loader, "VipsForeignLoadWebpBuffer") == 0) return GLIMPSE_FORMAT_WEBP;
    if (strcmp(loader, "VipsForeignLoadNsgifBuffer") == 0) return GLIMPSE_FORMAT_GIF;
    if (strcmp(loader, "VipsForeignLoadGifBuffer") == 0) return GLIMPSE_FORMAT_GIF;
    if (strcmp(loader, "VipsForeignLoadTiffBuffer") == 0) return GLIMPSE_FORMAT_TIFF;
    if (strcmp(loader, "VipsForeignLoadHeifBuffer") == 0) return GLIMPSE_FORMAT_HEIF;
    return GLIMPSE_FORMAT_OTHER;
}

int glimpse_vips_load_buffer(const void *data, size_t length, GlimpseFormat format,
                             int shrink, VipsImage **out) {
    // The loaders read `data` in place (no copy), so the caller keeps it alive.
    void *buf = (void *)data;
    *out = NULL;
    switch (format) {
    case GLIMPSE_FORMAT_JPEG:
        if (shrink != 1 && shrink != 2 && shrink != 4 && shrink != 8) shrink = 1;
        return vips_jpegload_buffer(buf, length, out,
                                    "shrink", shrink,
                                    "access", VIPS_ACCESS_SEQUENTIAL,
                                    "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
    case GLIMPSE_FORMAT_PNG:
        return vips_pngload_buffer(buf, length, out,
                                   "access", VIPS_ACCESS_SEQUENTIAL,
                                   "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
    case GLIMPSE_FORMAT_WEBP:
        return vips_webpload_buffer(buf, length, out,
                                    "access", VIPS_ACCESS_SEQUENTIAL,
                                    "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
    case GLIMPSE_FORMAT_GIF:
        return vips_gifload_buffer(buf, length, out,
                                   "access", VIPS_ACCESS_SEQUENTIAL,
                                   "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
    case GLIMPSE_FORMAT_TIFF:
        return vips_tiffload_buffer(buf, length, out,
                                    "access", VIPS_ACCESS_SEQUENTIAL,
                                    "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
    case GLIMPSE_FORMAT_HEIF:
        // libheif (through libvips 8.14) always applies the container's
        // irot/imir transforms; HEIF viewers ignore any EXIF orientation, so the
        // caller does too.
        return vips_heifload_buffer(buf, length, out,
                                    "access", VIPS_ACCESS_SEQUENTIAL,
                                    "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL);
    default:
        vips_error("glimpse", "unsupported format");
        return -1;
    }
}

int glimpse_vips_width(VipsImage *image) { return vips_image_get_width(image); }
int glimpse_vips_height(VipsImage *image) { return vips_image_get_height(image); }
int glimpse_vips_bands(VipsImage *image) { return vips_image_get_bands(image); }
int glimpse_vips_band_format(VipsImage *image) { return (int)vips_image_get_format(image); }

int glimpse_vips_is_cmyk(VipsImage *image) {
    return vips_image_get_interpretation(image) == VIPS_INTERPRETATION_CMYK &&
           vips_image_get_bands(image) >= 4;
}

int glimpse_vips_orientation(VipsImage *image, int *has_tag) {
    int value = 1;
    if (vips_image_get_typeof(image, VIPS_META_ORIENTATION) != 0 &&
        vips_image_get_int(image, VIPS_META_ORIENTATION, &value) == 0) {
        *has_tag = 1;
    } else {
        *has_tag = 0;
        vips_error_clear();
        value = 1;
    }
    if (value < 1 || value > 8) value = 1;
    return value;
}

const void *glimpse_vips_xmp(VipsImage *image, size_t *length) {
    const void *data = NULL;
    *length = 0;
    if (vips_image_get_typeof(image, VIPS_META_XMP_NAME) == 0) return NULL;
    if (vips_image_get_blob(image, VIPS_META_XMP_NAME, &data, length) != 0) {
        vips_error_clear();
        *length = 0;
        return NULL;
    }
    return data;
}

int glimpse_vips_to_srgb8(VipsImage *in, VipsImage **out) {
    VipsImage *srgb = NULL;
    *out = NULL;
    if (vips_colourspace(in, &srgb, VIPS_INTERPRETATION_sRGB, NULL) != 0) return -1;
    if (vips_image_get_format(srgb) == VIPS_FORMAT_UCHAR) {
        *out = srgb;
        return 0;
    }
    int result = vips_cast_uchar(srgb, out, NULL);
    g_object_unref(srgb);
    return result;
}

int glimpse_vips_cast_uchar(VipsImage *in, VipsImage **out) {
    *out = NULL;
    return vips_cast_uchar(in, out, NULL);
}

void glimpse_vips_free(void *buffer) { g_free(buffer); }

VipsRegion *glimpse_vips_region_new(VipsImage *image) {
    return vips_region_new(image);
}

int glimpse_vips_region_fetch(VipsRegion *region, int top, int height,
                              const unsigned char **data, size_t *stride) {
    VipsRect rect = { 0, top, vips_image_get_width(region->im), height };
    *data = NULL;
    *stride = 0;
    if (vips_region_prepare(region, &rect) != 0) return -1;
    *data = (const unsigned char *)VIPS_REGION_ADDR(region, 0, top);
    *stride = (size_t)VIPS_REGION_LSKIP(region);
    return 0;
}

void glimpse_vips_region_release(VipsRegion *region) {
    if (region != NULL) g_object_unref(region);
}

void glimpse_vips_release(VipsImage *image) {
    if (image != NULL) g_object_unref(image);
}

char *glimpse_vips_take_error(void) {
    char *message = vips_error_buffer_copy();  // also clears the buffer
    return message;
}

int glimpse_vips_rgb_to_jpeg_thumbnail(const unsigned char *rgb, int width, int height, int max_side,
                                       int quality, void **out, size_t *length) {
    *out = NULL;
    *length = 0;
    if (width < 1 || height < 1 || max_side < 1) return -1;
    if (glimpse_vips_init() != 0) return -1;  // may be the process's first libvips call
    VipsImage *image = vips_image_new_from_memory(rgb, (size_t)width * (size_t)height * 3, width, height, 3,
                                                  VIPS_FORMAT_UCHAR);
    if (image == NULL) return -1;
    int longest = width > height ? width : height;
    VipsImage *resized = NULL;
    int result;
    if (longest > max_side) {
        result = vips_resize(image, &resized, (double)max_side / (double)longest, NULL);
    } else {
        result = vips_copy(image, &resized, NULL);
    }
    g_object_unref(image);
    if (result != 0) return -1;
    result = vips_jpegsave_buffer(resized, out, length, "Q", quality, "strip", TRUE,
                                  "optimize_coding", TRUE, "interlace", TRUE, NULL);
    g_object_unref(resized);
    return result;
}

int glimpse_vips_svg_to_png(const char *svg, size_t svg_length, double dpi, void **out, size_t *length) {
    *out = NULL;
    *length = 0;
    if (glimpse_vips_init() != 0) return -1;
    VipsImage *image = NULL;
    if (vips_svgload_buffer((void *)svg, svg_length, &image, "dpi", dpi, NULL) != 0) return -1;
    int result = vips_pngsave_buffer(image, out, length, "compression", 9, NULL);
    g_object_unref(image);
    return result;
}

int glimpse_vips_open_header(const char *path, VipsImage **out) {
    *out = vips_image_new_from_file(path, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
    return *out == NULL ? -1 : 0;
}

char *glimpse_vips_field_string(VipsImage *image, const char *name) {
    if (vips_image_get_typeof(image, name) == 0) return NULL;
    char *text = NULL;
    if (vips_image_get_as_string(image, name, &text) != 0) { vips_error_clear(); return NULL; }
    return text;  // g_malloc'd; g_free == free with the system allocator glib uses
}
