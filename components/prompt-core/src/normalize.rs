//! Normalisation of a prompt: the exact text that is stored and sent to the provider.

/// Collapses every run of Unicode white space (tabs, newlines, NBSP, ideographic space...)
/// into one ASCII space, trims both ends, and turns an em or en dash directly followed by an
/// ASCII letter into `--` (phones and word processors turn `--ar` into `—ar`).
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let mut space_pending = false;

    while let Some(c) = chars.next() {
        if c.is_whitespace() {
            space_pending = true;
            continue;
        }
        if space_pending && !out.is_empty() {
            out.push(' ');
        }
        space_pending = false;

        let before_letter = chars.peek().is_some_and(char::is_ascii_alphabetic);
        if is_dash(c) && before_letter {
            out.push_str("--");
        } else {
            out.push(c);
        }
    }
    out
}

/// Em dash (U+2014) or en dash (U+2013).
fn is_dash(c: char) -> bool {
    matches!(c, '\u{2014}' | '\u{2013}')
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn collapses_unicode_white_space_runs_into_one_space_and_trims() {
        assert_eq!(
            normalize("\t a\u{a0}\u{a0}cat \n\r in\u{3000}the\u{2009}rain  "),
            "a cat in the rain"
        );
    }

    #[test]
    fn em_dash_before_a_letter_becomes_two_hyphens() {
        assert_eq!(normalize("a cat  \u{2014}ar 16:9"), "a cat --ar 16:9");
    }

    #[test]
    fn en_dash_before_a_letter_becomes_two_hyphens() {
        assert_eq!(normalize("a cat \u{2013}v 6.1"), "a cat --v 6.1");
    }

    #[test]
    fn dashes_not_followed_by_an_ascii_letter_stay() {
        assert_eq!(
            normalize("1990\u{2013}1999 \u{2014} a \u{2014}9 \u{2014}é"),
            "1990\u{2013}1999 \u{2014} a \u{2014}9 \u{2014}é"
        );
    }

    #[test]
    fn blank_text_becomes_empty() {
        assert_eq!(normalize(" \u{a0}\n\t"), "");
    }

    #[test]
    fn literal_characters_are_kept_as_they_are() {
        assert_eq!(
            normalize("Tom & Jerry \"classic\" <3"),
            "Tom & Jerry \"classic\" <3"
        );
    }
}
