//! A cluster's objects as plain k8s-openapi values, from files (and later a live API server).
//!
//! Invariant: nothing is dropped silently. Every object that could not be used is listed in
//! `warnings`, with the file, document and field where known.

pub mod files;

use k8s_openapi::api::core::v1::{Endpoints, Namespace, Node, Pod, PodTemplateSpec, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

pub use files::{load_paths, load_str};

/// Workload kinds that stand for their pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkloadKind {
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    ReplicationController,
}

impl WorkloadKind {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::ReplicaSet => "ReplicaSet",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
            WorkloadKind::ReplicationController => "ReplicationController",
        }
    }

    pub fn from_kind(kind: &str) -> Option<Self> {
        Some(match kind {
            "Deployment" => WorkloadKind::Deployment,
            "ReplicaSet" => WorkloadKind::ReplicaSet,
            "StatefulSet" => WorkloadKind::StatefulSet,
            "DaemonSet" => WorkloadKind::DaemonSet,
            "Job" => WorkloadKind::Job,
            "CronJob" => WorkloadKind::CronJob,
            "ReplicationController" => WorkloadKind::ReplicationController,
            _ => return None,
        })
    }

    /// kubectl kinds and short names: `deploy`, `sts`, `ds`, `rs`, `job`, `cronjob`, `rc`.
    pub fn from_cli(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "deploy" | "deployment" | "deployments" => WorkloadKind::Deployment,
            "rs" | "replicaset" | "replicasets" => WorkloadKind::ReplicaSet,
            "sts" | "statefulset" | "statefulsets" => WorkloadKind::StatefulSet,
            "ds" | "daemonset" | "daemonsets" => WorkloadKind::DaemonSet,
            "job" | "jobs" => WorkloadKind::Job,
            "cj" | "cronjob" | "cronjobs" => WorkloadKind::CronJob,
            "rc" | "replicationcontroller" | "replicationcontrollers" => WorkloadKind::ReplicationController,
            _ => return None,
        })
    }
}

/// A workload manifest reduced to what policy analysis needs.
#[derive(Debug, Clone)]
pub struct Workload {
    pub kind: WorkloadKind,
    pub metadata: ObjectMeta,
    /// The pod template (for a CronJob: `spec.jobTemplate.spec.template`).
    pub template: PodTemplateSpec,
}

/// An object of a kind we do not model, kept for later steps (CRDs, meshes, ...).
#[derive(Debug, Clone)]
pub struct OtherObject {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub value: serde_json::Value,
}

/// Something in the input that was skipped or defaulted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadWarning {
    /// `file#document` or `file`, when the warning comes from input.
    pub location: Option<String>,
    /// `Kind ns/name` when known.
    pub object: Option<String>,
    pub message: String,
}

impl std::fmt::Display for LoadWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(l) = &self.location {
            write!(f, "{l}: ")?;
        }
        if let Some(o) = &self.object {
            write!(f, "{o}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// Everything read from a source.
#[derive(Debug, Clone, Default)]
pub struct ClusterSnapshot {
    pub namespaces: Vec<Namespace>,
    pub pods: Vec<Pod>,
    pub services: Vec<Service>,
    pub endpoints: Vec<Endpoints>,
    pub endpoint_slices: Vec<EndpointSlice>,
    pub nodes: Vec<Node>,
    pub network_policies: Vec<NetworkPolicy>,
    pub workloads: Vec<Workload>,
    pub others: Vec<OtherObject>,
    /// NetworkPolicies that exist but could not be read (`ns/name`): a verdict that depends
    /// on their namespace is inconclusive.
    pub unreadable_policies: Vec<String>,
    pub warnings: Vec<LoadWarning>,
}

impl ClusterSnapshot {
    /// Number of objects of the kinds we model.
    pub fn object_count(&self) -> usize {
        self.namespaces.len()
            + self.pods.len()
            + self.services.len()
            + self.endpoints.len()
            + self.endpoint_slices.len()
            + self.nodes.len()
            + self.network_policies.len()
            + self.workloads.len()
            + self.others.len()
    }
}
