// The generated code names everything by absolute path: it builds without the prelude.
#![no_implicit_prelude]

use ::metrics_runtime::{Counter, Gauge, Histogram, Metrics, Summary, Tag, TagSet};

#[derive(Tag, ::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::PartialEq)]
#[tag(name = "method", rename_all = "UPPERCASE")]
pub enum Method {
    Get,
    Post,
}

#[derive(Tag, ::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::PartialEq)]
pub enum Status {
    #[tag(value = "2xx")]
    Success,
    #[tag(value = "5xx")]
    ServerError,
}

#[derive(TagSet, ::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug, ::core::cmp::PartialEq)]
pub struct Http {
    pub method: Method,
    pub status: Status,
}

#[derive(Metrics)]
#[metrics(namespace = "shop")]
pub struct ShopMetrics {
    /// Requests served.
    requests_total: Counter<Http>,
    /// Requests being served.
    inflight_requests: Gauge,
    /// Time to serve a request.
    #[metric(unit = "seconds", buckets = [0.1, 1.0])]
    request_duration_seconds: Histogram<Method>,
    /// Checkout time.
    #[metric(unit = "seconds", quantiles = [0.5, 0.9], window_secs = 10)]
    checkout_seconds: Summary<Status>,
}

static METRICS: ShopMetrics = ShopMetrics::new();

fn main() {
    METRICS.requests_total.with(Http { method: Method::Post, status: Status::ServerError }).inc();
    METRICS.inflight_requests.set(2.0);
    METRICS.request_duration_seconds.with(Method::Get).record(0.5);
    METRICS.checkout_seconds.with(Status::Success).record(0.3);

    let parsed: ::core::result::Result<Method, _> = ::core::str::FromStr::from_str("POST");
    ::std::assert_eq!(parsed, ::core::result::Result::Ok(Method::Post));
    ::std::assert_eq!(
        Http::from_pairs(&[("status", "2xx"), ("method", "GET")]),
        ::core::result::Result::Ok(Http { method: Method::Get, status: Status::Success }),
    );

    let text: ::std::string::String = METRICS.render_prometheus();
    ::std::assert!(text.contains("shop_requests_total{method=\"POST\",status=\"5xx\"} 1\n"), "{}", text);
    ::std::assert!(text.contains("shop_request_duration_seconds_bucket{method=\"GET\",le=\"1.0\"} 1\n"), "{}", text);
    ::std::assert_eq!(<ShopMetrics as Metrics>::descriptors(&METRICS).len(), 4);
    ::std::assert_eq!(<ShopMetrics as Metrics>::descriptors(&METRICS)[0].name, "shop_requests_total");
}
