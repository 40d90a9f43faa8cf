//! The tool contract shared by the MCP server and `netpol-debug tool`: typed arguments, typed
//! results, and one handler per tool. The MCP layer and the CLI only move JSON in and out.
//!
//! Invariant: handlers are pure (no I/O, no async) over a [`Context`] loaded once, except
//! `diff_snapshots`, which loads the snapshot paths it names (under the working directory). A malformed
//! argument is a [`ToolError`] (an `isError` result); a well-formed argument that names
//! nothing in the cluster is a normal answer, [`Answer::NotFound`], with suggestions.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diagnosis::matrix;
use crate::diagnosis::query::{self, QueryError, Surface};
use crate::diagnosis::reach::{self, ReachQuery};
use crate::diagnosis::steps;
use crate::diagnosis::{self, Query};
use crate::diagnosis::{diff, whatif};
use crate::policy::Direction;
use crate::report::render;
use crate::report::*;
use crate::serve::source::{Context, Scope, Scoped};
use crate::serve::text;

/// Default and largest number of items a list result carries.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// Malformed arguments: every bad one of the call, named as the tool names it, and what is
/// accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid argument {}", message.replace('\n', "\ninvalid argument "))]
pub struct ToolError {
    /// The bad arguments, `port, protocol`.
    pub argument: String,
    /// One line per bad argument: `` `port`: 70000 is out of range… ``.
    pub message: String,
}

impl ToolError {
    fn new(argument: &str, message: String) -> Self {
        QueryError::invalid(argument, message).into()
    }
}

impl From<QueryError> for ToolError {
    fn from(e: QueryError) -> Self {
        ToolError {
            argument: e.arguments(),
            message: e.text(Surface::Tool),
        }
    }
}

/// What a handler returns: the structured result and a short text for clients that read text.
pub struct Output<T> {
    pub value: T,
    pub text: String,
}

type ToolResult<T> = Result<Output<Answer<T>>, ToolError>;

/// Turns a step's result into a tool result: not-found errors are answers, others are errors.
fn answer<T>(r: Result<T, QueryError>, text: impl FnOnce(&T) -> String) -> ToolResult<T> {
    match r {
        Ok(v) => Ok(Output {
            text: text(&v),
            value: Answer::Found(v),
        }),
        Err(e) if e.not_found => {
            let report = e.report(Surface::Tool);
            Ok(Output {
                text: format!("Not found: {}", report.error),
                value: Answer::NotFound(report),
            })
        }
        Err(e) => Err(e.into()),
    }
}

fn limit(l: Option<i64>) -> Result<usize, ToolError> {
    match l {
        None => Ok(DEFAULT_LIMIT as usize),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n as usize),
        Some(n) => Err(ToolError::new("limit", format!("{n}: accepted 1 to {MAX_LIMIT}"))),
    }
}

/// No arguments.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// A port: a number (1-65535) or the name of a container port (e.g. `http`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PortInput {
    Number(i64),
    Name(String),
}

impl PortInput {
    /// The port as a user writes it.
    pub fn text(&self) -> String {
        match self {
            PortInput::Number(n) => n.to_string(),
            PortInput::Name(s) => s.clone(),
        }
    }
}

/// A flow to check: from one endpoint to another, on a protocol and port.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowArgs {
    /// `NS/POD`, `NS/KIND/NAME` (deploy, sts, ds, rs, job, cronjob, rc, svc, pod), a Service
    /// DNS name or an IP.
    pub from: String,
    /// As `from`; a Service maps its port to the targetPort.
    pub to: String,
    /// Number or container port name; omitted: the ports that pass are listed.
    #[serde(default)]
    pub port: Option<PortInput>,
    /// Default TCP; any case.
    #[serde(default)]
    #[schemars(extend("enum" = ["TCP", "UDP", "SCTP"]))]
    pub protocol: Option<String>,
}

