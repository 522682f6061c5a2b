//! Public types are `Send + Sync` (they live in statics shared by every thread).

mod common;

fn is_send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    use metrics_runtime::*;
    is_send_sync::<Counter>();
    is_send_sync::<Counter<common::Http>>();
    is_send_sync::<CounterSeries>();
    is_send_sync::<Gauge<common::Method>>();
    is_send_sync::<GaugeSeries>();
    is_send_sync::<Histogram<common::Http>>();
    is_send_sync::<HistogramHandle<'static, 16>>();
    is_send_sync::<Summary<common::Method>>();
    is_send_sync::<SummaryHandle<'static>>();
    is_send_sync::<common::ShopMetrics>();
    is_send_sync::<ParseTagError>();
    is_send_sync::<TagSetError>();
}
