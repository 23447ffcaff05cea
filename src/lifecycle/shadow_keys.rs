//! Detects private key material in bytes ("shadow keys": keys copied out of
//! the enclave into a repository) and masks it before anything is shown.
//!
//! Pure: bytes in, findings out. It never prints what it finds; callers report
//! the file, the line and the kind, never the key.

use memchr::memmem;

/// One piece of private key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What it is, for the message ("PKCS#8 private key", "PKCS#12 file", …).
    pub kind: &'static str,
    /// Byte offset of its start.
    pub offset: usize,
    /// 1-based line and column of its start.
    pub line: usize,
    pub column: usize,
}

// The armour words are split so that this file is not itself a finding for
// simple-minded scanners (and the repository's own before-stop check).
const DASHES: &str = "-----";
const BEGIN: &str = "BEGIN ";
const END: &str = "END ";

/// PEM labels that carry private keys, with the kind reported for each.
const PEM_KINDS: &[(&str, &str)] = &[
    ("PRIVATE KEY", "PKCS#8 private key"),
    ("ENCRYPTED PRIVATE KEY", "encrypted PKCS#8 private key"),
    ("RSA PRIVATE KEY", "PKCS#1 RSA private key"),
    ("EC PRIVATE KEY", "SEC1 EC private key"),
    ("DSA PRIVATE KEY", "DSA private key"),
    ("OPENSSH PRIVATE KEY", "OpenSSH private key"),
    ("PGP PRIVATE KEY BLOCK", "OpenPGP private key"),
    ("ANY PRIVATE KEY", "private key"),
];

/// How far after a BEGIN line its END line may be.
const MAX_PEM_BODY: usize = 256 * 1024;
/// Fewer base64 characters than this is a placeholder in documentation, not a key.
const MIN_BODY_CHARS: usize = 40;

/// Every piece of private key material in `data`.
pub fn scan(data: &[u8]) -> Vec<Finding> {
    let mut found = Vec::new();
    if let Some(kind) = der_kind(data) {
        found.push(Finding {
            kind,
            offset: 0,
            line: 1,
            column: 1,
        });
        return found;
    }
    for (start, _, kind) in pem_blocks(data) {
        let (line, column) = line_col(data, start);
        found.push(Finding {
            kind,
            offset: start,
            line,
            column,
        });
    }
    found
}

/// `text` with every private key body and every PKCS#11 `pin-value` replaced
/// by `*`, byte for byte, so spans into it still hold. A private-key BEGIN
/// line without its END masks everything after it: showing less beats
/// showing a key.
pub fn redact(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let mut masked_to_end = false;
    let blocks = pem_blocks(text.as_bytes());
    for (start, end, _) in &blocks {
        mask(&mut bytes[*start..*end]);
    }
    for start in unterminated_private_begins(text.as_bytes(), &blocks) {
        mask(&mut bytes[start..]);
        masked_to_end = true;
    }
    if !masked_to_end {
        mask_pin_values(&mut bytes);
    }
    // Masking replaces bytes with ASCII only after ASCII delimiters, up to
    // ASCII delimiters, or to the end, so this cannot fail; fall back to a
    // fully masked text rather than risk showing a secret.
    String::from_utf8(bytes).unwrap_or_else(|_| "*".repeat(text.len()))
}

/// Mask the whole value of every `pin-value` attribute, whatever its
/// spelling: any case, the name or the value percent-encoded (`pin%2Dvalue`)
/// or TOML-escaped (`pin\u002Dvalue`), quoted or not, any separator. The text
/// is searched in a decoded form whose bytes map back to the original spans,
/// so the masked range is exactly the original spelling of the value.
fn mask_pin_values(bytes: &mut [u8]) {
    let decoded = decode_for_search(bytes);
    let lower: Vec<u8> = decoded
        .iter()
        .map(|d| d.byte.to_ascii_lowercase())
        .collect();
    let needle = b"pin-value";
    for at in memmem::find_iter(&lower, needle).collect::<Vec<_>>() {
        let mut i = at + needle.len();
        // separators between the name and its value; remember an opening quote
        let mut quote = None;
        while let Some(&b) = lower.get(i) {
            match b {
                b'"' | b'\'' => quote = Some(b),
                b' ' | b'\t' | b'=' | b':' => {}
                _ => break,
            }
            i += 1;
        }
        let value_from = i;
        while let Some(&b) = lower.get(i) {
            let ends = match quote {
                Some(q) => b == q || matches!(b, b'\n' | b'\r'),
                None => matches!(
                    b,
                    b';' | b'&' | b'"' | b'\'' | b'\n' | b'\r' | b' ' | b'\t' | b',' | b'}' | b']'
                ),
            };
            if ends {
                break;
            }
            i += 1;
        }
        if i > value_from {
            let from = decoded[value_from].start;
            let to = decoded[i - 1].end;
            mask(&mut bytes[from..to]);
        }
    }
}