impl FlowArgs {
    /// The query, or every bad argument at once.
    pub fn query(&self) -> Result<Query, ToolError> {
        let port = self.port.as_ref().map(PortInput::text);
        Ok(Query::parse(
            &self.from,
            &self.to,
            port.as_deref(),
            self.protocol.as_deref(),
        )?)
    }
}

/// Arguments of `list_policies`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListPoliciesArgs {
    /// Namespace to list. Omitted: every namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Most policies to list (1-500, default 50).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// Arguments of `match_selectors`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MatchSelectorsArgs {
    /// The pod: `NAMESPACE/POD` or `NAMESPACE/KIND/NAME` (a workload stands for its first pod).
    pub pod: String,
    /// Most policies to list (1-500, default 50); selecting policies come first.
    #[serde(default)]
    pub limit: Option<i64>,
}

/// Arguments of `check_default_deny`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DefaultDenyArgs {
    /// The namespace to check.
    pub namespace: String,
    /// Optionally a pod of that namespace (`NAMESPACE/POD` or `NAMESPACE/KIND/NAME`) to report its isolation.
    #[serde(default)]
    pub pod: Option<String>,
}

/// Arguments of `check_policy_types`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyTypesArgs {
    /// Namespace whose policies to check. Omitted (and no `policy`): every namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// One policy, `NAMESPACE/NAME`.
    #[serde(default)]
    pub policy: Option<String>,
    /// Most policies to list (1-500, default 50); policies with findings come first.
    #[serde(default)]
    pub limit: Option<i64>,
}

/// Output format of `connectivity_map`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MapFormat {
    /// Connections as a list (default).
    #[default]
    Json,
    /// The list plus a Mermaid flowchart in `mermaid`, for chat clients that draw it.
    Mermaid,
}

/// Arguments of `connectivity_map`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapArgs {
    /// The namespaces to map (at least one): connections with an end in one of them.
    pub namespaces: Vec<String>,
    /// `json` (default) or `mermaid`.
    #[serde(default)]
    pub format: Option<MapFormat>,
    /// Most connections to list (1-500, default 50).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// Arguments of `check_reachability`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReachArgs {
    /// `NS/POD` or `NS/KIND/NAME`.
    #[serde(default)]
    pub to: Option<String>,
    /// Or: what it reaches.
    #[serde(default)]
    pub from: Option<String>,
    /// Number or name.
    #[serde(default)]
    pub port: Option<PortInput>,
    #[serde(default)]
    #[schemars(extend("enum" = ["TCP", "UDP", "SCTP"]))]
    pub protocol: Option<String>,
    #[serde(default)]
    pub limit: Option<i64>,
}

impl ReachArgs {
    /// The question, or every bad argument at once.
    pub fn query(&self) -> Result<ReachQuery, ToolError> {
        let limit = match self.limit {
            None => reach::DEFAULT_LIMIT,
            Some(n) => limit(Some(n))?,
        };
        let port = self.port.as_ref().map(PortInput::text);
        Ok(ReachQuery::parse(
            self.to.as_deref(),
            self.from.as_deref(),
            port.as_deref(),
            self.protocol.as_deref(),
            limit,
        )?)
    }
}

pub fn check_cni(ctx: &Context, _: NoArgs) -> Result<Output<CniReport>, ToolError> {
    let r = steps::check_cni(&ctx.index);
    let text = text::check_cni(&r);
    Ok(Output { value: r, text })
}

pub fn list_policies(ctx: &Context, a: ListPoliciesArgs) -> ToolResult<PolicyList> {
    let limit = limit(a.limit)?;
    answer(
        steps::list_policies(&ctx.index, a.namespace.as_deref(), limit),
        text::list_policies,
    )
}

pub fn match_selectors(ctx: &Context, a: MatchSelectorsArgs) -> ToolResult<SelectorReport> {
    let limit = limit(a.limit)?;
    answer(steps::match_selectors(&ctx.index, &a.pod, limit), text::match_selectors)
}

