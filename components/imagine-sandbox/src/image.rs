//! The sandbox's images: a square RGB PNG whose colours and shapes come from the SHA-256 of
//! the prompt, with the prompt in a `Description` text chunk. The same prompt and size give
//! the same bytes.

use sha2::{Digest, Sha256};

/// The text chunk keyword that carries the prompt.
pub const DESCRIPTION_KEYWORD: &str = "Description";

/// Renders the image of `prompt`, `size` pixels per side (the caller keeps it in
/// 16..=1024). The prompt goes in a `tEXt` chunk when it is Latin-1, otherwise in an `iTXt`
/// chunk (UTF-8), both with keyword `Description`.
pub fn render(prompt: &str, size: u32) -> Result<Vec<u8>, png::EncodingError> {
    let pixels = paint(prompt, size);
    let mut bytes = Vec::new();
    let mut encoder = png::Encoder::new(&mut bytes, size, size);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    if prompt.chars().all(|c| u32::from(c) <= 0xFF) {
        encoder.add_text_chunk(DESCRIPTION_KEYWORD.to_owned(), prompt.to_owned())?;
    } else {
        encoder.add_itxt_chunk(DESCRIPTION_KEYWORD.to_owned(), prompt.to_owned())?;
    }
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(bytes)
}

/// An RGB colour.
type Rgb = [u8; 3];

/// A filled shape, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shape {
    Circle {
        cx: i64,
        cy: i64,
        r: i64,
        colour: Rgb,
    },
    Rect {
        x0: i64,
        y0: i64,
        x1: i64,
        y1: i64,
        colour: Rgb,
    },
}

impl Shape {
    /// Shape `index` of the image, from the digest of the prompt and the index.
    fn derive(digest: &[u8], index: u8, size: u32) -> Shape {
        let b = Sha256::new()
            .chain_update(digest)
            .chain_update([index])
            .finalize();
        let size = i64::from(size);
        let at = |i: usize| i64::from(u16::from_be_bytes([b[i], b[i + 1]])) % size;
        let extent = size / 16 + i64::from(u16::from_be_bytes([b[6], b[7]])) % (size / 4);
        let colour = [b[8], b[9], b[10]];
        let (x, y) = (at(2), at(4));
        if b[0] % 2 == 0 {
            Shape::Circle {
                cx: x,
                cy: y,
                r: extent,
                colour,
            }
        } else {
            let (x0, y0) = (x - extent, y - extent / 2);
            Shape::Rect {
                x0,
                y0,
                x1: x + extent,
                y1: y + extent / 2,
                colour,
            }
        }
    }

    /// The shape's colour where it covers pixel (`x`, `y`).
    fn colour_at(&self, x: i64, y: i64) -> Option<Rgb> {
        match *self {
            Shape::Circle { cx, cy, r, colour } => {
                ((x - cx).pow(2) + (y - cy).pow(2) <= r * r).then_some(colour)
            }
            Shape::Rect {
                x0,
                y0,
                x1,
                y1,
                colour,
            } => (x0 <= x && x <= x1 && y0 <= y && y <= y1).then_some(colour),
        }
    }
}

/// The RGB pixels, row by row: a vertical gradient between two colours of the digest, with
/// three to six shapes blended over it at three quarters opacity.
fn paint(prompt: &str, size: u32) -> Vec<u8> {
    let digest = Sha256::digest(prompt.as_bytes());
    let (top, bottom): (Rgb, Rgb) = (
        [digest[0], digest[1], digest[2]],
        [digest[3], digest[4], digest[5]],
    );
    let shapes: Vec<Shape> = (0..3 + digest[6] % 4)
        .map(|i| Shape::derive(&digest, i, size))
        .collect();

    let mut pixels = Vec::with_capacity(size as usize * size as usize * 3);
    for y in 0..i64::from(size) {
        let background = mix(top, bottom, y, i64::from(size));
        for x in 0..i64::from(size) {
            let pixel = shapes.iter().fold(background, |below, shape| {
                shape.colour_at(x, y).map_or(below, |c| blend(below, c))
            });
            pixels.extend_from_slice(&pixel);
        }
    }
    pixels
}

