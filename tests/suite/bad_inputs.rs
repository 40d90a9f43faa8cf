//! A catalogue of bad inputs, one row each: what the loader must say (an error or a warning
//! naming the file, object and field), and, for a policy that matters, that the diagnosis is
//! `inconclusive` rather than a confident guess. Big inputs (100 MB, alias bombs, deep nesting,
//! 1,000,000 objects) are generated into a temporary directory and must fail, or load, within a
//! bounded time; the size limit must reject a file before reading it. A few rows run through
//! the real binary too (exit code 2, stderr names the file and the flag that raises a limit).
//!
//! Decision for the JSON list of 1,000,000 tiny objects: it is within the default limits
//! (1,000,000 objects), so it loads; the same list is rejected by a lower `max_objects` with an
//! error naming the element where the count went over and the flag.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netpol_debug::diagnosis::query::PortArg;
use netpol_debug::diagnosis::{Query, diagnose};
use netpol_debug::index::{ClusterIndex, Semantics};
use netpol_debug::policy::Protocol;
use netpol_debug::report::{Diagnosis, Verdict};
use netpol_debug::snapshot::error::LoadError;
use netpol_debug::snapshot::{self, ClusterSnapshot, Limits};

/// A hang detector, not a benchmark: every row must finish well within this, even in a debug
/// build on a busy machine.
const HANG: Duration = Duration::from_secs(60);

/// A temporary directory removed when dropped (the big inputs are hundreds of MB).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("netpol-debug-bad-inputs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

enum Input {
    Text(&'static str),
    Bytes(&'static [u8]),
    /// Writes the input under the directory and returns the paths to load.
    Gen(fn(&Path, &str) -> Vec<PathBuf>),
}

enum Expect {
    /// The load fails; the message contains every substring, and the error is of this kind.
    Error(&'static [&'static str], fn(&LoadError) -> bool),
    /// The load succeeds; a warning (of the loader or the index) contains every substring.
    Warning(&'static [&'static str]),
    /// A warning as above, and `diagnose FROM -> TO:8080` gives this verdict (inconclusive
    /// whenever a policy that matters could not be read).
    Verdict(&'static [&'static str], &'static str, &'static str, Verdict),
    /// The load succeeds with this many objects of the kinds we model, and no load warning.
    Objects(usize),
}

struct Row {
    name: &'static str,
    /// File name the input is written to (and that messages must name).
    file: &'static str,
    input: Input,
    limits: Limits,
    expect: Expect,
}

fn row(name: &'static str, file: &'static str, input: Input, expect: Expect) -> Row {
    Row {
        name,
        file,
        input,
        limits: Limits::default(),
        expect,
    }
}

/// Namespace `app`, pods `app/client` and `app/web` (port 8080), and one NetworkPolicy `app/bad` selecting `app/web`, whose only ingress rule carries
/// the bad construct (`concat!` keeps the rows `'static`).
macro_rules! bad_rule {
    ($rule:literal) => {
        concat!(
            "
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: app, labels: {app: web}}
spec: {containers: [{name: c, ports: [{name: http, containerPort: 8080}]}]}
status: {phase: Running, podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: app, labels: {app: client}}
spec: {containers: [{name: c}]}
status: {phase: Running, podIP: 10.0.0.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad, namespace: app}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [",
            $rule,
            "]
"
        )
    };
}

fn too_large_before_reading(e: &LoadError) -> bool {
    matches!(e, LoadError::TooLarge { at_least: false, .. })
}

