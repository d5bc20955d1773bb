// Non-variadic wrappers around the parts of libvips that GlimpseImage uses.
//
// libvips's operations take their optional arguments as a NULL-terminated
// variadic list, which Swift cannot call. Each function here fixes the options
// we need and returns plain values, so Swift never touches varargs.
#ifndef GLIMPSE_CVIPSSHIM_H
#define GLIMPSE_CVIPSSHIM_H

#include <stddef.h>
#include <vips/vips.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The loaders GlimpseImage accepts. Anything else libvips could open
/// (ImageMagick, PDF, SVG, FITS, ...) is reported as GLIMPSE_FORMAT_OTHER and
/// refused by the caller: fewer parsers exposed to untrusted files.
typedef enum {
    GLIMPSE_FORMAT_UNKNOWN = 0,
    GLIMPSE_FORMAT_JPEG = 1,
    GLIMPSE_FORMAT_PNG = 2,
    GLIMPSE_FORMAT_WEBP = 3,
    GLIMPSE_FORMAT_GIF = 4,
    GLIMPSE_FORMAT_TIFF = 5,
    GLIMPSE_FORMAT_HEIF = 6,
    GLIMPSE_FORMAT_OTHER = 7
} GlimpseFormat;

/// Initialises libvips once per process (safe to call from many threads; later
/// calls return the first result). Turns the operation cache off (every image
/// is read once) and sets libvips's own thread pool to one thread, since
/// callers parallelise across images. Returns 0 on success.
int glimpse_vips_init(void);

/// Which loader libvips would pick for these bytes (sniffed, not by name).
GlimpseFormat glimpse_vips_format_of_buffer(const void *data, size_t length);

/// Opens an image from memory, reading only its header; pixels are decoded
/// later through a region (glimpse_vips_region_fetch). The buffer must stay alive until the image is
/// released. `shrink` (1, 2, 4 or 8) is used only for JPEG (libjpeg DCT
/// scaling). Loads are sequential, first page/frame only, and fail on
/// truncated data. Returns 0 on success, -1 on failure (see
/// glimpse_vips_take_error).
int glimpse_vips_load_buffer(const void *data, size_t length, GlimpseFormat format,
                             int shrink, VipsImage **out);

/// Header facts of an opened image.
int glimpse_vips_width(VipsImage *image);
int glimpse_vips_height(VipsImage *image);
int glimpse_vips_bands(VipsImage *image);
/// VipsBandFormat as an int (0 = uchar, 2 = ushort, ...).
int glimpse_vips_band_format(VipsImage *image);
/// Non-zero when the image is CMYK (needs a colour transform to sRGB).
int glimpse_vips_is_cmyk(VipsImage *image);
/// EXIF orientation 1...8 (1 when absent or invalid). When the image has no
/// EXIF orientation, `*has_tag` is 0.
int glimpse_vips_orientation(VipsImage *image, int *has_tag);
/// The XMP packet if present (not NUL-terminated), else NULL.
const void *glimpse_vips_xmp(VipsImage *image, size_t *length);

/// Converts to 8-bit sRGB (CMYK through an ICC transform, other unusual
/// formats through a clamping cast). Returns 0 on success.
int glimpse_vips_to_srgb8(VipsImage *in, VipsImage **out);
/// Casts any band format to uchar with clamping. Returns 0 on success.
int glimpse_vips_cast_uchar(VipsImage *in, VipsImage **out);

/// Frees strings returned by this shim (g_free).
void glimpse_vips_free(void *buffer);

/// Row-by-row access, so pixels can be converted straight from libvips's buffers
/// without a full-size intermediate copy. Rows must be requested top to bottom
/// (loads are sequential). Decoding runs in the calling thread.
VipsRegion *glimpse_vips_region_new(VipsImage *image);
/// Makes rows [top, top + height) available: `*data` points at the first sample of
/// row `top`, rows are `*stride` bytes apart. Valid until the next call. Returns 0
/// on success, -1 on a decode error.
int glimpse_vips_region_fetch(VipsRegion *region, int top, int height,
                              const unsigned char **data, size_t *stride);
void glimpse_vips_region_release(VipsRegion *region);
void glimpse_vips_release(VipsImage *image);

/// Copies and clears libvips's error buffer. The buffer is process-wide, so
/// under concurrency it may also hold other threads' messages; it is used for
/// human-readable detail only. Free with glimpse_vips_free.
char *glimpse_vips_take_error(void);

/// Encodes a thumbnail of 8-bit interleaved RGB pixels as a JPEG: scaled down (Lanczos) so the longest side is
/// at most `max_side` (never up), progressive, metadata stripped. `*out` is g_malloc'd (free with
/// glimpse_vips_free). Returns 0 on success, -1 on failure (see glimpse_vips_take_error).
int glimpse_vips_rgb_to_jpeg_thumbnail(const unsigned char *rgb, int width, int height, int max_side,
                                       int quality, void **out, size_t *length);

/// Renders an SVG document (Glimpse's own charts; librsvg through libvips) to PNG at `dpi` (72 = one pixel per
/// SVG unit). `*out` is g_malloc'd (free with glimpse_vips_free). Returns 0 on success, -1 on failure.
int glimpse_vips_svg_to_png(const char *svg, size_t svg_length, double dpi, void **out, size_t *length);

/// Opens only an image file's header (no pixels are decoded) for its metadata; release with glimpse_vips_release.
int glimpse_vips_open_header(const char *path, VipsImage **out);
/// A metadata field as text (e.g. "exif-ifd0-Make"), malloc'd (free with glimpse_vips_free); NULL when absent.
char *glimpse_vips_field_string(VipsImage *image, const char *name);

#ifdef __cplusplus
}
#endif

#endif
