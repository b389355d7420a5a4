//! A certificate's expiry, read from its DER bytes.
//!
//! Only `tbsCertificate.validity.notAfter` is needed, at a fixed place in every X.509
//! certificate (RFC 5280 §4.1): a walk over five DER headers does it. The X.509 crates
//! would bring derive macros that enable more `syn` features, which rebuilds DuckDB's C++
//! from scratch (`../shared/FACTS.md`, "the syn trap").

use chrono::NaiveDateTime;

/// The content of the DER element at the start of `input` if its tag is `tag`, and what
/// follows it.
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    let (len, rest) = if len < 0x80 {
        (usize::from(len), rest)
    } else {
        // Long form: the low bits count the length's bytes (at most 4 for any certificate).
        let n = usize::from(len & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        (bytes.iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b)), rest)
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// Skips one element of any tag.
fn skip(input: &[u8]) -> Option<&[u8]> {
    element(input, *input.first()?).map(|(_, rest)| rest)
}

/// Unix seconds of the certificate's `notAfter`, or `None` if `der` is not a certificate.
pub fn not_after(der: &[u8]) -> Option<i64> {
    const SEQUENCE: u8 = 0x30;
    let (cert, _) = element(der, SEQUENCE)?;
    let (mut tbs, _) = element(cert, SEQUENCE)?;
    if let Some((_, rest)) = element(tbs, 0xa0) {
        tbs = rest; // the optional [0] version
    }
    let after_serial = skip(tbs)?;
    let after_algorithm = skip(after_serial)?;
    let after_issuer = skip(after_algorithm)?;
    let (validity, _) = element(after_issuer, SEQUENCE)?;
    let after_not_before = skip(validity)?;
    // UTCTime (YYMMDDHHMMSSZ, years 1950-2049) or GeneralizedTime (YYYYMMDDHHMMSSZ).
    let text = match element(after_not_before, 0x17) {
        Some((t, _)) => {
            let yy: i32 = std::str::from_utf8(t.get(..2)?).ok()?.parse().ok()?;
            format!("{}{}", if yy >= 50 { "19" } else { "20" }, std::str::from_utf8(t).ok()?)
        }
        None => std::str::from_utf8(element(after_not_before, 0x18)?.0).ok()?.to_owned(),
    };
    NaiveDateTime::parse_from_str(&text, "%Y%m%d%H%M%SZ").ok().map(|t| t.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DER for `tag`, `content` with a short or long length.
    fn der(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            n @ 0..0x80 => out.push(n as u8),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend(content);
        out
    }

    fn certificate(not_after: Vec<u8>) -> Vec<u8> {
        let validity = der(0x30, &[der(0x17, b"250101000000Z"), not_after].concat());
        let name = der(0x30, &[0u8; 200]); // long enough for the long length form
        let tbs = [der(0xa0, &der(0x02, &[2])), der(0x02, &[1, 2, 3]), der(0x30, &[]), name, validity].concat();
        der(0x30, &[der(0x30, &tbs), der(0x30, &[]), der(0x03, &[0])].concat())
    }

    #[test]
    fn not_after_is_read_from_either_time_form() {
        assert_eq!(not_after(&certificate(der(0x17, b"270102030405Z"))), Some(1_798_859_045));
        assert_eq!(not_after(&certificate(der(0x18, b"20270102030405Z"))), Some(1_798_859_045));
        assert_eq!(not_after(&certificate(der(0x17, b"490101000000Z"))), Some(2_493_072_000));
        assert_eq!(not_after(b"not a certificate"), None);
        assert_eq!(not_after(&certificate(der(0x17, b"99"))), None);
        let cut = certificate(der(0x17, b"270102030405Z"));
        assert_eq!(not_after(&cut[..cut.len() / 2]), None);
    }
}