fn rows() -> Vec<Row> {
    let mut rows = vec![
        // --- files that are not snapshots at all
        row(
            "an empty file is a warning naming it",
            "empty.yaml",
            Input::Text(""),
            Expect::Warning(&["empty.yaml", "no objects in this file"]),
        ),
        row(
            "comments only is a warning naming the file",
            "comments.yaml",
            Input::Text("# exported by hand\n---\n# nothing here\n"),
            Expect::Warning(&["comments.yaml", "no objects"]),
        ),
        row(
            "an empty JSON list is a warning naming the file",
            "empty.json",
            Input::Text("[]"),
            Expect::Warning(&["empty.json", "no objects"]),
        ),
        row(
            "Latin-1 bytes are an error naming the file and the byte",
            "latin1.yaml",
            Input::Bytes(b"apiVersion: v1\nkind: Namespace\nmetadata: {name: caf\xe9}\n"),
            Expect::Error(&["latin1.yaml", "not UTF-8", "byte 51"], |e| {
                matches!(e, LoadError::NotUtf8 { offset: 51, .. })
            }),
        ),
        row(
            "a UTF-16 export (PowerShell) is an error, not garbage objects",
            "utf16.yaml",
            Input::Bytes(b"\xff\xfea\x00p\x00i\x00"),
            Expect::Error(&["utf16.yaml", "not UTF-8", "byte 0"], |e| {
                matches!(e, LoadError::NotUtf8 { .. })
            }),
        ),
        row(
            "a binary file (a PNG) is an error",
            "image.yaml",
            Input::Bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
            Expect::Error(&["image.yaml", "not UTF-8"], |e| matches!(e, LoadError::NotUtf8 { .. })),
        ),
        // --- syntax
        row(
            "an unclosed YAML flow sequence is an error with file and line",
            "unclosed.yaml",
            Input::Text("apiVersion: v1\nkind: Pod\nmetadata: {name: [\n"),
            Expect::Error(&["unclosed.yaml:", "YAML syntax error"], |e| {
                matches!(e, LoadError::Yaml { line: 3.., .. })
            }),
        ),
        row(
            "a tab in YAML indentation is an error with file and line",
            "tabs.yaml",
            Input::Text("apiVersion: v1\nkind: Pod\nmetadata:\n\tname: a\n"),
            Expect::Error(&["tabs.yaml:4:", "YAML syntax error"], |e| {
                matches!(e, LoadError::Yaml { .. })
            }),
        ),
        row(
            "a bad document after good ones is an error naming its line",
            "third.yaml",
            Input::Text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkey: [1, 2\n---\nkind: Pod\n"),
            Expect::Error(&["third.yaml:", "YAML syntax error"], |e| {
                matches!(e, LoadError::Yaml { line: 5.., .. })
            }),
        ),
        row(
            "a JSON trailing comma is an error with file, line and column",
            "comma.json",
            Input::Text("{\"apiVersion\": \"v1\",\n \"kind\": \"Pod\",\n}"),
            Expect::Error(&["comma.json:3:1", "JSON syntax error"], |e| {
                matches!(e, LoadError::Json { .. })
            }),
        ),
        row(
            "a truncated JSON list is an error naming the file",
            "truncated.json",
            Input::Text(
                "[{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"a\"}},\n {\"kind\"",
            ),
            Expect::Error(&["truncated.json:2:", "JSON syntax error", "EOF"], |e| {
                matches!(e, LoadError::Json { .. })
            }),
        ),
        row(
            "garbage after a JSON object is an error",
            "trailing.json",
            Input::Text("{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"a\"}} x"),
            Expect::Error(&["trailing.json:1:", "trailing characters"], |e| {
                matches!(e, LoadError::Json { .. })
            }),
        ),
        row(
            "a document that is a plain string is a warning naming file and document",
            "scalar.yaml",
            Input::Text("just a note\n"),
            Expect::Warning(&["scalar.yaml#1", "not a Kubernetes object"]),
        ),
        row(
            "an object without kind is a warning naming the array element",
            "nokind.json",
            Input::Text("[{\"apiVersion\": \"v1\", \"metadata\": {\"name\": \"a\"}}]"),
            Expect::Warning(&["nokind.json[0]", "no kind"]),
        ),
        // --- wrong field types
        row(
            "a Pod whose labels are a list is a warning naming the field; the pod is skipped",
            "labels.yaml",
            Input::Text("apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: app, labels: [a, b]}\n"),
            Expect::Warning(&["labels.yaml#1", "Pod app/p", "`metadata.labels`", "object skipped"]),
        ),
        row(
            "a policy port that is a mapping: warning naming the field, verdict inconclusive",
            "portmap.yaml",
            Input::Text(bad_rule!("{ports: [{port: {number: 8080}}]}")),
            Expect::Verdict(
                &[
                    "portmap.yaml#4",
                    "NetworkPolicy app/bad",
                    "`spec.ingress[0].ports[0].port`",
                ],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        row(
            "a fractional port: warning naming the field, verdict inconclusive",
            "portfloat.yaml",
            Input::Text(bad_rule!("{ports: [{port: 8080.5}]}")),
            Expect::Verdict(
                &[
                    "portfloat.yaml#4",
                    "NetworkPolicy app/bad",
                    "`spec.ingress[0].ports[0].port`",
                ],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        row(
            "ingress as a mapping instead of a list: warning naming spec.ingress, inconclusive",
            "ingressmap.yaml",
            Input::Text(concat!(
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n---\n",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: app, labels: {app: web}}\nstatus: {podIP: 10.0.0.1}\n---\n",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: app}\nstatus: {podIP: 10.0.0.2}\n---\n",
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad, namespace: app}\n",
                "spec: {podSelector: {}, ingress: {from: []}}\n",
            )),
            Expect::Verdict(
                &["ingressmap.yaml#4", "NetworkPolicy app/bad", "`spec.ingress`"],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        row(
            "a podSelector written as a string: it may select anything, inconclusive",
            "selstring.yaml",
            Input::Text(concat!(
                "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: app, labels: {app: web}}\nstatus: {podIP: 10.0.0.1}\n---\n",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: app}\nstatus: {podIP: 10.0.0.2}\n---\n",
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad, namespace: app}\n",
                "spec: {podSelector: app=web, policyTypes: [Ingress]}\n",
            )),
            Expect::Verdict(
                &["selstring.yaml#3", "NetworkPolicy app/bad", "`spec.podSelector`"],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        row(
            "a namespace written as a number stays that namespace (not `default`), inconclusive",
            "nsnumber.yaml",
            Input::Text(concat!(
                "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: '123', labels: {app: web}}\nstatus: {podIP: 10.0.0.1}\n---\n",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: '123'}\nstatus: {podIP: 10.0.0.2}\n---\n",
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: bad, namespace: 123}\n",
                "spec: {podSelector: {}, ingress: [{from: [{podSelector: {}}]}]}\n",
            )),
            Expect::Verdict(
                &["nsnumber.yaml#3", "`metadata.namespace`"],
                "123/client",
                "123/web",
                Verdict::Inconclusive,
            ),
        ),
        row(
            "a policyTypes typo (Ingres) may mean either direction: unreadable, inconclusive",
            "typo.yaml",
            Input::Text(concat!(
                "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: app, labels: {app: web}}\nstatus: {podIP: 10.0.0.1}\n---\n",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: app}\nstatus: {podIP: 10.0.0.2}\n---\n",
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: app}\n",
                "spec: {podSelector: {}, policyTypes: [Ingres]}\n",
            )),
            Expect::Verdict(
                &[
                    "typo.yaml#3",
                    "NetworkPolicy app/deny",
                    "spec.policyTypes[0]",
                    "\"Ingres\"",
                ],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        row(
            "policyTypes [Ingress, Egres]: ingress reads as written, the egress it may mean is inconclusive",
            "typo-egress.yaml",
            Input::Text(concat!(
                "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: app, labels: {app: web}}\nstatus: {podIP: 10.0.0.1}\n---\n",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: app, labels: {app: client}}\nstatus: {podIP: 10.0.0.2}\n---\n",
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: client, namespace: app}\n",
                "spec: {podSelector: {matchLabels: {app: client}}, policyTypes: [Ingress, Egres], ingress: [{}]}\n",
            )),
            Expect::Verdict(
                &[
                    "typo-egress.yaml#3",
                    "NetworkPolicy app/client",
                    "spec.policyTypes[1]",
                    "may stand for egress",
                ],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        // --- values the API server would reject
        row(
            "an invalid CIDR: warning naming the field, inconclusive",
            "cidr.yaml",
            Input::Text(bad_rule!("{from: [{ipBlock: {cidr: 300.0.0.0/8}}]}")),
            Expect::Verdict(
                &[
                    "cidr.yaml#4",
                    "NetworkPolicy app/bad",
                    "spec.ingress[0].from[0]",
                    "not a CIDR",
                ],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        row(
            "an `except` outside its CIDR: warning naming the field, inconclusive",
            "except.yaml",
            Input::Text(bad_rule!(
                "{from: [{ipBlock: {cidr: 10.0.0.0/24, except: [10.1.0.0/16]}}]}"
            )),
            Expect::Verdict(
                &[
                    "except.yaml#4",
                    "NetworkPolicy app/bad",
                    "ipBlock.except[0]",
                    "not strictly inside",
                ],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        row(
            "endPort below port: warning naming the field, inconclusive",
            "endport.yaml",
            Input::Text(bad_rule!("{ports: [{port: 9000, endPort: 8000}]}")),
            Expect::Verdict(
                &[
                    "endport.yaml#4",
                    "NetworkPolicy app/bad",
                    "spec.ingress[0].ports[0]",
                    "endPort 8000 is below port 9000",
                ],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        row(
            "a named port with endPort: warning naming the field, inconclusive",
            "namedend.yaml",
            Input::Text(bad_rule!("{ports: [{port: http, endPort: 8090}]}")),
            Expect::Verdict(
                &[
                    "namedend.yaml#4",
                    "spec.ingress[0].ports[0]",
                    "endPort cannot be used with the named port",
                ],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        row(
            "an unknown protocol: warning naming the field, inconclusive",
            "icmp.yaml",
            Input::Text(bad_rule!("{ports: [{protocol: ICMP, port: 8080}]}")),
            Expect::Verdict(
                &[
                    "icmp.yaml#4",
                    "spec.ingress[0].ports[0]",
                    "\"ICMP\" is not one of TCP, UDP, SCTP",
                ],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        row(
            "port 0: warning naming the field, inconclusive",
            "port0.yaml",
            Input::Text(bad_rule!("{ports: [{port: 0}]}")),
            Expect::Verdict(
                &["port0.yaml#4", "spec.ingress[0].ports[0]", "port 0 is outside 1-65535"],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        row(
            "port 70000: warning naming the field, inconclusive",
            "port70000.yaml",
            Input::Text(bad_rule!("{ports: [{port: 70000}]}")),
            Expect::Verdict(
                &[
                    "port70000.yaml#4",
                    "spec.ingress[0].ports[0]",
                    "port 70000 is outside 1-65535",
                ],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        row(
            "an unknown selector operator in a peer: warning naming the field, inconclusive",
            "operator.yaml",
            Input::Text(bad_rule!(
                "{from: [{podSelector: {matchExpressions: [{key: app, operator: Equals, values: [client]}]}}]}"
            )),
            Expect::Verdict(
                &[
                    "operator.yaml#4",
                    "spec.ingress[0].from[0]",
                    "unknown operator \"Equals\"",
                ],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        row(
            "an unknown operator in spec.podSelector: whom it selects is unknown, inconclusive",
            "target-operator.yaml",
            Input::Text(concat!(
                "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: app, labels: {app: web}}\nstatus: {podIP: 10.0.0.1}\n---\n",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: app}\nstatus: {podIP: 10.0.0.2}\n---\n",
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: app}\n",
                "spec: {podSelector: {matchExpressions: [{key: app, operator: Is, values: [web]}]}, policyTypes: [Ingress]}\n",
            )),
            Expect::Verdict(
                &[
                    "target-operator.yaml#3",
                    "NetworkPolicy app/deny",
                    "spec.podSelector",
                    "unknown operator \"Is\"",
                ],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        // --- duplicates and missing objects
        row(
            "the same policy twice: one copy is used, the warning names both places",
            "dup-same.yaml",
            Input::Text(concat!(
                "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: app, labels: {app: web}}\nstatus: {podIP: 10.0.0.1}\n---\n",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: app}\nstatus: {podIP: 10.0.0.2}\n---\n",
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: app}\nspec: {podSelector: {}}\n---\n",
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: app, resourceVersion: '2'}\nspec: {podSelector: {}}\n",
            )),
            Expect::Verdict(
                &[
                    "dup-same.yaml#4",
                    "NetworkPolicy app/deny",
                    "first at ",
                    "dup-same.yaml#3)",
                    "identical",
                ],
                "app/client",
                "app/web",
                Verdict::Blocked,
            ),
        ),
        row(
            "one policy name with two different specs: which one the cluster has is unknown, inconclusive",
            "dup-differ.yaml",
            Input::Text(concat!(
                "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: app, labels: {app: web}}\nstatus: {podIP: 10.0.0.1}\n---\n",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: app}\nstatus: {podIP: 10.0.0.2}\n---\n",
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: app}\nspec: {podSelector: {}}\n---\n",
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: app}\nspec: {podSelector: {}, ingress: [{}]}\n",
            )),
            Expect::Verdict(
                &[
                    "dup-differ.yaml#4",
                    "NetworkPolicy app/web",
                    "first at ",
                    "dup-differ.yaml#3)",
                    "different spec",
                ],
                "app/client",
                "app/web",
                Verdict::Inconclusive,
            ),
        ),
        row(
            "one pod twice with different labels: the warning names both places",
            "dup-pod.yaml",
            Input::Text(concat!(
                "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: app, labels: {app: web}}\n---\n",
                "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: web, namespace: app, labels: {app: api}}\n",
            )),
            Expect::Warning(&[
                "dup-pod.yaml#2.items[0]",
                "Pod app/web",
                "first at ",
                "dup-pod.yaml#1)",
                "different copy",
            ]),
        ),
        row(
            "one namespace twice: the warning names both places",
            "dup-ns.yaml",
            Input::Text(
                "apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n",
            ),
            Expect::Warning(&[
                "dup-ns.yaml#2",
                "Namespace app",
                "first at ",
                "dup-ns.yaml#1)",
                "identical",
            ]),
        ),
        row(
            "a policy in a namespace that is not in the snapshot: a warning; the policy still applies",
            "ghost.yaml",
            Input::Text(concat!(
                "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: ghost, labels: {app: web}}\nstatus: {podIP: 10.0.0.1}\n---\n",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: ghost}\nstatus: {podIP: 10.0.0.2}\n---\n",
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: ghost}\nspec: {podSelector: {}}\n",
            )),
            Expect::Verdict(
                &["namespace", "ghost", "not in the snapshot"],
                "ghost/client",
                "ghost/web",
                Verdict::Blocked,
            ),
        ),
        row(
            "a policy only in a namespace that is not in the snapshot: a warning, no effect elsewhere",
            "ghost-only.yaml",
            Input::Text(concat!(
                "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: ghost}\nspec: {podSelector: {}}\n---\n",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: web, namespace: app, labels: {app: web}}\nstatus: {podIP: 10.0.0.1}\n---\n",
                "apiVersion: v1\nkind: Pod\nmetadata: {name: client, namespace: app}\nstatus: {podIP: 10.0.0.2}\n",
            )),
            Expect::Verdict(
                &["namespace", "ghost", "not in the snapshot"],
                "app/client",
                "app/web",
                Verdict::Allowed,
            ),
        ),
        // --- nesting and aliases
        row(
            "deeply nested YAML (100,000 levels) is an error naming file and line",
            "deep.yaml",
            Input::Gen(|dir, file| {
                let p = dir.join(file);
                std::fs::write(&p, format!("{}{}\n", "[".repeat(100_000), "]".repeat(100_000))).unwrap();
                vec![p]
            }),
            Expect::Error(&["deep.yaml:1:", "nested more than 128 levels"], |e| {
                matches!(e, LoadError::TooDeep { .. })
            }),
        ),
        row(
            "deeply nested block mappings are an error naming file and line",
            "deepmap.yaml",
            Input::Gen(|dir, file| {
                let p = dir.join(file);
                let text: String = (0..1000).map(|i| format!("{}k:\n", "  ".repeat(i))).collect();
                std::fs::write(&p, text).unwrap();
                vec![p]
            }),
            Expect::Error(&["deepmap.yaml:129:", "nested more than 128 levels"], |e| {
                matches!(e, LoadError::TooDeep { .. })
            }),
        ),
        row(
            "deeply nested JSON (100,000 levels) is an error naming file and column",
            "deep.json",
            Input::Gen(|dir, file| {
                let p = dir.join(file);
                std::fs::write(&p, format!("{}{}", "[".repeat(100_000), "]".repeat(100_000))).unwrap();
                vec![p]
            }),
            Expect::Error(&["deep.json:1:", "nested more than 128 levels"], |e| {
                matches!(e, LoadError::TooDeep { .. })
            }),
        ),
        row(
            "a billion-laughs alias bomb (9 levels of 9 aliases) is an error",
            "laughs.yaml",
            Input::Gen(|dir, file| {
                let mut text = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
                for (prev, c) in "abcdefgh".chars().zip("bcdefghi".chars()) {
                    text += &format!("{c}: &{c} [{}]\n", vec![format!("*{prev}"); 9].join(", "));
                }
                let p = dir.join(file);
                std::fs::write(&p, text).unwrap();
                vec![p]
            }),
            Expect::Error(
                &["laughs.yaml", "YAML aliases expand to too much data", "alias bomb"],
                |e| matches!(e, LoadError::AliasBomb { .. }),
            ),
        ),
        row(
            "a quadratic alias bomb (20,000 aliases of a 20,000-item list, 400 M values) is an error",
            "quadratic.yaml",
            Input::Gen(|dir, file| {
                let text = format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: x}}\ndata:\n  a: &a [{}]\n  b: [{}]\n",
                    vec!["x"; 20_000].join(","),
                    vec!["*a"; 20_000].join(",")
                );
                let p = dir.join(file);
                std::fs::write(&p, text).unwrap();
                vec![p]
            }),
            Expect::Error(
                &["quadratic.yaml", "YAML aliases expand to too much data", "values from"],
                |e| matches!(e, LoadError::AliasBomb { .. }),
            ),
        ),
        row(
            "anchors and aliases within reason load",
            "anchors.yaml",
            Input::Text(concat!(
                "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: app, labels: &l {app: web, tier: front}}\n---\n",
                "apiVersion: v1\nkind: List\nitems:\n",
                "- {apiVersion: v1, kind: Pod, metadata: {name: b, namespace: app, labels: &m {app: web}}}\n",
                "- {apiVersion: v1, kind: Pod, metadata: {name: c, namespace: app, labels: *m}}\n",
            )),
            Expect::Objects(3),
        ),
        row(
            "a directory with a symbolic link to its parent (a loop) is read once",
            "loop",
            Input::Gen(|dir, file| {
                let sub = dir.join(file).join("sub");
                std::fs::create_dir_all(&sub).unwrap();
                std::fs::write(
                    sub.join("ns.yaml"),
                    "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
                )
                .unwrap();
                std::os::unix::fs::symlink("..", sub.join("up")).unwrap();
                vec![dir.join(file)]
            }),
            Expect::Objects(1),
        ),
        // --- size and count limits
        row(
            "a 100 MB file over the size limit is rejected from its size, before it is read",
            "big.yaml",
            Input::Gen(|dir, file| vec![sparse(dir, file, 100 * 1000 * 1000)]),
            Expect::Error(
                &[
                    "big.yaml",
                    "100000000 bytes",
                    "over the snapshot size limit of 67108864 bytes",
                    "--max-snapshot-bytes",
                ],
                too_large_before_reading,
            ),
        ),
        row(
            "a 100 MB file of NUL bytes under the default limit is read and fails at once",
            "nul.yaml",
            Input::Gen(|dir, file| vec![sparse(dir, file, 100 * 1000 * 1000)]),
            Expect::Error(&["nul.yaml:1:1", "YAML syntax error"], |e| {
                matches!(e, LoadError::Yaml { .. })
            }),
        ),
        row(
            "files that are fine alone but too big together: the one that crosses the limit is named",
            "part-b.yaml",
            Input::Gen(|dir, file| {
                let filler = format!("# {}\n", "x".repeat(600_000));
                let a = dir.join("part-a.yaml");
                std::fs::write(
                    &a,
                    format!("{filler}apiVersion: v1\nkind: Namespace\nmetadata: {{name: a}}\n"),
                )
                .unwrap();
                let b = dir.join(file);
                std::fs::write(
                    &b,
                    format!("{filler}apiVersion: v1\nkind: Namespace\nmetadata: {{name: b}}\n"),
                )
                .unwrap();
                vec![a, b]
            }),
            Expect::Error(
                &[
                    "part-b.yaml",
                    "after 600",
                    "bytes of the inputs before it",
                    "limit of 1000000 bytes",
                ],
                too_large_before_reading,
            ),
        ),
        row(
            "a device that never ends (/dev/zero) is stopped by the bounded read",
            "zero",
            Input::Gen(|_, _| vec![PathBuf::from("/dev/zero")]),
            Expect::Error(&["/dev/zero", "more than 1000000 bytes", "--max-snapshot-bytes"], |e| {
                matches!(e, LoadError::TooLarge { at_least: true, .. })
            }),
        ),
        row(
            "1,000,000 `{}` in a JSON list: within the object limit; warnings are capped, not a million",
            "braces.json",
            Input::Gen(|dir, file| {
                let p = dir.join(file);
                let mut text = String::with_capacity(3_000_002);
                text.push('[');
                text.push_str(&vec!["{}"; 1_000_000].join(","));
                text.push(']');
                std::fs::write(&p, text).unwrap();
                vec![p]
            }),
            Expect::Warning(&["990000 more load warnings are not listed"]),
        ),
        row(
            "1,000,000 tiny objects in a JSON list: within the default limits, they load",
            "million.json",
            Input::Gen(million),
            Expect::Objects(1_000_000),
        ),
        row(
            "1,000,000 tiny objects over a lower object limit: an error naming the element and the flag",
            "million-limited.json",
            Input::Gen(million),
            Expect::Error(
                &[
                    "million-limited.json[100000]",
                    "more than 100000 objects",
                    "--max-objects",
                ],
                |e| matches!(e, LoadError::TooManyObjects { limit: 100_000, .. }),
            ),
        ),
        row(
            "List items count toward the object limit",
            "list.yaml",
            Input::Text(concat!(
                "apiVersion: v1\nkind: NamespaceList\nitems:\n",
                "- metadata: {name: a}\n- metadata: {name: b}\n- metadata: {name: c}\n- metadata: {name: d}\n",
            )),
            Expect::Error(&["list.yaml#1.items[3]", "more than 3 objects"], |e| {
                matches!(e, LoadError::TooManyObjects { .. })
            }),
        ),
    ];
    for r in &mut rows {
        r.limits = match r.file {
            "big.yaml" => Limits {
                max_bytes: 64 * 1024 * 1024,
                ..Limits::default()
            },
            "part-b.yaml" | "zero" => Limits {
                max_bytes: 1_000_000,
                ..Limits::default()
            },
            "million-limited.json" => Limits {
                max_objects: 100_000,
                ..Limits::default()
            },
            "list.yaml" => Limits {
                max_objects: 3,
                ..Limits::default()
            },
            _ => Limits::default(),
        };
    }
    rows
}

/// A sparse file of `size` zero bytes: instant to make, takes no disk space.
fn sparse(dir: &Path, file: &str, size: u64) -> PathBuf {
    let p = dir.join(file);
    std::fs::File::create(&p).unwrap().set_len(size).unwrap();
    p
}

/// `[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"n0"}}, ...]`, 1,000,000 of them.
fn million(dir: &Path, file: &str) -> Vec<PathBuf> {
    let p = dir.join(file);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&p).unwrap());
    out.write_all(b"[").unwrap();
    for i in 0..1_000_000 {
        if i > 0 {
            out.write_all(b",\n").unwrap();
        }
        write!(
            out,
            r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"n{i}"}}}}"#
        )
        .unwrap();
    }
    out.write_all(b"]").unwrap();
    out.flush().unwrap();
    vec![p]
}

fn diagnosis(snap: &ClusterSnapshot, from: &str, to: &str) -> Result<Diagnosis, String> {
    let ix = ClusterIndex::build(snap, Semantics::default());
    diagnose(
        &ix,
        &Query {
            from: from.into(),
            to: to.into(),
            protocol: Protocol::Tcp,
            port: Some(PortArg::Number(8080)),
        },
    )
    .map_err(|e| e.message)
}

/// At most 20 warnings, for failure messages.
fn some(warnings: &[String]) -> String {
    let mut out = warnings.iter().take(20).cloned().collect::<Vec<_>>().join("\n  ");
    if warnings.len() > 20 {
        out += &format!("\n  ... {} more", warnings.len() - 20);
    }
    out
}

/// Every warning a user sees for a snapshot: the loader's and the index's.
fn all_warnings(snap: &ClusterSnapshot) -> Vec<String> {
    ClusterIndex::build(snap, Semantics::default())
        .warnings
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// Runs one row; `Err` says what went wrong.
fn check(r: &Row, dir: &Path) -> Result<(), String> {
    let paths = match &r.input {
        Input::Text(t) => {
            let p = dir.join(r.file);
            std::fs::write(&p, t).unwrap();
            vec![p]
        }
        Input::Bytes(b) => {
            let p = dir.join(r.file);
            std::fs::write(&p, b).unwrap();
            vec![p]
        }
        Input::Gen(g) => g(dir, r.file),
    };
    let started = Instant::now();
    let loaded = snapshot::load_paths_with(&paths, &r.limits);
    let elapsed = started.elapsed();
    if elapsed > HANG {
        return Err(format!("took {elapsed:?}"));
    }
    let has_all = |text: &str, needles: &[&str]| needles.iter().all(|n| text.contains(n));
    match (&r.expect, loaded) {
        (Expect::Error(needles, kind), Err(e)) => {
            let msg = e.to_string();
            if !has_all(&msg, needles) {
                return Err(format!("error {msg:?} lacks one of {needles:?}"));
            }
            if !kind(&e) {
                return Err(format!("error of the wrong kind: {e:?}"));
            }
        }
        (Expect::Error(..), Ok(s)) => return Err(format!("loaded, with warnings\n  {}", some(&all_warnings(&s)))),
        (_, Err(e)) => return Err(format!("does not load: {e}")),
        (Expect::Objects(n), Ok(s)) => {
            if s.object_count() != *n || !s.warnings.is_empty() {
                return Err(format!(
                    "{} objects, want {n}; warnings {:?}",
                    s.object_count(),
                    s.warnings
                ));
            }
        }
        (Expect::Warning(needles), Ok(s)) => {
            let warnings = all_warnings(&s);
            if !warnings.iter().any(|w| has_all(w, needles)) {
                return Err(format!("no warning with all of {needles:?} in\n  {}", some(&warnings)));
            }
        }
        (Expect::Verdict(needles, from, to, verdict), Ok(s)) => {
            let warnings = all_warnings(&s);
            if !warnings.iter().any(|w| has_all(w, needles)) {
                return Err(format!("no warning with all of {needles:?} in\n  {}", some(&warnings)));
            }
            let d = diagnosis(&s, from, to)?;
            if d.verdict != *verdict {
                return Err(format!(
                    "verdict {:?}, want {verdict:?}: {:#?}",
                    d.verdict,
                    d.root_causes.iter().map(|c| &c.summary).collect::<Vec<_>>()
                ));
            }
            if *verdict == Verdict::Inconclusive {
                let codes: Vec<String> = d
                    .root_causes
                    .iter()
                    .map(|c| {
                        serde_json::to_value(c.code)
                            .unwrap()
                            .as_str()
                            .unwrap_or_default()
                            .to_string()
                    })
                    .collect();
                if !codes.iter().any(|c| c == "POLICY_UNREADABLE") {
                    return Err(format!("inconclusive without POLICY_UNREADABLE: {codes:?}"));
                }
            }
        }
    }
    Ok(())
}

#[test]
fn bad_inputs_catalogue() {
    let rows = rows();
    assert!(rows.len() >= 30, "the catalogue has {} rows", rows.len());
    let dir = TempDir::new("lib");
    let mut failures = Vec::new();
    for r in &rows {
        let started = Instant::now();
        let result = check(r, &dir.0);
        eprintln!(
            "{:>8.1?}  {}  {}",
            started.elapsed(),
            if result.is_ok() { "ok  " } else { "FAIL" },
            r.name
        );
        if let Err(e) = result {
            failures.push(format!("{} ({}): {e}", r.name, r.file));
        }
    }
    assert!(
        failures.is_empty(),
        "{} rows failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn bad_inputs_the_size_check_comes_before_any_read() {
    // A file the loader cannot even open would fail with `Io` if it tried; over the limit it
    // must fail on the size alone. (Root can read a mode-000 file, so use a size check on a
    // sparse file and measure that nothing near 100 MB was touched: the error is immediate.)
    let dir = TempDir::new("size");
    let p = sparse(&dir.0, "huge.json", 100 * 1000 * 1000);
    let started = Instant::now();
    let err = snapshot::load_paths_with(
        std::slice::from_ref(&p),
        &Limits {
            max_bytes: 1024,
            ..Limits::default()
        },
    )
    .expect_err("over the limit");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    match err {
        LoadError::TooLarge {
            path,
            size,
            at_least,
            before,
            limit,
        } => {
            assert_eq!((path, size, at_least, before, limit), (p, 100_000_000, false, 0, 1024));
        }
        other => panic!("{other:?}"),
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_netpol-debug"))
}

/// The binary: exit code 2, stderr naming the file (and the flag when a limit stopped it).
#[test]
fn bad_inputs_through_the_binary() {
    let dir = TempDir::new("bin");
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let latin1 = write("latin1.yaml", b"kind: Namespace\nmetadata: {name: caf\xe9}\n");
    let bomb = write(
        "bomb.yaml",
        format!(
            "a: &a [{}]\nb: [{}]\n",
            vec!["x"; 5_000].join(","),
            vec!["*a"; 5_000].join(",")
        )
        .as_bytes(),
    );
    let big = sparse(&dir.0, "big.yaml", 100 * 1000 * 1000);
    let many = write(
        "many.json",
        format!(
            "[{}]",
            (0..20)
                .map(|i| format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"n{i}"}}}}"#))
                .collect::<Vec<_>>()
                .join(",")
        )
        .as_bytes(),
    );
    let cases: Vec<(Vec<String>, Vec<String>)> = vec![
        (
            vec!["-s".into(), latin1.display().to_string()],
            vec![latin1.display().to_string(), "not UTF-8".into()],
        ),
        (
            vec!["-s".into(), bomb.display().to_string()],
            vec![bomb.display().to_string(), "alias bomb".into()],
        ),
        (
            vec![
                "-s".into(),
                big.display().to_string(),
                "--max-snapshot-bytes".into(),
                "1000000".into(),
            ],
            vec![
                big.display().to_string(),
                "100000000 bytes".into(),
                "--max-snapshot-bytes".into(),
            ],
        ),
        (
            vec![
                "-s".into(),
                many.display().to_string(),
                "--max-objects".into(),
                "10".into(),
            ],
            vec![
                format!("{}[10]", many.display()),
                "more than 10 objects".into(),
                "--max-objects".into(),
            ],
        ),
    ];
    for (args, needles) in cases {
        let started = Instant::now();
        let out = bin()
            .args(["diagnose", "--from", "a/b", "--to", "c/d"])
            .args(&args)
            .output()
            .expect("binary runs");
        assert!(started.elapsed() < HANG);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        for n in &needles {
            assert!(stderr.contains(n.as_str()), "{args:?}: {n:?} not in {stderr}");
        }
        assert!(out.stdout.is_empty(), "{args:?}: nothing on stdout");
    }

    // stdin is read up to the limit and no further.
    let mut child = bin()
        .args([
            "diagnose",
            "-s",
            "-",
            "--from",
            "a/b",
            "--to",
            "c/d",
            "--max-snapshot-bytes",
            "1000",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    let mut stdin = child.stdin.take().unwrap();
    // The binary stops reading at the limit; a write error (broken pipe) here is expected.
    let _ = stdin.write_all("# padding\n".repeat(1000).as_bytes());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("<stdin>: more than 1000 bytes") && stderr.contains("--max-snapshot-bytes"),
        "{stderr}"
    );
}

/// A Namespace object that does not parse leaves its labels unknown: a verdict that a
/// namespaceSelector decides about that namespace is `inconclusive`; one that a rule decides
/// without namespace labels stays certain.
#[test]
fn bad_inputs_an_unreadable_namespace_makes_namespace_selectors_uncertain() {
    let yaml = r#"
apiVersion: v1
kind: Namespace
metadata: {name: shop, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: billing, labels: [team, billing]}
---
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop, labels: {app: api}}
spec: {containers: [{name: c, ports: [{containerPort: 8080}]}]}
status: {podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: worker, namespace: billing, labels: {app: worker}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.2}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: shop, labels: {app: web}}
spec: {containers: [{name: c}]}
status: {podIP: 10.0.0.3}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-in, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: billing}}}]
  - from: [{podSelector: {matchLabels: {app: web}}}]
