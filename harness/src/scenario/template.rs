//! The `${…}` grammar of scenario strings (scenarios/README.md §3.5), read in one place: by
//! the runner, which evaluates expressions, and by the loader, which checks every variable a
//! case names is set somewhere.
//!
//! ```text
//! template = *( text / "${" expr "}" )      ; `${` nests inside expr
//! expr     = name "(" [ arg *( "," arg ) ] ")" / template
//! ```

/// A piece of a template: literal text or the inside of one `${…}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Piece<'a> {
    /// The text between `${` and its matching `}`, untrimmed.
    Expr(&'a str),
    /// Text copied as written.
    Text(&'a str),
}

/// Splits a template into pieces; `Err` names an unclosed `${`.
pub fn pieces(s: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        let inner_start = start + 2;
        let end =
            matching_brace(rest, inner_start).ok_or_else(|| format!("unclosed `${{` in `{s}`"))?;
        out.push(Piece::Expr(&rest[inner_start..end]));
        rest = &rest[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// A function call `name(a, b)` (the name holds no `${`): its name and raw arguments.
pub fn call(expr: &str) -> Option<(&str, Vec<&str>)> {
    let expr = expr.trim();
    let open = expr.find('(')?;
    if !expr.ends_with(')') || expr[..open].contains("${") {
        return None;
    }
    Some((
        expr[..open].trim(),
        split_args(&expr[open + 1..expr.len() - 1]),
    ))
}

/// The functions `${name(…)}` may call, with their number of arguments.
pub const FUNCTIONS: &[(&str, usize)] =
    &[("fetion_digest", 4), ("len", 1), ("lower", 1), ("upper", 1)];

fn matching_brace(s: &str, from: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Splits function arguments at commas outside `${…}`.
fn split_args(s: &str) -> Vec<&str> {
    let bytes = s.as_bytes();
    let (mut depth, mut start, mut out) = (0usize, 0, Vec::new());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if !s.trim().is_empty() || !out.is_empty() {
        out.push(&s[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_and_calls() {
        assert_eq!(
            pieces("a${x}b${f(${y}, z)}").unwrap(),
            vec![
                Piece::Text("a"),
                Piece::Expr("x"),
                Piece::Text("b"),
                Piece::Expr("f(${y}, z)")
            ]
        );
        assert!(pieces("${x").is_err());
        assert_eq!(call("f(${y}, z)"), Some(("f", vec!["${y}", " z"])));
        assert_eq!(call("x"), None);
        assert_eq!(call("len()"), Some(("len", vec![])));
    }
}
