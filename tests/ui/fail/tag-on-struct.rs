use metrics_runtime::Tag;

#[derive(Tag, Clone, Copy)]
pub struct Method {
    pub name: u8,
}

fn main() {}
