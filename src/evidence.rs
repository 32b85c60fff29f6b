//! Evidence files people attach (a certificate's scan, a report's proof): PDF, JPEG or PNG,
//! judged by their content and never by their name, size-limited, their names cleaned.

use crate::error::FieldError;

/// Largest evidence file, in bytes.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// What an evidence file is, judged by its content and never by its name: a PDF (its header
/// and its end marker), or a JPEG or PNG image whose header decodes. Refusals name `file`.
pub fn judge(bytes: &[u8]) -> Result<&'static str, FieldError> {
    if bytes.is_empty() {
        return Err(FieldError::new("required", "choose a file"));
    }
    if bytes.len() > MAX_BYTES {
        return Err(FieldError::new(
            "too_large",
            format!("at most {} MiB", MAX_BYTES / 1024 / 1024),
        ));
    }
    if bytes.starts_with(b"%PDF-") {
        let tail = &bytes[bytes.len().saturating_sub(1024)..];
        if tail.windows(5).any(|w| w == b"%%EOF") {
            return Ok("application/pdf");
        }
    }
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format();
    if let Ok(reader) = reader {
        let format = reader.format();
        if matches!(
            format,
            Some(image::ImageFormat::Jpeg | image::ImageFormat::Png)
        ) && reader.into_dimensions().is_ok()
        {
            return Ok(if format == Some(image::ImageFormat::Png) {
                "image/png"
            } else {
                "image/jpeg"
            });
        }
    }
    Err(FieldError::new(
        "unsupported_file",
        "the file is not a PDF, JPEG or PNG",
    ))
}

/// A file name as kept: its last path component, without control characters, at most 120
/// characters; `evidence.<ext>` when nothing is left.
pub fn clean_name(raw: &str, content_type: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let name: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>'))
        .take(120)
        .collect();
    let name = name.trim().to_string();
    if name.is_empty() {
        let ext = match content_type {
            "application/pdf" => "pdf",
            "image/png" => "png",
            _ => "jpg",
        };
        format!("evidence.{ext}")
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_judged_by_content_and_names_cleaned() {
        assert_eq!(judge(b"%PDF-1.4\n1 0 obj\n%%EOF\n"), Ok("application/pdf"));
        assert_eq!(judge(b"").unwrap_err().code, "required");
        assert_eq!(
            judge(b"%PDF-1.4 but never ends").unwrap_err().code,
            "unsupported_file"
        );
        assert_eq!(
            clean_name("C:\\scans\\证书.pdf", "application/pdf"),
            "证书.pdf"
        );
        assert_eq!(clean_name("../\u{7}", "image/png"), "evidence.png");
    }
}
