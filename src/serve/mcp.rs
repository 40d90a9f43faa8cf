//! The MCP server: one read-only tool per diagnostic step plus `diagnose`, three prompts with
//! completions of their endpoint arguments, and the cited objects as resources
//! (`netpol://{namespace}/{kind}/{name}`, linked from the results that cite them), over stdio or
//! Streamable HTTP (rmcp on axum).
//!
//! Invariant: an edge. Every tool calls the handler of the same name in [`crate::serve::tools`] and
//! only converts its result; nothing here reads a cluster or changes one. Logs go to stderr:
//! stdout is the stdio transport.

use std::net::SocketAddr;
use std::sync::Arc;

use rmcp::handler::server::router::prompt::PromptRouter;
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, CompleteRequestParams, CompleteResult, CompletionInfo, ContentBlock, GetPromptResult,
    Implementation, JsonObject, ListResourceTemplatesResult, ListResourcesResult, PaginatedRequestParams,
    PromptMessage, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource, ResourceContents,
    ResourceTemplate, Role, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use rmcp::{ErrorData as McpError, RoleServer};
use rmcp::{ServerHandler, ServiceExt, prompt, prompt_handler, prompt_router, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::report::*;
use crate::serve::complete::{self, ArgumentKind};
use crate::serve::http_safety::HttpSafety;
use crate::serve::resources::{self, Listed};
use crate::serve::source::{Context, ContextSource, Scope, Scoped};
use crate::serve::tools::{self, Output, ToolError, ToolName};

/// What the server tells a model when it connects.
pub const INSTRUCTIONS: &str = include_str!("../../prompts/instructions.md");

/// The server: where each call's [`Context`] comes from (a snapshot loaded once, or a live
/// cluster read for the call) and the routers.
#[derive(Clone)]
pub struct NetpolServer {
    source: Arc<dyn ContextSource>,
    tool_router: ToolRouter<Self>,
    prompt_router: PromptRouter<Self>,
}

/// A schema as MCP clients want it: JSON Schema 2020-12, root `type: object`, no top-level
/// title, and optional fields simply not required rather than also nullable (strict clients
/// such as the Inspector warn on `["T", "null"]`).
fn schema<T: JsonSchema>(contract_serialize: bool) -> Arc<JsonObject> {
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    if contract_serialize {
        settings = settings.for_serialize();
    }
    let mut value = settings.into_generator().into_root_schema_for::<T>().to_value();
    drop_optional_nulls(&mut value);
    let mut object = match value {
        serde_json::Value::Object(o) => o,
        _ => JsonObject::new(),
    };
    object.remove("title");
    object.remove("description");
    object.remove("$schema");
    Arc::new(object)
}

/// The outputSchema of a result type, as an outline: the result's fields with their JSON types,
/// enums and required list (for a not-found answer too); a nested object, or a list of them, is
/// just `object`. It validates every result and tells a client the shape; whole schemas of ten
/// tools were most of `tools/list`, and no client reads them deeper (the tool's text and
/// description say what is inside).
pub fn output_schema(tool: ToolName) -> Arc<JsonObject> {
    use serde_json::{Value, json};
    let full = Value::Object(result_schema(tool).as_ref().clone());
    let defs = full.get("$defs").cloned().unwrap_or(Value::Null);
    let root = resolve(&full, &defs);
    let outline = match root.get("anyOf").and_then(Value::as_array) {
        Some(alts) => json!({
            "type": "object",
            "anyOf": alts.iter().map(|a| outline_alternative(resolve(a, &defs), &defs)).collect::<Vec<_>>(),
        }),
        None => outline_object(root, &defs),
    };
    match outline {
        Value::Object(o) => Arc::new(o),
        _ => Arc::new(JsonObject::new()),
    }
}

/// The whole JSON Schema of a tool's structured result, every nested field, which the outline in
/// `tools/list` abbreviates: the Python SDK suite checks every result against it too, and it is
/// the one place that says which result type each tool answers with.
pub fn result_schema(tool: ToolName) -> Arc<JsonObject> {
    match tool {
        ToolName::CheckCni => schema::<CniReport>(true),
        ToolName::CheckReachability => schema::<Answer<Reachability>>(true),
        ToolName::ListPolicies => schema::<Answer<PolicyList>>(true),
        ToolName::MatchSelectors => schema::<Answer<SelectorReport>>(true),
        ToolName::CheckDefaultDeny => schema::<Answer<DefaultDenyReport>>(true),
        ToolName::CheckPolicyTypes => schema::<Answer<PolicyTypesReport>>(true),
        ToolName::CheckIngress | ToolName::CheckEgress => schema::<Answer<SideCheck>>(true),
        ToolName::CheckCrossNamespace => schema::<Answer<CrossNamespaceReport>>(true),
        ToolName::Diagnose => schema::<Answer<Diagnosis>>(true),
        ToolName::ConnectivityMap => schema::<Answer<MapReport>>(true),
        ToolName::WhatIf => schema::<Answer<WhatIfReport>>(true),
        ToolName::DiffSnapshots => schema::<DiffReport>(true),
    }
}

/// The schema a `$ref` points to (in `defs`), or the schema itself.
fn resolve<'a>(v: &'a serde_json::Value, defs: &'a serde_json::Value) -> &'a serde_json::Value {
    let name = v
        .get("$ref")
        .and_then(serde_json::Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"));
    match name.and_then(|n| defs.get(n)) {
        Some(target) => resolve(target, defs),
        None => v,
    }
}

/// An object schema's fields, each as its [`shape`], and its required list.
/// One alternative of a result: the not-found answer (`error`, `argument`, `suggestions`) is
/// outlined by its required `error` alone, the same in every tool (the description names its
/// fields).
fn outline_alternative(v: &serde_json::Value, defs: &serde_json::Value) -> serde_json::Value {
    let is_not_found = v
        .get("properties")
        .is_some_and(|p| p.get("error").is_some() && p.get("suggestions").is_some());
    match is_not_found {
        true => serde_json::json!({"type": "object", "required": ["error"]}),
        false => outline_object(v, defs),
    }
}

fn outline_object(v: &serde_json::Value, defs: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let mut out = JsonObject::new();
    out.insert("type".into(), Value::String("object".into()));
    if let Some(Value::Object(props)) = v.get("properties") {
        let shaped = props.iter().map(|(k, p)| (k.clone(), shape(p, defs))).collect();
        out.insert("properties".into(), Value::Object(shaped));
    }
    if let Some(required) = v.get("required") {
        out.insert("required".into(), required.clone());
    }
    Value::Object(out)
}

/// A field's JSON type: enums kept, arrays with their items' shape, objects only as `object`.
fn shape(v: &serde_json::Value, defs: &serde_json::Value) -> serde_json::Value {
    use serde_json::{Value, json};
    let v = resolve(v, defs);
    let Value::Object(o) = v else { return v.clone() };
    if let Some(values) = o.get("enum").cloned().or_else(|| const_enum(o)) {
        return json!({"type": o.get("type").cloned().unwrap_or_else(|| "string".into()), "enum": values});
    }
    if let Some(Value::Array(alts)) = o.get("anyOf") {
        return json!({"anyOf": alts.iter().map(|a| shape(a, defs)).collect::<Vec<_>>()});
    }
    match o.get("type") {
        Some(t) if t == "array" => json!({
            "type": "array",
            "items": o.get("items").map_or_else(|| json!({}), |i| shape(i, defs)),
        }),
        Some(t) => json!({ "type": t }),
        None if o.contains_key("properties") => json!({"type": "object"}),
        None => json!({}),
    }
}

/// The values of an enum written as `oneOf` string constants (documented variants), if it is one.
fn const_enum(o: &JsonObject) -> Option<serde_json::Value> {
    use serde_json::Value;
    let alts = o.get("oneOf").and_then(Value::as_array)?;
    alts.iter()
        .map(|a| (a.get("type") == Some(&Value::String("string".into()))).then(|| a.get("const").cloned())?)
        .collect::<Option<Vec<Value>>>()
        .map(Value::Array)
}

/// The inputSchema of an arguments type: what a model reads to fill the arguments, so the
/// arguments' descriptions stay; redundant `format`s go, enums are plain `enum` lists, and a
/// definition used once is written in place (the property's description wins over the type's).
pub fn input_schema<T: JsonSchema>() -> Arc<JsonObject> {
    use serde_json::Value;
    let mut object = schema::<T>(false).as_ref().clone();
    let defs = object.remove("$defs").unwrap_or(Value::Null);
    let mut uses = std::collections::BTreeMap::<String, usize>::new();
    count_refs(&Value::Object(object.clone()), &mut uses);
    let mut kept = JsonObject::new();
    let mut value = Value::Object(object);
    tidy_input(&mut value, &defs, &uses, &mut kept);
    let Value::Object(mut object) = value else {
        return Arc::new(JsonObject::new());
    };
    if !kept.is_empty() {
        object.insert("$defs".into(), Value::Object(kept));
    }
    Arc::new(object)
}

/// How often each definition is referenced (`#/$defs/NAME`).
fn count_refs(v: &serde_json::Value, uses: &mut std::collections::BTreeMap<String, usize>) {
    use serde_json::Value;
    match v {
        Value::Object(o) => {
            if let Some(name) = o
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"))
            {
                *uses.entry(name.to_string()).or_default() += 1;
            }
            o.values().for_each(|c| count_refs(c, uses));
        }
        Value::Array(a) => a.iter().for_each(|c| count_refs(c, uses)),
        _ => {}
    }
}

/// Writes single-use definitions in place (moving the others to `kept`), drops `format`, and
/// turns `oneOf` string constants into `enum`.
fn tidy_input(
    v: &mut serde_json::Value,
    defs: &serde_json::Value,
    uses: &std::collections::BTreeMap<String, usize>,
    kept: &mut JsonObject,
) {
    use serde_json::Value;
    match v {
        Value::Object(o) => {
            let target = o
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix("#/$defs/"));
            if let Some(name) = target.map(str::to_string)
                && let Some(Value::Object(def)) = defs.get(&name)
            {
                if uses.get(&name) == Some(&1) {
                    o.remove("$ref");
                    for (k, x) in def {
                        o.entry(k.clone()).or_insert_with(|| x.clone());
                    }
                } else if !kept.contains_key(&name) {
                    let mut def = Value::Object(def.clone());
                    kept.insert(name.clone(), Value::Null);
                    tidy_input(&mut def, defs, uses, kept);
                    kept.insert(name, def);
                }
            }
            o.remove("format");
            if let Some(values) = const_enum(o) {
                o.remove("oneOf");
                o.insert("type".into(), Value::String("string".into()));
                o.insert("enum".into(), values);
            }
            if let Some(Value::Object(props)) = o.get_mut("properties") {
                // Property names are data here, not schema keywords: only their schemas are tidied.
                props.values_mut().for_each(|p| tidy_input(p, defs, uses, kept));
            }
            for (k, child) in o.iter_mut() {
                if k != "properties" {
                    tidy_input(child, defs, uses, kept);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| tidy_input(c, defs, uses, kept)),
        _ => {}
    }
}

/// Removes `null` from the types of properties that are not required.
fn drop_optional_nulls(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Object(o) => {
            let required: Vec<String> = o
                .get("required")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            if let Some(Value::Object(props)) = o.get_mut("properties") {
                for (name, prop) in props.iter_mut() {
                    if !required.contains(name) {
                        strip_null(prop);
                    }
                }
            }
            for (_, child) in o.iter_mut() {
                drop_optional_nulls(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(drop_optional_nulls),
        _ => {}
    }
}

fn strip_null(prop: &mut serde_json::Value) {
    use serde_json::Value;
    let Value::Object(o) = prop else { return };
    if let Some(Value::Array(types)) = o.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            o.insert("type".into(), only);
        }
    }
    let any_of = o.get("anyOf").and_then(Value::as_array).cloned();
    if let Some(mut alts) = any_of {
        alts.retain(|a| a.get("type") != Some(&Value::String("null".into())));
        if alts.len() == 1 && !o.contains_key("type") {
            o.remove("anyOf");
            if let Value::Object(inner) = alts.remove(0) {
                for (k, v) in inner {
                    o.entry(k).or_insert(v);
                }
            }
        } else {
            o.insert("anyOf".into(), Value::Array(alts));
        }
    }
    if let Some(Value::Array(e)) = o.get_mut("enum") {
        e.retain(|x| !x.is_null());
    }
    if o.get("default").is_some_and(Value::is_null) {
        o.remove("default");
    }
}

/// Converts a handler result into an MCP tool result: structured content plus a short text;
/// a malformed argument is an in-band error (`isError: true`), never a protocol error.
fn respond<T: Serialize>(r: Result<Output<T>, ToolError>) -> CallToolResult {
    match r {
        Ok(out) => match serde_json::to_value(&out.value) {
            Ok(value) => {
                let mut res = CallToolResult::success(vec![ContentBlock::text(out.text)]);
                res.structured_content = Some(value);
                res
            }
            Err(e) => CallToolResult::error(vec![ContentBlock::text(format!(
                "internal error: cannot serialize the result: {e}"
            ))]),
        },
        Err(e) => {
            tracing::info!(argument = %e.argument, "bad tool argument: {}", e.message);
            CallToolResult::error(vec![ContentBlock::text(e.to_string())])
        }
    }
}

/// Adds a `resource_link` for each policy a successful result cites (at most
/// [`resources::MAX_LINKS`]), so a client can show the policy beside the verdict.
fn with_links(ctx: &Context, mut res: CallToolResult) -> CallToolResult {
    if res.is_error == Some(true) {
        return res;
    }
    if let Some(value) = &res.structured_content {
        res.content.extend(
            ctx.objects()
                .links(value)
                .into_iter()
                .map(|l| ContentBlock::resource_link(resource(l))),
        );
    }
    res
}

/// A listed object as an MCP resource.
fn resource(l: Listed) -> Resource {
    Resource::new(l.uri, l.label).with_mime_type(YAML)
}

const YAML: &str = "application/yaml";

/// The scope a resource URI needs read: its namespace, or only the cluster-wide objects.
fn resource_scope(uri: &str) -> Scope {
    let ns = uri
        .strip_prefix("netpol://")
        .and_then(|rest| rest.split('/').next())
        .filter(|ns| !ns.is_empty() && *ns != resources::CLUSTER);
    namespace_scope(ns)
}

/// What every check needs, plus one namespace when given.
fn namespace_scope(ns: Option<&str>) -> Scope {
    let mut scope = Scope::base();
    if let Some(ns) = ns {
        scope.add_namespace(ns);
    }
    scope
}

#[tool_router]
impl NetpolServer {
    /// Parses the call's arguments into the tool's type (malformed: an `isError` result), gets
    /// the context of their scope from the source (a live read may fail: an `isError` result
    /// naming the server and the permission), then runs the handler on it.
    async fn call<A, T>(
        &self,
        tool: ToolName,
        args: JsonObject,
        handler: impl FnOnce(&Context, A) -> Result<Output<T>, ToolError>,
    ) -> CallToolResult
    where
        A: Scoped + for<'de> Deserialize<'de>,
        T: Serialize,
    {
        let args = match tools::parse_args::<A>(args) {
            Ok(a) => a,
            Err(e) => return respond::<T>(Err(e)),
        };
        match self.source.context_for(&args.scope()).await {
            Ok(ctx) => with_links(&ctx, respond(handler(&ctx, args))),
            Err(e) => {
                tracing::warn!(tool = tool.as_str(), "cannot read the cluster: {e}");
                CallToolResult::error(vec![ContentBlock::text(format!("cannot read the cluster: {e}"))])
            }
        }
    }

    pub fn new(source: Arc<dyn ContextSource>) -> Self {
        let mut tool_router = Self::tool_router();
        // A live cluster is an open world; a snapshot is a closed one.
        for route in tool_router.map.values_mut() {
            if let Some(a) = route.attr.annotations.as_mut() {
                a.open_world_hint = Some(source.live());
            }
        }
        NetpolServer {
            source,
            tool_router,
            prompt_router: Self::prompt_router(),
        }
    }

    /// The tools as `tools/list` lists them, without a client (to measure and test the list).
    pub fn tools(&self) -> Vec<rmcp::model::Tool> {
        self.tool_router.list_all()
    }

    #[doc = include_str!("../../tools/check_cni.md")]
    #[tool(
        title = "Check the CNI",
        annotations(title = "Check the CNI", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        input_schema = input_schema::<tools::NoArgs>(),
        output_schema = output_schema(ToolName::CheckCni)
    )]
    async fn check_cni(&self, Parameters(a): Parameters<JsonObject>) -> CallToolResult {
        self.call(ToolName::CheckCni, a, tools::check_cni).await
    }

    #[doc = include_str!("../../tools/list_policies.md")]
    #[tool(
        title = "List policies",
        annotations(title = "List policies", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        input_schema = input_schema::<tools::ListPoliciesArgs>(),
        output_schema = output_schema(ToolName::ListPolicies)
    )]
    async fn list_policies(&self, Parameters(a): Parameters<JsonObject>) -> CallToolResult {
        self.call(ToolName::ListPolicies, a, tools::list_policies).await
    }

    #[doc = include_str!("../../tools/match_selectors.md")]
    #[tool(
        title = "Match policy selectors to a pod",
        annotations(title = "Match policy selectors to a pod", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        input_schema = input_schema::<tools::MatchSelectorsArgs>(),
        output_schema = output_schema(ToolName::MatchSelectors)
    )]
    async fn match_selectors(&self, Parameters(a): Parameters<JsonObject>) -> CallToolResult {
        self.call(ToolName::MatchSelectors, a, tools::match_selectors).await
    }

    #[doc = include_str!("../../tools/check_default_deny.md")]
    #[tool(
        title = "Check default-deny policies",
        annotations(title = "Check default-deny policies", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        input_schema = input_schema::<tools::DefaultDenyArgs>(),
        output_schema = output_schema(ToolName::CheckDefaultDeny)
    )]
    async fn check_default_deny(&self, Parameters(a): Parameters<JsonObject>) -> CallToolResult {
        self.call(ToolName::CheckDefaultDeny, a, tools::check_default_deny)
            .await
    }

    #[doc = include_str!("../../tools/check_policy_types.md")]
    #[tool(
        title = "Check policyTypes",
        annotations(title = "Check policyTypes", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        input_schema = input_schema::<tools::PolicyTypesArgs>(),
        output_schema = output_schema(ToolName::CheckPolicyTypes)
    )]
    async fn check_policy_types(&self, Parameters(a): Parameters<JsonObject>) -> CallToolResult {
        self.call(ToolName::CheckPolicyTypes, a, tools::check_policy_types)
            .await
    }

    #[doc = include_str!("../../tools/check_ingress.md")]
    #[tool(
        title = "Check ingress at the destination",
        annotations(title = "Check ingress at the destination", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        input_schema = input_schema::<tools::FlowArgs>(),
        output_schema = output_schema(ToolName::CheckIngress)
    )]
    async fn check_ingress(&self, Parameters(a): Parameters<JsonObject>) -> CallToolResult {
        self.call(ToolName::CheckIngress, a, tools::check_ingress).await
    }

    #[doc = include_str!("../../tools/check_egress.md")]
    #[tool(
        title = "Check egress at the source",
        annotations(title = "Check egress at the source", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        input_schema = input_schema::<tools::FlowArgs>(),
        output_schema = output_schema(ToolName::CheckEgress)
    )]
    async fn check_egress(&self, Parameters(a): Parameters<JsonObject>) -> CallToolResult {
        self.call(ToolName::CheckEgress, a, tools::check_egress).await
    }

    #[doc = include_str!("../../tools/check_cross_namespace.md")]
    #[tool(
        title = "Check cross-namespace traffic",
        annotations(title = "Check cross-namespace traffic", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        input_schema = input_schema::<tools::FlowArgs>(),
        output_schema = output_schema(ToolName::CheckCrossNamespace)
    )]
    async fn check_cross_namespace(&self, Parameters(a): Parameters<JsonObject>) -> CallToolResult {
        self.call(ToolName::CheckCrossNamespace, a, tools::check_cross_namespace)
            .await
    }

    #[doc = include_str!("../../tools/diagnose.md")]
    #[tool(
        title = "Diagnose blocked traffic",
        annotations(title = "Diagnose blocked traffic", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        input_schema = input_schema::<tools::FlowArgs>(),
        output_schema = output_schema(ToolName::Diagnose)
    )]
    async fn diagnose(&self, Parameters(a): Parameters<JsonObject>) -> CallToolResult {
        self.call(ToolName::Diagnose, a, tools::diagnose).await
    }

    #[doc = include_str!("../../tools/connectivity_map.md")]
    #[tool(
        title = "Map allowed connections",
        annotations(title = "Map allowed connections", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        input_schema = input_schema::<tools::MapArgs>(),
        output_schema = output_schema(ToolName::ConnectivityMap)
    )]
    async fn connectivity_map(&self, Parameters(a): Parameters<JsonObject>) -> CallToolResult {
        self.call(ToolName::ConnectivityMap, a, tools::connectivity_map).await
    }

    #[doc = include_str!("../../tools/what_if.md")]
    #[tool(
        title = "What if",
        annotations(title = "What if", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        input_schema = input_schema::<tools::WhatIfArgs>(),
        output_schema = output_schema(ToolName::WhatIf)
    )]
    async fn what_if(&self, Parameters(a): Parameters<JsonObject>) -> CallToolResult {
        self.call(ToolName::WhatIf, a, tools::what_if).await
    }

    #[doc = include_str!("../../tools/diff_snapshots.md")]
    #[tool(
        title = "Diff states",
        annotations(title = "Diff states", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        input_schema = input_schema::<tools::DiffArgs>(),
        output_schema = output_schema(ToolName::DiffSnapshots)
    )]
    async fn diff_snapshots(&self, Parameters(a): Parameters<JsonObject>) -> CallToolResult {
        self.call(ToolName::DiffSnapshots, a, tools::diff_snapshots).await
    }

    #[doc = include_str!("../../tools/check_reachability.md")]
    #[tool(
        title = "Reach",
        annotations(title = "Reach", read_only_hint = true, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        input_schema = input_schema::<tools::ReachArgs>(),
        output_schema = output_schema(ToolName::CheckReachability)
    )]
    async fn check_reachability(&self, Parameters(a): Parameters<JsonObject>) -> CallToolResult {
        self.call(ToolName::CheckReachability, a, tools::check_reachability)
            .await
    }
}