pub fn check_default_deny(ctx: &Context, a: DefaultDenyArgs) -> ToolResult<DefaultDenyReport> {
    answer(
        steps::check_default_deny(&ctx.index, &a.namespace, a.pod.as_deref()),
        text::check_default_deny,
    )
}

pub fn check_policy_types(ctx: &Context, a: PolicyTypesArgs) -> ToolResult<PolicyTypesReport> {
    let limit = limit(a.limit)?;
    answer(
        steps::check_policy_types(&ctx.index, a.namespace.as_deref(), a.policy.as_deref(), limit),
        text::check_policy_types,
    )
}

fn check_side(ctx: &Context, a: FlowArgs, dir: Direction) -> ToolResult<SideCheck> {
    let q = a.query()?;
    answer(diagnosis::check_side(&ctx.index, &q, dir), text::side_check)
}

pub fn check_ingress(ctx: &Context, a: FlowArgs) -> ToolResult<SideCheck> {
    check_side(ctx, a, Direction::Ingress)
}

pub fn check_egress(ctx: &Context, a: FlowArgs) -> ToolResult<SideCheck> {
    check_side(ctx, a, Direction::Egress)
}

pub fn check_cross_namespace(ctx: &Context, a: FlowArgs) -> ToolResult<CrossNamespaceReport> {
    let q = a.query()?;
    answer(
        steps::check_cross_namespace(&ctx.index, &q, DEFAULT_LIMIT as usize),
        text::check_cross_namespace,
    )
}

pub fn diagnose(ctx: &Context, a: FlowArgs) -> ToolResult<Diagnosis> {
    let q = a.query()?;
    answer(diagnosis::diagnose(&ctx.index, &q), render::diagnosis_text)
}

pub fn connectivity_map(ctx: &Context, a: MapArgs) -> ToolResult<MapReport> {
    let limit = limit(a.limit)?;
    if a.namespaces.is_empty() {
        return Err(ToolError::new(
            "namespaces",
            "give at least one namespace (the whole cluster is too large for one answer)".into(),
        ));
    }
    let r = (|| -> Result<MapReport, QueryError> {
        for ns in &a.namespaces {
            query::check_namespace(&ctx.index, "namespaces", ns)?;
        }
        let map = matrix::connectivity_map(&ctx.index, &a.namespaces);
        let total = map.connections.len();
        let shown = ConnectivityMap {
            connections: map.connections.into_iter().take(limit).collect(),
            warnings: map.warnings,
        };
        Ok(MapReport {
            namespaces: a.namespaces.clone(),
            truncated: (total > shown.connections.len()).then(|| Truncation {
                total: total as i64,
                shown: shown.connections.len() as i64,
                hint: "map fewer namespaces, or raise limit".into(),
            }),
            mermaid: (a.format == Some(MapFormat::Mermaid)).then(|| matrix::render_mermaid(&shown)),
            connections: shown.connections,
            warnings: shown.warnings,
            scope: SCOPE.to_string(),
        })
    })();
    answer(r, text::connectivity_map)
}

/// Arguments of `what_if`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WhatIfArgs {
    /// Policy manifests (YAML/JSON); same kind/namespace/name replaces.
    pub add: Option<Vec<String>>,
    /// `NS/NAME` (NetworkPolicy), `NS/KIND/NAME`, `KIND/NAME`.
    pub delete: Option<Vec<String>>,
    /// `NS/POD k=v,k2-`
    pub label: Option<Vec<String>>,
    /// `NS k=v,k2-`
    pub namespace_label: Option<Vec<String>>,
    /// Optional flow, as in `diagnose`.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Port.
    pub port: Option<PortInput>,
    pub protocol: Option<String>,
    /// Most pairs listed (default 50).
    pub limit: Option<i64>,
}

