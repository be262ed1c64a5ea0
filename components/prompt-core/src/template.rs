//! `{{name}}` templates: parsing, the placeholder list and strict rendering.
//!
//! A placeholder is `{{name}}`, spaces allowed inside the braces (`{{ name }}`), with a name
//! matching `[A-Za-z_][A-Za-z0-9_]*`. Single braces are literal text, so Midjourney
//! permutations such as `{red, blue}` pass through. Positions are character offsets in the
//! body.

use std::collections::HashSet;

use crate::issue::{Code, Issue};

#[cfg(test)]
mod tests;

/// One piece of a parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    /// Text copied as it is.
    Literal(String),
    /// A `{{name}}` starting at character `position` of the body.
    Placeholder { name: String, position: usize },
}

/// The names a template uses, in order of first use, without repeats.
pub fn placeholders(body: &str) -> Result<Vec<String>, Vec<Issue>> {
    let parts = parse(body)?;
    Ok(first_uses(&parts)
        .into_iter()
        .map(|(name, _)| name.to_owned())
        .collect())
}

/// Renders `body` strictly: every placeholder needs a value, every value must be used, and
/// values are inserted literally (never escaped). All problems are reported together.
pub fn render(body: &str, variables: &[(String, String)]) -> Result<String, Vec<Issue>> {
    let parts = parse(body)?;
    let issues = check_variables(&parts, variables);
    if !issues.is_empty() {
        return Err(issues);
    }
    join(&parts, variables)
}

/// Splits `body` into literal text and placeholders, or reports every malformed spot.
fn parse(body: &str) -> Result<Vec<Part>, Vec<Issue>> {
    let chars: Vec<char> = body.chars().collect();
    let mut parser = Parser::default();
    let mut i = 0;
    while i < chars.len() {
        i = parser.step(&chars, i);
    }
    parser.finish()
}

/// State of [`parse`]: the parts so far, the literal being collected, and the issues.
#[derive(Default)]
struct Parser {
    parts: Vec<Part>,
    literal: String,
    issues: Vec<Issue>,
}

impl Parser {
    /// Consumes what starts at `i` and returns where to go on.
    fn step(&mut self, chars: &[char], i: usize) -> usize {
        if starts_with(chars, i, "{{{") {
            self.issues.push(triple_brace(i));
            // Skip the whole `{{{...}}` so its closing braces are not reported again.
            return closing(chars, i + 3).map_or(i + 3, |close| close + 2);
        }
        if starts_with(chars, i, "{{") {
            return self.placeholder(chars, i);
        }
        if starts_with(chars, i, "}}") {
            self.issues.push(stray_close(i));
            return i + 2;
        }
        self.literal.push(chars[i]);
        i + 1
    }

    /// Reads the placeholder opening at `open`.
    fn placeholder(&mut self, chars: &[char], open: usize) -> usize {
        let Some(close) = closing(chars, open + 2) else {
            self.issues.push(unclosed(open));
            return open + 2;
        };

        let inner: String = chars[open + 2..close].iter().collect();
        let name = inner.trim();
        if name.is_empty() {
            self.issues.push(empty_name(open, &inner));
        } else if !is_valid_name(name) {
            self.issues.push(invalid_name(open, name));
        } else {
            self.flush_literal();
            self.parts.push(Part::Placeholder {
                name: name.to_owned(),
                position: open,
            });
        }
        close + 2
    }

    fn flush_literal(&mut self) {
        if !self.literal.is_empty() {
            self.parts
                .push(Part::Literal(std::mem::take(&mut self.literal)));
        }
    }

    fn finish(mut self) -> Result<Vec<Part>, Vec<Issue>> {
        self.flush_literal();
        if self.issues.is_empty() {
            Ok(self.parts)
        } else {
            Err(self.issues)
        }
    }
}

/// Whether `name` matches `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn starts_with(chars: &[char], at: usize, pattern: &str) -> bool {
    (at..)
        .zip(pattern.chars())
        .all(|(i, p)| chars.get(i) == Some(&p))
}

/// Index of the first `}}` at or after `from`, unless a `{{` comes first. Stopping at the
/// next opener keeps parsing linear however many braces a body holds.
fn closing(chars: &[char], from: usize) -> Option<usize> {
    (from..chars.len())
        .find(|&i| starts_with(chars, i, "}}") || starts_with(chars, i, "{{"))
        .filter(|&i| chars[i] == '}')
}

fn triple_brace(at: usize) -> Issue {
    Issue::body(
        Code::InvalidTemplate,
        at,
        format!(
            "`{{{{{{` at character {at}: a placeholder opens with exactly two braces; \
             write `{{{{name}}}}`"
        ),
    )
}

fn stray_close(at: usize) -> Issue {
    Issue::body(
        Code::InvalidTemplate,
        at,
        format!(
            "`}}}}` at character {at} closes no placeholder; remove it or open one with `{{{{`"
        ),
    )
}

