//! Calico selector expressions: tokenizer, parser, normalized printing and evaluation, following
//! Calico's own tokenizer and grammar (libcalico-go `selector/tokenizer`, `parser`).
//!
//! Invariant: parsing never panics and reports the 1-based column (in characters) of the first
//! offending input; the normalized form (`Display`) parses back to the same value.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::common::{LabelSource, Lookup, Tri};

/// A parsed Calico selector expression. `Display` prints a normalized form that parses back to
/// the same value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalicoSelector {
    /// `all()` (also the empty expression).
    All,
    /// `global()`: non-namespaced resources; never matches a pod.
    Global,
    /// `has(key)`.
    Has(String),
    /// `key == 'v'`.
    Eq(String, String),
    /// `key != 'v'`: also true when the key is absent.
    Ne(String, String),
    /// `key in {'a', 'b'}`.
    In(String, BTreeSet<String>),
    /// `key not in {'a', 'b'}`: also true when the key is absent.
    NotIn(String, BTreeSet<String>),
    /// `key contains 's'`.
    Contains(String, String),
    /// `key starts with 's'`.
    StartsWith(String, String),
    /// `key ends with 's'`.
    EndsWith(String, String),
    Not(Box<CalicoSelector>),
    /// Two or more operands, none of them an `And`.
    And(Vec<CalicoSelector>),
    /// Two or more operands, none of them an `Or`.
    Or(Vec<CalicoSelector>),
}

/// Why a Calico selector does not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorError {
    /// 1-based column (in characters) of the offending input.
    pub column: usize,
    pub message: String,
}

impl fmt::Display for SelectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

impl std::error::Error for SelectorError {}

impl CalicoSelector {
    /// Whether the labels satisfy the expression (`global()` never does: it is for
    /// non-namespaced resources, not pods).
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.evaluate(labels) == Tri::Yes
    }

    pub(super) fn evaluate(&self, labels: &dyn LabelSource) -> Tri {
        use CalicoSelector as S;
        let value_test = |key: &str, f: &dyn Fn(Option<&str>) -> bool| match labels.lookup(key) {
            Lookup::Unknown => Tri::Maybe,
            Lookup::Known(v) => Tri::of(f(v)),
        };
        match self {
            S::All => Tri::Yes,
            S::Global => Tri::No,
            S::Has(k) => value_test(k, &|v| v.is_some()),
            S::Eq(k, x) => value_test(k, &|v| v == Some(x.as_str())),
            S::Ne(k, x) => value_test(k, &|v| v != Some(x.as_str())),
            S::In(k, set) => value_test(k, &|v| v.is_some_and(|v| set.contains(v))),
            S::NotIn(k, set) => value_test(k, &|v| v.is_none_or(|v| !set.contains(v))),
            S::Contains(k, x) => value_test(k, &|v| v.is_some_and(|v| v.contains(x.as_str()))),
            S::StartsWith(k, x) => value_test(k, &|v| v.is_some_and(|v| v.starts_with(x.as_str()))),
            S::EndsWith(k, x) => value_test(k, &|v| v.is_some_and(|v| v.ends_with(x.as_str()))),
            S::Not(x) => x.evaluate(labels).not(),
            S::And(xs) => xs.iter().fold(Tri::Yes, |acc, x| acc.and(x.evaluate(labels))),
            S::Or(xs) => xs.iter().fold(Tri::No, |acc, x| acc.or(x.evaluate(labels))),
        }
    }

    /// The label keys the expression reads.
    pub(super) fn keys(&self) -> BTreeSet<&str> {
        use CalicoSelector as S;
        let mut out = BTreeSet::new();
        let mut stack = vec![self];
        while let Some(s) = stack.pop() {
            match s {
                S::All | S::Global => {}
                S::Has(k)
                | S::Eq(k, _)
                | S::Ne(k, _)
                | S::In(k, _)
                | S::NotIn(k, _)
                | S::Contains(k, _)
                | S::StartsWith(k, _)
                | S::EndsWith(k, _) => {
                    out.insert(k.as_str());
                }
                S::Not(x) => stack.push(x),
                S::And(xs) | S::Or(xs) => stack.extend(xs.iter()),
            }
        }
        out
    }

    fn negate(self) -> CalicoSelector {
        match self {
            CalicoSelector::Not(x) => *x,
            x => CalicoSelector::Not(Box::new(x)),
        }
    }
}

