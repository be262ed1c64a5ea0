//! `::` multi-prompts: `a::2 b::-0.5 c` is three segments weighted 2, -0.5 and 1.

use super::Segment;
use super::value::decimal;
use crate::issue::{Code, Issue};

/// Weight Midjourney gives `--no` in the multi-prompt sum (`--no red` is `red::-.5`).
pub const NO_WEIGHT: f64 = -0.5;

/// Splits the text part (starting at character 0 of the prompt) into weighted segments.
/// `has_no` says whether the prompt carries `--no`, which counts in the total weight.
pub fn segments(text: &str, has_no: bool) -> (Vec<Segment>, Vec<Issue>) {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Splitter::default();
    let mut i = 0;
    while i + 1 < chars.len() {
        if chars[i] == ':' && chars[i + 1] == ':' {
            i = out.weighted(&chars, i);
        } else {
            i += 1;
        }
    }
    out.tail(&chars);
    out.check_total(has_no);
    (out.segments, out.issues)
}

/// State of [`segments`]: where the current segment starts, what was found so far.
#[derive(Default)]
struct Splitter {
    start: usize,
    first_separator: Option<usize>,
    any_bad_weight: bool,
    segments: Vec<Segment>,
    issues: Vec<Issue>,
}

impl Splitter {
    /// Ends the current segment at the `::` found at `at`; returns where to go on.
    fn weighted(&mut self, chars: &[char], at: usize) -> usize {
        self.first_separator.get_or_insert(at);
        let end = (at + 2..chars.len())
            .find(|&j| chars[j].is_whitespace())
            .unwrap_or(chars.len());
        let written: String = chars[at + 2..end].iter().collect();
        let text: String = chars[self.start..at].iter().collect();
        let text = text.trim();

        let weight = match written.as_str() {
            "" => Some(1.0),
            w => decimal(w),
        };
        if weight.is_none() {
            self.bad(
                at,
                format!(
                    "weight `{written}` after `::` at character {at} is not a number; \
                     write a number such as `::2` or `::-0.5`"
                ),
            );
        }
        if text.is_empty() {
            self.bad(
                at,
                format!(
                    "`::{written}` at character {at} follows no text; \
                     write the text it weighs before it"
                ),
            );
        }
        if let (Some(weight), false) = (weight, text.is_empty()) {
            self.segments.push(Segment {
                text: text.to_owned(),
                weight,
            });
        }
        self.start = end;
        end
    }

    /// The text after the last `::`, weight 1.
    fn tail(&mut self, chars: &[char]) {
        let text: String = chars[self.start..].iter().collect();
        let text = text.trim();
        if !text.is_empty() {
            self.segments.push(Segment {
                text: text.to_owned(),
                weight: 1.0,
            });
        }
    }

    /// Midjourney needs the weights (with `--no` as -0.5) to add up to more than 0.
    fn check_total(&mut self, has_no: bool) {
        if self.any_bad_weight || self.segments.is_empty() {
            return;
        }
        let no = if has_no { NO_WEIGHT } else { 0.0 };
        let total: f64 = self.segments.iter().map(|s| s.weight).sum::<f64>() + no;
        if total > 0.0 {
            return;
        }
        let counting = if has_no {
            " (counting `--no` as -0.5)"
        } else {
            ""
        };
        let at = self.first_separator.unwrap_or(0);
        self.bad(
            at,
            format!(
                "the multi-prompt weights add up to {total}{counting}; the total must be above \
                 0, so raise a weight or drop a negative one"
            ),
        );
    }

    fn bad(&mut self, at: usize, message: String) {
        self.any_bad_weight = true;
        self.issues
            .push(Issue::prompt(Code::InvalidWeight, at, message));
    }
}

#[cfg(test)]
mod tests {
    use super::{Segment, segments};
    use crate::issue::Code;

    fn seg(text: &str, weight: f64) -> Segment {
        Segment {
            text: text.to_owned(),
            weight,
        }
    }

    #[test]
    fn weights_follow_the_double_colon_and_default_to_one() {
        let (segs, issues) = segments("a::2 b::-0.5 c", false);
        assert_eq!(segs, [seg("a", 2.0), seg("b", -0.5), seg("c", 1.0)]);
        assert_eq!(issues, []);
    }

    #[test]
    fn a_missing_number_weighs_one() {
        let (segs, issues) = segments("space:: ship", false);
        assert_eq!(segs, [seg("space", 1.0), seg("ship", 1.0)]);
        assert_eq!(issues, []);
    }

    #[test]
    fn text_without_separators_is_one_segment_of_weight_one() {
        let (segs, issues) = segments("a red fox, in snow", false);
        assert_eq!(segs, [seg("a red fox, in snow", 1.0)]);
        assert_eq!(issues, []);
    }

    #[test]
    fn decimal_weights_without_a_leading_zero_parse() {
        let (segs, _) = segments("still life:: fruit::-.5", false);
        assert_eq!(segs, [seg("still life", 1.0), seg("fruit", -0.5)]);
    }

    #[test]
    fn a_weight_that_is_not_a_number_is_invalid() {
        let (_, issues) = segments("a::x b::1e3 c", false);
        let found: Vec<(Code, usize)> = issues.iter().map(|i| (i.code, i.position)).collect();
        assert_eq!(found, [(Code::InvalidWeight, 1), (Code::InvalidWeight, 6)]);
        assert_eq!(
            issues[0].message,
            "weight `x` after `::` at character 1 is not a number; \
             write a number such as `::2` or `::-0.5`"
        );
    }

    #[test]
    fn a_total_weight_not_above_zero_is_invalid() {
        let (_, issues) = segments("a::1 b::-1", false);
        let found: Vec<(Code, usize)> = issues.iter().map(|i| (i.code, i.position)).collect();
        assert_eq!(found, [(Code::InvalidWeight, 1)]);
        assert_eq!(
            issues[0].message,
            "the multi-prompt weights add up to 0; the total must be above 0, \
             so raise a weight or drop a negative one"
        );
    }

    #[test]
    fn no_counts_as_minus_half_in_the_total() {
        let (_, fine) = segments("a::0.6", true);
        assert_eq!(fine, []);
        let (_, issues) = segments("a::0.5", true);
        assert_eq!(issues.len(), 1);
        assert_eq!(
            issues[0].message,
            "the multi-prompt weights add up to 0 (counting `--no` as -0.5); \
             the total must be above 0, so raise a weight or drop a negative one"
        );
    }

    #[test]
    fn a_weight_with_no_text_before_it_is_invalid() {
        let (segs, issues) = segments("::2 cat", false);
        assert_eq!(segs, [seg("cat", 1.0)]);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].position, 0);
        assert_eq!(
            issues[0].message,
            "`::2` at character 0 follows no text; write the text it weighs before it"
        );
    }
}
