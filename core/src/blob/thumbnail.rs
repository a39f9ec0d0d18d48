//! Small previews of photos, made on the device that takes them: decoded, turned upright by
//! their EXIF orientation, shrunk to fit [`SIDE`] pixels (never enlarged), saved as JPEG.

use std::io::{BufRead, Seek};

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageReader};

/// The longest side of a thumbnail, in pixels.
pub const SIDE: u32 = 256;

/// Whether a preview can be made of this kind (HEIC cannot be decoded here: HEIC photos have
/// none, and lists show their initials).
pub fn can_preview(media_type: &str) -> bool {
    matches!(
        media_type,
        "image/jpeg" | "image/png" | "image/gif" | "image/webp"
    )
}

/// The most pixels a side of a picture may have to get a preview.
const MAX_SIDE: u32 = 16_384;

/// The most bytes a picture may take once decoded to get a preview (a 64-megapixel photo in
/// RGBA): a file's header names its size, and a few bytes may claim billions of pixels.
const MAX_DECODED: u64 = 256 * 1024 * 1024;

/// The JPEG preview of the image read from `reader`; `None` if it does not decode, or if it
/// would take more than [`MAX_DECODED`] bytes in memory.
pub fn make(reader: impl BufRead + Seek) -> Option<Vec<u8>> {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_DECODED);
    let mut reader = ImageReader::new(reader).with_guessed_format().ok()?;
    reader.limits(limits);
    let mut decoder = reader.into_decoder().ok()?;
    if decoder.total_bytes() > MAX_DECODED {
        return None;
    }
    let orientation = decoder.orientation().ok()?;
    let mut image = DynamicImage::from_decoder(decoder).ok()?;
    image.apply_orientation(orientation);
    // `thumbnail` would enlarge a smaller picture to fit: a small one keeps its size.
    let small = if image.width() <= SIDE && image.height() <= SIDE {
        image.to_rgb8()
    } else {
        image.thumbnail(SIDE, SIDE).to_rgb8()
    };
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&small)
        .ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage};

    fn png(image: RgbImage) -> Vec<u8> {
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(image)
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_picture_claiming_billions_of_pixels_gets_no_preview() {
        // 98 bytes of PNG whose header claims 4 x 788,529,156 pixels (found by the fuzz target).
        let bytes = include_bytes!("../../fuzz/regressions/blob_sniff/oom-png-huge-dimensions");
        assert_eq!(make(std::io::Cursor::new(&bytes[..])), None);
    }

    #[test]
    fn a_preview_fits_and_keeps_the_shape() {
        let photo = RgbImage::from_fn(1200, 600, |x, _| Rgb([(x % 256) as u8, 10, 200]));
        let thumb = make(std::io::Cursor::new(png(photo))).unwrap();
        let back = image::load_from_memory(&thumb).unwrap();
        assert_eq!((back.width(), back.height()), (256, 128));
        assert!(make(std::io::Cursor::new(b"\xFF\xD8\xFF garbage".to_vec())).is_none());
    }

    #[test]
    fn a_small_picture_is_not_enlarged() {
        let icon = RgbImage::from_fn(40, 16, |x, _| Rgb([(x * 6) as u8, 10, 200]));
        let thumb = make(std::io::Cursor::new(png(icon))).unwrap();
        let back = image::load_from_memory(&thumb).unwrap();
        assert_eq!((back.width(), back.height()), (40, 16));
    }

    /// A phone held upright saves a landscape JPEG with EXIF orientation 6 (turn 90°
    /// clockwise to view): the preview must come out portrait.
    #[test]
    fn a_preview_is_turned_upright_by_exif() {
        use image::ImageEncoder;
        let photo = RgbImage::from_fn(600, 200, |x, _| Rgb([(x % 256) as u8, 10, 200]));
        // A big-endian TIFF block with one tag: Orientation (0x0112), SHORT, 6.
        let exif = [
            b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0,
            0,
        ];
        let mut jpeg = Vec::new();
        let mut encoder = JpegEncoder::new_with_quality(&mut jpeg, 90);
        encoder.set_exif_metadata(exif.to_vec()).unwrap();
        encoder
            .write_image(photo.as_raw(), 600, 200, image::ExtendedColorType::Rgb8)
            .unwrap();
        let thumb = make(std::io::Cursor::new(jpeg)).unwrap();
        let back = image::load_from_memory(&thumb).unwrap();
        assert_eq!((back.width(), back.height()), (85, 256));
    }
}
