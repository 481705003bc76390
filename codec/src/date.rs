//! Dates as the protocols write them, converted to and from Unix time. No clock: a caller
//! formats its own `now`.
//!
//! * RFC 1123 dates, as SIP `Date` (RFC 3261 §20.17), SIP-C `D:` (docs/protocols/fetion.md
//!   §4, seed 004) and HTTP (RFC 7231 §7.1.1.1, whose `IMF-fixdate` is the same form) write
//!   them: [`format_rfc1123`], [`parse_rfc1123`].
//!
//!   ```text
//!   ; RFC 3261 §25.1
//!   SIP-date      =  rfc1123-date
//!   rfc1123-date  =  wkday "," SP date1 SP time SP "GMT"
//!   date1         =  2DIGIT SP month SP 4DIGIT
//!                    ; day month year (e.g., 02 Jun 1982)
//!   time          =  2DIGIT ":" 2DIGIT ":" 2DIGIT
//!                    ; 00:00:00 - 23:59:59
//!   wkday         =  "Mon" / "Tue" / "Wed" / "Thu" / "Fri" / "Sat" / "Sun"
//!   month         =  "Jan" / "Feb" / "Mar" / "Apr" / "May" / "Jun"
//!                    / "Jul" / "Aug" / "Sep" / "Oct" / "Nov" / "Dec"
//!   ; RFC 7231 §7.1.1.1: day-name, month and "GMT" are case-sensitive
//!   ```
//!
//!   Beyond the shape, the day must exist in its month, the time must be at most `23:59:59`
//!   (no leap second), the year at least 1970, and the week day must be the one the date
//!   falls on: a conformance suite wants to hear about a server that writes `Mon` for a
//!   Thursday.
//! * ISO 8601 UTC instants with milliseconds, as MSNP MSGR history (seed 000), LeanCloud
//!   `createdAt`/`updatedAt` and CPIM `DateTime` (RFC 3862 §4.5, an RFC 3339 `date-time`)
//!   carry them: [`format_iso8601_ms`], [`parse_iso8601_ms`]. The codec writes and reads one
//!   profile of RFC 3339 §5.6, the one these sources show:
//!
//!   ```text
//!   instant = 4DIGIT "-" 2DIGIT "-" 2DIGIT "T" 2DIGIT ":" 2DIGIT ":" 2DIGIT "." 3DIGIT "Z"
//!             ; 2015-04-29T09:36:41.592Z
//!   ```

use crate::{Error, ErrorKind, scan};

/// 9999-12-31T23:59:59Z, the last instant with a four-digit year: the largest Unix second
/// [`format_rfc1123`] and [`format_iso8601_ms`] write in the form their parsers accept.
pub const MAX_UNIX_SECS: u64 = 253_402_300_799;

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Formats Unix seconds as an RFC 1123 date (`Thu, 17 Dec 2009 16:13:57 GMT`). Past
/// [`MAX_UNIX_SECS`] the year has more than four digits, which [`parse_rfc1123`] rejects.
pub fn format_rfc1123(unix_secs: u64) -> String {
    let days = unix_secs / 86_400;
    let (year, month, day) = civil_from_days(days);
    let (hour, minute, second) = time_of_day(unix_secs);
    let wkday = WEEKDAYS
        .get(usize::try_from((days + 4) % 7).unwrap_or_default())
        .copied()
        .unwrap_or("Sun");
    let month = MONTHS
        .get(usize::try_from(month - 1).unwrap_or_default())
        .copied()
        .unwrap_or("Jan");
    format!("{wkday}, {day:02} {month} {year:04} {hour:02}:{minute:02}:{second:02} GMT")
}

/// Parses an RFC 1123 date (see the module docs) to Unix seconds. Errors are
/// [`ErrorKind::BadHeaderValue`] at the first byte that does not fit; a week day that does
/// not match the date is an error at its first byte.
pub fn parse_rfc1123(value: &str) -> Result<u64, Error> {
    // Fixed-width: check the shape byte by byte so the offset names the first wrong byte.
    // Placeholders: `w`/`b` letters (week day, month), `d`/`y`/`h`/`m`/`s` digits; anything
    // else is literal (the `M` of `GMT` too).
    const SHAPE: &[u8; 29] = b"www, dd bbb yyyy hh:mm:ss GMT";
    let b = value.as_bytes();
    check_shape(b, SHAPE)?;
    let num = |from: usize, to: usize| decimal(value, from, to);
    let wkday = WEEKDAYS
        .iter()
        .position(|w| *w == slice(value, 0, 3))
        .ok_or(bad(0))?;
    let month = MONTHS
        .iter()
        .position(|m| *m == slice(value, 8, 11))
        .ok_or(bad(8))? as u64
        + 1;
    let days = civil_checked(num(12, 16), month, num(5, 7), [12, 8, 5])?;
    let secs = time_checked(num(17, 19), num(20, 22), num(23, 25), 17)?;
    if usize::try_from((days + 4) % 7).ok() != Some(wkday) {
        return Err(bad(0));
    }
    Ok(days * 86_400 + secs)
}

