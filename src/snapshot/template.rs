//! Recognises a Helm / Go template given where a rendered manifest was expected.
//!
//! A plain YAML scalar cannot begin with `{`, so `{{` where a value or a line begins, outside a
//! quoted string, a comment or a block scalar (`|`, `>`), is never a string: in a Kubernetes
//! manifest it is a template action (`name: {{ .Release.Name }}`, `{{- if .Values.x }}`).
//! `{{` inside a value (`summary: "{{ $labels.instance }} down"`, or the same unquoted after
//! other text, as alerting rules write it) is valid text and is left alone.

/// The first line (1-based) with a template action, and that line trimmed.
pub fn template_action(text: &str) -> Option<(usize, String)> {
    if !text.contains("{{") {
        return None;
    }
    let mut block: Option<usize> = None; // indent of the key that opened a block scalar
    for (i, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim();
        if let Some(key_indent) = block {
            if body.is_empty() || indent > key_indent {
                continue;
            }
            block = None;
        }
        let code = without_strings_and_comment(body);
        if starts_action(&code) {
            return Some((i + 1, body.to_string()));
        }
        if opens_block_scalar(&code) {
            block = Some(indent);
        }
    }
    None
}

/// Whether a value of the line (the line itself, a list item's, or a key's) begins with `{{`.
fn starts_action(code: &str) -> bool {
    let mut rest = code.trim_start();
    while let Some(r) = rest.strip_prefix("- ") {
        rest = r.trim_start();
    }
    if rest.starts_with("{{") {
        return true;
    }
    rest.match_indices(": ")
        .any(|(at, sep)| rest[at + sep.len()..].trim_start().starts_with("{{"))
}

/// The line ends in `|` or `>` (with chomping or indent indicators): a block scalar follows.
fn opens_block_scalar(code: &str) -> bool {
    let last = code.trim_end().rsplit([' ', ':']).next().unwrap_or_default();
    let mut chars = last.chars();
    matches!(chars.next(), Some('|' | '>')) && chars.all(|c| matches!(c, '-' | '+' | '1'..='9'))
}

/// The line with quoted strings blanked out and its comment cut off.
fn without_strings_and_comment(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some('"') if c == '\\' => {
                chars.next();
                continue;
            }
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if (c == '"' || c == '\'') && matches!(prev, ' ' | ':' | '-' | '[' | '{' | ',') => {
                quote = Some(c);
                out.push('_');
            }
            None if c == '#' && prev == ' ' => break,
            None => out.push(c),
        }
        prev = c;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_actions_are_found_where_a_value_or_line_begins() {
        let rows: &[(&str, &str, Option<usize>)] = &[
            ("value of a key", "a: 1\nname: {{ .Release.Name }}\n", Some(2)),
            ("control line", "{{- if .Values.enabled }}\nkind: Pod\n", Some(1)),
            ("list item", "args:\n  - {{ .Values.arg }}\n", Some(2)),
            ("value after key in list item", "- name: {{ .x }}\n", Some(1)),
            ("quoted: a string", "image: \"{{ .Values.image }}\"\n", None),
            ("single-quoted: a string", "image: '{{ .Values.image }}'\n", None),
            (
                "inside a value: text",
                "summary: Instance {{ $labels.instance }} down\n",
                None,
            ),
            ("comment", "# name: {{ .x }}\nkind: Pod\n", None),
            ("block scalar", "data:\n  t: |\n    {{ .x }}\n  u: 1\n", None),
            (
                "after a block scalar",
                "data:\n  t: |-\n    {{ .x }}\nname: {{ .y }}\n",
                Some(4),
            ),
            ("json-ish flow", "labels: {app: web}\n", None),
            ("no braces", "kind: Pod\n", None),
        ];
        for (rule, text, want) in rows {
            assert_eq!(template_action(text).map(|(l, _)| l), *want, "{rule}");
        }
    }
}