fn quoted(s: &str) -> String {
    if s.contains('"') {
        format!("'{s}'")
    } else {
        format!("\"{s}\"")
    }
}

impl fmt::Display for CalicoSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use CalicoSelector as S;
        let set = |xs: &BTreeSet<String>| xs.iter().map(|x| quoted(x)).collect::<Vec<_>>().join(", ");
        match self {
            S::All => f.write_str("all()"),
            S::Global => f.write_str("global()"),
            S::Has(k) => write!(f, "has({k})"),
            S::Eq(k, v) => write!(f, "{k} == {}", quoted(v)),
            S::Ne(k, v) => write!(f, "{k} != {}", quoted(v)),
            S::In(k, xs) => write!(f, "{k} in {{{}}}", set(xs)),
            S::NotIn(k, xs) => write!(f, "{k} not in {{{}}}", set(xs)),
            S::Contains(k, v) => write!(f, "{k} contains {}", quoted(v)),
            S::StartsWith(k, v) => write!(f, "{k} starts with {}", quoted(v)),
            S::EndsWith(k, v) => write!(f, "{k} ends with {}", quoted(v)),
            S::Not(x) => match **x {
                S::And(_) | S::Or(_) => write!(f, "!({x})"),
                S::Has(_) | S::All | S::Global => write!(f, "!{x}"),
                // `!k == "v"` would read as a comparison of `!k`; parenthesize for the reader.
                _ => write!(f, "!({x})"),
            },
            S::And(xs) => {
                let parts: Vec<String> = xs
                    .iter()
                    .map(|x| {
                        if matches!(x, S::Or(_)) {
                            format!("({x})")
                        } else {
                            x.to_string()
                        }
                    })
                    .collect();
                f.write_str(&parts.join(" && "))
            }
            S::Or(xs) => f.write_str(&xs.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(" || ")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    Eq,
    Ne,
    Not,
    And,
    Or,
    In,
    NotIn,
    Contains,
    StartsWith,
    EndsWith,
    All,
    Global,
    Has(String),
    Label(String),
    Str(String),
    Eof,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::LParen => f.write_str("'('"),
            Tok::RParen => f.write_str("')'"),
            Tok::LBrace => f.write_str("'{'"),
            Tok::RBrace => f.write_str("'}'"),
            Tok::Comma => f.write_str("','"),
            Tok::Eq => f.write_str("'=='"),
            Tok::Ne => f.write_str("'!='"),
            Tok::Not => f.write_str("'!'"),
            Tok::And => f.write_str("'&&'"),
            Tok::Or => f.write_str("'||'"),
            Tok::In => f.write_str("'in'"),
            Tok::NotIn => f.write_str("'not in'"),
            Tok::Contains => f.write_str("'contains'"),
            Tok::StartsWith => f.write_str("'starts with'"),
            Tok::EndsWith => f.write_str("'ends with'"),
            Tok::All => f.write_str("all()"),
            Tok::Global => f.write_str("global()"),
            Tok::Has(k) => write!(f, "has({k})"),
            Tok::Label(k) => write!(f, "label '{k}'"),
            Tok::Str(s) => write!(f, "string {}", quoted(s)),
            Tok::Eof => f.write_str("end of input"),
        }
    }
}

fn is_label_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')
}

/// An error at byte offset `byte` of `src`, reported by its 1-based character column.
fn error_at(src: &str, byte: usize, message: String) -> SelectorError {
    SelectorError {
        column: src[..byte].chars().count() + 1,
        message,
    }
}

fn expected_operator(label: &str) -> String {
    format!("expected an operator (==, !=, in, not in, contains, starts with, ends with) after label '{label}'")
}

/// Calico's tokenizer: whitespace is space and tab; labels are `[A-Za-z0-9_./-]+`; after a
/// label the words `contains`, `starts with`, `ends with`, `not in`, `in` are operators.
struct Tokenizer<'s> {
    src: &'s str,
    pos: usize,
}

impl<'s> Tokenizer<'s> {
    fn err(&self, byte: usize, message: impl Into<String>) -> SelectorError {
        error_at(self.src, byte, message.into())
    }

