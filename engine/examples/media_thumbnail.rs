//! Times the upload-side image work (header read, bounded decode, 320 px JPEG thumbnail) for a
//! 1920x1080 PNG and JPEG, as `MediaService::ingest` does it on the blocking pool.
//!
//! `cargo run --release -p confab-engine --example media_thumbnail`

use std::io::Cursor;
use std::time::Instant;

use confab_engine::media::probe::{image as probe_image, ImageRules};

fn photo_like(w: u32, h: u32) -> image::RgbImage {
    // Smooth gradients plus per-pixel noise: compresses like a photo, not like a flat fill.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    image::RgbImage::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = (seed & 0x1f) as u32;
        image::Rgb([
            ((x * 255 / w + n) % 256) as u8,
            ((y * 255 / h + n) % 256) as u8,
            (((x + y) / 8 + n) % 256) as u8,
        ])
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let img = photo_like(1920, 1080);
    let rules = ImageRules {
        max_pixels: 50_000_000,
        thumbnail_px: 320,
    };
    for format in [image::ImageFormat::Png, image::ImageFormat::Jpeg] {
        let mut bytes = Cursor::new(Vec::new());
        img.write_to(&mut bytes, format)?;
        let bytes = bytes.into_inner();
        let file = tempfile::NamedTempFile::new()?;
        std::fs::write(file.path(), &bytes)?;
        let runs = 10;
        let mut times = Vec::with_capacity(runs);
        let mut thumb_len = 0;
        for _ in 0..runs {
            let started = Instant::now();
            let facts = probe_image(file.path(), rules).map_err(|e| e.to_string())?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            thumb_len = facts.thumbnail.len();
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{format:?} 1920x1080 ({} KiB): median {:.1} ms, min {:.1} ms, max {:.1} ms over {runs} runs; thumbnail {} bytes",
            bytes.len() / 1024,
            times[runs / 2],
            times[0],
            times[runs - 1],
            thumb_len
        );
    }
    Ok(())
}