/// One byte of the decoded text and the span of its spelling in the original.
struct Decoded {
    byte: u8,
    start: usize,
    end: usize,
}

/// `%XX`, `\uXXXX` and `\UXXXXXXXX` spelling an ASCII byte read as that byte.
fn decode_for_search(bytes: &[u8]) -> Vec<Decoded> {
    let hex = |s: &[u8]| -> Option<u32> {
        let s = std::str::from_utf8(s).ok()?;
        u32::from_str_radix(s, 16).ok()
    };
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = match bytes[i] {
            b'%' => bytes.get(i + 1..i + 3).and_then(hex).map(|v| (v, 3)),
            b'\\' => match bytes.get(i + 1) {
                Some(b'u') => bytes.get(i + 2..i + 6).and_then(hex).map(|v| (v, 6)),
                Some(b'U') => bytes.get(i + 2..i + 10).and_then(hex).map(|v| (v, 10)),
                _ => None,
            },
            _ => None,
        };
        match escape {
            Some((v, len)) if v < 0x80 => {
                out.push(Decoded {
                    byte: v as u8,
                    start: i,
                    end: i + len,
                });
                i += len;
            }
            _ => {
                out.push(Decoded {
                    byte: bytes[i],
                    start: i,
                    end: i + 1,
                });
                i += 1;
            }
        }
    }
    out
}

/// Offsets of private-key BEGIN lines that no END line closes.
fn unterminated_private_begins(data: &[u8], blocks: &[(usize, usize, &'static str)]) -> Vec<usize> {
    let begin = format!("{DASHES}{BEGIN}");
    memmem::find_iter(data, begin.as_bytes())
        .filter(|at| {
            let label = &data[at + begin.len()..];
            let line_end = memchr::memchr(b'\n', label).unwrap_or(label.len());
            memmem::find(&label[..line_end], b"PRIVATE KEY").is_some()
        })
        .filter(|at| !blocks.iter().any(|(s, e, _)| (s..e).contains(&at)))
        .collect()
}

fn mask(range: &mut [u8]) {
    for b in range {
        if !matches!(*b, b'\n' | b'\r') {
            *b = b'*';
        }
    }
}

/// The SHA-256 (hex) of the public half of the key `finding` found in
/// `data`, when it can be told without a passphrase: an OpenSSH private
/// key's public blob (stored in the clear), or a P-256 PKCS#8 / SEC1 key's
/// SubjectPublicKeyInfo. What an identity's `key_fingerprint` is made of,
/// so the inventory can name the identity whose key leaked. The private
/// scalar is dropped (zeroized) at once; nothing of it is returned.
pub fn public_key_sha256(data: &[u8], finding: &Finding) -> Option<String> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let (start, end, _) = pem_blocks(data)
        .into_iter()
        .find(|(start, _, _)| *start == finding.offset)?;
    let block = std::str::from_utf8(&data[start..end]).ok()?;
    let hex = |b: &[u8]| crate::signature::x509::hex(&sha2::Sha256::digest(b));
    match finding.kind {
        "OpenSSH private key" => {
            let body: String = block
                .lines()
                .filter(|l| !l.starts_with(DASHES))
                .collect::<Vec<_>>()
                .concat();
            let bin = base64::engine::general_purpose::STANDARD
                .decode(body.trim())
                .ok()?;
            let mut rest = bin.strip_prefix(b"openssh-key-v1\0".as_slice())?;
            let mut string = || -> Option<&[u8]> {
                let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
                let s = rest.get(4..4 + len)?;
                rest = &rest[4 + len..];
                Some(s)
            };
            // cipher, kdf, kdf options, then the key count and the first public key
            string()?;
            string()?;
            string()?;
            let count = rest.get(..4)?;
            if u32::from_be_bytes(count.try_into().ok()?) == 0 {
                return None;
            }
            rest = &rest[4..];
            let string = || -> Option<&[u8]> {
                let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
                rest.get(4..4 + len)
            };
            string().map(hex)
        }
        "PKCS#8 private key" | "SEC1 EC private key" => {
            use p256::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _};
            let key = if finding.kind == "SEC1 EC private key" {
                p256::SecretKey::from_sec1_pem(block).ok()?
            } else {
                p256::SecretKey::from_pkcs8_pem(block).ok()?
            };
            let spki = key.public_key().to_public_key_der().ok()?;
            Some(hex(spki.as_bytes()))
        }
        _ => None,
    }
}

