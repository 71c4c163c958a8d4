//! What an upload's bytes say about it: an image's dimensions and thumbnail (decoded under
//! limits, against decompression bombs), the duration of audio and video where the container
//! states it cheaply (WAV header, Ogg's last granule position, MP4's `mvhd`). Blocking file
//! I/O and CPU work: callers run these on the blocking pool.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use image::{ImageError, ImageReader, Limits};

use super::sniff::Sniffed;
use super::MediaError;

/// Image decoding limits.
#[derive(Debug, Clone, Copy)]
pub struct ImageRules {
    /// Most pixels (width x height) an image may have.
    pub max_pixels: u64,
    /// Longest side of thumbnails.
    pub thumbnail_px: u32,
}

pub struct ImageFacts {
    pub width: u32,
    pub height: u32,
    /// A JPEG, at most `thumbnail_px` on its longest side.
    pub thumbnail: Vec<u8>,
}

fn reader(path: &Path) -> Result<ImageReader<BufReader<File>>, MediaError> {
    let file = File::open(path).map_err(io_error)?;
    ImageReader::new(BufReader::new(file))
        .with_guessed_format()
        .map_err(io_error)
}

fn io_error(e: std::io::Error) -> MediaError {
    tracing::error!(error = %e, "reading a staged upload failed");
    MediaError::Engine(crate::EngineError::Internal)
}

/// Dimensions first (from the header alone), then a decode bounded in memory, then the
/// thumbnail. An image over `max_pixels`, or one whose decode would allocate more than its
/// dimensions justify, is refused before any large allocation.
pub fn image(path: &Path, rules: ImageRules) -> Result<ImageFacts, MediaError> {
    let (width, height) = reader(path)?
        .into_dimensions()
        .map_err(|e| MediaError::InvalidImage(e.to_string()))?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels == 0 || pixels > rules.max_pixels {
        return Err(MediaError::ImageTooLarge {
            width,
            height,
            max_pixels: rules.max_pixels,
        });
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // RGBA with 16-bit channels at most, plus the decoder's own working memory.
    limits.max_alloc = Some(pixels.saturating_mul(8).saturating_add(64 << 20));
    let mut decoder = reader(path)?;
    decoder.limits(limits);
    let decoded = decoder.decode().map_err(|e| match e {
        ImageError::Limits(_) => MediaError::ImageTooLarge {
            width,
            height,
            max_pixels: rules.max_pixels,
        },
        other => MediaError::InvalidImage(other.to_string()),
    })?;
    // Never upscale: a small image's thumbnail is the image itself, re-encoded.
    let px = rules.thumbnail_px;
    let thumb = if width <= px && height <= px {
        decoded.into_rgb8()
    } else {
        decoded.thumbnail(px, px).into_rgb8()
    };
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&thumb)
        .map_err(|e| MediaError::InvalidImage(e.to_string()))?;
    Ok(ImageFacts {
        width,
        height,
        thumbnail: out,
    })
}

/// The duration of audio or video, when the container says it cheaply.
pub fn duration_ms(path: &Path, format: Sniffed) -> Option<u64> {
    let mut file = File::open(path).ok()?;
    match format {
        Sniffed::Wav => wav_duration(&mut file),
        Sniffed::Ogg { .. } => ogg_duration(&mut file),
        Sniffed::IsoMedia { .. } => mp4_duration(&mut file),
        _ => None,
    }
}

fn read_exact_at(file: &mut File, at: u64, buf: &mut [u8]) -> Option<()> {
    file.seek(SeekFrom::Start(at)).ok()?;
    file.read_exact(buf).ok()
}

