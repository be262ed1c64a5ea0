//! Banned words and phrases: whole-word, case-insensitive matches in the normalised prompt.

use crate::issue::{Code, Issue};
use crate::normalize::normalize;

/// Prepares a configured entry for matching: white space collapsed, trimmed, lower case.
pub fn prepare(entry: &str) -> String {
    normalize(entry).to_lowercase()
}

/// Every occurrence of every banned entry in `text` (normalised), as `banned_word` issues.
/// A letter or digit (in any script) directly before or after a match means it is part of
/// a longer word and does not count. `banned` entries must come from [`prepare`].
pub fn find(text: &str, banned: &[String]) -> Vec<Issue> {
    let original: Vec<char> = text.chars().collect();
    let folded = fold(&original);
    banned
        .iter()
        .filter(|entry| !entry.is_empty())
        .flat_map(|entry| matches(&original, &folded, entry))
        .collect()
}

/// The lower-case form of each character, tagged with the index of the character it came
/// from (one character may lower-case to several).
fn fold(original: &[char]) -> Vec<(char, usize)> {
    original
        .iter()
        .enumerate()
        .flat_map(|(k, c)| c.to_lowercase().map(move |l| (l, k)))
        .collect()
}

fn matches(original: &[char], folded: &[(char, usize)], entry: &str) -> Vec<Issue> {
    let word: Vec<char> = entry.chars().collect();
    if word.len() > folded.len() {
        return Vec::new();
    }
    (0..=folded.len() - word.len())
        .filter_map(|s| matched_span(folded, s, &word))
        .filter(|&(first, last)| is_whole_word(original, first, last))
        .map(|(first, last)| issue(original, first, last, entry))
        .collect()
}

/// The original character span when `word` matches the folded text at `start` on whole
/// characters.
fn matched_span(folded: &[(char, usize)], start: usize, word: &[char]) -> Option<(usize, usize)> {
    let end = start + word.len();
    let same = folded[start..end].iter().map(|(c, _)| c).eq(word.iter());
    let starts_char = start == 0 || folded[start - 1].1 != folded[start].1;
    let ends_char = end == folded.len() || folded[end].1 != folded[end - 1].1;
    (same && starts_char && ends_char).then(|| (folded[start].1, folded[end - 1].1))
}

fn is_whole_word(original: &[char], first: usize, last: usize) -> bool {
    let before = first.checked_sub(1).map(|i| original[i]);
    let after = original.get(last + 1).copied();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

fn issue(original: &[char], first: usize, last: usize, entry: &str) -> Issue {
    let found: String = original[first..=last].iter().collect();
    Issue::prompt(
        Code::BannedWord,
        first,
        format!(
            "`{entry}` is a banned word (found `{found}` at character {first}); \
             remove or rephrase it"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::{find, prepare};
    use crate::issue::Code;
    use crate::normalize::normalize;

    fn list(entries: &[&str]) -> Vec<String> {
        entries.iter().map(|e| prepare(e)).collect()
    }

    /// (matched entry position, message) of each issue for `prompt` after normalisation.
    fn hits(prompt: &str, entries: &[&str]) -> Vec<(usize, String)> {
        find(&normalize(prompt), &list(entries))
            .into_iter()
            .inspect(|i| assert_eq!((i.code, i.field.as_str()), (Code::BannedWord, "prompt")))
            .map(|i| (i.position, i.message))
            .collect()
    }

    const C07: &[&str] = &["ass", "bra", "nude", "no clothes"];

    #[test]
    fn c07_words_inside_longer_words_pass() {
        for prompt in [
            "green grass, classic glass",
            "zebra and cobra in Brazil",
            "apple",
        ] {
            assert_eq!(hits(prompt, C07), [], "{prompt}");
        }
    }

    #[test]
    fn c07_whole_words_are_refused_in_any_case_naming_the_word() {
        assert_eq!(
            hits("Nude figure", C07),
            [(
                0,
                "`nude` is a banned word (found `Nude` at character 0); remove or rephrase it"
                    .to_owned()
            )]
        );
        assert_eq!(
            hits("NUDE", C07),
            [(
                0,
                "`nude` is a banned word (found `NUDE` at character 0); remove or rephrase it"
                    .to_owned()
            )]
        );
    }

    #[test]
    fn c07_phrases_match_across_collapsed_white_space() {
        assert_eq!(
            hits("no  clothes", C07),
            [(
                0,
                "`no clothes` is a banned word (found `no clothes` at character 0); \
                 remove or rephrase it"
                    .to_owned()
            )]
        );
        assert_eq!(
            hits("a figure,\tNo\u{a0}Clothes!", &["no   clothes"]).len(),
            1
        );
    }

    #[test]
    fn letters_and_digits_of_any_script_are_word_characters() {
        assert_eq!(hits("nudeé", &["nude"]), []);
        assert_eq!(hits("猫nude", &["nude"]), []);
        assert_eq!(hits("nude2", &["nude"]), []);
        assert_eq!(hits("«nude»", &["nude"]).len(), 1);
        assert_eq!(hits("nude's", &["nude"]).len(), 1);
        assert_eq!(hits("_nude_", &["nude"]).len(), 1);
    }

    #[test]
    fn every_occurrence_is_reported_at_its_character_position() {
        let found: Vec<usize> = hits("猫 gore, GORE and naked", &["gore", "naked"])
            .into_iter()
            .map(|(position, _)| position)
            .collect();
        assert_eq!(found, [2, 8, 17]);
    }

    #[test]
    fn non_ascii_banned_words_match_case_insensitively() {
        assert_eq!(hits("ÉPÉE au clair", &["épée"]).len(), 1);
    }

    #[test]
    fn case_is_compared_per_character_without_full_case_folding() {
        // `ß` lower-cases to itself, so it never equals `ss`.
        assert_eq!(hits("straße", &["STRASSE"]), []);
        assert_eq!(hits("STRASSE", &["strasse"]).len(), 1);
    }

    #[test]
    fn blank_entries_match_nothing() {
        assert_eq!(hits("anything at all", &["", "  "]), []);
    }
}
