use metrics_runtime::{Counter, Metrics, Tag, TagSet};

#[derive(Tag, Clone, Copy)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

#[derive(Tag, Clone, Copy)]
pub enum Status {
    #[tag(value = "2xx")]
    Success,
    #[tag(value = "4xx")]
    ClientError,
    #[tag(value = "5xx")]
    ServerError,
}

#[derive(TagSet, Clone, Copy)]
pub struct Http {
    pub method: Method,
    pub status: Status,
}

#[derive(Metrics)]
pub struct AppMetrics {
    /// Requests served, by method and status class.
    #[metric(max_series = 5)]
    requests_total: Counter<Http>,
}

fn main() {}
