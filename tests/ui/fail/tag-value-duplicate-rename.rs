use metrics_runtime::Tag;

#[derive(Tag, Clone, Copy)]
#[tag(rename_all = "lowercase")]
pub enum Method {
    Get,
    Post,
    #[tag(value = "get")]
    Fetch,
}

fn main() {}