    fn rest(&self) -> &'s str {
        &self.src[self.pos..]
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn label(&mut self) -> Option<String> {
        let rest = self.rest();
        let n = rest.find(|c: char| !is_label_char(c)).unwrap_or(rest.len());
        if n == 0 {
            return None;
        }
        self.pos += n;
        Some(rest[..n].to_string())
    }

    fn tokens(mut self) -> Result<Vec<(Tok, usize)>, SelectorError> {
        let mut out: Vec<(Tok, usize)> = Vec::new();
        loop {
            self.skip_ws();
            let start = self.pos;
            let Some(c) = self.rest().chars().next() else {
                out.push((Tok::Eof, start));
                return Ok(out);
            };
            let after_label = matches!(out.last(), Some((Tok::Label(_), _)));
            let tok = match c {
                '(' | ')' | '{' | '}' | ',' => {
                    self.pos += 1;
                    match c {
                        '(' => Tok::LParen,
                        ')' => Tok::RParen,
                        '{' => Tok::LBrace,
                        '}' => Tok::RBrace,
                        _ => Tok::Comma,
                    }
                }
                '"' | '\'' => self.string(start, c)?,
                '=' if self.eat("==") => Tok::Eq,
                '=' => return Err(self.err(start, "expected '=='")),
                '!' if self.eat("!=") => Tok::Ne,
                '!' => {
                    self.pos += 1;
                    Tok::Not
                }
                '&' if self.eat("&&") => Tok::And,
                '&' => return Err(self.err(start, "expected '&&'")),
                '|' if self.eat("||") => Tok::Or,
                '|' => return Err(self.err(start, "expected '||'")),
                _ if after_label => self.operator_word(start, &out)?,
                _ if self.eat("has(") => self.has()?,
                _ if self.eat("all(") || self.eat("global(") => self.call(start)?,
                _ => match self.label() {
                    Some(l) => Tok::Label(l),
                    None => return Err(self.err(start, format!("unexpected character {c:?}"))),
                },
            };
            out.push((tok, start));
        }
    }

    /// A string quoted by `quote` (no escapes: the other quote character may appear inside).
    fn string(&mut self, start: usize, quote: char) -> Result<Tok, SelectorError> {
        let body = &self.rest()[1..];
        let Some(end) = body.find(quote) else {
            return Err(self.err(start, "unterminated string"));
        };
        self.pos += 1 + end + 1;
        Ok(Tok::Str(body[..end].to_string()))
    }

    /// The rest of `has(key)`, after `has(`.
    fn has(&mut self) -> Result<Tok, SelectorError> {
        self.skip_ws();
        let Some(key) = self.label() else {
            return Err(self.err(self.pos, "expected a label name in has(...)"));
        };
        self.skip_ws();
        if !self.eat(")") {
            return Err(self.err(self.pos, format!("expected ')' after has({key}")));
        }
        Ok(Tok::Has(key))
    }

    /// The rest of `all()` or `global()`, after the opening parenthesis.
    fn call(&mut self, start: usize) -> Result<Tok, SelectorError> {
        let tok = if self.src[start..].starts_with("all(") {
            Tok::All
        } else {
            Tok::Global
        };
        self.skip_ws();
        if !self.eat(")") {
            return Err(self.err(self.pos, format!("expected ')' after {}", &self.src[start..self.pos])));
        }
        Ok(tok)
    }

