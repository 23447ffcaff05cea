//! One DER element at a time: enough to find bytes as they were encoded
//! (signed attributes, a TBSCertificate) and to recognise key files, where
//! decoding and re-encoding would not give back the signed bytes.

/// The DER element at the front of `data`: `(tag, header length, the whole
/// element)`. `None` for truncated data and for indefinite (BER) or
/// absurd lengths.
pub fn element(data: &[u8]) -> Option<(u8, usize, &[u8])> {
    let tag = *data.first()?;
    let first = *data.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for b in data.get(2..2 + n)? {
            len = (len << 8) | usize::from(*b);
        }
        (len, 2 + n)
    };
    Some((tag, header, data.get(..header.checked_add(len)?)?))
}

/// The contents of the element at the front of `data`, when its tag is `tag`,
/// and what follows it.
pub fn split(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (t, header, whole) = element(data)?;
    (t == tag).then(|| (&whole[header..], &data[whole.len()..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths_and_refusals() {
        assert_eq!(
            element(&[0x30, 0x01, 0xaa, 0xbb]),
            Some((0x30, 2, &[0x30, 0x01, 0xaa][..]))
        );
        let long = [&[0x04, 0x81, 0x02][..], &[1, 2]].concat();
        assert_eq!(element(&long).map(|e| e.1), Some(3));
        assert_eq!(element(&[0x30, 0x80, 0, 0]), None); // indefinite
        assert_eq!(element(&[0x30, 0x05, 1]), None); // truncated
        assert_eq!(
            split(&[0x02, 0x01, 0x07, 0xff], 0x02),
            Some((&[0x07][..], &[0xff][..]))
        );
        assert_eq!(split(&[0x02, 0x01, 0x07], 0x30), None);
    }
}
