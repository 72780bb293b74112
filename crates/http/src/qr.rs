//! QR images of ticket codes (docs/tickets.md): drawn as SVG for the ticket page, and
//! read back from a photo for doors whose browser cannot read them itself.

use std::io::Cursor;

/// Medium error correction: a screen with a crack or a glare still scans.
pub fn svg(text: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
        // A ticket code is 59 characters; QR holds thousands.
        Err(_) => String::new(),
    }
}

/// Why a photo gave no code.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("the image could not be read: {0}")]
    Unreadable(String),
    #[error("no QR code was found in the image")]
    NoCode,
}

/// Photos larger than this (either side) are refused before decoding: the decoder's
/// memory grows with the pixel count, and a door photo needs far fewer.
const MAX_SIDE: u32 = 6_000;

/// The text of the first QR code found in a PNG or JPEG photo. CPU-heavy: run it off the
/// async threads.
pub fn read(photo: &[u8]) -> Result<String, PhotoError> {
    let mut reader = image::ImageReader::new(Cursor::new(photo))
        .with_guessed_format()
        .map_err(|e| PhotoError::Unreadable(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    reader.limits(limits);
    let luma = reader
        .decode()
        .map_err(|e| PhotoError::Unreadable(e.to_string()))?
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(luma);
    prepared
        .detect_grids()
        .iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
        .ok_or(PhotoError::NoCode)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws `text` as a PNG the way a phone camera would see a screen: black on white.
    fn png_of(text: &str) -> Vec<u8> {
        let code = qrcode::QrCode::new(text.as_bytes()).expect("encodes");
        let image = code
            .render::<image::Luma<u8>>()
            .min_dimensions(300, 300)
            .build();
        let mut png = Vec::new();
        image::DynamicImage::ImageLuma8(image)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("png");
        png
    }

    #[test]
    fn a_drawn_code_reads_back() {
        let text = "URR1ABCDEFGHIJKLMNOPQRSTUVWXYZ234567ABCDEFGHIJKLMNOPQRSTU";
        assert_eq!(read(&png_of(text)).ok().as_deref(), Some(text));
        assert!(svg(text).starts_with("<?xml"));
    }

    #[test]
    fn a_photo_without_a_code_and_garbage_are_told_apart() {
        let blank = image::GrayImage::from_pixel(200, 200, image::Luma([255]));
        let mut png = Vec::new();
        image::DynamicImage::ImageLuma8(blank)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("png");
        assert!(matches!(read(&png), Err(PhotoError::NoCode)));
        assert!(matches!(
            read(b"not an image"),
            Err(PhotoError::Unreadable(_))
        ));
    }
}
