//! A real control plane for the live tests: etcd and kube-apiserver started by
//! `tests/apiserver/control-plane.sh` on 127.0.0.1, once per test binary run and shared by the
//! `real_apiserver` tests (which take [`serial`] so that one runs at a time), plus what the tests
//! do as the cluster's admin (create objects and write their `status`, RBAC, tokens, etcd
//! compaction) and a recording proxy. The script stops the control plane when this process's end
//! closes its standard input, whatever ends it.
//!
//! kube-apiserver: `NETPOL_DEBUG_KUBE_APISERVER`, else the binary `tests/apiserver/build.sh`
//! caches (`~/.cache/netpol-debug/kube-apiserver-VERSION/`); etcd: `NETPOL_DEBUG_ETCD`, else
//! `etcd` on PATH. Without them the tests are skipped loudly, except under CI (env `CI`), where
//! tests/run (the README's test command, called by .ci/run) provides both and their absence fails.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A running control plane (see the module doc).
pub struct ControlPlane {
    pub dir: PathBuf,
    /// `https://127.0.0.1:PORT`.
    pub server: String,
    /// `http://127.0.0.1:PORT` (etcd's client URL).
    pub etcd: String,
    pub audit_log: PathBuf,
    pub ca: PathBuf,
    /// `kube-apiserver --version`, e.g. `v1.33.13`.
    pub version: String,
    pub etcd_version: String,
    /// Seconds from starting kube-apiserver to `/readyz`, and for the whole setup (fixture,
    /// CRDs, RBAC).
    pub startup_seconds: u64,
    pub setup_seconds: f64,
    /// Our identity: the ServiceAccount netpol-debug/netpol-debug bound to examples/rbac.yaml.
    pub ours: PathBuf,
    admin_token: String,
    /// The script; its stdin is held open until this process exits.
    child: Mutex<Child>,
    /// `(kind, plural, namespaced)` by `group/kind`, built-in and custom.
    kinds: Mutex<BTreeMap<String, (String, bool)>>,
}

static SHARED: OnceLock<Option<Result<ControlPlane, String>>> = OnceLock::new();
static SERIAL: Mutex<()> = Mutex::new(());

/// One real-apiserver test at a time (2 cores; some tests change the cluster).
pub fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn go_mod_version() -> Option<String> {
    let text = std::fs::read_to_string(root().join("tests/apiserver/go.mod")).ok()?;
    text.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("k8s.io/kubernetes"), Some(v), _) if v.starts_with('v') => Some(v.to_string()),
            (Some("require"), Some("k8s.io/kubernetes"), Some(v)) => Some(v.to_string()),
            _ => None,
        }
    })
}

/// The kube-apiserver and etcd binaries, or why they are missing.
fn binaries() -> Result<(PathBuf, PathBuf), String> {
    let apiserver = match std::env::var_os("NETPOL_DEBUG_KUBE_APISERVER").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => {
            let version = go_mod_version().ok_or("no k8s.io/kubernetes version in tests/apiserver/go.mod")?;
            let cache = std::env::var_os("NETPOL_DEBUG_CACHE")
                .map(PathBuf::from)
                .or_else(|| std::env::home_dir().map(|h| h.join(".cache/netpol-debug")))
                .ok_or("no HOME")?;
            cache.join(format!("kube-apiserver-{version}/kube-apiserver"))
        }
    };
    if !apiserver.is_file() {
        return Err(format!(
            "no kube-apiserver at {} (build it with tests/apiserver/build.sh, or set NETPOL_DEBUG_KUBE_APISERVER)",
            apiserver.display()
        ));
    }
    let etcd = match std::env::var_os("NETPOL_DEBUG_ETCD").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|d| d.join("etcd"))
            .find(|p| p.is_file())
            .ok_or("no etcd on PATH (apt-get install etcd-server, or set NETPOL_DEBUG_ETCD)")?,
    };
    Ok((apiserver, etcd))
}