/// Formats Unix milliseconds as an ISO 8601 UTC instant (`2015-04-29T09:36:41.592Z`).
pub fn format_iso8601_ms(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let (year, month, day) = civil_from_days(secs / 86_400);
    let (hour, minute, second) = time_of_day(secs);
    format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{:03}Z",
        unix_ms % 1000
    )
}

/// Parses an ISO 8601 UTC instant in the profile of the module docs to Unix milliseconds.
/// Errors are [`ErrorKind::BadHeaderValue`] at the first byte that does not fit.
pub fn parse_iso8601_ms(value: &str) -> Result<u64, Error> {
    const SHAPE: &[u8; 24] = b"yyyy-nn-ddThh:mm:ss.fffZ";
    check_shape(value.as_bytes(), SHAPE)?;
    let num = |from: usize, to: usize| decimal(value, from, to);
    let days = civil_checked(num(0, 4), num(5, 7), num(8, 10), [0, 5, 8])?;
    let secs = time_checked(num(11, 13), num(14, 16), num(17, 19), 11)?;
    Ok((days * 86_400 + secs) * 1000 + num(20, 23))
}

/// Checks `b` against a fixed-width `shape`: lower-case `dyhmnsf` are digits, `w` and `M`
/// letters, anything else itself.
fn check_shape(b: &[u8], shape: &[u8]) -> Result<(), Error> {
    for (i, &want) in shape.iter().enumerate() {
        let Some(&got) = b.get(i) else {
            return Err(bad(i));
        };
        let ok = match want {
            b'd' | b'y' | b'h' | b'm' | b'n' | b's' | b'f' => got.is_ascii_digit(),
            b'w' | b'b' => got.is_ascii_alphabetic(),
            _ => got == want,
        };
        if !ok {
            return Err(bad(i));
        }
    }
    if b.len() > shape.len() {
        return Err(bad(shape.len()));
    }
    Ok(())
}

/// Days since 1970-01-01 of a date whose fields are at byte offsets `at` (year, month,
/// day), or an error at the first field that is out of range.
fn civil_checked(year: u64, month: u64, day: u64, at: [usize; 3]) -> Result<u64, Error> {
    let [y_at, m_at, d_at] = at;
    if year < 1970 {
        return Err(bad(y_at));
    }
    if !(1..=12).contains(&month) {
        return Err(bad(m_at));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(bad(d_at));
    }
    Ok(days_from_civil(year, month, day))
}

/// Seconds into the day of `hh:mm:ss` starting at byte `at`, or an error at the field out of
/// range (no leap second).
fn time_checked(hour: u64, minute: u64, second: u64, at: usize) -> Result<u64, Error> {
    if hour > 23 {
        return Err(bad(at));
    }
    if minute > 59 {
        return Err(bad(at + 3));
    }
    if second > 59 {
        return Err(bad(at + 6));
    }
    Ok(hour * 3600 + minute * 60 + second)
}

fn time_of_day(unix_secs: u64) -> (u64, u64, u64) {
    let secs = unix_secs % 86_400;
    (secs / 3600, secs / 60 % 60, secs % 60)
}

/// Howard Hinnant's `days_from_civil`, for years from 1970 (so every value is non-negative).
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).saturating_sub(719_468)
}

/// The inverse of [`days_from_civil`]: `(year, month, day)` of a day count since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The decimal digits of `value[from..to]` (already checked to be digits).
fn decimal(value: &str, from: usize, to: usize) -> u64 {
    scan::decimal(slice(value, from, to).as_bytes(), 4).unwrap_or_default()
}

fn slice(s: &str, from: usize, to: usize) -> &str {
    s.get(from..to).unwrap_or_default()
}

