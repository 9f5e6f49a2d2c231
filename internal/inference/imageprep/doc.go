// Package imageprep turns the bytes of one photo into the float32 NHWC tensor a classifier
// expects, with the same semantics as the TensorFlow pipeline the model was trained for.
//
// Steps:
//
//  1. The format is sniffed from the leading bytes, never from a file name. JPEG, PNG, WebP
//     (lossy, lossless, alpha; golang.org/x/image/webp), GIF (the first frame on its canvas) and
//     BMP are decoded; HEIC, AVIF, TIFF and JPEG XL are refused per image with an error naming
//     the format and how to convert it; anything else is not an image.
//  2. The dimensions are read from the header before any pixel is decoded and images above
//     Options.MaxPixels (default 100 megapixels) are refused, so a small file that declares a
//     30000×30000 canvas costs nothing. The EXIF orientation (JPEG APP1, PNG eXIf, WebP EXIF)
//     is read with the header.
//  3. Pixels become 8-bit RGB the way TensorFlow's decoders with channels=3 do: grey is
//     replicated to three channels, palettes are expanded, 16-bit samples keep their high byte,
//     and alpha is dropped (not composited): a transparent pixel contributes the colour stored
//     under it, as in TensorFlow. CMYK JPEGs are converted as djpeg does.
//     Unless Options.IgnoreOrientation is set, the EXIF orientation is applied first: the resize
//     reads the upright image (TensorFlow's decoders ignore orientation; models whose pipeline
//     did so select that through their archive's cspipe.json).
//  4. The image is resized to the model's input with tf.image.resize's bilinear semantics
//     (half_pixel_centers=True, antialias=False): output pixel d samples source coordinate
//     (d+0.5)·(in/out)−0.5, the lower neighbour clamped at 0 and the upper one at in−1, with the
//     arithmetic done in float32 in TensorFlow's order. Only the source pixels that the resize
//     reads are ever converted to RGB.
//  5. Values are scaled to the model's input range: [0,1] by default (v/255, what TF Hub
//     MobileNet models expect) or [-1,1] (v/127.5−1).
//
// The codelab's Python feeds the model 0–255 floats: it resizes first (which yields float32) and
// then calls tf.image.convert_image_dtype, which is a no-op when the input is already float. We
// feed [0,1] instead, which is what the TF Hub MobileNet models document; a model trained on
// [-1,1] inputs selects that range through its archive metadata.
//
// JPEG pixels are libjpeg-turbo's, the library TensorFlow's decode_jpeg uses, at its defaults
// (integer islow IDCT, interpolated "fancy" chroma upsampling): our decoder reproduces them bit
// for bit. Go's image/jpeg replicates chroma instead and rounds differently: on the sample
// photos it differs from libjpeg by 0.37 levels on average and up to 19 at sharp colour edges.
// The fast path's tensor differs from the exact one by 0.005–0.02 on average (on the [0,1]
// scale; up to 0.46 at single high-detail pixels, since a block mean is an area average where
// the exact resize samples two pixels).
//
// JPEG decoding has three paths. The exact path (default) is this repository's own decoder
// (package jpegdec), which handles every layout libjpeg-turbo decodes: it entropy-decodes every
// scan but keeps coefficients, runs the inverse DCT and converts colour only for the blocks the
// resize reads, so memory stays bounded (a bit mask per block plus the sampled blocks) and the
// pixels equal libjpeg-turbo's. The fast path (Options.Fast) decodes only the DC coefficient of
// each block, an 1/8-scale image, when that is still at least as large as the model input, and
// resizes from it; it skips the AC scans of progressive files entirely, and falls back to the
// exact path (never to image/jpeg) if it cannot serve a file. The standard-library path
// (image/jpeg) runs only when Options.Stdlib asks for it. What our decoder refuses (12-bit,
// lossless, hierarchical, fractional sampling) libjpeg-turbo and image/jpeg refuse as well.
//
// PNG: non-interlaced files are streamed, inflating and unfiltering one row at a time and
// converting only the rows and columns the resize reads, so memory follows the output size, not
// the photo's (the pixels are image/png's, bit for bit). Interlaced files, and WebP, GIF and BMP,
// are decoded whole (within the pixel limit).
package imageprep
