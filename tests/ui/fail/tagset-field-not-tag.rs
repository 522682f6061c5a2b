use metrics_runtime::{Tag, TagSet};

#[derive(Tag, Clone, Copy)]
pub enum Method {
    Get,
    Post,
}

#[derive(TagSet, Clone, Copy)]
pub struct Http {
    pub method: Method,
    pub code: u16,
}

fn main() {}