    fn operator_word(&mut self, start: usize, out: &[(Tok, usize)]) -> Result<Tok, SelectorError> {
        let label = match out.last() {
            Some((Tok::Label(l), _)) => l.clone(),
            _ => String::new(),
        };
        let mut two = |first: &str, tok: Tok| {
            if self.eat(first) {
                self.skip_ws();
                if self.eat(if first == "not" { "in" } else { "with" }) {
                    return Ok(Some(tok));
                }
                return Err(self.err(start, expected_operator(&label)));
            }
            Ok(None)
        };
        if let Some(t) = two("starts", Tok::StartsWith)? {
            return Ok(t);
        }
        if let Some(t) = two("ends", Tok::EndsWith)? {
            return Ok(t);
        }
        if let Some(t) = two("not", Tok::NotIn)? {
            return Ok(t);
        }
        if self.eat("contains") {
            Ok(Tok::Contains)
        } else if self.eat("in") {
            Ok(Tok::In)
        } else {
            Err(self.err(start, expected_operator(&label)))
        }
    }
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<(Tok, usize)>,
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.i].0
    }

    fn err_here(&self, message: String) -> SelectorError {
        error_at(self.src, self.toks[self.i].1, message)
    }

    fn next(&mut self) -> Tok {
        let t = self.toks[self.i].0.clone();
        if t != Tok::Eof {
            self.i += 1;
        }
        t
    }

    fn or(&mut self) -> Result<CalicoSelector, SelectorError> {
        self.list(Tok::Or, Self::and)
    }

    fn and(&mut self) -> Result<CalicoSelector, SelectorError> {
        self.list(Tok::And, Self::operation)
    }

    /// `operand (sep operand)*`: one operand as is, else an `Or` (`sep` is `||`) or an `And`
    /// (`sep` is `&&`) of the operands, a parenthesized operand of the same kind flattened in.
    fn list(
        &mut self,
        sep: Tok,
        operand: fn(&mut Self) -> Result<CalicoSelector, SelectorError>,
    ) -> Result<CalicoSelector, SelectorError> {
        let mut parts = Vec::new();
        loop {
            match (operand(self)?, &sep) {
                (CalicoSelector::Or(xs), Tok::Or) | (CalicoSelector::And(xs), Tok::And) => parts.extend(xs),
                (x, _) => parts.push(x),
            }
            if *self.peek() != sep {
                break;
            }
            self.next();
        }
        Ok(if parts.len() == 1 {
            parts.pop().unwrap_or(CalicoSelector::All)
        } else if sep == Tok::Or {
            CalicoSelector::Or(parts)
        } else {
            CalicoSelector::And(parts)
        })
    }

    fn string(&mut self, after: &Tok) -> Result<String, SelectorError> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.next();
                Ok(s)
            }
            other => Err(self.err_here(format!("expected a quoted string after {after}, found {other}"))),
        }
    }

    fn set(&mut self, after: &Tok) -> Result<BTreeSet<String>, SelectorError> {
        if *self.peek() != Tok::LBrace {
            return Err(self.err_here(format!("expected '{{' after {after}, found {}", self.peek())));
        }
        self.next();
        let mut values = BTreeSet::new();
        while let Tok::Str(s) = self.peek().clone() {
            self.next();
            values.insert(s);
            if *self.peek() != Tok::Comma {
                break;
            }
            self.next();
        }
        if *self.peek() != Tok::RBrace {
            return Err(self.err_here(format!(
                "expected a quoted string, ',' or '}}' in the set, found {}",
                self.peek()
            )));
        }
        self.next();
        Ok(values)
    }

    /// `!`* then one operand: `all()`, `global()`, `has(k)`, a parenthesized expression or a
    /// label comparison.
    fn operation(&mut self) -> Result<CalicoSelector, SelectorError> {
        use CalicoSelector as S;
        let mut negated = false;
        while *self.peek() == Tok::Not {
            self.next();
            negated = !negated;
        }
        let expr = match self.peek().clone() {
            Tok::All => {
                self.next();
                S::All
            }
            Tok::Global => {
                self.next();
                S::Global
            }
            Tok::Has(k) => {
                self.next();
                S::Has(k)
            }
            Tok::LParen => {
                self.next();
                let inner = self.or()?;
                if *self.peek() != Tok::RParen {
                    return Err(self.err_here(format!("expected ')', found {}", self.peek())));
                }
                self.next();
                inner
            }
            Tok::Label(k) => {
                self.next();
                self.comparison(k)?
            }
            other => {
                return Err(self.err_here(format!(
                    "expected a label, has(...), all(), global(), '!' or '(', found {other}"
                )));
            }
        };
        Ok(if negated { expr.negate() } else { expr })
    }

    /// The operator and value(s) after label `k`.
    fn comparison(&mut self, k: String) -> Result<CalicoSelector, SelectorError> {
        use CalicoSelector as S;
        let op = self.peek().clone();
        match op {
            Tok::Eq | Tok::Ne | Tok::Contains | Tok::StartsWith | Tok::EndsWith => {
                self.next();
                let v = self.string(&op)?;
                Ok(match op {
                    Tok::Eq => S::Eq(k, v),
                    Tok::Ne => S::Ne(k, v),
                    Tok::Contains => S::Contains(k, v),
                    Tok::StartsWith => S::StartsWith(k, v),
                    _ => S::EndsWith(k, v),
                })
            }
            Tok::In | Tok::NotIn => {
                self.next();
                let set = self.set(&op)?;
                Ok(if op == Tok::In { S::In(k, set) } else { S::NotIn(k, set) })
            }
            other => Err(self.err_here(format!("{}, found {other}", expected_operator(&k)))),
        }
    }
}

