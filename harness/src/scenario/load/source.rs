//! Where an error points: a file's text scanned for the YAML list items under a key, so a
//! semantic error (unknown actor, bad check, unknown step) names the line and column of the
//! offending item; serde_yaml's own errors carry theirs.

use std::path::{Path, PathBuf};

use crate::scenario::error::ScenarioError;
use crate::scenario::model::Span;

pub(in crate::scenario) fn yaml_error(
    path: &Path,
    text: &str,
    e: &serde_yaml::Error,
) -> ScenarioError {
    // serde_yaml refuses a second document (after the first one deserialized) without a
    // location, and a few whole-document errors (merge keys, repetition limit) carry none
    // either: point at the second document, else at the start of the file.
    let (line, col) = e
        .location()
        .map(|l| (l.line(), l.column()))
        .or_else(|| second_document(text))
        .unwrap_or((1, 1));
    let msg = e.to_string();
    // serde_yaml appends " at line N column M"; the span already says it.
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
    ScenarioError::at(path, line, col, msg)
}

/// Where the second YAML document of `text` starts (1-based line and column): its `---`
/// marker, or, after a `...` end marker, its first content. `None` for a single document.
///
/// A document marker is `---` or `...` at column 1 followed by white space or the line's end;
/// YAML forbids it inside any scalar, so a line scan finds it. Lines break as libyaml counts
/// them: at CRLF, CR, LF, NEL, LS and PS.
pub(in crate::scenario) fn second_document(text: &str) -> Option<(usize, usize)> {
    let mut started = false;
    let mut ended = false;
    let lines = text
        .split("\r\n")
        .flat_map(|l| l.split(['\r', '\n', '\u{85}', '\u{2028}', '\u{2029}']));
    for (i, line) in lines.enumerate() {
        let marker = |m: &str| {
            line.strip_prefix(m)
                .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
        };
        let content = line.trim_start_matches([' ', '\t']);
        if marker("---") {
            if started {
                return Some((i + 1, 1));
            }
            started = true;
        } else if marker("...") {
            ended = started;
        } else if content.is_empty()
            || content.starts_with('#')
            || (!started && line.starts_with('%'))
        {
            // Blank lines, comments and directives make no document.
        } else if ended {
            return Some((i + 1, line.len() - content.len() + 1));
        } else {
            started = true;
        }
    }
    None
}

/// A file's text, for locating items.
pub(in crate::scenario) struct Source {
    pub(in crate::scenario) file: PathBuf,
    pub(in crate::scenario) text: String,
}

impl Source {
    pub(in crate::scenario) fn line_count(&self) -> usize {
        self.text.lines().count()
    }

    pub(in crate::scenario) fn span(&self, line_idx: usize, col: usize) -> Span {
        Span {
            file: self.file.clone(),
            line: line_idx + 1,
            column: col + 1,
        }
    }

    /// An error at the first line that defines `key:` (or line 1).
    pub(in crate::scenario) fn key_error(&self, key: &str, message: String) -> ScenarioError {
        let (line, col) = self
            .text
            .lines()
            .enumerate()
            .find_map(|(i, l)| {
                let t = l.trim_start();
                (t.starts_with(&format!("{key}:")) || t.starts_with(&format!("- {key}:")))
                    .then(|| (i, l.len() - t.len()))
            })
            .unwrap_or((0, 0));
        ScenarioError {
            span: self.span(line, col),
            message,
        }
    }

    /// The error of `b`, at its key when lines `range` show it, else at `span` (the step).
    pub(in crate::scenario) fn bad(
        &self,
        range: (usize, usize),
        span: &Span,
        b: Bad,
    ) -> ScenarioError {
        ScenarioError {
            span: b
                .key
                .as_deref()
                .and_then(|k| self.key_span(range, k))
                .unwrap_or_else(|| span.clone()),
            message: b.message,
        }
    }

    /// The lines `[start, end)` of the item written at `span`: up to the next line indented
    /// no deeper than the item's `-`.
    pub(in crate::scenario) fn item_lines(&self, span: &Span) -> (usize, usize) {
        let start = span.line.saturating_sub(1);
        let col = span.column.saturating_sub(1);
        let end = self
            .text
            .lines()
            .enumerate()
            .skip(start + 1)
            .find(|(_, l)| {
                let t = l.trim_start();
                !t.is_empty() && !t.starts_with('#') && indent(l) <= col
            })
            .map_or_else(|| self.line_count(), |(i, _)| i);
        (start, end)
    }