fn unclosed(at: usize) -> Issue {
    Issue::body(
        Code::InvalidTemplate,
        at,
        format!("`{{{{` at character {at} is never closed; add `}}}}` after the name"),
    )
}

fn empty_name(at: usize, inner: &str) -> Issue {
    Issue::body(
        Code::InvalidTemplate,
        at,
        format!(
            "placeholder `{{{{{inner}}}}}` at character {at} has no name; \
             write a name such as `{{{{subject}}}}`"
        ),
    )
}

fn invalid_name(at: usize, name: &str) -> Issue {
    Issue::body(
        Code::InvalidTemplate,
        at,
        format!(
            "placeholder name `{name}` at character {at} is invalid; use letters, digits and `_`, \
             starting with a letter or `_`"
        ),
    )
}

/// Each placeholder name with the position of its first use, in order of first use.
fn first_uses(parts: &[Part]) -> Vec<(&str, usize)> {
    let mut seen = HashSet::new();
    parts
        .iter()
        .filter_map(|part| match part {
            Part::Placeholder { name, position } => Some((name.as_str(), *position)),
            Part::Literal(_) => None,
        })
        .filter(|(name, _)| seen.insert(*name))
        .collect()
}

/// Missing, invalid, repeated and unused variables, in placeholder order then given order.
fn check_variables(parts: &[Part], variables: &[(String, String)]) -> Vec<Issue> {
    let uses = first_uses(parts);
    let mut issues = Vec::new();
    for &(name, position) in &uses {
        let mut values = variables.iter().filter(|(k, _)| k == name);
        match values.next() {
            None => issues.push(missing(name, position)),
            Some((_, value)) => issues.extend(check_value(name, value, position)),
        }
        if values.next().is_some() {
            issues.push(given_twice(name, position));
        }
    }
    for (name, _) in variables {
        if !uses.iter().any(|(used, _)| used == name) {
            issues.push(unknown(name));
        }
    }
    issues
}

fn check_value(name: &str, value: &str, position: usize) -> Option<Issue> {
    let problem = if value.trim().is_empty() {
        "is empty; give it some text".to_owned()
    } else if value.contains("{{") || value.contains("}}") {
        format!("(`{value}`) contains `{{{{` or `}}}}`; remove the double braces")
    } else {
        return None;
    };
    Some(Issue::variable(
        Code::InvalidVariable,
        name,
        position,
        format!("value of `{name}` {problem}"),
    ))
}

fn missing(name: &str, position: usize) -> Issue {
    Issue::variable(
        Code::MissingVariable,
        name,
        position,
        format!(
            "no value for `{name}`, used at character {position} of the template; \
             add `{name}` to the variables"
        ),
    )
}

fn given_twice(name: &str, position: usize) -> Issue {
    Issue::variable(
        Code::InvalidVariable,
        name,
        position,
        format!("`{name}` is given more than once; give it one value"),
    )
}

fn unknown(name: &str) -> Issue {
    Issue::variable(
        Code::UnknownVariable,
        name,
        0,
        format!(
            "the template has no placeholder `{name}`; remove `{name}` from the variables \
             or add `{{{{{name}}}}}` to the template"
        ),
    )
}

/// A rendered piece and, for values, the placeholder it came from.
struct Piece<'a> {
    text: &'a str,
    from: Option<(&'a str, usize)>,
}

/// Concatenates the parts with their values; refuses a value whose edge would form `{{` or
/// `}}` with the text beside it, so the output never holds a placeholder-like token.
fn join(parts: &[Part], variables: &[(String, String)]) -> Result<String, Vec<Issue>> {
    let pieces: Vec<Piece> = parts.iter().map(|part| piece(part, variables)).collect();
    let issues: Vec<Issue> = pieces
        .windows(2)
        .filter_map(|pair| brace_seam(&pair[0], &pair[1]))
        .collect();
    if !issues.is_empty() {
        return Err(issues);
    }
    Ok(pieces.iter().map(|p| p.text).collect())
}

fn piece<'a>(part: &'a Part, variables: &'a [(String, String)]) -> Piece<'a> {
    match part {
        Part::Literal(text) => Piece { text, from: None },
        Part::Placeholder { name, position } => {
            // `check_variables` ran first, so every placeholder has a value.
            let value = variables
                .iter()
                .find(|(k, _)| k == name)
                .map_or("", |(_, v)| v.as_str());
            Piece {
                text: value,
                from: Some((name, *position)),
            }
        }
    }
}

fn brace_seam(left: &Piece, right: &Piece) -> Option<Issue> {
    let last = left.text.chars().last()?;
    let first = right.text.chars().next()?;
    if last != first || !matches!(first, '{' | '}') {
        return None;
    }
    let (name, position) = right.from.or(left.from)?;
    let pair = format!("{first}{first}");
    Some(Issue::variable(
        Code::InvalidVariable,
        name,
        position,
        format!(
            "value of `{name}` would form `{pair}` with the text beside `{{{{{name}}}}}`; \
             remove the brace at that end of the value"
        ),
    ))
}
