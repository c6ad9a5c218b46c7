//! Calendar dates for the SQL forms TPC-H uses: `DATE 'yyyy-mm-dd'`,
//! `date ± INTERVAL 'n' DAY|MONTH|YEAR` (folded when both are constants) and
//! `EXTRACT(YEAR|MONTH|DAY FROM d)`. On the native route a date is the TEXT
//! `yyyy-mm-dd` (as DATE columns are read), so dates compare as text.

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Parses `yyyy-mm-dd` (one- or two-digit month and day accepted).
pub fn parse_date(s: &str) -> Option<(i64, u32, u32)> {
    let mut it = s.trim().splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m) && (0..=9999).contains(&y))
        .then_some((y, m, d))
}

/// The day number (days since 1970-01-01) of a date written exactly as
/// [`format_date`] writes it; `None` for any other text. Such texts compare
/// (as bytes) in the order of their day numbers.
pub fn canonical_days(s: &str) -> Option<i32> {
    let d = parse_date(s)?;
    if s.len() != 10 || format_date(d) != s {
        return None;
    }
    i32::try_from(days_from_civil(d.0, d.1, d.2)).ok()
}

/// Day numbers of 0000-01-01 and 9999-12-31: dates in this range are
/// written `yyyy-mm-dd` in ten characters.
pub const CANONICAL_DAYS: std::ops::RangeInclusive<i32> = -719_528..=2_932_896;

/// `yyyy-mm-dd`.
pub fn format_date((y, m, d): (i64, u32, u32)) -> String {
    format!("{y:04}-{m:02}-{d:02}")
}

/// A unit of a date interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Days.
    Day,
    /// Months (the day is clamped to the month's last day).
    Month,
    /// Years (12 months).
    Year,
}

/// `date + n unit` (n may be negative).
pub fn add(date: (i64, u32, u32), n: i64, unit: Unit) -> Option<(i64, u32, u32)> {
    let (y, m, d) = date;
    let r = match unit {
        Unit::Day => civil_from_days(days_from_civil(y, m, d).checked_add(n)?),
        Unit::Month | Unit::Year => {
            let months = if unit == Unit::Year { n.checked_mul(12)? } else { n };
            let total = y.checked_mul(12)?.checked_add(i64::from(m) - 1)?.checked_add(months)?;
            let (ny, nm) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u32);
            (ny, nm, d.min(days_in_month(ny, nm)))
        }
    };
    (0..=9999).contains(&r.0).then_some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_days_are_the_day_numbers() {
        assert_eq!(canonical_days("1970-01-01"), Some(0));
        assert_eq!(canonical_days("1995-06-01"), Some(9282));
        assert_eq!(canonical_days("0000-01-01"), Some(*CANONICAL_DAYS.start()));
        assert_eq!(canonical_days("9999-12-31"), Some(*CANONICAL_DAYS.end()));
        assert_eq!(canonical_days("1995-6-01"), None);
        assert_eq!(canonical_days(" 1995-06-01"), None);
    }

    #[test]
    fn date_arithmetic_matches_the_calendar() {
        let d = parse_date("1998-12-01").unwrap();
        assert_eq!(format_date(add(d, -90, Unit::Day).unwrap()), "1998-09-02");
        let d = parse_date("1995-01-31").unwrap();
        assert_eq!(format_date(add(d, 1, Unit::Month).unwrap()), "1995-02-28");
        assert_eq!(format_date(add(d, 1, Unit::Year).unwrap()), "1996-01-31");
        let d = parse_date("2000-02-29").unwrap();
        assert_eq!(format_date(add(d, 1, Unit::Day).unwrap()), "2000-03-01");
        assert_eq!(format_date(add(d, -1, Unit::Year).unwrap()), "1999-02-28");
        assert!(parse_date("1995-02-30").is_none());
        assert_eq!(format_date(parse_date("1995-3-5").unwrap()), "1995-03-05");
    }
}