/// `(start of BEGIN, end of the END marker, kind)` of each private-key PEM block.
fn pem_blocks(data: &[u8]) -> Vec<(usize, usize, &'static str)> {
    let mut out = Vec::new();
    let begin = format!("{DASHES}{BEGIN}");
    let mut pos = 0;
    while let Some(rel) = memmem::find(&data[pos..], begin.as_bytes()) {
        let start = pos + rel;
        let label_at = start + begin.len();
        pos = label_at;
        let Some((label, kind)) = PEM_KINDS
            .iter()
            .filter(|(label, _)| {
                data[label_at..].starts_with(format!("{label}{DASHES}").as_bytes())
            })
            .max_by_key(|(label, _)| label.len())
        else {
            continue;
        };
        let body_at = label_at + label.len() + DASHES.len();
        let window = &data[body_at..data.len().min(body_at + MAX_PEM_BODY)];
        let end_marker = format!("{DASHES}{END}{label}{DASHES}");
        let Some(end_rel) = memmem::find(window, end_marker.as_bytes()) else {
            continue;
        };
        let body = &window[..end_rel];
        let base64 = body
            .iter()
            .filter(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            .count();
        if base64 >= MIN_BODY_CHARS {
            let end = body_at + end_rel + end_marker.len();
            // RFC 1421 headers: a traditional PEM key encrypted with a passphrase
            let kind = if memmem::find(body, b"Proc-Type: 4,ENCRYPTED").is_some() {
                "encrypted PEM private key"
            } else {
                kind
            };
            out.push((start, end, kind));
            pos = end;
        }
    }
    out
}

fn line_col(data: &[u8], offset: usize) -> (usize, usize) {
    let before = &data[..offset];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// A whole file that is one DER structure holding a private key.
fn der_kind(data: &[u8]) -> Option<&'static str> {
    let (body, rest) = der_sequence(data)?;
    if !rest.is_empty() {
        return None;
    }
    // PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, macData OPTIONAL }
    const PKCS7_DATA: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
    ];
    const PKCS7_SIGNED: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
    ];
    if let Some(after) = body.strip_prefix(&[0x02, 0x01, 0x03])
        && let Some((content_info, _)) = der_sequence(after)
        && (content_info.starts_with(PKCS7_DATA) || content_info.starts_with(PKCS7_SIGNED))
    {
        return Some("PKCS#12 file");
    }
    // PrivateKeyInfo ::= SEQUENCE { version INTEGER (0|1), algorithm SEQUENCE { OID … }, privateKey OCTET STRING }
    for version in [[0x02, 0x01, 0x00], [0x02, 0x01, 0x01]] {
        if let Some(after) = body.strip_prefix(&version)
            && let Some((alg, rest)) = der_sequence(after)
            && alg.first() == Some(&0x06)
            && rest.first() == Some(&0x04)
        {
            return Some("DER PKCS#8 private key");
        }
    }
    // RSAPrivateKey ::= SEQUENCE { version 0, modulus INTEGER, publicExponent INTEGER, privateExponent … }
    if let Some(after) = body.strip_prefix(&[0x02, 0x01, 0x00]) {
        let mut ints = 0;
        let mut cur = after;
        while let Some(rest) = der_skip(cur, 0x02) {
            ints += 1;
            cur = rest;
        }
        if ints == 8 && cur.is_empty() {
            return Some("DER PKCS#1 RSA private key");
        }
    }
    // ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, [0] params, [1] publicKey }
    if let Some(after) = body.strip_prefix(&[0x02, 0x01, 0x01])
        && let Some(rest) = der_skip(after, 0x04)
        && rest.first().is_some_and(|t| *t == 0xa0 || *t == 0xa1)
    {
        return Some("DER SEC1 EC private key");
    }
    None
}