/// The shared control plane, started (and the fixture created) on first use. `None`: the
/// binaries are missing and the caller skips, loudly; under CI that is a failure.
pub fn shared(what: &str) -> Option<&'static ControlPlane> {
    let cp = SHARED.get_or_init(|| match binaries() {
        // A failed start is remembered: the other tests fail at once rather than start again.
        Ok((apiserver, etcd)) => Some(
            std::panic::catch_unwind(|| ControlPlane::start(&apiserver, &etcd)).map_err(|e| {
                e.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            }),
        ),
        Err(why) => {
            if std::env::var_os("CI").is_some() {
                panic!("real kube-apiserver tests: {why}; tests/run provides it (bash tests/run --prepare)");
            }
            // Straight to the process's stderr: the test harness does not capture it.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED: the real kube-apiserver tests (tests/suite/real_apiserver.rs): {why} ***\n"
            );
            None
        }
    });
    match cp {
        None => {
            let _ = writeln!(std::io::stderr(), "SKIPPED: {what} (no real kube-apiserver; see above)");
            None
        }
        Some(Ok(cp)) => Some(cp),
        Some(Err(why)) => panic!("{what}: the real control plane failed to start: {why}"),
    }
}

/// The answer of an HTTP request made with curl.
#[derive(Debug)]
pub struct Answer {
    pub code: u16,
    pub body: Value,
}

impl Answer {
    fn ok_or_exists(&self) -> bool {
        (200..300).contains(&self.code) || self.code == 409
    }
}