impl WhatIfArgs {
    /// The edits, or every malformed one.
    fn edits(&self) -> Result<whatif::Edits, ToolError> {
        let edits = whatif::Edits {
            add: (self.add.iter().flatten().enumerate())
                .map(|(i, text)| whatif::Manifest {
                    name: format!("add[{i}]"),
                    text: text.clone(),
                })
                .collect(),
            delete: self.delete.clone().unwrap_or_default(),
            label: label_edits("label", self.label.as_deref().unwrap_or_default())?,
            namespace_label: label_edits("namespace_label", self.namespace_label.as_deref().unwrap_or_default())?,
        };
        if edits.add.is_empty() && edits.delete.is_empty() && edits.label.is_empty() && edits.namespace_label.is_empty()
        {
            return Err(ToolError::new(
                "add, delete, label, namespace_label",
                "give at least one edit".into(),
            ));
        }
        Ok(edits)
    }

    /// The flow to check, if one is asked.
    fn flow(&self) -> Result<Option<Query>, ToolError> {
        match (&self.from, &self.to) {
            (None, None) if self.port.is_none() && self.protocol.is_none() => Ok(None),
            (Some(from), Some(to)) => FlowArgs {
                from: from.clone(),
                to: to.clone(),
                port: self.port.clone(),
                protocol: self.protocol.clone(),
            }
            .query()
            .map(Some),
            _ => Err(ToolError::new(
                "from, to",
                "give both from and to to check a flow (port and protocol need them)".into(),
            )),
        }
    }
}

/// `TARGET k=v,k2-` items split at the first space.
fn label_edits(argument: &str, items: &[String]) -> Result<Vec<whatif::LabelEdit>, ToolError> {
    items
        .iter()
        .map(|item| match item.trim().split_once(char::is_whitespace) {
            Some((target, labels)) => Ok(whatif::LabelEdit {
                target: target.to_string(),
                labels: labels.trim().to_string(),
            }),
            None => Err(ToolError::new(
                argument,
                format!("{item:?}: expected TARGET and changes separated by a space, e.g. `shop/web-0 app=web,tier-`"),
            )),
        })
        .collect()
}

/// Arguments of `diff_snapshots`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DiffArgs {
    /// Snapshot path. Omitted: the server's state.
    pub before: Option<String>,
    /// Snapshot path, or `live` (= omitted): the server's state.
    pub after: Option<String>,
    /// Only pairs with an end in these.
    pub namespaces: Option<Vec<String>>,
    /// Most pairs listed (default 50).
    pub limit: Option<i64>,
}

pub fn what_if(ctx: &Context, a: WhatIfArgs) -> ToolResult<WhatIfReport> {
    let (limit, edits, flow) = (limit(a.limit), a.edits(), a.flow());
    let (limit, edits, flow) = (limit?, edits?, flow?);
    answer(
        whatif::what_if(&ctx.snapshot, &ctx.index, &edits, flow.as_ref(), limit),
        text::what_if,
    )
}

/// One state of a diff: the server's own (`None`), or a snapshot path under the working directory.
fn diff_side(ctx: &Context, argument: &str, path: Option<&str>) -> Result<Option<Context>, ToolError> {
    let Some(path) = path else { return Ok(None) };
    let bad = |m: String| ToolError::new(argument, m);
    let cwd = std::env::current_dir()
        .and_then(|d| d.canonicalize())
        .map_err(|e| bad(format!("the server's working directory cannot be read: {e}")))?;
    let full = cwd
        .join(path)
        .canonicalize()
        .map_err(|_| bad(format!("{path}: no such file or directory on the server")))?;
    if !full.starts_with(&cwd) {
        return Err(bad(format!(
            "{path}: outside the server's working directory {}; the server reads snapshots only under it",
            cwd.display()
        )));
    }
    let snap = crate::snapshot::load_paths(&[full]).map_err(|e| bad(e.to_string()))?;
    Ok(Some(Context::owning(
        snap,
        ctx.index.semantics,
        format!("snapshot {path}"),
    )))
}

