use metrics_runtime::Tag;

#[derive(Tag, Clone, Copy)]
#[tag(rename_all = "upper")]
pub enum Method {
    Get,
    Post,
}

fn main() {}
