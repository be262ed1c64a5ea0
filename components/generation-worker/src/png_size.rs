//! The width and height of a PNG, read from its IHDR chunk without decoding the image.

/// The eight bytes every PNG starts with.
const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Why bytes are not a PNG the worker can store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PngError {
    #[error("the {0} bytes do not start with the PNG signature")]
    NotPng(usize),
    #[error("the first chunk is not a 13-byte IHDR")]
    NoHeader,
    #[error("the header gives a size of {width}x{height} pixels")]
    EmptyImage { width: u32, height: u32 },
}

/// `(width, height)` in pixels from the IHDR chunk, which must come first.
pub fn dimensions(bytes: &[u8]) -> Result<(u32, u32), PngError> {
    if bytes.len() < SIGNATURE.len() || bytes[..8] != SIGNATURE {
        return Err(PngError::NotPng(bytes.len()));
    }
    let header = bytes.get(8..24).ok_or(PngError::NoHeader)?;
    if header[0..4] != 13u32.to_be_bytes() || &header[4..8] != b"IHDR" {
        return Err(PngError::NoHeader);
    }
    let width = u32::from_be_bytes([header[8], header[9], header[10], header[11]]);
    let height = u32::from_be_bytes([header[12], header[13], header[14], header[15]]);
    if width == 0 || height == 0 {
        return Err(PngError::EmptyImage { width, height });
    }
    Ok((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::png_bytes;

    #[test]
    fn reads_width_and_height_of_a_real_png() {
        assert_eq!(dimensions(&png_bytes(40, 24)), Ok((40, 24)));
    }

    #[test]
    fn refuses_bytes_that_are_not_png() {
        assert_eq!(
            dimensions(b"<html>expired</html>"),
            Err(PngError::NotPng(20))
        );
        assert_eq!(dimensions(b""), Err(PngError::NotPng(0)));
    }

    #[test]
    fn refuses_a_truncated_or_headerless_png() {
        assert_eq!(dimensions(&SIGNATURE), Err(PngError::NoHeader));
        let mut bytes = png_bytes(4, 4);
        bytes[12..16].copy_from_slice(b"IDAT");
        assert_eq!(dimensions(&bytes), Err(PngError::NoHeader));
    }

    #[test]
    fn refuses_a_zero_size() {
        let mut bytes = png_bytes(4, 4);
        bytes[16..20].copy_from_slice(&0u32.to_be_bytes());
        assert_eq!(
            dimensions(&bytes),
            Err(PngError::EmptyImage {
                width: 0,
                height: 4
            })
        );
    }
}