/// `diff_snapshots` reads the snapshot files it names (under the server's working directory):
/// the one handler that does I/O.
pub fn diff_snapshots(ctx: &Context, a: DiffArgs) -> Result<Output<DiffReport>, ToolError> {
    let limit = limit(a.limit)?;
    let after_path = a.after.as_deref().filter(|p| *p != "live");
    if a.after.as_deref() == Some("live") && !ctx.live {
        return Err(ToolError::new(
            "after",
            format!(
                "`live`: the server reads {}, not a live cluster; give a path",
                ctx.source
            ),
        ));
    }
    if a.before.is_none() && after_path.is_none() {
        return Err(ToolError::new(
            "before, after",
            "name at least one snapshot path: the other side is the server's own state".into(),
        ));
    }
    let namespaces = a.namespaces.clone().unwrap_or_default();
    for ns in &namespaces {
        query::check_namespace(&ctx.index, "namespaces", ns)?;
    }
    let before = diff_side(ctx, "before", a.before.as_deref())?;
    let after = diff_side(ctx, "after", after_path)?;
    let (before, after) = (before.as_ref().unwrap_or(ctx), after.as_ref().unwrap_or(ctx));
    let report = diff::diff(before.state(), after.state(), &namespaces, limit);
    Ok(Output {
        text: text::diff(&report),
        value: report,
    })
}

pub fn check_reachability(ctx: &Context, a: ReachArgs) -> ToolResult<Reachability> {
    let q = a.query()?;
    answer(reach::reach(&ctx.index, &q), reachability_text)
}

/// A tool of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ToolName {
    CheckCni,
    CheckCrossNamespace,
    CheckDefaultDeny,
    CheckEgress,
    CheckIngress,
    CheckPolicyTypes,
    CheckReachability,
    ConnectivityMap,
    Diagnose,
    ListPolicies,
    MatchSelectors,
    WhatIf,
    DiffSnapshots,
}

impl ToolName {
    /// Every tool, in the order the server lists them (by name).
    pub const ALL: [ToolName; 13] = [
        ToolName::CheckCni,
        ToolName::CheckCrossNamespace,
        ToolName::CheckDefaultDeny,
        ToolName::CheckEgress,
        ToolName::CheckIngress,
        ToolName::CheckPolicyTypes,
        ToolName::CheckReachability,
        ToolName::ConnectivityMap,
        ToolName::Diagnose,
        ToolName::DiffSnapshots,
        ToolName::ListPolicies,
        ToolName::MatchSelectors,
        ToolName::WhatIf,
    ];

