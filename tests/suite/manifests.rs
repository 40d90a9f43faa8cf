//! Manifests read as `kubectl apply` reads them, and the command line's manners around them:
//! `--namespace` for objects that name none, templates stopped before they load, and a closed
//! stdout ending every command quietly.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Output, Stdio};

use crate::common::{bin, run_bin as run};

fn temp_file(name: &str, text: &str) -> PathBuf {
    crate::common::temp_file("manifests", name, text)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// An app published for `kubectl apply -n NS`: no object names a namespace; a default-deny
/// policy and an allow for the web pods; one cluster-scoped object.
const NO_NAMESPACE: &str = "
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec: {containers: [{name: c, image: x, ports: [{containerPort: 8080}]}]}
status: {podIP: 10.0.0.1, phase: Running}
---
apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec: {containers: [{name: c, image: x}]}
status: {podIP: 10.0.0.2, phase: Running}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all}
spec: {podSelector: {}, policyTypes: [Ingress]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: []
";

#[test]
fn objects_without_a_namespace_go_to_the_one_named_by_namespace_flag() {
    let f = temp_file("app.yaml", NO_NAMESPACE);
    let s = f.to_str().unwrap();
    let out = run(&[
        "diagnose",
        "-s",
        s,
        "-n",
        "argocd",
        "--from",
        "argocd/client",
        "--to",
        "argocd/web",
        "--port",
        "8080",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("argocd/deny-all"), "{stdout}");
}

#[test]
fn without_namespace_flag_objects_go_to_default_as_kubectl_puts_them() {
    let f = temp_file("app-default.yaml", NO_NAMESPACE);
    let s = f.to_str().unwrap();
    let out = run(&["diagnose", "-s", s, "--from", "default/client", "--to", "default/web"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("default/deny-all"));
}

#[test]
fn an_unknown_namespace_says_how_many_objects_were_defaulted_and_suggests_the_flag() {
    let f = temp_file("app-hint.yaml", NO_NAMESPACE);
    let s = f.to_str().unwrap();
    let out = run(&["diagnose", "-s", s, "--from", "argocd/client", "--to", "argocd/web"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    // Three namespaced objects (two pods, a policy); the ClusterRole stays cluster-scoped.
    assert!(err.contains("3 objects of the snapshot named no namespace"), "{err}");
    assert!(
        err.contains("\"default\"") && err.contains("--namespace argocd"),
        "{err}"
    );
}

#[test]
fn did_you_mean_covers_namespaces() {
    let f = temp_file("app-typo.yaml", NO_NAMESPACE);
    let s = f.to_str().unwrap();
    let out = run(&[
        "diagnose",
        "-s",
        s,
        "-n",
        "payments",
        "--from",
        "payment/client",
        "--to",
        "payments/web",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("namespace payment not found") && err.contains("did you mean payments"),
        "{err}"
    );
    // The objects went where the flag said: no hint about defaulting to another namespace.
    assert!(!err.contains("named no namespace"), "{err}");
}

#[test]
fn namespace_flag_reaches_matrix_tool_and_serve_loading() {
    let f = temp_file("app-matrix.yaml", NO_NAMESPACE);
    let s = f.to_str().unwrap();
    let out = run(&["matrix", "-s", s, "-n", "shop", "--focus", "shop", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(&[
        "tool",
        "list_policies",
        "--namespace",
        "shop",
        "--args",
        r#"{"namespace":"shop"}"#,
        "-s",
        s,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("deny-all"), "{}", text(&out.stdout));
    let out = run(&["serve", "--namespace", "shop", "--live"]);
    assert_eq!(out.status.code(), Some(2), "--namespace is for snapshots only");
}

#[test]
fn a_helm_template_stops_the_load_with_an_error_that_says_render_it_first() {
    let rows: &[(&str, &str, &str)] = &[
        (
            "action as a value",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}\n",
            ":4:",
        ),
        (
            "control line first",
            "{{- if .Values.enabled }}\napiVersion: v1\nkind: Pod\nmetadata: {name: a}\n{{- end }}\n",
            ":1:",
        ),
    ];
    for (rule, yaml, line) in rows {
        let f = temp_file("template.yaml", yaml);
        let out = run(&[
            "diagnose",
            "-s",
            f.to_str().unwrap(),
            "--from",
            "default/a",
            "--to",
            "default/a",
        ]);
        assert_eq!(out.status.code(), Some(2), "{rule}");
        let err = text(&out.stderr);
        assert!(err.contains("template.yaml") && err.contains(line), "{rule}: {err}");
        assert!(
            err.contains("Helm/Go template") && err.contains("helm template"),
            "{rule}: {err}"
        );
    }
    // A quoted action is a string a manifest may hold: it loads.
    let quoted =
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, annotations: {t: \"{{ .x }}\"}}\nstatus: {podIP: 10.0.0.1}\n";
    let f = temp_file("quoted.yaml", quoted);
    let out = run(&[
        "diagnose",
        "-s",
        f.to_str().unwrap(),
        "--from",
        "default/a",
        "--to",
        "default/a",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

/// Runs the binary with stdout a pipe whose reader is gone before the first write.
fn run_into_closed_pipe(args: &[&str]) -> Output {
    let mut child = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    drop(child.stdout.take()); // the reader closes before the command has loaded anything
    let mut stderr = Vec::new();
    child.stderr.take().unwrap().read_to_end(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    Output {
        status,
        stdout: Vec::new(),
        stderr,
    }
}

#[test]
fn every_command_ends_quietly_on_a_closed_stdout() {
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/01-default-deny-ingress/cluster.yaml");
    let s = example.to_str().unwrap();
    let batch = temp_file(
        "batch.jsonl",
        "{\"from\":\"shop/frontend-7d9f\",\"to\":\"shop/api-5c6b\"}\n",
    );
    let commands: Vec<Vec<&str>> = vec![
        vec!["matrix", "-s", s],
        vec!["matrix", "-s", s, "-o", "json"],
        vec!["matrix", "-s", s, "-o", "dot"],
        vec![
            "diagnose",
            "-s",
            s,
            "--from",
            "shop/frontend-7d9f",
            "--to",
            "shop/api-5c6b",
        ],
        vec![
            "diagnose",
            "-s",
            s,
            "--from",
            "shop/frontend-7d9f",
            "--to",
            "shop/api-5c6b",
            "-o",
            "json",
        ],
        vec!["diagnose", "-s", s, "--batch", batch.to_str().unwrap()],
        vec!["tool", "list_policies", "-s", s],
    ];
    for args in commands {
        let out = run_into_closed_pipe(&args);
        let err = text(&out.stderr);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}

#[test]
fn a_command_without_a_source_names_both_snapshot_and_live() {
    for args in [
        vec!["diagnose", "--from", "a/b", "--to", "c/d"],
        vec!["matrix"],
        vec!["tool", "check_cni"],
        vec!["serve"],
    ] {
        let out = run(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(err.contains("--snapshot") && err.contains("--live"), "{args:?}: {err}");
    }
}

/// YAML allows a document to be a flow mapping (`{apiVersion: v1, …}`), and `kubectl apply`
/// reads such a `.yaml` file; its first character `{` must not make it "JSON" with a syntax
/// error. A `.json` file stays JSON, and a broken one names the file as JSON.
#[test]
fn a_yaml_file_that_begins_with_a_flow_mapping_is_read_as_yaml() {
    let flow = "{apiVersion: v1, kind: Namespace, metadata: {name: a}}\n---\n\
                {apiVersion: v1, kind: Pod, metadata: {name: p, namespace: a, labels: {app: p}}, spec: {containers: [{name: c, image: i}]}, status: {podIP: 10.0.0.9}}\n";
    let path = temp_file("flow.yaml", flow);
    let out = run(&[
        "tool",
        "match_selectors",
        "--snapshot",
        path.to_str().unwrap(),
        "--args",
        r#"{"pod":"a/p"}"#,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("a/p"), "{}", text(&out.stdout));

    let broken = "{\"apiVersion\": \"v1\", \"kind\": ";
    let json = temp_file("broken.json", broken);
    let out = run(&["tool", "check_cni", "--snapshot", json.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("broken.json:1:") && text(&out.stderr).contains("JSON syntax error"),
        "{}",
        text(&out.stderr)
    );
}
