use metrics_runtime::Tag;

#[derive(Tag, Clone, Copy)]
pub enum Method<const N: usize> {
    Get,
    Post,
}

fn main() {}