    /// The name clients call it by.
    pub fn as_str(self) -> &'static str {
        match self {
            ToolName::CheckCni => "check_cni",
            ToolName::CheckCrossNamespace => "check_cross_namespace",
            ToolName::CheckDefaultDeny => "check_default_deny",
            ToolName::CheckEgress => "check_egress",
            ToolName::CheckIngress => "check_ingress",
            ToolName::CheckPolicyTypes => "check_policy_types",
            ToolName::CheckReachability => "check_reachability",
            ToolName::ConnectivityMap => "connectivity_map",
            ToolName::Diagnose => "diagnose",
            ToolName::ListPolicies => "list_policies",
            ToolName::MatchSelectors => "match_selectors",
            ToolName::WhatIf => "what_if",
            ToolName::DiffSnapshots => "diff_snapshots",
        }
    }

    /// The tool of a name, if there is one.
    pub fn parse(name: &str) -> Option<ToolName> {
        ToolName::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// The outcome of a tool called by name with JSON arguments (the `tool` subcommand).
pub struct JsonOutcome {
    pub structured: Option<serde_json::Value>,
    pub text: String,
    pub is_error: bool,
}

/// Parses a tool's JSON arguments; a type error names the argument it is in.
pub fn parse_args<A: for<'de> Deserialize<'de>>(
    args: serde_json::Map<String, serde_json::Value>,
) -> Result<A, ToolError> {
    serde_path_to_error::deserialize(serde_json::Value::Object(args)).map_err(|e| {
        let path = e.path().to_string();
        let argument = if path == "." { "arguments".into() } else { path };
        ToolError::new(&argument, e.into_inner().to_string())
    })
}

fn run_typed<A, T>(args: serde_json::Value, f: impl FnOnce(A) -> Result<Output<T>, ToolError>) -> JsonOutcome
where
    A: for<'de> Deserialize<'de>,
    T: Serialize,
{
    let args = match args {
        serde_json::Value::Null => serde_json::Map::new(),
        serde_json::Value::Object(o) => o,
        other => {
            return JsonOutcome {
                structured: None,
                text: format!("invalid argument `arguments`: expected a JSON object, got {other}"),
                is_error: true,
            };
        }
    };
    match parse_args::<A>(args).and_then(f) {
        Ok(out) => match serde_json::to_value(&out.value) {
            Ok(v) => JsonOutcome {
                structured: Some(v),
                text: out.text,
                is_error: false,
            },
            Err(e) => JsonOutcome {
                structured: None,
                text: format!("internal error: cannot serialize the result: {e}"),
                is_error: true,
            },
        },
        Err(e) => JsonOutcome {
            structured: None,
            text: e.to_string(),
            is_error: true,
        },
    }
}

/// Calls a tool by name, as the MCP server would.
pub fn call_json(ctx: &Context, tool: ToolName, args: serde_json::Value) -> JsonOutcome {
    match tool {
        ToolName::CheckCni => run_typed(args, |a| check_cni(ctx, a)),
        ToolName::ListPolicies => run_typed(args, |a| list_policies(ctx, a)),
        ToolName::MatchSelectors => run_typed(args, |a| match_selectors(ctx, a)),
        ToolName::CheckDefaultDeny => run_typed(args, |a| check_default_deny(ctx, a)),
        ToolName::CheckPolicyTypes => run_typed(args, |a| check_policy_types(ctx, a)),
        ToolName::CheckIngress => run_typed(args, |a| check_ingress(ctx, a)),
        ToolName::CheckEgress => run_typed(args, |a| check_egress(ctx, a)),
        ToolName::CheckCrossNamespace => run_typed(args, |a| check_cross_namespace(ctx, a)),
        ToolName::CheckReachability => run_typed(args, |a| check_reachability(ctx, a)),
        ToolName::Diagnose => run_typed(args, |a| diagnose(ctx, a)),
        ToolName::ConnectivityMap => run_typed(args, |a| connectivity_map(ctx, a)),
        ToolName::WhatIf => run_typed(args, |a| what_if(ctx, a)),
        ToolName::DiffSnapshots => run_typed(args, |a| diff_snapshots(ctx, a)),
    }
}

impl Scoped for NoArgs {
    fn scope(&self) -> Scope {
        Scope::base()
    }
}

impl Scoped for FlowArgs {
    fn scope(&self) -> Scope {
        let mut scope = Scope::base();
        scope.add_endpoint_text(&self.from);
        scope.add_endpoint_text(&self.to);
        scope
    }
}

impl Scoped for MatchSelectorsArgs {
    fn scope(&self) -> Scope {
        let mut scope = Scope::base();
        scope.add_endpoint_text(&self.pod);
        scope
    }
}

impl Scoped for DefaultDenyArgs {
    fn scope(&self) -> Scope {
        let mut scope = Scope::base();
        scope.add_namespace(&self.namespace);
        scope
    }
}

/// One namespace, or (none named) the whole cluster.
fn namespace_or_everything(ns: Option<&str>) -> Scope {
    match ns {
        Some(ns) => {
            let mut scope = Scope::base();
            scope.add_namespace(ns);
            scope
        }
        None => Scope::everything(),
    }
}

impl Scoped for ListPoliciesArgs {
    fn scope(&self) -> Scope {
        namespace_or_everything(self.namespace.as_deref())
    }
}

impl Scoped for PolicyTypesArgs {
    fn scope(&self) -> Scope {
        let policy_ns = self.policy.as_deref().and_then(|p| p.split_once('/')).map(|(ns, _)| ns);
        namespace_or_everything(self.namespace.as_deref().or(policy_ns))
    }
}

impl Scoped for ReachArgs {
    /// Every workload is a peer, wherever it is.
    fn scope(&self) -> Scope {
        Scope::everything()
    }
}

impl Scoped for MapArgs {
    /// A map needs every peer, wherever it is.
    fn scope(&self) -> Scope {
        Scope::everything()
    }
}

impl Scoped for WhatIfArgs {
    /// The edits may change any pair with an end in their namespaces, whose peers are anywhere.
    fn scope(&self) -> Scope {
        Scope::everything()
    }
}

impl Scoped for DiffArgs {
    /// The server's own state is one side: all of it.
    fn scope(&self) -> Scope {
        Scope::everything()
    }
}

fn typed_scope<A: Scoped + for<'de> serde::Deserialize<'de>>(
    args: &serde_json::Map<String, serde_json::Value>,
) -> Scope {
    parse_args::<A>(args.clone()).map_or_else(|_| Scope::base(), |a| a.scope())
}

/// The scope of a call by tool name with raw JSON arguments (the `tool` subcommand): the
/// arguments are parsed into the tool's type first; malformed ones read only the base (the
/// call then reports them).
pub fn scope_for(tool: ToolName, args: &serde_json::Map<String, serde_json::Value>) -> Scope {
    match tool {
        ToolName::CheckCni => typed_scope::<NoArgs>(args),
        ToolName::ListPolicies => typed_scope::<ListPoliciesArgs>(args),
        ToolName::MatchSelectors => typed_scope::<MatchSelectorsArgs>(args),
        ToolName::CheckDefaultDeny => typed_scope::<DefaultDenyArgs>(args),
        ToolName::CheckPolicyTypes => typed_scope::<PolicyTypesArgs>(args),
        ToolName::CheckIngress | ToolName::CheckEgress | ToolName::CheckCrossNamespace | ToolName::Diagnose => {
            typed_scope::<FlowArgs>(args)
        }
        ToolName::ConnectivityMap => typed_scope::<MapArgs>(args),
        ToolName::WhatIf => typed_scope::<WhatIfArgs>(args),
        ToolName::DiffSnapshots => typed_scope::<DiffArgs>(args),
        ToolName::CheckReachability => typed_scope::<ReachArgs>(args),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn tool_scopes() {
        let args = |v: Value| v.as_object().cloned().unwrap();
        let s = scope_for(
            ToolName::Diagnose,
            &args(json!({"from": "a/x", "to": "b/svc/y", "port": 80})),
        );
        assert_eq!(s.namespaces, Some(["a".to_string(), "b".to_string()].into()));
        assert_eq!(s.service_namespaces, ["b".to_string()].into());
        let s = scope_for(ToolName::Diagnose, &args(json!({"from": "10.0.0.1", "to": "b/y"})));
        assert_eq!(s.ips.len(), 1);
        assert_eq!(
            scope_for(ToolName::ConnectivityMap, &args(json!({"namespaces": ["a"]}))),
            Scope::everything()
        );
        assert_eq!(scope_for(ToolName::ListPolicies, &args(json!({}))), Scope::everything());
        assert_eq!(
            scope_for(ToolName::CheckPolicyTypes, &args(json!({"policy": "a/p"}))).namespaces,
            Some(["a".to_string()].into())
        );
        assert_eq!(scope_for(ToolName::CheckCni, &args(json!({}))), Scope::base());
        // Malformed arguments read only the base; the call reports them.
        assert_eq!(scope_for(ToolName::Diagnose, &args(json!({"from": 1}))), Scope::base());
    }
}