fn bad(offset: usize) -> Error {
    Error::new(ErrorKind::BadHeaderValue, offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn date_rfc1123_seed_004_and_edges() {
        // Seed 004's `D:` value.
        assert_eq!(
            format_rfc1123(1_261_066_437),
            "Thu, 17 Dec 2009 16:13:57 GMT"
        );
        assert_eq!(
            parse_rfc1123("Thu, 17 Dec 2009 16:13:57 GMT"),
            Ok(1_261_066_437)
        );
        assert_eq!(format_rfc1123(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(format_rfc1123(951_782_400), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(
            format_rfc1123(MAX_UNIX_SECS),
            "Fri, 31 Dec 9999 23:59:59 GMT"
        );
        // RFC 3261 §20.17's example.
        assert_eq!(
            parse_rfc1123("Sat, 13 Nov 2010 23:29:00 GMT"),
            Ok(1_289_690_940)
        );
        // RFC 7231 §7.1.1.1's example.
        assert_eq!(
            parse_rfc1123("Sun, 06 Nov 1994 08:49:37 GMT"),
            Ok(784_111_777)
        );
    }

    #[test]
    fn date_rfc1123_rejects_at_the_wrong_byte() {
        let at = |s: &str| parse_rfc1123(s).map_err(|e| (e.kind(), e.offset()));
        let bad = |o| Err((ErrorKind::BadHeaderValue, o));
        assert_eq!(
            at("Mon, 17 Dec 2009 16:13:57 GMT"),
            bad(0),
            "week day of another day"
        );
        assert_eq!(at("Thx, 17 Dec 2009 16:13:57 GMT"), bad(0));
        assert_eq!(at("Thu, 17 Dez 2009 16:13:57 GMT"), bad(8));
        assert_eq!(at("Thu, 7 Dec 2009 16:13:57 GMT"), bad(6));
        assert_eq!(
            at("Thu, 17 dec 2009 16:13:57 GMT"),
            bad(8),
            "month is case-sensitive"
        );
        assert_eq!(at("Thu, 17 Dec 2009 16:13:57 UTC"), bad(26));
        assert_eq!(at("Thu, 17 Dec 2009 16:13:57 GMT "), bad(29));
        assert_eq!(at("Wed, 31 Dec 1969 23:59:59 GMT"), bad(12));
        assert_eq!(at("Sat, 29 Feb 2003 00:00:00 GMT"), bad(5));
        assert_eq!(at("Thu, 17 Dec 2009 24:00:00 GMT"), bad(17));
        assert_eq!(at("Thu, 17 Dec 2009 16:60:00 GMT"), bad(20));
        assert_eq!(
            at("Thu, 17 Dec 2009 16:13:60 GMT"),
            bad(23),
            "no leap second"
        );
        assert_eq!(at(""), bad(0));
    }

    #[test]
    fn date_iso8601_seed_000_and_edges() {
        assert_eq!(
            format_iso8601_ms(1_430_300_201_592),
            "2015-04-29T09:36:41.592Z"
        );
        assert_eq!(
            parse_iso8601_ms("2015-04-29T09:36:41.592Z"),
            Ok(1_430_300_201_592)
        );
        assert_eq!(format_iso8601_ms(5), "1970-01-01T00:00:00.005Z");
        let at = |s: &str| parse_iso8601_ms(s).map_err(|e| e.offset());
        assert_eq!(at("2015-13-29T09:36:41.592Z"), Err(5));
        assert_eq!(at("2015-02-29T09:36:41.592Z"), Err(8));
        assert_eq!(at("2015-04-29 09:36:41.592Z"), Err(10));
        assert_eq!(at("2015-04-29T09:36:41Z"), Err(19));
        assert_eq!(at("2015-04-29T09:36:41.592+00:00"), Err(23));
        assert_eq!(at("2015-04-29T09:36:61.592Z"), Err(17));
    }

    proptest! {
        #[test]
        fn date_rfc1123_round_trips(secs in 0..=MAX_UNIX_SECS) {
            let text = format_rfc1123(secs);
            prop_assert_eq!(parse_rfc1123(&text), Ok(secs));
        }

        #[test]
        fn date_iso8601_round_trips(ms in 0..=MAX_UNIX_SECS * 1000 + 999) {
            let text = format_iso8601_ms(ms);
            prop_assert_eq!(parse_iso8601_ms(&text), Ok(ms));
        }

        #[test]
        fn date_rfc1123_accepts_only_what_it_writes(s in "[A-Za-z]{3}, [0-9]{2} [A-Za-z]{3} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT") {
            if let Ok(secs) = parse_rfc1123(&s) {
                prop_assert_eq!(format_rfc1123(secs), s);
            }
        }
    }

    /// Fuzz finding `sip_parse-f4c51842`: the `M` of the literal `GMT` was the month
    /// placeholder of the shape, so `GLT` (any letter there) was read as GMT and written back
    /// as `GMT`.
    #[test]
    fn fuzz_sip_parse_f4c51842_zone_is_literal_gmt() {
        assert_eq!(
            parse_rfc1123("Mon, 10 Jul 2000 03:55:07 GLT").map_err(|e| e.offset()),
            Err(27)
        );
        assert_eq!(
            parse_rfc1123("Mon, 10 Jul 2000 03:55:07 GMT"),
            Ok(963_201_307)
        );
    }
}
