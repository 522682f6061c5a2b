use metrics_runtime::Tag;

#[derive(Tag, Clone, Copy)]
#[tag(name = "httpMethod")]
pub enum Method {
    Get,
    Post,
}

fn main() {}
