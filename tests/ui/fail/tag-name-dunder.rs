use metrics_runtime::Tag;

#[derive(Tag, Clone, Copy)]
#[tag(name = "__method")]
pub enum Method {
    Get,
    Post,
}

fn main() {}
