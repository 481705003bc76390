//! Date formatting from Unix time, without a clock: the state machines get `now` passed in.

/// RFC 1123 date, as SIP-C's `D:` header carries it: `Thu, 17 Dec 2009 16:13:57 GMT`.
pub fn rfc1123(unix_s: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix_s);
    // 1970-01-01 was a Thursday.
    let wd = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][((unix_s / 86_400) % 7) as usize];
    let mon = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(mo - 1) as usize];
    format!("{wd}, {d:02} {mon} {y:04} {h:02}:{mi:02}:{s:02} GMT")
}

/// ISO 8601 UTC with milliseconds, as MSGR history carries it: `2015-04-29T09:36:41.592Z`.
pub fn iso8601_ms(unix_ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix_ms / 1000);
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        unix_ms % 1000
    )
}

/// (year, month 1–12, day, hour, minute, second) of a Unix time (Howard Hinnant's
/// `civil_from_days`).
fn civil(unix_s: u64) -> (u64, u64, u64, u64, u64, u64) {
    let days = unix_s / 86_400;
    let secs = unix_s % 86_400;
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d, secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1123_matches_seed_004() {
        // The seed's D: value; 1261066437 is 2009-12-17T16:13:57Z.
        assert_eq!(rfc1123(1_261_066_437), "Thu, 17 Dec 2009 16:13:57 GMT");
        assert_eq!(rfc1123(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(rfc1123(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
    }

    #[test]
    fn iso8601_matches_seed_000() {
        assert_eq!(iso8601_ms(1_430_300_201_592), "2015-04-29T09:36:41.592Z");
        assert_eq!(iso8601_ms(5), "1970-01-01T00:00:00.005Z");
    }
}
