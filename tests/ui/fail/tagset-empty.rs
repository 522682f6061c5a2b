use metrics_runtime::TagSet;

#[derive(TagSet, Clone, Copy)]
pub struct NoTags {}

fn main() {}
