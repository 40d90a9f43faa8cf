//! Splitting one input text into documents (YAML) or array elements (JSON) that parse apart,
//! and parsing them on every core while the loader adds them in input order.
//!
//! Invariant: a split never changes what loads. A YAML stream is cut only before a `---`
//! document marker line, where the parser starts a new document from a fresh state whatever came
//! before; a JSON text only between the elements of its top-level array (or of a `List`'s
//! `items`), found by a scanner that tracks strings and brackets. Whatever the splitter is not
//! sure of (directives after the first document, byte order marks or Unicode line breaks past the
//! start, deep nesting, a bracket that does not match) makes it give up, and the file is read by
//! the sequential parser. A part that fails to parse in parallel (a syntax error, the alias
//! budget) makes the loader read the file again sequentially, so every error is the sequential
//! parser's, with its line numbers.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Below this many bytes a file is parsed sequentially: threads would not pay off.
pub(super) const PARALLEL_MIN_BYTES: usize = 256 * 1024;

/// About this many bytes of text go to a worker at a time.
pub(super) const BATCH_BYTES: usize = 64 * 1024;

/// The documents of a YAML stream, each starting at a `---` marker line (the first one at the
/// start of the text), grouped into batches of at least `batch_bytes` (but the last), with the
/// number of documents; `None` when the stream holds something a split could change (the
/// sequential parser then reads it).
pub(super) fn yaml_batches(text: &str, batch_bytes: usize) -> Option<(Vec<&str>, usize)> {
    // Line breaks other than \n and \r\n, and byte order marks past the start (a stream may
    // restart its encoding before a document): rare, and not worth a second thought.
    if text.contains(['\u{85}', '\u{2028}', '\u{2029}', '\u{feff}']) {
        return None;
    }
    let bytes = text.as_bytes();
    let mut cuts = Vec::new();
    let mut seen_marker = false;
    let mut line_start = 0;
    while line_start < bytes.len() {
        let line_end = memchr_newline(bytes, line_start);
        let line = &bytes[line_start..line_end];
        if line.first() == Some(&b'%') {
            // A directive belongs to the document after it: fine before the first marker (the
            // first part keeps it), anything else is left to the sequential parser.
            if seen_marker {
                return None;
            }
        } else if is_document_marker(line) {
            // The first marker stays with what precedes it unless that is a document of its own:
            // a directive belongs to the document after it, and a text of comments alone parses
            // as one empty document (so a part of comments would count one document too many).
            if seen_marker || has_content(&bytes[..line_start]) {
                cuts.push(line_start);
            }
            seen_marker = true;
        }
        line_start = line_end + 1;
    }
    if cuts.is_empty() {
        return None;
    }
    let mut batches = Vec::new();
    let mut start = 0;
    let documents = cuts.len() + 1;
    for cut in cuts {
        if cut - start >= batch_bytes {
            batches.push(&text[start..cut]);
            start = cut;
        }
    }
    batches.push(&text[start..]);
    Some((batches, documents))
}

/// Where the line starting at `from` ends (its `\n`, or the end of the text).
fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    memchr::memchr(b'\n', &bytes[from..]).map_or(bytes.len(), |p| from + p)
}

/// `---` at the start of a line followed by a space, a tab or the line's end: the document start
/// marker, which the YAML scanner reads as such in any context (in a quoted scalar or a flow
/// collection it is an error either way).
fn is_document_marker(line: &[u8]) -> bool {
    line.starts_with(b"---") && matches!(line.get(3), None | Some(b' ' | b'\t' | b'\r'))
}

/// Whether the text before the first marker holds a document (a line that is not blank, a
/// comment or a document end marker) and no directive.
fn has_content(prelude: &[u8]) -> bool {
    let lines = || prelude.split(|&b| b == b'\n');
    !lines().any(|l| l.first() == Some(&b'%'))
        && lines().any(|l| {
            let t = l.trim_ascii();
            !t.is_empty() && !t.starts_with(b"#") && !t.starts_with(b"...")
        })
}