/// The colour `step / steps` of the way from `from` to `to`.
fn mix(from: Rgb, to: Rgb, step: i64, steps: i64) -> Rgb {
    let channel = |a: u8, b: u8| {
        let (a, b) = (i64::from(a), i64::from(b));
        (a + (b - a) * step / steps.max(1)) as u8
    };
    [
        channel(from[0], to[0]),
        channel(from[1], to[1]),
        channel(from[2], to[2]),
    ]
}

/// `over` at three quarters opacity on `below`.
fn blend(below: Rgb, over: Rgb) -> Rgb {
    let channel = |b: u8, o: u8| ((u16::from(b) + 3 * u16::from(o)) / 4) as u8;
    [
        channel(below[0], over[0]),
        channel(below[1], over[1]),
        channel(below[2], over[2]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `bytes`: width, height, colour type, the `Description` text and the pixels.
    fn decode(bytes: &[u8]) -> (u32, u32, png::ColorType, Option<String>, Vec<u8>) {
        let mut reader = png::Decoder::new(bytes)
            .read_info()
            .expect("a valid PNG header");
        let mut pixels = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut pixels).expect("a valid PNG frame");
        pixels.truncate(frame.buffer_size());
        let info = reader.info();
        let latin1 = info
            .uncompressed_latin1_text
            .iter()
            .find(|c| c.keyword == DESCRIPTION_KEYWORD)
            .map(|c| c.text.clone());
        let utf8 = info
            .utf8_text
            .iter()
            .find(|c| c.keyword == DESCRIPTION_KEYWORD)
            .map(|c| c.get_text().expect("iTXt decodes"));
        (
            info.width,
            info.height,
            info.color_type,
            latin1.or(utf8),
            pixels,
        )
    }

    #[test]
    fn renders_a_png_of_the_requested_size_with_the_prompt_as_description() {
        let bytes = render("a red fox in snow --ar 1:1", 64).expect("rendering succeeds");
        let (width, height, colour, text, pixels) = decode(&bytes);
        assert_eq!((width, height), (64, 64));
        assert_eq!(colour, png::ColorType::Rgb);
        assert_eq!(text.as_deref(), Some("a red fox in snow --ar 1:1"));
        assert_eq!(pixels.len(), 64 * 64 * 3);
    }

    #[test]
    fn the_prompt_goes_in_a_latin1_text_chunk_when_it_can() {
        let bytes = render("café au lait", 16).expect("rendering succeeds");
        let info = png::Decoder::new(&bytes[..])
            .read_info()
            .expect("valid PNG");
        let chunks = &info.info().uncompressed_latin1_text;
        assert_eq!(chunks.len(), 1);
        assert_eq!(
            (chunks[0].keyword.as_str(), chunks[0].text.as_str()),
            ("Description", "café au lait")
        );
    }

    #[test]
    fn a_prompt_beyond_latin1_goes_in_a_utf8_text_chunk() {
        let bytes = render("猫猫 🐱 in 東京", 16).expect("rendering succeeds");
        let (_, _, _, text, _) = decode(&bytes);
        assert_eq!(text.as_deref(), Some("猫猫 🐱 in 東京"));
    }

    #[test]
    fn the_same_prompt_gives_the_same_bytes() {
        let first = render("a lighthouse at dusk", 128).expect("rendering succeeds");
        let second = render("a lighthouse at dusk", 128).expect("rendering succeeds");
        assert_eq!(first, second);
    }

    #[test]
    fn different_prompts_give_different_pixels() {
        let (.., a) = decode(&render("a lighthouse at dusk", 32).expect("renders"));
        let (.., b) = decode(&render("a lighthouse at dawn", 32).expect("renders"));
        assert_ne!(a, b);
    }

    #[test]
    fn the_extreme_sizes_render() {
        for size in [16, 1024] {
            let (width, height, ..) = decode(&render("edge", size).expect("renders"));
            assert_eq!((width, height), (size, size));
        }
    }

    #[test]
    fn the_gradient_runs_from_the_first_to_the_second_digest_colour() {
        assert_eq!(mix([0, 100, 200], [100, 0, 200], 0, 10), [0, 100, 200]);
        assert_eq!(mix([0, 100, 200], [100, 0, 200], 5, 10), [50, 50, 200]);
        assert_eq!(blend([0, 0, 0], [200, 100, 4]), [150, 75, 3]);
    }
}
