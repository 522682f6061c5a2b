use metrics_runtime::{Tag, TagSet};

#[derive(Tag, Clone, Copy)]
pub enum Method {
    Get,
    Post,
}

#[derive(Tag, Clone, Copy)]
pub enum Verb {
    Read,
    Write,
}

#[derive(TagSet, Clone, Copy)]
pub struct Http {
    pub method: Method,
    #[tag(name = "method")]
    pub verb: Verb,
}

fn main() {}