/// A JSON text cut for parallel parsing: the elements of the top-level array, or of the
/// top-level object's `items` array.
pub(super) struct JsonSplit<'t> {
    /// The text with every element replaced by `0`: it parses (and is checked) on its own.
    pub skeleton: String,
    /// Whether the elements are the `items` of a top-level object (else the top-level array's).
    pub items: bool,
    /// Batches of consecutive elements (slices of the text), in order.
    pub batches: Vec<Vec<&'t str>>,
}

/// Nesting the JSON splitter accepts: an element parsed apart starts its own recursion count,
/// so deep texts stay with the sequential parser (which stops at 128 levels).
const JSON_MAX_DEPTH: usize = 100;

/// Cuts a JSON text into its top-level array's elements, or its top-level object's `items`
/// elements. `None` when the text is not that shape or the scanner is unsure (unbalanced or
/// mismatched brackets, deep nesting, an unterminated string, duplicate `items` keys).
pub(super) fn json_split(text: &str, batch_bytes: usize) -> Option<JsonSplit<'_>> {
    let bytes = text.as_bytes();
    let first = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let (items, element_depth) = match bytes[first] {
        b'[' => (false, 1),
        b'{' => (true, 2),
        _ => return None,
    };
    let mut stack: Vec<u8> = Vec::new();
    let mut skeleton = String::with_capacity(1024);
    let mut elements: Vec<&str> = Vec::new();
    // The array whose elements are cut: found (for `items`) when the scanner meets it.
    let mut in_target = false;
    let mut target_done = false;
    let mut element_start: Option<usize> = None;
    let mut copied = 0; // text[..copied] is accounted for in the skeleton
    // The last string key at depth 1 of the top-level object, for `items`.
    let mut last_key_items = false;
    let mut i = first;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                let start = i;
                if in_target && stack.len() == element_depth && element_start.is_none() {
                    element_start = Some(i);
                }
                i += 1;
                loop {
                    match bytes.get(i)? {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                if items && stack.len() == 1 {
                    // A key or a value at depth 1: `"items"` followed by `:` marks the target.
                    let s = &bytes[start + 1..i];
                    let next = bytes[i + 1..].iter().find(|b| !b.is_ascii_whitespace());
                    if next == Some(&b':') {
                        last_key_items = s == b"items";
                    }
                }
            }
            b'[' | b'{' => {
                if in_target && stack.len() == element_depth && element_start.is_none() {
                    element_start = Some(i);
                }
                stack.push(b);
                if stack.len() > JSON_MAX_DEPTH {
                    return None;
                }
                let opens_target = if items {
                    b == b'[' && stack.len() == 2 && last_key_items
                } else {
                    stack.len() == 1
                };
                if opens_target {
                    if target_done {
                        return None; // two `items` keys: the parser keeps the last, we cut the first
                    }
                    in_target = true;
                }
                if items && stack.len() == 2 {
                    last_key_items = false;
                }
            }
            b']' | b'}' => {
                let open = stack.pop()?;
                if (open, b) != (b'[', b']') && (open, b) != (b'{', b'}') {
                    return None;
                }
                if in_target && stack.len() == element_depth {
                    // An element that is a collection ends here.
                    if let Some(s) = element_start.take() {
                        push_element(text, s, i + 1, &mut elements, &mut skeleton, &mut copied);
                    }
                } else if in_target && stack.len() == element_depth - 1 {
                    // The target array closes: a scalar element may end here.
                    if let Some(s) = element_start.take() {
                        push_element(text, s, i, &mut elements, &mut skeleton, &mut copied);
                    }
                    in_target = false;
                    target_done = true;
                }
                if stack.is_empty() {
                    break;
                }
            }
            b',' => {
                if in_target
                    && stack.len() == element_depth
                    && let Some(s) = element_start.take()
                {
                    push_element(text, s, i, &mut elements, &mut skeleton, &mut copied);
                }
            }
            _ if b.is_ascii_whitespace() => {}
            _ => {
                // A scalar element (number, true, false, null) at the element depth.
                if in_target && stack.len() == element_depth && element_start.is_none() {
                    element_start = Some(i);
                }
            }
        }
        i += 1;
    }
    if !stack.is_empty() || !target_done {
        return None;
    }
    // What follows the top-level value (whitespace, or an error the skeleton's parse finds).
    skeleton.push_str(&text[copied..]);
    let mut batches = Vec::new();
    let mut batch = Vec::new();
    let mut size = 0;
    for e in elements {
        size += e.len();
        batch.push(e);
        if size >= batch_bytes {
            batches.push(std::mem::take(&mut batch));
            size = 0;
        }
    }
    if !batch.is_empty() {
        batches.push(batch);
    }
    Some(JsonSplit {
        skeleton,
        items,
        batches,
    })
}