/// Arguments of the `networkpolicy-debug` prompt.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct DebugPromptArgs {
    /// Source endpoint: NAMESPACE/POD, NAMESPACE/KIND/NAME or an IP.
    #[serde(default)]
    pub source: Option<String>,
    /// Destination endpoint, same syntax.
    #[serde(default)]
    pub destination: Option<String>,
    /// Destination port (number or name).
    #[serde(default)]
    pub port: Option<String>,
    /// What the user sees, e.g. "connection timed out".
    #[serde(default)]
    pub symptom: Option<String>,
}

/// Arguments of the `dns-timeout` prompt.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct DnsPromptArgs {
    /// The pod whose DNS lookups time out: NAMESPACE/POD or NAMESPACE/KIND/NAME.
    #[serde(default)]
    pub pod: Option<String>,
}

/// Arguments of the `what-changed` prompt.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct WhatChangedPromptArgs {
    /// Source endpoint: NAMESPACE/POD, NAMESPACE/KIND/NAME or an IP.
    #[serde(default)]
    pub source: Option<String>,
    /// Destination endpoint, same syntax.
    #[serde(default)]
    pub destination: Option<String>,
    /// Destination port (number or name).
    #[serde(default)]
    pub port: Option<String>,
    /// What changed or is suspected, e.g. "a new policy in shop yesterday".
    #[serde(default)]
    pub change: Option<String>,
    /// An earlier snapshot file on the server's machine, if there is one.
    #[serde(default)]
    pub before: Option<String>,
}