    /// Where `needle` first appears in lines `[range.0, range.1)`.
    pub(in crate::scenario) fn text_span(
        &self,
        range: (usize, usize),
        needle: &str,
    ) -> Option<Span> {
        self.text
            .lines()
            .enumerate()
            .take(range.1.max(range.0 + 1))
            .skip(range.0)
            .find_map(|(i, line)| line.find(needle).map(|at| self.span(i, at)))
    }

    /// Where `key:` is written in lines `[range.0, range.1)`: as a block key, after `- `, or
    /// inside a flow map (`{ key: … }`).
    pub(in crate::scenario) fn key_span(&self, range: (usize, usize), key: &str) -> Option<Span> {
        let needle = format!("{key}:");
        self.text
            .lines()
            .enumerate()
            .take(range.1.max(range.0 + 1))
            .skip(range.0)
            .find_map(|(i, line)| {
                line.match_indices(&needle).find_map(|(at, _)| {
                    let before = line[..at].trim_end_matches(['"', '\'']);
                    let starts = before.trim_start().trim_start_matches("- ").is_empty()
                        || before.ends_with([' ', '{', ',', '-']);
                    starts.then(|| self.span(i, at))
                })
            })
    }

    /// The (line index, column) of each `- ` item of the block list under the first `key:`
    /// found in lines `[start, end)`. Flow lists (`key: [..]`) yield nothing.
    pub(in crate::scenario) fn items_under(
        &self,
        start: usize,
        end: usize,
        key: &str,
    ) -> Vec<(usize, usize)> {
        let lines: Vec<&str> = self.text.lines().collect();
        let end = end.min(lines.len());
        let mut items = Vec::new();
        let Some(key_line) = (start..end).find(|&i| {
            let t = lines[i].trim_start().trim_start_matches("- ");
            t.starts_with(&format!("{key}:")) && t[key.len() + 1..].trim().is_empty()
        }) else {
            return items;
        };
        let key_indent = indent(lines[key_line]);
        let mut item_indent = None;
        for (i, line) in lines.iter().enumerate().take(end).skip(key_line + 1) {
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let ind = indent(line);
            match item_indent {
                None => {
                    if t.starts_with('-') && ind >= key_indent {
                        item_indent = Some(ind);
                        items.push((i, ind));
                    } else {
                        break;
                    }
                }
                Some(ii) => {
                    if ind < ii || (ind == ii && !t.starts_with('-')) {
                        break;
                    }
                    if ind == ii {
                        items.push((i, ind));
                    }
                }
            }
        }
        items
    }
}

pub(in crate::scenario) fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Item locations, with the line range each item spans (up to the next item).
pub(in crate::scenario) fn item_ranges(
    items: &[(usize, usize)],
    end: usize,
) -> Vec<(usize, usize, usize)> {
    items
        .iter()
        .enumerate()
        .map(|(n, &(line, col))| (line, col, items.get(n + 1).map_or(end, |next| next.0)))
        .collect()
}

/// An error at the first line of `text` (the file `path`) that defines `key:`.
pub(crate) fn key_error_in(path: &Path, text: &str, key: &str, message: String) -> ScenarioError {
    Source {
        file: path.to_path_buf(),
        text: text.to_owned(),
    }
    .key_error(key, message)
}

/// A load error about one key of a step: the message, and the key to point at.
#[derive(Debug)]
pub(in crate::scenario) struct Bad {
    pub(in crate::scenario) key: Option<String>,
    pub(in crate::scenario) message: String,
}

impl Bad {
    pub(in crate::scenario) fn at(key: &str, message: String) -> Self {
        Self {
            key: Some(key.to_owned()),
            message,
        }
    }

    /// The same error with `prefix` before its message.
    pub(in crate::scenario) fn context(self, prefix: &str) -> Self {
        Self {
            message: format!("{prefix}{}", self.message),
            ..self
        }
    }
}

impl From<String> for Bad {
    fn from(message: String) -> Self {
        Self { key: None, message }
    }
}

/// ` (did you mean `x`?)` when one of `known` is within two edits of `word`.
pub(crate) fn did_you_mean(word: &str, known: &[&str]) -> String {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(word, k), *k))
        .filter(|&(d, k)| d > 0 && d <= 2 && d < k.len())
        .min()
        .map_or_else(String::new, |(_, k)| format!(" (did you mean `{k}`?)"))
}
