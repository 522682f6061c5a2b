use metrics_runtime::Tag;

#[derive(Tag, Clone, Copy)]
#[tag(name = "http-method")]
pub enum Method {
    Get,
    Post,
}

fn main() {}