/// Parses a Calico selector expression. The empty expression is `all()`. Precedence: `!` binds
/// tightest, then `&&`, then `||`; parentheses group.
pub fn parse_calico_selector(s: &str) -> Result<CalicoSelector, SelectorError> {
    let toks = Tokenizer { src: s, pos: 0 }.tokens()?;
    let mut p = Parser { src: s, toks, i: 0 };
    if *p.peek() == Tok::Eof {
        return Ok(CalicoSelector::All);
    }
    let expr = p.or()?;
    if *p.peek() != Tok::Eof {
        return Err(p.err_here(format!("unexpected {} after the end of the expression", p.peek())));
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::super::common::LabelView;
    use super::super::tests::labels;
    use super::*;

    /// One row per selector rule: (expression, expected match). Every normalized form parses back.
    #[test]
    fn calico_selector_semantics_table() {
        let l = labels(&[
            ("app", "web"),
            ("tier", "front-end"),
            ("projectcalico.org/namespace", "shop"),
            ("k8s-app", "kube-dns"),
            ("a.b/c-d_e", "x"),
        ]);
        #[rustfmt::skip]
        let rows: &[(&str, bool)] = &[
            ("all()", true),
            ("", true),
            ("   ", true),
            ("global()", false),
            ("!all()", false),
            ("has(app)", true),
            ("has(missing)", false),
            ("has( app )", true),
            ("!has(missing)", true),
            ("!has(app)", false),
            ("app == 'web'", true),
            ("app == \"web\"", true),
            ("app=='web'", true),
            ("app == 'db'", false),
            ("missing == ''", false),
            ("app != 'db'", true),
            ("app != 'web'", false),
            ("missing != 'x'", true),                      // != is true when the key is absent
            ("app in {'web', 'db'}", true),
            ("app in {'db'}", false),
            ("app in {}", false),
            ("app in {'web',}", true),                     // Calico accepts a trailing comma
            ("missing in {'x'}", false),
            ("app not in {'db'}", true),
            ("app not in {'web', 'db'}", false),
            ("missing not in {'x'}", true),                // not in is true when the key is absent
            ("app not in {}", true),
            ("app notin {'db'}", true),                    // Calico's tokenizer accepts `notin`
            ("tier contains 'nt-e'", true),
            ("tier contains 'back'", false),
            ("missing contains ''", false),
            ("tier starts with 'front'", true),
            ("tier starts with 'end'", false),
            ("tier ends with '-end'", true),
            ("tier ends with 'front'", false),
            ("missing ends with ''", false),
            ("projectcalico.org/namespace == 'shop'", true),
            ("k8s-app == \"kube-dns\"", true),
            ("a.b/c-d_e == 'x'", true),
            ("app == 'db' && tier == 'x' || has(app)", true),   // && binds tighter than ||
            ("has(app) || app == 'db' && tier == 'x'", true),
            ("(has(app) || app == 'db') && tier == 'x'", false),
            ("app == 'db' && (tier == 'x' || has(app))", false),
            ("!app == 'db' && has(tier)", true),                // ! binds to one operation
            ("!(app == 'web' && has(tier))", false),
            ("!!has(app)", true),
            ("!(!has(app))", true),
            ("has(app) && has(tier) && app == 'web'", true),
            ("has(x) || has(y) || has(app)", true),
            ("\tapp\t==\t'web'\t", true),
            ("app == 'it\"s'", false),
            ("app == \"it's\"", false),
        ];
        for (expr, want) in rows {
            let sel = parse_calico_selector(expr).unwrap_or_else(|e| panic!("{expr:?}: {e}"));
            assert_eq!(sel.matches(&l), *want, "{expr:?} parsed as {sel}");
            let again = parse_calico_selector(&sel.to_string()).unwrap_or_else(|e| panic!("{sel}: {e}"));
            assert_eq!(again, sel, "normalized form {sel} of {expr:?} does not parse back");
        }
    }

    #[test]
    fn calico_selector_normalized_form() {
        #[rustfmt::skip]
        let rows: &[(&str, &str)] = &[
            ("app=='web'", "app == \"web\""),
            ("a == 'x' || b == 'y' && c == 'z'", "a == \"x\" || b == \"y\" && c == \"z\""),
            ("(a == 'x' || b == 'y') && c == 'z'", "(a == \"x\" || b == \"y\") && c == \"z\""),
            ("a == 'x' && (b == 'y' && c == 'z')", "a == \"x\" && b == \"y\" && c == \"z\""),
            ("k in {'b','a','b'}", "k in {\"a\", \"b\"}"),
            ("k not in {}", "k not in {}"),
            ("!has(k)", "!has(k)"),
            ("!k == 'v'", "!(k == \"v\")"),
            ("!!k == 'v'", "k == \"v\""),
            ("!(a == 'x' || has(b))", "!(a == \"x\" || has(b))"),
            ("k == 'say \"hi\"'", "k == 'say \"hi\"'"),
            ("k starts with 'a'", "k starts with \"a\""),
            ("", "all()"),
        ];
        for (expr, want) in rows {
            assert_eq!(parse_calico_selector(expr).unwrap().to_string(), *want, "{expr:?}");
        }
    }

    /// Parse errors carry the 1-based column of the offending input.
    #[test]
    fn calico_selector_parse_errors_table() {
        #[rustfmt::skip]
        let rows: &[(&str, usize, &str)] = &[
            ("app = 'web'", 5, "expected '=='"),
            ("app == web", 8, "expected a quoted string"),
            ("app == 'web", 8, "unterminated string"),
            ("app web", 5, "expected an operator"),
            ("app", 4, "expected an operator"),
            ("has(app", 8, "expected ')'"),
            ("has()", 5, "label name"),
            ("(has(app)", 10, "expected ')'"),
            ("has(app))", 9, "unexpected ')'"),
            ("has(a) & has(b)", 8, "expected '&&'"),
            ("has(a) | has(b)", 8, "expected '||'"),
            ("has(a) &&", 10, "expected a label"),
            ("app in 'web'", 8, "expected '{'"),
            ("app in {'a' 'b'}", 13, "in the set"),
            ("app in {web}", 9, "in the set"),
            ("app starts 'x'", 5, "expected an operator"),
            ("app not with {'x'}", 5, "expected an operator"),
            ("'web' == app", 1, "expected a label"),
            ("app == 'x' has(b)", 12, "unexpected has(b)"),
            ("app == 'x'\n", 11, "unexpected character"),  // Calico's whitespace is space and tab only
            ("app ~= 'x'", 5, "expected an operator"),
            ("all(x)", 5, "expected ')'"),
            ("é == 'x'", 1, "unexpected character"),
            ("app == 'é' x", 12, "unexpected label 'x'"),    // columns count characters, not bytes
        ];
        for (expr, column, msg) in rows {
            let err = parse_calico_selector(expr).expect_err(expr);
            assert_eq!(err.column, *column, "{expr:?}: {err}");
            assert!(err.message.contains(msg), "{expr:?}: {err}");
        }
    }

    #[test]
    fn calico_selector_unknown_keys_are_maybe() {
        let view = LabelView {
            labels: labels(&[("app", "web")]),
            unknown_keys: BTreeSet::new(),
            unknown_prefixes: vec!["pcsa."],
            present_keys: BTreeSet::new(),
        };
        #[rustfmt::skip]
        let rows: &[(&str, Tri)] = &[
            ("pcsa.team == 'x'", Tri::Maybe),
            ("app == 'db' && pcsa.team == 'x'", Tri::No),
            ("app == 'web' || pcsa.team == 'x'", Tri::Yes),
            ("app == 'web' && pcsa.team == 'x'", Tri::Maybe),
            ("!has(pcsa.team)", Tri::Maybe),
        ];
        for (expr, want) in rows {
            assert_eq!(parse_calico_selector(expr).unwrap().evaluate(&view), *want, "{expr:?}");
        }
    }
}