/// The prompt templates by name, with their placeholders; `instructions` is the server's
/// instructions (no placeholder).
pub const PROMPTS: [(&str, &str, &[&str]); 4] = [
    (
        "networkpolicy-debug",
        include_str!("../../prompts/networkpolicy-debug.md"),
        &["source", "destination", "port", "symptom"],
    ),
    ("dns-timeout", include_str!("../../prompts/dns-timeout.md"), &["pod"]),
    (
        "what-changed",
        include_str!("../../prompts/what-changed.md"),
        &["source", "destination", "port", "change", "before"],
    ),
    ("instructions", INSTRUCTIONS, &[]),
];

/// A prompt filled from named arguments, as the MCP server fills it (`None`: no such prompt).
pub fn prompt_text(name: &str, args: &std::collections::BTreeMap<String, String>) -> Option<String> {
    let (_, template, params) = PROMPTS.iter().find(|(n, _, _)| *n == name)?;
    let values: Vec<(&str, Option<&str>)> = params.iter().map(|p| (*p, args.get(*p).map(String::as_str))).collect();
    Some(fill_template(template, &values))
}

/// Fills `{{name}}` placeholders of a prompt template; a missing value reads as a question.
pub fn fill_template(template: &str, values: &[(&str, Option<&str>)]) -> String {
    let mut out = template.to_string();
    for (name, value) in values {
        let v = value
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map_or_else(|| format!("(unknown {name}: ask the user)"), str::to_string);
        out = out.replace(&format!("{{{{{name}}}}}"), &v);
    }
    out
}

