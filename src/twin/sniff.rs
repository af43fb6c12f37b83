//! The content check of an upload: Twenty sniffs the first bytes (npm `file-type`, with a PDF
//! detector) and keeps what it detects; when it detects nothing but the name's extension maps
//! to a type the sniffer knows, the file is refused (`extractFileInfoOrThrow`,
//! `packages/twenty-server/src/engine/core-modules/file/utils/extract-file-info-or-throw.utils.ts`).
//! Seen on a real 2.21: a `.png` whose bytes are not a PNG is refused with the message below.
//!
//! The twin knows a few signatures (the types migrations carry most); any other extension is
//! accepted as Twenty accepts what it cannot sniff (`.txt`, `.csv`).

/// Whether some bytes look like one type.
type Detector = fn(&[u8]) -> bool;

/// Extension, its MIME type, and whether `bytes` look like it.
const SNIFFED: &[(&str, &str, Detector)] = &[
    ("png", "image/png", is_png),
    ("jpg", "image/jpeg", is_jpeg),
    ("jpeg", "image/jpeg", is_jpeg),
    ("gif", "image/gif", is_gif),
    ("pdf", "application/pdf", is_pdf),
    ("zip", "application/zip", is_zip),
];

/// file-type reports a PNG at its first IDAT chunk after the signature and the header chunk.
fn is_png(b: &[u8]) -> bool {
    b.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a])
        && b.get(12..16) == Some(b"IHDR")
}

fn is_jpeg(b: &[u8]) -> bool {
    b.starts_with(&[0xff, 0xd8, 0xff])
}

fn is_gif(b: &[u8]) -> bool {
    b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a")
}

fn is_pdf(b: &[u8]) -> bool {
    b.starts_with(b"%PDF")
}

fn is_zip(b: &[u8]) -> bool {
    b.starts_with(b"PK\x03\x04")
}

/// Twenty's refusal of `bytes` uploaded as `name`, if it refuses them.
pub(super) fn refusal(name: &str, bytes: &[u8]) -> Option<String> {
    let ext = std::path::Path::new(name)
        .extension()?
        .to_str()?
        .to_ascii_lowercase();
    // Content the sniffer recognises wins, whatever the name says; only content it cannot
    // place is checked against the name.
    if SNIFFED.iter().any(|(_, _, looks_like)| looks_like(bytes)) {
        return None;
    }
    let (_, mime, _) = SNIFFED.iter().find(|(e, _, _)| *e == ext)?;
    Some({
        format!(
            "File content does not match its extension. The file has extension '{ext}' (expected mime type: {mime}), but the file content could not be detected as this type. The file may be corrupted, have the wrong extension, or be a security risk."
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_png_that_is_not_one_is_refused_and_text_is_never_sniffed() {
        let fake = [
            0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4, 5, 6, 7, 8,
        ];
        assert!(refusal("photo.PNG", &fake)
            .is_some_and(|m| m.contains("extension 'png' (expected mime type: image/png)")));
        let mut real = fake[..8].to_vec();
        real.extend([0, 0, 0, 13]);
        real.extend(b"IHDR");
        assert_eq!(refusal("photo.png", &real), None);
        assert_eq!(refusal("notes.txt", b"\x00\x01anything"), None);
        assert!(refusal("report.pdf", b"not a pdf").is_some());
        // Detected content wins over the name (a PDF named .png is a PDF).
        assert_eq!(refusal("photo.png", b"%PDF-1.4\n"), None);
    }
}
