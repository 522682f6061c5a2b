use metrics_runtime::{Tag, TagSet};

#[derive(Tag, Clone, Copy)]
pub enum Method {
    Get,
    Post,
}

#[derive(TagSet, Clone, Copy)]
pub struct Http {
    #[tag(name = "http.method")]
    pub method: Method,
}

fn main() {}