fn curl(args: &[&str], body: Option<&str>) -> Answer {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "60", "-w", "\n%{http_code}"]).args(args);
    if body.is_some() {
        cmd.args(["--data-binary", "@-"]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("curl runs");
    if let Some(b) = body {
        child.stdin.take().unwrap().write_all(b.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
    Answer {
        code: code.trim().parse().unwrap_or(0),
        body: serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_string())),
    }
}

impl ControlPlane {
    fn start(apiserver: &Path, etcd: &Path) -> ControlPlane {
        let dir = std::env::temp_dir().join(format!("netpol-debug-apiserver-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("script.log")).unwrap();
        let started = Instant::now();
        // The directory goes when the control plane stops, unless it is wanted for a post-mortem.
        let keep = std::env::var_os("NETPOL_DEBUG_KEEP_APISERVER_DIR").is_some();
        let mut child = Command::new("bash")
            .arg(root().join("tests/apiserver/control-plane.sh"))
            .args((!keep).then_some("--remove-on-exit"))
            .arg(&dir)
            .env("NETPOL_DEBUG_KUBE_APISERVER", apiserver)
            .env("NETPOL_DEBUG_ETCD", etcd)
            .stdin(Stdio::piped())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("bash runs tests/apiserver/control-plane.sh");
        let tail = |name: &str| {
            let text = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(30)..].join("\n")
        };
        while !dir.join("ready").exists() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "the control plane did not start ({status}):\n{}\n--- apiserver.log ---\n{}\n--- etcd.log ---\n{}",
                    tail("script.log"),
                    tail("apiserver.log"),
                    tail("etcd.log")
                );
            }
            if started.elapsed() > Duration::from_secs(360) {
                let _ = child.kill();
                panic!(
                    "the control plane was not ready after 360s:\n{}\n--- apiserver.log ---\n{}",
                    tail("script.log"),
                    tail("apiserver.log")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let env: BTreeMap<String, String> = std::fs::read_to_string(dir.join("env"))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let cp = ControlPlane {
            server: env["SERVER"].clone(),
            etcd: env["ETCD"].clone(),
            audit_log: PathBuf::from(&env["AUDIT_LOG"]),
            ca: PathBuf::from(&env["CA"]),
            version: env["VERSION"].clone(),
            etcd_version: env["ETCD_VERSION"].clone(),
            startup_seconds: env["STARTUP_SECONDS"].parse().unwrap_or(0),
            setup_seconds: 0.0,
            ours: dir.join("netpol-debug.kubeconfig"),
            admin_token: env["ADMIN_TOKEN"].clone(),
            child: Mutex::new(child),
            kinds: Mutex::new(builtin_kinds()),
            dir,
        };
        let setup = Instant::now();
        cp.create_fixture();
        let mut cp = cp;
        cp.setup_seconds = setup.elapsed().as_secs_f64();
        println!(
            "real control plane: kube-apiserver {} + etcd {}: ready in {}s, fixture and RBAC in {:.1}s ({})",
            cp.version,
            cp.etcd_version,
            cp.startup_seconds,
            cp.setup_seconds,
            cp.dir.display()
        );
        cp
    }

    /// A request as the cluster's admin (system:masters).
    pub fn admin(&self, method: &str, path: &str, body: Option<&Value>, content_type: &str) -> Answer {
        let auth = format!("Authorization: Bearer {}", self.admin_token);
        let ct = format!("Content-Type: {content_type}");
        let url = format!("{}{path}", self.server);
        let ca = self.ca.to_str().unwrap();
        let text = body.map(Value::to_string);
        curl(
            &["--cacert", ca, "-H", &auth, "-H", &ct, "-X", method, &url],
            text.as_deref(),
        )
    }

    /// A GET with a kubeconfig's token (ours or another ServiceAccount's).
    pub fn get_as(&self, token: &str, path: &str) -> Answer {
        let auth = format!("Authorization: Bearer {token}");
        let url = format!("{}{path}", self.server);
        curl(&["--cacert", self.ca.to_str().unwrap(), "-H", &auth, &url], None)
    }

    /// The collection path of an object's kind (in its namespace).
    pub fn collection(&self, o: &Value) -> String {
        let api_version = o["apiVersion"].as_str().unwrap_or_default();
        let kind = o["kind"].as_str().unwrap_or_default();
        let group = api_version.split_once('/').map_or("", |(g, _)| g);
        let (plural, namespaced) = self
            .kinds
            .lock()
            .unwrap()
            .get(&format!("{group}/{kind}"))
            .cloned()
            .unwrap_or_else(|| panic!("unknown kind {api_version} {kind}"));
        let base = if group.is_empty() {
            format!("/api/{api_version}")
        } else {
            format!("/apis/{api_version}")
        };
        match o["metadata"]["namespace"].as_str() {
            Some(ns) if namespaced => format!("{base}/namespaces/{ns}/{plural}"),
            _ => format!("{base}/{plural}"),
        }
    }

    /// Creates an object (its `status` through the status subresource afterwards, as a kubelet
    /// or a controller would write it). An object that exists already (the `kubernetes`
    /// Service, `default` namespace) is left as the server made it: returns false.
    pub fn create(&self, o: &Value) -> bool {
        let mut o = o.clone();
        let status = o.as_object_mut().and_then(|m| m.remove("status"));
        let path = self.collection(&o);
        let name = o["metadata"]["name"].as_str().unwrap_or_default();
        // Checked first: creating the `kubernetes` Service again fails on its ClusterIP (422)
        // before its name (409).
        if self
            .admin("GET", &format!("{path}/{name}"), None, "application/json")
            .code
            == 200
        {
            return false;
        }
        let a = self.admin("POST", &path, Some(&o), "application/json");
        assert!(
            a.ok_or_exists(),
            "create {path} {}: {} {}",
            o["metadata"]["name"],
            a.code,
            a.body
        );
        if a.code == 409 {
            return false;
        }
        if let Some(status) = status {
            let patch = json!({ "status": status });
            let p = self.admin(
                "PATCH",
                &format!("{path}/{name}/status"),
                Some(&patch),
                "application/merge-patch+json",
            );
            assert_eq!(p.code, 200, "status of {path}/{name}: {}", p.body);
        }
        true
    }

    pub fn delete(&self, o: &Value) {
        let path = format!("{}/{}", self.collection(o), o["metadata"]["name"].as_str().unwrap());
        let a = self.admin("DELETE", &path, None, "application/json");
        assert!(
            a.code == 200 || a.code == 202 || a.code == 404,
            "delete {path}: {}",
            a.body
        );
    }

    /// Creates the CRDs of a file and waits until they are established (served).
    pub fn create_crds(&self, file: &str) {
        let crds = crate::fake_kube::load_objects(&root().join(file));
        for crd in &crds {
            self.kinds.lock().unwrap().insert(
                format!(
                    "{}/{}",
                    crd["spec"]["group"].as_str().unwrap(),
                    crd["spec"]["names"]["kind"].as_str().unwrap()
                ),
                (
                    crd["spec"]["names"]["plural"].as_str().unwrap().to_string(),
                    crd["spec"]["scope"] == "Namespaced",
                ),
            );
            self.create(crd);
        }
        let started = Instant::now();
        for crd in &crds {
            let name = crd["metadata"]["name"].as_str().unwrap();
            loop {
                let a = self.admin(
                    "GET",
                    &format!("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"),
                    None,
                    "application/json",
                );
                let established = a.body["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Established" && c["status"] == "True");
                if established {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "CRD {name} not established"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        // Discovery lags the Established condition a little.
        for crd in &crds {
            let (group, plural) = (
                crd["spec"]["group"].as_str().unwrap(),
                crd["spec"]["names"]["plural"].as_str().unwrap(),
            );
            for v in crd["spec"]["versions"].as_array().unwrap() {
                let gv = format!("/apis/{group}/{}", v["name"].as_str().unwrap());
                while !self.admin("GET", &gv, None, "application/json").body["resources"]
                    .as_array()
                    .is_some_and(|r| r.iter().any(|r| r["name"] == plural))
                {
                    assert!(
                        started.elapsed() < Duration::from_secs(60),
                        "{gv} does not serve {plural}"
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    /// The live fixture, the CRDs of tests/apiserver/crds (but Calico's, which a test creates
    /// later), the objects of tests/apiserver/extra-objects.yaml, and examples/rbac.yaml.
    fn create_fixture(&self) {
        for file in ["policy-networking", "cilium", "multus", "istio"] {
            self.create_crds(&format!("tests/apiserver/crds/{file}.yaml"));
        }
        let mut skipped = Vec::new();
        let fixture = crate::fake_kube::load_objects(&root().join("tests/fixtures/live-cluster.yaml"));
        let extra = crate::fake_kube::load_objects(&root().join("tests/apiserver/extra-objects.yaml"));
        for o in fixture.iter().chain(&extra) {
            if !self.create(o) {
                skipped.push(format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap(),
                    o["metadata"]["name"].as_str().unwrap()
                ));
            }
            if o["kind"] == "Namespace" {
                // No controller-manager: the `default` ServiceAccount its pods need (the
                // ServiceAccount admission plugin checks it) is ours to make.
                let ns = o["metadata"]["name"].as_str().unwrap();
                self.service_account(ns, "default");
                if ns == "shop" {
                    self.service_account(ns, "frontend");
                }
            }
        }
        println!("fixture on the real server: objects the server had made already, left as they are: {skipped:?}");
        for o in crate::fake_kube::load_objects(&root().join("examples/rbac.yaml")) {
            self.create(&o);
        }
        let token = self.token_of(&self.ours);
        self.wait_until_allowed(&token, "/api/v1/namespaces/shop/pods");
    }

    fn service_account(&self, ns: &str, name: &str) {
        self.create(
            &json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}),
        );
    }

    /// RBAC is evaluated from the authorizer's caches: a binding takes a moment to apply.
    pub fn wait_until_allowed(&self, token: &str, path: &str) {
        let started = Instant::now();
        loop {
            let a = self.get_as(token, path);
            if a.code == 200 {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "still {} on {path}: {}",
                a.code,
                a.body
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The bearer token in a kubeconfig we wrote.
    pub fn token_of(&self, kubeconfig: &Path) -> String {
        let text = std::fs::read_to_string(kubeconfig).unwrap();
        let at = text.find("token: \"").expect("a token in the kubeconfig") + 8;
        text[at..].split('"').next().unwrap().to_string()
    }

    /// A ServiceAccount of namespace netpol-debug (created if missing), a token for it from the
    /// TokenRequest API, and a kubeconfig with that token in `dir`.
    pub fn identity(&self, name: &str, dir: &Path) -> PathBuf {
        self.service_account("netpol-debug", name);
        let a = self.admin(
            "POST",
            &format!("/api/v1/namespaces/netpol-debug/serviceaccounts/{name}/token"),
            Some(&json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 86400}})),
            "application/json",
        );
        let token = a.body["status"]["token"]
            .as_str()
            .unwrap_or_else(|| panic!("token for {name}: {}", a.body));
        self.kubeconfig(dir, name, token)
    }

    /// A kubeconfig (context `real`) for this server with a token.
    pub fn kubeconfig(&self, dir: &Path, user: &str, token: &str) -> PathBuf {
        self.kubeconfig_at(dir, user, token, &self.server)
    }

    /// A kubeconfig pointing at `server` (e.g. a [`Proxy`]) with a token.
    pub fn kubeconfig_at(&self, dir: &Path, user: &str, token: &str, server: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(format!("{user}.kubeconfig"));
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: real\n  cluster: {{server: \"{server}\", certificate-authority: \"{}\"}}\nusers:\n- name: {user}\n  user: {{token: \"{token}\"}}\ncontexts:\n- name: real\n  context: {{cluster: real, user: {user}}}\ncurrent-context: real\n",
                self.ca.display()
            ),
        )
        .unwrap();
        path
    }

    /// Compacts etcd to its current revision after one more write, so that every `continue`
    /// token handed out so far has expired (the next page is a real 410 Gone).
    pub fn expire_continue_tokens(&self) {
        let ns =
            json!({"metadata": {"annotations": {"netpol-debug.io/compacted-at": format!("{:?}", Instant::now())}}});
        let a = self.admin(
            "PATCH",
            "/api/v1/namespaces/netpol-debug",
            Some(&ns),
            "application/merge-patch+json",
        );
        assert_eq!(a.code, 200, "{}", a.body);
        let range = curl(
            &["-X", "POST", &format!("{}/v3/kv/range", self.etcd)],
            Some(r#"{"key": "Lw==", "limit": 1}"#),
        );
        let revision = range.body["header"]["revision"]
            .as_str()
            .unwrap_or_else(|| panic!("etcd revision: {:?}", range))
            .to_string();
        let c = curl(
            &["-X", "POST", &format!("{}/v3/kv/compaction", self.etcd)],
            Some(&json!({"revision": revision, "physical": true}).to_string()),
        );
        assert_eq!(c.code, 200, "etcd compaction: {:?}", c);
    }

    /// Every audit event of our identities (the ServiceAccounts of namespace netpol-debug).
    pub fn audit_events(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.audit_log)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| {
                e["user"]["username"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("system:serviceaccount:netpol-debug:"))
            })
            .collect()
    }

    /// The audit log shows only reads by our identities, and never of Secrets or ConfigMaps.
    pub fn assert_only_reads(&self) -> usize {
        let events = self.audit_events();
        for e in &events {
            let verb = e["verb"].as_str().unwrap_or_default();
            let uri = e["requestURI"].as_str().unwrap_or_default();
            assert!(
                matches!(verb, "get" | "list" | "watch"),
                "audit: {verb} {uri} by {}",
                e["user"]["username"]
            );
            let resource = e["objectRef"]["resource"].as_str().unwrap_or_default();
            assert!(
                resource != "secrets"
                    && resource != "configmaps"
                    && !uri.contains("/secrets")
                    && !uri.contains("/configmaps"),
                "audit: read {uri}"
            );
        }
        events.len()
    }

    /// A plain-HTTP proxy on 127.0.0.1 in front of the API server, recording each request (path
    /// and query, and the status the server answered); `before` runs before a request is
    /// forwarded (to change the cluster between two pages of a list).
    pub fn proxy(&self, before: impl Fn(&str) + Send + Sync + 'static) -> Proxy {
        Proxy::start(self, Arc::new(before))
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        if let Ok(mut child) = self.child.lock() {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}

fn builtin_kinds() -> BTreeMap<String, (String, bool)> {
    let mut m = BTreeMap::new();
    for (group, kind, plural, namespaced) in [
        ("", "Namespace", "namespaces", false),
        ("", "Node", "nodes", false),
        ("", "Pod", "pods", true),
        ("", "Service", "services", true),
        ("", "Endpoints", "endpoints", true),
        ("", "Secret", "secrets", true),
        ("", "ConfigMap", "configmaps", true),
        ("", "ServiceAccount", "serviceaccounts", true),
        ("", "ReplicationController", "replicationcontrollers", true),
        ("apps", "DaemonSet", "daemonsets", true),
        ("apps", "Deployment", "deployments", true),
        ("apps", "ReplicaSet", "replicasets", true),
        ("apps", "StatefulSet", "statefulsets", true),
        ("batch", "Job", "jobs", true),
        ("batch", "CronJob", "cronjobs", true),
        ("discovery.k8s.io", "EndpointSlice", "endpointslices", true),
        ("networking.k8s.io", "NetworkPolicy", "networkpolicies", true),
        ("rbac.authorization.k8s.io", "ClusterRole", "clusterroles", false),
        (
            "rbac.authorization.k8s.io",
            "ClusterRoleBinding",
            "clusterrolebindings",
            false,
        ),
        ("rbac.authorization.k8s.io", "Role", "roles", true),
        ("rbac.authorization.k8s.io", "RoleBinding", "rolebindings", true),
        (
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            "customresourcedefinitions",
            false,
        ),
    ] {
        m.insert(format!("{group}/{kind}"), (plural.to_string(), namespaced));
    }
    m
}

/// One request that went through a [`Proxy`].
#[derive(Debug, Clone)]
pub struct Proxied {
    pub path_and_query: String,
    pub status: u16,
}

type Hook = Arc<dyn Fn(&str) + Send + Sync>;

/// See [`ControlPlane::proxy`]. Stops when dropped.
pub struct Proxy {
    pub addr: SocketAddr,
    pub log: Arc<Mutex<Vec<Proxied>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    fn start(cp: &ControlPlane, before: Hook) -> Proxy {
        use axum::http::{HeaderMap, Method, Uri};
        use axum::response::IntoResponse;
        let log: Arc<Mutex<Vec<Proxied>>> = Arc::default();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        // A kube client with no credentials of its own: each request carries the caller's.
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: real\n  cluster: {{server: \"{}\", certificate-authority: \"{}\"}}\nusers:\n- name: anonymous\n  user: {{}}\ncontexts:\n- name: real\n  context: {{cluster: real, user: anonymous}}\ncurrent-context: real\n",
            cp.server,
            cp.ca.display()
        );
        let recorded = log.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let kc = kube::config::Kubeconfig::from_yaml(&kubeconfig).unwrap();
                let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
                    .await
                    .unwrap();
                let client = kube::Client::try_from(config).unwrap();
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap| {
                    let (client, before, recorded) = (client.clone(), before.clone(), recorded.clone());
                    async move {
                        let pq = uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
                        let hook = before.clone();
                        let pq2 = pq.clone();
                        tokio::task::spawn_blocking(move || hook(&pq2)).await.unwrap();
                        let mut req = http::Request::builder().method(method.as_str()).uri(pq.as_str());
                        for name in ["authorization", "accept", "user-agent"] {
                            if let Some(v) = headers.get(name) {
                                req = req.header(name, v.as_bytes());
                            }
                        }
                        let req = req.body(kube::client::Body::from(Vec::new())).unwrap();
                        let (status, content_type, body) = match client.send(req).await {
                            Ok(resp) => {
                                let status = resp.status().as_u16();
                                let ct = resp
                                    .headers()
                                    .get("content-type")
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or("application/json")
                                    .to_string();
                                let body = resp
                                    .into_body()
                                    .collect_bytes()
                                    .await
                                    .map(|b| b.to_vec())
                                    .unwrap_or_default();
                                (status, ct, body)
                            }
                            Err(e) => (502, "text/plain".to_string(), format!("proxy: {e}").into_bytes()),
                        };
                        recorded.lock().unwrap().push(Proxied {
                            path_and_query: pq,
                            status,
                        });
                        (
                            axum::http::StatusCode::from_u16(status).unwrap(),
                            [("content-type", content_type)],
                            body,
                        )
                            .into_response()
                    }
                });
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Proxy {
            addr: addr_rx.recv().expect("proxy starts"),
            log,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn recorded(&self) -> Vec<Proxied> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