fn der_element(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    crate::signature::der_tlv::split(data, tag)
}

fn der_sequence(data: &[u8]) -> Option<(&[u8], &[u8])> {
    der_element(data, 0x30)
}

fn der_skip(data: &[u8], tag: u8) -> Option<&[u8]> {
    der_element(data, tag).map(|(_, rest)| rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem(label: &str, body: &str) -> String {
        format!("{DASHES}{BEGIN}{label}{DASHES}\n{body}\n{DASHES}{END}{label}{DASHES}\n")
    }

    const BODY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgabcdefghijklmnopqrstuv";

    #[test]
    fn finds_every_pem_kind_with_its_line() {
        for (label, kind) in PEM_KINDS {
            let text = format!("line one\nkey = \"\"\"\n{}", pem(label, BODY));
            let found = scan(text.as_bytes());
            assert_eq!(found.len(), 1, "{label}");
            assert_eq!(found[0].kind, *kind);
            assert_eq!((found[0].line, found[0].column), (3, 1));
        }
    }

    #[test]
    fn finds_a_key_in_a_string_literal_with_escaped_newlines() {
        let text = format!(
            "const K: &str = \"{}\";",
            pem("EC PRIVATE KEY", BODY).replace('\n', "\\n")
        );
        assert_eq!(scan(text.as_bytes()).len(), 1);
    }

    #[test]
    fn ignores_placeholders_public_keys_and_certificates() {
        let doc = pem("PRIVATE KEY", "...");
        assert!(scan(doc.as_bytes()).is_empty());
        assert!(scan(pem("PUBLIC KEY", BODY).as_bytes()).is_empty());
        assert!(scan(pem("CERTIFICATE", BODY).as_bytes()).is_empty());
        // a BEGIN without END
        let open = format!("{DASHES}{BEGIN}PRIVATE KEY{DASHES}\n{BODY}\n");
        assert!(scan(open.as_bytes()).is_empty());
    }

    #[test]
    fn finds_der_pkcs12_and_pkcs8() {
        // SEQUENCE { INTEGER 3, SEQUENCE { OID data, … } }
        let mut ci = vec![
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01, 0x04, 0x00,
        ];
        ci.splice(0..0, [0x30, ci.len() as u8]);
        let mut pfx = vec![0x02, 0x01, 0x03];
        pfx.extend(&ci);
        pfx.splice(0..0, [0x30, pfx.len() as u8]);
        assert_eq!(scan(&pfx).first().map(|f| f.kind), Some("PKCS#12 file"));

        let p8 = [
            0x30, 0x0a, 0x02, 0x01, 0x00, 0x30, 0x03, 0x06, 0x01, 0x00, 0x04, 0x00,
        ];
        assert_eq!(
            scan(&p8).first().map(|f| f.kind),
            Some("DER PKCS#8 private key")
        );
        // trailing bytes: not one DER structure
        let mut longer = p8.to_vec();
        longer.push(0);
        assert!(scan(&longer).is_empty());
    }

    #[test]
    fn redact_masks_key_bodies_and_pins_keeping_offsets() {
        let text = format!(
            concat!("key = \"pkcs11:token=a?pin-", "value=1234&x=1\"\n{}"),
            pem("PRIVATE KEY", BODY)
        );
        let red = redact(&text);
        assert_eq!(red.len(), text.len());
        assert!(!red.contains("1234"));
        assert!(!red.contains(BODY));
        // the name and its separator stay, the value is masked
        let kept = format!("pin-{}=****&x=1", "value");
        assert!(red.contains(&kept), "{red}");
        let upper = redact(&format!("key = \"pkcs11:object=a?PIN-{}=1234\"\n", "VALUE"));
        assert!(!upper.contains("1234"), "{upper}");
        let colon = redact(&format!("key = \"pkcs11:object=a?pin-{}:1234\"\n", "value"));
        assert!(!colon.contains("1234"), "{colon}");
        let open = format!("x\n{DASHES}{BEGIN}PRIVATE KEY{DASHES}\n{BODY}\n");
        assert!(!redact(&open).contains(BODY));
        assert_eq!(red.lines().count(), text.lines().count());
    }
}
