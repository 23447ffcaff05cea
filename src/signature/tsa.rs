//! RFC 3161 timestamp tokens: what a token says (its genTime), read
//! without trusting it. Whether a TSA the policy trusts signed it is
//! checked where a token is used as trusted time.

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use der::Decode;
use time::OffsetDateTime;

use super::der_tlv;

/// The genTime of a TimeStampToken (a CMS ContentInfo holding a TSTInfo).
pub fn gen_time(token: &[u8]) -> Option<OffsetDateTime> {
    let ci = ContentInfo::from_der(token).ok()?;
    let sd: SignedData = ci.content.decode_as().ok()?;
    let econtent = sd.encap_content_info.econtent?;
    let tst = econtent.decode_as::<der::asn1::OctetString>().ok()?;
    tst_gen_time(tst.as_bytes())
}

/// TSTInfo ::= SEQUENCE { version, policy, messageImprint, serialNumber, genTime, … }
fn tst_gen_time(tst: &[u8]) -> Option<OffsetDateTime> {
    let (tag, header, whole) = der_tlv::element(tst)?;
    if tag != 0x30 {
        return None;
    }
    let mut rest = &whole[header..];
    for _ in 0..4 {
        let (_, _, el) = der_tlv::element(rest)?;
        rest = &rest[el.len()..];
    }
    let (tag, header, el) = der_tlv::element(rest)?;
    if tag != 0x18 {
        return None;
    }
    generalized_time(std::str::from_utf8(&el[header..]).ok()?)
}

/// `YYYYMMDDHHMMSS[.f…]Z`.
fn generalized_time(s: &str) -> Option<OffsetDateTime> {
    let s = s.strip_suffix('Z')?;
    let whole = s.split('.').next()?;
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |a: usize, b: usize| whole[a..b].parse::<i32>().ok();
    let date = time::Date::from_calendar_date(
        n(0, 4)?,
        time::Month::try_from(u8::try_from(n(4, 6)?).ok()?).ok()?,
        u8::try_from(n(6, 8)?).ok()?,
    )
    .ok()?;
    let t = time::Time::from_hms(
        u8::try_from(n(8, 10)?).ok()?,
        u8::try_from(n(10, 12)?).ok()?,
        u8::try_from(n(12, 14)?).ok()?,
    )
    .ok()?;
    Some(time::PrimitiveDateTime::new(date, t).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generalized_times_with_and_without_fractions() {
        let t = generalized_time("20261128021939Z").expect("whole seconds");
        assert_eq!(t.unix_timestamp(), 1_795_832_379);
        assert_eq!(generalized_time("20261128021939.747Z"), Some(t));
        assert_eq!(generalized_time("20261128021939"), None);
        assert_eq!(generalized_time("2026112802193Z"), None);
        assert_eq!(generalized_time("20261328021939Z"), None);
    }
}