"#;
    let snap = snapshot::load_str("ns.yaml", yaml).unwrap();
    assert_eq!(snap.unreadable_namespaces, ["billing"]);
    assert!(snap.warnings.iter().any(|w| w.to_string().contains("metadata.labels")));
    let ix = ClusterIndex::build(&snap, Semantics::default());
    let ask = |from: &str| {
        diagnose(
            &ix,
            &Query {
                from: from.into(),
                to: "shop/api".into(),
                protocol: Protocol::Tcp,
                port: Some(PortArg::Number(8080)),
            },
        )
        .unwrap()
    };
    let d = ask("billing/worker");
    assert_eq!(d.verdict, Verdict::Inconclusive);
    let text = serde_json::to_string(&d).unwrap();
    assert!(
        text.contains("the Namespace object of billing could not be read"),
        "{text}"
    );
    assert_eq!(
        ask("shop/web").verdict,
        Verdict::Allowed,
        "a podSelector rule allows it regardless"
    );
}

/// Pods for the unknown-field table: app/web, app/client (both labelled `app: NAME`).
const TYPO_PODS: &str = "
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: app, labels: {app: web}}
status: {phase: Running, podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: app, labels: {app: client}}
status: {phase: Running, podIP: 10.0.0.2}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: typo, namespace: app}
";