fn push_element<'t>(
    text: &'t str,
    start: usize,
    end: usize,
    elements: &mut Vec<&'t str>,
    skeleton: &mut String,
    copied: &mut usize,
) {
    let end = start + text[start..end].trim_end().len();
    skeleton.push_str(&text[*copied..start]);
    skeleton.push('0');
    *copied = end;
    elements.push(&text[start..end]);
}

/// How many threads parse: the cores the process may use (at most 8).
pub(super) fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
}

struct State<R> {
    ready: BTreeMap<usize, R>,
    consumed: usize,
    stop: bool,
}

fn lock<R>(m: &Mutex<State<R>>) -> MutexGuard<'_, State<R>> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Parses `batches` on `workers` threads and hands the results to `consume` in order, on the
/// calling thread, while the next batches parse; at most a few batches wait parsed, so memory
/// stays that of a few batches. `consume` returns `false` to stop (the workers then stop too).
/// A `parse` that panics gives `None` to `consume`.
pub(super) fn ordered<I: Sync, R: Send>(
    batches: &[I],
    workers: usize,
    parse: impl Fn(&I) -> R + Sync,
    mut consume: impl FnMut(Option<R>) -> bool,
) {
    let window = 2 * workers + 2;
    let state = Mutex::new(State {
        ready: BTreeMap::new(),
        consumed: 0,
        stop: false,
    });
    let changed = Condvar::new();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let idx = next.fetch_add(1, Ordering::Relaxed);
                    if idx >= batches.len() {
                        break;
                    }
                    {
                        let mut st = lock(&state);
                        while !st.stop && idx >= st.consumed + window {
                            st = changed.wait(st).unwrap_or_else(std::sync::PoisonError::into_inner);
                        }
                        if st.stop {
                            break;
                        }
                    }
                    let r = catch_unwind(AssertUnwindSafe(|| parse(&batches[idx]))).ok();
                    lock(&state).ready.insert(idx, r);
                    changed.notify_all();
                }
            });
        }
        // Stops the workers however the consumer leaves (a panic included), so the scope ends.
        struct StopOnDrop<'a, R>(&'a Mutex<State<R>>, &'a Condvar);
        impl<R> Drop for StopOnDrop<'_, R> {
            fn drop(&mut self) {
                lock(self.0).stop = true;
                self.1.notify_all();
            }
        }
        let _stop = StopOnDrop(&state, &changed);
        for k in 0..batches.len() {
            let r = {
                let mut st = lock(&state);
                loop {
                    if let Some(r) = st.ready.remove(&k) {
                        break r;
                    }
                    st = changed.wait(st).unwrap_or_else(std::sync::PoisonError::into_inner);
                }
            };
            let go = consume(r);
            lock(&state).consumed = k + 1;
            changed.notify_all();
            if !go {
                break;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(text: &str) -> Option<Vec<&str>> {
        yaml_batches(text, 1).map(|(batches, documents)| {
            assert_eq!(batches.len(), documents, "{text:?}");
            batches
        })
    }

    #[test]
    fn yaml_cuts_only_at_marker_lines() {
        assert_eq!(docs("a: 1\n"), None, "one document: nothing to cut");
        assert_eq!(docs("a: 1\n---\nb: 2\n").unwrap(), vec!["a: 1\n", "---\nb: 2\n"]);
        assert_eq!(
            yaml_batches("a: 1\n---\nb: 2\n", 1000).unwrap(),
            (vec!["a: 1\n---\nb: 2\n"], 2)
        );
        assert_eq!(
            docs("a: 1\n--- # c\nb: 2\n").unwrap(),
            vec!["a: 1\n", "--- # c\nb: 2\n"]
        );
        assert_eq!(docs("a: 1\n---x\nb: 2\n"), None, "`---x` is no marker");
        assert_eq!(docs("a: 1\n ---\n"), None, "an indented `---` is no marker");
        assert_eq!(
            docs("# c\n%YAML 1.1\n---\na: 1\n---\nb: 2\n").unwrap(),
            vec!["# c\n%YAML 1.1\n---\na: 1\n", "---\nb: 2\n"],
            "a leading directive stays with its document"
        );
        assert_eq!(docs("%YAML 1.1\n---\na: 1\n"), None);
        assert_eq!(
            docs("# c\n\n---\na: 1\n---\nb: 2\n").unwrap(),
            vec!["# c\n\n---\na: 1\n", "---\nb: 2\n"],
            "comments alone are no document"
        );
        assert_eq!(docs("a: 1\n---\n%TAG ! x\n---\nb: 2\n"), None);
        assert_eq!(docs("a: 1\n---\nb: \u{2028}\n"), None);
        assert_eq!(
            docs("a: 1\r\n---\r\nb: 2\r\n").unwrap(),
            vec!["a: 1\r\n", "---\r\nb: 2\r\n"]
        );
    }

    fn js(text: &str) -> Option<JsonSplit<'_>> {
        json_split(text, 1)
    }

    #[test]
    fn json_cuts_elements_of_the_top_array_or_items() {
        let s = js(r#" [ {"a": "x,]}"}, 1 , [2,{}] ,"s" ] "#).unwrap();
        let all: Vec<&str> = s.batches.concat();
        assert_eq!(all, vec![r#"{"a": "x,]}"}"#, "1", "[2,{}]", r#""s""#]);
        assert!(!s.items);
        assert_eq!(s.skeleton, " [ 0, 0 , 0 ,0 ] ");
        let s =
            js(r#"{"apiVersion":"v1","items":[{"kind":"Pod","items":[1]}, {"a\"items":[]}],"kind":"List"}"#).unwrap();
        assert!(s.items);
        assert_eq!(
            s.batches.concat(),
            vec![r#"{"kind":"Pod","items":[1]}"#, r#"{"a\"items":[]}"#]
        );
        assert_eq!(s.skeleton, r#"{"apiVersion":"v1","items":[0, 0],"kind":"List"}"#);
        assert!(js(r#"{"items":[]}"#).unwrap().batches.is_empty());
        assert!(js(r#"{"kind":"Pod"}"#).is_none(), "no items: nothing to cut");
        assert!(js(r#"[{]}"#).is_none(), "mismatched brackets");
        assert!(js(r#"["abc"#).is_none(), "unterminated");
        assert!(js(r#"{"items":[1],"items":[2]}"#).is_none(), "two items keys");
        assert!(js(&format!("[{}1{}]", "[".repeat(120), "]".repeat(120))).is_none());
    }

    #[test]
    fn ordered_hands_results_in_order_and_stops() {
        let batches: Vec<usize> = (0..200).collect();
        let mut seen = Vec::new();
        ordered(
            &batches,
            3,
            |&i| i * 2,
            |r| {
                seen.push(r.unwrap());
                true
            },
        );
        assert_eq!(seen, (0..200).map(|i| i * 2).collect::<Vec<_>>());
        let mut n = 0;
        ordered(
            &batches,
            2,
            |&i| i,
            |_| {
                n += 1;
                n < 10
            },
        );
        assert_eq!(n, 10);
        let mut got = Vec::new();
        ordered(
            &batches[..3],
            2,
            |&i| if i == 1 { panic!("boom") } else { i },
            |r| {
                got.push(r);
                true
            },
        );
        assert_eq!(got, vec![Some(0), None, Some(2)]);
    }
}
