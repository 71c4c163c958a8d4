//! What an upload is, from its first bytes (magic numbers), never from what the client says.

use confab_storage::MediaKind;

/// How many leading bytes [`sniff`] needs.
pub const SNIFF_BYTES: usize = 512;

/// A recognised container or format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Png,
    Jpeg,
    Gif,
    Webp,
    /// ISO base media (MP4, MOV, M4A), with its major brand.
    IsoMedia {
        audio_only: bool,
        quicktime: bool,
    },
    /// Matroska / WebM.
    Webm,
    Ogg {
        video: bool,
    },
    Mp3,
    Aac,
    Wav,
    Pdf,
    Zip,
    Unknown,
}

impl Sniffed {
    /// The content type stored and served. `kind` decides between the audio and video names
    /// of containers that hold either.
    pub fn content_type(self, kind: MediaKind) -> &'static str {
        let audio = matches!(kind, MediaKind::Audio | MediaKind::Voice);
        match self {
            Sniffed::Png => "image/png",
            Sniffed::Jpeg => "image/jpeg",
            Sniffed::Gif => "image/gif",
            Sniffed::Webp => "image/webp",
            Sniffed::IsoMedia {
                quicktime: true, ..
            } if !audio => "video/quicktime",
            Sniffed::IsoMedia { audio_only, .. } if audio || audio_only => "audio/mp4",
            Sniffed::IsoMedia { .. } => "video/mp4",
            Sniffed::Webm if audio => "audio/webm",
            Sniffed::Webm => "video/webm",
            Sniffed::Ogg { video: true } => "video/ogg",
            Sniffed::Ogg { video: false } => "audio/ogg",
            Sniffed::Mp3 => "audio/mpeg",
            Sniffed::Aac => "audio/aac",
            Sniffed::Wav => "audio/wav",
            Sniffed::Pdf => "application/pdf",
            Sniffed::Zip => "application/zip",
            Sniffed::Unknown => "application/octet-stream",
        }
    }

    /// Whether an upload declared as `kind` may be this.
    pub fn fits(self, kind: MediaKind) -> bool {
        use Sniffed::*;
        match kind {
            MediaKind::Image => matches!(self, Png | Jpeg | Gif | Webp),
            MediaKind::Sticker => matches!(self, Png | Webp),
            MediaKind::Video => matches!(
                self,
                IsoMedia {
                    audio_only: false,
                    ..
                } | Webm
            ),
            MediaKind::Audio | MediaKind::Voice => matches!(
                self,
                Ogg { video: false }
                    | Mp3
                    | Aac
                    | Wav
                    | Webm
                    | IsoMedia {
                        quicktime: false,
                        ..
                    }
            ),
            MediaKind::Document => true,
        }
    }

    /// What the declared kind accepts, for error messages.
    pub fn accepted(kind: MediaKind) -> &'static str {
        match kind {
            MediaKind::Image => "PNG, JPEG, GIF or WebP",
            MediaKind::Sticker => "WebP or PNG",
            MediaKind::Video => "MP4, MOV or WebM",
            MediaKind::Audio | MediaKind::Voice => "Ogg (Opus/Vorbis), MP3, M4A/AAC, WAV or WebM",
            MediaKind::Document => "anything",
        }
    }

    pub fn is_image(self) -> bool {
        matches!(
            self,
            Sniffed::Png | Sniffed::Jpeg | Sniffed::Gif | Sniffed::Webp
        )
    }
}

/// Recognises the format of a file from its first bytes (up to [`SNIFF_BYTES`]).
pub fn sniff(head: &[u8]) -> Sniffed {
    let at = |i: usize, magic: &[u8]| head.get(i..i + magic.len()) == Some(magic);
    if at(0, b"\x89PNG\r\n\x1a\n") {
        Sniffed::Png
    } else if at(0, b"\xff\xd8\xff") {
        Sniffed::Jpeg
    } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
        Sniffed::Gif
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        Sniffed::Webp
    } else if at(0, b"RIFF") && at(8, b"WAVE") {
        Sniffed::Wav
    } else if at(4, b"ftyp") {
        let brand = head.get(8..12).unwrap_or_default();
        Sniffed::IsoMedia {
            audio_only: matches!(brand, b"M4A " | b"M4B " | b"M4P "),
            quicktime: brand == b"qt  ",
        }
    } else if at(0, b"\x1a\x45\xdf\xa3") {
        Sniffed::Webm
    } else if at(0, b"OggS") {
        let video = head.windows(7).any(|w| w == b"\x80theora");
        Sniffed::Ogg { video }
    } else if at(0, b"ID3") {
        Sniffed::Mp3
    } else if head.len() >= 2 && head[0] == 0xff && (head[1] & 0xf6) == 0xf0 {
        // ADTS: sync word, layer 00.
        Sniffed::Aac
    } else if head.len() >= 2 && head[0] == 0xff && (head[1] & 0xe0) == 0xe0 {
        // MPEG audio frame sync (MP3 without an ID3 tag).
        Sniffed::Mp3
    } else if at(0, b"%PDF-") {
        Sniffed::Pdf
    } else if at(0, b"PK\x03\x04") {
        Sniffed::Zip
    } else {
        Sniffed::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_magic_numbers() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Sniffed::Png);
        assert_eq!(sniff(b"\xff\xd8\xff\xe0"), Sniffed::Jpeg);
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Sniffed::Webp);
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVEfmt "), Sniffed::Wav);
        assert_eq!(
            sniff(b"\0\0\0\x20ftypisom"),
            Sniffed::IsoMedia {
                audio_only: false,
                quicktime: false
            }
        );
        assert_eq!(
            sniff(b"\0\0\0\x20ftypM4A "),
            Sniffed::IsoMedia {
                audio_only: true,
                quicktime: false
            }
        );
        assert_eq!(
            sniff(b"OggS\0\x02....OpusHead"),
            Sniffed::Ogg { video: false }
        );
        assert_eq!(sniff(b"ID3\x04"), Sniffed::Mp3);
        assert_eq!(sniff(b"\xff\xf1\x50"), Sniffed::Aac);
        assert_eq!(sniff(b"\xff\xfb\x90"), Sniffed::Mp3);
        assert_eq!(sniff(b"hello world"), Sniffed::Unknown);
        assert_eq!(sniff(b""), Sniffed::Unknown);
    }

    #[test]
    fn kinds_accept_only_their_formats() {
        assert!(Sniffed::Png.fits(MediaKind::Image));
        assert!(!Sniffed::Pdf.fits(MediaKind::Image));
        assert!(!Sniffed::Jpeg.fits(MediaKind::Sticker));
        assert!(Sniffed::Webm.fits(MediaKind::Voice));
        assert!(!Sniffed::Png.fits(MediaKind::Video));
        assert!(Sniffed::Unknown.fits(MediaKind::Document));
        assert_eq!(
            Sniffed::Unknown.content_type(MediaKind::Document),
            "application/octet-stream"
        );
        assert_eq!(Sniffed::Webm.content_type(MediaKind::Voice), "audio/webm");
    }
}