/// One row per rule of strict decoding: a NetworkPolicy from a file with a field the API server
/// does not know is a warning naming file#document, object and field path, and the verdicts the
/// field may change are `inconclusive` with `POLICY_FIELD_UNKNOWN`; the others keep their answer.
#[test]
fn unknown_policy_fields_table() {
    use netpol_debug::report::RootCauseCode;
    // (rule, the policy's body after `metadata`, from, to, field named, verdict)
    let rows: &[(&str, &str, &str, &str, &str, Verdict)] = &[
        (
            "podSelector: {matchLabel: …} would read as {} (every pod) and allow by rule 0: inconclusive",
            "spec: {podSelector: {matchLabel: {app: frontend}}, ingress: [{from: [{podSelector: {matchLabels: {app: client}}}]}]}",
            "app/client",
            "app/web",
            "spec.podSelector.matchLabel",
            Verdict::Inconclusive,
        ),
        (
            "podSelector typo: a flow the policy as read blocks is inconclusive too",
            "spec: {podSelector: {matchLabel: {app: frontend}}, ingress: [{from: [{podSelector: {matchLabels: {app: nobody}}}]}]}",
            "app/client",
            "app/web",
            "spec.podSelector.matchLabel",
            Verdict::Inconclusive,
        ),
        (
            "`egres:` under spec: the egress it meant is unknown, egress verdicts are inconclusive",
            "spec: {podSelector: {}, policyTypes: [Ingress, Egress], ingress: [{}], egres: [{to: [{podSelector: {}}]}]}",
            "app/client",
            "app/web",
            "spec.egres",
            Verdict::Inconclusive,
        ),
        (
            "`egres:` touches egress only: ingress from outside the cluster keeps its certain answer",
            "spec: {podSelector: {}, policyTypes: [Ingress, Egress], ingress: [{}], egres: [{to: [{podSelector: {}}]}]}",
            "192.0.2.1",
            "app/web",
            "spec.egres",
            Verdict::Allowed,
        ),
        (
            "`policyType:` under spec: the types it meant are unknown, both directions inconclusive",
            "spec: {podSelector: {}, policyType: [Egress]}",
            "app/client",
            "app/web",
            "spec.policyType",
            Verdict::Inconclusive,
        ),
        (
            "a typo under spec.ingress (`fromm`) reads as a rule that allows all: inconclusive",
            "spec: {podSelector: {matchLabels: {app: web}}, ingress: [{fromm: [{podSelector: {matchLabels: {app: nobody}}}]}]}",
            "app/client",
            "app/web",
            "spec.ingress[0].fromm",
            Verdict::Inconclusive,
        ),
        (
            "a typo under spec.ingress touches ingress only: the selected pod's egress stays certain",
            "spec: {podSelector: {matchLabels: {app: web}}, ingress: [{fromm: [{podSelector: {matchLabels: {app: nobody}}}]}]}",
            "app/web",
            "192.0.2.1",
            "spec.ingress[0].fromm",
            Verdict::Allowed,
        ),
        (
            "a typo in rules of a direction policyTypes leaves out changes no verdict (still a warning)",
            "spec: {podSelector: {}, policyTypes: [Ingress], ingress: [{}], egress: [{tooo: [{podSelector: {}}]}]}",
            "app/client",
            "app/web",
            "spec.egress[0].tooo",
            Verdict::Allowed,
        ),
        (
            "an unknown top-level key (`specs:`): the whole policy is unknown, inconclusive",
            "specs: {podSelector: {}, ingress: [{}]}",
            "app/client",
            "app/web",
            "specs",
            Verdict::Inconclusive,
        ),
    ];
    let mut failures = Vec::new();
    for (rule, body, from, to, field, want) in rows {
        let text = format!("{TYPO_PODS}{body}\n");
        let snap = snapshot::load_str("typo.yaml", &text).expect("loads");
        let warnings: Vec<String> = snap.warnings.iter().map(ToString::to_string).collect();
        let named = [
            "typo.yaml#4",
            "NetworkPolicy app/typo",
            field,
            "strict decoding error",
            "kubectl 1.27",
        ];
        if !warnings.iter().any(|w| named.iter().all(|s| w.contains(s))) {
            failures.push(format!("{rule}: no warning naming {named:?}:\n  {}", some(&warnings)));
        }
        let d = match diagnosis(&snap, from, to) {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{rule}: {e}"));
                continue;
            }
        };
        if d.verdict != *want {
            failures.push(format!("{rule}: verdict {:?}, expected {want:?}", d.verdict));
        }
        let cause = d
            .root_causes
            .iter()
            .find(|c| c.code == RootCauseCode::PolicyFieldUnknown);
        match (cause, *want == Verdict::Inconclusive) {
            (Some(c), true) if c.evidence.iter().any(|e| e.contains(field)) => {}
            (None, false) => {}
            (c, _) => failures.push(format!("{rule}: POLICY_FIELD_UNKNOWN cause {c:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The live source's objects went through the API server: they are not decoded strictly (the
/// same typo from a live read is no warning and no uncertainty).
#[test]
fn unknown_policy_fields_are_not_looked_for_in_live_reads() {
    let mut snap = ClusterSnapshot::default();
    let np = serde_json::json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "p", "namespace": "app"}, "spec": {"podSelector": {"matchLabel": {"a": "b"}}}});
    snapshot::add_value(&mut snap, "live", np);
    assert!(snap.warnings.is_empty(), "{:?}", snap.warnings);
    assert!(snap.unreadable_policies.is_empty());
    assert_eq!(snap.network_policies.len(), 1);
}

/// Pods for the policy-kind tables: app/web and app/client, no NetworkPolicy (so allowed unless
/// something else may decide).
const KIND_PODS: &str = "
apiVersion: v1
kind: Namespace
metadata: {name: app}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: app, labels: {app: web}}
status: {phase: Running, podIP: 10.0.0.1}
---
apiVersion: v1
kind: Pod
metadata: {name: client, namespace: app, labels: {app: client}}
status: {phase: Running, podIP: 10.0.0.2}
---
";