#[prompt_router]
impl NetpolServer {
    /// Walk through a NetworkPolicy diagnosis with this server's tools and stop at the root cause.
    #[prompt(name = "networkpolicy-debug")]
    fn networkpolicy_debug(&self, Parameters(a): Parameters<DebugPromptArgs>) -> GetPromptResult {
        let text = fill_template(
            PROMPTS[0].1,
            &[
                ("source", a.source.as_deref()),
                ("destination", a.destination.as_deref()),
                ("port", a.port.as_deref()),
                ("symptom", a.symptom.as_deref()),
            ],
        );
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description("Diagnose why traffic between two endpoints is blocked, step by step, read-only.")
    }

    /// A pod's DNS lookups time out: check its egress to the cluster DNS first.
    #[prompt(name = "dns-timeout")]
    fn dns_timeout(&self, Parameters(a): Parameters<DnsPromptArgs>) -> GetPromptResult {
        let text = fill_template(PROMPTS[1].1, &[("pod", a.pod.as_deref())]);
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
            .with_description("DNS lookups time out in a pod: check egress to kube-dns (UDP and TCP 53) first.")
    }

    /// It worked before a change: find the change (diff, else recency), check a fix with what_if.
    #[prompt(name = "what-changed")]
    fn what_changed(&self, Parameters(a): Parameters<WhatChangedPromptArgs>) -> GetPromptResult {
        let text = fill_template(
            PROMPTS[2].1,
            &[
                ("source", a.source.as_deref()),
                ("destination", a.destination.as_deref()),
                ("port", a.port.as_deref()),
                ("change", a.change.as_deref()),
                ("before", a.before.as_deref()),
            ],
        );
        GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]).with_description(
            "Traffic broke after a change: find the change (diff_snapshots, else policy recency in diagnose) and check a fix with what_if; read-only.",
        )
    }
}

