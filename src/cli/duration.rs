//! `--max-duration` values: a duration written as people and CI settings write them — `5h30m`,
//! `90m`, `45s`, `1h15m30s` — hours, minutes and seconds, largest first, each at most once.
//! Parsed here rather than with a crate (`humantime` reads far more: `1y 2w`, fractions,
//! spaces), as the form is this small and the error can say what to write instead.

use std::time::Duration;

const EXAMPLES: &str = "write it as hours, minutes and seconds, e.g. 5h30m, 90m or 45s";

/// The longest duration taken, in hours: a year. A budget is added to the clock, and a clock
/// plus `18446744073709551615s` overflows; no job runs this long anyway.
const MAX_HOURS: u64 = 24 * 366;

/// Parse `5h30m`, `90m`, `45s`, `2h`, `1h0m30s`; a number without a unit, an unknown unit, a unit
/// twice or out of order, and zero are refused with a message saying what to write.
pub fn parse(text: &str) -> Result<Duration, String> {
    let mut total: u64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(format!("empty duration: {EXAMPLES}"));
    }
    // the units allowed next, largest first
    let mut units: &[(char, u64)] = &[('h', 3600), ('m', 60), ('s', 1)];
    while !rest.is_empty() {
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if digits == 0 {
            return Err(format!("{text:?} is not a duration: {EXAMPLES}"));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("{text:?} is too long a duration"))?;
        rest = &rest[digits..];
        let Some(unit) = rest.chars().next() else {
            if total == 0 && number == 0 {
                return Err(format!("{text:?} is no time at all: {EXAMPLES}"));
            }
            if units.is_empty() {
                return Err(format!(
                    "{text:?}: nothing can follow the seconds ({EXAMPLES})"
                ));
            }
            // the units that may follow what came before, each as the whole duration: a bare
            // number smallest first (`90s, 90m or 90h`), a last part next unit first (`5h30m`)
            let written = text.trim();
            let mut say: Vec<String> = units.iter().map(|(u, _)| format!("{written}{u}")).collect();
            if units.len() == 3 {
                say.reverse();
            }
            return Err(format!(
                "{text:?} has no unit: say {} ({EXAMPLES})",
                or_list(&say)
            ));
        };
        let Some(at) = units.iter().position(|&(u, _)| u == unit) else {
            return Err(format!(
                "{text:?}: unit {unit:?} is not one of h, m, s in that order ({EXAMPLES})"
            ));
        };
        let seconds = number
            .checked_mul(units[at].1)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("{text:?} is too long a duration"))?;
        total = seconds;
        units = &units[at + 1..];
        rest = &rest[unit.len_utf8()..];
    }
    if total == 0 {
        return Err(format!("{text:?} is no time at all: {EXAMPLES}"));
    }
    if total > MAX_HOURS * 3600 {
        return Err(format!(
            "{text:?} is too long a duration (at most {MAX_HOURS}h, a year)"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// "a", "a or b", "a, b or c".
fn or_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_minutes_and_seconds_largest_first() {
        for (text, secs) in [
            ("5h30m", 19_800),
            ("90m", 5_400),
            ("45s", 45),
            ("2h", 7_200),
            ("1h0m30s", 3_630),
            ("1h15m30s", 4_530),
            ("0h1s", 1),
            ("8784h", 8784 * 3600),
            (" 20s ", 20),
        ] {
            assert_eq!(parse(text), Ok(Duration::from_secs(secs)), "{text}");
        }
    }

    #[test]
    fn anything_else_is_refused_saying_what_to_write() {
        for (text, says) in [
            ("", "empty duration"),
            ("90", "has no unit: say 90s, 90m or 90h"),
            ("5h30", "has no unit: say 5h30m or 5h30s"),
            ("1h30m5", "has no unit: say 1h30m5s"),
            ("0", "no time at all"),
            ("0h30", "has no unit: say 0h30m or 0h30s"),
            (" 90 ", "has no unit: say 90s, 90m or 90h"),
            ("5s3", "nothing can follow the seconds"),
            ("3d", "unit 'd' is not one of h, m, s"),
            ("30m5h", "unit 'h' is not one of h, m, s in that order"),
            ("5m5m", "unit 'm' is not one of h, m, s in that order"),
            ("1.5h", "unit '.'"),
            ("h", "is not a duration"),
            ("-5m", "is not a duration"),
            ("0s", "no time at all"),
            ("99999999999999999999h", "too long"),
            ("9999999999999999h", "too long"),
            ("18446744073709551615s", "too long"),
            ("8785h", "too long"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
            assert!(e.contains("5h30m") || says == "too long", "{text}: {e}");
        }
    }
}