/// One row per rule for objects of the policy groups: a kind or version we do not evaluate is
/// listed in `list_policies.other_policies`, warned about once, and makes a verdict it could
/// change `inconclusive` (`EXTENDED_POLICY_PRESENT`); a known non-policy kind (Ingress) is none
/// of that.
#[test]
fn unevaluated_policy_kinds_table() {
    use netpol_debug::diagnosis::steps;
    use netpol_debug::report::RootCauseCode;
    // (rule, object, listed and warned, verdict of app/client -> app/web)
    let rows: &[(&str, &str, bool, Verdict)] = &[
        (
            "an unknown kind of policy.networking.k8s.io may select any pod: inconclusive",
            "apiVersion: policy.networking.k8s.io/v1alpha3\nkind: Foo\nmetadata: {name: foo}\nspec: {}\n",
            true,
            Verdict::Inconclusive,
        ),
        (
            "an unknown Cilium kind in the pods' namespace may select them: inconclusive",
            "apiVersion: cilium.io/v2\nkind: CiliumFooPolicy\nmetadata: {name: foo, namespace: app}\nspec: {}\n",
            true,
            Verdict::Inconclusive,
        ),
        (
            "an unknown Cilium kind in another namespace selects none of these pods",
            "apiVersion: cilium.io/v2\nkind: CiliumFooPolicy\nmetadata: {name: foo, namespace: other}\nspec: {}\n",
            true,
            Verdict::Allowed,
        ),
        (
            "an unknown version of AdminNetworkPolicy (v1beta1) is not evaluated: inconclusive",
            "apiVersion: policy.networking.k8s.io/v1beta1\nkind: AdminNetworkPolicy\nmetadata: {name: anp}\nspec: {priority: 1, subject: {namespaces: {}}, ingress: [{action: Deny, from: [{namespaces: {}}]}]}\n",
            true,
            Verdict::Inconclusive,
        ),
        (
            "an Ingress (networking.k8s.io) is not a policy: the verdict stays allowed, nothing listed",
            "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: app}\nspec: {}\n",
            false,
            Verdict::Allowed,
        ),
        (
            "a Calico StagedNetworkPolicy is not enforced: the verdict stays allowed",
            "apiVersion: projectcalico.org/v3\nkind: StagedNetworkPolicy\nmetadata: {name: s, namespace: app}\nspec: {selector: all(), types: [Ingress]}\n",
            false,
            Verdict::Allowed,
        ),
    ];
    let mut failures = Vec::new();
    for (rule, object, listed, want) in rows {
        let snap = snapshot::load_str("kinds.yaml", &format!("{KIND_PODS}{object}")).expect("loads");
        let ix = ClusterIndex::build(&snap, Semantics::default());
        let kind = object.lines().nth(1).unwrap_or_default().trim_start_matches("kind: ");
        let warned = ix
            .warnings
            .iter()
            .filter(|w| {
                let w = w.to_string();
                w.contains(kind) && w.contains("does not evaluate") && w.starts_with("kinds.yaml#4: ")
            })
            .count();
        let list = steps::list_policies(&ix, None, 50).expect("lists");
        let in_list = list
            .other_policies
            .iter()
            .any(|o| o.kind.ends_with(&format!("/{kind}")));
        if in_list != *listed || (warned == 1) != *listed {
            failures.push(format!(
                "{rule}: listed {in_list}, warned {warned} time(s), expected {listed}"
            ));
        }
        let d = match diagnosis(&snap, "app/client", "app/web") {
            Ok(d) => d,
            Err(e) => {
                failures.push(format!("{rule}: {e}"));
                continue;
            }
        };
        let extended = d
            .root_causes
            .iter()
            .any(|c| c.code == RootCauseCode::ExtendedPolicyPresent);
        if d.verdict != *want || extended != (*want == Verdict::Inconclusive) {
            failures.push(format!(
                "{rule}: verdict {:?} (EXTENDED_POLICY_PRESENT {extended}), expected {want:?}",
                d.verdict
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Objects of kinds we do not model outside the policy groups (operator resources whose pods are
/// missing) are counted in one warning by kind; kinds that create no pods (ConfigMap, RBAC) and
/// mesh objects are left out.
#[test]
fn unmodelled_kinds_are_counted_in_one_warning() {
    let objects = "
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: p1, namespace: app}
---
apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: p2, namespace: app}
---
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata: {name: a, namespace: app}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c, namespace: app}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r, namespace: app}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: z, namespace: app}
---
apiVersion: v1
kind: Service
metadata: {name: prometheus, namespace: app}
spec: {selector: {app.kubernetes.io/name: prometheus}, ports: [{port: 9090}]}
";
    let snap = snapshot::load_str("kinds.yaml", &format!("{KIND_PODS}{objects}")).expect("loads");
    let ix = ClusterIndex::build(&snap, Semantics::default());
    let lines: Vec<String> = ix
        .warnings
        .iter()
        .map(ToString::to_string)
        .filter(|w| w.contains("kinds we do not model"))
        .collect();
    assert_eq!(
        lines,
        vec![
            "objects of kinds we do not model (pods they create are not in the snapshot): 2 monitoring.coreos.com/Prometheus, 1 monitoring.coreos.com/Alertmanager"
        ]
    );
    // A Service that selects no pod says why that may be.
    let err = diagnosis(&snap, "app/client", "app/svc/prometheus").expect_err("no backing pod");
    assert!(
        err.contains("selects no pod")
            && err.contains("namespace app holds objects of kinds we do not model (2 monitoring.coreos.com/Prometheus, 1 monitoring.coreos.com/Alertmanager)"),
        "{err}"
    );
}