#[tool_handler(router = self.tool_router)]
#[prompt_handler(router = self.prompt_router)]
impl ServerHandler for NetpolServer {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_prompts()
            .enable_resources()
            .enable_completions()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(
                Implementation::new("netpol-debug", env!("CARGO_PKG_VERSION"))
                    .with_title("netpol-debug: why is traffic blocked by NetworkPolicy"),
            )
            .with_instructions(format!(
                "{}\nData source: {}.",
                INSTRUCTIONS.trim_end(),
                self.source.describe()
            ))
    }

    /// The policies of the source (every dialect), [`resources::LIST_PAGE`] a page; the cursor
    /// is the offset of the next page.
    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let ctx = self.resource_context(&Scope::everything()).await?;
        let start = match request.and_then(|r| r.cursor) {
            None => 0,
            Some(c) => c
                .parse::<usize>()
                .map_err(|_| McpError::invalid_params(format!("cursor {c:?} is not one this server gave"), None))?,
        };
        let mut page: Vec<Resource> = ctx
            .objects()
            .policies()
            .skip(start)
            .take(resources::LIST_PAGE + 1)
            .map(resource)
            .collect();
        let more = page.len() > resources::LIST_PAGE;
        page.truncate(resources::LIST_PAGE);
        let mut result = ListResourcesResult::with_all_items(page);
        result.next_cursor = more.then(|| (start + resources::LIST_PAGE).to_string());
        Ok(result)
    }

    async fn list_resource_templates(
        &self,
        _: Option<PaginatedRequestParams>,
        _: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        let template = ResourceTemplate::new(resources::TEMPLATE, "object")
            .with_title("A policy, Namespace or Service as read")
            .with_description(format!(
                "The object's YAML as read, cleaned as the snapshot export cleans it (no managedFields, no last-applied annotation). \
                 Namespace {} for cluster-scoped objects; kind is Kind for core and networking.k8s.io objects, Kind.group for others \
                 (e.g. CiliumNetworkPolicy.cilium.io). Pods and workloads are not resources.",
                resources::CLUSTER
            ))
            .with_mime_type(YAML);
        Ok(ListResourceTemplatesResult::with_all_items(vec![template]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let uri = request.uri;
        let ctx = self.resource_context(&resource_scope(&uri)).await?;
        match ctx.objects().read(&uri) {
            Ok(yaml) => {
                Ok(ReadResourceResult::new(vec![ResourceContents::text(yaml, uri).with_mime_type(YAML)]).into())
            }
            Err(message) => Err(McpError::resource_not_found(
                message,
                Some(serde_json::json!({ "uri": uri })),
            )),
        }
    }

    /// Completes the prompts' endpoint arguments by prefix (at most 100 values, with the total).
    async fn complete(
        &self,
        request: CompleteRequestParams,
        _: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, McpError> {
        let Some(kind) = ArgumentKind::of(&request.argument.name) else {
            return Ok(CompleteResult::default());
        };
        let value = request.argument.value;
        // Live: the namespaces first (cluster-wide), the names of one namespace once it is typed.
        let scope = namespace_scope(value.split_once('/').map(|(ns, _)| ns));
        let ctx = self.resource_context(&scope).await?;
        let c = complete::complete(&ctx.index, kind, &value);
        let has_more = c.has_more();
        let info = CompletionInfo::with_pagination(c.values, Some(c.total as u32), has_more)
            .map_err(|e| McpError::internal_error(e, None))?;
        Ok(CompleteResult::new(info))
    }
}

impl NetpolServer {
    /// The context for a resource or completion request; a failed live read is an internal
    /// error naming what could not be read.
    async fn resource_context(&self, scope: &Scope) -> Result<Arc<Context>, McpError> {
        self.source
            .context_for(scope)
            .await
            .map_err(|e| McpError::internal_error(format!("cannot read the cluster: {e}"), None))
    }
}

/// Serves MCP over stdin/stdout until the client disconnects.
pub async fn serve_stdio(source: Arc<dyn ContextSource>) -> anyhow::Result<()> {
    tracing::info!(source = %source.describe(), "serving MCP over stdio");
    let service = NetpolServer::new(source).serve(rmcp::transport::stdio()).await?;
    service.waiting().await?;
    Ok(())
}

/// Serves MCP over Streamable HTTP at `http://ADDR/mcp` until `shutdown` is cancelled, behind
/// the Host, Origin, token and body-size checks of `safety` (see [`crate::serve::http_safety`]).
/// `ready` receives the bound address (useful with port 0).
pub async fn serve_http(
    source: Arc<dyn ContextSource>,
    addr: SocketAddr,
    safety: HttpSafety,
    shutdown: CancellationToken,
    ready: Option<tokio::sync::oneshot::Sender<SocketAddr>>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("--http {addr}: cannot listen: {e}"))?;
    let bound = listener.local_addr()?;
    for warning in safety.exposure_warnings(bound) {
        tracing::warn!("{warning}");
    }
    // rmcp's own Host, Origin and body-size checks, from the same values as the gate in front.
    let mut config = StreamableHttpServerConfig::default()
        .with_cancellation_token(shutdown.child_token())
        .with_allowed_origins(safety.origin_list())
        .enforce_origin_validation()
        .with_max_request_body_bytes(safety.max_body_bytes());
    config = match safety.host_list() {
        Some(hosts) => config.with_allowed_hosts(hosts),
        None => config.disable_allowed_hosts(),
    };
    let server_source = source.clone();
    let service: StreamableHttpService<NetpolServer, LocalSessionManager> = StreamableHttpService::new(
        move || Ok(NetpolServer::new(server_source.clone())),
        Default::default(),
        config,
    );
    tracing::info!(
        source = %source.describe(),
        hosts = %safety.describe_hosts(),
        token = safety.requires_token(),
        max_body_bytes = safety.max_body_bytes(),
        "serving MCP over Streamable HTTP at http://{bound}/mcp"
    );
    let router = Arc::new(safety).protect(axum::Router::new().nest_service("/mcp", service));
    if let Some(tx) = ready {
        let _ = tx.send(bound);
    }
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(async move { shutdown.cancelled_owned().await })
        .await?;
    Ok(())
}
