//! The README example schema (the shop), shared by the integration tests.
#![allow(dead_code)]

use metrics_runtime::{Counter, Gauge, Histogram, Metrics, Summary, Tag, TagSet};

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
#[tag(name = "method", rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

#[derive(Tag, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    #[tag(value = "2xx")]
    Success,
    #[tag(value = "4xx")]
    ClientError,
    #[tag(value = "5xx")]
    ServerError,
}

#[derive(TagSet, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Http {
    pub method: Method,
    pub status: Status,
}

#[derive(Metrics)]
#[metrics(namespace = "shop")]
pub struct ShopMetrics {
    /// Requests served, by method and status class.
    pub requests_total: Counter<Http>,
    /// Requests being served right now.
    pub inflight_requests: Gauge,
    /// Time to serve a request.
    #[metric(unit = "seconds", buckets = [0.005, 0.01, 0.05, 0.1, 0.5, 1.0])]
    pub request_duration_seconds: Histogram<Method>,
    /// Checkout latency quantiles over the last minute.
    #[metric(unit = "seconds", quantiles = [0.5, 0.9, 0.99, 0.999], window_secs = 60)]
    pub checkout_seconds: Summary,
}

pub const METHODS: [Method; 4] = [Method::Get, Method::Post, Method::Put, Method::Delete];
pub const STATUSES: [Status; 3] = [Status::Success, Status::ClientError, Status::ServerError];

/// Every combination of the `Http` tag set.
pub fn all_http() -> Vec<Http> {
    METHODS.iter().flat_map(|&method| STATUSES.iter().map(move |&status| Http { method, status })).collect()
}