fn u32_le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn u32_be(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// RIFF chunks: `fmt ` gives the byte rate, `data` the length.
fn wav_duration(file: &mut File) -> Option<u64> {
    let mut at = 12u64;
    let mut byte_rate = None;
    for _ in 0..64 {
        let mut header = [0u8; 8];
        read_exact_at(file, at, &mut header)?;
        let size = u64::from(u32_le(&header[4..8]));
        match &header[0..4] {
            b"fmt " => {
                let mut fmt = [0u8; 12];
                read_exact_at(file, at + 8, &mut fmt)?;
                byte_rate = Some(u64::from(u32_le(&fmt[8..12])));
            }
            b"data" => {
                let rate = byte_rate.filter(|r| *r > 0)?;
                return Some(size * 1000 / rate);
            }
            _ => {}
        }
        at += 8 + size + (size & 1);
    }
    None
}

/// The last page's granule position over the stream's sample rate (Opus: always 48 kHz,
/// minus the pre-skip; Vorbis: from its identification header).
fn ogg_duration(file: &mut File) -> Option<u64> {
    let mut head = [0u8; 128];
    let n = {
        file.seek(SeekFrom::Start(0)).ok()?;
        file.read(&mut head).ok()?
    };
    let head = &head[..n];
    let (rate, pre_skip) = if let Some(i) = find(head, b"OpusHead") {
        let pre = head.get(i + 10..i + 12)?;
        (48_000u64, u64::from(u16::from_le_bytes([pre[0], pre[1]])))
    } else if let Some(i) = find(head, b"\x01vorbis") {
        (u64::from(u32_le(head.get(i + 12..i + 16)?)), 0)
    } else {
        return None;
    };
    let len = file.metadata().ok()?.len();
    let tail_len = len.min(64 * 1024);
    let mut tail = vec![0u8; tail_len as usize];
    read_exact_at(file, len - tail_len, &mut tail)?;
    let last = tail.windows(4).rposition(|w| w == b"OggS")?;
    let granule = tail.get(last + 6..last + 14)?;
    let granule = u64::from_le_bytes(granule.try_into().ok()?);
    if rate == 0 || granule == u64::MAX {
        return None;
    }
    Some(granule.saturating_sub(pre_skip) * 1000 / rate)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Walks the top-level boxes to `moov`, then its children to `mvhd`: duration / timescale.
fn mp4_duration(file: &mut File) -> Option<u64> {
    let len = file.metadata().ok()?.len();
    let (moov_start, moov_end) = find_box(file, 0, len, b"moov")?;
    let (mvhd, _) = find_box(file, moov_start, moov_end, b"mvhd")?;
    let mut v = [0u8; 1];
    read_exact_at(file, mvhd, &mut v)?;
    let (timescale, duration) = if v[0] == 1 {
        let mut b = [0u8; 32];
        read_exact_at(file, mvhd, &mut b)?;
        (
            u64::from(u32_be(&b[20..24])),
            u64::from_be_bytes(b[24..32].try_into().ok()?),
        )
    } else {
        let mut b = [0u8; 20];
        read_exact_at(file, mvhd, &mut b)?;
        (u64::from(u32_be(&b[12..16])), u64::from(u32_be(&b[16..20])))
    };
    if timescale == 0 {
        return None;
    }
    Some(duration.saturating_mul(1000) / timescale)
}

/// The payload range of the first box named `name` among the boxes in `start..end`.
fn find_box(file: &mut File, start: u64, end: u64, name: &[u8; 4]) -> Option<(u64, u64)> {
    let mut at = start;
    for _ in 0..1024 {
        if at + 8 > end {
            return None;
        }
        let mut header = [0u8; 16];
        read_exact_at(file, at, &mut header[..8])?;
        let (size, header_len) = match u32_be(&header[0..4]) {
            1 => {
                read_exact_at(file, at + 8, &mut header[8..16])?;
                (u64::from_be_bytes(header[8..16].try_into().ok()?), 16)
            }
            0 => (end - at, 8),
            n => (u64::from(n), 8),
        };
        if size < header_len {
            return None;
        }
        if &header[4..8] == name {
            return Some((at + header_len, (at + size).min(end)));
        }
        at = at.checked_add(size)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp_with(bytes: &[u8]) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[test]
    fn wav_duration_from_header() {
        // 8 kHz mono 16-bit: 16000 bytes/s; 8000 bytes of data = 500 ms.
        let mut wav = Vec::new();
        wav.extend_from_slice(b"RIFF\0\0\0\0WAVEfmt ");
        wav.extend_from_slice(&16u32.to_le_bytes());
        wav.extend_from_slice(&[1, 0, 1, 0]);
        wav.extend_from_slice(&8000u32.to_le_bytes());
        wav.extend_from_slice(&16000u32.to_le_bytes());
        wav.extend_from_slice(&[2, 0, 16, 0]);
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&8000u32.to_le_bytes());
        wav.extend(std::iter::repeat_n(0u8, 8000));
        let f = temp_with(&wav);
        assert_eq!(duration_ms(f.path(), Sniffed::Wav), Some(500));
    }

    #[test]
    fn mp4_duration_from_mvhd() {
        let mut mvhd = vec![0u8; 4]; // version 0, flags
        mvhd.extend_from_slice(&[0; 8]); // creation, modification
        mvhd.extend_from_slice(&1000u32.to_be_bytes()); // timescale
        mvhd.extend_from_slice(&2500u32.to_be_bytes()); // duration
        let mut mp4 = Vec::new();
        mp4.extend_from_slice(&16u32.to_be_bytes());
        mp4.extend_from_slice(b"ftypisom\0\0\0\0");
        mp4.extend_from_slice(&16u32.to_be_bytes());
        mp4.extend_from_slice(b"mdat12345678");
        let mvhd_box_len = 8 + mvhd.len() as u32;
        mp4.extend_from_slice(&(8 + mvhd_box_len).to_be_bytes());
        mp4.extend_from_slice(b"moov");
        mp4.extend_from_slice(&mvhd_box_len.to_be_bytes());
        mp4.extend_from_slice(b"mvhd");
        mp4.extend_from_slice(&mvhd);
        let f = temp_with(&mp4);
        let format = super::super::sniff(&mp4);
        assert_eq!(duration_ms(f.path(), format), Some(2500));
    }
}
